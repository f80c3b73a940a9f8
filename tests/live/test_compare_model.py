"""The model side of the kernel comparison: a workload's scenario with range
steps gives the counters of the same steps written out (and of the
page-by-page run of the trace comparison). Runs without a kernel."""
from __future__ import annotations

import pytest

from memcg_edu.live.catalog import WORKLOADS, get_workload
from memcg_edu.live.compare import _ModelRun, model_timeline, workload_scenario
from memcg_edu.scenario import run_scenario


def written_out(sc, ends):
    """The scenario with every range step as its N steps, and the new ends."""
    steps, first = [], []
    for st in sc["steps"]:
        first.append(len(steps))
        if "count" not in st:
            steps.append(st)
            continue
        one = {k: v for k, v in st.items() if k != "count"}
        steps += [dict(one, page=st["page"].replace("{i}", str(j))) for j in range(st["count"])]
    first.append(len(steps))
    return dict(sc, steps=steps), [None if e is None else first[e + 1] - 1 for e in ends]


def sampled(tl, ends, memcgs):
    out, now = [], None
    for e in ends:
        if e is not None:
            now = {n: tl[e]["memcgs"][n] for n in memcgs}
        out.append(now)
    return out


@pytest.mark.parametrize("name", sorted(WORKLOADS))
def test_range_steps_give_the_written_out_steps_counters(name):
    wl = get_workload(name, 48)
    sc, ends = workload_scenario(wl)
    assert any(st.get("count") == 48 for st in sc["steps"])      # range steps are used
    long_sc, long_ends = written_out(sc, ends)
    assert len(long_sc["steps"]) > len(sc["steps"]) + 40
    ranged = sampled(run_scenario(sc, "3.17"), ends, wl.memcgs)
    plain = sampled(run_scenario(long_sc, "3.17"), long_ends, wl.memcgs)
    assert ranged == plain
    tl = model_timeline(wl)
    assert [r["memcgs"] for r in tl] == ranged
    assert all(r["ok"] for r in run_scenario(sc, "3.17"))


@pytest.mark.parametrize("name, skipped", [(n, set()) for n in sorted(WORKLOADS)]
                         + [("swap", {2, 3, 4}), ("pagecache", {3, 7})])
def test_the_scenario_gives_the_page_by_page_runs_counters(name, skipped):
    wl = get_workload(name, 96)
    tl = model_timeline(wl, skipped=skipped)
    loop = _ModelRun(wl, skipped).run()
    assert [r["memcgs"] for r in tl] == [r["memcgs"] for r in loop]
    assert [(r["op"], r["detail"]) for r in tl] == [(r["op"], r["detail"]) for r in loop]


def test_the_swap_workload_swaps_out_what_the_lowered_limit_leaves_out():
    sc, _ = workload_scenario(get_workload("swap", 64))
    swap_out = next(st for st in sc["steps"] if st["op"] == "swap_out")
    assert swap_out == {"op": "swap_out", "page": "x{i}", "count": 32}
    tl = model_timeline("swap", 64)
    assert tl[2]["memcgs"]["A"]["usage"] == 32 and tl[2]["memcgs"]["A"]["stat"]["swap"] == 32
