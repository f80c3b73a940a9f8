"""memcg_edu/quick_exit.py: the command line's own process ends without
freeing what a command kept, after the atexit handlers and with every
line written; any other exit is Python's own."""
from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from memcg_edu import quick_exit
from memcg_edu.quick_exit import INTERRUPTED

ROOT = Path(__file__).parents[1]

#: a process that keeps an object which says when it is freed
PROGRAM = """
import atexit, sys, threading, time
from memcg_edu import quick_exit

class Freed:
    def __del__(self):
        sys.stdout.write("freed\\n")

atexit.register(lambda: sys.stdout.write("atexit ran\\n"))
quick_exit.process_ends({ends})
freed = Freed()                 # a module global: freed as the interpreter ends
if {keep}:
    quick_exit.keep(freed)
    del freed
if {thread}:
    threading.Thread(target=lambda: (time.sleep(0.3), sys.stdout.write("thread done\\n"))).start()
sys.stdout.write("output, not flushed yet\\n")
quick_exit.exit_process({code})
"""


def _program(ends: bool, thread: bool, keep: bool = True,
             code: int = 3) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-c", PROGRAM.format(
        ends=ends, thread=thread, keep=keep, code=code)],
        cwd=ROOT, capture_output=True, text=True, timeout=60)


def test_what_was_kept_is_not_freed_and_nothing_written_is_lost():
    r = _program(ends=True, thread=False)
    assert (r.returncode, r.stderr) == (3, "")
    assert r.stdout == "output, not flushed yet\natexit ran\n"


@pytest.mark.parametrize("ends, thread", [(False, False), (True, True)])
def test_otherwise_the_exit_is_pythons_own(ends, thread):
    """Nothing kept (a command line called from Python keeps nothing), or
    another thread still running (a normal exit waits for it): the
    interpreter ends as always, freeing what is left."""
    r = _program(ends=ends, thread=thread)
    assert (r.returncode, r.stderr) == (3, "")
    lines = r.stdout.splitlines()
    assert "output, not flushed yet" in lines and "atexit ran" in lines
    assert ("thread done" in lines) == thread
    assert lines.count("freed") == 1


@pytest.mark.parametrize("keep, thread", [(False, False), (False, True), (True, True)])
def test_a_run_a_ctrl_c_ended_always_leaves_the_quick_way(keep, thread):
    """Exit status INTERRUPTED: no interpreter shutdown after a Ctrl-C that
    may have broken an import half-way (matplotlib's ft2font then aborts
    the process in a C++ destructor), whatever was kept and whatever other
    thread runs; the atexit handlers run and every line is written."""
    r = _program(ends=True, thread=thread, keep=keep, code=INTERRUPTED)
    assert (r.returncode, r.stderr) == (INTERRUPTED, "")
    assert r.stdout == "output, not flushed yet\natexit ran\n"


def test_in_process_nothing_is_kept_and_the_exit_is_a_system_exit():
    quick_exit.process_ends(False)
    quick_exit.keep(object())
    for code in (5, INTERRUPTED):
        with pytest.raises(SystemExit) as e:
            quick_exit.exit_process(code)
        assert e.value.code == code


def _cli(*argv: str, cwd: Path) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "memcg_edu", *argv], cwd=cwd,
                          capture_output=True, text=True, timeout=300)


def test_the_commands_that_keep_write_all_they_say(tmp_path, capsys):
    """plot, run and check keep their scenario or timeline for the exit:
    their whole output and files are there, as from main() in a process
    that goes on."""
    from memcg_edu.cli import main
    for argv in (["run", "06-swap-out-and-in"], ["check", "06-swap-out-and-in"], ["run", "--json", "06-swap-out-and-in"]):
        r = _cli(*argv, cwd=tmp_path)
        assert main(argv) == r.returncode == 0
        assert r.stdout == capsys.readouterr().out and r.stdout and r.stderr == ""
    r = _cli("plot", "06-swap-out-and-in", "--out", "f.png", cwd=tmp_path)
    assert r.returncode == 0 and r.stderr == ""
    wrote = [line.split()[1] for line in r.stdout.splitlines() if line.startswith("wrote")]
    assert wrote == ["f.png", "f-stats.png", "f-lru.png", "f-pages.png"]
    assert all((tmp_path / f).read_bytes()[:4] == b"\x89PNG" for f in wrote)


def test_a_reader_that_goes_away_ends_the_run_as_before(tmp_path):
    """A closed pipe (``| head -1``) while a kept run still writes: exit 0
    and nothing said, the normal exit's way."""
    steps = [{"op": "fault_anon", "task": "p", "page": f"x{i}"} for i in range(3000)]
    (tmp_path / "long.json").write_text(json.dumps({
        "format": "memcg-edu-scenario/1", "machine": {"ram_pages": 4096},
        "memcgs": {"A": {}}, "tasks": {"p": "A"}, "steps": steps}))
    whole = _cli("run", "long.json", cwd=tmp_path)
    # a run that succeeds, and says more than a pipe holds
    assert whole.returncode == 0 and len(whole.stdout) > 1 << 16, whole.stderr
    p = subprocess.Popen([sys.executable, "-m", "memcg_edu", "run", "long.json"],
                         cwd=tmp_path, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    assert p.stdout is not None and p.stderr is not None
    p.stdout.readline()
    p.stdout.close()
    assert p.wait(timeout=300) == 0
    assert p.stderr.read() == b""
