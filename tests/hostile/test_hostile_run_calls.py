"""``run --calls`` / ``run --json`` on odd scenarios: memcg OOM kills,
oom_kill_disable, the 3.16 design, failed steps, escapes in labels. And the
labels of pages reclaimed at a limit under 3.16: the 3.16 uncharge events
count as reclaim, so a label follows its page to swap (or is retired)
exactly as under 3.17; before, a valid 3.16 scenario was refused with
"page 0 no longer exists" (a pfn, no field)."""
from __future__ import annotations

import json

import pytest

from memcg_edu.cli import main

FMT = "memcg-edu-scenario/1"


def write(tmp_path, name, memcgs, tasks, steps, **top):
    path = tmp_path / name
    path.write_text(json.dumps({"format": FMT, "memcgs": memcgs, "tasks": tasks,
                                "steps": steps, **top}))
    return str(path)


def run(capsys, *argv):
    code = main(["run", *argv])
    out, err = capsys.readouterr()
    return code, out, err


@pytest.mark.parametrize("design", ["3.17", "3.16"])
def test_a_page_reclaimed_at_the_limit_can_be_swapped_in(tmp_path, capsys, design):
    f = write(tmp_path, "s.json", {"A": {"limit": 1}}, {"p": "A", "q": "A"},
              [{"op": "fault_anon", "task": "p", "page": "a"},
               {"op": "fault_anon", "task": "q", "page": "b"},
               {"op": "swap_in", "task": "p", "page": "a"}])
    code, out, err = run(capsys, f, "--json", "--design", design)
    assert (code, err) == (0, "")
    recs = [json.loads(line) for line in out.splitlines()]
    assert [r["ok"] for r in recs] == [True, True, True]
    assert all(r["calls"] for r in recs)


@pytest.mark.parametrize("design", ["3.17", "3.16"])
@pytest.mark.parametrize("step,text", [
    ({"op": "map", "task": "q", "page": "a"},
     'step 2 (map), field "page": page "a" is swapped out, not in memory'),
    ({"op": "truncate", "page": "f"},
     'step 2 (truncate), field "page": page "f" no longer exists: it was freed '
     'at step 1 (reclaim during')])
def test_a_label_reclaimed_at_the_limit_gets_the_same_error_in_both_designs(
        tmp_path, capsys, design, step, text):
    first = ({"op": "fault_anon", "task": "p", "page": "a"} if step["op"] == "map"
             else {"op": "add_to_page_cache", "task": "p", "page": "f"})
    f = write(tmp_path, "s.json", {"A": {"limit": 1}}, {"p": "A", "q": "A"},
              [first, {"op": "fault_anon", "task": "q", "page": "b"}, step])
    code, out, err = run(capsys, f, "--calls", "--design", design)
    assert code == 2 and err.count("\n") == 1 and text in err, err


@pytest.mark.parametrize("design", ["3.17", "3.16"])
def test_oom_kill_and_oom_kill_disable_in_json_and_calls(tmp_path, capsys, design):
    steps = [{"op": "fault_anon", "task": "p", "page": "a"},
             {"op": "fault_anon", "task": "q", "page": "b"},
             {"op": "fault_anon", "task": "q", "page": "c"},
             {"op": "expect", "memcg": "A", "usage": 0}]   # q was killed: b went too
    f = write(tmp_path, "kill.json", {"A": {"limit": 1}}, {"p": "A", "q": "A"},
              steps, machine={"swap_slots": 0})
    code, out, err = run(capsys, f, "--json", "--design", design)
    assert (code, err) == (0, "")
    recs = [json.loads(line) for line in out.splitlines()]
    assert [r["ok"] for r in recs] == [True, True, False, True]
    assert "oom_kill_process" in {c["fn"] for c in recs[1]["calls"]}
    code, out, err = run(capsys, f, "--calls", "--design", design)
    assert code == 0 and "oom_kill_process" in out and "[FAILED]" in out

    g = write(tmp_path, "disabled.json", {"A": {"limit": 1, "oom_kill_disable": True}},
              {"p": "A"}, [steps[0], {"op": "fault_anon", "task": "p", "page": "b"},
                           {"op": "expect", "memcg": "A", "usage": 2}],
              machine={"swap_slots": 0}, design=design)
    code, out, err = run(capsys, g, "--json")
    assert code == 1 and err == ""       # the expect of usage 2 fails: nobody was killed
    recs = [json.loads(line) for line in out.splitlines()]
    assert recs[1]["ok"] is False and "oom_kill_disable" in recs[1]["error"]
    assert "oom_kill_process" not in {c["fn"] for c in recs[1]["calls"]}


def test_escapes_in_labels_names_and_notes_are_shown_escaped(tmp_path, capsys):
    esc = "\x1b]0;pwn\x07\x1b[2J\u202e"
    f = write(tmp_path, "esc.json", {"A\x1b[31m": {}}, {"p\x1b[1m": "A\x1b[31m"},
              [{"op": "fault_anon", "task": "p\x1b[1m", "page": esc, "note": "\x1b[2J"},
               {"op": "migrate", "page": esc}], title="t\x1b[2J")
    for flag in ("--calls", "--json"):
        code, out, err = run(capsys, f, flag)
        assert code == 0 and err == ""
        assert "\x1b" not in out and "\u202e" not in out and "\x07" not in out
    code, out, _ = run(capsys, f, "--calls")
    assert "mem_cgroup_migrate  \\x1b]0;pwn\\x07\\x1b[2J\\u202e" in out


@pytest.mark.parametrize("given,used", [(None, "3.16"), ("3.17", "3.17"), ("3.16", "3.16")])
def test_the_python_api_uses_the_files_design_as_the_command_line_does(given, used):
    """run_scenario / iter_scenario without a design run the file's
    "design" (before: always 3.17, so a saved 3.16 quiz checked in a
    notebook disagreed with `check`)."""
    from memcg_edu.scenario import iter_scenario, run_scenario
    sc = {"format": FMT, "design": "3.16", "memcgs": {"A": {}}, "tasks": {"p": "A"},
          "steps": [{"op": "fault_anon", "task": "p", "page": "a"}]}
    tl = run_scenario(sc, design=given)
    assert tl.meta["design"] == used
    charge = "mem_cgroup_charge_anon" if used == "3.16" else "mem_cgroup_try_charge"
    assert charge in tl[0]["events"]
    rec, _ = next(iter_scenario(sc, design=given))
    assert charge in rec["events"]
    assert run_scenario({**sc, "design": None}).meta["design"] == "3.17"
