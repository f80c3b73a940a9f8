"""The LRU view and the page grid at the current step, the touched page highlighted.

LRU view: the bars of memcg_edu.viz.lru (each memcg's lruvec lists,
mm/memcontrol.c mem_cgroup_per_zone), updated in place. Page grid: an HTML
table of the page frames and swap slots (mem_map, page_cgroup,
swap_cgroup), coloured as in memcg_edu.viz.pagegrid, with every field in
the cell's tooltip; HTML keeps a 64-page grid well under a millisecond per
step where a matplotlib grid with text takes a tenth of a second.
"""
from __future__ import annotations

import html
from typing import Any, Mapping

import ipywidgets as widgets

from ..timeline import Timeline
from ..viz import lru as vlru
from ..viz.pagegrid import (PAGE_COLORS, PAGE_STATES, SLOT_COLORS, SLOT_STATES, labels_at,
                            page_states, pcg_flags, slot_states, touched)
from ..viz.style import LRU_NAMES, figure_meta
from .render import FigureView, HtmlStepView

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
        parts = [f"after step {step} ({html.escape(str(self.timeline[step].get('op', '')))})"]
        for name, lists in self.heights().items():
            items = ", ".join(f"{k.replace('_', ' ')} {v}" for k, v in lists.items() if v)
            parts.append(f"<b>{html.escape(name)}</b>: {items or 'empty'}")
        names = figure_meta(self.figure)["names"]
        hit = sorted(vlru.touched_lists(self.timeline[step], names))
        if hit:
            parts.append("touched page on " + ", ".join(
                f"{html.escape(names[i])}'s {LRU_NAMES[j].replace('_', ' ')}" for i, j in hit)
                + " (thick outline)")
        self.counts.value = "<small>" + "; ".join(parts) + "</small>"

    def heights(self) -> dict[str, dict[str, int]]:
        """What the bars show now: {memcg: {list: pages}} (read from the artists)."""
        meta = figure_meta(self.figure)
        return {n: {lru: int(meta["bars"][j][i].get_height())
                    for j, lru in enumerate(LRU_NAMES)}
                for i, n in enumerate(meta["names"])}


_LRU_SHORT = ("inactive anon", "active anon", "inactive file", "active file", "unevictable")
_TEXT_ON_DARK = {PAGE_COLORS[7], SLOT_COLORS[2]}


def _legend(states, colors) -> str:
    return " ".join(f"<span style='display:inline-block;width:10px;height:10px;"
                    f"background:{c};border:1px solid #555'></span> {html.escape(s)}"
                    for s, c in zip(states, colors))


