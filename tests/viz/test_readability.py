"""Figures read well on a projector and in print: whole-number step ticks,
each step's change drawn at its tick, every overlay line visible, fonts
readable at the figure's shown size, and a text alternative on every figure."""
from __future__ import annotations

import io
import re
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from memcg_edu.compare import compare_scenario
from memcg_edu.course import scenario
from memcg_edu.scenario import run_scenario
from memcg_edu.timeline import Timeline
from memcg_edu.viz import (SIZES, plot_counters, plot_lru, plot_overlay, plot_pagegrid,
                           plot_stats)
from memcg_edu.viz.style import alt_text
from memcg_synth import small_timeline

ROOT = Path(__file__).resolve().parents[2]

PINNED = scenario([
    {"op": "fault_anon", "task": "p", "page": "x"},
    {"op": "get_page", "page": "x"},
    {"op": "unmap", "task": "p", "page": "x"},
    {"op": "put_page", "page": "x"},
], title="a pinned anonymous page")


def _stretched(tl: Timeline, n: int) -> Timeline:
    steps = [dict(tl.steps[i % len(tl)], step=i) for i in range(n)]
    return Timeline(steps, dict(tl.meta))


def _step_axes(fig):
    return [a for a in fig.axes if a.get_title()]


@pytest.mark.parametrize("n", [1, 4, 10, 23, 150])
@pytest.mark.parametrize("plot", [plot_counters, plot_stats])
def test_step_ticks_are_whole_steps(plot, n):
    tl = _stretched(small_timeline(), n)
    fig = plot(tl, "A")
    fig.canvas.draw()
    for ax in _step_axes(fig):
        lo, hi = ax.get_xlim()
        ticks = [t for t in ax.get_xticks() if lo <= t <= hi]
        assert ticks and all(float(t).is_integer() for t in ticks), ticks
        assert min(ticks) >= 0 and max(ticks) <= n - 1
        if n <= 20:
            assert ticks == list(range(n))          # every step has its tick
        labels = [lab.get_text() for t, lab in zip(ax.get_xticks(), ax.get_xticklabels())
                  if lo <= t <= hi]
        assert all(re.fullmatch(r"\d+", t) for t in labels), labels


def test_each_steps_change_is_drawn_at_its_tick():
    tl = small_timeline()
    ax = plot_counters(tl, "A").axes[0]
    usage = next(l for l in ax.get_lines() if l.get_label() == "usage (memory)")
    x, y = usage.get_xdata(), usage.get_ydata()
    assert usage.get_drawstyle() == "steps-post"
    # the state after step i starts at x = i, so the jump to it is at the tick
    assert list(x[:-1]) == list(range(len(tl)))
    assert list(y[:-1]) == [int(v) for v in tl.counter("A", "usage")]


def _pixels(fig) -> np.ndarray:
    fig.canvas.draw()
    return np.asarray(fig.canvas.buffer_rgba()).copy()


@pytest.mark.parametrize("size", ["screen", "projector", "print"])
def test_every_overlay_line_is_visible_where_values_are_equal(size):
    cmp = compare_scenario(PINNED)
    a, b = cmp.timelines["3.16"], cmp.timelines["3.17"]
    # usage == memsw in both timelines, and the timelines agree at steps 0-1
    assert list(a.counter("A", "usage")) == list(a.counter("A", "memsw_usage"))
    fig = plot_overlay(a, b, "A", size=size)
    ax = fig.axes[0]
    lines = [l for l in ax.get_lines() if not l.get_label().startswith("_")]
    assert len(lines) == 4
    looks = {(l.get_color(), str(l.get_linestyle()), l.get_marker(), l.get_markerfacecolor())
             for l in lines}
    assert len(looks) == 4                       # each line differs in how it is drawn
    full = _pixels(fig)
    for line in lines:
        line.set_visible(False)
        without = _pixels(fig)
        line.set_visible(True)
        changed = np.any(full != without, axis=2).sum()
        assert changed > 50, f"{line.get_label()} is hidden under the others"


def test_fonts_are_readable_at_the_shown_size():
    for name, want_px in (("screen", 14), ("widget", 12), ("projector", 22)):
        st = SIZES[name]
        assert st.small * st.dpi / 72 >= want_px, name       # tick labels, in pixels
        assert st.font >= st.small
    assert SIZES["screen"].width * SIZES["screen"].dpi >= 900   # about the notebook's width
    assert SIZES["print"].small >= 7 and SIZES["print"].dpi >= 300
    fig = plot_counters(small_timeline(), "A", size="projector")
    ax = fig.axes[0]
    assert min(t.get_fontsize() for t in ax.get_xticklabels()) >= SIZES["projector"].small


def _figures():
    tl = run_scenario(ROOT / "data" / "scenarios" / "06-swap-out-and-in.json", pages=True)
    cmp = compare_scenario(PINNED)
    return {"counters": plot_counters(tl), "stats": plot_stats(tl),
            "lru": plot_lru(tl, 3), "pagegrid": plot_pagegrid(tl, 3),
            "overlay": plot_overlay(cmp.timelines["3.16"], cmp.timelines["3.17"], "A")}


def test_every_figure_has_a_text_alternative():
    for kind, fig in _figures().items():
        alt = alt_text(fig)
        assert alt != "a memcg-edu figure" and len(alt) > 40, kind
        assert "A" in alt, (kind, alt)
        bundle = fig._repr_mimebundle_()
        assert bundle["text/plain"] == alt
        assert "alt='" in bundle["text/html"] and "width:100%" in bundle["text/html"]
        png = Image.open(io.BytesIO(fig._repr_png_()))
        assert png.size[0] >= 800, kind


def test_counters_alt_text_tells_the_story():
    alt = alt_text(plot_counters(small_timeline(), "A"))
    assert "usage: 1 page at step 0, highest 4 at step 3" in alt
    assert "limit: 4 pages" in alt and "changes at steps 1, 2, 3" in alt
