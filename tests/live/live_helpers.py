"""Helpers of the live tests: what a run left behind, whether a process
runs, the live command line in a subprocess, and a run paused at a step."""
from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

from memcg_edu.live.runstate import state_dir
from memcg_edu.live.scratch import PREFIX, WORK_BASE

__all__ = ["leftovers", "alive", "live_cli", "start_and_stop_at"]


def leftovers(caps, pids, base: Path = WORK_BASE) -> list[str]:
    """Everything a run of one of ``pids`` may have left: cgroups, work
    dirs, swap files, mounts, and run or trace records (or a record's temp
    file) in the state directory."""
    pids = {int(p) for p in pids}
    found = []
    own = caps.own_dir
    for path in own.iterdir():
        m = re.match(r"^memcg-edu-(\d+)-", path.name)
        if m and int(m.group(1)) in pids:
            found.append(f"cgroup {path}")
    for path in base.glob(f"{PREFIX}*"):
        m = re.match(r"^memcg-edu-(\d+)[-.]", path.name)
        if m and int(m.group(1)) in pids:
            found.append(f"file {path}")
    for line in Path("/proc/self/mounts").read_text().splitlines():
        m = re.search(r"memcg-edu-(\d+)-", line.split()[1])
        if m and int(m.group(1)) in pids:
            found.append(f"mount {line.split()[1]}")
    for line in Path("/proc/swaps").read_text().splitlines()[1:]:
        m = re.search(r"memcg-edu-(\d+)-", line)
        if m and int(m.group(1)) in pids:
            found.append(f"swap {line.split()[0]}")
    state = state_dir()
    if state.is_dir():
        # records (run-, trace-) and a record's temp file (.run-...tmp)
        for path in state.iterdir():
            m = re.match(r"^\.?(?:run|trace)-(\d+)-", path.name)
            if m and int(m.group(1)) in pids:
                found.append(f"record {path}")
    return found


def alive(pid: int) -> bool:
    """True if ``pid`` runs (a zombie counts as gone)."""
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except (FileNotFoundError, IndexError):
        return False
    return state != "Z"


def live_cli(*argv: str) -> list[str]:
    """argv for running `python -m memcg_edu live ...` in a subprocess
    without depending on the other subcommands being importable."""
    code = ("import sys; from memcg_edu.cli import _Parser; "
            "from memcg_edu.cli import live; "
            "p = _Parser(prog='python -m memcg_edu'); "
            "s = p.add_subparsers(dest='command', parser_class=_Parser); "
            "s.required = True; live.add_parser(s); "
            "a = p.parse_args(sys.argv[1:]); sys.exit(a.func(a))")
    return [sys.executable, "-c", code, "live", *argv]


_PAUSING = """
import sys, time
from {module} import {func} as run
def pause(step):
    print(step["step"], step["detail"].get("pid", ""), flush=True)
    if step["step"] == int(sys.argv[2]):
        time.sleep(60)
run(sys.argv[1], {pages}, swap=True, on_step=pause)
"""


def start_and_stop_at(run: str, workload: str, step: int, pages: int,
                      env: dict[str, str]) -> tuple[subprocess.Popen, int | None]:
    """Run ``run`` ("memcg_edu.live.record" or "memcg_edu.live.trace.trace")
    on ``workload`` with --swap in a subprocess and return it paused after
    ``step`` (sleeping in on_step), with the workload process's pid."""
    module, _, func = run.rpartition(".")
    script = _PAUSING.format(module=module, func=func, pages=pages)
    p = subprocess.Popen([sys.executable, "-c", script, workload, str(step)],
                         stdout=subprocess.PIPE, text=True, env=env)
    assert p.stdout is not None
    task = None
    for line in p.stdout:
        num, _, pid = line.strip().partition(" ")
        if num == "0":
            task = int(pid)
        if int(num) == step:
            return p, task
    raise AssertionError(f"{run} ended before step {step}: rc {p.wait()}")
