import numpy as np
import pytest

from memcg_edu.errors import ModelUsageError
from memcg_edu.timeline import COUNTERS, STATS
from memcg_edu.viz.series import memcg_names, series


def test_same_numbers_as_timeline_counter(tl):
    for name in tl.memcg_names:
        for key in COUNTERS + STATS:
            np.testing.assert_array_equal(series(tl, name, key), tl.counter(name, key))
    assert memcg_names(tl) == tl.memcg_names


def test_cache_follows_a_growing_timeline(tl):
    n = len(tl)
    assert len(series(tl, "A", "usage")) == n
    tl.append(dict(tl[-1]))
    assert len(series(tl, "A", "usage")) == n + 1


def test_errors(tl):
    with pytest.raises(ModelUsageError, match="no memcg"):
        series(tl, "Q", "usage")
    with pytest.raises(ModelUsageError, match="unknown counter"):
        series(tl, "A", "bogus")
