"""A step's "calls" are kept as recorded and built into dicts when first read
(memcg_edu.model.calls.CallRecords): the dicts are those the step would have
had if built at once, whenever and however they are read."""
from __future__ import annotations

import copy
import gc
import json
import pickle
import tracemalloc

import pytest

from memcg_edu.errors import ModelUsageError
from memcg_edu.model import Machine
from memcg_edu.model.calls import CallRecords
from memcg_edu.scenario import FORMAT, JSON_KEYS, RANGE_JSON_KEYS, iter_scenario, run_scenario
from memcg_edu.scenario.run import step_json
from memcg_edu.timeline import Timeline, json_default


def _cycles(n: int, ram: int = 8) -> dict:
    """fault / migrate / get_page / unmap / put_page of a new page, n times:
    pfns are reused, so a late build must name each page by its own step's
    label."""
    steps = []
    for i in range(n):
        x = f"x{i}"
        steps += [{"op": "fault_anon", "task": "p", "page": x},
                  {"op": "migrate", "page": x},
                  {"op": "get_page", "page": x},
                  {"op": "unmap", "task": "p", "page": x},
                  {"op": "put_page", "page": x}]
    return {"format": FORMAT, "machine": {"ram_pages": ram, "swap_slots": 0},
            "memcgs": {"A": {"limit": 4}}, "tasks": {"p": "A"}, "steps": steps}


@pytest.fixture(scope="module")
def long_run():
    """Each step's calls built as it is yielded, and the same run's records
    with their calls left to be built later."""
    sc = _cycles(300)
    at_once = [list(rec["calls"]) for rec, _ in iter_scenario(sc, calls=True)]
    return at_once, run_scenario(sc, calls=True)


def test_calls_built_late_equal_calls_built_at_once(long_run):
    at_once, tl = long_run
    calls = [rec["calls"] for rec in tl]
    assert all(isinstance(c, CallRecords) for c in calls)
    assert sum(len(c) for c in calls) > 10 * len(calls)
    # read from the last step back: every pfn was reused since step 0
    for k in reversed(range(len(calls))):
        assert calls[k] == at_once[k], f"step {k}"
    assert calls[0][0]["fn"] == "do_anonymous_page" and calls[0][0]["page"] == "x0"
    late = [c["page"] for c in tl[-1]["calls"] if c["page"] is not None]
    assert late and set(late) == {"x299"}


def test_len_and_truth_match_the_dicts(long_run):
    at_once, tl = long_run
    for rec, built in zip(tl, at_once):
        fresh = rec["calls"]
        assert len(fresh) == len(built) and bool(fresh) == bool(built)
    assert len(tl[0]["calls"]) > 5


def test_the_dicts_are_built_once_and_read_like_a_list(long_run):
    _, tl = long_run
    calls = tl[3]["calls"]
    assert calls[0] is calls[0] and calls[-1] is list(calls)[-1]
    assert calls[1:3] == list(calls)[1:3]
    assert [c["fn"] for c in calls] == [c["fn"] for c in iter(calls)]
    assert repr(calls) == repr(list(calls))
    with pytest.raises(TypeError):
        hash(calls)


def test_copies_and_pickles_are_plain_lists(long_run):
    _, tl = long_run
    for back in (pickle.loads(pickle.dumps(tl[5]["calls"])),
                 copy.deepcopy(tl[5]["calls"]), copy.copy(tl[5]["calls"])):
        assert type(back) is list and back == tl[5]["calls"]
    rec = copy.deepcopy(tl[6])
    assert type(rec["calls"]) is list and rec["calls"] == tl[6]["calls"]


def test_json_needs_json_default_and_then_writes_the_list(long_run, tmp_path):
    _, tl = long_run
    rec = tl[7]
    with pytest.raises(TypeError, match="CallRecords is not JSON serializable"):
        json.dumps(rec)                          # never an empty list by mistake
    assert json.loads(json.dumps(rec, default=json_default))["calls"] == \
        json.loads(json.dumps(list(rec["calls"])))
    with pytest.raises(TypeError, match="set is not JSON serializable"):
        json.dumps({"x": {1}}, default=json_default)
    small = Timeline(tl.steps[:10], tl.meta)
    small.save(tmp_path / "t.json")
    back = Timeline.load(tmp_path / "t.json")
    assert [r["calls"] for r in back] == [list(r["calls"]) for r in small]
    assert back[2]["calls"][0]["fn"] == tl[2]["calls"][0]["fn"]


def test_a_range_of_a_restored_machine_says_its_calls_are_gone():
    m = Machine(ram_pages=8, swap_slots=0)
    m.create_task("p", m.create_memcg("A"))
    m.fault_anon("p")
    kept = m.calls.since(0, {}, {})
    first = list(m.calls.records(0))
    snap = m.snapshot()
    start = len(m.calls)
    m.fault_anon("p")
    gone = m.calls.since(start, {}, {})
    assert len(gone) > 3
    m.restore(snap)
    m.fault_anon("p")
    with pytest.raises(ModelUsageError, match="restored to a snapshot taken before"):
        list(gone)
    assert kept == first                         # calls before the cut stay


