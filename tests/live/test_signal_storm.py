"""A stream of signals (a user pressing Ctrl-C again and again, a service
manager repeating SIGTERM, a closing terminal's SIGHUP) while a live run with a temporary swap file
cleans up: the swap file is switched off and removed, the run record and
the work folders go, whatever the timing. Before the fix, a second signal
landing inside the swap file's removal left it swapped on, in a folder
cleanup could not remove, with its record."""
from __future__ import annotations

import signal
import subprocess
import time

import pytest

from live_helpers import leftovers, live_cli

pytestmark = pytest.mark.live


def _swap_run(command: str, tmp_path, child_env) -> subprocess.Popen:
    """``live COMMAND swap --swap`` in a child, its output piped."""
    return subprocess.Popen(live_cli(command, "swap", "--pages", "4096", "--swap",
                                     "--out", str(tmp_path / "t.json")),
                            stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                            text=True, env=child_env)


def _until_step(p, step: int) -> None:
    for line in p.stdout:
        if line.startswith(f"{step:>3} "):
            return
    raise AssertionError(f"the run ended before step {step}: rc {p.wait()}")


@pytest.mark.parametrize("command", ["run", "trace"])
@pytest.mark.parametrize("sig", [signal.SIGTERM, signal.SIGINT, signal.SIGHUP])
def test_a_signal_storm_during_cleanup_leaves_nothing(caps_v1, child_env, tmp_path,
                                                      command, sig):
    if not caps_v1.is_root:
        pytest.skip("--swap needs root")
    p = _swap_run(command, tmp_path, child_env)
    try:
        _until_step(p, 2)
        if not any(x.startswith("swap ") for x in leftovers(caps_v1, [p.pid])):
            pytest.skip("the machine has swap of its own: no temporary swap file")
        deadline = time.monotonic() + 60
        while p.poll() is None and time.monotonic() < deadline:
            try:
                p.send_signal(sig)
            except ProcessLookupError:
                break
            time.sleep(0.002)
        p.wait(timeout=60)
    finally:
        if p.poll() is None:
            p.kill()
            p.wait()
        p.stdout.close()
    assert p.returncode != 0
    assert leftovers(caps_v1, [p.pid]) == []
    assert not (tmp_path / "t.json").exists()


def test_a_traced_run_waiting_for_another_says_so(caps_v1, child_env, tmp_path):
    """While another traced run holds the trace lock, ``live trace`` says it
    is waiting (before, it sat silent for up to 10 minutes)."""
    import sys
    if not caps_v1.is_root:
        pytest.skip("tracing needs root")
    holder = subprocess.Popen(
        [sys.executable, "-c", "import sys, time\n"
         "from memcg_edu.live.tracefs import trace_lock\n"
         "with trace_lock():\n    print('held', flush=True)\n    time.sleep(3)\n"],
        stdout=subprocess.PIPE, text=True, env=child_env)
    try:
        assert holder.stdout.readline().strip() == "held"
        r = subprocess.run(live_cli("trace", "charge", "--pages", "16", "--out",
                                    str(tmp_path / "t.json")), env=child_env,
                           capture_output=True, text=True, timeout=300)
    finally:
        holder.wait(timeout=60)
        holder.stdout.close()
    assert r.returncode == 0, r.stderr
    assert r.stdout.count("waiting: another traced run holds the lock") == 1


@pytest.mark.parametrize("command", ["run", "trace"])
def test_sighup_cleans_up_like_sigterm(caps_v1, child_env, tmp_path, command):
    """The terminal or SSH session closing (SIGHUP) mid-run: exit 129 after
    removing everything (before: killed at once, leaving the trace
    instance, the tracefs mount, the swap file and the scratch cgroup
    until the next start)."""
    p = _swap_run(command, tmp_path, child_env)
    try:
        _until_step(p, 1)
        assert leftovers(caps_v1, [p.pid])      # it holds a cgroup at least
        p.send_signal(signal.SIGHUP)
        assert p.wait(timeout=60) == 129
    finally:
        if p.poll() is None:
            p.kill()
            p.wait()
        p.stdout.close()
    assert leftovers(caps_v1, [p.pid]) == []
    if command == "trace":
        from memcg_edu.live import tracefs
        root = tracefs.find_tracefs()
        inst = root / "instances" if root is not None else None
        assert inst is None or not any(d.name.startswith(f"memcg-edu-{p.pid}-")
                                       for d in inst.iterdir())
