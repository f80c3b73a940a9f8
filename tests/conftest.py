"""Suite-wide settings.

Under CI (CI=true) Hypothesis runs derandomized, so a submission's result
does not depend on the luck of the draw; developer runs keep exploring new
random examples (and its example database replays any failure they find).
"""
import os

import pytest
from hypothesis import settings

settings.register_profile("ci", derandomize=True, print_blob=True)
if os.environ.get("CI"):
    settings.load_profile("ci")


@pytest.fixture
def only_new_threads(monkeypatch):
    """The command line's forked helpers (viz.render's renderer,
    scenario.ahead's loader) count only the threads started from now on,
    and this one: those an earlier test of the suite left waiting are not
    this test's (forked.can_fork: only a process of one thread forks)."""
    import threading
    import types

    from memcg_edu import forked
    stray = threading.active_count() - 1
    monkeypatch.setattr(forked, "threading", types.SimpleNamespace(
        active_count=lambda: threading.active_count() - stray))
