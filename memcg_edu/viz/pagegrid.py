"""One cell per page frame, coloured by its state, with page_cgroup flags and memcg.

Stands for mem_map (struct page flags, _count, _mapcount), the page_cgroup
array (include/linux/page_cgroup.h: pc->flags, pc->mem_cgroup) and the
swap_cgroup records of mm/page_cgroup.c, as ``Machine.page_state()``
returns them (docs/architecture.md) in a step record's "pages".
"""
from __future__ import annotations

import functools
import math
from typing import Any, Mapping

import numpy as np
from matplotlib.axes import Axes
from matplotlib.colors import ListedColormap
from matplotlib.figure import Figure
from matplotlib.font_manager import FontProperties
from matplotlib.patches import Patch, Rectangle
from matplotlib.textpath import text_to_path

from ..errors import ModelUsageError
from ..timeline import Timeline
from .cell_text import CellText
from .style import (OKABE_ITO, Style, attach_meta, figure_meta, get_style, new_figure,
                    set_alt)

__all__ = ["PAGE_STATES", "PAGE_COLORS", "SLOT_STATES", "SLOT_COLORS", "GRID_KEY",
           "page_states", "pcg_flags", "slot_states", "step_pages", "touched", "labels_at",
           "grid_words", "plot_pagegrid", "set_step"]

PAGE_STATES = ("free", "charged anon", "charged file", "charged shmem",
               "in swap cache, not charged", "not charged, on an LRU",
               "not charged, in use", "locked / under migration")
PAGE_COLORS = ("#F4F4F4", OKABE_ITO["orange"], OKABE_ITO["sky"], OKABE_ITO["green"],
               OKABE_ITO["purple"], OKABE_ITO["yellow"], OKABE_ITO["grey"],
               OKABE_ITO["vermillion"])
SLOT_STATES = ("free slot", "swap cache only", "in use, swap_cgroup record",
               "in use, no record")
SLOT_COLORS = ("#F4F4F4", "#E8D5E0", OKABE_ITO["purple"], OKABE_ITO["grey"])
#: what a cell's text says (the figure's legend title, the widget's key)
GRID_KEY = ("cell: pfn, label / c=refcount m=mapcount / page_cgroup flags, "
            "pc->mem_cgroup, SC=swap cache",
            "U=PCG_USED M=PCG_MEM W=PCG_MEMSW (3.16: L=PCG_LOCK G=PCG_MIGRATION)",
            "slot: number, label / n=map count, C=swap cache / swap_cgroup memcg")
# one letter per page_cgroup flag (3.17: USED MEM MEMSW; 3.16: LOCK USED MIGRATION)
_LETTERS = {"PCG_USED": "U", "PCG_MEM": "M", "PCG_MEMSW": "W", "PCG_LOCK": "L",
            "PCG_MIGRATION": "G"}


def step_pages(timeline: Timeline, step: int) -> tuple[int, Mapping[str, Any]]:
    """(step, page state) of a step, or a clear error when it has none."""
    step = timeline.step_index(step)
    pages = timeline[step].get("pages")
    if not pages:
        raise ModelUsageError(
            f"step {step} has no page state (\"pages\"); the scenario runner records "
            f"it only for small machines")
    return step, pages


def _flag_bits(pages: Mapping[str, Any]) -> dict[str, int]:
    return {name: int(bit) for bit, name in pages["pcg_flag_names"].items()}


def pcg_flags(pages: Mapping[str, Any]) -> list[str]:
    """Per pfn, the set page_cgroup flags as letters (U=USED, M=MEM, W=MEMSW,
    L=LOCK, G=MIGRATION), "-" for none."""
    bits = sorted(_flag_bits(pages).items(), key=lambda kv: kv[1])
    out = []
    for f in pages["pc_flags"]:
        s = "".join(_LETTERS.get(name, name[4:5]) for name, b in bits if f & b)
        out.append(s or "-")
    return out


def page_states(pages: Mapping[str, Any]) -> np.ndarray:
    """Per pfn, an index into PAGE_STATES (the first rule that applies wins:
    free, locked/migrating, charged by type, swap cache, on an LRU, in use)."""
    bits = _flag_bits(pages)
    flags = np.asarray(pages["pc_flags"], dtype=np.int64)
    used = (flags & bits.get("PCG_USED", 0)) != 0
    migrating = (flags & bits.get("PCG_MIGRATION", 0)) != 0
    arr = {k: np.asarray(pages[k], dtype=bool)
           for k in ("free", "anon", "swapbacked", "swapcache", "locked", "lru_flag")}
    state = np.full(len(flags), 6, dtype=np.int64)
    state[arr["lru_flag"]] = 5
    state[arr["swapcache"]] = 4
    state[used & ~arr["swapbacked"]] = 2
    state[used & arr["swapbacked"] & ~arr["anon"]] = 3
    state[used & arr["anon"]] = 1
    state[arr["locked"] | migrating] = 7
    state[arr["free"]] = 0
    return state


