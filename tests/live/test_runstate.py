"""The run record and identity-checked cleanup, on a private state
directory and plain files (no cgroup, no mount, no swap needed)."""
from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
from pathlib import Path

import pytest

from memcg_edu.live import LiveError, runstate
from memcg_edu.live.scratch import (make_work_dir, remove_work_dir,
                                    signals_deferred, signals_held,
                                    sigterm_as_exit, teardown)


@pytest.fixture
def state(tmp_path, monkeypatch):
    d = tmp_path / "state"
    monkeypatch.setenv("MEMCG_EDU_STATE_DIR", str(d))
    monkeypatch.setattr(runstate, "_CURRENT", None)
    return d


def _dead_pid() -> int:
    p = subprocess.Popen([sys.executable, "-c", "pass"])
    p.wait()
    return p.pid


def _plant_record(state: Path, pid: int, start: int, **kinds) -> Path:
    state.mkdir(mode=0o700, exist_ok=True)
    rec = {"pid": pid, "start": start, "swaps": [], "mounts": [],
           "cgroups": [], "dirs": [], **kinds}
    path = state / f"run-{pid}-{start}.json"
    path.write_text(json.dumps(rec))
    path.chmod(0o600)
    return path


def test_proc_start_tells_a_reused_pid_from_the_run(state):
    me = runstate.proc_start(os.getpid())
    assert isinstance(me, int) and me > 0
    assert runstate.proc_start(_dead_pid()) is None


@pytest.mark.parametrize("how", ["symlink", "world", "other_owner"])
def test_a_state_directory_not_ours_is_refused(state, tmp_path, how):
    target = tmp_path / "elsewhere"
    target.mkdir(mode=0o700)
    if how == "symlink":
        state.symlink_to(target)
    else:
        state.mkdir(mode=0o700)
        if how == "world":
            state.chmod(0o777)
        elif os.geteuid() == 0:
            os.chown(state, 65534, 65534)
        else:
            pytest.skip("chown needs root")
    with pytest.raises(LiveError, match="refusing the state directory"):
        runstate.current().add("dirs", {"path": "x", "dev": 0, "ino": 0})
    assert list(target.iterdir()) == []


def test_work_dir_is_fresh_private_and_recorded(state, tmp_path):
    base = tmp_path / "base"
    base.mkdir()
    d = make_work_dir(".work", base)
    assert d.parent == base and d.name.startswith(f"memcg-edu-{os.getpid()}-")
    assert (d.stat().st_mode & 0o777) == 0o700
    records = list(state.glob("run-*.json"))
    assert len(records) == 1 and (records[0].stat().st_mode & 0o777) == 0o600
    assert json.loads(records[0].read_text())["dirs"][0]["path"] == str(d)
    other = make_work_dir(".work", base)
    assert other != d           # unpredictable and never reused
    remove_work_dir(d)
    remove_work_dir(other)
    assert not d.exists() and list(state.glob("run-*.json")) == []


def test_a_base_others_may_rename_in_is_refused(state, tmp_path):
    base = tmp_path / "open"
    base.mkdir()
    base.chmod(0o777)           # world-writable, not sticky
    with pytest.raises(LiveError, match="refusing work base"):
        make_work_dir(".work", base)


def test_stale_cleanup_removes_only_what_still_matches_the_record(state, tmp_path):
    victim = tmp_path / "victim"
    victim.write_text("precious")
    ours = tmp_path / "ours"
    (ours / "sub").mkdir(parents=True)
    (ours / "sub" / "link").symlink_to(victim)          # never followed
    swapped = tmp_path / "replaced"
    swapped.mkdir()
    old = runstate.ident(swapped)
    swapped.rename(tmp_path / "moved")
    swapped.mkdir()                                     # a new inode now
    link = tmp_path / "link-now"
    target = tmp_path / "target"
    target.mkdir()
    (target / "keep").write_text("x")
    link.mkdir()
    old_link = runstate.ident(link)
    link.rename(tmp_path / "moved-too")
    link.symlink_to(target)                             # a symlink put there
    pid = _dead_pid()
    rec = _plant_record(state, pid, 12345, dirs=[
        runstate.ident(ours), old, {**old_link, "path": str(link)}])
    removed = runstate.cleanup_stale(lambda p: None, lambda i: False)
    assert removed == [f"work directory {ours} (run {pid})"]
    assert not ours.exists()
    assert victim.read_text() == "precious"
    assert swapped.is_dir() and (target / "keep").exists() and link.is_symlink()
    assert not rec.exists()


