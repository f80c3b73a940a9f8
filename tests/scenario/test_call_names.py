"""The labels and earlier states a step's calls are read with are kept from
step to step (memcg_edu.scenario.call_names): the calls are those of the
map built whole from every live label at every step, in both of its forms
of the states before a step, and a run after a range step of thousands of
labels does not look at them all again at every step."""
from __future__ import annotations

import pytest

from memcg_edu.bundled import SCENARIO_DIR
from memcg_edu.scenario import FORMAT, run_scenario
from memcg_edu.scenario import call_names
from memcg_edu.scenario.call_names import CallNames

SCENARIOS = sorted(SCENARIO_DIR.glob("*.json"))

#: every op that moves labels, a limit that reclaims, a range
#: step with its calls recorded and one without, and steps after them
MOVING = {
    "format": FORMAT, "title": "moving",
    "machine": {"ram_pages": 128, "swap_slots": 16},
    "memcgs": {"A": {"limit": 6}, "B": {}}, "tasks": {"p": "A", "q": "B", "r": "B"},
    "steps": [{"op": "fault_anon", "task": "q", "page": "r{i}", "count": 70},
              {"op": "unmap", "task": "q", "page": "r{i}", "count": 60},
              {"op": "fault_anon", "task": "p", "page": "a{i}", "count": 5},
              {"op": "add_to_page_cache", "task": "p", "page": "f"},
              {"op": "fault_anon", "task": "p", "page": "b"},
              {"op": "fault_anon", "task": "p", "page": "c"},
              {"op": "migrate", "page": "b"},
              {"op": "map", "task": "r", "page": "r61"},
              {"op": "swap_out", "page": "r62"},
              {"op": "swap_in", "task": "q", "page": "r62"},
              {"op": "unmap", "task": "p", "page": "c"},
              {"op": "migrate", "page": "r61"},
              {"op": "exit", "task": "r"},
              {"op": "fault_anon", "task": "q", "page": "s{i}", "count": 3},
              {"op": "unmap", "task": "q", "page": "r63"}],
}


def _calls(sc, design):
    return [(r["step"], list(r["calls"])) for r in
            run_scenario(sc, design, pages=False, calls=True)]


def _built_whole_at_every_step(monkeypatch):
    """CallNames as the runner had it: every live label looked at again
    after every step (the map before it kept as "gone")."""
    after = CallNames.after_step
    monkeypatch.setattr(CallNames, "after_step",
                        lambda self, start, touched, whole: after(self, start, touched, True))


@pytest.mark.parametrize("design", ["3.17", "3.16"])
@pytest.mark.parametrize("sc", SCENARIOS + [MOVING], ids=lambda s: getattr(s, "stem", "moving"))
def test_the_kept_map_names_the_calls_as_the_whole_one(sc, design, monkeypatch):
    kept = _calls(sc, design)
    assert any(calls for _, calls in kept)
    with monkeypatch.context() as mp:
        _built_whole_at_every_step(mp)
        assert _calls(sc, design) == kept


@pytest.mark.parametrize("design", ["3.17", "3.16"])
def test_both_forms_of_the_states_before_give_the_same_calls(design, monkeypatch):
    # per labelled page (few labels) and the arrays' copy (many)
    forms = []
    for per_label in (10**9, 0):
        with monkeypatch.context() as mp:
            mp.setattr(call_names, "_FRAMES_PER_LABEL", per_label)
            forms.append(_calls(MOVING, design))
    assert forms[0] == forms[1]
    assert any(c.get("was", {}).get("state") for _, calls in forms[0] for c in calls)


def test_after_a_range_step_a_step_looks_only_at_what_it_touched(monkeypatch):
    # 4,000 labels, then 50 steps with their calls: the live labels are
    # looked at once (after the range step), not at every step
    steps = [{"op": "fault_anon", "task": "p", "page": "x{i}", "count": 4000}]
    steps += [{"op": "migrate", "page": f"x{i}"} for i in range(50)]
    sc = {"format": FORMAT, "machine": {"ram_pages": 8192, "swap_slots": 0},
          "memcgs": {"A": {}}, "tasks": {"p": "A"}, "steps": steps}
    from memcg_edu.scenario.labels import LabelTracker
    looks = []
    live = LabelTracker.live
    monkeypatch.setattr(LabelTracker, "live", lambda self: looks.append(1) or live(self))
    tl = run_scenario(sc, pages=False, calls=True)
    assert len(looks) <= 2
    assert tl[5]["calls"][0]["page"] == "x4"         # named by its label
