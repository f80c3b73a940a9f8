"""Runs in a second process (memcg_edu.scenario.beside): the same records and output, nothing left behind."""
import io
import os
import pickle
import subprocess
from dataclasses import fields

import pytest

from memcg_edu.scenario import beside
from memcg_edu.compare.stream import stream_compare
from memcg_edu.errors import ScenarioError
from memcg_edu.scenario import iter_scenario, load_scenario

from memcg_edu.bundled import SCENARIO_DIR

SCENARIOS = sorted(SCENARIO_DIR.glob("*.json"))
#: a small machine where 3.16 and 3.17 differ (a limit, swap, page cache)
MIXED = {
    "format": "memcg-edu-scenario/1", "title": "mixed",
    "machine": {"ram_pages": 16, "swap_slots": 8},
    "memcgs": {"A": {}, "Bee": {"limit": 4}}, "tasks": {"p": "A", "q": "Bee"},
    "steps": [{"op": "fault_anon", "task": "p", "page": "x"},
              {"op": "add_to_page_cache", "task": "q", "page": "f"},
              {"op": "fault_anon", "task": "q", "page": "y"},
              {"op": "swap_out", "page": "y"},
              {"op": "unmap", "task": "p", "page": "x"},
              {"op": "truncate", "page": "f"}],
}


def _long(n: int = 120) -> dict:
    """A scenario of 4n steps over every kind of page, with 3.16 and 3.17 differing."""
    steps = []
    for i in range(n):
        x, f = f"x{i}", f"f{i}"
        steps += [{"op": "fault_anon", "task": "p", "page": x},
                  {"op": "add_to_page_cache", "task": "q", "page": f},
                  {"op": "unmap", "task": "p", "page": x},
                  {"op": "truncate", "page": f}]
    return dict(MIXED, title="long", steps=steps)


@pytest.fixture
def forced(monkeypatch):
    """Every scenario goes to a second process, in small batches; yields the
    children started, to look at after."""
    started = []
    start = beside._start

    def _start(sc, design, options):
        feed = start(sc, design, options)
        started.append(None if feed is None else feed.child)
        return feed

    monkeypatch.setattr(beside, "BESIDE_FROM", 0)
    monkeypatch.setattr(beside, "cpus", lambda: 2)
    monkeypatch.setattr(beside, "_BATCH", 16)
    monkeypatch.setattr(beside, "_start", _start)
    return started


OPTIONS = {"pages": False, "calls": False, "detail": False}


def _in_process(sc, design, **options):
    return list(iter_scenario(load_scenario(sc), design, **(options or OPTIONS)))


def _reaped(child) -> bool:
    """Waited for, and no child of ours under its pid any more."""
    return child.returncode is not None and _not_ours(child.pid)


def _not_ours(pid: int) -> bool:
    """The pid is gone, or is now some other process (not a child of ours)."""
    try:
        with open(f"/proc/{pid}/stat") as f:
            return int(f.read().rsplit(")", 1)[1].split()[1]) != os.getpid()
    except FileNotFoundError:
        return True


@pytest.mark.parametrize("sc", [MIXED, _long(), *SCENARIOS[:3]],
                         ids=lambda s: getattr(s, "stem", None) or s["title"])
def test_a_second_process_gives_the_report_byte_for_byte(sc, forced, monkeypatch):
    got = {kw: _stream(sc, **dict(kw)) for kw in ((), (("calls", True),), (("as_json", True),))}
    assert forced and all(_reaped(c) for c in forced)
    monkeypatch.setattr(beside, "BESIDE_FROM", 10**9)
    forced.clear()
    for kw, text in got.items():
        assert text == _stream(sc, **dict(kw))
    assert not forced                     # that one ran in this process


@pytest.mark.parametrize("flags", [[], ["--check-invariants"], ["--design", "3.16"]])
def test_run_writes_the_same_text_from_a_second_process(forced, monkeypatch, tmp_path,
                                                        capsys, flags):
    import json
    from memcg_edu.cli import main
    f = tmp_path / "long.json"
    f.write_text(json.dumps(_long(30)))
    got = main(["run", str(f), *flags]), capsys.readouterr()
    assert len(forced) == 1 and _reaped(forced[0])
    monkeypatch.setattr(beside, "BESIDE_FROM", 10**9)
    assert (main(["run", str(f), *flags]), capsys.readouterr()) == got
    assert len(forced) == 1
    monkeypatch.setattr(beside, "BESIDE_FROM", 0)
    for more in (["--json"], ["--calls"]):  # its calls: from this process's log
        assert main(["run", str(f), *flags, *more]) == got[0]
        assert len(forced) == 1