def test_a_live_run_and_foreign_records_are_left_alone(state, tmp_path):
    d = tmp_path / "d"
    d.mkdir()
    # pid alive with the same start time: a running run
    live = _plant_record(state, os.getpid(), runstate.proc_start(os.getpid()),
                         dirs=[runstate.ident(d)])
    # a record of a dead run but not a private regular file of ours
    foreign = _plant_record(state, _dead_pid(), 1, dirs=[runstate.ident(d)])
    foreign.chmod(0o644)
    assert runstate.cleanup_stale(lambda p: None, lambda i: False) == []
    assert d.is_dir() and live.exists() and foreign.exists()
    if os.geteuid() == 0:
        foreign.chmod(0o600)
        os.chown(foreign, 65534, 65534)
        assert runstate.cleanup_stale(lambda p: None, lambda i: False) == []
        assert d.is_dir()


def test_swap_lock_exclusive_waits_then_says_who_holds_it(state):
    with runstate.swap_lock(exclusive=False):
        with runstate.swap_lock(exclusive=False, timeout=0):
            pass                # shared with shared: fine
        code = ("from memcg_edu.live import runstate\n"
                "with runstate.swap_lock(exclusive=True, timeout=0.3): pass\n")
        p = subprocess.run([sys.executable, "-c", code], capture_output=True,
                           text=True, env={**os.environ,
                                           "PYTHONPATH": os.pathsep.join(sys.path)})
        assert p.returncode != 0 and "holds the swap lock" in p.stderr
    lock = state / "swap.lock"
    assert lock.is_file() and (lock.stat().st_mode & 0o777) == 0o600


def test_our_swap_files_are_never_system_swap(state, tmp_path, monkeypatch):
    from memcg_edu.live import swapfile
    proc = tmp_path / "proc"
    proc.mkdir()
    ours = tmp_path / "x" / "swap"
    (proc / "swaps").write_text(
        "Filename\tType\tSize\tUsed\tPriority\n"
        "/dev/vdb partition 4096 0 -2\n"
        f"{ours} file 132092 0 -3\n"
        "/var/tmp/memcg-edu-77.swap file 8192 0 -4\n")
    _plant_record(state, _dead_pid(), 1,
                  swaps=[{"path": str(ours), "dev": 0, "ino": 0}])
    assert swapfile.system_swap_pages(proc) == 1024


def test_scratch_on_a_fake_tree_ignores_a_planted_work_dir(state, tmp_path,
                                                           fake_machine,
                                                           monkeypatch):
    """The attack of issue 14 without a kernel: the old predictable work
    path, pre-made with a symlink inside, is neither used nor removed; a
    pre-existing scratch cgroup name is refused."""
    from memcg_edu.live import detect, scratch
    from memcg_edu.live.scratch import Scratch
    base = tmp_path / "vartmp"
    base.mkdir()
    base.chmod(0o1777)
    monkeypatch.setattr(scratch, "WORK_BASE", base)
    victim = tmp_path / "victim"
    victim.write_text("precious")
    planted = base / f"memcg-edu-{os.getpid()}-work"
    planted.mkdir()
    (planted / "f").symlink_to(victim)
    caps = detect(fake_machine())
    with Scratch(caps) as s:
        work = s.work
        assert work.parent == base and work != planted
        assert (work.stat().st_mode & 0o777) == 0o700
        assert json.loads(next(state.glob("run-*.json")).read_text())["cgroups"]
    assert not work.exists() and planted.is_dir() and (planted / "f").is_symlink()
    assert victim.read_text() == "precious"
    assert list(state.glob("run-*.json")) == []
    (caps.own_dir / f"memcg-edu-{os.getpid()}-A").mkdir()      # not ours
    with pytest.raises(LiveError, match="already exists and this run did not make it"):
        with Scratch(caps):
            pass
    assert (caps.own_dir / f"memcg-edu-{os.getpid()}-A").is_dir()


def test_a_waiting_run_is_told_once_then_gives_up_with_the_reason(state):
    calls = []
    with runstate.swap_lock(exclusive=True):
        with pytest.raises(LiveError, match="another live run holds the swap lock"):
            with runstate.swap_lock(exclusive=False, timeout=0.3,
                                    on_wait=lambda: calls.append(1)):
                pass
    assert calls == [1]
    with runstate.swap_lock(exclusive=True, timeout=0):
        pass                    # released when the holder left


