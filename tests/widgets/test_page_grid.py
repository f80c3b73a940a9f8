"""The clickable page grid (memcg_edu.widgets.page_grid) and the page inspector.

Driven as the front-end drives it: ``grid.set_state({"picked": pfn})`` is
what ipywidgets runs when a frame's button is clicked in the browser
(tests/browser clicks the real button). The fields checked against the
step's "pages" arrays: _count, _mapcount, PG_ flags, pc->flags, pc->mem_cgroup.
"""
import json
import re

import numpy as np
import pytest

from memcg_edu.errors import ModelUsageError
from memcg_edu.viz.pagegrid import GRID_KEY, PAGE_COLORS, PAGE_STATES, SLOT_COLORS
from memcg_edu.widgets import dashboard

MIGRATION = "04-migration-with-lru-isolation"   # x migrated at steps 2 and 8, f at 5


def _rows(inspector) -> dict[str, tuple[str, bool]]:
    """{field: (value shown, highlighted)} from the inspector's table."""
    return {m.group(2): (m.group(3), bool(m.group(1))) for m in re.finditer(
        r"<tr class='memcg-edu-field( memcg-edu-changed)?' data-field='(\w+)'.*?</td>"
        r"<td[^>]*>(.*?)</td></tr>", inspector.table.value)}


@pytest.fixture
def d():
    return dashboard(MIGRATION)


def test_cells_show_count_mapcount_flags_and_memcg_in_the_shared_colours(d):
    d.player.go(1)
    view, pages = d.pages.view, d.timeline[1]["pages"]
    assert json.loads(d.pages.grid.view) == view          # what the front-end gets
    assert view["step"] == 1 and view["op"] == "add_to_page_cache"
    assert len(view["pages"]) == len(pages["free"]) == 32
    st, label, count, mapcount, flags, memcg, sc, words = view["pages"][1]
    assert (label, count, mapcount) == ("f", pages["refcount"][1], pages["mapcount"][1])
    assert (PAGE_STATES[st], flags, memcg, sc) == ("charged file", "UMW", "A", False)
    assert words.startswith("pfn 1 (f): charged file; refcount 2, mapcount 1")
    assert view["touched"] == [1]
    # one place for the colours: the matplotlib grid's
    palette = d.pages.grid.palette
    assert [c for _, c, _ in palette["pages"]] == list(PAGE_COLORS)
    assert [c for _, c, _ in palette["slots"]] == list(SLOT_COLORS)
    assert palette["key"] == list(GRID_KEY)
    assert "Labelled pages: x in pfn 0 (charged anon" in view["words"]   # text alternative


def test_a_click_picks_the_frame_and_the_pick_survives_steps(d):
    insp = d.player.calls.inspector
    d.player.go(2)                               # migrate x; the inspector is closed
    assert d.pages.picked is None and insp.frame is None and d.pages.grid.marked is None
    d.pages.grid.set_state({"picked": 1})       # click on f's frame
    assert d.player.calls_toggle.value           # "inside this step" opened
    assert insp.frame == 1 and insp.shown_pfn == 1 and d.pages.grid.marked == 1
    pages = d.timeline[2]["pages"]               # f: untouched by the step
    rows = _rows(insp)
    assert rows["count"][0] == str(pages["refcount"][1]) == "2"
    assert rows["mapcount"][0] == str(pages["mapcount"][1]) == "1"
    set_flags = [name for key, name in (("locked", "locked"), ("lru_flag", "lru"),
                                        ("active", "active"), ("anon", "anon"),
                                        ("swapbacked", "swapbacked")) if pages[key][1]]
    assert rows["flags"][0] == " | ".join(set_flags) == "lru"          # a file page
    assert rows["pcg"][0] == "USED | MEM | MEMSW" and rows["mem_cgroup"][0] == "A"
    d.player.forward()                            # an expect step: the pick stays
    assert d.player.step == 3 and insp.shown_pfn == 1 and d.pages.grid.picked == 1
    d.player.go(5)                                # migrate f: the old frame, call by call
    c = d.player.calls
    c.go_function("mem_cgroup_migrate")
    assert insp.shown_pfn == 1 and insp.state["pcg"] == [] and insp.changed == ["pcg"]
    assert _rows(insp)["pcg"] == ("none (not charged)", True)
    c.go_function("commit_charge")                # the new frame's commit: another page
    assert insp.shown_pfn == 1 and "acts on another page" in insp.table.value
    d.pages.grid.set_state({"picked": None})     # "follow the call's page"
    assert insp.frame is None and insp.shown_pfn == c.calls[c.call]["pfn"] != 1
    assert d.pages.picked is None


def test_a_free_frame_shows_as_free(d):
    insp = d.player.calls.inspector
    d.pages.grid.set_state({"picked": 20})
    assert insp.shown_pfn == 20 and insp.state["flags"] == ["free"]
    assert insp.state["pcg"] == [] and insp.state["count"] == 0
    assert "A free frame" in insp.table.value
    assert _rows(insp)["mapping"][0] == "none (free frame)"
    assert d.pages.grid.note == ""


@pytest.mark.parametrize("bad, says", [
    (32, "pfn 32 is not a frame of this machine (it has 32 frames, pfn 0 to 31)"),
    (-1, "pfn -1 is not a frame of this machine"),
    ("3", "pfn '3' is not a frame number (a whole number from 0 to 31)"),
    (True, "pfn True is not a frame number"),
    (2.5, "pfn 2.5 is not a frame number"),
])
def test_a_bad_pick_from_the_front_end_is_refused_with_a_note(d, bad, says):
    insp = d.player.calls.inspector
    d.pages.grid.set_state({"picked": 3})
    d.pages.grid.set_state({"picked": bad})
    assert d.pages.grid.note.startswith(says)
    assert d.pages.grid.note.endswith("the inspector still shows pfn 3")
    assert d.pages.grid.picked == 3 and insp.frame == 3 and insp.shown_pfn == 3
    d.pages.grid.set_state({"picked": 0})       # a good pick clears the note
    assert d.pages.grid.note == "" and insp.frame == 0


def test_a_bad_pick_from_python_raises_a_clear_error(d):
    with pytest.raises(ModelUsageError, match=r"^pfn 99 is not a frame of this machine"):
        d.pages.pick(99)
    with pytest.raises(ModelUsageError, match="is not a frame number"):
        d.pages.pick(True)
    assert d.pages.grid.picked is None and d.pages.grid.note == ""
    d.pages.pick(np.int64(3))                    # a numpy pfn is sent as a plain int
    assert d.player.calls.inspector.frame == 3 and type(d.pages.grid.picked) is int


def test_the_inspector_list_and_the_grid_agree(d):
    insp = d.player.calls.inspector
    insp.pick.value = 1                          # the inspector's own frame list
    assert d.pages.grid.picked == 1 and d.pages.picked == 1
    insp.pick_frame(None)
    assert d.pages.grid.picked is None


def test_a_step_sends_the_grid_one_state_change(d, monkeypatch):
    sent: list[str] = []
    grid = d.pages.grid
    monkeypatch.setattr(grid, "send_state", lambda key=None: sent.append(key))
    d.player.forward()
    assert sent == ["view"]
    d.player.open_calls()
    sent.clear()
    d.player.forward()                            # + the dashed frame, when it moves
    assert sent.count("view") == 1 and set(sent) <= {"view", "marked"}