def test_pfns_are_the_pages_of_the_calls():
    m = Machine(ram_pages=64, swap_slots=0)
    m.create_task("p", m.create_memcg("A"))
    marks = [len(m.calls)]
    for _ in range(400):
        m.unmap("p", m.fault_anon("p"))
        marks.append(len(m.calls))
    log = m.calls
    got = [log.pfns(a, b) for a, b in zip(marks, marks[1:])]
    want = [{c["pfn"] if c["pfn"] is not None else -1 for c in log.records(a, b)}
            for a, b in zip(marks, marks[1:])]
    assert got == want and any(len(g) > 1 for g in got)


@pytest.mark.parametrize("n", [3, 20])
def test_raw_states_of_many_pages_are_each_pages_raw_state(n):
    m = Machine(ram_pages=64, swap_slots=0)
    m.create_task("p", m.create_memcg("A"))
    pages = [m.fault_anon("p") for _ in range(n)]
    m.unmap("p", pages[1])                           # one free frame among them
    pfns = [p.pfn for p in pages]
    states = m.calls.raw_states(pfns)
    assert states == {p: m.calls.raw_state(p) for p in pfns}
    assert states[pfns[0]] != states[pfns[1]]
    assert all(type(v) is int for s in states.values() for v in s)


def _retained_call_log_bytes(sc: dict, streaming: bool) -> int:
    """Bytes allocated in memcg_edu/model/calls.py and still held when the
    last step's record is made, running ``sc`` step by step (iter_scenario,
    ``streaming``) or keeping every record (run_scenario).

    The calls are not built into dicts here: a dict's block, once freed, may
    be reused by a dict made elsewhere (a label's) and would still be
    counted as calls.py's (test_a_streamed_steps_calls_are_gone_after_the_
    next_step reads them)."""
    from memcg_edu.model import calls as calls_module
    only_calls = [tracemalloc.Filter(True, calls_module.__file__),
                  tracemalloc.Filter(True, "<kernel_call wrapper>")]
    last = len(sc["steps"]) - 1
    tracemalloc.start()
    try:
        if streaming:
            for rec, _ in iter_scenario(sc, calls=True, detail=False):
                if rec["step"] == last:
                    snap = _held()
        else:
            tl = run_scenario(sc, calls=True, detail=False)
            snap = _held()
    finally:
        tracemalloc.stop()
    return sum(t.size for t in snap.filter_traces(only_calls).traces)


def _held() -> tracemalloc.Snapshot:
    """What is allocated now; a full collection first empties the free lists
    of tuples and dicts, whose blocks tracemalloc still counts as held."""
    gc.collect()
    return tracemalloc.take_snapshot()


def test_a_streaming_run_keeps_the_calls_of_one_step_not_of_the_run():
    # iter_scenario forgets a step's calls once the next step is asked for
    # (CallLog.forget): ten times the steps, about the same bytes held
    small, big = _cycles(50), _cycles(500)
    streamed = [_retained_call_log_bytes(sc, True) for sc in (small, big)]
    kept = [_retained_call_log_bytes(sc, False) for sc in (small, big)]
    assert kept[1] > 8 * kept[0]                 # run_scenario keeps every step's
    assert kept[0] > 20 * streamed[0]
    assert streamed[1] < 1.5 * streamed[0] + 4096, streamed


def test_a_streamed_steps_calls_are_gone_after_the_next_step():
    steps = iter_scenario(_cycles(3), calls=True)
    first, _ = next(steps)
    second, _ = next(steps)
    assert list(second["calls"])[0]["fn"] == "isolate_lru_page"     # migrate_pages
    with pytest.raises(ModelUsageError, match="forgotten: a streaming run keeps"):
        list(first["calls"])
    built, _ = next(steps)
    names = [c["fn"] for c in built["calls"]]
    next(steps)
    assert [c["fn"] for c in built["calls"]] == names   # read in time: kept


def test_a_steps_json_line_is_json_dumps_of_its_keys():
    # step_json (run --json) writes the calls from their text; the line is
    # json.dumps of the record's JSON_KEYS and RANGE_JSON_KEYS, in that order
    sc = _cycles(2)
    sc["steps"] += [{"op": "fault_anon", "task": "p", "page": "r{i}", "count": 3},
                    {"op": "get_page", "page": "r{i}", "count": 3},
                    {"op": "expect", "memcg": "A", "usage": 0}]
    sc["steps"][-1]["usage"] = 99                       # a failed expect: "error"
    keys = JSON_KEYS + RANGE_JSON_KEYS
    lines = [(step_json(rec), json.dumps({k: rec[k] for k in keys if k in rec},
                                         default=json_default))
             for rec, _ in iter_scenario(sc, calls=True)]
    assert all(a == b for a, b in lines)
    recs = [json.loads(a) for a, _ in lines]
    assert list(recs[11]) == list(keys) and len(recs[11]["calls"]) == 3
    assert recs[-1]["error"] and list(recs[0]) == list(JSON_KEYS)
