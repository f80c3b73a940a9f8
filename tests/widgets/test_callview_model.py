"""The call view on the model's own recording: what notebooks 02 and 03 show.

Kernel order checked here is that of Linux 3.17: mm/swap.c put_page ->
put_page_testzero, then __put_single_page -> __page_cache_release ->
mem_cgroup_uncharge (mm/memcontrol.c); 3.16's page_remove_rmap (mm/rmap.c)
-> mem_cgroup_uncharge_page; mm/vmscan.c isolate_lru_page before
mm/migrate.c's mem_cgroup_migrate; 3.17.0's mem_cgroup_migrate ->
unlock_page_lru -> mem_cgroup_page_lruvec re-pointing the old page at root
before commit_charge.
"""
import html
from pathlib import Path

import pytest

from memcg_edu import course
from memcg_edu.widgets import calls_by_design, dashboard, step_player
from memcg_edu.widgets.call_fields import call_line, own_call
from memcg_edu.widgets.callview import LIST_LINE
from memcg_edu.viz.source import load_source

PINNED = course.scenario([
    {"op": "fault_anon", "task": "p", "page": "x"},
    {"op": "get_page", "page": "x"},
    {"op": "unmap", "task": "p", "page": "x"},
    {"op": "put_page", "page": "x"},
], title="a pinned anonymous page")


def _names(calls):
    return [c["fn"] for c in calls.calls]


def test_final_put_uncharges_at_count_zero_in_3_17_and_at_the_unmap_in_3_16():
    both = calls_by_design(PINNED)
    new, old = both.players["3.17"].calls, both.players["3.16"].calls
    counts = []
    for step in (1, 2, 3):
        both.go(step)
        new.go_function("put_page_testzero" if step > 1 else "get_page")
        counts.append((new.inspector.state["count"], new.inspector.changed))
    assert counts == [(2, ["count"]), (1, ["count"]), (0, ["count"])]   # 2 -> 1 -> 0
    both.go(2)
    assert "mem_cgroup_uncharge" not in _names(new)    # 3.17: no uncharge at the unmap
    assert new.inspector.state["pcg"] == ["USED", "MEM", "MEMSW"]
    old.go_function("mem_cgroup_uncharge_page")         # 3.16: uncharge inside the unmap
    assert old.inspector.state["count"] == 2
    both.go(3)
    names = _names(new)
    assert names.index("put_page_testzero") < names.index("mem_cgroup_uncharge")
    new.go_function("put_page_testzero")
    assert new.inspector.state["pcg"] == ["USED", "MEM", "MEMSW"]      # not yet
    new.go_function("mem_cgroup_uncharge")
    assert new.inspector.state["count"] == 0 and new.inspector.state["pcg"] == []
    assert "pcg" in new.inspector.changed
    v = course.which_call(both.players["3.17"].timeline, 3, "mem_cgroup_uncharge",
                          page="x", field="pcg")
    assert v, v.message


def test_migration_isolates_locks_transfers_and_puts_back():
    d = dashboard(course.scenario([{"op": "fault_anon", "task": "p", "page": "x"},
                                   {"op": "migrate", "page": "x"}]))
    d.player.go(1)
    d.player.open_calls()
    c = d.player.calls
    names = _names(c)
    order = ["isolate_lru_page", "lock_page", "mem_cgroup_migrate", "putback_lru_page"]
    assert [names.index(n) for n in order] == sorted(names.index(n) for n in order)
    c.go_function("isolate_lru_page")
    old = c.inspector.shown_pfn
    assert "lru" not in c.inspector.state["flags"] and c.inspector.state["lruvec"] is None
    assert "flags" in c.inspector.changed and "lru" in c.inspector.changed
    c.go_function("lock_page")
    assert "locked" in c.inspector.state["flags"]
    # mm/memcontrol.c (v3.17) mem_cgroup_migrate clears the old page's
    # pc->flags, then commit_charge charges the new page: two frames, in order
    c.go_function("mem_cgroup_migrate")
    assert c.inspector.shown_pfn == old and c.inspector.state["pcg"] == []
    assert c.inspector.changed == ["pcg"] and c.inspector.state["mem_cgroup"] == "A"
    assert names.index("mem_cgroup_migrate") + 1 == names.index("commit_charge")
    c.go_function("commit_charge")
    assert c.inspector.shown_pfn != old and c.inspector.state["mem_cgroup"] == "A"
    assert c.inspector.state["pcg"] == ["USED", "MEM", "MEMSW"]
    assert "pcg" in c.inspector.changed and "mem_cgroup" in c.inspector.changed
    c.go_function("mem_cgroup_page_lruvec")
    assert c.inspector.shown_pfn == old and c.inspector.state["mem_cgroup"] == "root"
    assert d.pages.grid.marked == old               # the grid marks the inspected frame
    assert course.which_call(d.timeline, 1, "isolate_lru_page", page="x", field="flags")
    # a step on two frames names the pfn in the list
    assert any("x (pfn 1)" in line for line in c.list.options)


def test_3_17_0_replace_page_cache_commits_the_new_page_to_root():
    fresh = course.scenario([
        {"op": "add_to_page_cache", "task": "p", "page": "f", "file": "a"},
        {"op": "replace_page_cache", "page": "f"},
    ])
    p = step_player(load_source(fresh, "3.17").timeline, calls_open=True)
    p.go(1)
    c = p.calls
    names = _names(c)
    assert (names.index("lock_page_lru") < names.index("unlock_page_lru")
            < names.index("mem_cgroup_page_lruvec") < names.index("commit_charge"))
    c.go_function("mem_cgroup_page_lruvec")
    assert c.inspector.state["mem_cgroup"] == "root" and c.inspector.changed == ["mem_cgroup"]
    c.go_function("commit_charge")
    assert c.inspector.state["mem_cgroup"] == "root"
    assert c.inspector.state["pcg"] == ["USED", "MEM", "MEMSW"]
    v = course.which_call(p.timeline, 1, "unlock_page_lru", page="f", field="mem_cgroup")
    assert v and "mem_cgroup_page_lruvec" in v.message