def _stream(sc, **kw) -> str:
    out = io.StringIO()
    stream_compare(sc, out, **kw)
    return out.getvalue()


def test_the_records_are_iter_scenarios_in_order(forced):
    sc = load_scenario(_long(40))
    assert list(beside.records(sc, "3.16", **OPTIONS)) == _in_process(sc, "3.16")
    assert len(forced) == 1 and _reaped(forced[0])


def test_a_child_that_dies_half_way_is_replaced_by_this_process(forced, monkeypatch):
    # a pipe as small as Linux makes it unless told more: the child cannot
    # have sent the whole run when it is killed
    monkeypatch.setattr(beside, "_PIPE", 1 << 16)
    sc = load_scenario(_long(2000))
    run = beside.records(sc, "3.16", **OPTIONS)
    got = [next(run) for _ in range(20)]
    # mid-run (it blocks once the pipe holds a few hundred records): the
    # rest of its batches never come
    forced[0].kill()
    got += list(run)
    assert got == _in_process(sc, "3.16")
    assert forced[0].returncode == -9 and _reaped(forced[0])


def test_a_step_found_invalid_half_way_is_raised_here_as_in_process(forced):
    bad = _long(10)
    bad["steps"] = bad["steps"] + [{"op": "unmap", "task": "p", "page": "x0"}]
    with pytest.raises(ScenarioError) as here:
        _stream(bad)
    assert forced and all(_reaped(c) for c in forced)
    with pytest.raises(ScenarioError) as alone:
        _in_process(bad, "3.16")
    assert str(here.value) == str(alone.value)


def test_the_child_may_run_a_megabyte_of_records_ahead(forced):
    """Its pipe holds _PIPE bytes, not Linux's 64 KiB (less than a batch):
    neither process waits on the other at each hiccup."""
    fcntl = pytest.importorskip("fcntl")
    if not hasattr(fcntl, "F_GETPIPE_SZ"):
        pytest.skip("a pipe's size is set on Linux only")
    run = beside.records(load_scenario(_long(200)), "3.16", **OPTIONS)
    next(run)
    assert fcntl.fcntl(forced[0].stdout.fileno(), fcntl.F_GETPIPE_SZ) == beside._PIPE > 1 << 16
    run.close()


@pytest.mark.parametrize("end", [GeneratorExit, KeyboardInterrupt])
def test_ending_the_comparison_early_kills_and_reaps_the_child(forced, monkeypatch, end):
    # a pipe that holds a few hundred records: the child, blocked on it,
    # is still running whatever the machine's speed
    monkeypatch.setattr(beside, "_PIPE", 1 << 16)
    run = beside.records(load_scenario(_long(2000)), "3.16", **OPTIONS)
    next(run)
    child = forced[0]
    assert child.poll() is None           # still running
    if end is GeneratorExit:
        run.close()
    else:
        with pytest.raises(KeyboardInterrupt):
            run.throw(KeyboardInterrupt)
    assert _reaped(child) and child.stdout.closed


def test_the_child_protocol_is_batches_then_none(monkeypatch):
    """serve(), the child's side, run here: the run's head, its steps in
    batches, then None; back, whole batches of records, the last short,
    then None."""
    monkeypatch.setattr(beside, "_BATCH", 4)
    sc = load_scenario(MIXED)
    head = beside._Arriving(**{**{f.name: getattr(sc, f.name) for f in fields(sc)},
                               "steps": [], "_checked": None}, names=sc.memcg_names)
    feed = io.BytesIO(b"".join(pickle.dumps(part) for part in [
        (head, "3.17", OPTIONS, len(sc.steps)), sc.steps[:5], sc.steps[5:], None]))
    out = io.BytesIO()
    beside.serve(feed, out)
    out.seek(0)
    batches = []
    while (b := pickle.load(out)) is not None:
        batches.append(b)
    assert [len(b) for b in batches] == [4, 2]
    assert [r for b in batches for r in b] == _in_process(MIXED, "3.17")


