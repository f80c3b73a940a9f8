"""The attacks on the live lab, replayed on the real kernel as root: a
planted work directory, a symlink at the work path, a stale swap file after
SIGKILL, two --swap runs at once. None may steer the run, and each run
leaves nothing behind."""
from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

from live_helpers import alive, leftovers

pytestmark = pytest.mark.live

_CLI = f"{sys.executable} -m memcg_edu live run"


@pytest.fixture
def root(caps_v1):
    if not caps_v1.is_root:
        pytest.skip("the attacks target a run as root")
    return caps_v1


def _attack(shell: str, env, cwd) -> tuple[subprocess.CompletedProcess, int]:
    """Run ``shell`` (which ends by exec'ing the CLI, so $$ is its pid);
    returns the result and that pid."""
    p = subprocess.run(["sh", "-c", "echo $$; " + shell], capture_output=True,
                       text=True, env=env, cwd=cwd, timeout=240)
    return p, int(p.stdout.split("\n", 1)[0])


def test_planted_work_dir_with_symlink_is_not_used(root, child_env, tmp_path):
    victim = tmp_path / "victim"
    victim.write_text("precious\n")
    p, pid = _attack(
        "d=/var/tmp/memcg-edu-$$-work; mkdir $d; ln -s " + str(victim) +
        " $d/f; chown -R nobody $d; exec " + _CLI +
        " pagecache --pages 256 --out a.json", child_env, tmp_path)
    planted = Path(f"/var/tmp/memcg-edu-{pid}-work")
    try:
        assert p.returncode == 0, p.stderr
        assert victim.read_text() == "precious\n"
        # the planted directory is not ours: used for nothing, left alone
        assert planted.is_dir() and (planted / "f").is_symlink()
        assert planted.stat().st_uid == 65534
        assert (tmp_path / "a.json").is_file()
        assert leftovers(root, [pid], Path("/var/tmp")) == [f"file {planted}"]
    finally:
        (planted / "f").unlink()
        planted.rmdir()


def test_symlink_at_the_work_path_is_not_followed(root, child_env, tmp_path):
    target = tmp_path / "target"
    target.mkdir()
    p, pid = _attack(
        "d=/var/tmp/memcg-edu-$$-work; ln -s " + str(target) + " $d; exec "
        + _CLI + " pagecache --pages 256 --out a.json", child_env, tmp_path)
    link = Path(f"/var/tmp/memcg-edu-{pid}-work")
    try:
        assert p.returncode == 0, p.stderr
        assert list(target.iterdir()) == []
        mounts = Path("/proc/self/mounts").read_text()
        assert str(target) not in mounts and str(link) not in mounts
        assert link.is_symlink()
        assert leftovers(root, [pid], Path("/var/tmp")) == [f"file {link}"]
    finally:
        link.unlink()


def _swaps() -> str:
    return Path("/proc/swaps").read_text()


def test_stale_swap_file_after_sigkill_is_not_system_swap(root, child_env,
                                                          tmp_path):
    """A run SIGKILLed with its swap file on: the next --swap run removes
    it (by its record), adds its own, runs the swap phases and says so."""
    if root.swap_pages:
        pytest.skip("this machine has system swap; --swap adds nothing")
    script = ("import sys, time\nfrom memcg_edu.live import record\n"
              "def pause(step):\n"
              "    print(step['step'], flush=True)\n"
              "    if step['step'] == 2: time.sleep(60)\n"
              "record('swap', 512, swap=True, on_step=pause)\n")
    p = subprocess.Popen([sys.executable, "-c", script], stdout=subprocess.PIPE,
                         text=True, env=child_env)
    for line in p.stdout:
        if line.strip() == "2":
            break
    assert re.search(rf"memcg-edu-{p.pid}-\w+\.swapdir/swap", _swaps())
    p.kill()
    p.wait(timeout=30)
    r = subprocess.run([*_CLI.split(), "swap", "--pages", "512", "--swap",
                        "--out", "b.json"], capture_output=True, text=True,
                       env=child_env, cwd=tmp_path, timeout=240)
    assert r.returncode == 0, r.stderr
    assert "system swap" not in r.stdout
    assert "swap: temporary swap file of 1280 pages" in r.stdout
    assert re.search(rf"removed stale swap file .*memcg-edu-{p.pid}-", r.stdout)
    assert "skipped" not in r.stdout
    assert leftovers(root, [p.pid]) == []
    assert "memcg-edu-" not in _swaps()


