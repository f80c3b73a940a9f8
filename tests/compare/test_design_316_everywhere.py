"""The 3.16 design through every front door: the shipped scenarios, run /
check / quiz --design 3.16, and seeded random problems under both designs."""
import json
from pathlib import Path

import pytest

from memcg_edu.cli import main
from memcg_edu.compare import compare_scenario
from memcg_edu.scenario import generate_problem, run_scenario

SCENARIOS = sorted((Path(__file__).resolve().parents[2] / "data" / "scenarios").glob("*.json"))


@pytest.mark.parametrize("path", SCENARIOS, ids=lambda p: p.stem)
def test_shipped_scenarios_run_under_316_with_invariants(path):
    tl = run_scenario(path, design="3.16", check_invariants=True)
    assert "stopped_at" not in tl.meta
    assert len(tl) == len(json.loads(path.read_text())["steps"])
    cmp = compare_scenario(path)
    assert cmp.kernel_bugs == []
    s16 = cmp.summary["3.16"]
    assert s16["lock_page_cgroup"] > 0 and cmp.summary["3.17"]["lock_page_cgroup"] == 0


def test_run_json_and_check_with_design_316(capsys):
    pinned = next(p for p in SCENARIOS if "pinned" in p.stem)
    assert main(["run", str(pinned), "--design", "3.16", "--json"]) in (0, 1)
    lines = capsys.readouterr().out.splitlines()
    recs = [json.loads(l) for l in lines]
    unmap = next(r for r in recs if r["op"] == "unmap")
    assert "mem_cgroup_uncharge_page" in unmap["events"]
    assert "lock_page_cgroup" in unmap["events"]
    assert main(["check", str(pinned), "--design", "3.16"]) == 0
    assert "(design 3.16)" in capsys.readouterr().out


@pytest.mark.parametrize("seed", [1, 2, 3])
def test_quiz_under_316(seed, capsys):
    assert main(["quiz", "--seed", str(seed), "--design", "3.16", "--solve"]) == 0
    assert capsys.readouterr().out.strip()


@pytest.mark.parametrize("seed", range(12))
def test_random_problems_run_to_the_end_under_both_designs(seed):
    sc = generate_problem(seed=seed, topic="mixed", steps=10)
    cmp = compare_scenario(sc)
    assert cmp.kernel_bugs == []
    assert len(cmp.timelines["3.16"]) == len(cmp.timelines["3.17"]) == len(sc.steps)
    assert cmp.summary["3.17"]["lock_page_cgroup"] == 0