def test_a_child_whose_steps_stop_coming_ends_with_an_error():
    """A feed cut before its None (the parent died or stopped it): the child
    ends on it, never with a short run sent as whole."""
    sc = load_scenario(MIXED)
    head = beside._Arriving(**{**{f.name: getattr(sc, f.name) for f in fields(sc)},
                               "steps": [], "_checked": None}, names=sc.memcg_names)
    feed = io.BytesIO(pickle.dumps((head, "3.17", OPTIONS, 6)) + pickle.dumps(sc.steps[:3]))
    out = io.BytesIO()
    with pytest.raises(EOFError):
        beside.serve(feed, out)
    assert None not in _batches(out)


def _batches(out: io.BytesIO) -> list:
    """What serve wrote to ``out``, batch by batch."""
    out.seek(0)
    got = []
    while True:
        try:
            got.append(pickle.load(out))
        except EOFError:
            return got


def test_the_child_is_fed_the_scenario_without_its_checked_copy(forced, monkeypatch):
    """The feed leaves out load_scenario's copy of the scenario (as big
    again), and an edit made since the load is checked here first, as an
    in-process run checks it."""
    fed = []
    dumps = pickle.dumps
    monkeypatch.setattr(beside.pickle, "dumps",
                        lambda obj, *a: (fed.append(obj), dumps(obj, *a))[1])
    sc = load_scenario(_long(40))
    assert list(beside.records(sc, "3.16", **OPTIONS)) == _in_process(sc, "3.16")
    head, design, options, count = fed[0]
    assert (head._checked, head.steps, design, options, count) == (
        None, [], "3.16", OPTIONS, len(sc.steps))
    assert head.memcg_names == sc.memcg_names and sc._checked is not None
    assert [st for batch in fed[1:-1] for st in batch] == sc.steps and fed[-1] is None
    assert forced[0].returncode == 0      # it ran to its end, not replaced
    sc.steps.append({"op": "unmap_all"})
    with pytest.raises(ScenarioError) as here:
        list(beside.records(sc, "3.16", **OPTIONS))
    assert len(forced) == 1               # raised before any child was started
    with pytest.raises(ScenarioError) as alone:
        _in_process(sc, "3.16")
    assert str(here.value) == str(alone.value)


def test_short_scenarios_or_one_cpu_stay_in_this_process(monkeypatch):
    started = []
    monkeypatch.setattr(beside, "_start", lambda *a: started.append(a))
    sc = load_scenario(_long(10))
    assert list(beside.records(sc, "3.16", **OPTIONS)) == _in_process(sc, "3.16")
    monkeypatch.setattr(beside, "BESIDE_FROM", 0)
    monkeypatch.setattr(beside, "cpus", lambda: 1)
    assert list(beside.records(sc, "3.16", **OPTIONS)) == _in_process(sc, "3.16")
    assert started == []


def test_a_range_step_counts_its_pages():
    sc = load_scenario(dict(MIXED, machine={"ram_pages": 64, "swap_slots": 0}, steps=[
        {"op": "fault_anon", "task": "p", "page": "x{i}", "count": 50},
        {"op": "unmap", "task": "p", "page": "x{i}", "count": 50}]))
    assert beside._steps(sc) == 100


def test_the_child_runs_isolated_from_the_callers_environment(forced, tmp_path, monkeypatch):
    """-I: a PYTHONPATH or a working directory holding another memcg_edu is not read."""
    fake = tmp_path / "memcg_edu"
    fake.mkdir()
    (fake / "__init__.py").write_text("raise SystemExit('the wrong memcg_edu')\n")
    monkeypatch.setenv("PYTHONPATH", str(tmp_path))
    monkeypatch.chdir(tmp_path)
    sc = load_scenario(_long(10))
    assert list(beside.records(sc, "3.16", **OPTIONS)) == _in_process(sc, "3.16")
    assert forced[0].returncode == 0      # it ran to its end, not replaced
    assert isinstance(forced[0], subprocess.Popen)


