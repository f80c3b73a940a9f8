"""The compare layer on hand-made timelines: pairing, marking, counting calls."""
import json

import pytest

from memcg_edu.compare import (CATEGORIES, Comparison, compare_timelines,
                               diff_steps, render_text, summarize_calls)
from memcg_edu.errors import ModelUsageError
from memcg_edu.timeline import Timeline


def rec(step, op, usage, rss, events=(), notes=(), ok=True, error=None):
    r = {"step": step, "op": op, "ok": ok, "error": error, "events": list(events),
         "memcgs": {"A": {"usage": usage, "memsw_usage": usage, "limit": None,
                          "stat": {"rss": rss, "cache": 0}}}}
    if notes:
        r["design_notes"] = list(notes)
    return r


def pinned_pair():
    old = Timeline([
        rec(0, "fault_anon", 1, 1, ["mem_cgroup_charge_anon", "lock_page_cgroup"]),
        rec(1, "get_page", 1, 1),
        rec(2, "unmap", 0, 0, ["mem_cgroup_uncharge_page",
                               "lock_page_cgroup", "__mem_cgroup_uncharge_common:root",
                               "mem_cgroup_uncharge_page:swapcache"],
            notes=["page x was uncharged but is still referenced"]),
        rec(3, "put_page", 0, 0),
    ], {"design": "3.16", "title": "pinned"})
    new = Timeline([
        rec(0, "fault_anon", 1, 1, ["mem_cgroup_try_charge", "mem_cgroup_commit_charge"]),
        rec(1, "get_page", 1, 1),
        rec(2, "unmap", 1, 1),
        rec(3, "put_page", 0, 0, ["mem_cgroup_uncharge", "mem_cgroup_uncharge:not_used"]),
    ], {"design": "3.17", "title": "pinned"})
    return old, new


def test_cells_that_differ_are_marked_per_step():
    old, new = pinned_pair()
    rows = diff_steps(old, new)
    assert [r["differs"] for r in rows][:2] == [[], []]
    assert ["A", "usage"] in rows[2]["differs"] and ["A", "rss"] in rows[2]["differs"]
    assert ["A", "limit"] not in rows[2]["differs"]  # both unlimited
    assert rows[2]["memcgs"]["A"]["usage"] == {"3.16": 0, "3.17": 1}
    assert rows[3]["differs"] == []


def test_comparison_summary_counts_calls_locks_and_special_cases():
    cmp = compare_timelines(*pinned_pair())
    s16, s17 = cmp.summary["3.16"], cmp.summary["3.17"]
    assert s16["entry_points"] == ["mem_cgroup_charge_anon", "mem_cgroup_uncharge_page"]
    assert s16["lock_page_cgroup"] == 2 and s17["lock_page_cgroup"] == 0
    assert s16["categories"]["deferred uncharge for swap cache"] == 1
    assert s16["categories"]["root skip"] == 1
    assert s17["categories"]["early return"] == 1
    assert s17["entry_points"] == ["mem_cgroup_commit_charge", "mem_cgroup_try_charge",
                                   "mem_cgroup_uncharge"]
    assert s16["design_notes"] == [{"step": 2, "note": "page x was uncharged but "
                                                       "is still referenced"}]
    assert cmp.differing_steps == [2] and cmp.same_end_state
    assert cmp.kernel_bugs == []


def test_summary_ignores_names_of_the_other_design():
    steps = [{"events": ["mem_cgroup_uncharge", "mem_cgroup_charge_anon"]}]
    assert summarize_calls(steps, "3.16")["entry_points"] == ["mem_cgroup_charge_anon"]
    assert set(summarize_calls(steps, "3.16")["categories"]) == set(CATEGORIES)


def test_json_round_trips_and_holds_both_timelines():
    cmp = compare_timelines(*pinned_pair())
    data = json.loads(json.dumps(cmp.to_dict()))
    assert data["designs"] == ["3.16", "3.17"]
    assert data["differing_steps"] == [2]
    assert data["steps"][2]["memcgs"]["A"]["rss"] == {"3.16": 0, "3.17": 1}
    assert cmp.timelines["3.16"].counter("A", "usage").tolist() == [1, 1, 0, 0]
    assert cmp.timelines["3.17"].counter("A", "usage").tolist() == [1, 1, 1, 0]


def test_text_marks_differences_and_lists_summary():
    text = render_text(compare_timelines(*pinned_pair()))
    unmap = next(l for l in text.splitlines() if " unmap " in l)
    assert "*0/1" in unmap
    fault = next(l for l in text.splitlines() if "fault_anon" in l)
    assert "*" not in fault and " 1/1" in fault
    assert "page_cgroup lock taken" in text
    assert "counters differ after step 2; the end state is the same" in text
    assert "design difference at step 2" in text


def test_different_scenarios_are_refused():
    old, new = pinned_pair()
    new.steps[1]["op"] = "map"
    with pytest.raises(ModelUsageError, match="step 1"):
        diff_steps(old, new)
    with pytest.raises(ModelUsageError, match="differ in length"):
        diff_steps(Timeline(old.steps[:2]), new)
    with pytest.raises(ModelUsageError, match="missing 3.17"):
        Comparison({"3.16": old})


def test_a_run_stopped_by_a_kernel_bug_is_reported_not_crashed():
    old, new = pinned_pair()
    stopped = Timeline(old.steps[:2], {"design": "3.16", "stopped_at": 1})
    stopped.steps[1].update(ok=False, error="kernel precondition broken: X")
    cmp = compare_timelines(stopped, new)
    assert cmp.kernel_bugs == [{"design": "3.16", "step": 1,
                                "error": "kernel precondition broken: X"}]
    assert cmp.rows[3]["ok"] == {"3.16": False, "3.17": True}
    assert "stopped at step 1" in cmp.rows[3]["error"]["3.16"]
    assert "the 3.16 kernel stops at step 1" in render_text(cmp)


def test_summary_reads_events_given_as_dicts():
    steps = [{"events": [{"function": "lock_page_cgroup"},
                         {"function": "mem_cgroup_end_migration:unmapped_survivor"},
                         {"function": "mem_cgroup_end_migration"}]}]
    s = summarize_calls(steps, "3.16")
    assert s["lock_page_cgroup"] == 1
    assert s["entry_points"] == ["mem_cgroup_end_migration"]
    assert s["categories"]["unmapped survivor of migration"] == 1
