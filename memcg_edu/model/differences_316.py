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

import sys
from typing import TYPE_CHECKING

import numpy as np

from .memcg import LRU_NAMES
from .pages import PCG_USED, PG_free, PG_lru

if TYPE_CHECKING:
    from .machine import Machine
    from .pages import MemMap

__all__ = ["design_differences"]

#: by page flags value (all flags are below 2 * PG_free): PageLRU
_ON_LRU = (np.arange(2 * PG_free) & PG_lru) != 0
#: by pc_flags byte: no PCG_USED
_UNCHARGED = (np.arange(256) & PCG_USED) == 0
#: a page's low flags byte -> 1 with PageLRU (a bit of that byte), else 0;
#: its pc_flags -> 1 without PCG_USED, else 0 (_uncharged_on_lru)
_LRU_BYTE = bytes(1 if f & PG_lru else 0 for f in range(256))
_UNUSED_BYTE = bytes(0 if f & PCG_USED else 1 for f in range(256))
#: where a 16-bit flags value's low byte is in its bytes
_LOW_BYTE = 0 if sys.byteorder == "little" else 1
#: machines up to this many frames ask _uncharged_on_lru first: above,
#: its passes cost more than the numpy calls (at 4,096 frames, half more)
_ASK_FIRST_MAX = 1024


def _uncharged_on_lru(mem: "MemMap") -> bool:
    """Whether a page is on an LRU without PCG_USED (most steps find none).

    Each of the two facts becomes a byte a page (bytes.translate), and the
    bytes one integer: a page with both is a bit set in the AND of the two.
    A few passes in C over the frames, where numpy's calls cost more than
    their work at a few hundred frames (_ASK_FIRST_MAX).
    """
    pg = mem.pg
    lru = pg.flags.tobytes()[_LOW_BYTE::2].translate(_LRU_BYTE)
    unused = pg.pc_flags.tobytes().translate(_UNUSED_BYTE)
    return int.from_bytes(lru, "little") & int.from_bytes(unused, "little") != 0


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
    # a step of a 3.16 run scans every frame here; most find nothing, which
    # on a small machine _uncharged_on_lru tells at a quarter of the cost
    if mem.nr <= _ASK_FIRST_MAX and not _uncharged_on_lru(mem):
        return notes
    # (one take() each; the names are looked up only for a page found)
    stale = (_ON_LRU.take(mem.flags) & _UNCHARGED.take(mem.pc_flags)
             & (mem.lru_memcg > 0)).nonzero()[0]
    for pfn in stale.tolist():
        notes.append(f"page {pfn} is on {m.memcg_list[pg.lru_memcg[pfn]].name}'s "
                     f"{LRU_NAMES[pg.lru[pfn]]} LRU list without "
                     f"a charge: in 3.17 an uncharged page on an LRU sits on "
                     f"root's (I7)")
    return notes
