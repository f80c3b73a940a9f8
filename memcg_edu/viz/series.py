"""Every counter of every memcg as arrays over the steps, read in one pass.

Timeline.counter reads one counter per pass over the records; a figure
needs a dozen, and a 100,000-step timeline makes that seconds. This reads
them all at once and keeps the result per timeline (recomputed when the
timeline grows). Same meaning as Timeline.counter: float64, nan for null
(unlimited) or a memcg absent at that step. Counters are the res_counter
fields and memory.stat entries of mm/memcontrol.c.
"""
from __future__ import annotations

import weakref

import numpy as np

from ..errors import ModelUsageError
from ..timeline import COUNTERS, STATS, Timeline

__all__ = ["memcg_names", "series"]

_CACHE: "weakref.WeakKeyDictionary[Timeline, tuple[int, list[str], dict]]" = \
    weakref.WeakKeyDictionary()


def _build(timeline: Timeline) -> tuple[int, list[str], dict]:
    names: dict[str, None] = {}
    for s in timeline.steps:
        for name in s.get("memcgs", {}):
            names.setdefault(name, None)
    out = {}
    for name in names:
        recs = [(s.get("memcgs") or {}).get(name) or {} for s in timeline.steps]
        stats = [r.get("stat") or {} for r in recs]
        # a list comprehension per key: None becomes nan in the float array
        arrays = {k: np.array([r.get(k) for r in recs], dtype=float) for k in COUNTERS}
        arrays.update({k: np.array([st.get(k) for st in stats], dtype=float) for k in STATS})
        out[name] = arrays
    return len(timeline), list(names), out


def _get(timeline: Timeline) -> tuple[int, list[str], dict]:
    hit = _CACHE.get(timeline)
    if hit is None or hit[0] != len(timeline):
        hit = _CACHE[timeline] = _build(timeline)
    return hit


def memcg_names(timeline: Timeline) -> list[str]:
    """Timeline.memcg_names, computed once per timeline."""
    return list(_get(timeline)[1])


def series(timeline: Timeline, memcg: str, name: str) -> np.ndarray:
    """Timeline.counter(memcg, name) from the one-pass table (read-only array)."""
    _, names, table = _get(timeline)
    if memcg not in table:
        raise ModelUsageError(f"no memcg {memcg!r} in this timeline; it has "
                              f"{', '.join(names) or 'none'}")
    if name not in table[memcg]:
        raise ModelUsageError(f"unknown counter {name!r}; counters are {', '.join(COUNTERS)} "
                              f"and statistics {', '.join(STATS)}")
    arr = table[memcg][name]
    arr.flags.writeable = False
    return arr
