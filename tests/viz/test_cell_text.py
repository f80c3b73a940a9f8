"""A page-grid cell's text stays in its cell: a long label or memcg name is
cut with an ellipsis where it is drawn, the text itself stays whole."""
import html
import io
import re

import pytest
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure

from memcg_edu.bundled import SCENARIO_DIR
from memcg_edu.scenario import run_scenario
from memcg_edu.viz import plot_pagegrid
from memcg_edu.viz.cell_text import ELLIPSIS, MARGIN, CellText
from memcg_edu.viz.style import alt_text

HEAP = "the-heap-page-of-the-parser-in-a-long-name"
LIBC = "libc.so.6-text-page-0001"
MEMCG = "a-memcg-with-a-name-longer-than-any-cell"


@pytest.fixture(scope="module")
def tl():
    return run_scenario({
        "format": "memcg-edu-scenario/1", "title": "long names",
        "machine": {"ram_pages": 16, "swap_slots": 4},
        "memcgs": {MEMCG: {}}, "tasks": {"p": MEMCG},
        "steps": [{"op": "fault_anon", "task": "p", "page": HEAP},
                  {"op": "fault_anon", "task": "p", "page": "x"},
                  {"op": "add_to_page_cache", "task": "p", "page": LIBC},
                  {"op": "swap_out", "page": HEAP},
                  {"op": "fault_anon", "task": "p", "page": "$y$"}]})


def _drawn(fig) -> list[str]:
    """The lines of text an SVG of ``fig`` draws, in order (matplotlib writes
    each as a comment)."""
    buf = io.StringIO()
    fig.savefig(buf, format="svg")
    return [html.unescape(c) for c in re.findall(r"<!-- (.*?) -->", buf.getvalue(), re.S)]


def _room(t: CellText) -> float:
    x = t.get_position()[0]
    left, right = t.axes.transData.transform([(x - 0.5, 0), (x + 0.5, 0)])[:, 0]
    return (right - left) * MARGIN


def test_long_lines_are_cut_to_their_cell_and_the_text_stays_whole(tl):
    fig = plot_pagegrid(tl, 4)
    meta = fig.memcg_edu
    before = [t.get_text() for t in meta["texts"] + meta["slot_texts"]]
    drawn = _drawn(fig)
    # the texts themselves are not replaced by the draw
    assert [t.get_text() for t in meta["texts"] + meta["slot_texts"]] == before
    assert any(HEAP in t and MEMCG in t for t in before)
    # the heap page is swapped out (slot 0), libc's page is in pfn 2: their
    # labels and the memcg's name cut, with an ellipsis, and drawn nowhere whole
    at = drawn.index(next(d for d in drawn if d.startswith("s0 ")))
    heap = drawn[at:at + 3]
    assert heap[0].startswith("s0 th") and heap[0].endswith(ELLIPSIS)
    assert heap[1] == "n=1"                                # short lines whole
    assert heap[2].startswith("a") and heap[2].endswith(ELLIPSIS)
    at = drawn.index(next(d for d in drawn if d.startswith("2 ")))
    libc = drawn[at:at + 3]
    assert libc[0].startswith("2 libc") and libc[0].endswith(ELLIPSIS)
    assert libc[1] == "c1 m0"
    assert libc[2].startswith("UMW a") and libc[2].endswith(ELLIPSIS)
    assert not any(HEAP in d or LIBC in d or MEMCG in d for d in drawn)
    # a short label whole, a "$" drawn literally (not mathtext)
    assert drawn[drawn.index("1 x") + 1] == "c1 m1"
    assert "0 $y$" in drawn
    # the figure's words keep every name whole
    words = alt_text(fig)
    assert HEAP in words and LIBC in words and MEMCG in words
    fig.canvas.draw()
    assert not fig.stale                # the draw left nothing to draw again


