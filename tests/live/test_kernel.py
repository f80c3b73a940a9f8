"""Each workload on this machine's kernel: the 3.17 lifecycle shows through
within the stated tolerances (docs/live.md), and nothing is left behind.

Skipped, with the reason, where no scratch memory cgroup can be made."""
from __future__ import annotations

import os
import re

import pytest

from live_helpers import alive, leftovers, start_and_stop_at
from memcg_edu.live import LiveError, record
from memcg_edu.live.compare import counter_tolerance, stat_tolerance

pytestmark = pytest.mark.live
N = 2048


def _run(caps, name, **kw):
    tl = record(name, N, caps=caps, **kw)
    assert leftovers(caps, [os.getpid()]) == []
    assert not alive(tl[0]["detail"]["pid"])
    return tl


def _near(tl, step, name, want, memcg="A", stat=False):
    m = tl[step]["memcgs"][memcg]
    got = m["stat"][name] if stat else m[name]
    tol = (stat_tolerance(N, tl.meta["cpus"]) if stat else
           counter_tolerance(N, tl.meta["cpus"], m["kernel"]["kmem"] or 0))
    assert abs(got - want) <= tol, (
        f"step {step} ({tl[step]['op']}) {memcg}.{name}: kernel {got}, "
        f"3.17 predicts {want} +- {tol}")


def _close(tl, step, name, want, memcg="A"):
    _near(tl, step, name, want, memcg, stat=name not in ("usage", "memsw_usage",
                                                         "max_usage"))


def test_charge_anon_and_shared(caps_v1):
    tl = _run(caps_v1, "charge")
    assert tl.ops == ["start", "fault_anon", "fault_shmem", "unmap", "unmap",
                      "exit_task"]
    assert all(s["ok"] for s in tl)
    expect = [  # usage, memsw, rss, cache after each step
        (0, 0, 0, 0), (N, N, N, 0), (2 * N, 2 * N, N, N), (N, N, 0, N),
        (0, 0, 0, 0), (0, 0, 0, 0)]
    for i, (u, w, rss, cache) in enumerate(expect):
        _close(tl, i, "usage", u)
        _close(tl, i, "memsw_usage", w)
        _close(tl, i, "rss", rss)
        _close(tl, i, "cache", cache)
    # shared anonymous memory is shmem on a modern kernel
    assert abs(tl[2]["memcgs"]["A"]["kernel"]["shmem"] - N) <= stat_tolerance(N, 2)
    assert tl[2]["memcgs"]["A"]["max_usage"] >= 2 * N


def test_page_cache_outlives_reader_and_goes_at_unlink(caps_v1):
    tl = _run(caps_v1, "pagecache")
    assert all(s["ok"] for s in tl), [s["error"] for s in tl]
    after = {3: 3 * N, 4: 3 * N, 5: 2 * N, 6: N, 7: 0}
    for step, usage in after.items():
        _close(tl, step, "usage", usage)
        _close(tl, step, "cache", usage)
        _close(tl, step, "rss", 0)
    assert tl.ops[4] == "exit_task"


def test_migration_leaves_counters_unchanged(caps_v1):
    tl = _run(caps_v1, "migrate")
    step = tl.ops.index("migrate")
    det = tl[step]["detail"]
    assert tl[step]["ok"] and det["pgmigrate_success"] >= det["migrated"] >= 0
    assert det["mapped_pages"] == N
    for name in ("usage", "memsw_usage", "rss", "cache"):
        before = tl[step - 1]["memcgs"]["A"]
        after = tl[step]["memcgs"]["A"]
        b = before["stat"][name] if name in ("rss", "cache") else before[name]
        _close(tl, step, name, b)
    _close(tl, len(tl) - 1, "usage", 0)


def test_moving_a_task_leaves_its_charges_behind(caps_v1):
    tl = _run(caps_v1, "move")
    moved = tl.ops.index("move_task")
    note = " ".join(tl.meta["notes"])
    assert "move_charge_at_immigrate" in note
    if "refused" not in note:
        pytest.skip("this kernel still moves charges: " + note)
    _close(tl, moved, "usage", N, "A")
    _close(tl, moved, "usage", 0, "B")
    _close(tl, moved + 1, "usage", N, "B")   # new pages charge the new cgroup
    _close(tl, moved + 2, "usage", 0, "A")   # unmap uncharges the old one
    _close(tl, moved + 2, "usage", N, "B")
    _close(tl, len(tl) - 1, "usage", 0, "B")


def test_swap_phases_are_skipped_with_reason_without_swap(caps_v1):
    if caps_v1.swap_pages:
        pytest.skip("this machine has swap active")
    tl = _run(caps_v1, "swap")
    skipped = [s for s in tl if not s["ok"]]
    assert [s["op"] for s in skipped] == ["swap_out", "set_limit", "swap_in"]
    assert all("no swap is active: run with --swap" in s["error"] for s in skipped)
    _close(tl, 5, "usage", 0)


