"""The page-by-page view driven headless on the recorded traces."""
from __future__ import annotations

from memcg_edu.live.trace import recorded_trace
from memcg_edu.live.trace_compare import compare_trace
from memcg_edu.widgets.trace_view import CAUSE_COLORS, SAME, trace_view


def test_swap_trace_page_story_and_calls():
    tr = recorded_trace("swap")
    cmp = compare_trace(tr)
    v = trace_view(tr, cmp)
    s = cmp.summary
    assert f"{s['same_life']} of {s['pages']}</b> pages had the same life" in v.summary.value
    assert "Linux 6.18" in v.summary.value
    # a page the kernel kept in the swap cache: named, coloured, both stories
    cached = next(d for d in cmp.diffs if d.cause == "swap cache")
    v.page.value = cached.role
    assert "swap cache" in v.story.value and "written to swap" in v.story.value
    assert f'data-role="{cached.role}" style="display:inline-block;width:9px;' \
           f'height:9px;background:{CAUSE_COLORS["swap cache"]};border:2px solid #000' \
        in v.grid.value
    # a page with the same life: green, and the model's story has the same steps
    same = cmp.same[0]
    v.select(same)
    assert v.page.value == same and "<b>same life</b>" in v.story.value
    assert f'data-role="{same}" style="display:inline-block;width:9px;height:9px;' \
           f'background:{SAME};border:2px solid #000' in v.grid.value
    # the swap-out step: its calls, the page's own marked and shown first
    written = next(st for st in tr.pages
                   if any(e[1] == "written to swap" for e in st["events"]))
    v.select(written["role"])
    step = next(e[0] for e in written["events"] if e[1] == "written to swap")
    v.step.value = step
    labels = [label for label, _ in v.calls.options]
    assert any(label.startswith("* ") and "pageout" in label for label in labels)
    assert any("try_to_free_mem_cgroup_pages" in label for label in labels)
    assert written["role"] in v.call_detail.value
    assert "count / mapcount</th><td>not traced" in v.call_detail.value
    # the call stepper: next moves one call on, previous back, at the ends it stays
    at = v.calls.value
    v.next_call.click()
    assert v.calls.value == at + 1
    fn = v.calls.options[at + 1][0].replace("*", "").split()[0]
    assert f"<td>{fn} (" in v.call_detail.value
    v.prev_call.click()
    v.prev_call.click()
    assert v.calls.value == max(0, at - 1)
    for _ in range(len(v.calls.options) + 1):
        v.next_call.click()
    assert v.calls.value == len(v.calls.options) - 1
    # picking another call shows that one
    other = next(i for label, i in v.calls.options if "mem_cgroup_swap_statistics" in label)
    v.calls.value = other
    assert "mem_cgroup_swap_statistics (mm/memcontrol.c)" in v.call_detail.value
    assert "swap" in v.call_detail.value


def test_pagecache_trace_names_large_folios():
    tr = recorded_trace("pagecache")
    v = trace_view(tr)
    folio = next(d for d in v.cmp.diffs if d.cause == "large folio")
    v.page.value = folio.role
    assert "large folio" in v.story.value
    # a page of g inside a folio has no frame of its own on the kernel side
    assert "(no page)" in v.story.value or "order" in v.story.value
    v.step.value = len(tr.timeline) - 1
    assert v.step.value == len(tr.timeline) - 1