def test_every_drawn_line_fits_its_cell(tl):
    fig = plot_pagegrid(tl, 2)
    meta = fig.memcg_edu
    drawn = _drawn(fig)
    renderer = fig.canvas.get_renderer()
    prop = meta["texts"][0].get_fontproperties()
    pages, slots = _room(meta["texts"][0]), _room(meta["slot_texts"][0])
    # a frame's lines come first, then the title, then the slots' lines
    title = next(i for i, d in enumerate(drawn) if d.startswith("page frames"))
    end = next(i for i, d in enumerate(drawn) if d == "swap slots")
    for lines, room in ((drawn[:title], pages), (drawn[title + 1:end], slots)):
        assert len(lines) >= 4
        for line in lines:
            width = renderer.get_text_width_height_descent(line, prop, ismath=False)[0]
            assert width <= room, (line, width, room)


def test_a_cell_too_narrow_for_any_character_shows_the_ellipsis():
    fig = Figure(figsize=(0.3, 1), dpi=100)
    FigureCanvasAgg(fig)
    ax = fig.add_subplot()
    ax.set_xlim(-0.5, 19.5)             # twenty cells in 0.3 inch
    t = CellText(ax, 0, 0, fontsize=10)
    t.set_text("abcdef")
    assert _drawn(fig).count(ELLIPSIS) == 1
    assert t.get_text() == "abcdef"


def test_a_label_with_dollars_is_drawn_as_written_not_as_mathtext():
    fig = Figure(figsize=(4, 1), dpi=100)
    FigureCanvasAgg(fig)
    ax = fig.add_subplot()
    t = CellText(ax, 0, 0, fontsize=10)
    t.set_text("$y$")
    renderer = fig.canvas.get_renderer()
    literal = renderer.get_text_width_height_descent("$y$", t.get_fontproperties(),
                                                     ismath=False)[0]
    assert t.get_window_extent(renderer).width == pytest.approx(literal)


def _spy(fig, monkeypatch) -> list[tuple[CellText, str, float, float, float, float]]:
    """(text, line, left, right, top, bottom) of every line of cell text the
    Agg renderer draws, in pixels from the figure's top left."""
    renderer = fig.canvas.get_renderer()
    drawn, within = [], []
    draw_text, draw_cell = renderer.draw_text, CellText.draw

    def spy(gc, x, y, s, prop, angle, ismath=False, mtext=None):
        if within:
            w, h, d = renderer.get_text_width_height_descent(s, prop, ismath=False)
            drawn.append((within[-1], s, x, x + w, y - h + d, y + d))
        return draw_text(gc, x, y, s, prop, angle, ismath=ismath, mtext=mtext)

    def cell_draw(self, r):
        within.append(self)
        try:
            draw_cell(self, r)
        finally:
            within.pop()
    monkeypatch.setattr(renderer, "draw_text", spy)
    monkeypatch.setattr(CellText, "draw", cell_draw)
    fig.canvas.draw()
    monkeypatch.undo()
    return drawn


def _cell(t: CellText, height: float) -> tuple[float, float, float, float]:
    """(left, right, top, bottom) of the cell of ``t``, in pixels from the
    figure's top left (``height``: the figure's, in pixels)."""
    x, y = t.get_position()
    (x0, y0), (x1, y1) = t.axes.transData.transform([(x - 0.5, y - 0.5), (x + 0.5, y + 0.5)])
    return min(x0, x1), max(x0, x1), height - max(y0, y1), height - min(y0, y1)


BUNDLED = SCENARIO_DIR / "04-migration-with-lru-isolation.json"
DENSE = {"format": "memcg-edu-scenario/1", "title": "256 frames",
         "machine": {"ram_pages": 256, "swap_slots": 16}, "memcgs": {"A": {}},
         "tasks": {"p": "A"},
         "steps": [{"op": "fault_anon", "task": "p", "page": "x{i}", "count": 40},
                   {"op": "add_to_page_cache", "task": "p", "page": "f{i}", "count": 20}]}


