"""python -m memcg_edu run / check / quiz: output and exit status."""
from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from memcg_edu.cli import main
from memcg_edu.scenario import FORMAT, JSON_KEYS

from scenario_bad_messages import RUNTIME, STATIC

ROOT = Path(__file__).parents[2]
BAD = Path(__file__).parent / "bad"
DATA = ROOT / "data" / "scenarios"
SWAP = DATA / "06-swap-out-and-in.json"


def cli(*argv: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "memcg_edu", *argv], cwd=ROOT,
                          capture_output=True, text=True, timeout=120)


def run_main(capsys, *argv: str) -> tuple[int, str, str]:
    try:
        code = main(list(argv))
    except SystemExit as e:        # argparse errors
        code = e.code
    out, err = capsys.readouterr()
    return code, out, err


def write(tmp_path, steps, name="s.json", **extra):
    p = tmp_path / name
    p.write_text(json.dumps({"format": FORMAT, "memcgs": {"A": {}},
                             "tasks": {"p": "A"}, "steps": steps, **extra}))
    return p


def test_run_json_subprocess_prints_one_object_per_step():
    r = cli("run", str(SWAP), "--json")
    assert r.returncode == 0, r.stderr
    lines = r.stdout.splitlines()
    steps = json.loads(SWAP.read_text())["steps"]
    assert len(lines) == len(steps)
    for i, line in enumerate(lines):
        obj = json.loads(line)
        assert list(obj) == list(JSON_KEYS)
        assert obj["step"] == i and obj["op"] == steps[i]["op"]
    assert json.loads(lines[1])["memcgs"]["A"]["stat"]["swap"] == 1
    assert r.stderr == ""


def test_bad_file_subprocess_one_line_exit_2_no_traceback():
    r = cli("check", str(BAD / "unmap-twice.json"))
    assert r.returncode == 2
    assert r.stderr == "error: " + RUNTIME["unmap-twice.json"] + "\n"
    assert "Traceback" not in r.stdout + r.stderr


def test_run_text_shows_steps_events_changes_and_table(capsys):
    code, out, err = run_main(capsys, "run", str(SWAP))
    assert code == 0 and err == ""
    assert "step 0: fault_anon task=p page=x  [ok]" in out
    assert "step 1: swap_out page=x  [ok]" in out
    assert "mem_cgroup_swapout" in out
    assert "A: usage 1->0" in out
    assert "memcg  usage" in out and "1 (4 KiB)" in out


def test_a_step_whose_records_lack_some_counters_names_the_changes_it_has():
    # a saved timeline may carry fewer counters: a missing one reads as
    # none, on either side, and the others are named as they moved
    from memcg_edu.scenario.text import format_step
    before = {"memcgs": {"A": {"usage": 1, "limit": None, "stat": {"rss": 1}}}}
    now = {"step": 1, "op": "fault_anon", "ok": True, "error": None, "events": [],
           "memcgs": {"A": {"usage": 2, "memsw_usage": 2, "limit": None,
                            "stat": {"rss": 2, "cache": 0}}}}
    text = format_step(now, {"op": "fault_anon", "task": "p", "page": "y"}, before)
    assert "  changed: A: usage 1->2, memsw_usage unlimited->2, cache None->0, rss 1->2" in text


@pytest.mark.parametrize("path", sorted(DATA.glob("*.json")), ids=lambda p: p.name)
def test_check_every_shipped_scenario_exit_0(capsys, path):
    code, out, err = run_main(capsys, "check", str(path), "--check-invariants")
    assert (code, err) == (0, "")
    n = sum(1 for s in json.loads(path.read_text())["steps"]
            if s["op"] == "expect" and s.get("design", "3.17") == "3.17")
    assert f"{n} of {n} expects hold" in out


@pytest.mark.parametrize("path", sorted(DATA.glob("*.json")), ids=lambda p: p.name)
def test_check_every_shipped_scenario_under_316(capsys, path):
    code, out, err = run_main(capsys, "check", str(path), "--design", "3.16")
    assert (code, err) == (0, ""), out


