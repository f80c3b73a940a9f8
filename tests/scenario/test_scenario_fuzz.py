"""Random scenarios, valid or not: only ScenarioError ever comes out."""
from __future__ import annotations

import copy
import json
from pathlib import Path

import hypothesis.strategies as st
import pytest
from hypothesis import HealthCheck, given, settings

from memcg_edu.errors import ScenarioError
from memcg_edu.scenario import FORMAT, OPS, run_scenario

LABELS = ["x", "y", "z", "w"]
VALUES = st.one_of(st.sampled_from(LABELS), st.sampled_from(["p", "q", "A", "B", "root"]),
                   st.integers(-2, 6), st.booleans(), st.none(), st.just(1.5),
                   st.just([1]), st.just({"a": 1}), st.just(""), st.just(10**30))
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


DATA = Path(__file__).parents[2] / "data" / "scenarios"
SHIPPED = [json.loads(p.read_text()) for p in sorted(DATA.glob("*.json"))]


def _paths(node, path=()):
    """Every place in a JSON tree: (path to it, its value)."""
    yield path, node
    if isinstance(node, dict):
        for k, v in node.items():
            yield from _paths(v, path + (k,))
    elif isinstance(node, list):
        for i, v in enumerate(node):
            yield from _paths(v, path + (i,))


@pytest.mark.slow
@settings(max_examples=300, deadline=None,
          suppress_health_check=[HealthCheck.too_slow])
@given(which=st.integers(0, len(SHIPPED) - 1), where=st.integers(0, 10**6),
       value=VALUES, delete=st.booleans())
def test_a_shipped_scenario_with_one_thing_broken(which, where, value, delete):
    data = copy.deepcopy(SHIPPED[which])
    places = [p for p, _ in _paths(data) if p]
    path = places[where % len(places)]
    parent = data
    for k in path[:-1]:
        parent = parent[k]
    if delete and isinstance(parent, dict):
        del parent[path[-1]]
    else:
        parent[path[-1]] = value
    try:
        run_scenario(data, pages=False)
    except ScenarioError as e:
        assert str(e).startswith("scenario") and "\n" not in str(e)
