"""The tracer on this machine's kernel: every workload traced page by page,
every page's story complete, and nothing left behind after an error,
Ctrl-C, SIGTERM, SIGKILL of the workload or SIGKILL of the tracer."""
from __future__ import annotations

import os
import re
import signal
import subprocess
import time
from pathlib import Path

import pytest

from live_helpers import alive, leftovers, live_cli, start_and_stop_at
from memcg_edu.live import runstate, tracefs
from memcg_edu.live.errors import LiveError
from memcg_edu.live.trace import _TracingRecorder, load_trace, trace
from memcg_edu.live.trace_compare import compare_trace

pytestmark = pytest.mark.live
N = 256


@pytest.fixture(scope="module")
def can_trace(caps_v1):
    if not caps_v1.is_root:
        pytest.skip("tracing needs root")
    if tracefs.find_tracefs() is None and not tracefs.DEFAULT_MOUNT.is_dir():
        pytest.skip("no tracefs on this machine")
    return caps_v1


def _mounted() -> Path | None:
    return tracefs.find_tracefs()


def trace_leftovers(caps, pids, mounted_before) -> list[str]:
    """What a traced run of ``pids`` may leave: the live lab's leftovers,
    trace instances named after those pids, their records, a mount."""
    found = leftovers(caps, pids)
    root = _mounted()
    if root is not None and (root / "instances").is_dir():
        for d in (root / "instances").iterdir():
            m = re.match(r"^memcg-edu-(\d+)-", d.name)
            if m and int(m.group(1)) in pids:
                found.append(f"instance {d}")
    if (root is None) != (mounted_before is None):
        found.append(f"tracefs mount changed: {mounted_before} -> {root}")
    state = runstate.state_dir()
    if state.is_dir():
        for name in os.listdir(state):
            m = re.match(r"^trace-(\d+)-", name)
            if m and int(m.group(1)) in pids:
                found.append(f"record {name}")
    return found


_ROLES = {"charge": {"x", "shm"}, "swap": {"x"}, "pagecache": {"f", "g", "t"},
          "migrate": {"x", "f"}, "move": {"x", "y"}}


@pytest.mark.parametrize("workload", sorted(_ROLES))
def test_every_workload_traced_page_by_page(can_trace, workload, tmp_path):
    before = _mounted()
    tr = trace(workload, N, swap=True, caps=can_trace)
    assert tr.lost == 0, tr.meta["lost"]
    assert tr.meta["events_missing"] == []
    labels = {st["role"].partition("[")[0] for st in tr.pages if st["role"]}
    assert labels == _ROLES[workload]
    # every page the workload touched: allocated (or cached) ... freed
    incomplete = [st["role"] or st["pfns"] for st in tr.pages if not st["complete"]]
    assert incomplete == []
    anon = {st["role"] for st in tr.pages if st["kind"] == "anon"}
    for label in _ROLES[workload] & {"x", "y"}:
        assert {f"{label}[{k}]" for k in range(N)} <= anon
    # each step's calls have the run --json shape
    for step in tr.timeline.steps:
        for c in step["calls"]:
            assert isinstance(c["fn"], str) and isinstance(c["depth"], int)
            assert c["page"] is None or c["page"] in {s["role"] for s in tr.pages}
    if workload == "swap":
        written = [st for st in tr.pages
                   if any(e[1] == "written to swap" for e in st["events"])]
        assert len(written) >= N // 4
    # the memcg counters move the same way the traced statistics say: the
    # anonymous pages charged and uncharged net to zero at the end
    net = sum(d for _, m, item, d in tr.changes if item == "nr_anon_pages")
    assert net == 0
    # and step by step, the traced rss (NR_ANON_MAPPED changes summed) is
    # what memory.stat says, within its lazy flush (64 updates per CPU)
    from memcg_edu.live.compare import stat_tolerance
    tol = stat_tolerance(N, os.cpu_count() or 1)
    for step in tr.timeline.steps:
        for memcg, rec in step["memcgs"].items():
            traced = sum(d for s, m, item, d in tr.changes if m == memcg
                         and item == "nr_anon_pages" and s <= step["step"])
            assert abs(rec["stat"]["rss"] - traced) <= tol, (step["step"], memcg)
    cmp = compare_trace(tr)
    assert cmp.summary["same_life"] + cmp.summary["different"] == len(cmp.roles)
    # every difference is named with a cause ("different" is the unnamed one)
    assert "different" not in cmp.summary["causes"], [
        d.text for d in cmp.diffs if d.cause == "different"][:3]
    if workload != "migrate":   # compaction may move none of our pages
        assert cmp.summary["same_life"] > 0
    tr.save(tmp_path / "t.json.gz")
    assert load_trace(tmp_path / "t.json.gz").pages == tr.pages
    assert trace_leftovers(can_trace, [os.getpid()], before) == []


def test_an_error_midway_leaves_nothing(can_trace, monkeypatch):
    before = _mounted()
    real = _TracingRecorder._run_phase

    def failing(self, i, phase):
        if i == 2:
            raise RuntimeError("injected failure in phase 2")
        return real(self, i, phase)
    monkeypatch.setattr(_TracingRecorder, "_run_phase", failing)
    with pytest.raises(RuntimeError, match="injected"):
        trace("charge", N, caps=can_trace)
    assert trace_leftovers(can_trace, [os.getpid()], before) == []