def test_a_call_that_allocates_its_page_says_what_it_changed():
    # the recording cannot know the page at the call's entry: the view fills
    # in the old values from the frame's state before the step
    kinds = course.scenario([{"op": "fault_anon", "task": "p", "page": "x"},
                             {"op": "add_to_page_cache", "task": "p", "page": "f",
                              "file": "r"}])
    p = step_player(load_source(kinds, "3.17").timeline, calls_open=True)
    line = next(o for o in p.calls.list.options if "alloc_zeroed_user_highpage_movable" in o)
    assert "count 0->1" in line and "-free" in line
    # allocation leaves struct page_cgroup alone (mm/page_alloc.c)
    assert "pc->mem_cgroup" not in line and "PCG" not in line
    p.go(1)
    line = next(o for o in p.calls.list.options if "alloc_pages" in o)
    assert "count 0->1" in line and "pc->mem_cgroup" not in line


def test_a_freed_frame_keeps_its_pc_mem_cgroup_until_charged_again():
    # 3.17's uncharge clears pc->flags only: the frame x had, freed, still
    # names A; y gets that frame, and only commit_charge writes it (B)
    reuse = course.scenario([{"op": "fault_anon", "task": "p", "page": "x"},
                             {"op": "unmap", "task": "p", "page": "x"},
                             {"op": "fault_anon", "task": "q", "page": "y"}],
                            memcgs={"A": {}, "B": {}}, tasks={"p": "A", "q": "B"})
    p = step_player(load_source(reuse, "3.17").timeline, calls_open=True)
    p.go(2)
    c = p.calls
    c.go_function("alloc_zeroed_user_highpage_movable")
    assert c.inspector.shown_pfn == 0 and c.inspector.state["mem_cgroup"] == "A"
    assert "mem_cgroup" not in c.inspector.changed
    c.go_function("commit_charge")
    assert c.inspector.state["mem_cgroup"] == "B" and "mem_cgroup" in c.inspector.changed


from memcg_edu.scenario.run import PAGES_MAX_FRAMES  # noqa: E402

SCENARIOS = sorted(p.stem for p in
                   (Path(__file__).resolve().parents[2] / "data" / "scenarios").glob("*.json"))


@pytest.mark.parametrize("design", ["3.17", "3.16"])
@pytest.mark.parametrize("name", SCENARIOS)
def test_every_call_of_a_bundled_scenario_can_be_shown(name, design):
    tl = load_source(name, design).timeline
    if not any(r.get("calls") for r in tl):
        # too big to keep calls or page snapshots (10-real-kernel-charge runs
        # 4,096 pages a phase): the run says so by storing neither
        assert not any("pages" in r for r in tl)
        assert tl.meta["machine"]["ram_pages"] > PAGES_MAX_FRAMES
        return
    p = step_player(tl, calls_open=True)
    shown = 0
    for step in range(len(tl)):
        p.go(step)
        for k in range(len(p.calls.calls)):
            p.calls.go_call(k)
            assert p.calls.call == k and p.calls.detail.value
            st = p.calls.inspector.state
            if p.calls.calls[k].get("pfn") is not None:
                # the inspector shows the call's own page as the call left it
                assert p.calls.inspector.shown_pfn == p.calls.calls[k]["pfn"]
                assert st == p.calls.calls[k]["state"]
            shown += 1
        # a <select> cuts a long line silently: the list cuts it with "…"
        assert all(len(o) <= LIST_LINE for o in p.calls.list.options)
    assert shown > 5


def test_a_long_call_line_ends_in_an_ellipsis_and_is_whole_below_the_list():
    # the hierarchy's try_charge changes eight counters of two memcgs
    p = step_player(load_source("08-hierarchy", "3.17").timeline, calls_open=True)
    p.go(0)
    k = next(k for k, c in enumerate(p.calls.calls) if c["fn"] == "try_charge")
    line = p.calls.list.options[k]
    full = f"{k + 1:>2}. " + call_line(own_call(p.calls.calls, k))
    assert len(full) > LIST_LINE and len(line) <= LIST_LINE
    # cut after a whole change: "..., C1 usage 0->1, …"
    assert line.endswith(", \u2026") and full.startswith(line[:-2])
    assert full[len(line) - 2:].startswith(" ")
    p.calls.go_call(k)
    detail = html.unescape(p.calls.detail.value)
    assert "P usage 0->1" in detail and "C1 usage 0->1" in detail
    assert detail.count("memsw_max_usage 0->1") == 2     # both memcgs, whole
    # a short line is left as it is
    assert p.calls.list.options[0] == f" 1. {call_line(own_call(p.calls.calls, 0))}"


def test_a_3_16_run_links_the_3_16_source():
    both = calls_by_design(PINNED)
    old = both.players["3.16"].calls
    both.go(2)
    old.go_function("mem_cgroup_uncharge_page")
    d = old.detail.value
    assert "linux/v3.16/C/ident/mem_cgroup_uncharge_page'" in d
    assert "linux/v3.16/source/mm/memcontrol.c'" in d and "(Linux 3.16)" in d
    assert "v3.17" not in d
