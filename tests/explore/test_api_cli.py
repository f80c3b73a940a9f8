"""The Python API's shapes and the `explore` command line."""
from __future__ import annotations

import json
import sys

import pytest

from memcg_edu.cli import main
from memcg_edu.explore import FIXES, PROTECTIONS, explore, list_races, race_paths


def test_list_races_shape():
    races = list_races()
    assert len(races) == 8
    for r in races:
        assert set(r) >= {"name", "design", "title", "protections", "fixes", "paths"}
        assert all(p in PROTECTIONS for p in r["protections"])
        assert all(f in FIXES for f in r["fixes"])
        assert len(r["paths"]) in (2, 3)


def test_result_to_dict_is_json_and_complete():
    r = explore("move_vs_unmap", without=["lock_page_cgroup"])
    d = json.loads(json.dumps(r.to_dict()))
    assert set(d) == {"race", "design", "title", "without", "fixes", "explored", "broken",
                      "states", "by_invariant", "expect_broken", "first_broken"}
    assert d["broken"] == sum(d["by_invariant"].values())
    row = d["first_broken"][0]
    assert set(row) == {"path", "step", "kernel", "locks", "state", "invariant"}
    assert set(row["state"]) == {"pages", "memcgs", "slots", "ptes", "mc", "locks"}
    assert row["state"]["pages"]["X"]["ref"] == 2
    assert d["first_broken"][-1]["invariant"]["id"] == "res_counter underflow"


def test_progress_callback_gets_the_final_count():
    calls = []
    r = explore("migration_vs_unmap", progress=lambda n, total: calls.append((n, total)))
    assert calls[-1] == (r.states, r.states)
    assert len(calls) > 1  # intermediate calls every few hundred states
    assert all(total is None for _, total in calls[:-1])


def test_cli_list(capsys):
    assert main(["explore", "--list"]) == 0
    out = capsys.readouterr().out
    for name in ("move_vs_unmap", "shmem_replace", "--without: lock_page_cgroup"):
        assert name in out
    assert main(["explore", "--list", "--json"]) == 0
    data = json.loads(capsys.readouterr().out)
    assert [r["name"] for r in data["races"]][0] == "move_vs_unmap"


def test_cli_clean_race_exits_0(capsys):
    assert main(["explore", "commit_vs_putback"]) == 0
    out = capsys.readouterr().out
    assert "broke an invariant" in out and "no interleaving breaks" in out


def test_cli_broken_race_prints_the_step_table_and_exits_1(capsys):
    assert main(["explore", "move_vs_unmap", "--without", "lock_page_cgroup"]) == 1
    out = capsys.readouterr().out
    assert "first broken interleaving" in out
    assert "reparent" in out and "unmap" in out
    assert "! res_counter underflow (after this step)" in out
    assert "C.res 1->0" in out


def test_cli_full_state(capsys):
    assert main(["explore", "move_vs_unmap", "--without", "lock_page_cgroup", "--state"]) == 1
    out = capsys.readouterr().out
    assert "initial state: X ref1 map1 lru=C pc=USED@C" in out
    assert "C res0 memsw0 rss-1" in out  # the state after the double uncharge's statistics


def test_cli_progress_line_on_a_terminal(capsys, monkeypatch):
    monkeypatch.setattr(sys.stderr, "isatty", lambda: True)
    assert main(["explore", "migration_vs_unmap"]) == 0
    err = capsys.readouterr().err
    assert "\rexploring migration_vs_unmap: 500 states" in err
    assert err.endswith("exploring migration_vs_unmap: 1166 states\n")


def test_race_paths_and_cli_paths(capsys):
    paths = race_paths("move_vs_unmap")
    assert [p["name"] for p in paths] == ["reparent", "unmap"]
    locked = [s for s in paths[0]["steps"] if s["protection"] == "lock_page_cgroup"]
    assert [s["takes"] or s["releases"] for s in locked] == [["pcg:X"], ["pcg:X"]]
    assert main(["explore", "move_vs_unmap", "--paths"]) == 0
    out = capsys.readouterr().out
    assert "path reparent:" in out and "(protection lock_page_cgroup)" in out
    assert "[+pcg:X]" in out


def test_cli_json(capsys):
    assert main(["explore", "shmem_replace", "--json"]) == 1
    d = json.loads(capsys.readouterr().out)
    assert d["race"] == "shmem_replace" and d["broken"] > 0


@pytest.mark.parametrize("argv,needle", [
    (["explore", "nope"], 'unknown race "nope"'),
    (["explore", "move_vs_unmap", "--without", "PCG_MIGRATION"], "no protection"),
    (["explore", "move_vs_unmap", "--fix", "lrucare"], "no fix"),
    (["explore"], "needs a race name"),
])
def test_cli_bad_input_one_line_exit_2(capsys, argv, needle):
    assert main(argv) == 2
    err = capsys.readouterr().err
    assert needle in err and len(err.strip().splitlines()) == 1
