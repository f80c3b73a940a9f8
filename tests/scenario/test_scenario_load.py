"""load_scenario: valid files, defaults, limits, and the bad-file corpus."""
from __future__ import annotations

import json
from pathlib import Path

import pytest

from memcg_edu.errors import ScenarioError
from memcg_edu.scenario import FORMAT, load_scenario
from memcg_edu.scenario.format import MAX_FILE_BYTES, MAX_STEPS

from scenario_bad_messages import RUNTIME, STATIC

BAD = Path(__file__).parent / "bad"
DATA = Path(__file__).parents[2] / "data" / "scenarios"


def small(**over):
    d = {"format": FORMAT, "memcgs": {"A": {"limit": 8}}, "tasks": {"p": "A"},
         "steps": [{"op": "fault_anon", "task": "p", "page": "x"}]}
    d.update(over)
    return d


def test_corpus_is_large_and_every_file_has_its_message():
    files = {p.name for p in BAD.glob("*.json")}
    assert len(files) >= 25
    assert files == set(STATIC) | set(RUNTIME)


@pytest.mark.parametrize("name", sorted(STATIC))
def test_static_bad_file_message(name):
    with pytest.raises(ScenarioError) as e:
        load_scenario(BAD / name)
    assert str(e.value) == STATIC[name]
    assert "Traceback" not in str(e.value)


@pytest.mark.parametrize("name", sorted(RUNTIME))
def test_runtime_bad_files_load(name):
    # their mistake only shows while running (test_scenario_run checks it)
    assert load_scenario(BAD / name).steps


def test_defaults_filled_in():
    sc = load_scenario(small())
    assert sc.machine == {"ram_pages": 64, "swap_slots": 32,
                          "swap_account": True, "charge_stock": False}
    assert sc.memcgs["A"] == {"limit": 8, "memsw_limit": None, "parent": None,
                              "use_hierarchy": False, "oom_kill_disable": False}
    assert sc.title == "scenario" and sc.source == "scenario"


def test_add_to_page_cache_and_move_task_defaults():
    sc = load_scenario(small(tasks={"p": "A"}, memcgs={"A": {}, "B": {}}, steps=[
        {"op": "add_to_page_cache", "task": "p", "page": "f"},
        {"op": "move_task", "task": "p", "to": "B"}]))
    assert sc.steps[0]["mapped"] is False
    assert sc.steps[1]["move_charge"] is False


def test_parents_ordered_before_children_and_hierarchy_inherited():
    sc = load_scenario(small(memcgs={"C": {"parent": "B"},
                                     "B": {"parent": "A"},
                                     "A": {"use_hierarchy": True}}))
    assert list(sc.memcgs) == ["A", "B", "C"]
    assert all(sc.memcgs[n]["use_hierarchy"] for n in "ABC")


def test_round_trip_through_to_dict():
    sc = load_scenario(DATA / "06-swap-out-and-in.json")
    again = load_scenario(json.loads(json.dumps(sc.to_dict())),
                          name=sc.source)
    assert again == sc


def test_memcg_names_include_root_only_when_used():
    assert load_scenario(small()).memcg_names == ["A"]
    sc = load_scenario(small(tasks={"p": "A", "r": "root"}))
    assert sc.memcg_names == ["root", "A"]


def test_oversized_file_refused_with_its_size(tmp_path):
    big = tmp_path / "huge.json"
    with open(big, "wb") as f:
        f.truncate(MAX_FILE_BYTES + 1)
    with pytest.raises(ScenarioError) as e:
        load_scenario(big)
    assert str(e.value) == (f"huge.json: the file is 8.0 MiB ({MAX_FILE_BYTES + 1} "
                            f"bytes), more than a scenario may be (8 MiB)")


def test_too_many_steps_refused_with_the_count():
    steps = [{"op": "expect", "memcg": "A", "usage": 0}] * (MAX_STEPS + 1)
    with pytest.raises(ScenarioError) as e:
        load_scenario(small(steps=steps), name="long.json")
    assert str(e.value) == ('long.json, field "steps": 100001 steps is more than '
                            'a scenario may have (100000)')


def test_missing_file_is_a_scenario_error(tmp_path):
    with pytest.raises(ScenarioError, match="cannot read the file"):
        load_scenario(tmp_path / "nope.json")


def test_directory_is_named_as_one(tmp_path):
    folder = tmp_path / "scenarios.json"
    folder.mkdir()
    with pytest.raises(ScenarioError) as e:
        load_scenario(folder)
    assert str(e.value) == f"{folder}: is a directory; give a scenario file inside it"


def test_true_is_not_a_page_count():
    with pytest.raises(ScenarioError, match='field "memcgs.A.limit": must be a '
                                            'whole number of pages or null'):
        load_scenario(small(memcgs={"A": {"limit": True}}))


