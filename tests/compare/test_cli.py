"""``python -m memcg_edu compare``: output, --json, exit codes, and the Python API."""
import json

import pytest

from memcg_edu.cli import main
from memcg_edu.compare import compare_scenario
from memcg_edu.timeline import Timeline

PINNED = {
    "format": "memcg-edu-scenario/1", "title": "pinned page",
    "machine": {"ram_pages": 16, "swap_slots": 8},
    "memcgs": {"A": {}}, "tasks": {"p": "A"},
    "steps": [
        {"op": "fault_anon", "task": "p", "page": "x"},
        {"op": "get_page", "page": "x"},
        {"op": "unmap", "task": "p", "page": "x"},
        {"op": "expect", "memcg": "A", "usage": 1},
        {"op": "put_page", "page": "x"},
        {"op": "fault_anon", "task": "p", "page": "y"},
        {"op": "swap_out", "page": "y"},
    ],
}


@pytest.fixture
def pinned(tmp_path):
    f = tmp_path / "pinned.json"
    f.write_text(json.dumps(PINNED))
    return str(f)


def test_text_shows_both_designs_and_marks_the_difference(pinned, capsys):
    assert main(["compare", pinned]) == 0
    out = capsys.readouterr().out
    unmap = next(l for l in out.splitlines() if l.lstrip().startswith("2 unmap"))
    assert unmap.count("*0/1") == 3                     # usage, memsw_usage, rss
    assert "3.16 step failed: expect A: usage is 0, expected 1" in out
    assert "counters differ after steps 2, 3; the end state is the same" in out
    assert 'page 0 ("x") was uncharged by mem_cgroup_uncharge_page()' in out
    assert "1 x mem_cgroup_uncharge_page:swapcache" in out   # swap_out under 3.16
    lock = next(l for l in out.splitlines() if l.startswith("page_cgroup lock taken"))
    n16, n17 = map(int, lock.split()[-2:])
    assert n16 > 0 and n17 == 0


def test_json_is_one_object_with_both_sides(pinned, capsys):
    assert main(["compare", pinned, "--json"]) == 0
    data = json.loads(capsys.readouterr().out)
    assert data["designs"] == ["3.16", "3.17"]
    assert data["differing_steps"] == [2, 3] and data["same_end_state"]
    step2 = data["steps"][2]
    assert step2["memcgs"]["A"]["usage"] == {"3.16": 0, "3.17": 1}
    assert ["A", "usage"] in step2["differs"]
    s16, s17 = data["summary"]["3.16"], data["summary"]["3.17"]
    assert "mem_cgroup_uncharge_page" in s16["entry_points"]
    assert "mem_cgroup_uncharge" in s17["entry_points"]
    assert s16["categories"]["deferred uncharge for swap cache"] == 1
    assert s17["lock_page_cgroup"] == 0 and s16["lock_page_cgroup"] > 0
    assert s16["design_notes"] and not s17["design_notes"]
    assert data["kernel_bugs"] == []


def test_all_counters_option_adds_columns(pinned, capsys):
    main(["compare", pinned, "--all-counters"])
    head = capsys.readouterr().out.splitlines()[2]
    assert "failcnt" in head and "active_anon" in head


def test_invalid_file_exits_2_with_one_line(tmp_path, capsys):
    bad = tmp_path / "bad.json"
    bad.write_text("{not json")
    assert main(["compare", str(bad)]) == 2
    err = capsys.readouterr().err
    assert err.startswith("error: ") and "bad.json" in err
    assert len(err.strip().splitlines()) == 1 and "Traceback" not in err


def test_missing_file_and_bad_option_exit_2(tmp_path, capsys):
    assert main(["compare", str(tmp_path / "none.json")]) == 2
    with pytest.raises(SystemExit) as e:
        main(["compare", "x.json", "--frobnicate"])
    assert e.value.code == 2


def test_a_kernel_bug_in_one_design_exits_1(pinned, capsys, monkeypatch):
    from dataclasses import replace
    from memcg_edu.errors import KernelBugError
    from memcg_edu.scenario.registry import REGISTRY
    entry = REGISTRY["get_page"]

    def apply(c, s):                 # get_page breaks a precondition under 3.16
        if c.m.design == "3.16":
            raise KernelBugError("X", "VM_BUG_ON_PAGE(X)", "get_page")
        return entry.apply(c, s)
    monkeypatch.setitem(REGISTRY, "get_page", replace(entry, apply=apply))
    assert main(["compare", pinned]) == 1
    out = capsys.readouterr().out
    assert "the 3.16 kernel stops at step 1: kernel precondition broken: X" in out
    assert "3.16 step failed: not run: the 3.16 kernel stopped at step 1" in out


def test_python_api_returns_both_timelines_for_overlay(pinned):
    cmp = compare_scenario(pinned)
    old, new = cmp.timelines["3.16"], cmp.timelines["3.17"]
    assert old.meta["design"] == "3.16" and new.meta["design"] == "3.17"
    assert old.counter("A", "usage").tolist()[:5] == [1, 1, 0, 0, 0]
    assert new.counter("A", "usage").tolist()[:5] == [1, 1, 1, 1, 0]
    assert old.counter("A", "memsw_usage")[-1] == new.counter("A", "memsw_usage")[-1] == 1


def test_python_api_can_keep_page_snapshots_with_316_flag_bits(pinned):
    assert "pages" not in compare_scenario(pinned).timelines["3.16"][0]
    cmp = compare_scenario(pinned, pages=None)
    rec = cmp.timelines["3.16"][0]
    assert rec["pages"]["pcg_flag_names"] == {1: "PCG_LOCK", 2: "PCG_USED",
                                              4: "PCG_MIGRATION"}
    assert rec["pages"]["pc_flags"][0] == 2                 # x charged: PCG_USED
    assert cmp.timelines["3.17"][0]["pages"]["pc_flags"][0] == 1 | 2 | 4


def test_calls_option_lists_each_designs_kernel_calls_per_step(pinned, capsys):
    assert main(["compare", pinned, "--calls"]) == 0
    out = capsys.readouterr().out.splitlines()
    i = next(k for k, l in enumerate(out) if l.lstrip().startswith("2 unmap"))
    assert out[i + 1].split()[:2] == ["3.16", "calls:"]
    assert "mem_cgroup_uncharge_page" in out[i + 1]
    assert out[i + 2].strip() == "3.17 calls: no call"
    put = next(k for k, l in enumerate(out) if l.lstrip().startswith("4 put_page"))
    assert "mem_cgroup_uncharge" in out[put + 2] and "no call" in out[put + 1]


def test_json_rows_carry_the_calls(pinned, capsys):
    main(["compare", pinned, "--json"])
    row = json.loads(capsys.readouterr().out)["steps"][0]
    assert row["calls"]["3.17"] == ["mem_cgroup_try_charge", "mem_cgroup_commit_charge"]
    assert row["calls"]["3.16"][-1] == "mem_cgroup_charge_anon"
    assert "fault_anon" not in row["calls"]["3.16"]