def slot_states(pages: Mapping[str, Any]) -> np.ndarray:
    """Per swap slot, an index into SLOT_STATES."""
    count = np.asarray(pages.get("swap_count", ()), dtype=np.int64)
    cache = np.asarray(pages.get("swap_cache", ()), dtype=bool)
    record = np.asarray(pages.get("swap_cgroup", ()), dtype=np.int64)
    state = np.zeros(len(count), dtype=np.int64)
    state[cache] = 1
    state[count > 0] = 3
    state[(count > 0) & (record >= 0)] = 2
    return state


def touched(record: Mapping[str, Any]) -> list[int]:
    """The pfns the step touched (its "detail"), for highlighting."""
    return [int(p) for p in (record.get("detail") or {}).get("touched", ())]


def labels_at(record: Mapping[str, Any]) -> tuple[dict[int, str], dict[int, str]]:
    """Scenario labels by pfn and by swap slot, from the step's "detail"."""
    by_pfn: dict[int, str] = {}
    by_slot: dict[int, str] = {}
    for label, where in ((record.get("detail") or {}).get("labels") or {}).items():
        if "pfn" in where:
            by_pfn[int(where["pfn"])] = label
        elif "swap" in where:
            by_slot[int(where["swap"])] = label
    return by_pfn, by_slot


def _name(names: list[str], i: int) -> str:
    return names[i] if 0 <= i < len(names) else "-"


def _page_texts(pages: Mapping[str, Any], record: Mapping[str, Any]) -> list[str]:
    names = pages["memcg_names"]
    flags = pcg_flags(pages)
    by_pfn, _ = labels_at(record)
    out = []
    for pfn, (f, m, free) in enumerate(zip(flags, pages["pc_memcg"], pages["free"])):
        label = f" {by_pfn[pfn]}" if pfn in by_pfn else ""
        sc = " SC" if pages["swapcache"][pfn] else ""
        counts = f"c{pages['refcount'][pfn]} m{pages['mapcount'][pfn]}"
        out.append(f"{pfn}{label}" if free else
                   f"{pfn}{label}\n{counts}\n{f} {_name(names, m)}{sc}")
    return out


def _slot_texts(pages: Mapping[str, Any], record: Mapping[str, Any]) -> list[str]:
    names = pages["memcg_names"]
    _, by_slot = labels_at(record)
    out = []
    for slot, (n, c, rec) in enumerate(zip(pages.get("swap_count", ()),
                                           pages.get("swap_cache", ()),
                                           pages.get("swap_cgroup", ()))):
        label = f" {by_slot[slot]}" if slot in by_slot else ""
        body = f"\nn={n}{' C' if c else ''}\n{_name(names, rec)}" if (n or c) else ""
        out.append(f"s{slot}{label}{body}")
    return out


def _shape(n: int, max_cols: int = 16) -> tuple[int, int]:
    cols = max(1, min(max_cols, math.ceil(math.sqrt(n))))
    return math.ceil(n / cols), cols


def _grid(values: np.ndarray, rows: int, cols: int) -> np.ma.MaskedArray:
    g = np.full(rows * cols, -1)
    g[:len(values)] = values
    return np.ma.masked_less(g.reshape(rows, cols), 0)


