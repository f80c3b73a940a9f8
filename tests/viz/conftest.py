import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parent))

from memcg_synth import small_timeline  # noqa: E402


@pytest.fixture
def tl():
    """Ten synthetic steps with known counters (see memcg_synth.small_timeline)."""
    return small_timeline()
