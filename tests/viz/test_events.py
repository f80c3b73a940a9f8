import numpy as np

from memcg_edu.viz.events import event_steps, step_kinds


def test_kinds_from_functions_and_op():
    rec = {"op": "swap_out", "events": ["mem_cgroup_swapout", "mem_cgroup_uncharge"],
           "memcgs": {}}
    assert step_kinds(rec) == {"swap-out", "uncharge"}
    assert step_kinds({"op": "migrate", "events": [{"function": "mem_cgroup_migrate"}]}) \
        == {"migration"}


def test_per_memcg_only_when_it_moved(tl):
    # step 6 charges B: A did not move, so A gets no marker there
    assert step_kinds(tl[6], tl[5], "A") == set()
    assert step_kinds(tl[6], tl[5], "B") == {"charge"}


def test_oom_goes_to_the_named_memcg(tl):
    assert "OOM" in step_kinds(tl[4], tl[3], "A")
    assert "failcnt" in step_kinds(tl[4], tl[3], "A")
    assert "OOM" not in step_kinds(tl[4], tl[3], "B")


def test_event_steps_arrays(tl):
    found = event_steps(tl, "A")
    assert np.array_equal(found["swap-out"], [5])
    assert found["migration"].size == 0


def test_without_a_function_log_usage_changes_are_charges_and_uncharges():
    def rec(usage):
        return {"op": "workload", "events": [], "memcgs": {"A": {"usage": usage}}}
    assert step_kinds(rec(5), rec(2), "A") == {"charge"}
    assert step_kinds(rec(1), rec(2), "A") == {"uncharge"}
    assert step_kinds(rec(2), rec(2), "A") == set()


def test_an_oom_kill_marks_only_the_memcg_that_hit_its_limit():
    from memcg_edu.scenario import FORMAT, run_scenario
    sc = {"format": FORMAT, "title": "t", "machine": {"ram_pages": 16, "swap_slots": 0},
          "memcgs": {"A": {"limit": 2}, "B": {}}, "tasks": {"p": "A", "q": "A", "r": "B"},
          "steps": [{"op": "fault_anon", "task": "r", "page": "b"},
                    {"op": "fault_anon", "task": "p", "page": "x"},
                    {"op": "fault_anon", "task": "p", "page": "y"},
                    {"op": "fault_anon", "task": "q", "page": "z"}]}
    tl = run_scenario(sc)
    assert tl[3]["ok"] and tl[3]["oom"][0]["victim"] == "p"
    assert "OOM" in step_kinds(tl[3], tl[2], "A")
    assert "OOM" not in step_kinds(tl[3], tl[2], "B")
