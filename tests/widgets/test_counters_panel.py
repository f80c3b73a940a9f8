import re

from memcg_edu.widgets import counters_panel
from memcg_edu.widgets.counters import fmt_pages


def _row(html, memcg):
    m = re.search(rf"data-memcg='{memcg}'>(.*?)</tr>", html)
    return m.group(1)


def test_shows_counters_and_changes(tl):
    c = counters_panel(tl)
    assert "memcg-edu-counters" in c.html._dom_classes
    assert "Counters after step 0" in c.html.value
    assert "1 / 4 pages (16 KiB)" in _row(c.html.value, "A")
    c.show(5)
    row = _row(c.html.value, "A")
    # swap-out: usage 4 -> 3 (marked down), memsw stays 4, swap 0 -> 1 (marked up)
    assert "<b>3 &#9660;</b> / 4 pages" in row
    assert "4 / 8 pages" in row
    assert "<b>1 &#9650;</b>" in row
    assert "no limit" in _row(c.html.value, "B")


def test_failcnt_is_shown(tl):
    c = counters_panel(tl)
    c.show(4)
    assert "<td><b>1 &#9650;</b></td>" in _row(c.html.value, "A")


def test_fmt_pages():
    assert fmt_pages(1) == "1 page (4 KiB)"
    assert fmt_pages(None) == "no limit"
    assert fmt_pages(4096) == "4096 pages (16.0 MiB)"
