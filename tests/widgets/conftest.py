import pytest

# the synthetic timelines live beside the viz tests (on pytest's pythonpath)
from memcg_synth import small_timeline


@pytest.fixture
def tl():
    """Ten synthetic steps with known counters (see memcg_synth.small_timeline)."""
    return small_timeline()
