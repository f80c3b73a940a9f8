"""The call stepper ("inside this step") and the page inspector, driven as a learner would.

Step 7 of the synthetic timeline (memcg_synth.small_timeline) unmaps x1
(pfn 1, charged to A): zap_pte_range > page_remove_rmap drops the
mapping, then put_page > put_page_testzero drops the reference to 0 and
__put_single_page > __page_cache_release (> del_page_from_lru_list,
mem_cgroup_uncharge), free_hot_cold_page free it, as mm/swap.c does in
Linux 3.17.
"""
import re

from memcg_synth import Fake

from memcg_edu.timeline import Timeline
from memcg_edu.widgets import dashboard, step_player
from memcg_edu.widgets.call_fields import call_changes, return_order, state_at

UNMAP = ["zap_pte_range", "page_remove_rmap", "put_page", "put_page_testzero",
         "__put_single_page", "__page_cache_release", "del_page_from_lru_list",
         "mem_cgroup_uncharge", "free_hot_cold_page"]


def _rows(inspector) -> dict[str, tuple[str, bool]]:
    """{field: (value shown, highlighted)} read from the inspector's table."""
    out = {}
    for m in re.finditer(r"<tr class='memcg-edu-field( memcg-edu-changed)?' "
                         r"data-field='(\w+)'.*?</td><td[^>]*>(.*?)</td></tr>",
                         inspector.table.value):
        out[m.group(2)] = (m.group(3), bool(m.group(1)))
    return out


def test_the_call_view_is_closed_until_asked_for(tl):
    p = step_player(tl)
    assert p.calls.layout.display == "none" and p.calls.step == -1   # not even built
    p.calls_toggle.value = True
    assert p.calls.layout.display is None and p.calls.step == 0
    p.go(7)
    assert p.calls.step == 7
    p.open_calls(False)
    p.go(8)
    assert p.calls.step == 7 and p.calls.layout.display == "none"


def test_list_shows_each_call_indented_with_what_it_changed(tl):
    p = step_player(tl, calls_open=True)
    p.go(7)
    opts = p.calls.list.options
    assert [o.split(". ", 1)[1].strip("\u00a0").split()[0] for o in opts] == UNMAP
    depth = {o.split(". ", 1)[1].strip("\u00a0").split()[0]:
             len(o.split(". ", 1)[1]) - len(o.split(". ", 1)[1].lstrip("\u00a0"))
             for o in opts}
    assert depth["put_page"] == 0 and depth["put_page_testzero"] == 2
    assert depth["mem_cgroup_uncharge"] == 6     # put_page > __put_single_page >
    assert opts[3].endswith("put_page_testzero  x1  count 1->0")   # __page_cache_release
    # a caller's line shows only what it did itself, not its callees' changes
    assert opts[2].endswith("put_page  x1")
    assert "PCG USED|MEM|MEMSW->none" in opts[7] and "A usage 3->2" in opts[7]
    assert "memsw_usage 4->3" in opts[7]


def test_buttons_and_list_move_the_current_call(tl):
    p = step_player(tl, calls_open=True)
    c = p.calls
    p.go(7)
    assert c.call == 0 and c.prev_button.disabled and not c.next_button.disabled
    assert "call 1 of 9" in c.position.value
    c.next_button.click()
    c.next_button.click()
    c.next_button.click()
    assert c.call == 3 and c.list.index == 3
    assert "put_page_testzero" in c.detail.value and "called by <code>put_page</code>" \
        in c.detail.value and "changed: count 1-&gt;0" in c.detail.value
    c.list.index = 7                          # a click in the list
    assert c.call == 7 and "call 8 of 9" in c.position.value
    assert "mem_cgroup_uncharge" in c.detail.value
    assert "called by <code>__page_cache_release</code>" in c.detail.value
    c.prev_button.click()
    assert c.call == 6 and c.list.index == 6
    c.go_call(99)
    assert c.call == 8 and c.next_button.disabled
    p.forward()                               # a new step starts at its first call
    assert c.step == 8 and c.call == 0 and c.list.options[0].split()[1] == "do_anonymous_page"


def test_describe_says_the_current_call_in_one_line_of_words(tl):
    """What notebooks 01 and 03 print: no column padding, no Python lists."""
    p = step_player(tl, calls_open=True)
    c = p.calls
    p.go(7)
    c.go_function("put_page_testzero")
    assert c.describe() == "put_page_testzero on x1: count 1->0"
    c.go_function("mem_cgroup_uncharge")
    assert c.describe().startswith("mem_cgroup_uncharge on x1: PCG ")
    assert "  " not in c.describe() and "[" not in c.describe()


