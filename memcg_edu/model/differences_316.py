"""The 3.17 invariants the 3.16 design breaks by design, put into words.

Linux 3.16 uncharged a page at its last unmap (mm/rmap.c), at page cache
deletion (mm/filemap.c, mm/vmscan.c) or at swap cache deletion
(mm/swapfile.c), while the page could still be in use; such a page kept
its place on its memcg's LRU (mm/memcontrol.c mem_cgroup_page_lruvec only
moves a page to root when it is added to an LRU). Linux 3.17 keeps a page
charged until its final put, so two of its invariants do not hold in 3.16:

* "a page stays charged while it is referenced";
* I7, "a page on an LRU without PCG_USED sits on root's lruvec".

For a 3.16 machine these are design differences, listed per step as notes
(never raised as InvariantViolation): they are what a learner should see.
"""
from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np

from .memcg import LRU_NAMES
from .pages import PCG_USED, PG_free, PG_lru

if TYPE_CHECKING:
    from .machine import Machine

__all__ = ["design_differences"]

#: by page flags value (all flags are below 2 * PG_free): PageLRU
_ON_LRU = (np.arange(2 * PG_free) & PG_lru) != 0
#: by pc_flags byte: no PCG_USED
_UNCHARGED = (np.arange(256) & PCG_USED) == 0


def design_differences(m: "Machine", uncharged: dict[int, tuple[int, str]]) -> list[str]:
    """Notes on every page that is still in use although 3.16 uncharged it,
    and on every uncharged page left on a non-root memcg's LRU.

    ``uncharged`` maps pfn -> (page generation, uncharging function), as
    kept by Memcg316; entries of pages that were freed, reused or charged
    again are dropped from it here.
    """
    mem, pg = m.mem, m.mem.pg
    notes: list[str] = []
    for pfn in sorted(uncharged):
        gen, function = uncharged[pfn]
        if (pg.gen[pfn] != gen or pg.flags[pfn] & PG_free
                or pg.pc_flags[pfn] & PCG_USED):
            del uncharged[pfn]
            continue
        refs = pg.refcount[pfn]
        notes.append(f"page {pfn} was uncharged by {function}() but is still in "
                     f"use ({refs} reference{'' if refs == 1 else 's'}): 3.17 keeps "
                     f"it charged to {m.memcg_list[pg.pc_memcg[pfn]].name} until its "
                     f"final put")
    # (one take() each: a step of a 3.16 run scans every frame here; most
    # find nothing, so the names are looked up only for a page found)
    stale = (_ON_LRU.take(mem.flags) & _UNCHARGED.take(mem.pc_flags)
             & (mem.lru_memcg > 0)).nonzero()[0]
    for pfn in stale.tolist():
        notes.append(f"page {pfn} is on {m.memcg_list[pg.lru_memcg[pfn]].name}'s "
                     f"{LRU_NAMES[pg.lru[pfn]]} LRU list without "
                     f"a charge: in 3.17 an uncharged page on an LRU sits on "
                     f"root's (I7)")
    return notes
