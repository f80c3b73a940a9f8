"""run_scenario: step records, labels that follow the data, failures."""
from __future__ import annotations

from pathlib import Path

import pytest

from memcg_edu.errors import ScenarioError
from memcg_edu.scenario import FORMAT, JSON_KEYS, run_scenario
from memcg_edu.timeline import COUNTERS, STATS, Timeline

from scenario_bad_messages import RUNTIME

BAD = Path(__file__).parent / "bad"
DATA = Path(__file__).parents[2] / "data" / "scenarios"


def scen(steps, memcgs=None, tasks=None, **machine):
    return {"format": FORMAT, "title": "t",
            "machine": {"ram_pages": 16, "swap_slots": 8, **machine},
            "memcgs": {"A": {}} if memcgs is None else memcgs,
            "tasks": {"p": "A", "q": "A"} if tasks is None else tasks,
            "steps": steps}


def fa(page, task="p"):
    return {"op": "fault_anon", "task": task, "page": page}


@pytest.mark.parametrize("name", sorted(RUNTIME))
def test_runtime_bad_file_message(name):
    with pytest.raises(ScenarioError) as e:
        run_scenario(BAD / name)
    assert str(e.value) == RUNTIME[name]


def test_record_shape_matches_run_json():
    tl = run_scenario(scen([fa("x")]))
    assert isinstance(tl, Timeline) and len(tl) == 1
    rec = tl[0]
    assert set(JSON_KEYS) <= set(rec) and set(rec) - set(JSON_KEYS) <= {"detail", "pages"}
    assert rec["step"] == 0 and rec["op"] == "fault_anon"
    assert rec["ok"] is True and rec["error"] is None
    assert "mem_cgroup_try_charge" in rec["events"]
    assert "mem_cgroup_commit_charge" in rec["events"]
    a = rec["memcgs"]["A"]
    assert set(a) == set(COUNTERS) | {"stat"} and set(a["stat"]) == set(STATS)
    assert (a["usage"], a["memsw_usage"], a["stat"]["rss"], a["limit"]) == (1, 1, 1, None)
    assert list(rec["memcgs"]) == ["A"]     # root is not named by this scenario
    pfn = rec["detail"]["labels"]["x"]["pfn"]
    assert rec["detail"]["touched"] == [pfn]
    assert rec["pages"]["refcount"][pfn] == 1 and rec["pages"]["free"][pfn] is False


def test_meta_names_design_and_title():
    tl = run_scenario(scen([fa("x")]))
    assert tl.meta["design"] == "3.17" and tl.meta["title"] == "t"
    assert tl.meta["source"] == "model"


def test_pages_left_out_for_big_machines_or_on_request():
    assert "pages" not in run_scenario(scen([fa("x")]), pages=False)[0]
    big = scen([fa("x")], ram_pages=4096)
    assert "pages" not in run_scenario(big)[0]
    assert "pages" in run_scenario(big, pages=True)[0]


def test_label_follows_migration_to_the_new_frame():
    tl = run_scenario(scen([fa("x"), {"op": "migrate", "page": "x"}]))
    old = tl[0]["detail"]["labels"]["x"]["pfn"]
    new = tl[1]["detail"]["labels"]["x"]["pfn"]
    assert old != new
    assert new in tl[1]["detail"]["touched"]
    assert tl[1]["memcgs"]["A"]["usage"] == 1


def test_label_follows_swap_out_and_in():
    tl = run_scenario(scen([fa("x"), {"op": "swap_out", "page": "x"},
                            {"op": "swap_in", "task": "p", "page": "x"}]))
    assert "swap" in tl[1]["detail"]["labels"]["x"]
    assert "pfn" in tl[2]["detail"]["labels"]["x"]
    assert [r["memcgs"]["A"]["memsw_usage"] for r in tl] == [1, 1, 1]
    assert [r["memcgs"]["A"]["usage"] for r in tl] == [1, 0, 1]


def test_label_follows_reclaim_into_swap_then_unmap_frees_the_slot():
    tl = run_scenario(scen([fa("x"), {"op": "reclaim", "memcg": "A", "pages": 4},
                            {"op": "unmap", "task": "p", "page": "x"},
                            {"op": "expect", "memcg": "A", "memsw_usage": 0,
                             "swap": 0}]))
    assert "swap" in tl[1]["detail"]["labels"]["x"]
    assert tl[1]["memcgs"]["A"]["stat"]["swap"] == 1
    assert "x" not in tl[2]["detail"]["labels"]
    assert tl[3]["ok"]


def test_freed_label_gone_from_detail():
    tl = run_scenario(scen([fa("x"), {"op": "unmap", "task": "p", "page": "x"}]))
    assert tl[1]["detail"]["labels"] == {}
    assert tl[1]["memcgs"]["A"]["usage"] == 0


def test_oom_recorded_and_run_goes_on():
    tl = run_scenario(scen([fa("x"), fa("y"), {"op": "expect", "memcg": "A", "usage": 1}],
                           memcgs={"A": {"limit": 1, "memsw_limit": 1}}))
    assert tl[1]["ok"] is False and "OOM" in tl[1]["error"]
    assert "y" not in tl[1]["detail"]["labels"]
    assert tl[2]["ok"] is True


def test_label_of_failed_fault_cannot_be_used():
    with pytest.raises(ScenarioError) as e:
        run_scenario(scen([fa("x"), fa("y"), {"op": "unmap", "task": "p", "page": "y"}],
                          memcgs={"A": {"limit": 1, "memsw_limit": 1}}), )
    assert str(e.value).startswith('scenario, step 2 (unmap), field "page": page "y" ')
    assert "step 1" in str(e.value)


