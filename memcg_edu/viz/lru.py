"""The five LRU lists of each memcg's lruvec (and root's) as bars at one step.

Stands for struct lruvec and mem_cgroup_per_zone.lru_size (mm/memcontrol.c,
include/linux/mmzone.h): inactive_anon, active_anon, inactive_file,
active_file, unevictable. Counted from the step's page state (which lruvec
holds each pfn) when the record carries it, else from memory.stat's
per-memcg LRU sizes.
"""
from __future__ import annotations

from typing import Any, Mapping

import numpy as np
from matplotlib.axes import Axes
from matplotlib.figure import Figure
from matplotlib.ticker import MaxNLocator

from ..errors import ModelUsageError
from ..safeio import printable
from ..timeline import Timeline
from .series import memcg_names, series
from .style import (LRU_COLORS, LRU_NAMES, Style, attach_meta, figure_meta, get_style,
                    new_figure, set_alt)

__all__ = ["lru_memcgs", "lru_counts", "lru_max", "touched_lists", "plot_lru", "set_step",
           "lru_alt"]


def lru_memcgs(timeline: Timeline) -> list[str]:
    """The memcgs the LRU view shows: root first (when pages are recorded)."""
    names = list(memcg_names(timeline))
    for rec in timeline.steps:
        for n in (rec.get("pages") or {}).get("memcg_names", ()):
            if n not in names:
                names.append(n)
    if "root" in names:
        names.remove("root")
        names.insert(0, "root")
    return names


def lru_counts(record: Mapping[str, Any], names: list[str]) -> np.ndarray:
    """Pages on each list, shape (len(names), 5), in LRU_NAMES order."""
    pages = record.get("pages")
    if pages:
        return _page_counts([pages], names)[0]
    out = np.zeros((len(names), len(LRU_NAMES)), dtype=np.int64)
    for i, n in enumerate(names):
        stat = ((record.get("memcgs") or {}).get(n) or {}).get("stat") or {}
        out[i] = [stat.get(k) or 0 for k in LRU_NAMES]
    return out


def _page_counts(block: list[Mapping[str, Any]], names: list[str]) -> np.ndarray:
    """Pages on each list of each page state in ``block`` (all with the same
    memcg names and frames), shape (len(block), len(names), 5): a whole
    block counted in one go (lru_max reads thousands of records)."""
    out = np.zeros((len(block), len(names), len(LRU_NAMES)), dtype=np.int64)
    lru = np.asarray([p["lru"] for p in block], dtype=np.int64)
    owner = np.asarray([p["lru_memcg"] for p in block], dtype=np.int64)
    on = lru >= 0
    index = {n: i for i, n in enumerate(names)}
    rows = np.array([index.get(n, -1) for n in block[0]["memcg_names"]] + [-1])
    r = rows[owner[on]]
    ok = r >= 0
    np.add.at(out, (np.nonzero(on)[0][ok], r[ok], lru[on][ok]), 1)
    return out


def lru_max(timeline: Timeline, names: list[str]) -> int:
    """The longest list over all steps: a fixed scale for a moving step."""
    if any("pages" in rec for rec in timeline.steps):
        return int(max(_pages_max(timeline.steps, names), default=0))
    best = 0.0
    for n in names:
        if n in memcg_names(timeline):
            for k in LRU_NAMES:
                best = max(best, float(np.nanmax(np.append(series(timeline, n, k), 0))))
    return int(best)


#: step records counted at once by _pages_max
_BLOCK = 4096


def _pages_max(records: list[dict[str, Any]], names: list[str]) -> list[int]:
    """lru_counts(rec, names).max() of each record; runs of records whose
    page state has the same memcg names and frames are counted together
    (_page_counts), up to _BLOCK at a time."""
    out: list[int] = []
    block: list[Mapping[str, Any]] = []
    shape: tuple[Any, ...] | None = None

    def flush() -> None:
        if block:
            out.extend(_page_counts(block, names).max(axis=(1, 2)).tolist())
            block.clear()

    for rec in records:
        pages = rec.get("pages")
        if not pages or len(pages["lru"]) != len(pages["lru_memcg"]):
            flush()
            out.append(int(lru_counts(rec, names).max()))
            continue
        now = (tuple(pages["memcg_names"]), len(pages["lru"]))
        if now != shape or len(block) >= _BLOCK:
            flush()
            shape = now
        block.append(pages)
    flush()
    return out


def _check_step(timeline: Timeline, step: int) -> int:
    return timeline.step_index(step)


