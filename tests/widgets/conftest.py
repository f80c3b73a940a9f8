import sys
from pathlib import Path

import pytest

# the synthetic timelines live beside the viz tests
sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "viz"))

from memcg_synth import small_timeline  # noqa: E402


@pytest.fixture
def tl():
    return small_timeline()
