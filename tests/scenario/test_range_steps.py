"""Range steps ("count": N, "{i}" in the labels): the same as the N steps written out."""
from __future__ import annotations

import json

import numpy as np
import pytest

from memcg_edu.errors import ScenarioError
from memcg_edu.scenario import FORMAT, load_scenario, run_scenario
from memcg_edu.scenario import run as run_module
from memcg_edu.timeline import json_default

N = 5


def _scenario(steps, ram=64, swap=32, limit=None):
    return {"format": FORMAT, "title": "range",
            "machine": {"ram_pages": ram, "swap_slots": swap},
            "memcgs": {"A": {"limit": limit}, "B": {}}, "tasks": {"p": "A", "q": "B"},
            "steps": steps}


def _written_out(steps):
    out = []
    for st in steps:
        if "count" not in st:
            out.append(st)
            continue
        for i in range(st["count"]):
            out.append({k: (v.replace("{i}", str(i)) if isinstance(v, str) else v)
                        for k, v in st.items() if k != "count"})
    return out


def _r(op, **kw):
    return dict({"op": op, "count": N}, **kw)


#: op -> steps that end with a range step of that op (earlier ones prepare)
CASES = {
    "fault_anon": [_r("fault_anon", task="p", page="x{i}")],
    "add_to_page_cache": [_r("add_to_page_cache", task="p", page="f{i}", file="a",
                             mapped=True)],
    "fault_shmem": [_r("fault_shmem", task="q", page="s{i}")],
    "map": [_r("fault_anon", task="p", page="x{i}"), _r("map", task="q", page="x{i}")],
    "unmap": [_r("fault_anon", task="p", page="x{i}"), {"op": "migrate", "page": "x2"},
              _r("unmap", task="p", page="x{i}")],
    "get_page": [_r("fault_anon", task="p", page="x{i}"), _r("get_page", page="x{i}")],
    "put_page": [_r("fault_anon", task="p", page="x{i}"), _r("get_page", page="x{i}"),
                 _r("put_page", page="x{i}")],
    "truncate": [_r("add_to_page_cache", task="p", page="f{i}"), _r("truncate", page="f{i}")],
    "swap_out": [_r("fault_anon", task="p", page="x{i}"), _r("swap_out", page="x{i}")],
    "swap_in": [_r("fault_anon", task="p", page="x{i}"), _r("swap_out", page="x{i}"),
                _r("swap_in", task="p", page="x{i}")],
    "migrate": [_r("fault_shmem", task="p", page="s{i}"), _r("migrate", page="s{i}")],
    "replace_page_cache": [_r("add_to_page_cache", task="p", page="f{i}"),
                           _r("replace_page_cache", page="f{i}")],
}


def _machine_of(sc, design):
    """Run a scenario; the Machine it ran on (to compare whole states)."""
    seen = {}
    real = run_module._machine

    def keep(*a, **kw):
        seen["m"] = real(*a, **kw)
        return seen["m"]
    run_module._machine = keep
    try:
        tl = run_scenario(sc, design, pages=False, calls=False)
    finally:
        run_module._machine = real
    return tl, seen["m"]


def _state(m):
    ps = m.page_state()
    return (m.counters(), {k: v.tolist() if hasattr(v, "tolist") else v for k, v in ps.items()},
            {n: t.pte[:t.top].tolist() for n, t in m.tasks.items()})


@pytest.mark.parametrize("design", ["3.17", "3.16"])
@pytest.mark.parametrize("op,limit", [(op, None) for op in CASES]
                         + [(op, 3) for op in ("fault_anon", "add_to_page_cache")])
def test_a_range_step_is_its_steps_written_out(op, limit, design):
    """Under a limit of 3 pages the faults reclaim (swap, drop cache) as they go."""
    steps = CASES[op]
    ranged, m1 = _machine_of(_scenario(steps, limit=limit), design)
    written, m2 = _machine_of(_scenario(_written_out(steps), limit=limit), design)
    assert len(ranged) == len(steps) and len(written) == len(_written_out(steps))
    assert ranged[-1]["memcgs"] == written[-1]["memcgs"]
    assert ranged[-1]["ok"] == all(r["ok"] for r in written[-N:])
    assert _state(m1) == _state(m2)
    assert ranged[-1]["count"] == N and ranged[-1]["op"] == op


