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
    assert re.search(r"<td style='[^']*'><b>1 &#9650;</b></td>", _row(c.html.value, "A"))


def test_the_small_columns_are_spaced_apart(tl):
    """failcnt, rss, cache and swap headers ran together ("failcntrsscacheswap")."""
    html = counters_panel(tl).html.value
    for k in ("failcnt", "rss", "cache", "swap"):
        assert re.search(rf"<th style='padding:0 8px[^']*'>{k}</th>", html), k


def test_fmt_pages():
    assert fmt_pages(1) == "1 page (4 KiB)"
    assert fmt_pages(None) == "no limit"
    assert fmt_pages(4096) == "4096 pages (16.0 MiB)"


def _fills(row):
    return [float(w) for w in re.findall(r"memcg-edu-fill' style='width:([\d.]+)%", row)]


def test_gauges_share_one_scale_and_unlimited_is_not_full(tl):
    c = counters_panel(tl)
    c.show(7)
    a, b = _row(c.html.value, "A"), _row(c.html.value, "B")
    # A: usage 2, memsw 3; B (no limit): usage 1, memsw 1; one scale (8 pages)
    assert c.scale == 8
    assert _fills(a) == [25.0, 37.5] and _fills(b) == [12.5, 12.5]
    # A's limits are marked where they are on that scale; B has no mark at all
    assert re.findall(r"left:calc\(([\d.]+)% - 1px\)", a) == ["50.0", "100.0"]
    assert "memcg-edu-limit" not in b and "no limit" in b
    assert b.count("border-right:2px dashed") == 2 and "dashed" not in a   # open-ended
    # no gauge of an unlimited memcg is ever full, whatever the step
    for step in range(len(tl)):
        c.show(step)
        assert max(_fills(_row(c.html.value, "B")), default=0) < 100


def test_a_far_limit_is_drawn_beyond_the_scale():
    from memcg_edu.widgets.counters import gauge_scale
    assert gauge_scale([2, 3], [1e6]) == 3 * 1.5
    assert gauge_scale([2, 3], [8]) == 8
    assert gauge_scale([], []) == 1.5
