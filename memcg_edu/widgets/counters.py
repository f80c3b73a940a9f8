"""Counters panel: usage and memsw gauges against limits, failcnt and memory.stat.

One row per memcg, as cgroup v1 shows them (memory.usage_in_bytes,
memory.memsw.usage_in_bytes, memory.limit_in_bytes, memory.failcnt,
memory.stat: rss, cache, swap), in pages and bytes. Every gauge of a panel
uses one scale (so bars compare across memcgs), with a black mark at the
limit; an unlimited memcg has no mark and is never drawn full. Values that
changed at this step are marked. The HTML carries the stable CSS class
"memcg-edu-counters" so a browser test can read it.
"""
from __future__ import annotations

from typing import Any, Mapping

import numpy as np

from ..safeio import html_text
from ..timeline import PAGE_SIZE, Timeline
from ..viz.series import memcg_names, series
from ..viz.style import COUNTER_COLORS, STAT_COLORS
from .render import HtmlStepView

__all__ = ["CountersPanel", "counters_panel", "fmt_pages", "gauge_scale"]


def fmt_pages(n: float | None) -> str:
    """'3 pages (12 KiB)'; None means unlimited."""
    if n is None:
        return "no limit"
    n = int(n)
    kib = n * PAGE_SIZE // 1024
    size = f"{kib} KiB" if kib < 10240 else f"{kib / 1024:.1f} MiB"
    return f"{n} page{'s' if n != 1 else ''} ({size})"


#: a gauge's scale is this much above the largest value shown, so that a full
#: bar always means "at the limit", never just "the biggest memcg here"
HEADROOM = 1.5
#: limits further than this above the largest value are drawn at the right end
OFF_SCALE = 4.0


def gauge_scale(values: list[float], limits: list[float]) -> float:
    """One scale for every gauge of a panel: the largest value, or the
    largest limit not far above it, with some headroom."""
    top = max([v for v in values if v == v] + [1.0])
    near = [lim for lim in limits if lim == lim and lim <= OFF_SCALE * top]
    return max([top * HEADROOM] + near)


def _gauge(value: int, limit: int | None, scale: float, color: str) -> str:
    """A bar on the panel's common scale, with a mark at the limit (none when
    unlimited; an arrow at the right end for a limit beyond the scale)."""
    pct = 0 if not scale else min(100.0, 100.0 * value / scale)
    edge = "1px solid #555"
    if limit is None:
        # open-ended: a dashed right edge says there is no limit to fill up to
        mark, title, edge = "", "no limit", "2px dashed #999"
    elif limit <= scale:
        mark = (f"<div class='memcg-edu-limit' style='position:absolute;top:-3px;"
                f"left:calc({100.0 * limit / scale:.1f}% - 1px);width:2px;height:14px;"
                f"background:#000'></div>")
        title = f"{value} of {limit} pages (limit at the black mark)"
    else:
        mark = ("<div class='memcg-edu-limit-beyond' style='position:absolute;top:-4px;"
                "right:-9px;font-size:11px;line-height:1'>&#9654;</div>")
        title = f"{value} pages; the limit ({limit}) is beyond the scale"
    return (f"<div title='{title}' style='position:relative;width:160px;height:10px;"
            f"border:1px solid #555;border-right:{edge};background:#f4f4f4;display:inline-block;"
            f"vertical-align:middle;margin-right:10px'>"
            f"<div class='memcg-edu-fill' style='width:{pct:.1f}%;height:100%;"
            f"background:{color}'></div>{mark}</div>")


class CountersPanel(HtmlStepView):
    """Gauges and numbers of every memcg at one step; ``show(step)`` updates."""

    def __init__(self, timeline: Timeline, memcgs: list[str] | None = None) -> None:
        self.memcgs = memcgs or memcg_names(timeline)
        # one scale for every gauge of the panel, over the whole timeline, so
        # that bars compare across memcgs and do not rescale while stepping
        peaks = [float(np.nanmax(series(timeline, n, k), initial=0.0))
                 for n in self.memcgs for k in ("usage", "memsw_usage")]
        limits = [float(v) for n in self.memcgs for k in ("limit", "memsw_limit")
                  for v in np.unique(series(timeline, n, k)) if np.isfinite(v)]
        self.scale = gauge_scale(peaks, limits)
        super().__init__(timeline, "memcg-edu-counters")

    def html_at(self, step: int) -> str:
        rec = self.timeline[step]
        prev = self.timeline[step - 1] if step > 0 else None
        rows = [self._row(n, (rec.get("memcgs") or {}).get(n),
                          ((prev or {}).get("memcgs") or {}).get(n)) for n in self.memcgs]
        return (
            f"<div class='memcg-edu-counters-step' data-step='{step}'>"
            f"<b>Counters after step {step}</b> ({html_text(str(rec.get('op', '')))})</div>"
            "<table style='border-collapse:collapse;font-size:90%'>"
            "<tr><th style='text-align:left'>memcg</th><th>memory (usage / limit)</th>"
            "<th>memory+swap (memsw)</th><th style='padding:0 8px'>failcnt</th>"
            + "".join(f"<th style='padding:0 8px;border-bottom:3px solid {STAT_COLORS[k]}'>"
                      f"{k}</th>"
                      for k in ("rss", "cache", "swap"))
            + "</tr>" + "".join(rows) + "</table>")

    def _row(self, name: str, now: Mapping[str, Any] | None,
             before: Mapping[str, Any] | None) -> str:
        if now is None:
            return f"<tr><td>{html_text(name)}</td><td colspan='6'>not created yet</td></tr>"
        before = before or {}

        def mark(key: str, stat: bool = False) -> str:
            a = (now.get("stat") or {}).get(key) if stat else now.get(key)
            b = (before.get("stat") or {}).get(key) if stat else before.get(key)
            text = "-" if a is None else str(a)
            if before and a is not None and b is not None and a != b:
                arrow = "&#9650;" if a > b else "&#9660;"
                return f"<b>{text} {arrow}</b>"
            return text

        cells = []
        for key, lim, color in (("usage", "limit", COUNTER_COLORS["usage"]),
                                ("memsw_usage", "memsw_limit", COUNTER_COLORS["memsw_usage"])):
            v = now.get(key)
            if v is None:
                cells.append("<td>-</td>")
                continue
            cells.append(f"<td>{_gauge(v, now.get(lim), self.scale, color)} "
                         f"{mark(key)} / {html_text(fmt_pages(now.get(lim)))}"
                         f"<br><small>{html_text(fmt_pages(v))}</small></td>")
        fail = mark("failcnt") + (f" / memsw {mark('memsw_failcnt')}"
                                  if now.get("memsw_failcnt") else "")
        stats = "".join(f"<td style='text-align:center;padding:0 8px'>{mark(k, stat=True)}</td>"
                        for k in ("rss", "cache", "swap"))
        return (f"<tr class='memcg-edu-row' data-memcg='{html_text(name)}'>"
                f"<td><b>{html_text(name)}</b></td>{''.join(cells)}"
                f"<td style='text-align:center;padding:0 8px'>{fail}</td>{stats}</tr>")


def counters_panel(timeline: Timeline, memcgs: list[str] | None = None) -> CountersPanel:
    """A CountersPanel showing step 0 of ``timeline``."""
    return CountersPanel(timeline, memcgs)