def test_current_call_links_to_its_v3_17_source(tl):
    p = step_player(tl, calls_open=True)
    p.go(7)
    p.calls.go_call(7)
    d = p.calls.detail.value
    assert "href='https://elixir.bootlin.com/linux/v3.17/C/ident/mem_cgroup_uncharge'" in d
    assert "href='https://elixir.bootlin.com/linux/v3.17/source/mm/memcontrol.c'" in d
    p.calls.go_call(3)
    assert "source/include/linux/mm.h'" in p.calls.detail.value


def test_inspector_follows_the_call_and_highlights_the_changed_field(tl):
    p = step_player(tl, calls_open=True)
    p.go(7)
    insp = p.calls.inspector
    p.calls.go_call(1)                        # page_remove_rmap
    rows = _rows(insp)
    assert insp.shown_pfn == 1 and rows["mapcount"] == ("0", True)
    assert rows["count"] == ("1", False)       # the reference is still held
    p.calls.go_call(3)                        # put_page_testzero: the final put
    rows = _rows(insp)
    assert rows["count"] == ("0", True) and insp.changed == ["count"]
    # not uncharged yet: pc->flags still USED|MEM|MEMSW when the count hits 0
    assert rows["pcg"] == ("USED | MEM | MEMSW", False)
    assert rows["lru"] == ("active_anon", False)
    assert "when put_page_testzero returns" in insp.table.value
    p.calls.go_call(6)                        # del_page_from_lru_list
    rows = _rows(insp)
    assert rows["lru"] == ("none", True) and rows["lruvec"] == ("none", True)
    assert rows["pcg"][1] is False
    p.calls.go_call(7)                        # mem_cgroup_uncharge
    rows = _rows(insp)
    assert rows["pcg"] == ("none (not charged)", True) and insp.changed == ["pcg"]
    assert "highlighted: what <code>mem_cgroup_uncharge</code> changed" in insp.table.value


def test_a_callers_state_is_not_shown_before_its_callees_return(tl):
    # put_page (call 2) returns last; at put_page_testzero (call 3) the page
    # must show the count at 0 but still charged, not put_page's final state
    calls = tl[7]["calls"]
    assert return_order(calls) == [1, 0, 3, 6, 7, 5, 8, 4, 2]
    state, when = state_at(tl, 7, 3, 1)
    assert state["count"] == 0 and state["pcg"] == ["USED", "MEM", "MEMSW"]
    state, when = state_at(tl, 7, 0, 1)      # zap_pte_range, after page_remove_rmap
    assert state["mapcount"] == 0 and state["count"] == 1


def test_picking_a_frame_shows_it_and_marks_it_on_the_grid(tl):
    d = dashboard(tl)
    insp = d.player.calls.inspector
    d.player.go(7)
    insp.pick.value = 2                       # x2, from the inspector's frame list
    assert d.pages.grid.picked == 2           # the grid shows the same pick
    assert insp.shown_pfn == 2 and insp.frame == 2
    rows = _rows(insp)
    assert rows["count"] == ("1", False) and rows["mem_cgroup"] == ("A", False)
    assert not any(h for _, h in rows.values())
    assert "acts on another page" in insp.table.value
    d.player.open_calls()
    assert d.pages.grid.marked == 2           # dashed on the grid
    d.player.forward()                        # the picked frame stays picked
    assert insp.shown_pfn == 2
    insp.pick_frame(None)                     # back to following the call
    assert insp.shown_pfn == 1 and insp.frame is None   # y, in the frame x1 freed
    assert d.pages.grid.picked is None and d.pages.grid.marked == 1
    d.player.open_calls(False)
    assert d.pages.grid.marked is None


def test_frame_list_names_the_labels_of_the_step(tl):
    p = step_player(tl, calls_open=True)
    p.go(3)
    labels = dict((v, k) for k, v in p.calls.inspector.pick.options)
    assert labels[0] == "pfn 0 (x0)" and labels[3] == "pfn 3 (x3)"
    assert labels[-1] == "follow the call's page"


def test_a_step_without_calls_says_so(tl):
    p = step_player(tl, calls_open=True)
    p.go(4)                                   # the failed fault records no calls
    assert p.calls.call is None and p.calls.list.options == ()
    assert "No kernel call was recorded" in p.calls.detail.value
    assert p.calls.next_button.disabled and p.calls.prev_button.disabled
    kernel = Timeline([{"op": "phase", "memcgs": {}}], {"source": "kernel"})
    k = step_player(kernel, calls_open=True)
    assert "real kernel" in k.calls.detail.value
    assert "touches no page frame" in k.calls.inspector.table.value


def test_changes_text_without_a_recorded_was():
    before = {"count": 2, "mapcount": 1, "flags": ["lru"], "pcg": ["USED"],
              "mem_cgroup": "A", "lru": "inactive_file", "lruvec": "A"}
    call = {"fn": "put_page", "depth": 0, "pfn": 0,
            "state": {**before, "count": 1, "flags": ["lru", "active"]},
            "memcgs": {"A": {"usage": 0}}}
    assert call_changes(call, before) == ["count 2->1", "PG +active", "A usage =0"]
    assert call_changes(call) == ["A usage =0"]