def plot_lru(timeline: Timeline, step: int = -1, ax: Axes | None = None,
             size: str | Style = "screen", fixed_scale: bool = True,
             values: bool = True) -> Figure:
    """Grouped bars: for each memcg, the pages on each of its five LRU lists.

    ``fixed_scale`` keeps the y axis at the timeline's maximum, so stepping
    does not rescale; ``values`` writes each bar's count above it.
    """
    if not len(timeline):
        raise ModelUsageError("the timeline has no steps to plot")
    step = _check_step(timeline, step)
    st = get_style(size)
    fig, (a,) = new_figure(st, ax=ax)
    names = lru_memcgs(timeline)
    counts = lru_counts(timeline[step], names)
    width = 0.8 / len(LRU_NAMES)
    bars = []
    for j, lru in enumerate(LRU_NAMES):
        x = np.arange(len(names)) + (j - 2) * width
        bars.append(a.bar(x, counts[:, j], width, color=LRU_COLORS[lru],
                          edgecolor="black", linewidth=0.5, label=lru.replace("_", " ")))
    texts = []
    if values:
        for j, cont in enumerate(bars):
            for i, rect in enumerate(cont):
                texts.append(a.text(rect.get_x() + width / 2, counts[i, j], str(counts[i, j]),
                                    ha="center", va="bottom", fontsize=st.small))
    top = lru_max(timeline, names) if fixed_scale else int(counts.max())
    a.set_ylim(0, top * 1.15 + 1)
    a.yaxis.set_major_locator(MaxNLocator(integer=True))
    # tick labels are made as the figure is drawn, after NotebookFigure's
    # look at its text: escaped here
    a.set_xticks(np.arange(len(names)), [printable(n) for n in names], fontsize=st.font)
    a.set_xlabel("memcg (whose lruvec holds the page)", fontsize=st.font)
    a.set_ylabel("pages", fontsize=st.font)
    title = a.set_title(_title(timeline, step), fontsize=st.font)
    a.legend(fontsize=st.small, loc="upper right", ncols=2)
    a.grid(True, axis="y", alpha=0.3)
    attach_meta(fig, {"kind": "lru", "bars": bars, "texts": texts, "names": names,
                      "title": title})
    set_step(fig, timeline, step)
    return fig


def lru_alt(timeline: Timeline, step: int, names: list[str], counts: np.ndarray) -> str:
    """The LRU figure at a step in words: each memcg's non-empty lists."""
    parts = []
    for i, n in enumerate(names):
        lists = [f"{LRU_NAMES[j].replace('_', ' ')} {int(counts[i, j])}"
                 for j in range(len(LRU_NAMES)) if counts[i, j]]
        parts.append(f"{n}: {', '.join(lists) if lists else 'all lists empty'}")
    return (f"Bar chart of the pages on each LRU list of every memcg's lruvec after "
            f"step {step} ({timeline[step].get('op', '')}): " + "; ".join(parts) + ".")


def _title(timeline: Timeline, step: int) -> str:
    return f"LRU lists after step {step} ({timeline[step].get('op', '')})"


def touched_lists(record: Mapping[str, Any], names: list[str]) -> set[tuple[int, int]]:
    """(memcg row, list) of every LRU list holding a page the step touched."""
    pages = record.get("pages")
    if not pages:
        return set()
    out = set()
    for pfn in (record.get("detail") or {}).get("touched", ()):
        lru, owner = pages["lru"][pfn], pages["lru_memcg"][pfn]
        if lru >= 0 and 0 <= owner < len(pages["memcg_names"]) and \
                pages["memcg_names"][owner] in names:
            out.add((names.index(pages["memcg_names"][owner]), lru))
    return out


def set_step(fig: Figure, timeline: Timeline, step: int) -> list:
    """Show ``step``: new bar heights, counts and title; the bars holding a
    page the step touched get a thick outline. Returns what changed."""
    meta = figure_meta(fig)
    step = _check_step(timeline, step)
    counts = lru_counts(timeline[step], meta["names"])
    hit = touched_lists(timeline[step], meta["names"])
    changed = [meta["title"]]
    meta["title"].set_text(_title(timeline, step))
    set_alt(fig, lru_alt(timeline, step, meta["names"], counts))
    for j, cont in enumerate(meta["bars"]):
        for i, rect in enumerate(cont):
            rect.set_height(counts[i, j])
            rect.set_linewidth(2.5 if (i, j) in hit else 0.5)
            changed.append(rect)
    for k, t in enumerate(meta["texts"]):
        i, j = k % len(meta["names"]), k // len(meta["names"])
        t.set_text(str(counts[i, j]))
        t.set_y(counts[i, j])
        changed.append(t)
    return changed