def plot_pagegrid(timeline: Timeline, step: int = -1, ax: Axes | None = None,
                  size: str | Style = "screen", text: bool | None = None) -> Figure:
    """Page frames (left) and swap slots (right) at ``step``.

    Cell text: pfn, scenario label, c=reference count and m=map count,
    page_cgroup flags and pc->mem_cgroup
    (kept after uncharge, as in the kernel), SC when in the swap cache; slots: map count, C for
    SWAP_HAS_CACHE, and the memcg of their swap_cgroup record. The pages the
    step touched get a thick outline. ``text`` defaults to on up to 256 pages.
    The text is fitted to its cell where it is drawn (viz/cell_text.py:
    smaller in a dense grid or a large font, a line too wide cut with an
    ellipsis); the alt text names every label whole.
    """
    step, pages = step_pages(timeline, step)
    st = get_style(size)
    n_pages, n_slots = len(pages["free"]), len(pages.get("swap_count", ()))
    pr, pc = _shape(n_pages)
    sr, sc = _shape(n_slots, max_cols=4) if n_slots else (0, 0)
    if ax is not None or not n_slots:
        fig, axes = new_figure(st, ax=ax)
    else:
        fig, axes = new_figure(st, ncols=2, width_ratios=[pc, max(sc, 2) * 0.8], sharex=False)
    # the key below the grids, fitted to the figure's width, and room for
    # both: each cell row three lines high, up to the usual height
    slotted = len(axes) > 1
    title, ncols, key_lines = _key(fig.get_figwidth() * 72, st.small,
                                   list(PAGE_STATES) + list(SLOT_STATES if slotted else ()))
    grids = min(st.panel_height * 1.4, (pr * 3.6 * st.small + 2.5 * st.font) / 72)
    key = (key_lines * 1.45 * st.small + 2 * st.small) / 72
    fig.set_figheight(max(fig.get_figheight(), st.panel_height * 1.4, grids + key))
    text = n_pages <= 256 if text is None else text
    meta: dict[str, Any] = {"kind": "pagegrid", "text": text}
    a = axes[0]
    cmap = ListedColormap(PAGE_COLORS)
    meta["image"] = a.imshow(_grid(page_states(pages), pr, pc), cmap=cmap, vmin=-0.5,
                             vmax=len(PAGE_COLORS) - 0.5, aspect="auto")
    meta["shape"] = (pr, pc)
    meta["texts"] = [CellText(a, i % pc, i // pc, rows=3, fontsize=st.small,
                              linespacing=1.1)
                     for i in range(n_pages)] if text else []
    meta["outlines"] = [a.add_patch(Rectangle((i % pc - 0.5, i // pc - 0.5), 1, 1, fill=False,
                                              linewidth=st.linewidth * 1.6, visible=False,
                                              edgecolor=OKABE_ITO["black"]))
                        for i in range(n_pages)]
    _frame(a, pr, pc, st, "")
    meta["page_title"] = a.title
    share = (pc / (pc + max(sc, 2) * 0.8) if slotted
             else a.get_position().width if ax is not None else 1.0)
    meta["title_break"] = _title_break(timeline, (fig.get_figwidth() * 72 - 2 * st.font)
                                       * share, st.font)
    handles = [Patch(facecolor=c, edgecolor="black", label=s)
               for s, c in zip(PAGE_STATES, PAGE_COLORS)]
    if slotted:
        b = axes[1]
        meta["slot_image"] = b.imshow(_grid(slot_states(pages), sr, sc),
                                      cmap=ListedColormap(SLOT_COLORS), vmin=-0.5,
                                      vmax=len(SLOT_COLORS) - 0.5, aspect="auto")
        meta["slot_shape"] = (sr, sc)
        meta["slot_texts"] = [CellText(b, i % sc, i // sc, rows=3, fontsize=st.small,
                                       linespacing=1.1)
                              for i in range(n_slots)] if text else []
        _frame(b, sr, sc, st, "swap slots")
        handles += [Patch(facecolor=c, edgecolor="black", label=s)
                    for s, c in zip(SLOT_STATES, SLOT_COLORS)]
    fig.legend(handles=handles, fontsize=st.small, loc="outside lower center", ncols=ncols,
               title=title, title_fontsize=st.small)
    attach_meta(fig, meta)
    set_step(fig, timeline, step)
    return fig


def _key(width: float, size: float, labels: list[str]) -> tuple[str, int, int]:
    """The legend's title (GRID_KEY, each line wrapped at its words to
    ``width`` points), its columns of entries (up to 3: as many as fit)
    and its lines in all, in a font of ``size`` points: a large font
    (--size projector) would otherwise run the key past the figure's edges."""
    room = width * 0.94 - 2 * size                # the legend's frame and padding
    lines = []
    for line in GRID_KEY:
        words = line.split(" ")
        now = words[0]
        for w in words[1:]:
            if _points(f"{now} {w}", size) <= room:
                now = f"{now} {w}"
            else:
                lines.append(now)
                now = w
        lines.append(now)
    ncols = 1
    for n in (3, 2):
        # filled a column at a time; a column: a handle (2 em), a gap (0.8
        # em), its longest label; 2 em between columns
        rows = math.ceil(len(labels) / n)
        columns = [labels[i:i + rows] for i in range(0, len(labels), rows)]
        if sum(max(_points(s, size) for s in c) + 2.8 * size
               for c in columns) + 2 * size * (n - 1) <= room:
            ncols = n
            break
    return "\n".join(lines), ncols, len(lines) + math.ceil(len(labels) / ncols)


@functools.lru_cache(maxsize=1024)
def _points(s: str, size: float) -> float:
    """The width of ``s`` in the default font of ``size`` points, in points."""
    return text_to_path.get_text_width_height_descent(s, FontProperties(size=size),
                                                      ismath=False)[0]


def grid_words(pages: Mapping[str, Any], record: Mapping[str, Any], step: int,
               states: np.ndarray) -> str:
    """The page grid at a step in words: how many frames and slots are in each state."""
    counts = np.bincount(np.asarray(states, dtype=np.int64), minlength=len(PAGE_STATES))
    frames = ", ".join(f"{int(c)} {s}" for s, c in zip(PAGE_STATES, counts) if c)
    text = (f"Grid of the {len(states)} page frames after step {step} "
            f"({record.get('op', '')}): {frames}.")
    if len(pages.get("swap_count", ())):
        slots = np.bincount(np.asarray(slot_states(pages), dtype=np.int64),
                            minlength=len(SLOT_STATES))
        text += (f" {len(pages['swap_count'])} swap slots: "
                 + ", ".join(f"{int(c)} {s}" for s, c in zip(SLOT_STATES, slots) if c) + ".")
    by_pfn, by_slot = labels_at(record)
    names = pages["memcg_names"]
    where = [f"{lab} in pfn {pfn} ({PAGE_STATES[states[pfn]]}, pc->mem_cgroup "
             f"{_name(names, pages['pc_memcg'][pfn])})" for pfn, lab in by_pfn.items()
             if 0 <= pfn < len(states)] + [f"{lab} in swap slot {s}" for s, lab in by_slot.items()]
    if where:
        text += " Labelled pages: " + ", ".join(where) + "."
    return text


def _title(step: int, op: Any, gap: str) -> str:
    """The page grid's title at ``step`` (``gap``: " ", or a line break)."""
    return f"page frames (pfn){gap}after step {step} ({op})"


def _title_break(timeline: Timeline, width: float, size: float) -> str:
    """What parts the title's two halves: a line break where the longest
    it can be (at the timeline's longest op name), in a font of ``size``
    points, is wider than the grid's ``width`` points, else a space."""
    widest = max(_points(_title(len(timeline) - 1, op, " "), size)
                 for op in {str(op) for op in timeline.ops})
    return " " if widest <= width else "\n"


def _frame(a: Axes, rows: int, cols: int, st: Style, title: str) -> None:
    # major ticks (not shown) at the cells' centres: a minor tick on a
    # major one is dropped, and with it the white line between two cells
    a.set_xticks(np.arange(cols))
    a.set_yticks(np.arange(rows))
    a.set_xticks(np.arange(cols) - 0.5, minor=True)
    a.set_yticks(np.arange(rows) - 0.5, minor=True)
    a.grid(which="minor", color="white", linewidth=1.5)
    a.tick_params(which="both", length=0, labelbottom=False, labelleft=False)
    a.set_title(title, fontsize=st.font)


def set_step(fig: Figure, timeline: Timeline, step: int) -> list:
    """Show ``step`` in a page-grid figure; returns the changed artists."""
    step, pages = step_pages(timeline, step)
    meta = figure_meta(fig)
    record = timeline[step]
    pr, pc = meta["shape"]
    if len(pages["free"]) != len(meta["outlines"]):
        raise ModelUsageError(f"step {step} has {len(pages['free'])} page frames, "
                              f"the grid was drawn for {len(meta['outlines'])}")
    states = page_states(pages)
    meta["image"].set_data(_grid(states, pr, pc))
    set_alt(fig, grid_words(pages, record, step, states))
    meta["page_title"].set_text(_title(step, record.get("op", ""), meta["title_break"]))
    changed = [meta["image"], meta["page_title"]]
    for t, s in zip(meta["texts"], _page_texts(pages, record)):
        t.set_text(s)
        changed.append(t)
    hit = set(touched(record))
    for pfn, box in enumerate(meta["outlines"]):
        box.set_visible(pfn in hit)
        changed.append(box)
    if "slot_image" in meta:
        sr, sc = meta["slot_shape"]
        meta["slot_image"].set_data(_grid(slot_states(pages), sr, sc))
        changed.append(meta["slot_image"])
        for t, s in zip(meta["slot_texts"], _slot_texts(pages, record)):
            t.set_text(s)
            changed.append(t)
    return changed