def test_synthetic_fault_records_try_then_commit():
    f = Fake()
    f.fault_anon("A", "p")
    names = [c["fn"] for c in f.tl[0]["calls"]]
    assert names.index("mem_cgroup_try_charge") < names.index("mem_cgroup_commit_charge")


def test_go_function_finds_a_call_by_name_or_says_what_there_is(tl):
    import pytest
    from memcg_edu.errors import ModelUsageError
    p = step_player(tl, calls_open=True)
    p.go(7)
    p.calls.go_function("mem_cgroup_uncharge")
    assert p.calls.call == 7
    with pytest.raises(ModelUsageError, match="step 7 calls mem_cgroup_migrate 0 time.*"
                                              "its calls: zap_pte_range, page_remove_rmap"):
        p.calls.go_function("mem_cgroup_migrate")


def test_which_call_checks_a_guess_against_the_recording(tl):
    from memcg_edu import course
    v = course.which_call(tl, 7, "mem_cgroup_uncharge", memcg="A", counter="usage")
    assert v and "called by `__page_cache_release`" in v.message and "A usage 3->2" in v.message
    v = course.which_call(tl, 7, "put_page_testzero", memcg="A", counter="usage")
    assert not v and "does not make that change" in v.message
    # a wrong guess gets a hint, never the answer (the notebook's Reveal has it)
    assert "mem_cgroup_uncharge" not in v.message and "__page_cache_release" not in v.message
    assert "`A usage` change" in v.message
    assert course.which_call(tl, 7, "put_page_testzero", page="x1", field="count")
    assert course.which_call(tl, 7, "__page_cache_release", memcg="A", counter="usage")
    assert not course.which_call(tl, 7, "__put_single_page", memcg="A", counter="usage")
    v = course.which_call(tl, 7, "page_remove_rmap()", page="x1", field="count")
    assert not v and "put_page_testzero" not in v.message
    assert "`count 1->0` on x1" in v.message
    v = course.which_call(tl, 7, "__put_single_page", memcg="A", counter="usage")
    assert "is on the way" in v.message and "mem_cgroup_uncharge" not in v.message
    assert course.which_call(tl, 7, ..., memcg="A", counter="usage").pending
    v = course.which_call(tl, 7, "mem_cgroup_migrate", memcg="A", counter="usage")
    assert "not among the calls of step 7" in v.message


def test_two_designs_step_together(tl):
    import copy
    from memcg_edu.widgets import calls_by_design
    scen = {"format": "memcg-edu-scenario/1", "machine": {"ram_pages": 8, "swap_slots": 4},
            "memcgs": {"A": {}}, "tasks": {"p": "A"},
            "steps": [{"op": "fault_anon", "task": "p", "page": "x"},
                      {"op": "get_page", "page": "x"},
                      {"op": "unmap", "task": "p", "page": "x"},
                      {"op": "put_page", "page": "x"}]}
    w = calls_by_design(copy.deepcopy(scen))
    new, old = w.players["3.17"], w.players["3.16"]
    new.forward_button.click()
    assert old.step == 1 and old.slider.value == 1 and "Step 1 of 3" in old.words.value
    old.slider.value = 3
    assert new.step == 3 and new.calls.step == 3 and old.calls.step == 3


def test_inspector_state_is_what_the_table_shows(tl):
    p = step_player(tl, calls_open=True)
    p.go(7)
    p.calls.go_function("put_page_testzero")
    st = p.calls.inspector.state
    assert st["count"] == 0 and st["pcg"] == ["USED", "MEM", "MEMSW"]
    assert _rows(p.calls.inspector)["count"][0] == str(st["count"])


def test_no_button_where_no_call_was_recorded(tl):
    assert step_player(tl).calls_toggle.layout.display is None
    bare = Timeline([{k: v for k, v in r.items() if k != "calls"} for r in tl.steps], tl.meta)
    assert step_player(bare).calls_toggle.layout.display == "none"


def test_describe_names_the_frame_in_a_step_on_two_frames():
    """Notebook 03's migration: both frames carry the label x."""
    from memcg_edu import course
    sc = course.scenario([{"op": "fault_anon", "task": "p", "page": "x"},
                          {"op": "migrate", "page": "x"}])
    p = step_player(course.stepper(sc).timeline, calls_open=True)
    p.go(1)
    p.calls.go_function("isolate_lru_page")
    assert p.calls.describe().startswith("isolate_lru_page on x (pfn 0): count 1->2")
    p.calls.go_function("commit_charge")
    assert p.calls.describe().startswith("commit_charge on x (pfn 1): PCG none->")
