"""The LRU view and the page grid at the current step, the touched page highlighted.

LRU view: the bars of memcg_edu.viz.lru (each memcg's lruvec lists,
mm/memcontrol.c mem_cgroup_per_zone), updated in place. Page grid: the
clickable grid of memcg_edu.widgets.page_grid (page_grid_view makes one).
"""
from __future__ import annotations


import ipywidgets as widgets

from ..safeio import html_text
from ..timeline import Timeline
from ..viz import lru as vlru
from ..viz.style import LRU_NAMES, figure_meta
from .page_grid import PageGridView
from .render import FigureView

__all__ = ["LruView", "PageGridView", "lru_view", "page_grid_view"]


class LruView(widgets.VBox):
    """Bars of the five LRU lists per memcg; ``show(step)`` moves them."""

    def __init__(self, timeline: Timeline, smooth: bool = False, size: str = "widget",
                 shown: bool = True) -> None:
        self.timeline = timeline
        # counts go in HTML below the bars: drawing 15 numbers into the image
        # would triple the time of a step
        self.figure = vlru.plot_lru(timeline, 0, size=size, values=False)
        meta = figure_meta(self.figure)
        animated = [r for c in meta["bars"] for r in c]

        def update(step: int) -> list:
            changed = vlru.set_step(self.figure, timeline, step)
            # a static title: the HTML line below names the step (a text
            # redrawn per step costs as much as all the bars)
            meta["title"].set_text("LRU lists (pages on each list)")
            return changed

        self.view = FigureView(self.figure, animated, update, smooth)
        self.view.set_shown(shown)       # hidden (a tab not selected): drawn when shown
        self.counts = widgets.HTML()
        self.counts.add_class("memcg-edu-lru-counts")
        super().__init__([self.view, self.counts])
        self.add_class("memcg-edu-lru")
        self.step = -1
        self.show(0)

    def show(self, step: int) -> None:
        self.step = step
        self.view.update(step)
        parts = [f"after step {step} ({html_text(str(self.timeline[step].get('op', '')))})"]
        for name, lists in self.heights().items():
            items = ", ".join(f"{k.replace('_', ' ')} {v}" for k, v in lists.items() if v)
            parts.append(f"<b>{html_text(name)}</b>: {items or 'empty'}")
        names = figure_meta(self.figure)["names"]
        hit = sorted(vlru.touched_lists(self.timeline[step], names))
        if hit:
            parts.append("touched page on " + ", ".join(
                f"{html_text(names[i])}'s {LRU_NAMES[j].replace('_', ' ')}" for i, j in hit)
                + " (thick outline)")
        self.counts.value = "<small>" + "; ".join(parts) + "</small>"

    def heights(self) -> dict[str, dict[str, int]]:
        """What the bars show now: {memcg: {list: pages}} (read from the artists)."""
        meta = figure_meta(self.figure)
        return {n: {lru: int(meta["bars"][j][i].get_height())
                    for j, lru in enumerate(LRU_NAMES)}
                for i, n in enumerate(meta["names"])}


def lru_view(timeline: Timeline, smooth: bool = False) -> LruView:
    """An LruView at step 0."""
    return LruView(timeline, smooth)


def page_grid_view(timeline: Timeline) -> PageGridView:
    """A PageGridView at step 0 (memcg_edu.widgets.page_grid)."""
    return PageGridView(timeline)
