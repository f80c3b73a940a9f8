"""Helpers of the live tests: what a run left behind, whether a process
runs, and the live command line in a subprocess."""
from __future__ import annotations

import re
import sys
from pathlib import Path

from memcg_edu.live.runstate import state_dir
from memcg_edu.live.scratch import PREFIX, WORK_BASE

__all__ = ["leftovers", "alive", "live_cli"]


def leftovers(caps, pids, base: Path = WORK_BASE) -> list[str]:
    """Everything a run of one of ``pids`` may have left: cgroups, work
    dirs, swap files, mounts, and run records in the state directory."""
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
        for path in state.glob("run-*.json"):
            m = re.match(r"^run-(\d+)-", path.name)
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
