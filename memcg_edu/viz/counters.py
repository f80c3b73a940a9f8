"""Usage and memsw usage against their limits, step by step, with event markers.

Stands for the res_counter fields of struct mem_cgroup (mm/memcontrol.c,
kernel/res_counter.c) as cgroup v1 shows them: memory.usage_in_bytes,
memory.memsw.usage_in_bytes, their limits and failcnt. The gap between the
memsw line and the usage line is the memsw charge held by swap slots.
"""
from __future__ import annotations

from typing import Sequence

import numpy as np
from matplotlib.axes import Axes
from matplotlib.figure import Figure
from matplotlib.ticker import MaxNLocator

from ..errors import ModelUsageError
from ..timeline import Timeline
from .cursor import finish_step_panels, move_cursor
from .series import memcg_names, series
from .events import EVENT_KINDS, event_steps
from .style import (COUNTER_COLORS, OKABE_ITO, Style, get_style, new_figure, series_words,
                    step_xy)

__all__ = ["MARKERS", "plot_counters", "pick_memcgs", "set_step", "counters_alt"]

#: event kind -> (marker shape, colour, which line it sits on)
MARKERS = {
    "charge": ("^", OKABE_ITO["green"], "usage"),
    "uncharge": ("v", OKABE_ITO["black"], "usage"),
    "swap-out": ("s", OKABE_ITO["purple"], "memsw_usage"),
    "swap-in": ("D", OKABE_ITO["sky"], "memsw_usage"),
    "migration": ("P", OKABE_ITO["orange"], "usage"),
    "OOM": ("X", OKABE_ITO["vermillion"], "limit"),
    "failcnt": ("*", OKABE_ITO["yellow"], "limit"),
}
_LABELS = {"usage": "usage (memory)", "memsw_usage": "memsw usage (memory+swap)",
           "limit": "limit", "memsw_limit": "memsw limit"}


def pick_memcgs(timeline: Timeline, memcgs: Sequence[str] | str | None,
                ax: Axes | None) -> list[str]:
    """The memcgs to draw: those asked for, else every one but an empty root."""
    if not len(timeline):
        raise ModelUsageError("the timeline has no steps to plot")
    names = memcg_names(timeline)
    if isinstance(memcgs, str):
        memcgs = [memcgs]
    if memcgs is None:
        memcgs = [n for n in names if n != "root"
                  or np.nanmax(np.nan_to_num(series(timeline, n, "usage"))) > 0] or names
    for n in memcgs:
        if not isinstance(n, str):
            raise ModelUsageError(f"memcgs: a memcg is named by a string, got "
                                  f"{n!r}; this timeline has {', '.join(names)}")
        if n not in names:
            raise ModelUsageError(f"no memcg {n!r} in this timeline; it has "
                                  f"{', '.join(names)}")
    if ax is not None and len(memcgs) != 1:
        raise ModelUsageError("with ax= give exactly one memcg (memcgs=\"A\"); "
                              f"this timeline has {', '.join(memcgs)}")
    return list(memcgs)


