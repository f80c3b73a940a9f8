"""Scenario files and the kernel behaviours of issue 11: the memcg OOM killer,
oom_kill_disable, -ENOMEM outside a fault, truncating a swapped-out tmpfs
page, memory.stat without swap accounting. Rules: docs/kernel-rules.md,
"The memcg OOM killer" and "Truncating a swapped-out tmpfs page"."""
from __future__ import annotations

import json
from pathlib import Path

import pytest

from memcg_edu.errors import ScenarioError
from memcg_edu.scenario import FORMAT, run_scenario
from memcg_edu.scenario.explain import explain_step

DATA = Path(__file__).parents[2] / "data" / "scenarios"
S07 = DATA / "07-reclaim-and-oom-at-a-limit.json"


def scen(steps, memcgs=None, tasks=None, **machine):
    return {"format": FORMAT, "title": "t",
            "machine": {"ram_pages": 16, "swap_slots": 8, **machine},
            "memcgs": {"A": {"limit": 2, "memsw_limit": 2}} if memcgs is None else memcgs,
            "tasks": {"p": "A", "q": "A"} if tasks is None else tasks,
            "steps": steps}


def fa(page, task="p"):
    return {"op": "fault_anon", "task": task, "page": page}


@pytest.mark.parametrize("design", ["3.17", "3.16"])
def test_oom_kill_of_another_task_lets_the_fault_succeed(design):
    sc = scen([fa("x"), fa("y"), fa("z", "q"), {"op": "expect", "memcg": "A", "usage": 1}])
    tl = run_scenario(sc, design)
    rec = tl[2]
    assert rec["ok"] and tl[3]["ok"]
    assert rec["oom"] == [{"memcg": "A", "task": "q", "victim": "p", "badness": 2,
                           "outcome": "retried"}]
    assert {"mem_cgroup_oom", "mem_cgroup_oom_synchronize", "mem_cgroup_out_of_memory",
            "oom_kill_process"} <= set(rec["events"])
    assert set(rec["detail"]["labels"]) >= {"z"}
    text = explain_step(sc["steps"][2], rec, tl[1], "A", design)
    assert "killed task p" in text and "retried" in text


def test_a_killed_task_is_named_as_such_in_later_errors():
    with pytest.raises(ScenarioError) as e:
        run_scenario(scen([fa("x"), fa("y"), fa("z", "q"), fa("w")]))
    assert str(e.value) == ('scenario, step 3 (fault_anon), field "task": task "p" '
                            "was OOM-killed at step 2")


def test_the_victims_pages_are_gone_for_good():
    with pytest.raises(ScenarioError, match='page "x" no longer exists: it was freed at step 2'):
        run_scenario(scen([fa("x"), fa("y"), fa("z", "q"),
                           {"op": "get_page", "page": "x"}]))


def test_the_faulting_task_as_victim_fails_the_step_and_frees_its_pages():
    tl = run_scenario(scen([fa("x"), fa("y"), fa("z"),
                            {"op": "expect", "memcg": "A", "usage": 0, "rss": 0}]))
    rec = tl[2]
    assert not rec["ok"] and "chose the faulting task p itself" in rec["error"]
    assert rec["oom"][0]["outcome"] == "killed" and tl[3]["ok"]
    assert "The step failed" in explain_step({"op": "fault_anon"}, rec, tl[1], "A")


def test_oom_kill_disable_keeps_every_counter():
    tl = run_scenario(scen([fa("x"), fa("y"), fa("z", "q")],
                           memcgs={"A": {"limit": 2, "memsw_limit": 2,
                                         "oom_kill_disable": True}}))
    rec, before = tl[2], tl[1]
    assert not rec["ok"] and "oom_kill_disable" in rec["error"] and "sleep" in rec["error"]
    assert rec["oom"][0]["outcome"] == "oom_kill_disable"
    assert rec["memcgs"]["A"]["usage"] == before["memcgs"]["A"]["usage"] == 2
    assert set(rec["detail"]["labels"]) == {"x", "y"}


def test_read_outside_a_fault_is_enomem_without_oom():
    tl = run_scenario(scen([fa("x"), fa("y"),
                            {"op": "add_to_page_cache", "task": "q", "page": "f"},
                            fa("z", "q")]))
    rec = tl[2]
    assert not rec["ok"] and rec["error"].startswith("charge failed with -ENOMEM")
    assert "oom" not in rec and "mem_cgroup_oom" not in rec["events"]
    assert tl[3]["ok"] and tl[3]["oom"][0]["victim"] == "p"    # q is still alive


