"""The notebooks' tables render as HTML (nothing wraps mid-word), each named
kernel difference is listed once, and counts read "1 page", not "1 pages"."""
from __future__ import annotations

import html
import re

import pytest

from memcg_edu import course
from memcg_edu.compare import compare_scenario, render_text
from memcg_edu.scenario import run_scenario

PINNED = course.scenario([
    {"op": "fault_anon", "task": "p", "page": "x"},
    {"op": "get_page", "page": "x"},
    {"op": "unmap", "task": "p", "page": "x"},
    {"op": "put_page", "page": "x"},
], title="a pinned anonymous page")


def _rows(html: str) -> list[list[str]]:
    return [re.findall(r"<t[hd][^>]*>(.*?)</t[hd]>", r) for r in re.findall(r"<tr>(.*?)</tr>", html)]


def test_designs_table_is_html_with_marked_differences():
    cmp = compare_scenario(PINNED)
    t = course.designs_table(cmp)
    assert str(t) == render_text(cmp)              # the same facts as the CLI's text
    first = t.html.split("</table>")[0]
    rows = _rows(first)
    assert rows[0][:3] == ["step", "op", "memcg"]
    assert all(len(r) == len(rows[0]) for r in rows[1:] if "colspan" not in r[0])
    # step 2 (unmap): usage 0 under 3.16, 1 under 3.17, marked as a difference
    assert re.search(r"background:#FCE8D5;font-weight:bold'>0 / 1<", first)
    assert "white-space:nowrap" in first and "<pre" not in t.html
    assert "The counters differ after step 2; the end state is the same." in t.html
    # words read from the left (JupyterLab right-aligns a td that does not say)
    cells = re.findall(r"<td style='([^']*)'>(?:<code>)?([a-z_]+)<", first)
    assert any(w == "unmap" for _, w in cells)
    assert all("text-align:left" in st for st, w in cells), cells
    # a number column's head sits over its right-aligned numbers
    assert re.search(r"<th style='[^']*text-align:right'>usage</th>", first)
    assert re.search(r"<th style='text-align:left[^']*'>op</th>", first)


@pytest.fixture(scope="module")
def kernel_cmp():
    import os
    from memcg_edu.live.compare import compare
    os.environ["MEMCG_EDU_LIVE"] = "0"
    try:
        run = course.kernel_timeline("pagecache", pages=256)
    finally:
        del os.environ["MEMCG_EDU_LIVE"]
    return compare(run.timeline)


def test_each_kernel_difference_is_listed_once(kernel_cmp):
    t = course.differences_list(kernel_cmp)
    names = {(d.memcg, d.name) for d in kernel_cmp.differences}
    items = re.findall(r"<li><b>(.*?)</b> \((\w+),", t.html)
    assert len(items) == len(set(items)) == len(names)
    assert len(kernel_cmp.differences) > len(names)      # it did repeat per step
    assert "steps 1-7" in t.html                          # where it shows, as ranges
    assert not re.search(r"\b1 pages\b", t.html + t.text)


def test_no_difference_text_says_1_pages(kernel_cmp):
    assert all(not re.search(r"\b1 pages\b", d.text) for d in kernel_cmp.differences)
    assert any(d.pages == 1 for d in kernel_cmp.differences)     # the case is there


def test_kernel_table_is_html(kernel_cmp):
    t = course.kernel_table(kernel_cmp)
    rows = _rows(t.html)
    assert rows[0][:3] == ["step", "op", "memcg"] and len(rows) > 5
    assert all(len(r) == len(rows[0]) for r in rows[1:] if len(r) > 1)
    assert "model (Linux 3.17 design) | kernel" in t.html


def test_steps_table_shows_each_design_note_once():
    fresh = course.scenario([
        {"op": "add_to_page_cache", "task": "p", "page": "f", "file": "a"},
        {"op": "replace_page_cache", "page": "f"},
        {"op": "truncate", "page": "f"},
    ])
    tl = run_scenario(fresh)
    notes = [n for rec in tl for n in rec.get("design_notes") or []]
    t = course.steps_table(tl, counters=("usage", "cache"))
    assert len(notes) >= 2 and t.html.count(html.escape(notes[0])) == 1 and t.text.count(notes[0]) == 1
    assert _rows(t.html)[0] == ["step", "op", "A usage", "A cache"]