def test_rmdir_busy_waits_then_names_what_it_could_not_remove(tmp_path):
    busy = tmp_path / "busy"
    (busy / "inside").mkdir(parents=True)   # ENOTEMPTY, as EBUSY would be
    with pytest.raises(LiveError, match=f"cannot remove trace instance {busy}: "
                                        f"Directory not empty") as e:
        runstate.rmdir_busy(busy, "trace instance", timeout=0.1)
    assert e.value.kind == "failed" and busy.is_dir()
    runstate.rmdir_busy(tmp_path / "gone", "scratch cgroup")   # no error
    (busy / "inside").rmdir()
    runstate.rmdir_busy(busy, "trace instance")
    assert not busy.exists()


def test_signals_are_ignored_during_a_cleanup_and_restored_after():
    def handler(signum, frame):
        raise AssertionError("a signal got through")
    old = signal.signal(signal.SIGTERM, handler)
    try:
        with signals_held():
            os.kill(os.getpid(), signal.SIGTERM)
            os.kill(os.getpid(), signal.SIGINT)
            assert signal.getsignal(signal.SIGINT) is signal.SIG_IGN
        assert signal.getsignal(signal.SIGTERM) is handler
        assert signal.getsignal(signal.SIGINT) is signal.default_int_handler
    finally:
        signal.signal(signal.SIGTERM, old)


def test_a_signal_while_something_is_made_and_recorded_comes_after_both():
    """signals_deferred: the block runs to its end, then the signal acts
    through the handler from before (here Python's KeyboardInterrupt)."""
    done = []
    with pytest.raises(KeyboardInterrupt):
        with signals_deferred():
            os.kill(os.getpid(), signal.SIGINT)
            done.append("made")
            done.append("recorded")
    assert done == ["made", "recorded"]
    assert signal.getsignal(signal.SIGINT) is signal.default_int_handler
    came = []
    old = signal.signal(signal.SIGTERM, lambda s, f: came.append(s))
    try:
        with signals_deferred():
            os.kill(os.getpid(), signal.SIGTERM)
            assert came == []
        assert came == [signal.SIGTERM]
        with signals_held():            # a cleanup ignores it, as before
            with signals_deferred():
                os.kill(os.getpid(), signal.SIGTERM)
        assert came == [signal.SIGTERM]
    finally:
        signal.signal(signal.SIGTERM, old)


def test_a_nested_run_ending_on_a_signal_leaves_the_outer_cleanup_uninterrupted():
    """A traced run holds a run (sigterm_as_exit inside sigterm_as_exit).
    The storm CI met: the first SIGHUP ended the inner run, whose exit put
    the outer run's handlers back, so the next signal cut the trace
    instance's cleanup short and left its record. Now the signals stay
    ignored until the outermost exits, which puts the original back; an
    inner run that ends without a signal still hands them back armed."""
    came = []
    old = signal.signal(signal.SIGTERM, lambda s, f: came.append(s))
    try:
        with sigterm_as_exit():
            with pytest.raises(SystemExit) as e:
                with sigterm_as_exit():
                    os.kill(os.getpid(), signal.SIGHUP)
            assert e.value.code == 129
            os.kill(os.getpid(), signal.SIGTERM)    # the storm goes on: ignored
            os.kill(os.getpid(), signal.SIGINT)
            assert signal.getsignal(signal.SIGHUP) is signal.SIG_IGN
        assert came == []
        os.kill(os.getpid(), signal.SIGTERM)        # the original handler is back
        assert came == [signal.SIGTERM]
        assert signal.getsignal(signal.SIGINT) is signal.default_int_handler
        with pytest.raises(SystemExit) as e:
            with sigterm_as_exit():
                with sigterm_as_exit():
                    pass
                os.kill(os.getpid(), signal.SIGTERM)
        assert e.value.code == 143
    finally:
        signal.signal(signal.SIGTERM, old)
        signal.signal(signal.SIGHUP, signal.SIG_DFL)


