"""Step records carry the step's kernel calls: run --json "calls", run --calls."""
from __future__ import annotations

import json

from memcg_edu.cli import main
from memcg_edu.scenario import FORMAT, run_scenario
from memcg_edu.timeline import json_default

STATE_KEYS = {"count", "mapcount", "flags", "pcg", "mem_cgroup", "lru", "lruvec"}


def _scenario(steps, **memcgs):
    return {"format": FORMAT, "machine": {"ram_pages": 16, "swap_slots": 4},
            "memcgs": memcgs or {"A": {}}, "tasks": {"p": "A"}, "steps": steps}


PIN = _scenario([{"op": "fault_anon", "task": "p", "page": "x"},
                 {"op": "get_page", "page": "x"},
                 {"op": "unmap", "task": "p", "page": "x"},
                 {"op": "put_page", "page": "x"},
                 {"op": "expect", "memcg": "A", "usage": 0}])


def test_each_call_has_the_documented_shape():
    tl = run_scenario(PIN)
    for rec in tl:
        for c in rec["calls"]:
            assert set(c) >= {"fn", "file", "depth", "page", "pfn", "state", "memcgs"}
            assert isinstance(c["fn"], str) and c["file"].startswith(("mm/", "include/"))
            assert isinstance(c["depth"], int) and c["depth"] >= 0
            if c["pfn"] is None:
                assert c["state"] is None and c["page"] is None
            else:
                assert set(c["state"]) == STATE_KEYS
                assert all(f == f.lower() for f in c["state"]["flags"])
                assert all(f == f.upper() for f in c["state"]["pcg"])
            for name, counters in c["memcgs"].items():
                assert name in ("A", "root") and counters
        json.dumps(rec["calls"], default=json_default)   # as run --json writes it
    # a caller comes before its callees
    first = tl[0]["calls"]
    assert first[0]["fn"] == "do_anonymous_page" and first[0]["depth"] == 0
    assert first[0]["page"] == "x" and first[1]["depth"] == 1
    assert tl[4]["calls"] == []                    # an expect runs nothing


def test_the_final_put_step_shows_count_and_uncharge_at_that_call():
    rec = run_scenario(PIN)[3]
    fns = [c["fn"] for c in rec["calls"]]
    k = fns.index("put_page_testzero")
    put = rec["calls"][k]
    assert put["page"] == "x" and put["state"]["count"] == 0
    assert put["was"]["state"]["count"] == 1
    unch = rec["calls"][fns.index("mem_cgroup_uncharge")]
    assert fns.index("mem_cgroup_uncharge") > k
    assert unch["memcgs"]["A"]["usage"] == 0


def test_3_16_uncharges_at_the_unmap_step():
    tl = run_scenario(PIN, design="3.16")
    unmap = [c["fn"] for c in tl[2]["calls"]]
    assert "mem_cgroup_uncharge_page" in unmap
    assert "lock_page_cgroup" in unmap
    assert "mem_cgroup_uncharge" not in [c["fn"] for c in tl[3]["calls"]]


def test_big_runs_keep_no_calls_unless_asked():
    sc = _scenario([{"op": "fault_anon", "task": "p", "page": "x"}])
    sc["machine"]["ram_pages"] = 4096
    assert "calls" not in run_scenario(sc)[0]
    assert run_scenario(sc, calls=True)[0]["calls"][0]["fn"] == "do_anonymous_page"


def test_run_json_has_calls_and_run_calls_prints_them(tmp_path, capsys):
    p = tmp_path / "pin.json"
    p.write_text(json.dumps(PIN))
    assert main(["run", str(p), "--json"]) == 0
    lines = capsys.readouterr().out.splitlines()
    objs = [json.loads(line) for line in lines]
    assert objs[3]["calls"][0]["fn"] == "put_page"
    assert main(["run", str(p), "--calls"]) == 0
    out = capsys.readouterr().out
    step3 = out.split("step 3:")[1].split("step 4:")[0]
    assert "\n      put_page_testzero  x  count 1->0\n" in step3
    assert "mem_cgroup_uncharge  x  PCG USED|MEM|MEMSW->none  A usage 1->0" in step3
    # without --calls, no call lines
    assert main(["run", str(p)]) == 0
    assert "put_page_testzero" not in capsys.readouterr().out


def test_run_calls_names_both_frames_of_a_migration(tmp_path, capsys):
    p = tmp_path / "mig.json"
    p.write_text(json.dumps(_scenario([{"op": "fault_anon", "task": "p", "page": "x"},
                                       {"op": "migrate", "page": "x"}])))
    assert main(["run", str(p), "--calls"]) == 0
    out = capsys.readouterr().out.split("step 1:")[1]
    assert "commit_charge  x (pfn 1)  PCG none->USED|MEM|MEMSW" in out
    assert "isolate_lru_page  x (pfn 0)  count 1->2" in out
