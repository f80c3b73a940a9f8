import pytest

# tests/viz is on pytest's pythonpath (pyproject.toml)
from memcg_synth import small_timeline


@pytest.fixture
def tl():
    """Ten synthetic steps with known counters (see memcg_synth.small_timeline)."""
    return small_timeline()
