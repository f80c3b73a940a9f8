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
from matplotlib.transforms import offset_copy

from ..errors import ModelUsageError
from ..timeline import COUNTERS, STATS, Timeline
from .cursor import add_cursor
from .series import memcg_names, series
from .style import (OKABE_ITO, Style, add_bytes_axis, figure_meta, get_style, legend_columns,
                    new_figure, series_words, set_alt, set_step_axis, step_xy)

__all__ = ["timeline_label", "plot_overlay"]

_COLORS = (OKABE_ITO["blue"], OKABE_ITO["vermillion"], OKABE_ITO["green"],
           OKABE_ITO["purple"], OKABE_ITO["orange"], OKABE_ITO["sky"])
_MARKERS = ("o", "s", "^", "D", "v", "P")
#: first timeline, second timeline
_STYLES = ("-", (0, (4, 2)))


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

    Every line stays visible where values are equal: each counter has its
    own colour and marker, and the lines are drawn a few points apart.
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
    lines = [(c, tl, lab) for c in counters for tl, lab in ((a, la), (b, lb))]
    n_steps = max(len(a), len(b), 1)
    words = []
    for j, (c, tl, lab) in enumerate(lines):
        i, second = divmod(j, 2)
        v = series(tl, memcg, c)
        words.append(series_words(f"{c} ({lab})", v))
        # equal lines must all stay visible: each is drawn a few points apart
        # (up for the later ones), the first timeline solid and wide, the
        # second dashed, each counter with its own colour and marker shape
        shift = (j - (len(lines) - 1) / 2) * st.linewidth * 1.5
        where = offset_copy(axis.transData, fig=fig, x=shift * 0.4, y=shift, units="points")
        x, y = step_xy(v)
        axis.plot(x, y, drawstyle="steps-post", color=_COLORS[i % len(_COLORS)],
                  linestyle=_STYLES[second], linewidth=st.linewidth * (1.3 if not second else 1.0),
                  transform=where, zorder=3 + j, label=f"{c.replace('_', ' ')}, {lab}",
                  marker=_MARKERS[i % len(_MARKERS)], markevery=_marks(len(v)),
                  markersize=st.marker ** 0.5 * 0.9,
                  markerfacecolor="white" if second else _COLORS[i % len(_COLORS)])
        if np.isfinite(v).any():
            top = max(top, float(np.nanmax(v)))
    # a margin under 0, so that the lines drawn below a zero stay visible
    axis.set_ylim(-0.05 * (top + 1), top * 1.12 + 1)
    axis.yaxis.set_major_locator(MaxNLocator(integer=True))
    set_step_axis(axis, n_steps, st)
    axis.set_title(f"memcg {memcg}: {la} (solid) vs {lb} (dashed)", fontsize=st.font)
    axis.set_ylabel("pages", fontsize=st.font)
    axis.grid(True, axis="y", alpha=0.3)
    if ax is None:
        labels = axis.get_legend_handles_labels()[1]
        fig.legend(fontsize=st.small, loc="outside lower center",
                   ncols=min(2, legend_columns(labels, st)))
    else:
        axis.legend(fontsize=st.small, loc="upper left")
    add_cursor(axis, step, st)
    if bytes_axis:
        add_bytes_axis(axis, st)
    figure_meta(fig)["kind"] = "overlay"
    set_alt(fig, f"Step chart of memcg {memcg}'s {', '.join(counters)} in pages over "
                 f"{n_steps} steps, {la} (solid) against {lb} (dashed); lines that are "
                 f"equal are drawn a few points apart. " + "; ".join(words) + ".")
    return fig


def _marks(n: int) -> slice | None:
    """A marker at every step of a short timeline (at its start), none on long ones."""
    return slice(0, n) if n <= 60 else None
