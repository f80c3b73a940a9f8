"""A scenario file loaded in a forked child while this process runs its steps
(memcg_edu.scenario.ahead): the same timeline and errors, nothing left behind."""
import json
import os
import signal
import subprocess
import sys
import threading

import pytest

from memcg_edu import forked as forked_mod
from memcg_edu.bundled import SCENARIO_DIR
from memcg_edu.errors import ScenarioError
from memcg_edu.scenario import ahead as ahead_mod
from memcg_edu.scenario import run_scenario
from memcg_edu.scenario.ahead import ahead
from memcg_edu.timeline import json_default
from memcg_edu.viz.source import load_source

from test_beside import MIXED, _long, _session
from test_render import _reaped

SCENARIOS = sorted(SCENARIO_DIR.glob("*.json"))


@pytest.fixture
def forking(monkeypatch, only_new_threads):
    """Every file is loaded ahead (however short), in small batches; yields
    the pids of the children forked, to look at after."""
    import memcg_edu.scenario.load as load
    monkeypatch.setattr(ahead_mod, "EARLY_FROM_BYTES", 0)
    monkeypatch.setattr(forked_mod, "cpus", lambda: 2)
    monkeypatch.setattr(load, "WATCH_EVERY", 8)
    forked = []
    fork = ahead_mod._fork

    def _fork(path):
        got = fork(path)
        forked.append(None if got is None else got[0])
        return got
    monkeypatch.setattr(ahead_mod, "_fork", _fork)
    return forked


def _json(tl) -> str:
    return json.dumps(tl.to_dict(), default=json_default, sort_keys=True)


def _write(tmp_path, sc: dict, name: str = "s.json"):
    f = tmp_path / name
    f.write_text(json.dumps(sc))
    return f


@pytest.mark.parametrize("path", SCENARIOS, ids=lambda p: p.stem)
@pytest.mark.parametrize("design", [None, "3.16"])
def test_the_timeline_is_the_one_of_a_load_and_run_here(forking, path, design):
    """Each bundled scenario (range steps, a limit's OOM, migration, swap;
    the kernel calls and page state kept), under its own design and 3.16:
    the same timeline, and the same scenario, as loaded and run here."""
    with ahead(path) as early:
        assert early is not None
        tl, sc = early.run(design, calls=True, detail=True)
    here = run_scenario(path, design, calls=True, detail=True)
    assert _json(tl) == _json(here)
    assert (sc.title, sc.description, sc.steps) == (here.meta["title"],
                                                    here.meta["description"],
                                                    here.meta["steps"])
    assert forking and _reaped(forking[0])


def test_a_run_that_stops_reads_the_rest_of_the_file(forking, tmp_path, monkeypatch):
    """A run that ends early (a broken kernel precondition ends it) still
    names every step of the file in its meta, as a run here does."""
    from dataclasses import replace

    from memcg_edu.errors import KernelBugError
    from memcg_edu.scenario.registry import REGISTRY

    def broken(c, s):
        raise KernelBugError("page 0 is still on an LRU list",
                             "VM_BUG_ON_PAGE(PageLRU(page))", "mem_cgroup_uncharge")
    monkeypatch.setitem(REGISTRY, "get_page", replace(REGISTRY["get_page"], apply=broken))
    sc = _long(40)
    sc["steps"].insert(6, {"op": "get_page", "page": "f1"})
    f = _write(tmp_path, sc)
    here = run_scenario(f, "3.17", detail=None)
    assert here.meta["stopped_at"] == 6
    with ahead(f) as early:
        tl, _ = early.run("3.17", detail=None)
    assert _json(tl) == _json(here)
    assert len(tl.meta["steps"]) == len(sc["steps"]) > len(tl) == 7


def test_load_source_takes_the_run_and_plot_draws_the_same(forking, tmp_path):
    f = _write(tmp_path, _long(40))
    with ahead(f) as early:
        got = load_source(str(f), None, calls=False, detail=None, ahead=early)
    here = load_source(str(f), None, calls=False, detail=None)
    assert _json(got.timeline) == _json(here.timeline)
    assert (got.name, list(got.steps)) == (here.name, list(here.steps))


@pytest.mark.parametrize("bad, words", [
    ({"op": "fault_anon", "task": "nobody", "page": "zz"}, 'no task "nobody"'),
    ({"op": "bogus"}, 'unknown op "bogus"'),
])
def test_a_late_invalid_step_is_the_loads_error_raised_here(forking, tmp_path, bad, words):
    """The child fails at the step; this process, which ran the steps
    before it, gives up its run and loads the file: the error an
    in-process load raises, no other."""
    sc = _long(40)
    sc["steps"].insert(150, bad)
    f = _write(tmp_path, sc)
    with ahead(f) as early:
        assert early.run(None, detail=None) is None
    with pytest.raises(ScenarioError, match=words) as here:
        load_source(str(f), None, detail=None)
    with ahead(f) as early:
        with pytest.raises(ScenarioError) as got:
            load_source(str(f), None, detail=None, ahead=early)
    assert str(got.value) == str(here.value) and "step 150" in str(got.value)
    assert all(_reaped(pid) for pid in forking)


