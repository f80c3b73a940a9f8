"""The dashboard: player, counters, plots, LRU view and page grid in one call.

``dashboard(source)`` takes a scenario or a timeline (see
memcg_edu.viz.source) and returns the widget tree; every view follows the
player's step. Time-series figures (memcg_edu.viz.counters, .stats) are
drawn once; a step only moves their cursor.
"""
from __future__ import annotations

from typing import Any, Sequence

import ipywidgets as widgets

from ..viz import counters as vcounters
from ..viz import stats as vstats
from ..viz.source import load_source
from ..viz.style import figure_meta
from .counters import CountersPanel
from .player import StepPlayer
from .render import FigureView
from .views import LruView, PageGridView

__all__ = ["Dashboard", "dashboard", "MARKER_LIMIT"]

#: above this many steps the counters plot leaves out the event markers
MARKER_LIMIT = 5000


class Dashboard(widgets.VBox):
    """Player on top; counters panel; tabs with the plots, LRU view, page grid.

    Attributes: ``player``, ``counters``, ``counters_plot``, ``stats_plot``
    (FigureViews), ``lru``, ``pages``, ``tabs``, ``timeline`` (``stats_plot``
    and ``lru`` are made when first read or their tab is selected). Drive it with
    ``dashboard.player.forward()`` etc. or the buttons. Every view follows
    each step; the figures of tabs not selected are drawn when selected, and
    no figure is drawn before the dashboard is displayed (the cell's value
    or ``display(d)``; ``d.displayed()`` says so where no display is).
    """

    def __init__(self, source: Any, memcgs: Sequence[str] | None = None,
                 smooth: bool = False, design: str = "3.17", size: str = "widget",
                 interval_ms: int = 700) -> None:
        src = load_source(source, design)
        tl = self.timeline = src.timeline
        self.title = src.name
        self.player = StepPlayer(tl, interval_ms=interval_ms, scenario_steps=src.steps)
        self.counters = CountersPanel(tl, list(memcgs) if memcgs else None)
        names = vcounters.pick_memcgs(tl, memcgs, None)
        cfig = vcounters.plot_counters(tl, names, step=0, size=size,
                                       markers=len(tl) <= MARKER_LIMIT)
        self.counters_plot = FigureView(cfig, figure_meta(cfig)["cursors"],
                                        lambda s: vcounters.set_step(cfig, tl, s), smooth)
        # the memory.stat and LRU figures are made when first needed (their
        # tab selected, or the attribute read): building a figure costs more
        # than the rest of the dashboard
        self._names, self._size, self._smooth, self.step = names, size, smooth, 0
        self._stats_plot: FigureView | None = None
        self._lru: LruView | None = None
        self._boxes = (widgets.VBox(), widgets.VBox())
        self.pages = PageGridView(tl)
        self.tabs = widgets.Tab([self.counters_plot, *self._boxes, self.pages],
                                titles=("usage & memsw", "memory.stat", "LRU lists",
                                        "page grid"))
        heading = widgets.HTML(f"<h3 style='margin:2px'>{self.title}</h3>" if self.title else "")
        super().__init__([heading, self.player, self.counters, self.tabs])
        self.add_class("memcg-edu-dashboard")
        self.player.observe(lambda ch: self.show(ch["new"]), names="step")
        # a click on a frame of the grid picks it for the page inspector
        self.pages.follow(self.player)
        self.tabs.observe(lambda ch: self._tab_shown(), names="selected_index")
        # a figure's first drawing (its layout and text) costs more than the
        # rest of the dashboard: it waits until the dashboard is displayed
        self._displayed = False
        self._tab_shown()   # before the first show: hidden figures draw when shown
        self.show(0)

    def _repr_mimebundle_(self, **kwargs: Any) -> Any:
        self.displayed()
        return super()._repr_mimebundle_(**kwargs)

    def displayed(self) -> None:
        """Say the dashboard is on screen: the selected tab's figure is drawn
        (displaying it in a notebook calls this)."""
        if not self._displayed:
            self._displayed = True
            self._tab_shown()

    @property
    def stats_plot(self) -> FigureView:
        """The memory.stat figure's view (made the first time it is needed)."""
        if self._stats_plot is None:
            tl = self.timeline
            sfig = vstats.plot_stats(tl, self._names, step=self.step, size=self._size)
            view = FigureView(sfig, figure_meta(sfig)["cursors"],
                              lambda s: vstats.set_step(sfig, tl, s), self._smooth)
            view.set_shown(False)                # _tab_shown decides
            view.update(self.step)
            self._stats_plot = view
            self._boxes[0].children = (view,)
        return self._stats_plot

    @property
    def lru(self) -> LruView:
        """The LRU view (made the first time it is needed)."""
        if self._lru is None:
            self._lru = LruView(self.timeline, self._smooth, self._size, shown=False)
            self._lru.show(self.step)
            self._boxes[1].children = (self._lru,)
        return self._lru

    def _tab_shown(self) -> None:
        # only the selected tab's figure is drawn per step; the others catch
        # up when selected (their artists follow every step regardless)
        selected = self.tabs.selected_index
        if selected == 1:
            self.stats_plot
        elif selected == 2:
            self.lru
        views = (self.counters_plot, self._stats_plot,
                 self._lru.view if self._lru is not None else None)
        for i, view in enumerate(views):
            if view is not None:
                view.set_shown(self._displayed and i == selected)

    def show(self, step: int) -> None:
        """Bring every view to ``step`` (the player calls this on each step)."""
        self.step = step
        self.counters.show(step)
        self.counters_plot.update(step)
        if self._stats_plot is not None:
            self._stats_plot.update(step)
        if self._lru is not None:
            self._lru.show(step)
        self.pages.show(step)


def dashboard(source: Any, memcgs: Sequence[str] | None = None, smooth: bool = False,
              design: str = "3.17", **kw: Any) -> Dashboard:
    """Build the dashboard for a scenario or timeline (path, name, dict or object).

    ``smooth=True`` uses ipympl canvases where ipympl is installed (inline
    images otherwise); ``design`` picks the model a scenario runs on.
    """
    return Dashboard(source, memcgs=memcgs, smooth=smooth, design=design, **kw)
