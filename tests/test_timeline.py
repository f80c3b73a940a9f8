"""The per-step Timeline every front-end reads."""
import json

import numpy as np
import pytest

from memcg_edu.errors import ModelUsageError
from memcg_edu.timeline import COUNTERS, FORMAT, STATS, Timeline


def _rec(usage, limit=None, rss=0, name="A"):
    return {"op": "fault_anon", "ok": True, "error": None, "events": [],
            "memcgs": {name: {"usage": usage, "limit": limit, "stat": {"rss": rss}}}}


def test_counter_reads_counters_and_stats_over_steps():
    t = Timeline([_rec(1, 8, 1), _rec(2, 8, 2), _rec(0, 8, 0)])
    assert t.counter("A", "usage").tolist() == [1, 2, 0]
    assert t.counter("A", "rss").tolist() == [1, 2, 0]
    assert t.counter("A", "limit").tolist() == [8, 8, 8]


def test_unlimited_limit_and_absent_memcg_are_nan():
    t = Timeline([_rec(1, None), _rec(1, None, name="B")])
    lim = t.counter("A", "limit")
    assert np.isnan(lim).all()
    usage = t.counter("A", "usage")
    assert usage[0] == 1 and np.isnan(usage[1])
    assert t.memcg_names == ["A", "B"]


def test_unknown_counter_or_memcg_is_a_clear_error():
    t = Timeline([_rec(1)])
    with pytest.raises(ModelUsageError, match="unknown counter 'usge'"):
        t.counter("A", "usge")
    with pytest.raises(ModelUsageError, match="no memcg 'Z'.*it has A"):
        t.counter("Z", "usage")


def test_series_gives_every_counter_of_a_memcg_like_counter():
    t = Timeline([_rec(1, 8, 1), _rec(2, None, 2, name="B"), _rec(0, 8, 0)])
    table = t.series("A")
    assert set(table) == set(COUNTERS) | set(STATS)
    for key, arr in table.items():
        np.testing.assert_array_equal(arr, t.counter("A", key))
    assert table["usage"][[0, 2]].tolist() == [1, 0] and np.isnan(table["usage"][1])
    assert table["rss"][[0, 2]].tolist() == [1, 0]
    assert np.isnan(table["cache"]).all()  # a stat the records do not carry
    with pytest.raises(ModelUsageError, match="no memcg 'Z'.*it has A, B"):
        t.series("Z")


def test_append_numbers_steps_and_save_load_round_trip(tmp_path):
    t = Timeline(meta={"design": "3.17"})
    t.append(_rec(1))
    t.append(_rec(2))
    assert [s["step"] for s in t] == [0, 1]
    path = tmp_path / "t.json"
    t.save(path)
    assert json.loads(path.read_text())["format"] == FORMAT
    back = Timeline.load(path)
    assert back.meta == {"source": "model", "design": "3.17"}
    assert back.counter("A", "usage").tolist() == [1, 2]


def test_load_refuses_what_is_not_a_timeline(tmp_path):
    bad = tmp_path / "bad.json"
    bad.write_text('{"format": "something-else", "steps": []}')
    with pytest.raises(ModelUsageError, match="bad.json: not a memcg-edu timeline"):
        Timeline.load(bad)
    bad.write_text("{not json")
    with pytest.raises(ModelUsageError, match="cannot read timeline"):
        Timeline.load(bad)
    with pytest.raises(ModelUsageError, match='"steps" must be a list'):
        Timeline.from_dict({"format": FORMAT, "steps": 3})


def test_runs_keep_each_shared_record_once_and_series_reads_them_like_counter():
    from memcg_edu.timeline import runs
    same, other = {"usage": 2, "limit": None, "stat": {"rss": 2}}, {"usage": 3, "stat": None}
    steps = [_rec(1), {"memcgs": {"A": same}}, {"memcgs": {"A": same}}, {"memcgs": {}},
             {"memcgs": {"A": other}}, {"memcgs": {"A": other}}, {"memcgs": {"A": same}}]
    t = Timeline(steps)
    recs = t.present("A")
    distinct, run = runs(recs)
    # a record repeated by the next step is kept once; back again, once more
    assert len(distinct) == 5 and [distinct[i] for i in run] == recs
    assert all(distinct[i] is r for i, r in zip(run, recs))
    for key, arr in t.series("A").items():
        np.testing.assert_array_equal(arr, t.counter("A", key))