def test_every_shipped_scenario_loads_with_title_description_and_expects():
    files = sorted(DATA.glob("*.json"))
    assert len(files) >= 9
    for f in files:
        sc = load_scenario(f)
        assert f.name[:2].isdigit() and f.name[2] == "-"
        assert sc.title and len(sc.description) > 80
        assert any(s["op"] == "expect" for s in sc.steps)


def test_one_shipped_scenario_per_teaching_topic():
    topics = ["charge-and-cancel", "final-put-with-a-pinned-page",
              "page-cache-kept-after-exit", "migration-with-lru-isolation",
              "replace-page-cache-already-charged", "swap-out-and-in",
              "reclaim-and-oom-at-a-limit", "hierarchy", "move-task-with-charges",
              "real-kernel-charge"]
    names = [p.stem for p in sorted(DATA.glob("*.json"))]
    assert names == [f"{i:02d}-{t}" for i, t in enumerate(topics, 1)]


def test_a_bundled_scenario_name_works_where_a_path_does(tmp_path, monkeypatch):
    from memcg_edu.cli import main
    from memcg_edu.scenario.load import SCENARIO_DIR, find_scenario

    monkeypatch.chdir(tmp_path)        # no such file here: the bundled one is used
    assert find_scenario("06-swap-out-and-in") == SCENARIO_DIR / "06-swap-out-and-in.json"
    assert load_scenario("06-swap-out-and-in.json").title
    assert main(["check", "06-swap-out-and-in"]) == 0
    # a path with a folder part is never redirected to the bundle
    with pytest.raises(ScenarioError, match="cannot read the file"):
        load_scenario("sub/06-swap-out-and-in.json")


class _Watch:
    """A LoadWatch that notes what it is told, and when."""

    def __init__(self):
        self.told = []

    def begin(self, head, steps):
        self.told.append(("begin", head, len(steps)))

    def checked(self, steps):
        self.told.append(("checked", steps, len(steps)))


def _watched(n):
    return {"format": "memcg-edu-scenario/1", "design": "3.16",
            "machine": {"ram_pages": 8}, "memcgs": {"A": {"limit": 4}}, "tasks": {"p": "A"},
            "steps": [{"op": "fault_anon", "task": "p", "page": f"x{i}"} for i in range(n)]}


def test_a_watch_is_told_the_head_then_the_steps_as_they_are_checked(monkeypatch):
    import memcg_edu.scenario.load as load
    monkeypatch.setattr(load, "WATCH_EVERY", 4)
    w = _Watch()
    sc = load_scenario(_watched(10), watch=w)
    (what, head, count), *told = w.told
    assert (what, count, head.steps, head.design) == ("begin", 10, [], "3.16")
    assert (head.machine, head.memcgs, head.tasks) == (sc.machine, sc.memcgs, sc.tasks)
    assert [(what, n) for what, _, n in told] == [("checked", 4), ("checked", 8),
                                                  ("checked", 10)]
    assert all(steps is sc.steps for _, steps, _ in told)  # one list, growing


def test_a_watch_is_told_no_step_past_an_invalid_one(monkeypatch):
    import memcg_edu.scenario.load as load
    monkeypatch.setattr(load, "WATCH_EVERY", 4)
    bad = _watched(10)
    bad["steps"][6]["task"] = "nobody"
    w = _Watch()
    with pytest.raises(ScenarioError, match="step 6"):
        load_scenario(bad, watch=w)
    assert [(what, n) for what, _, n in w.told] == [("begin", 10), ("checked", 4)]


def test_a_watch_gets_the_files_design_only_when_it_is_one():
    """The head's design is read before the file's check of it, which comes
    after the steps' as without a watch: an invalid one is None in the head
    and the load then fails on it."""
    for design, head_design in (("3.17", "3.17"), (None, None), ("4.0", None),
                                (["3.16"], None)):
        w = _Watch()
        data = _watched(3)
        data["design"] = design
        if design in (None, "3.17"):
            load_scenario(data, watch=w)
        else:
            with pytest.raises(ScenarioError, match="design"):
                load_scenario(data, watch=w)
        assert w.told[0][1].design == head_design


def test_memcg_names_reads_unchecked_steps():
    from memcg_edu.scenario.load import memcg_names
    assert memcg_names({"A": {}}, {"p": "A"}, [None, 3, {"op": "x"}]) == ["A"]
    assert memcg_names({"A": {}}, {"p": "A"}, [7, {"memcg": "root"}]) == ["root", "A"]
    assert memcg_names({"A": {}}, {"p": "A"}, [{"to": "root"}]) == ["root", "A"]
    assert memcg_names({"A": {}}, {"p": "root"}, []) == ["root", "A"]