def test_workload_killed_is_reported_and_cleaned(can_trace):
    """SIGKILL of the workload after phase 1: the tracer either sees it die
    during phase 2 (an error, kind "failed") or finds it gone before phase
    2 starts (the remaining phases skipped, saying so); either way the
    pages it had are freed in the trace and nothing is left behind."""
    before = _mounted()
    pids: list[int] = []

    def kill_child(step):
        if step["step"] == 0:
            pids.append(step["detail"]["pid"])
        elif step["step"] == 1:
            os.kill(pids[0], signal.SIGKILL)
    try:
        tr = trace("charge", N, caps=can_trace, on_step=kill_child)
    except LiveError as e:
        assert e.kind == "failed" and "signal 9" in str(e)
    else:
        skipped = [s for s in tr.timeline.steps if not s["ok"]]
        assert skipped and all("the task has already exited" in s["error"]
                               for s in skipped)
        assert all(st["complete"] for st in tr.pages)   # freed at its death
    assert trace_leftovers(can_trace, [os.getpid()], before) == []
    assert not alive(pids[0])


def _start_and_stop_at(workload, step, child_env):
    return start_and_stop_at("memcg_edu.live.trace.trace", workload, step, N,
                             child_env)


@pytest.mark.parametrize("sig, rc", [("SIGTERM", 143), ("SIGINT", None)])
def test_signal_midway_removes_everything(can_trace, child_env, sig, rc):
    before = _mounted()
    p, task = _start_and_stop_at("pagecache", 2, child_env)
    assert trace_leftovers(can_trace, [p.pid], before)  # the instance exists
    p.send_signal(getattr(signal, sig))
    got = p.wait(timeout=60)
    assert got != 0 and (rc is None or got == rc)
    assert trace_leftovers(can_trace, [p.pid], before) == []
    assert not alive(task)


def test_sigkill_of_the_tracer_is_cleaned_at_next_start(can_trace, child_env):
    before = _mounted()
    p, task = _start_and_stop_at("charge", 2, child_env)
    p.kill()
    p.wait(timeout=30)
    left = trace_leftovers(can_trace, [p.pid], before)
    assert any(x.startswith("instance ") for x in left), left
    assert any(x.startswith("record ") for x in left), left
    deadline = time.monotonic() + 5
    while alive(task) and time.monotonic() < deadline:
        time.sleep(0.05)   # the workload dies with its recorder (PDEATHSIG)
    tr = trace("charge", 64, caps=can_trace)   # the next start cleans up
    notes = " ".join(tr.meta["notes"])
    assert "removed stale trace instance" in notes and f"memcg-edu-{p.pid}-" in notes
    assert trace_leftovers(can_trace, [p.pid, os.getpid()], before) == []


def test_cli_lists_the_recorded_traces(child_env):
    r = subprocess.run(live_cli("list"), env=child_env, capture_output=True,
                       text=True, timeout=120)
    assert r.returncode == 0, r.stderr
    for name in _ROLES:
        assert re.search(rf"  trace-{name}\.json\.gz +{name} +Linux 6\.18", r.stdout)


def test_cli_trace_saves_and_summarises(can_trace, child_env, tmp_path):
    out = tmp_path / "charge.json"
    r = subprocess.run(live_cli("trace", "charge", "--pages", "64", "--out",
                                str(out)), env=child_env, capture_output=True,
                       text=True, timeout=300)
    assert r.returncode == 0, r.stderr
    assert "lost: 0" in r.stdout
    # the workload's 128 pages, and maybe a page of its own that its Python
    # touched on the way: every story complete
    m = re.search(r"(\d+) page stories, (\d+) complete", r.stdout)
    assert m and int(m[1]) >= 128 and m[1] == m[2], r.stdout
    assert "of 128 pages had the same life" in r.stdout
    tr = load_trace(out)
    assert tr.meta["workload"] == "charge" and tr.meta["pages"] == 64
    r = subprocess.run(live_cli("trace", "nope", "--out", str(out)),
                       env=child_env, capture_output=True, text=True, timeout=60)
    assert r.returncode == 2 and r.stderr.count("\n") == 1


def test_cli_trace_keeps_an_existing_file_without_force(can_trace, child_env,
                                                        tmp_path):
    """As live run: an existing --out is refused before any work (no trace
    taken, the file kept), and replaced with --force."""
    out = tmp_path / "t.json.gz"
    out.write_text("keep\n")
    r = subprocess.run(live_cli("trace", "charge", "--pages", "16", "--out",
                                str(out)), env=child_env, capture_output=True,
                       text=True, timeout=60)
    assert r.returncode == 2 and r.stdout == ""
    assert r.stderr == f"error: --out {out}: exists; add --force to overwrite it\n"
    assert out.read_text() == "keep\n"
    r = subprocess.run(live_cli("trace", "charge", "--pages", "16", "--out",
                                str(out), "--force"), env=child_env,
                       capture_output=True, text=True, timeout=300)
    assert r.returncode == 0, r.stderr
    assert load_trace(out).meta["pages"] == 16
    assert sorted(p.name for p in tmp_path.iterdir()) == ["t.json.gz"]