def test_failing_expect_recorded_with_each_counter():
    tl = run_scenario(scen([fa("x"), {"op": "expect", "memcg": "A", "usage": 2,
                                      "rss": 1, "swap": 3}]))
    assert tl[1]["ok"] is False
    assert tl[1]["error"] == "expect A: usage is 1, expected 2; swap is 0, expected 3"


def test_expect_limit_null_means_unlimited():
    tl = run_scenario(scen([{"op": "expect", "memcg": "A", "limit": None,
                             "memsw_limit": None}]))
    assert tl[0]["ok"]


def test_unknown_design_is_a_scenario_error():
    with pytest.raises(ScenarioError, match='field "design": unknown design "2.6"'):
        run_scenario(scen([fa("x")]), design="2.6")


@pytest.mark.parametrize("path", sorted(DATA.glob("*.json")), ids=lambda p: p.name)
def test_shipped_scenarios_all_expects_hold(path):
    tl = run_scenario(path)
    bad = [(r["step"], r["error"]) for r in tl if r["op"] == "expect" and not r["ok"]]
    assert bad == []
    assert "stopped_at" not in tl.meta


def break_op(monkeypatch, name, apply):
    """Make op ``name`` run ``apply`` instead (its registry entry, replaced)."""
    from dataclasses import replace
    from memcg_edu.scenario.registry import REGISTRY
    monkeypatch.setitem(REGISTRY, name, replace(REGISTRY[name], apply=apply))


def test_kernel_bug_recorded_and_ends_the_run(monkeypatch):
    from memcg_edu.errors import KernelBugError

    def broken(c, s):
        raise KernelBugError("page 0 is still on an LRU list",
                             "VM_BUG_ON_PAGE(PageLRU(page))", "mem_cgroup_uncharge")
    break_op(monkeypatch, "get_page", broken)
    tl = run_scenario(scen([fa("x"), {"op": "get_page", "page": "x"}, fa("y")]))
    assert len(tl) == 2 and tl.meta["stopped_at"] == 1
    assert tl[1]["ok"] is False
    assert tl[1]["error"] == (
        "kernel precondition broken: page 0 is still on an LRU list, so the kernel "
        "would stop here: VM_BUG_ON_PAGE(PageLRU(page)) in mem_cgroup_uncharge() "
        "(mm/memcontrol.c)")


def test_kernel_bug_exit_1_in_check(monkeypatch, capsys, tmp_path):
    import json
    from memcg_edu.cli import main
    from memcg_edu.errors import KernelBugError

    def broken(c, s):
        raise KernelBugError("rule", "BUG_ON(x)", "f")
    break_op(monkeypatch, "get_page", broken)
    p = tmp_path / "k.json"
    p.write_text(json.dumps(scen([fa("x"), {"op": "get_page", "page": "x"}])))
    assert main(["check", str(p)]) == 1
    out = capsys.readouterr().out
    assert "k.json, step 1 (get_page): kernel precondition broken: rule, so the " \
           "kernel would stop here: BUG_ON(x) in f() (mm/memcontrol.c)" in out
    assert "2 of 2 steps ran" in out


def test_migration_of_a_pinned_page_fails_as_the_kernel_would():
    tl = run_scenario(scen([fa("x"), {"op": "get_page", "page": "x"},
                            {"op": "migrate", "page": "x"}]))
    assert tl[2]["ok"] is False and "-EAGAIN" in tl[2]["error"]
    assert tl[2]["detail"]["labels"]["x"] == tl[0]["detail"]["labels"]["x"]


def test_limit_below_unreclaimable_usage_is_refused_and_run_goes_on():
    tl = run_scenario(scen([fa("x"), fa("y"),
                            {"op": "set_limit", "memcg": "A", "limit_pages": 1},
                            {"op": "expect", "memcg": "A", "usage": 2, "limit": None}],
                           swap_slots=0))
    assert tl[2]["ok"] is False and "refuses the new limit" in tl[2]["error"]
    assert tl[3]["ok"] is True


def test_detail_touched_shows_both_frames_of_a_migration():
    tl = run_scenario(scen([fa("x"), {"op": "migrate", "page": "x"}]))
    old = tl[0]["detail"]["labels"]["x"]["pfn"]
    new = tl[1]["detail"]["labels"]["x"]["pfn"]
    assert tl[1]["detail"]["touched"] == sorted([old, new])


def test_detail_names_every_live_label_only_with_page_snapshots():
    tl = run_scenario(scen([fa("x"), fa("y")]))
    assert set(tl[1]["detail"]["labels"]) == {"x", "y"}
    tl = run_scenario(scen([fa("x"), fa("y")]), pages=False)
    assert set(tl[1]["detail"]["labels"]) == {"y"}


def test_the_example_in_the_format_doc_runs_and_its_expects_hold():
    import json
    import re
    doc = (Path(__file__).parents[2] / "docs" / "scenario-format.md").read_text()
    example = json.loads(re.search(r"```json\n(\{.*?\n\})\n```", doc, re.S).group(1))
    tl = run_scenario(example)
    assert [r["ok"] for r in tl if r["op"] == "expect"] == [True, True]


def test_invariant_violation_recorded_and_ends_the_run(monkeypatch):
    from memcg_edu.errors import InvariantViolation

    def broken(c, s):
        raise InvariantViolation("I2", "usage of A is 2, its pages hold 1")
    break_op(monkeypatch, "migrate", broken)
    tl = run_scenario(scen([fa("x"), {"op": "migrate", "page": "x"}, fa("y")]),
                      check_invariants=True)
    assert tl.meta["stopped_at"] == 1 and len(tl) == 2
    assert tl[1]["error"] == ("model invariant I2 broken: usage of A is 2, its "
                              "pages hold 1")