def test_swap_out_and_in_with_a_temporary_swap_file(caps_v1):
    if not caps_v1.is_root:
        pytest.skip("a temporary swap file needs root")
    tl = _run(caps_v1, "swap", swap=True)
    assert all(s["ok"] for s in tl), [s["error"] for s in tl]
    out, back = tl.ops.index("swap_out"), tl.ops.index("swap_in")
    a = tl[out]["memcgs"]["A"]
    assert a["limit"] == N // 2 and a["usage"] <= N // 2
    _close(tl, out, "usage", N // 2)
    _close(tl, out, "memsw_usage", N)      # memsw counts the whole workload
    _close(tl, out, "swap", N // 2)        # the swap statistic the rest
    _close(tl, back, "usage", N)           # swap-in brings usage back
    _close(tl, back, "memsw_usage", N)     # while memsw barely moves
    _close(tl, back, "swap", 0)
    # a modern kernel keeps the slots in the swap cache after a read fault
    assert tl[back]["memcgs"]["A"]["kernel"]["swapcached"] > N // 4
    _close(tl, back + 1, "memsw_usage", 0)


def test_the_kernel_refuses_a_limit_it_cannot_meet(caps_v1):
    """With swappiness 0 anonymous pages cannot be reclaimed, so a v1 limit write
    below them fails with EBUSY; a memsw limit under the memory limit fails
    with EINVAL. Both come back as LiveError("refused") naming the file."""
    from memcg_edu.live.cgroupfs import MemcgFiles
    errors = []

    def limit_after_fault(step):
        if step["op"] == "fault_anon":
            cg = MemcgFiles(caps_v1.own_dir / f"memcg-edu-{os.getpid()}-A")
            # no swapping from this cgroup even if some swap is active
            cg.write("memory.swappiness", "0")
            for write in (lambda: cg.set_limits(N // 4),
                          lambda: cg.write("memory.memsw.limit_in_bytes",
                                           str(8 * 4096))):
                try:
                    write()
                except LiveError as e:
                    errors.append(e)
    tl = record("charge", N, caps=caps_v1, on_step=limit_after_fault)
    assert [e.kind for e in errors] == ["refused", "refused"]
    assert "EBUSY" in str(errors[0]) and "memory.limit_in_bytes" in str(errors[0])
    assert "EINVAL" in str(errors[1])
    _close(tl, 1, "usage", N)
    assert leftovers(caps_v1, [os.getpid()]) == []


def test_workload_killed_midway_is_reported_and_cleaned(caps_v1):
    pids: list[int] = []

    def kill_child(step):
        if step["step"] == 0:
            pids.append(step["detail"]["pid"])
        elif step["step"] == 1:
            os.kill(pids[0], 9)
    with pytest.raises(LiveError, match="died during .*signal 9") as e:
        record("charge", N, caps=caps_v1, on_step=kill_child)
    assert e.value.kind == "failed"
    assert leftovers(caps_v1, [os.getpid()]) == []
    assert not alive(pids[0])


def _start_and_stop_at(workload, step, child_env):
    return start_and_stop_at("memcg_edu.live.record", workload, step, N,
                             child_env)


@pytest.mark.parametrize("sig", ["SIGTERM", "SIGINT"])
def test_signal_midway_removes_everything(caps_v1, child_env, sig):
    import signal
    p, task = _start_and_stop_at("pagecache", 3, child_env)
    assert leftovers(caps_v1, [p.pid])  # cgroup, work dir, tmpfs exist now
    p.send_signal(getattr(signal, sig))
    rc = p.wait(timeout=30)
    assert rc != 0
    assert leftovers(caps_v1, [p.pid]) == []
    assert not alive(task)


def test_sigkill_midway_is_cleaned_at_next_start(caps_v1, child_env, tmp_path,
                                                  monkeypatch):
    """SIGKILL leaves the cgroup, work files, tmpfs and swap file; the next
    start removes them. A private work base keeps other runs' stale-cleanup
    away from this one's leftovers."""
    if not caps_v1.is_root:
        pytest.skip("the swap file part needs root")
    import time
    from memcg_edu.live import scratch, swapfile
    child_env["MEMCG_EDU_WORK_BASE"] = str(tmp_path)
    monkeypatch.setattr(scratch, "WORK_BASE", tmp_path)
    monkeypatch.setattr(swapfile, "WORK_BASE", tmp_path)
    p, task = _start_and_stop_at("swap", 2, child_env)
    p.kill()
    p.wait(timeout=30)
    left = leftovers(caps_v1, [p.pid], tmp_path)
    for kind in ("swap ", "cgroup ", "file "):
        assert any(x.startswith(kind) for x in left), left
    deadline = time.monotonic() + 5
    while alive(task) and time.monotonic() < deadline:
        time.sleep(0.05)   # the workload dies with its recorder (PDEATHSIG)
    assert not alive(task)
    tl = record("charge", 64, caps=caps_v1)   # the next start cleans up
    notes = " ".join(tl.meta["notes"])
    assert f"memcg-edu-{p.pid}-A" in notes
    assert re.search(rf"swap file {tmp_path}/memcg-edu-{p.pid}-\w+\.swapdir/swap", notes)
    assert leftovers(caps_v1, [p.pid, os.getpid()], tmp_path) == []


def test_swapon_refused_is_a_clear_error_and_leaves_no_file(caps_v1, monkeypatch):
    """A file system that cannot hold swap (tmpfs) makes swapon fail: the
    error says so and the half-made swap file is removed."""
    from pathlib import Path
    from memcg_edu.live import swapfile
    if not caps_v1.is_root or not Path("/dev/shm").is_dir():
        pytest.skip("needs root and a tmpfs at /dev/shm")
    monkeypatch.setattr(swapfile, "WORK_BASE", Path("/dev/shm"))
    with pytest.raises(LiveError, match="swapon /dev/shm/memcg-edu-.* was refused"):
        with swapfile.TempSwap(256):
            pass
    assert not list(Path("/dev/shm").glob(f"memcg-edu-{os.getpid()}-*"))