class PageGridView(HtmlStepView):
    """Page frames and swap slots of one step as a coloured HTML grid.

    Each cell: pfn, scenario label, reference count and map count,
    page_cgroup flags (U M W / L U G) and pc->mem_cgroup; the pages the
    step touched are outlined (CSS class "memcg-edu-touched"), the frame
    the page inspector shows (``picked``) dashed ("memcg-edu-picked"). A
    timeline without page state shows a note.
    """

    def __init__(self, timeline: Timeline, columns: int = 16) -> None:
        self.columns = columns
        self.picked: int | None = None
        self.available = any("pages" in r for r in timeline.steps)
        super().__init__(timeline, "memcg-edu-pagegrid")

    def html_at(self, step: int) -> str:
        rec = self.timeline[step]
        pages = rec.get("pages")
        if not pages:
            return ("<i>No page state recorded at this step (the scenario "
                    "runner stores it only for small machines).</i>")
        return (f"<b>Page frames and swap slots after step {step}</b>"
                f"<div style='display:flex;gap:16px;align-items:flex-start'>"
                f"{self._pages(pages, rec)}{self._slots(pages, rec)}</div>"
                f"<small>{_legend(PAGE_STATES, PAGE_COLORS)}<br>"
                f"{_legend(SLOT_STATES, SLOT_COLORS)}<br>c=reference count (_count), "
                f"m=map count; flags: U=PCG_USED "
                f"M=PCG_MEM W=PCG_MEMSW (3.16: L=PCG_LOCK U=PCG_USED "
                f"G=PCG_MIGRATION), SC=in the swap cache; slot: n=map count, C=in swap cache, "
                f"memcg of the swap_cgroup record</small>")

    @staticmethod
    def _table(cells: list[str], columns: int) -> str:
        rows = ["<tr>" + "".join(cells[i:i + columns]) + "</tr>"
                for i in range(0, len(cells), columns)]
        return "<table style='border-collapse:collapse'>" + "".join(rows) + "</table>"

    @staticmethod
    def _cell(color: str, text: str, tip: str, hit: bool, cls: str,
              picked: bool = False) -> str:
        border = ("3px dashed #0072B2" if picked else "3px solid #000" if hit
                  else "1px solid #fff")
        fg = "#fff" if color in _TEXT_ON_DARK else "#000"
        return (f"<td class='{cls}{' memcg-edu-touched' if hit else ''}"
                f"{' memcg-edu-picked' if picked else ''}' title='{tip}' "
                f"style='background:{color};color:{fg};border:{border};width:46px;"
                f"height:44px;text-align:center;font-size:10px;line-height:1.15;"
                f"padding:1px'>{text}</td>")

    def _pages(self, pages: Mapping[str, Any], rec: Mapping[str, Any]) -> str:
        names = pages["memcg_names"]
        states = page_states(pages)
        flags = pcg_flags(pages)
        by_pfn, _ = labels_at(rec)
        hit = set(touched(rec))
        cells = []
        for pfn, st in enumerate(states):
            label = html.escape(by_pfn.get(pfn, ""))
            memcg = names[pages["pc_memcg"][pfn]] if 0 <= pages["pc_memcg"][pfn] < len(names) else "-"
            lru = pages["lru"][pfn]
            owner = pages["lru_memcg"][pfn]
            tip = html.escape(
                f"pfn {pfn}{' (' + by_pfn[pfn] + ')' if pfn in by_pfn else ''}: "
                f"{PAGE_STATES[st]}; refcount {pages['refcount'][pfn]}, "
                f"mapcount {pages['mapcount'][pfn]}; page_cgroup flags {flags[pfn]}, "
                f"pc->mem_cgroup {memcg}; LRU: "
                f"{(_LRU_SHORT[lru] + ' of ' + names[owner]) if lru >= 0 else 'none'}"
                f"{'; swap cache slot ' + str(pages['swap_entry'][pfn]) if pages['swapcache'][pfn] else ''}",
                quote=True)
            sc = " SC" if pages["swapcache"][pfn] else ""
            text = (f"{pfn} <b>{label}</b>" if st == 0 else
                    f"{pfn} <b>{label}</b><br>c{pages['refcount'][pfn]} "
                    f"m{pages['mapcount'][pfn]}<br>{flags[pfn]}{sc}<br>{html.escape(memcg)}")
            cells.append(self._cell(PAGE_COLORS[st], text, tip, pfn in hit, "memcg-edu-page",
                                    pfn == self.picked))
        return self._table(cells, self.columns)

    def _slots(self, pages: Mapping[str, Any], rec: Mapping[str, Any]) -> str:
        if not len(pages.get("swap_count", ())):
            return ""
        names = pages["memcg_names"]
        _, by_slot = labels_at(rec)
        cells = []
        for slot, st in enumerate(slot_states(pages)):
            n, c, r = (pages["swap_count"][slot], pages["swap_cache"][slot],
                       pages["swap_cgroup"][slot])
            owner = names[r] if 0 <= r < len(names) else "-"
            label = html.escape(by_slot.get(slot, ""))
            tip = html.escape(f"swap slot {slot}: map count {n}, "
                              f"{'in swap cache, ' if c else ''}swap_cgroup record: {owner}",
                              quote=True)
            text = f"s{slot} <b>{label}</b>" + (
                f"<br>n={n}{' C' if c else ''}<br>{html.escape(owner)}" if (n or c) else "")
            cells.append(self._cell(SLOT_COLORS[st], text, tip, False, "memcg-edu-slot"))
        return self._table(cells, 4)


def lru_view(timeline: Timeline, smooth: bool = False) -> LruView:
    """An LruView at step 0."""
    return LruView(timeline, smooth)


def page_grid_view(timeline: Timeline) -> PageGridView:
    """A PageGridView at step 0."""
    return PageGridView(timeline)
