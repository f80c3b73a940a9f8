import pytest

# tests/viz is on pytest's pythonpath (pyproject.toml)
from memcg_synth import small_timeline


@pytest.fixture
def tl():
    """Ten synthetic steps with known counters (see memcg_synth.small_timeline)."""
    return small_timeline()


@pytest.fixture
def only_new_threads(monkeypatch):
    """viz.render counts only the threads started from now on, and this
    one: those an earlier test of the suite left waiting are not this
    test's (render forks only a process of one thread)."""
    import threading
    import types

    from memcg_edu.viz import render
    stray = threading.active_count() - 1
    monkeypatch.setattr(render, "threading", types.SimpleNamespace(
        active_count=lambda: threading.active_count() - stray))