def test_mapped_file_fault_runs_the_killer():
    tl = run_scenario(scen([fa("x"), fa("y"),
                            {"op": "add_to_page_cache", "task": "q", "page": "f",
                             "mapped": True}]))
    assert tl[2]["ok"] and tl[2]["oom"][0]["victim"] == "p"


def test_oom_kill_disable_under_a_hierarchy_is_refused_and_inherited():
    memcgs = {"P": {"use_hierarchy": True, "limit": 2, "memsw_limit": 2,
                    "oom_kill_disable": True},
              "C": {"parent": "P", "oom_kill_disable": False}}
    with pytest.raises(ScenarioError) as e:
        run_scenario(scen([], memcgs=memcgs, tasks={"p": "C"}))
    assert 'field "memcgs.C.oom_kill_disable"' in str(e.value) and "-EINVAL" in str(e.value)
    del memcgs["C"]["oom_kill_disable"]
    tl = run_scenario(scen([fa("x"), fa("y"), fa("z")], memcgs=memcgs, tasks={"p": "C"}))
    assert tl[2]["oom"][0] == {"memcg": "P", "task": "p", "victim": None, "badness": 0,
                               "outcome": "oom_kill_disable"}


def test_swapped_out_tmpfs_page_can_be_truncated():
    steps = [{"op": "fault_shmem", "task": "p", "page": "s"},
             {"op": "swap_out", "page": "s"}, {"op": "exit", "task": "p"},
             {"op": "expect", "memcg": "A", "usage": 0, "memsw_usage": 1, "swap": 1},
             {"op": "truncate", "page": "s"},
             {"op": "expect", "memcg": "A", "usage": 0, "memsw_usage": 0, "swap": 0}]
    for design in ("3.17", "3.16"):
        tl = run_scenario(scen(steps, memcgs={"A": {}}), design)
        assert all(r["ok"] for r in tl), design
        assert "mem_cgroup_uncharge_swap" in tl[4]["events"] or design == "3.16"
    with pytest.raises(ScenarioError, match='page "s" no longer exists: it was truncated at step 4'):
        run_scenario(scen(steps + [{"op": "swap_in", "task": "q", "page": "s"}],
                          memcgs={"A": {}}))


def test_swap_statistic_is_refused_without_swap_accounting():
    with pytest.raises(ScenarioError) as e:
        run_scenario(scen([{"op": "expect", "memcg": "A", "swap": 0}],
                          memcgs={"A": {}}, swap_account=False))
    assert 'field "swap"' in str(e.value) and 'no "swap" line' in str(e.value)


def test_scenario_07_teaches_each_outcome():
    sc = json.loads(S07.read_text())
    tl = run_scenario(S07)
    assert all(r["ok"] for r in tl if r["op"] == "expect")
    outcomes = [o["outcome"] for r in tl for o in r.get("oom", ())]
    assert outcomes == ["retried", "killed", "oom_kill_disable"]
    enomem = [r for r in tl if (r["error"] or "").startswith("charge failed with -ENOMEM")]
    assert [r["op"] for r in enomem] == ["add_to_page_cache"]
    for word in ("oom_kill_disable", "-ENOMEM", "badness", "charge_stock",
                 "memsw_is_minimum", "CHARGE_BATCH"):
        assert word in sc["description"]


def test_scenario_07_failcnt_note_matches_the_kernels_batch():
    """The description's kernel figures are what charge_stock: true gives."""
    sc = json.loads(S07.read_text())
    sc["machine"]["charge_stock"] = True
    tl = run_scenario(sc)
    first_kill = next(r for r in tl if r.get("oom"))
    assert [tl[1]["memcgs"]["A"]["failcnt"], tl[3]["memcgs"]["A"]["failcnt"],
            first_kill["memcgs"]["A"]["failcnt"]] == [2, 4, 14]
    assert "2 after the second fault, 4 after the third, 14 after the first OOM kill" \
        in sc["description"]


def test_memsw_limit_without_a_memory_limit_is_refused_at_load():
    """Found by the fuzz test on scenario 07's B: an unlimited memory limit
    under a finite memsw limit is what the kernel refuses with -EINVAL."""
    with pytest.raises(ScenarioError) as e:
        run_scenario(scen([], memcgs={"B": {"memsw_limit": 2}}, tasks={}))
    assert str(e.value).startswith('scenario, field "memcgs.B.limit": memsw_limit 2 '
                                   "needs a limit at or below it")


def test_run_text_says_what_the_oom_killer_did():
    from memcg_edu.scenario.text import format_step
    sc = scen([fa("x"), fa("y"), fa("z", "q")])
    tl = run_scenario(sc)
    text = format_step(tl[2], sc["steps"][2], tl[1])
    assert ("  memcg OOM in A: the OOM killer killed p (badness 2), then the fault "
            "of q was retried") in text.splitlines()