@pytest.mark.parametrize("limit", [None, 30])
def test_the_bulk_paths_leave_what_the_written_out_steps_leave(limit):
    """Without a limit the fault and the unmap run at once (model/bulk.py);
    with one the faults reclaim and go one by one; the state is the same."""
    middle = ([{"op": "migrate", "page": "x7"}, {"op": "swap_out", "page": "x9"}]
              if limit is None else [])
    steps = ([{"op": "fault_anon", "task": "q", "page": "z"},
              {"op": "fault_anon", "task": "p", "page": "x{i}", "count": 40}] + middle
             + [{"op": "unmap", "task": "p", "page": "x{i}", "count": 40},
                {"op": "fault_anon", "task": "p", "page": "w{i}", "count": 20},
                {"op": "expect", "memcg": "A", "usage": 20}])
    ranged, m1 = _machine_of(_scenario(steps, limit=limit), "3.17")
    written, m2 = _machine_of(_scenario(_written_out(steps), limit=limit), "3.17")
    assert _state(m1) == _state(m2)
    assert [r["ok"] for r in ranged] == [True] * len(steps)
    if limit is None:                            # they did run at once
        assert "fault_anon_range" in ranged[1]["events"]
        assert "unmap_range" in ranged[4]["events"]


def test_a_range_step_is_one_record_with_its_count_and_event_counts():
    tl = run_scenario(_scenario([_r("fault_anon", task="p", page="x{i}"),
                                 {"op": "expect", "memcg": "A", "usage": N, "rss": N}]))
    rec = tl[0]
    assert len(tl) == 2 and tl[1]["ok"]
    assert rec["count"] == N and rec["memcgs"]["A"]["usage"] == N
    assert set(rec["detail"]["labels"]) == {f"x{i}" for i in range(N)}
    assert sum(rec["event_counts"].values()) >= 3
    json.dumps(rec, default=json_default)        # what run --json prints


def test_a_failure_inside_a_range_names_its_i_and_the_run_goes_on():
    sc = _scenario([{"op": "set_limit", "memcg": "A", "limit_pages": 2,
                     "memsw_limit_pages": 2},
                    _r("fault_anon", task="p", page="x{i}"),
                    {"op": "expect", "memcg": "A", "usage": 2}])
    sc["memcgs"]["A"]["oom_kill_disable"] = True     # the task waits: nobody is killed
    tl = run_scenario(sc)
    assert not tl[1]["ok"] and tl[1]["error"].startswith("i = 2: ")
    assert tl[2]["ok"] and len(tl) == 3


def test_a_range_whose_task_is_oom_killed_ends_at_the_kill():
    """The OOM killer picks the range's own task at i = 2: its pages come
    back and the faults after i = 2 never happen (a dead task faults no more)."""
    sc = _scenario([{"op": "set_limit", "memcg": "A", "limit_pages": 2,
                     "memsw_limit_pages": 2},
                    _r("fault_anon", task="p", page="x{i}"),
                    {"op": "expect", "memcg": "A", "usage": 0}])
    tl = run_scenario(sc)
    assert not tl[1]["ok"] and tl[1]["error"].startswith("i = 2: ")
    assert "killed it" in tl[1]["error"] and tl[1]["oom"][0]["victim"] == "p"
    assert tl[2]["ok"] and len(tl) == 3


