"""The op registry: every op declared once, complete, and every consumer reading it."""
from __future__ import annotations

from dataclasses import replace

import pytest

from memcg_edu.compare.calls import ENTRY_POINTS
from memcg_edu.scenario import FORMAT, OPS, run_scenario
from memcg_edu.scenario.format import NEW_PAGE_OPS
from memcg_edu.scenario.registry import (DESIGNS, REGISTRY, check_registry,
                                         may_reclaim)
from memcg_edu.viz.events import _BY_OP
from memcg_edu.widgets.kernel_words import OP_WORDS, describe_op, event_functions

#: one scenario that runs every op at least once (both designs)
EVERY_OP = {
    "format": FORMAT,
    "machine": {"ram_pages": 32, "swap_slots": 8},
    "memcgs": {"A": {}, "B": {}}, "tasks": {"p": "A", "q": "A"},
    "steps": [
        {"op": "fault_anon", "task": "p", "page": "x"},
        {"op": "add_to_page_cache", "task": "p", "page": "f"},
        {"op": "fault_shmem", "task": "p", "page": "s"},
        {"op": "map", "task": "q", "page": "x"},
        {"op": "unmap", "task": "q", "page": "x"},
        {"op": "get_page", "page": "x"},
        {"op": "put_page", "page": "x"},
        {"op": "migrate", "page": "x"},
        {"op": "swap_out", "page": "x"},
        {"op": "swap_in", "task": "p", "page": "x"},
        {"op": "replace_page_cache", "page": "f"},
        {"op": "truncate", "page": "f"},
        {"op": "reclaim", "memcg": "A", "pages": 1},
        {"op": "set_limit", "memcg": "A", "limit_pages": 8},
        {"op": "move_task", "task": "p", "to": "B", "move_charge": True},
        {"op": "exit", "task": "p"},
        {"op": "expect", "memcg": "A", "limit": 8},
    ]}


def test_the_scenario_above_covers_every_op():
    assert {s["op"] for s in EVERY_OP["steps"]} == set(REGISTRY)


def test_every_op_is_complete_and_a_missing_piece_fails():
    check_registry()
    for op in REGISTRY.values():
        assert set(op.kernel) == set(op.text) == set(op.memcg_api) == set(DESIGNS)
        assert op.words and callable(op.apply)
    broken = replace(REGISTRY["migrate"], text={"3.17": REGISTRY["migrate"].text["3.17"]})
    from memcg_edu.scenario import registry
    saved = registry._OPS
    try:
        registry._OPS = saved + (broken,)
        with pytest.raises(ValueError, match="scenario op migrate: no text for 3.16"):
            check_registry()
        registry._OPS = saved + (replace(broken, text=REGISTRY["migrate"].text,
                                         kernel={"3.17": ("no_such_fn",),
                                                 "3.16": ()}),)
        with pytest.raises(ValueError, match="no_such_fn is not in"):
            check_registry()
    finally:
        registry._OPS = saved


@pytest.mark.parametrize("design", DESIGNS)
def test_each_op_enters_the_kernel_functions_the_registry_names(design):
    tl = run_scenario(EVERY_OP, design=design, calls=True)
    for rec in tl:
        assert rec["ok"], (rec["op"], rec["error"])
        op = REGISTRY[rec["op"]]
        top = {c["fn"] for c in rec["calls"] if c["depth"] == 0}
        if op.kernel[design]:
            assert top & set(op.kernel[design]), (rec["op"], top)
        else:
            assert top == set(), rec["op"]
        # every memcg entry point the step called is one the registry lists
        called = {c["fn"] for c in rec["calls"]} & set(ENTRY_POINTS[design])
        assert called <= set(op.memcg_api[design]), (rec["op"], called)


def test_consumers_read_the_registry():
    assert list(OPS) == list(REGISTRY)
    assert OPS["replace_page_cache"] == {"page": ("label", True), "with": ("label", False)}
    assert NEW_PAGE_OPS == ("fault_anon", "add_to_page_cache", "fault_shmem")
    assert _BY_OP == {"swap_out": "swap-out", "swap_in": "swap-in",
                      "migrate": "migration", "replace_page_cache": "migration"}
    for name, op in REGISTRY.items():
        assert describe_op(name) == op.words == OP_WORDS[op.machine_op]
    # the 3.17 memcg API, as mm/memcontrol.c of v3.17 exports it
    assert set(ENTRY_POINTS["3.17"]) == {
        "mem_cgroup_try_charge", "mem_cgroup_commit_charge",
        "mem_cgroup_cancel_charge", "mem_cgroup_uncharge",
        "mem_cgroup_uncharge_list", "mem_cgroup_migrate", "mem_cgroup_swapout",
        "mem_cgroup_uncharge_swap", "mem_cgroup_page_lruvec",
        "mem_cgroup_move_account"}
    assert may_reclaim("reclaim", False) and not may_reclaim("map", True)
    assert may_reclaim("fault_anon", True) and not may_reclaim("fault_anon", False)


def test_mm_operations_are_not_listed_as_kernel_functions():
    # the event log records the op itself (fault_anon, unmap, get_page, ...):
    # that is the scenario op, not a kernel function
    events = ["mem_cgroup_try_charge", "mem_cgroup_commit_charge", "fault_anon"]
    assert event_functions(events) == ["mem_cgroup_try_charge",
                                       "mem_cgroup_commit_charge"]
    assert event_functions(["get_page"]) == []


def test_every_recorded_kernel_function_has_words():
    from memcg_edu.model.calls import KERNEL_FUNCTIONS
    from memcg_edu.widgets.kernel_words import FUNCTION_WORDS
    assert [n for n in KERNEL_FUNCTIONS if n not in FUNCTION_WORDS] == []


@pytest.mark.parametrize("design", DESIGNS)
def test_places_known_ops_need_no_read_back(monkeypatch, design):
    """An op marked places_known skips ops.sync_labels after a step that
    reclaims nothing: with the read-back forced for every op, every record
    (labels, touched pfns, counters) is the same."""
    from memcg_edu.bundled import SCENARIO_DIR
    known = [o.name for o in REGISTRY.values() if o.places_known]
    assert {"fault_anon", "migrate", "map"} <= set(known)
    scenarios = [EVERY_OP, *sorted(SCENARIO_DIR.glob("*.json"))]
    fast = [run_scenario(s, design, pages=True, calls=False).steps for s in scenarios]
    for name in known:
        monkeypatch.setitem(REGISTRY, name, replace(REGISTRY[name], places_known=False))
    slow = [run_scenario(s, design, pages=True, calls=False).steps for s in scenarios]
    assert fast == slow
    assert any(r["detail"]["labels"] for steps in slow for r in steps)