def test_two_swap_runs_at_once_each_have_their_own_swap(root, child_env,
                                                        tmp_path):
    if root.swap_pages:
        pytest.skip("this machine has system swap; --swap adds nothing")
    runs = [subprocess.Popen([*_CLI.split(), "swap", "--pages", "512",
                              "--swap", "--out", f"{i}.json"],
                             stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                             text=True, env=child_env, cwd=tmp_path)
            for i in range(2)]
    outs = [r.communicate(timeout=240) for r in runs]
    for r, (out, err) in zip(runs, outs):
        assert r.returncode == 0, err
        assert "swap: temporary swap file of 1280 pages" in out
        assert "system swap" not in out and "skipped" not in out
    assert leftovers(root, [r.pid for r in runs]) == []
    assert "memcg-edu-" not in _swaps()
    assert not any(alive(r.pid) for r in runs)


def test_swapon_failing_makes_the_run_fail(root, child_env, tmp_path):
    """--swap where no swap file can be enabled (work base on tmpfs):
    a one-line error, a non-zero exit, nothing recorded as done."""
    if root.swap_pages or not Path("/dev/shm").is_dir():
        pytest.skip("needs no system swap and a tmpfs at /dev/shm")
    env = {**child_env, "MEMCG_EDU_WORK_BASE": "/dev/shm"}
    r = subprocess.Popen([*_CLI.split(), "swap", "--pages", "512", "--swap",
                          "--out", "c.json"], stdout=subprocess.PIPE,
                         stderr=subprocess.PIPE, text=True, env=env,
                         cwd=tmp_path)
    out, err = r.communicate(timeout=240)
    assert r.returncode != 0
    assert err.count("\n") == 1 and "swapon" in err, err
    assert not (tmp_path / "c.json").exists()
    assert leftovers(root, [r.pid], Path("/dev/shm")) == []


#: `python -m memcg_edu`, after saying "go" once the interpreter is up
_LAUNCH = ("import runpy, sys; sys.stderr.write('go\\n'); sys.stderr.flush(); "
           "sys.argv[0] = 'memcg_edu'; "
           "runpy.run_module('memcg_edu', run_name='__main__', alter_sys=True)")


@pytest.mark.parametrize("delay", [0.05, 0.15, 0.3, 0.5, 0.8])
def test_ctrl_c_while_a_swap_run_starts_leaves_nothing(root, child_env, tmp_path,
                                                       delay):
    """SIGINT at moments of start-up (imports, stale cleanup, swap file,
    cgroups, first phases): one line, exit 130 (or 0 if it had finished),
    and nothing left behind."""
    import signal
    import time
    p = subprocess.Popen([sys.executable, "-c", _LAUNCH, "live", "run", "swap",
                          "--pages", "256", "--swap", "--out", "i.json"],
                         stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                         text=True, env=child_env, cwd=tmp_path)
    assert p.stderr.readline() == "go\n"
    time.sleep(delay)
    p.send_signal(signal.SIGINT)
    out, err = p.communicate(timeout=120)
    assert "Traceback" not in err, err
    assert (p.returncode, err) == (130, "interrupted\n") or p.returncode == 0, err
    assert (tmp_path / "i.json").exists() == (p.returncode == 0)
    assert leftovers(root, [p.pid]) == []
    assert "memcg-edu-" not in _swaps()