@pytest.mark.parametrize("steps,message", [
    ([_r("unmap", task="p", page="x{i}")], 'step 0 (unmap), field "page": i = 0: no page "x0"'),
    ([_r("fault_anon", task="p", page="x{i}"), _r("unmap", task="p", page="x{i}", count=N + 1)],
     f'step 1 (unmap), field "page": i = {N}: no page "x{N}"'),
    ([{"op": "fault_anon", "task": "p", "page": "x3"}, _r("fault_anon", task="p", page="x{i}")],
     'step 1 (fault_anon), field "page": i = 3: page label "x3" is already used (created at step 0)'),
    ([_r("fault_anon", task="p", page="x")], 'i = 1: page label "x" is already used'),
    ([_r("fault_anon", task="p", page="x{i}", count=20), _r("fault_anon", task="p", page="x1{i}")],
     'step 1 (fault_anon), field "page": i = 0: page label "x10" is already used (created at step 0)'),
    ([_r("fault_anon", task="p", page="x1{i}"), _r("fault_anon", task="p", page="x{i}", count=20)],
     'i = 10: page label "x10" is already used (created at step 0)'),
    ([_r("fault_anon", task="p", page="x{i}", count=0)], 'field "count": must be a whole number from 1'),
    ([_r("fault_anon", task="p", page="x{i}", count=1_000_001)], "1,000,000"),
    ([_r("fault_anon", task="p", page="x{i}", count=True)], 'field "count"'),
    ([{"op": "reclaim", "memcg": "A", "pages": 1, "count": 2}], 'unknown field "count"'),
])
def test_bad_range_steps_are_refused_at_load(steps, message):
    with pytest.raises(ScenarioError) as e:
        load_scenario(_scenario(steps))
    assert message in str(e.value)


def test_a_run_time_check_names_the_i():
    steps = [_r("fault_anon", task="p", page="x{i}"), {"op": "unmap", "task": "p", "page": "x3"},
             _r("unmap", task="p", page="x{i}")]
    with pytest.raises(ScenarioError, match=r'step 2 \(unmap\), field "page": i = 3: '
                                            r'page "x3" no longer exists'):
        run_scenario(_scenario(steps))


def test_a_64_gib_machine_loads_and_faults_all_of_its_frames_in_range_steps():
    frames = 1 << 24                             # 16,777,216 frames of 4 KiB
    counts = [1_000_000] * 16 + [frames - 16_000_000]
    sc = {"format": FORMAT, "title": "64 GiB", "machine": {"ram_pages": frames, "swap_slots": 0},
          "memcgs": {"A": {}}, "tasks": {"p": "A"},
          "steps": [{"op": "fault_anon", "task": "p", "page": f"r{k}.{{i}}", "count": n}
                    for k, n in enumerate(counts)]
          + [{"op": "expect", "memcg": "A", "usage": frames, "rss": frames}]}
    tl = run_scenario(sc, pages=False)
    assert all(r["ok"] for r in tl) and tl[-1]["memcgs"]["A"]["usage"] == frames
    with pytest.raises(ScenarioError, match="ram_pages"):
        load_scenario(dict(sc, machine={"ram_pages": frames + 1}))


def test_run_json_prints_one_object_for_a_range_step(tmp_path):
    import subprocess
    import sys
    path = tmp_path / "r.json"
    path.write_text(json.dumps(_scenario([_r("fault_anon", task="p", page="x{i}", count=40),
                                          {"op": "expect", "memcg": "A", "usage": 40}])))
    out = subprocess.run([sys.executable, "-m", "memcg_edu", "run", str(path), "--json"],
                         capture_output=True, text=True, timeout=120)
    assert out.returncode == 0, out.stderr
    lines = [json.loads(x) for x in out.stdout.splitlines()]
    assert len(lines) == 2 and lines[0]["count"] == 40 and "count" not in lines[1]
    assert lines[0]["memcgs"]["A"]["usage"] == 40 and lines[1]["ok"]


def test_the_player_and_the_plots_show_a_range_step_as_one_step():
    from memcg_edu.viz import plot_counters
    from memcg_edu.widgets import dashboard
    sc = _scenario([_r("fault_anon", task="p", page="x{i}", count=25),
                    {"op": "swap_out", "page": "x24"},
                    _r("unmap", task="p", page="x{i}", count=25),
                    {"op": "expect", "memcg": "A", "usage": 0, "swap": 0}])
    d = dashboard(sc)
    assert len(d.timeline) == 4 and all(r["ok"] for r in d.timeline)
    d.player.forward()
    assert d.player.step == 1
    assert d.lru.heights()["A"]["active_anon"] == 24
    d.player.forward()
    assert d.lru.heights()["A"]["active_anon"] == 0
    fig = plot_counters(d.timeline)                 # steps 0 .. 3 on the x axis
    ax = fig.axes[0]
    lo, hi = ax.get_xlim()
    assert [int(x) for x in ax.get_xticks() if lo <= x <= hi] == [0, 1, 2, 3]
