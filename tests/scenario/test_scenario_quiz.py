"""Seeded practice problems: deterministic, valid, answerable, explained."""
from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from memcg_edu.cli import main
from memcg_edu.errors import ScenarioError
from memcg_edu.scenario import (TOPICS, check_answers, generate_problem,
                                load_scenario, run_scenario)

ROOT = Path(__file__).parents[2]


def test_same_seed_same_problem_and_different_seeds_differ():
    a = generate_problem(7, "mixed", 8)
    b = generate_problem(7, "mixed", 8)
    assert a.to_dict() == b.to_dict()
    others = {json.dumps(generate_problem(s, "mixed", 8).steps) for s in range(8)}
    assert len(others) > 4


@pytest.mark.slow
def test_same_output_in_fresh_interpreters_with_other_hash_seeds():
    outs = []
    for hashseed in ("1", "2"):
        env = {**os.environ, "PYTHONHASHSEED": hashseed}
        r = subprocess.run([sys.executable, "-m", "memcg_edu", "quiz", "--seed",
                            "11", "--topic", "swap", "--steps", "6", "--solve"],
                           cwd=ROOT, env=env, capture_output=True, text=True,
                           timeout=120)
        assert r.returncode == 0, r.stderr
        outs.append(r.stdout)
    assert outs[0] == outs[1]
    assert "why: " in outs[0] and "step 5:" in outs[0]


@pytest.mark.parametrize("topic", sorted(TOPICS))
def test_every_topic_gives_valid_problems_with_its_ops(topic):
    seen = set()
    for seed in range(12):
        sc = generate_problem(seed, topic, 10)
        assert len(sc.steps) == len(sc.quiz) == 10
        seen |= {s["op"] for s in sc.steps}
        assert all(r["ok"] for r in run_scenario(sc.to_dict(), pages=False))
    assert seen <= set(TOPICS[topic])
    assert len(seen) >= 3


def test_answers_are_the_model_counters_and_where_the_page_sits():
    sc = generate_problem(3, "swap", 8)
    tl = run_scenario(sc.to_dict())
    for q, rec, st in zip(sc.quiz, tl, sc.steps):
        a = rec["memcgs"]["A"]
        assert q["answers"]["A.usage"] == a["usage"]
        assert q["answers"]["A.memsw_usage"] == a["memsw_usage"]
        assert q["answers"]["A.swap"] == a["stat"]["swap"]
        where = q["answers"][f"{st['page']}.where"]
        assert where in q["choices"][f"{st['page']}.where"]
        loc = rec["detail"]["labels"].get(st["page"])
        if loc is None:
            assert where == "freed"
        elif "swap" in loc:
            assert where == "swap"
        else:
            assert where.endswith("'s LRU")


def test_explanations_name_the_kernel_path():
    sc = generate_problem(5, "swap", 12)
    for q, st in zip(sc.quiz, sc.steps):
        assert "Counters: A: usage" in q["explanation"]
        if st["op"] == "swap_out":
            assert "mem_cgroup_swapout" in q["explanation"]
        if st["op"] == "fault_anon":
            assert "mem_cgroup_try_charge" in q["explanation"]


def test_check_answers_marks_right_and_wrong():
    sc = generate_problem(2, "charge", 4)
    q = sc.quiz[0]
    right = dict(q["answers"])
    assert all(r["right"] for r in check_answers(q, right))
    as_text = {k: str(v) for k, v in right.items()}
    assert all(r["right"] for r in check_answers(q, as_text))
    wrong = {**right, "A.usage": right["A.usage"] + 1}
    marks = {r["blank"]: r["right"] for r in check_answers(q, wrong)}
    assert marks["A.usage"] is False and marks["A.memsw_usage"] is True
    marks = {r["blank"]: r["right"]
             for r in check_answers(q, {**right, "A.usage": True})}
    assert marks["A.usage"] is False
    missing = check_answers(q, {})
    assert not any(r["right"] for r in missing)


def test_bad_arguments_are_scenario_errors():
    with pytest.raises(ScenarioError, match='field "topic": unknown topic "swp"'):
        generate_problem(1, "swp", 4)
    with pytest.raises(ScenarioError, match="steps must be a whole number from 1 to 40"):
        generate_problem(1, "swap", 41)
    with pytest.raises(ScenarioError, match="the seed must be a whole number"):
        generate_problem("1", "swap", 4)


def test_quiz_cli_blanks_then_solve_then_save(capsys, tmp_path):
    assert main(["quiz", "--seed", "4", "--topic", "final-put", "--steps", "5"]) == 0
    blank = capsys.readouterr().out
    assert "Practice problem: seed 4, topic final-put, 5 steps" in blank
    assert "usage ___  memsw ___  swap ___" in blank and "why:" not in blank
    assert "A's LRU | off the LRU | swap | freed" in blank
    assert main(["quiz", "--seed", "4", "--topic", "final-put", "--steps", "5",
                 "--solve", "--save", str(tmp_path / "p.json")]) == 0
    solved = capsys.readouterr().out
    assert "___" not in solved and solved.count("why: ") == 5
    sc = load_scenario(tmp_path / "p.json")
    assert sc.quiz == generate_problem(4, "final-put", 5).quiz
    assert main(["check", str(tmp_path / "p.json")]) == 0


def test_quiz_save_to_an_unwritable_place_exit_2(capsys, tmp_path):
    code = main(["quiz", "--seed", "1", "--save", str(tmp_path / "no" / "p.json")])
    out, err = capsys.readouterr()
    assert code == 2
    assert err == f"error: --save {tmp_path / 'no' / 'p.json'}: folder {tmp_path / 'no'} does not exist\n"
    assert out == ""           # it fails before printing a problem it could not save


def test_316_problem_tells_the_old_story():
    sc = generate_problem(5, "swap", 12, design="3.16")
    texts = {st["op"]: q["explanation"] for st, q in zip(sc.steps, sc.quiz)}
    assert "mem_cgroup_charge_anon" in texts["fault_anon"]
    assert "mem_cgroup_uncharge_swapcache" in texts["swap_out"]
    same = generate_problem(5, "swap", 12)
    assert same.steps == sc.steps      # same problem, other design's answers
