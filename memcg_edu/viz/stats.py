"""memory.stat's cache, rss and swap of each memcg as stacked areas over the steps.

Stands for the per-memcg statistics MEM_CGROUP_STAT_CACHE, _RSS and _SWAP
(mm/memcontrol.c: mem_cgroup_charge_statistics, mem_cgroup_swap_statistics)
as cgroup v1 prints them in memory.stat.
"""
from __future__ import annotations

from typing import Sequence

import numpy as np
from matplotlib.axes import Axes
from matplotlib.figure import Figure
from matplotlib.ticker import MaxNLocator

from ..timeline import Timeline
from .counters import pick_memcgs
from .cursor import finish_step_panels, move_cursor
from .series import series
from .style import STAT_COLORS, Style, get_style, new_figure, series_words, step_xy

__all__ = ["STACK", "plot_stats", "set_step"]

#: bottom to top; rss + cache is what the memcg's usage holds, swap sits on top
STACK = ("rss", "cache", "swap")
_LABELS = {"rss": "rss (anonymous)", "cache": "cache (file and shmem)",
           "swap": "swap (charged swap slots)"}
_HATCH = {"rss": None, "cache": "//", "swap": ".."}


def plot_stats(timeline: Timeline, memcgs: Sequence[str] | str | None = None,
               step: int | None = None, ax: Axes | None = None,
               size: str | Style = "screen", bytes_axis: bool = True) -> Figure:
    """Stacked areas of rss, cache and swap (pages), one panel per memcg."""
    names = pick_memcgs(timeline, memcgs, ax)
    st = get_style(size)
    fig, axes = new_figure(st, nrows=len(names), ax=ax)
    for a, name in zip(axes, names):
        bottom = np.zeros(len(timeline))
        low = step_xy(bottom, envelope=False)[1]
        for key in STACK:
            top = bottom + np.nan_to_num(series(timeline, name, key))
            x, high = step_xy(top, envelope=False)
            a.fill_between(x, low, high, step="post", color=STAT_COLORS[key],
                           hatch=_HATCH[key], edgecolor="#00000055", linewidth=0.4,
                           label=_LABELS[key])
            bottom, low = top, high
        a.set_ylim(0, float(bottom.max(initial=0)) * 1.12 + 1)
        a.yaxis.set_major_locator(MaxNLocator(integer=True))
        a.set_title(f"memcg {name}: memory.stat", fontsize=st.font)
        a.set_ylabel("pages", fontsize=st.font)
        a.grid(True, axis="y", alpha=0.3)
    words = " ".join(f"memcg {n}: " + "; ".join(series_words(k, np.nan_to_num(series(
        timeline, n, k))) for k in STACK) + "." for n in names)
    finish_step_panels(fig, axes, st, step, bytes_axis, ax is not None, "stats", timeline,
                       f"Stacked areas of memory.stat rss, cache and swap, in pages, "
                       f"over {len(timeline)} steps. {words}")
    return fig


def set_step(fig: Figure, timeline: Timeline, step: int) -> list:
    """Move the cursor; the areas themselves do not depend on the step."""
    return move_cursor(fig, step)