def _draw_one(ax: Axes, timeline: Timeline, name: str, st: Style,
              markers: bool) -> None:
    vals = {k: series(timeline, name, k)
              for k in ("usage", "memsw_usage", "limit", "memsw_limit")}
    lw = st.linewidth
    ax.plot(*step_xy(vals["usage"]), drawstyle="steps-post", color=COUNTER_COLORS["usage"],
            linewidth=lw, label=_LABELS["usage"], zorder=3)
    has_memsw = not np.all(np.isnan(vals["memsw_usage"]))
    if has_memsw:
        ax.plot(*step_xy(vals["memsw_usage"]), drawstyle="steps-post",
                color=COUNTER_COLORS["memsw_usage"], linewidth=lw, linestyle="--",
                label=_LABELS["memsw_usage"], zorder=3)
        # one polygon (zero height where memsw equals usage): a where= mask
        # would make a polygon per gap, slow on long timelines
        x, low = step_xy(vals["usage"], envelope=False)
        ax.fill_between(x, low, step_xy(vals["memsw_usage"], envelope=False)[1],
                        step="post", color=OKABE_ITO["purple"], alpha=0.25, linewidth=0,
                        label="swap charge (memsw - usage)")
    for key, color, style in (("limit", COUNTER_COLORS["usage"], (0, (6, 2))),
                              ("memsw_limit", COUNTER_COLORS["memsw_usage"], (0, (2, 2)))):
        if not np.all(np.isnan(vals[key])):
            ax.plot(*step_xy(vals[key]), drawstyle="steps-post", color=color,
                    linewidth=lw * 0.7, linestyle=style, label=_LABELS[key], zorder=2)
    finite = np.concatenate([v[np.isfinite(v)] for v in vals.values()] + [np.zeros(1)])
    top = float(finite.max())
    if markers:
        found = event_steps(timeline, name)
        for kind in EVENT_KINDS:
            steps = found[kind]
            if not len(steps):
                continue
            shape, color, on = MARKERS[kind]
            if on == "limit":
                y = np.where(np.isnan(vals["limit"][steps]), vals["usage"][steps],
                             vals["limit"][steps])
            else:
                y = vals[on if has_memsw else "usage"][steps]
            if kind == "OOM":
                y = y + 0.06 * top  # just above the failcnt star it usually comes with
            ax.scatter(steps, y, marker=shape, s=st.marker, color=color,
                       edgecolors=OKABE_ITO["black"], linewidths=0.5, zorder=4,
                       label=kind)
    ax.set_ylim(0, top * 1.15 + 1)
    ax.yaxis.set_major_locator(MaxNLocator(integer=True))
    ax.set_title(f"memcg {name}: memory and memory+swap charge", fontsize=st.font)
    ax.set_ylabel("pages", fontsize=st.font)
    ax.grid(True, axis="y", alpha=0.3)


def plot_counters(timeline: Timeline, memcgs: Sequence[str] | str | None = None,
                  step: int | None = None, ax: Axes | None = None,
                  size: str | Style = "screen", markers: bool = True,
                  bytes_axis: bool = True) -> Figure:
    """Step charts of usage and memsw usage vs limits, one panel per memcg.

    ``step`` places the cursor; ``ax`` draws one memcg into an existing
    axes. Unlimited limits (null) are simply not drawn. Markers show the
    steps where the memcg was charged, uncharged, swapped out or in,
    migrated, hit OOM or had failcnt raised.
    """
    if step is not None:  # checked as plot_lru checks it
        step = timeline.step_index(step)
    names = pick_memcgs(timeline, memcgs, ax)
    st = get_style(size)
    fig, axes = new_figure(st, nrows=len(names), ax=ax)
    for a, name in zip(axes, names):
        _draw_one(a, timeline, name, st, markers)
    finish_step_panels(fig, axes, st, step, bytes_axis, ax is not None, "counters",
                       timeline, counters_alt(timeline, names))
    return fig


def counters_alt(timeline: Timeline, names: Sequence[str]) -> str:
    """The counters figure in words: each memcg's usage, memsw and limits."""
    parts = []
    for n in names:
        bits = [series_words("usage", series(timeline, n, "usage"))]
        memsw = series(timeline, n, "memsw_usage")
        if not np.all(np.isnan(memsw)):
            bits.append(series_words("memsw usage", memsw))
        limits = [series_words(key.replace("_", " "), series(timeline, n, key))
                  for key in ("limit", "memsw_limit")
                  if not np.all(np.isnan(series(timeline, n, key)))]
        bits += limits or ["no limits"]
        parts.append(f"memcg {n}: " + "; ".join(bits) + ".")
    return (f"Step chart of usage and memsw usage, in pages, over {len(timeline)} steps. "
            + " ".join(parts))


def set_step(fig: Figure, timeline: Timeline, step: int) -> list:
    """Move the cursor of a counters (or stats) figure; returns what changed."""
    return move_cursor(fig, step)
