"""A run's page snapshots, each made from the last (model.machine.PageStateLists),
are what a whole Machine.page_state(as_lists=True) shows at that step; the
place of every live label (LabelTracker.where_live, made from the last step's)
is what where_json of every live label says; no later step changes an
earlier step's record."""
from __future__ import annotations

import json

import pytest

from memcg_edu.bundled import SCENARIO_DIR
from memcg_edu.model.machine import PageStateLists
from memcg_edu.scenario import DESIGNS, FORMAT, run_scenario
from memcg_edu.scenario import run as run_module
from memcg_edu.scenario import labels as labels_module
from memcg_edu.scenario.labels import LabelTracker

SCENARIOS = sorted(SCENARIO_DIR.glob("*.json"))


class _Checked(PageStateLists):
    """take(), checked against a whole page_state() of the same moment."""

    def take(self):
        out = super().take()
        whole = self._m.page_state(as_lists=True)
        # as JSON: a 1 where page_state has True would compare equal
        assert json.dumps(out) == json.dumps(whole)
        self.seen.append(json.dumps(out))
        return out


def _run_checked(monkeypatch, scenario, design):
    seen: list[str] = []
    places: list[str] = []
    monkeypatch.setattr(_Checked, "seen", seen, raising=False)
    monkeypatch.setattr(run_module, "PageStateLists", _Checked)
    where_live = LabelTracker.where_live

    def checked(self, moved, whole=False):
        out = where_live(self, moved, whole)
        assert json.dumps(out) == json.dumps(self.where_json(self.live()))
        places.append(json.dumps(out))
        return out
    monkeypatch.setattr(LabelTracker, "where_live", checked)
    # made from the last step's at every step, however few labels live
    monkeypatch.setattr(labels_module, "_WHERE_WHOLE_MAX", 0)
    tl = run_scenario(scenario, design, pages=True, calls=False)
    assert len(seen) == len(places) == len(tl.steps)
    # the shared lists and dicts: no step changed what an earlier record holds
    assert [json.dumps(rec["pages"]) for rec in tl.steps] == seen
    assert [json.dumps(rec["detail"]["labels"]) for rec in tl.steps] == places
    return tl


@pytest.mark.parametrize("design", DESIGNS)
@pytest.mark.parametrize("path", SCENARIOS, ids=lambda p: p.stem)
def test_every_snapshot_of_the_shipped_scenarios_is_the_whole_page_state(
        monkeypatch, path, design):
    _run_checked(monkeypatch, path, design)


#: swap out and in, migration (one refused), reclaim, range faults (at once,
#: and one by one reclaiming under a limit) and a range unmap, page cache,
#: tmpfs, pins, truncate and exit
STEPS = [
    {"op": "fault_anon", "task": "p", "page": "a"},
    {"op": "fault_anon", "task": "p", "page": "b"},
    {"op": "swap_out", "page": "a"},
    {"op": "expect", "memcg": "A", "usage": 1},
    {"op": "swap_in", "task": "p", "page": "a"},
    {"op": "migrate", "page": "b"},
    {"op": "get_page", "page": "b"},
    {"op": "migrate", "page": "b"},
    {"op": "put_page", "page": "b"},
    {"op": "add_to_page_cache", "task": "q", "page": "f"},
    {"op": "fault_shmem", "task": "q", "page": "s"},
    {"op": "fault_anon", "task": "p", "page": "x{i}", "count": 5},
    {"op": "migrate", "page": "x2"},
    {"op": "reclaim", "memcg": "A", "pages": 3},
    {"op": "unmap", "task": "p", "page": "x{i}", "count": 5},
    {"op": "set_limit", "memcg": "A", "limit_pages": 2},
    {"op": "fault_anon", "task": "p", "page": "y{i}", "count": 6},
    {"op": "truncate", "page": "f"},
    {"op": "exit", "task": "q"},
    {"op": "unmap", "task": "p", "page": "b"},
]


@pytest.mark.parametrize("design", DESIGNS)
def test_snapshots_through_swap_migration_reclaim_and_range_steps(monkeypatch, design):
    sc = {"format": FORMAT, "title": "every kind of page move",
          "machine": {"ram_pages": 16, "swap_slots": 8},
          "memcgs": {"A": {"limit": 12}, "B": {}}, "tasks": {"p": "A", "q": "B"},
          "steps": STEPS}
    tl = _run_checked(monkeypatch, sc, design)
    events = {e for rec in tl.steps for e in rec["events"]}
    # the run did move pages every way it names
    assert {"swap_out", "swap_in", "migrate", "reclaim"} <= events, events
    if design == "3.17":                     # (3.16 has no bulk path)
        assert "fault_anon_range" in tl.steps[11]["events"]  # at once
    swap = [rec["memcgs"]["A"]["stat"]["swap"] for rec in tl.steps]
    assert swap[16] > swap[15]               # a range fault that reclaims
    assert not tl.steps[7]["ok"]                             # a pinned page stays


def test_an_unchanged_list_is_the_last_steps_own():
    sc = {"format": FORMAT, "title": "t", "machine": {"ram_pages": 8, "swap_slots": 4},
          "memcgs": {"A": {}}, "tasks": {"p": "A"},
          "steps": [{"op": "fault_anon", "task": "p", "page": "a"},
                    {"op": "expect", "memcg": "A", "usage": 1},
                    {"op": "fault_anon", "task": "p", "page": "b"}]}
    first, same, later = (rec["pages"] for rec in run_scenario(sc, pages=True).steps)
    shared = ("free", "anon", "lru_flag", "unevictable", "swap_count", "swap_cgroup",
              "swap_entry", "memcg_names", "pcg_flag_names")
    assert all(same[k] is first[k] for k in shared)      # nothing moved
    # b's frame left the free list for the anon LRU: those rows are new
    # lists, with b's cell set; the rows b did not change are shared
    [pfn] = [i for i, (x, y) in enumerate(zip(later["free"], same["free"])) if x != y]
    for k in ("free", "anon", "lru_flag"):
        assert later[k] is not same[k] and later[k][pfn] != same[k][pfn]
    assert later["unevictable"] is same["unevictable"] and later["swap_count"] is same["swap_count"]


def test_where_live_shares_the_places_of_a_step_that_moved_no_label(monkeypatch):
    monkeypatch.setattr(labels_module, "_WHERE_WHOLE_MAX", 0)
    sc = {"format": FORMAT, "title": "t", "machine": {"ram_pages": 8, "swap_slots": 4},
          "memcgs": {"A": {}}, "tasks": {"p": "A"},
          "steps": [{"op": "fault_anon", "task": "p", "page": "a"},
                    {"op": "fault_anon", "task": "p", "page": "b"},
                    {"op": "expect", "memcg": "A", "usage": 2},
                    {"op": "swap_out", "page": "a"}]}
    a, b, same, out = (rec["detail"]["labels"] for rec in run_scenario(sc, pages=True).steps)
    assert list(b) == ["a", "b"] and b["a"] is a["a"]
    assert same == b and same["b"] is b["b"]
    assert list(out) == ["a", "b"] and "swap" in out["a"] and out["b"] is b["b"]
