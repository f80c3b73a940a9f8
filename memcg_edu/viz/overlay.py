"""Two timelines of the same scenario on one axes: 3.16 vs 3.17, model vs kernel.

Both must have the shape of memcg_edu.timeline (the model's runner, the 3.16
design and the real-kernel recorder all produce it). Counters are the
res_counter fields of mm/memcontrol.c, as in counters.py.
"""
from __future__ import annotations

from typing import Sequence

import numpy as np
from matplotlib.axes import Axes
from matplotlib.figure import Figure
from matplotlib.ticker import MaxNLocator

from ..errors import ModelUsageError
from ..timeline import COUNTERS, STATS, Timeline
from .cursor import add_cursor
from .series import memcg_names, series
from .style import OKABE_ITO, Style, add_bytes_axis, get_style, new_figure, step_xy

__all__ = ["timeline_label", "plot_overlay"]

_COLORS = (OKABE_ITO["blue"], OKABE_ITO["vermillion"], OKABE_ITO["green"],
           OKABE_ITO["purple"], OKABE_ITO["orange"], OKABE_ITO["sky"])


def timeline_label(timeline: Timeline) -> str:
    """A short name: "model 3.17", "kernel 6.1 (v2)", or the title."""
    m = timeline.meta
    parts = [str(m.get("source", "timeline"))]
    for key in ("design", "kernel"):
        if m.get(key):
            parts.append(str(m[key]))
    if m.get("cgroup") and m.get("source") == "kernel":
        parts.append(f"({m['cgroup']})")
    return " ".join(parts)


def plot_overlay(a: Timeline, b: Timeline, memcg: str | None = None,
                 counters: Sequence[str] = ("usage", "memsw_usage"),
                 labels: Sequence[str] | None = None, step: int | None = None,
                 ax: Axes | None = None, size: str | Style = "screen",
                 bytes_axis: bool = True) -> Figure:
    """``counters`` of one memcg from two timelines: ``a`` solid, ``b`` dashed.

    ``memcg`` defaults to the first non-root memcg both timelines have; steps
    are aligned by index (a shorter timeline simply ends earlier).
    """
    common = [n for n in memcg_names(a) if n in memcg_names(b)]
    if memcg is None:
        memcg = next((n for n in common if n != "root"), common[0] if common else None)
    if memcg is None or memcg not in common:
        raise ModelUsageError(
            f"memcg {memcg!r} is not in both timelines; the first has "
            f"{', '.join(memcg_names(a)) or 'none'}, the second "
            f"{', '.join(memcg_names(b)) or 'none'}")
    for c in counters:
        if c not in COUNTERS and c not in STATS:
            raise ModelUsageError(f"unknown counter {c!r}; counters are "
                                  f"{', '.join(COUNTERS)} and statistics {', '.join(STATS)}")
    la, lb = labels or (timeline_label(a), timeline_label(b))
    if la == lb:
        la, lb = f"{la} (1)", f"{lb} (2)"
    st = get_style(size)
    fig, (axis,) = new_figure(st, ax=ax)
    top = 0.0
    for i, c in enumerate(counters):
        color = _COLORS[i % len(_COLORS)]
        for tl, lab, ls, lw in ((a, la, "-", st.linewidth * 1.4), (b, lb, "--", st.linewidth)):
            v = series(tl, memcg, c)
            axis.plot(*step_xy(v), drawstyle="steps-post", color=color,
                      linestyle=ls, linewidth=lw, label=f"{c} - {lab}")
            if np.isfinite(v).any():
                top = max(top, float(np.nanmax(v)))
    axis.set_ylim(0, top * 1.12 + 1)
    axis.yaxis.set_major_locator(MaxNLocator(integer=True))
    axis.set_xlim(-0.5, max(len(a), len(b), 1) - 0.5)
    axis.set_title(f"memcg {memcg}: {la} vs {lb}", fontsize=st.font)
    axis.set_xlabel("step (state after the step)", fontsize=st.font)
    axis.set_ylabel("pages", fontsize=st.font)
    axis.grid(True, axis="y", alpha=0.3)
    axis.legend(fontsize=st.small, loc="upper left")
    add_cursor(axis, step, st)
    if bytes_axis:
        add_bytes_axis(axis, st)
    fig.memcg_edu["kind"] = "overlay"
    return fig
