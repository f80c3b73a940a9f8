"""viz/render.py: a long timeline's figures rendered on two CPUs (a forked
child renders all but the first), with the bytes of a render in one process."""
import os

import pytest

from memcg_edu.viz import plot_counters, plot_lru, plot_stats, render


@pytest.fixture
def figs(tl):
    return {"counters": plot_counters(tl), "stats": plot_stats(tl), "lru": plot_lru(tl, 5)}


@pytest.fixture
def alone(figs, monkeypatch):
    """The files made in this process only."""
    monkeypatch.setattr(render, "FORK_FROM", 10**9)
    return render.render(figs, "png", 10)


@pytest.fixture
def forks(monkeypatch, only_new_threads):
    """Make render fork for any timeline; the pids of its children."""
    monkeypatch.setattr(render, "FORK_FROM", 0)
    monkeypatch.setattr(render, "cpus", lambda: 2)
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


def test_the_child_renders_the_same_bytes(figs, alone, forks, monkeypatch):
    made_here = []
    real = render._bytes
    me = os.getpid()

    def counted(fig, fmt):
        if os.getpid() == me:
            made_here.append(fig)
        return real(fig, fmt)
    monkeypatch.setattr(render, "_bytes", counted)
    out = render.render(figs, "png", 10)
    assert list(out) == ["counters", "stats", "lru"] and out == alone
    assert made_here == [figs["counters"]]       # the others came from the child
    assert len(forks) == 1 and _reaped(forks[0])


def test_short_timelines_or_one_cpu_stay_in_this_process(figs, alone, forks, monkeypatch):
    monkeypatch.setattr(render, "FORK_FROM", 11)
    assert render.render(figs, "png", 10) == alone
    monkeypatch.setattr(render, "FORK_FROM", 0)
    monkeypatch.setattr(render, "cpus", lambda: 1)
    assert render.render(figs, "png", 10) == alone
    assert render.render({"lru": figs["lru"]}, "png", 10) == {"lru": alone["lru"]}
    assert forks == []


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


def test_what_a_failed_child_did_not_send_is_made_here(figs, alone, forks, monkeypatch):
    """The child fails on its second figure: it sent the first; the parent
    renders the rest itself."""
    real = render._bytes
    me = os.getpid()

    def broken(fig, fmt):
        if os.getpid() != me and fig is figs["lru"]:
            raise RuntimeError("the child fails")
        return real(fig, fmt)
    monkeypatch.setattr(render, "_bytes", broken)
    assert render.render(figs, "png", 10) == alone
    assert _reaped(forks[0])


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


def test_no_fork_no_child(figs, alone, forks, monkeypatch):
    def no_fork():
        raise OSError("no more processes")
    monkeypatch.setattr(os, "fork", no_fork)
    assert render.render(figs, "png", 10) == alone
    assert forks == []


def test_a_figure_that_warns_is_rendered_here(figs, alone, forks, monkeypatch, recwarn):
    """Its warnings are this process's: shown as a render in one process
    shows them; the child stops there, the figures after it are made here."""
    import warnings
    real = render._bytes

    def warning(fig, fmt):
        if fig is figs["stats"]:
            warnings.warn("a glyph is missing", UserWarning)
        return real(fig, fmt)
    made_here = []
    me = os.getpid()
    monkeypatch.setattr(render, "_bytes", lambda fig, fmt: (
        made_here.append(fig) if os.getpid() == me else None) or warning(fig, fmt))
    assert render.render(figs, "png", 10) == alone
    assert [str(w.message) for w in recwarn] == ["a glyph is missing"]
    assert made_here == [figs["counters"], figs["stats"], figs["lru"]]
    assert _reaped(forks[0])


def test_a_figure_that_logs_is_rendered_here(figs, alone, forks, monkeypatch, caplog):
    import logging
    real = render._bytes
    made_here = []
    me = os.getpid()

    def logs(fig, fmt):
        if os.getpid() == me:
            made_here.append(fig)
        if fig is figs["lru"]:
            logging.getLogger("matplotlib.font_manager").warning("findfont: no such font")
        return real(fig, fmt)
    monkeypatch.setattr(render, "_bytes", logs)
    assert render.render(figs, "png", 10) == alone
    assert [r.getMessage() for r in caplog.records] == ["findfont: no such font"]
    assert made_here == [figs["counters"], figs["lru"]]
