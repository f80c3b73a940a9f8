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


def _kernel_like(tl):
    """The timeline as a real-kernel recording has it: no function log."""
    from memcg_edu.timeline import Timeline
    return Timeline([{k: v for k, v in r.items() if k != "events"} for r in tl],
                    {"source": "kernel"})


def test_event_steps_are_step_kinds_of_every_step():
    # the arrays read off the counters at once say what step_kinds says per step
    import sys
    from pathlib import Path
    from memcg_edu.scenario import run_scenario
    from memcg_edu.viz.events import _event_steps_one_by_one
    sys.path.insert(0, str(Path(__file__).parents[2] / "benchmarks"))
    from bench_widgets import scenario
    data = Path(__file__).parents[2] / "data" / "scenarios"
    timelines = [run_scenario(p) for p in sorted(data.glob("0*.json"))]
    timelines += [run_scenario(scenario(600, seed=3)), run_scenario(scenario(300), design="3.16")]
    timelines += [_kernel_like(t) for t in timelines[-2:]]
    checked = 0
    for tl in timelines:
        for name in tl.memcg_names:
            fast, slow = event_steps(tl, name), _event_steps_one_by_one(tl, name)
            assert {k: v.tolist() for k, v in fast.items()} == \
                {k: v.tolist() for k, v in slow.items()}, (tl.meta.get("title"), name)
            checked += sum(len(v) for v in fast.values())
    assert checked > 1000


def test_a_statistic_the_plots_do_not_know_still_marks_its_step():
    from memcg_edu.timeline import Timeline
    recs = [{"op": "w", "events": ["mem_cgroup_commit_charge"],
             "memcgs": {"A": {"usage": 1, "stat": {"rss": 1, "shmem": n}}}} for n in (0, 0, 3)]
    assert event_steps(Timeline(recs), "A")["charge"].tolist() == [0, 2]


def test_records_without_statistics_or_with_null_ones_still_mark_their_steps():
    from memcg_edu.timeline import Timeline
    from memcg_edu.viz.events import _event_steps_one_by_one, _known_stats
    for stat in ({}, None, "missing"):
        recs = [{"op": "w", "events": ["mem_cgroup_commit_charge"],
                 "memcgs": {"A": {"usage": n} if stat == "missing" else
                            {"usage": n, "stat": stat}}} for n in (0, 1, 1, 2)]
        tl = Timeline(recs)
        fast, slow = event_steps(tl, "A"), _event_steps_one_by_one(tl, "A")
        assert {k: v.tolist() for k, v in fast.items()} == \
            {k: v.tolist() for k, v in slow.items()}
        assert fast["charge"].tolist() == [1, 3]
    assert _known_stats([None, {}, {"stat": {"rss": 1}}, {"stat": None}])
    assert not _known_stats([None, {"stat": {"rss": 1, "shmem": 2}}])
    assert not _known_stats([{"stat": None}, {"stat": {"shmem": 2}}])


def test_the_statistics_are_checked_on_each_record_once():
    # event_steps asks _known_stats about the distinct records of a memcg:
    # the same answer as about every step's
    from memcg_edu.timeline import Timeline, runs
    from memcg_edu.viz.events import _known_stats
    from memcg_edu.viz.series import records
    odd = {"usage": 1, "stat": {"rss": 1, "shmem": 2}}
    known = {"usage": 1, "stat": {"rss": 1}}
    for recs in ([known, known, None, known], [known, odd, odd, None], [None, {}, {"stat": None}],
                 [{"stat": None}, odd]):
        tl = Timeline([{"memcgs": {"A": r} if r is not None else {}} for r in recs] +
                      [{"memcgs": {"A": known}}])
        got = records(tl, "A")
        assert got.present == tl.present("A")
        assert _known_stats(got.distinct) == _known_stats(got.present)
        assert got.distinct == runs(got.present)[0]