@pytest.mark.parametrize("size", ["screen", "projector", "print"])
@pytest.mark.parametrize("which", ["long names", "bundled", "256 frames"])
def test_every_line_a_cell_draws_lies_in_its_cell_and_the_key_in_the_figure(
        tl, which, size, monkeypatch):
    timeline, step = {"long names": (tl, 4), "bundled": (run_scenario(BUNDLED), 3),
                      "256 frames": (run_scenario(DENSE), 1)}[which]
    fig = plot_pagegrid(timeline, step, size=size)
    drawn = _spy(fig, monkeypatch)
    height = fig.bbox.height
    by_cell: dict = {}
    for t, line, left, right, top, bottom in drawn:
        x0, x1, y0, y1 = _cell(t, height)
        assert x0 - 0.5 <= left and right <= x1 + 0.5, (line, left, right, x0, x1)
        assert y0 - 0.5 <= top and bottom <= y1 + 0.5, (line, top, bottom, y0, y1)
        by_cell.setdefault(id(t), []).append(line)
    # every cell that has text draws some; where three lines fit, all three
    texts = [t for t in fig.memcg_edu["texts"] + fig.memcg_edu["slot_texts"] if t.get_text()]
    assert {id(t) for t in texts} <= set(by_cell)
    used = [by_cell[id(t)] for t in fig.memcg_edu["texts"] if "\n" in t.get_text()]
    # (a dense grid: smaller, and its first lines, the label's first; as
    # many in every cell, all of one size)
    assert used and all(len(lines) == 3 or which == "256 frames" and len(lines) >= 2
                        for lines in used)
    assert len({len(lines) for lines in used}) == 1
    # the key and the titles inside the figure
    renderer = fig.canvas.get_renderer()
    for part in [fig.legends[0], *(a.title for a in fig.axes)]:
        box = part.get_window_extent(renderer)
        assert (box.x0 >= -0.5 and box.x1 <= fig.bbox.width + 0.5
                and box.y0 >= -0.5 and box.y1 <= height + 0.5), (part, box, fig.bbox)


@pytest.mark.parametrize("size", ["screen", "projector", "print"])
def test_long_names_leave_the_grids_where_short_ones_have_them(size):
    """The cells' whole lines are not the layout's to make room for (they
    are fitted to the cells after it): the grids of a file of long names
    are where those of short names are."""
    def grids(label: str, memcg: str):
        sc = {"format": "memcg-edu-scenario/1", "title": "names",
              "machine": {"ram_pages": 16, "swap_slots": 8}, "memcgs": {memcg: {}},
              "tasks": {"p": memcg},
              "steps": [{"op": "fault_anon", "task": "p", "page": label + "{i}", "count": 6},
                        {"op": "swap_out", "page": label + "0"}]}
        fig = plot_pagegrid(run_scenario(sc), 1, size=size)
        fig.canvas.draw()
        return [v for a in fig.axes for v in a.get_position().bounds]
    short, long = grids("x", "A"), grids(HEAP, MEMCG)
    assert long == pytest.approx(short, abs=1e-3)


@pytest.mark.parametrize("path", sorted(SCENARIO_DIR.glob("0*.json")), ids=lambda p: p.stem)
@pytest.mark.parametrize("size", ["screen", "projector"])
def test_the_grids_title_at_its_longest_op_stays_in_the_figure(path, size):
    """At the step of the longest op name (replace_page_cache's, say) and a
    projector's font, the title "page frames (pfn) after step N (op)" ran
    past the figure's left edge: it takes two lines where one is too wide."""
    timeline = run_scenario(path)
    step = max(range(len(timeline)), key=lambda i: len(timeline[i]["op"]))
    fig = plot_pagegrid(timeline, step, size=size)
    fig.canvas.draw()
    title = fig.axes[0].title
    box = title.get_window_extent(fig.canvas.get_renderer())
    assert box.x0 >= -0.5 and box.x1 <= fig.bbox.width + 0.5, (title.get_text(), box)
    if size == "screen":                        # one line where it fits
        assert "\n" not in title.get_text()