def _run_error_first() -> dict:
    """Step 3 fails in the run (its page was reclaimed at step 2), which
    no load can know; 120 valid steps follow."""
    steps = [{"op": "add_to_page_cache", "task": "p", "page": f"g{i}"} for i in range(3)]
    steps.append({"op": "migrate", "page": "g0"})
    return dict(MIXED, memcgs={"A": {"limit": 2}, "Bee": {}},
                steps=steps + _long(30)["steps"])


def test_a_step_failing_in_the_run_is_raised_once_the_file_is_loaded(forking, tmp_path):
    f = _write(tmp_path, _run_error_first())
    with pytest.raises(ScenarioError, match="no longer exists") as here:
        run_scenario(f, None, detail=None)
    with ahead(f) as early:
        with pytest.raises(ScenarioError) as got:
            early.run(None, detail=None)
    assert str(got.value) == str(here.value)


def test_an_invalid_step_after_a_failing_run_is_what_is_raised(forking, tmp_path):
    """An in-process load checks the whole file before the run: its error
    comes first, even where the run would have failed earlier."""
    sc = _run_error_first()
    sc["steps"].append({"op": "bogus"})
    f = _write(tmp_path, sc)
    with ahead(f) as early:
        assert early.run(None, detail=None) is None
    with ahead(f) as early:
        with pytest.raises(ScenarioError, match='unknown op "bogus"'):
            load_source(str(f), None, detail=None, ahead=early)


def test_a_saved_timeline_is_read_here(forking, tmp_path):
    f = tmp_path / "tl.json"
    run_scenario(MIXED).save(f)
    with ahead(f) as early:
        src = load_source(str(f), None, ahead=early)
    assert _json(src.timeline) == _json(load_source(str(f), None).timeline)


def test_a_child_killed_half_way_leaves_the_run_here(forking, tmp_path, monkeypatch):
    """Killed once the run began, more steps to send than its pipe holds:
    the stream ends early, and the run is not used."""
    f = _write(tmp_path, _long(2000))
    monkeypatch.setattr(ahead_mod, "_PIPE", 1 << 16)
    with ahead(f) as early:
        receive = early._next
        first = []

        def _next():
            got = receive()
            if not first:                       # the head: the child is loading
                first.append(got)
                os.kill(forking[0], signal.SIGKILL)
            return got
        early._next = _next
        assert early.run(None, detail=None) is None
    got = load_source(str(f), None, detail=None)
    assert len(got.timeline) == 8000


def test_no_fork_beside_another_thread_or_for_a_short_file(tmp_path, monkeypatch,
                                                           only_new_threads):
    monkeypatch.setattr(forked_mod, "cpus", lambda: 2)
    f = _write(tmp_path, _long(40))
    with ahead(f) as early:                     # short: not worth a fork
        assert early is None
    monkeypatch.setattr(ahead_mod, "EARLY_FROM_BYTES", 0)
    stop = threading.Event()
    t = threading.Thread(target=stop.wait)
    t.start()
    try:
        with ahead(f) as early:
            assert early is None
    finally:
        stop.set()
        t.join()
    with ahead(tmp_path / "no-such-file.json") as early:
        assert early is None
    with ahead(tmp_path) as early:              # a folder: the child cannot load it
        assert early is not None and early.run(None) is None


def _plot(tmp_path, f, **popen):
    return subprocess.Popen(
        [sys.executable, "-m", "memcg_edu", "plot", str(f), "--out", str(tmp_path / "f.png")],
        cwd=tmp_path, env=dict(os.environ, PYTHONPATH=ahead_mod.__file__.rsplit(
            "/memcg_edu/", 1)[0]), stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
        text=True, **popen)


def test_ctrl_c_while_the_child_loads_ends_both_in_one_line(tmp_path):
    f = _write(tmp_path, _long(20_000))
    assert f.stat().st_size >= ahead_mod.EARLY_FROM_BYTES
    p = _plot(tmp_path, f, start_new_session=True)
    for _ in range(3000):                       # up to 30 s for its fork
        if len(_session(p.pid)) >= 2:
            break
        assert p.poll() is None, p.stderr.read()
        subprocess.run(["sleep", "0.01"])
    else:
        raise AssertionError("plot forked no child")
    os.killpg(p.pid, signal.SIGINT)
    _, err = p.communicate(timeout=60)
    assert (p.returncode, err) == (130, "interrupted\n")
    assert _session(p.pid) == []


def test_plot_draws_the_same_bytes_with_its_file_loaded_ahead(forking, tmp_path,
                                                               monkeypatch):
    import argparse

    from memcg_edu.cli import plot

    def figures(name: str) -> dict[str, bytes]:
        p = argparse.ArgumentParser()
        plot.add_parser(p.add_subparsers())
        args = p.parse_args(["plot", str(f), "--out", str(tmp_path / f"{name}.png"),
                             "--overlay-design", "3.16"])
        assert args.func(args) == 0
        return {p.name.removeprefix(name): p.read_bytes()
                for p in sorted(tmp_path.glob(f"{name}*.png"))}

    f = _write(tmp_path, _long(60))
    ahead_of = figures("a")
    assert len(forking) == 1 and _reaped(forking[0])
    monkeypatch.setattr(ahead_mod, "EARLY_FROM_BYTES", 10**12)
    assert figures("b") == ahead_of and len(ahead_of) == 5
    assert len(forking) == 1