def test_expect_for_the_other_design_is_skipped(capsys, tmp_path):
    p = write(tmp_path, [{"op": "fault_anon", "task": "p", "page": "x"},
                         {"op": "expect", "memcg": "A", "usage": 7, "design": "3.16"},
                         {"op": "expect", "memcg": "A", "usage": 1}])
    code, out, err = run_main(capsys, "check", str(p))
    assert code == 0
    assert "1 of 1 expects hold (1 for the other design skipped)" in out


def test_check_reports_each_failing_expect_exit_1(capsys, tmp_path):
    p = write(tmp_path, [{"op": "fault_anon", "task": "p", "page": "x"},
                         {"op": "expect", "memcg": "A", "usage": 2},
                         {"op": "expect", "memcg": "A", "usage": 1},
                         {"op": "expect", "memcg": "A", "rss": 0, "cache": 1}])
    code, out, err = run_main(capsys, "check", str(p))
    assert code == 1
    assert "s.json, step 1 (expect): expect A: usage is 1, expected 2\n" in out
    assert ("s.json, step 3 (expect): expect A: rss is 1, expected 0; cache is 0, "
            "expected 1\n") in out
    assert "step 2" not in out
    assert "1 of 3 expects hold" in out


def test_run_exit_1_on_failing_expect_and_json_still_clean(capsys, tmp_path):
    p = write(tmp_path, [{"op": "expect", "memcg": "A", "usage": 5}])
    code, out, err = run_main(capsys, "run", str(p), "--json")
    assert code == 1
    obj = json.loads(out)
    assert obj["ok"] is False and obj["error"] == "expect A: usage is 0, expected 5"


def test_oom_is_a_normal_outcome_exit_0(capsys, tmp_path):
    p = write(tmp_path, [{"op": "fault_anon", "task": "p", "page": "x"},
                         {"op": "fault_anon", "task": "p", "page": "y"}],
              memcgs={"A": {"limit": 1, "memsw_limit": 1}})
    code, out, err = run_main(capsys, "run", str(p), "--json")
    assert code == 0
    last = json.loads(out.splitlines()[-1])
    assert last["ok"] is False and "OOM" in last["error"]


@pytest.mark.parametrize("name", sorted({**STATIC, **RUNTIME}))
def test_every_bad_file_exit_2_one_line(capsys, name):
    code, out, err = run_main(capsys, "check", str(BAD / name))
    assert code == 2 and out == ""
    assert err == "error: " + {**STATIC, **RUNTIME}[name] + "\n"


def test_missing_file_exit_2(capsys, tmp_path):
    code, out, err = run_main(capsys, "run", str(tmp_path / "nope.json"))
    assert code == 2 and "nope.json: cannot read the file" in err
    assert "Traceback" not in err


def test_wrong_command_line_exit_2(capsys):
    code, out, err = run_main(capsys, "run")
    assert code == 2 and "the following arguments are required: file" in err
    code, out, err = run_main(capsys, "run", str(SWAP), "--design", "2.6")
    assert code == 2 and "invalid choice: '2.6'" in err
    code, out, err = run_main(capsys, "quiz", "--seed", "x")
    assert code == 2 and "invalid int value: 'x'" in err
    code, out, err = run_main(capsys, "quiz", "--seed", "1", "--steps", "0")
    assert code == 2 and "must be 1 to 40, got 0" in err


def test_design_316_runs(capsys):
    code, out, err = run_main(capsys, "run", str(SWAP), "--design", "3.16", "--json")
    assert code in (0, 1) and len(out.splitlines()) > 0 and err == ""


def test_run_text_prints_the_design_notes_of_3_16(capsys):
    pinned = str(DATA / "02-final-put-with-a-pinned-page.json")
    code, out, _ = run_main(capsys, "run", pinned, "--design", "3.16")
    assert code == 0
    step2 = out.split("\nstep 2: ")[1].split("\nstep 3: ")[0]
    assert ("  design note: page 0 was uncharged by mem_cgroup_uncharge_page() "
            "but is still in use") in step2
    assert "design note" not in out.split("\nstep 2: ")[0]   # none before the unmap
    code, out, _ = run_main(capsys, "run", pinned, "--design", "3.17")
    assert code == 0 and "design note" not in out