@pytest.mark.parametrize("nth", [0, 1, 2])
def test_ctrl_c_just_after_a_record_entry_leaves_nothing(state, tmp_path,
                                                         fake_machine,
                                                         monkeypatch, nth):
    """The race CI met (a record left in the state directory): Ctrl-C lands
    right after the run's record names a new cgroup (nth 0, 1) or work
    directory (nth 2). The run still stops, and removes all it made."""
    from memcg_edu.live import detect, scratch
    from memcg_edu.live.scratch import Scratch
    base = tmp_path / "vartmp"
    base.mkdir()
    monkeypatch.setattr(scratch, "WORK_BASE", base)
    adds = []
    add = runstate.RunRecord.add

    def add_then_ctrl_c(self, kind, entry):
        add(self, kind, entry)
        adds.append(kind)
        if len(adds) == nth + 1:
            os.kill(os.getpid(), signal.SIGINT)
    monkeypatch.setattr(runstate.RunRecord, "add", add_then_ctrl_c)
    caps = detect(fake_machine())
    with pytest.raises(KeyboardInterrupt):
        with Scratch(caps, names=("A", "B")):
            pytest.fail("the run went on after Ctrl-C")
    assert adds[nth] == ("cgroups", "cgroups", "dirs")[nth]
    assert list(state.iterdir()) == []
    assert list(base.iterdir()) == []
    assert not any(p.name.startswith("memcg-edu-")
                   for p in caps.own_dir.iterdir())


class _Held:
    """What the live lab's teardowns do: remove what was made inside
    signals_held; ``first`` runs at the start, where a first signal could
    land before the hold."""

    def __init__(self, first=lambda: None):
        self.first, self.removed = first, []

    def __enter__(self):
        return self

    def _remove(self):
        from memcg_edu.live import scratch
        self.first()
        with scratch.signals_held():
            self.removed.append("all")

    def __exit__(self, *exc):
        self._remove()


class _Unmarked(_Held):
    """A teardown left unmarked."""


class _Marked(_Held):
    """A teardown as the live lab's are (marked ``teardown``)."""

    __exit__ = teardown(_Held.__exit__)


@pytest.mark.parametrize("sig, ends", [(signal.SIGTERM, SystemExit),
                                       (signal.SIGHUP, SystemExit),
                                       (signal.SIGINT, KeyboardInterrupt)])
def test_a_first_signal_in_a_teardown_before_its_hold_waits_for_its_end(sig, ends):
    """The window left before: a first signal landing in a teardown's
    first instructions, before signals_held takes effect, raised there and
    skipped the removal. Now it is kept, the removal runs (later signals
    ignored), and the run ends as the signal asked once the teardown is
    done."""
    def lands():
        os.kill(os.getpid(), sig)              # handled at the next call
        os.kill(os.getpid(), signal.SIGTERM)   # the storm goes on: ignored
    with sigterm_as_exit():
        t = _Marked(lands)
        with pytest.raises(ends) as e:
            with t:
                pass
        assert t.removed == ["all"]
    if ends is SystemExit:
        assert e.value.code == 128 + sig
    # unmarked, the same signal skips the removal: what the mark is for
    u = _Unmarked(lambda: os.kill(os.getpid(), sig))
    with sigterm_as_exit():
        with pytest.raises(ends):
            with u:
                pass
    assert u.removed == []
    assert signal.getsignal(signal.SIGINT) is signal.default_int_handler


def test_a_teardown_inside_a_teardown_leaves_the_exit_to_the_outer_one():
    """A signal kept while an inner teardown ran (called by an outer one)
    is raised when the outer one ends, not in the middle of it."""
    inner = _Marked(lambda: os.kill(os.getpid(), signal.SIGTERM))
    outer_done = []

    @teardown
    def outer_exit():
        inner.__exit__(None, None, None)
        outer_done.append("rest of the outer teardown")
    with sigterm_as_exit():
        with pytest.raises(SystemExit) as e:
            outer_exit()
    assert e.value.code == 143
    assert inner.removed == ["all"] and outer_done == ["rest of the outer teardown"]


def test_a_kept_signal_no_teardown_raised_ends_the_run_at_sigterm_as_exit():
    """(a signal that lands after a teardown's last check for one: the
    outermost sigterm_as_exit raises it, so no signal is lost)"""
    from memcg_edu.live import scratch
    with pytest.raises(SystemExit) as e:
        with sigterm_as_exit():
            scratch._deferred.append(SystemExit(143))
            scratch._ignore_further_signals()
    assert e.value.code == 143 and scratch._deferred == []
    assert signal.getsignal(signal.SIGINT) is signal.default_int_handler


def test_the_live_labs_teardowns_are_marked():
    from memcg_edu.live import scratch
    from memcg_edu.live.scratch import Scratch
    from memcg_edu.live.swapfile import TempSwap
    from memcg_edu.live.tracefs import TraceInstance
    for cls in (Scratch, TempSwap, TraceInstance):
        assert scratch._TEARDOWNS.get(id(cls.__exit__.__code__)) is cls.__exit__.__code__, cls
