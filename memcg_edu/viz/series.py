"""Every counter of every memcg as arrays over the steps, kept per timeline.

A figure needs a dozen counters of several memcgs, and redraws (cursor
moves, widgets) ask again: this keeps Timeline.series's one-pass arrays
per timeline and memcg, read when first asked for (again when the
timeline grows). Same meaning as Timeline.counter: float64, nan for null (unlimited) or a memcg absent at
that step. Counters are the res_counter fields and memory.stat entries of
mm/memcontrol.c.
"""
from __future__ import annotations

import weakref
from typing import Any, Mapping, NamedTuple, Sequence

import numpy as np

from ..errors import ModelUsageError
from ..timeline import COUNTERS, STATS, Timeline, runs, series_of

__all__ = ["memcg_names", "records", "series", "Runs"]


class Runs(NamedTuple):
    """A memcg's records: at each step (None where it is absent), once per
    run of steps that share one, and each step's run (timeline.runs)."""
    present: Sequence[Mapping[str, Any] | None]
    distinct: Sequence[Mapping[str, Any] | None]
    run: np.ndarray


_CACHE: "weakref.WeakKeyDictionary[Timeline, tuple[int, list[str], dict, dict]]" = \
    weakref.WeakKeyDictionary()


def _get(timeline: Timeline) -> tuple[int, list[str], dict, dict]:
    """(length, memcg names, {memcg: its records (Runs)}, {memcg: its
    arrays}), each read when first asked for."""
    hit = _CACHE.get(timeline)
    if hit is None or hit[0] != len(timeline):
        hit = _CACHE[timeline] = (len(timeline), timeline.memcg_names, {}, {})
    return hit


def memcg_names(timeline: Timeline) -> list[str]:
    """Timeline.memcg_names, computed once per timeline."""
    return list(_get(timeline)[1])


def records(timeline: Timeline, memcg: str) -> Runs:
    """memcg's records over the steps, read once per timeline for every
    reader (its arrays here, its event markers: viz/events.py)."""
    _, names, recs, _ = _get(timeline)
    if memcg not in names:
        raise ModelUsageError(f"no memcg {memcg!r} in this timeline; it has "
                              f"{', '.join(names) or 'none'}")
    if memcg not in recs:
        present = timeline.present(memcg)
        recs[memcg] = Runs(present, *runs(present))
    return recs[memcg]


def series(timeline: Timeline, memcg: str, name: str) -> np.ndarray:
    """Timeline.counter(memcg, name) from the one-pass table (read-only array)."""
    rec = records(timeline, memcg)
    table = _get(timeline)[3]
    if memcg not in table:
        table[memcg] = series_of(rec.distinct, rec.run)
        for arr in table[memcg].values():
            arr.flags.writeable = False
    if name not in table[memcg]:
        raise ModelUsageError(f"unknown counter {name!r}; counters are {', '.join(COUNTERS)} "
                              f"and statistics {', '.join(STATS)}")
    return table[memcg][name]
