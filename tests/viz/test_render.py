"""viz/render.py: a long timeline's figures made and rendered on two CPUs
(a forked child makes and renders all but the first), with the bytes of a
render in one process."""
import os

import pytest

from memcg_edu import forked as forked_mod
from memcg_edu.viz import plot_counters, plot_lru, plot_stats, render


@pytest.fixture
def made(tmp_path):
    """Where each figure was made: (kind, pid), in the order made, in any
    process (a file each maker appends to)."""
    log = tmp_path / "made"
    log.touch()

    def read():
        return [(k, int(p)) for k, p in (line.split() for line in log.read_text().splitlines())]
    read.log = log
    return read


@pytest.fixture
def figs(tl, made):
    """The makers of three figures; each notes where it ran (``made``)."""
    def maker(kind, plot):
        def make():
            with open(made.log, "a") as f:
                f.write(f"{kind} {os.getpid()}\n")
            return plot()
        return make
    return {"counters": maker("counters", lambda: plot_counters(tl)),
            "stats": maker("stats", lambda: plot_stats(tl)),
            "lru": maker("lru", lambda: plot_lru(tl, 5))}


@pytest.fixture
def alone(figs, monkeypatch, made):
    """The files made in this process only."""
    monkeypatch.setattr(render, "FORK_FROM", 10**9)
    out = render.render(figs, "png", 10)
    made.log.write_text("")
    return out


@pytest.fixture
def forks(monkeypatch, only_new_threads):
    """Make render fork for any timeline; the pids of its children."""
    monkeypatch.setattr(render, "FORK_FROM", 0)
    monkeypatch.setattr(forked_mod, "cpus", lambda: 2)
    pids = []
    real = render._fork

    def fork(*a):
        child = real(*a)
        if child is not None:
            pids.append(child[0])
        return child
    monkeypatch.setattr(render, "_fork", fork)
    return pids


def _reaped(pid: int) -> bool:
    try:
        os.waitpid(pid, os.WNOHANG)
    except ChildProcessError:
        return True
    return False


def test_the_child_makes_and_renders_the_others_with_the_same_bytes(figs, alone, forks,
                                                                  made):
    out = render.render(figs, "png", 10)
    assert list(out) == ["counters", "stats", "lru"] and out == alone
    assert len(forks) == 1 and _reaped(forks[0])
    # the first made here before the fork; the others in the child
    assert made() == [("counters", os.getpid()), ("stats", forks[0]), ("lru", forks[0])]


def test_short_timelines_or_one_cpu_stay_in_this_process(figs, alone, forks, monkeypatch,
                                                          made):
    monkeypatch.setattr(render, "FORK_FROM", 11)
    assert render.render(figs, "png", 10) == alone
    monkeypatch.setattr(render, "FORK_FROM", 0)
    monkeypatch.setattr(forked_mod, "cpus", lambda: 1)
    assert render.render(figs, "png", 10) == alone
    assert render.render({"lru": figs["lru"]}, "png", 10) == {"lru": alone["lru"]}
    assert render.render({}, "png", 10) == {}
    assert forks == [] and {pid for _, pid in made()} == {os.getpid()}


def test_a_process_of_several_threads_does_not_fork(figs, alone, forks):
    """(a lock another thread holds would stay held in the child)"""
    import threading
    stop = threading.Event()
    other = threading.Thread(target=stop.wait)
    other.start()
    try:
        assert render.render(figs, "png", 10) == alone
    finally:
        stop.set()
        other.join()
    assert forks == []


def test_what_a_failed_child_did_not_send_is_made_here(figs, alone, forks, made):
    """The child fails on its second figure: it sent the first; the parent
    makes the rest itself."""
    me = os.getpid()
    lru = figs["lru"]

    def broken():
        if os.getpid() != me:
            raise RuntimeError("the child fails")
        return lru()
    figs["lru"] = broken
    assert render.render(figs, "png", 10) == alone
    assert _reaped(forks[0])
    assert made() == [("counters", me), ("stats", forks[0]), ("lru", me)]


def test_a_child_that_dies_leaves_all_it_had_to_this_process(figs, alone, forks, made):
    """Killed while it works (SIGKILL: no clean-up of its own): whatever
    it did is lost with it, and this process makes every figure after the
    first."""
    import signal
    me = os.getpid()
    stats = figs["stats"]

    def dies():
        if os.getpid() != me:
            os.kill(os.getpid(), signal.SIGKILL)
        return stats()
    figs["stats"] = dies
    assert render.render(figs, "png", 10) == alone
    assert _reaped(forks[0])
    assert made() == [("counters", me), ("stats", me), ("lru", me)]


@pytest.mark.parametrize("error", [ValueError, KeyboardInterrupt])
def test_the_child_is_reaped_when_rendering_here_fails(figs, forks, monkeypatch, error):
    """An error or Ctrl-C while this process renders its figure: raised as
    it is, no child left behind."""
    real = render._bytes
    me = os.getpid()

    def broken(fig, fmt):
        if os.getpid() == me:
            raise error("stop")
        return real(fig, fmt)
    monkeypatch.setattr(render, "_bytes", broken)
    with pytest.raises(error, match="stop"):
        render.render(figs, "png", 10)
    assert len(forks) == 1 and _reaped(forks[0])


def test_an_error_making_the_first_figure_forks_nothing(figs, forks):
    """(the first is made before the fork: raised as it is, before any
    child)"""
    def broken():
        raise ValueError("no such memcg")
    figs["counters"] = broken
    with pytest.raises(ValueError, match="no such memcg"):
        render.render(figs, "png", 10)
    assert forks == []


def test_no_fork_no_child(figs, alone, forks, monkeypatch):
    def no_fork():
        raise OSError("no more processes")
    monkeypatch.setattr(os, "fork", no_fork)
    assert render.render(figs, "png", 10) == alone
    assert forks == []


def test_a_figure_that_warns_is_made_here(figs, alone, forks, made, recwarn):
    """Its warnings are this process's: shown as a render in one process
    shows them; the child stops there, the figures after it are made here."""
    import warnings
    stats = figs["stats"]

    def warns():
        fig = stats()
        warnings.warn("a glyph is missing", UserWarning)
        return fig
    figs["stats"] = warns
    me = os.getpid()
    assert render.render(figs, "png", 10) == alone
    assert [str(w.message) for w in recwarn] == ["a glyph is missing"]
    assert made() == [("counters", me), ("stats", forks[0]), ("stats", me), ("lru", me)]
    assert _reaped(forks[0])


def test_a_figure_that_logs_is_made_here(figs, alone, forks, made, monkeypatch, caplog):
    import logging
    real = render._bytes

    def logs(fig, fmt):
        if fig.axes[0].get_title().startswith("LRU"):
            logging.getLogger("matplotlib.font_manager").warning("findfont: no such font")
        return real(fig, fmt)
    monkeypatch.setattr(render, "_bytes", logs)
    me = os.getpid()
    assert render.render(figs, "png", 10) == alone
    assert [r.getMessage() for r in caplog.records] == ["findfont: no such font"]
    assert made() == [("counters", me), ("stats", forks[0]), ("lru", forks[0]), ("lru", me)]
