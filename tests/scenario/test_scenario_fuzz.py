"""Random scenarios, valid or not: only ScenarioError ever comes out."""
from __future__ import annotations

import hypothesis.strategies as st
import pytest
from hypothesis import HealthCheck, given, settings

from memcg_edu.errors import ScenarioError
from memcg_edu.scenario import FORMAT, OPS, run_scenario

LABELS = ["x", "y", "z", "w"]
VALUES = st.one_of(st.sampled_from(LABELS), st.sampled_from(["p", "q", "A", "B", "root"]),
                   st.integers(-2, 6), st.booleans(), st.none(), st.just(1.5))
FIELDS = ["task", "page", "memcg", "pages", "to", "with", "move_charge", "mapped",
          "limit_pages", "memsw_limit_pages", "usage", "swap", "file"]


@st.composite
def step(draw, made):
    needs_label = {o for o, spec in OPS.items()
                   if any(k == "label" and r for k, r in spec.values())}
    choices = sorted(OPS) if made else sorted(set(OPS) - needs_label)
    op = draw(st.sampled_from(choices))
    s = {"op": op}
    for f, (kind, required) in OPS[op].items():
        if required or draw(st.booleans()):
            if kind == "task":
                s[f] = draw(st.sampled_from(["p", "q"]))
            elif kind == "new":
                s[f] = f"l{len(made)}"
                made.append(s[f])
            elif kind == "label":
                s[f] = draw(st.sampled_from(made or LABELS))
            elif kind == "memcg":
                s[f] = draw(st.sampled_from(
                    ["A", "B"] if op == "set_limit" else ["A", "B", "root"]))
            elif kind in ("count", "limit"):
                s[f] = draw(st.integers(0, 6))
            elif kind == "bool":
                s[f] = draw(st.booleans())
            elif kind == "design":
                s[f] = draw(st.sampled_from(["3.17", "3.16"]))
    if op == "expect":
        s["usage"] = draw(st.integers(0, 4))
    if op == "set_limit" and "memsw_limit_pages" not in s:
        s["limit_pages"] = draw(st.one_of(st.none(), st.integers(0, 6)))
    if op == "replace_page_cache" and s.get("with") == s["page"]:
        del s["with"]
    if draw(st.integers(0, 49)) == 0:         # now and then, a wrong field
        s[draw(st.sampled_from(FIELDS))] = draw(VALUES)
    return s


@st.composite
def steps_of(draw):
    made: list[str] = []
    return [draw(step(made)) for _ in range(draw(st.integers(0, 16)))]


@pytest.mark.slow
@settings(max_examples=300, deadline=None,
          suppress_health_check=[HealthCheck.too_slow])
@given(steps=steps_of(),
       limit=st.one_of(st.none(), st.integers(0, 4)),
       hierarchy=st.booleans(), swap_slots=st.integers(0, 4))
def test_any_scenario_runs_or_gives_a_scenario_error(steps, limit, hierarchy, swap_slots):
    data = {"format": FORMAT,
            "machine": {"ram_pages": 8, "swap_slots": swap_slots},
            "memcgs": {"A": {"limit": limit, "use_hierarchy": hierarchy},
                       "B": {"parent": "A"}},
            "tasks": {"p": "A", "q": "B"}, "steps": steps}
    try:
        tl = run_scenario(data, check_invariants=True)
    except ScenarioError as e:
        msg = str(e)
        assert msg.startswith("scenario") and "\n" not in msg
        return
    assert len(tl) <= len(steps)
    assert "stopped_at" not in tl.meta, tl[tl.meta["stopped_at"]]["error"]