def _session(sid: int) -> list[tuple[int, str]]:
    """(pid, command line) of the live processes of session ``sid``."""
    found = []
    for d in os.listdir("/proc"):
        if not d.isdigit():
            continue
        try:
            with open(f"/proc/{d}/stat") as f:
                fields = f.read().rsplit(")", 1)[1].split()
            with open(f"/proc/{d}/cmdline", "rb") as f:
                cmd = f.read().replace(b"\0", b" ").decode()
        except OSError:                     # gone meanwhile
            continue
        if int(fields[3]) == sid and fields[0] != "Z":
            found.append((int(d), cmd))
    return found


def _with_its_child(tmp_path, command):
    """``python -m memcg_edu COMMAND`` of a long scenario in a session of its
    own, once its child runs; the Popen."""
    import json
    import sys
    f = tmp_path / "long.json"
    f.write_text(json.dumps(_long(beside.BESIDE_FROM // 4 + 1000)))
    p = subprocess.Popen([sys.executable, "-m", "memcg_edu", command, str(f)],
                         cwd=tmp_path, env=dict(os.environ, PYTHONPATH=beside._ROOT),
                         stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True,
                         start_new_session=True)
    for _ in range(3000):                   # up to 30 s to start its child
        if any("scenario.beside" in cmd for _, cmd in _session(p.pid)):
            return p
        assert p.poll() is None, p.stderr.read()
        subprocess.run(["sleep", "0.01"])
    raise AssertionError(f"{command} started no second process")


@pytest.mark.parametrize("command", ["compare", "run"])
def test_ctrl_c_ends_the_command_and_its_child_in_one_line(tmp_path, command):
    """A terminal's Ctrl-C reaches the whole process group: one line, exit
    130, and no process of the run left."""
    import signal
    p = _with_its_child(tmp_path, command)
    os.killpg(p.pid, signal.SIGINT)
    _, err = p.communicate(timeout=60)
    assert (p.returncode, err) == (130, "interrupted\n")
    assert _session(p.pid) == []


@pytest.mark.parametrize("command", ["compare", "run"])
def test_a_child_whose_parent_is_killed_ends_by_itself(tmp_path, command):
    """SIGKILL of the command alone: its child stops at its next write to
    the closed pipe."""
    import signal
    p = _with_its_child(tmp_path, command)
    p.send_signal(signal.SIGKILL)
    p.wait(timeout=60)
    for _ in range(3000):                   # up to 30 s
        if not _session(p.pid):
            break
        subprocess.run(["sleep", "0.01"])
    assert _session(p.pid) == []


@pytest.mark.parametrize("python", ["", "/nonexistent/python3"])
def test_no_usable_interpreter_leaves_the_run_here(forced, monkeypatch, python):
    monkeypatch.setattr(beside.sys, "executable", python)
    sc = load_scenario(_long(5))
    assert list(beside.records(sc, "3.16", **OPTIONS)) == _in_process(sc, "3.16")
    assert forced == [None]


def test_a_child_that_dies_before_reading_the_scenario_leaves_the_run_here(forced,
                                                                          monkeypatch):
    # the scenario is far more than a pipe holds: writing it meets the
    # closed pipe (BrokenPipeError), and the child is reaped
    monkeypatch.setattr(beside, "_CHILD", "pass")
    sc = load_scenario(_long(2000))
    assert list(beside.records(sc, "3.17", **OPTIONS)) == _in_process(sc, "3.17")
    assert len(forced) == 1 and forced[0].returncode == 0 and _reaped(forced[0])


def test_a_scenario_that_cannot_be_sent_leaves_the_run_here(forced, monkeypatch):
    """Nothing of it can be pickled: the child, which would wait for it, is
    killed, and the run is this process's."""
    def refuse(*args, **kwargs):
        raise pickle.PicklingError("cannot pickle")
    sc = load_scenario(_long(5))
    monkeypatch.setattr(beside.pickle, "dumps", refuse)
    got = list(beside.records(sc, "3.17", **OPTIONS))
    monkeypatch.undo()
    assert got == _in_process(sc, "3.17")
    assert len(forced) == 1 and forced[0].returncode == -9 and _reaped(forced[0])


@pytest.fixture
def spawned(monkeypatch):
    """Every scenario file is long enough for ``early`` to start the second
    process before loading it; yields the processes started."""
    started = []
    spawn = beside._spawn

    def _spawn():
        child = spawn()
        started.append(child)
        return child

    monkeypatch.setattr(beside, "EARLY_FROM_BYTES", 0)
    monkeypatch.setattr(beside, "cpus", lambda: 2)
    monkeypatch.setattr(beside, "_spawn", _spawn)
    return started


@pytest.mark.parametrize("command", [["run"], ["run", "--design", "3.16"], ["compare"],
                                     ["compare", "--json"]])
def test_a_process_started_before_the_load_gives_the_same_output(spawned, monkeypatch,
                                                                 tmp_path, capsys, command):
    import json
    from memcg_edu.cli import main
    f = tmp_path / "short.json"
    f.write_text(json.dumps(_long(30)))       # short: used all the same
    got = main([*command, str(f)]), capsys.readouterr()
    assert len(spawned) == 1 and _reaped(spawned[0])
    if command[0] == "run":                  # it ran to its end, not replaced
        assert spawned[0].returncode == 0    # (compare closes it at its last record)
    monkeypatch.setattr(beside, "EARLY_FROM_BYTES", 10**12)
    assert (main([*command, str(f)]), capsys.readouterr()) == got
    assert len(spawned) == 1                 # that one ran in this process


@pytest.mark.parametrize("command", ["run", "compare"])
def test_an_invalid_file_reaps_the_process_started_before_its_load(spawned, tmp_path,
                                                                  capsys, command):
    import json
    from memcg_edu.cli import main
    bad = _long(10)
    bad["steps"] = bad["steps"] + [{"op": "unmap", "task": "nobody", "page": "x0"}]
    f = tmp_path / "bad.json"
    f.write_text(json.dumps(bad))
    assert main([command, str(f)]) == 2
    err = capsys.readouterr().err
    assert err.startswith("error: ") and err.count("\n") == 1
    assert len(spawned) == 1 and _reaped(spawned[0]) and spawned[0].stdin.closed


def test_no_process_is_started_early_for_a_short_file_or_one_cpu(spawned, monkeypatch,
                                                                  tmp_path):
    import json
    f = tmp_path / "short.json"
    f.write_text(json.dumps(_long(10)))
    monkeypatch.setattr(beside, "EARLY_FROM_BYTES", f.stat().st_size + 1)
    with beside.early(f) as child:
        assert child is None
    monkeypatch.setattr(beside, "EARLY_FROM_BYTES", 0)
    monkeypatch.setattr(beside, "cpus", lambda: 1)
    with beside.early(f) as child:
        assert child is None
    with beside.early(tmp_path / "missing.json") as child:
        assert child is None
    assert spawned == []


@pytest.fixture
def streamed(spawned, monkeypatch):
    """``spawned``, with the load telling its watch every 8 steps; yields
    what each Feed had been sent by the time ``records`` used it:
    (steps sent, steps of the scenario)."""
    import memcg_edu.scenario.load as load
    monkeypatch.setattr(load, "WATCH_EVERY", 8)
    at_send = []
    send = beside.Feed.send

    def _send(self, sc):
        at_send.append((self._sent, len(sc.steps)))
        return send(self, sc)
    monkeypatch.setattr(beside.Feed, "send", _send)
    return at_send


def _cli(args):
    """main(args) and what it printed."""
    import contextlib
    from memcg_edu.cli import main
    out, err = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        code = main(args)
    return code, out.getvalue(), err.getvalue()


@pytest.mark.parametrize("command", [["run"], ["run", "--check-invariants"],
                                     ["run", "--design", "3.16"], ["compare"]])
def test_the_load_sends_each_step_as_it_is_checked(streamed, spawned, monkeypatch,
                                                   tmp_path, command):
    """By the time the run's records are read, the load has sent every
    step (in batches, as checked): the output is the same as a run here."""
    import json
    f = tmp_path / "long.json"
    f.write_text(json.dumps(_long(30)))
    got = _cli([*command, str(f)])
    assert streamed == [(120, 120)] and len(spawned) == 1 and _reaped(spawned[0])
    monkeypatch.setattr(beside, "EARLY_FROM_BYTES", 10**12)
    assert _cli([*command, str(f)]) == got
    assert len(spawned) == 1                 # that one ran in this process


@pytest.mark.parametrize("design", ["3.16", "3.17"])
def test_a_streamed_run_follows_the_files_design_and_its_late_use_of_root(
        streamed, spawned, monkeypatch, tmp_path, design):
    """The child learns the design and the memcgs a record shows before the
    steps are checked: from the file's "design", and from a use of root in
    its last step."""
    import json
    sc = _long(30)
    sc["design"] = design
    sc["steps"] = sc["steps"] + [{"op": "expect", "memcg": "root", "usage": 0}]
    f = tmp_path / "long.json"
    f.write_text(json.dumps(sc))
    got = _cli(["run", str(f)])
    assert f"design {design}" in got[1] and "root" in got[1].split("\n\n")[-1]
    assert streamed == [(121, 121)] and spawned[0].returncode == 0
    monkeypatch.setattr(beside, "EARLY_FROM_BYTES", 10**12)
    assert _cli(["run", str(f)]) == got


@pytest.mark.parametrize("where", [3, 100])
@pytest.mark.parametrize("command", ["run", "compare"])
def test_an_invalid_step_after_some_were_sent_is_the_files_error(streamed, spawned,
                                                                 tmp_path, command, where):
    """The child may run the steps sent before it: the error is this
    process's, in one line, and the child is reaped."""
    import json
    bad = _long(30)
    bad["steps"][where] = {"op": "unmap", "task": "nobody", "page": "x0"}
    f = tmp_path / "bad.json"
    f.write_text(json.dumps(bad))
    code, out, err = _cli([command, str(f)])
    assert (code, out) == (2, "") and err.startswith("error: ") and err.count("\n") == 1
    assert f"step {where}" in err and streamed == []
    assert len(spawned) == 1 and _reaped(spawned[0]) and spawned[0].stdin.closed


def test_an_invalid_design_after_the_steps_were_sent_is_the_files_error(streamed,
                                                                        spawned, tmp_path):
    import json
    bad = dict(_long(30), design="3.18")
    f = tmp_path / "bad.json"
    f.write_text(json.dumps(bad))
    code, out, err = _cli(["run", str(f)])
    assert (code, out) == (2, "") and "design" in err and err.count("\n") == 1
    assert len(spawned) == 1 and _reaped(spawned[0])


def test_a_child_that_dies_while_the_file_loads_leaves_the_run_here(streamed, spawned,
                                                                   monkeypatch, tmp_path):
    import json
    f = tmp_path / "long.json"
    f.write_text(json.dumps(_long(300)))
    alone = _cli(["run", str(f)])
    monkeypatch.setattr(beside, "_CHILD", "pass")
    assert _cli(["run", str(f)]) == alone
    assert spawned[1].returncode == 0 and _reaped(spawned[1])


@pytest.mark.timeout(120)
@pytest.mark.parametrize("command", ["run", "compare"])
def test_a_child_ahead_by_a_full_pipe_while_the_file_loads_does_not_stall(
        streamed, spawned, monkeypatch, tmp_path, command):
    """The child fills its pipe of records (64 KiB here) and waits on it
    while this process is still loading (slowed here) and sending: the
    sending is a thread of its own, so neither waits on the other for good."""
    import json
    import time
    import memcg_edu.scenario.load as load
    monkeypatch.setattr(load, "WATCH_EVERY", 64)
    monkeypatch.setattr(beside, "_PIPE", 1 << 16)
    checked = beside.Feed.checked
    blocked = []

    def slow(self, steps):
        checked(self, steps)
        time.sleep(0.02)
        blocked.append(_unread(self.child.stdout))      # records waiting here
    monkeypatch.setattr(beside.Feed, "checked", slow)
    f = tmp_path / "long.json"
    f.write_text(json.dumps(_long(1500)))
    got = _cli([command, str(f)])
    assert max(blocked) == 1 << 16            # its pipe was full while this one loaded
    monkeypatch.setattr(beside, "EARLY_FROM_BYTES", 10**12)
    assert _cli([command, str(f)]) == got
    assert len(spawned) == 1 and _reaped(spawned[0])


def _unread(pipe) -> int:
    """Bytes written into ``pipe`` and not read yet (Linux: FIONREAD)."""
    import array
    import fcntl
    import termios
    n = array.array("i", [0])
    fcntl.ioctl(pipe.fileno(), termios.FIONREAD, n)
    return n[0]
