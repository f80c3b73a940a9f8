"""Do all the invariants hold? One yes/no, in few array operations.

Not kernel code. ``Machine(check_invariants=True)`` checks the invariants
after every operation, and on the small machines of the scenarios each
numpy call costs more than the arithmetic it does: invariants.py's checks
(one function per invariant, each finding the page that breaks it) make
about 60 calls. all_hold() answers only whether every one of them holds,
in about 35: each frame's page flags and pc->flags are read through one
table look-up (the facts every check reads off them, for each pair of
values), and the frame facts of I1, I6, I7, I8 and refcount are tested a
few vector expressions at a time. Its answer is True exactly when
invariants.failed_invariants() is empty (tests/model/test_invariants_fast.py
compares both on tens of thousands of broken states); check_invariants()
runs the checks of invariants.py, which say what is wrong and in which
words, only when it is False.
"""
from __future__ import annotations

from functools import lru_cache
from typing import TYPE_CHECKING

import numpy as np

from . import invariants as inv
from .lru import NR_LRU_LISTS
from .memcg import LRU_BASE
from .mm import rmap_has
from .pages import PCG_MEM, PCG_MEMSW, PCG_USED, PG_swapcache

if TYPE_CHECKING:
    from .machine import Machine

__all__ = ["all_hold", "check_invariants"]

# the rows of _pair_facts(): a fact of each (page flags, pc->flags) pair
(_BAD, _LOF, _ON_LRU, _I7, _IN_SC, _FILE, _LIVE, _FREE, _KIND, _SPAN,
 _USED) = range(11)
#: Tally's kinds of charged page, then the kind of every page that is not
#: charged (and that plus 1 when mapped): counted, then ignored
_NR = inv._NR_KINDS + 2
_KIND_COUNTS = np.concatenate([inv._KIND_COUNTS, np.zeros((2, inv._KIND_COUNTS.shape[1]),
                                                           np.int64)])


@lru_cache(maxsize=1)
def _flag_codes() -> np.ndarray:
    """Each 16-bit page flags value as the 7 bits the checks read of it,
    shifted above an 8-bit pc->flags: free, PageLRU, PageSwapCache,
    PageAnon and 1 + the list I6 expects it on (invariants._lru_of_flags)."""
    free, _, lru_flag, _, _, anon, _ = inv._flag_facts()
    sc = (np.arange(1 << 16) & PG_swapcache) != 0
    code = (free + 2 * lru_flag + 4 * sc + 8 * anon
            + 16 * (inv._lru_of_flags().astype(np.int64) + 1))
    out: np.ndarray = (code << 8).astype(np.uint16)
    return out


@lru_cache(maxsize=4)
def _pair_facts(full: int, i7: bool) -> np.ndarray:
    """For each _flag_codes() | pc->flags key, one row per fact (int32):
    _BAD: I8's or I1's flags test fails (a free frame with PCG_USED or
    PageLRU; a charged page's pc->flags not ``full``, an uncharged live
    page's not 0); _LOF: the list I6 expects; _ON_LRU; _I7: uncharged on
    an LRU and ``i7`` (the design keeps I7); _IN_SC: live in the swap
    cache; _FILE: live and not anonymous; _LIVE; _FREE; _KIND: Tally's kind
    of a charged page without its "mapped" bit, _NR_KINDS for any other;
    _SPAN: _NR for a charged page, else 0; _USED: charged (live, PCG_USED)."""
    key = np.arange(1 << 15)
    code, c = key >> 8, key & 0xFF
    free, lru_flag, sc, anon = code & 1, (code >> 1) & 1, (code >> 2) & 1, (code >> 3) & 1
    live, pc_used = 1 - free, (c & PCG_USED) != 0
    used = live & pc_used
    on_lru = live & lru_flag
    bad = ((free & (pc_used | lru_flag)) | (used & (c != full))
           | (live & ~pc_used & (c != 0)))
    kind = np.where(used, (c & (PCG_MEM | PCG_MEMSW)) + inv._KIND_ANON * anon, inv._NR_KINDS)
    return np.stack([bad, (code >> 4) - 1, on_lru, on_lru & ~used & i7, live & sc,
                     live & (1 - anon), live, free, kind, used * _NR, used]).astype(np.int32)


def all_hold(m: "Machine") -> bool:
    """True when every invariant of invariants.INVARIANTS holds, else False.

    Whatever it cannot read (an index out of range, arrays of the wrong
    size in a broken state) is a False: the full checks then read it and
    say what they find."""
    try:
        return _all_hold(m)
    except (ValueError, IndexError):
        return False


def _all_hold(m: "Machine") -> bool:
    mem, sw = m.mem, m.swap
    n_mg = len(m.memcg_list)
    fact = _pair_facts(PCG_USED | PCG_MEM | (PCG_MEMSW if m.swap_account else 0),
                       "I7" not in m.ops.design_differences
                       ).take(_flag_codes().take(mem.flags) | mem.pc_flags, axis=1)
    # I1, and I8's flags: the pair of flags itself is wrong
    if np.count_nonzero(fact[_BAD]):
        return False
    # I6: each frame on the list its flags name (-1: none)
    if np.count_nonzero(mem.lru != fact[_LOF]):
        return False
    # I6 and I7: a page on an LRU is in pc->mem_cgroup's lruvec, and an
    # uncharged one in root's (an int16 difference is 0 only when equal)
    lm = mem.lru_memcg
    if np.count_nonzero(((lm - mem.pc_memcg) * fact[_ON_LRU]) | (lm * fact[_I7])):
        return False
    # mapcount: the ptes of each pfn, counted as Tally counts them
    tasks = m.task_list.values()
    ptes = (np.concatenate([task.pte[:task.top] for task in tasks])
            if tasks else np.zeros(0, np.int32))
    per_value = inv._ptes_per_value(ptes, sw.nr, mem.nr)
    pfn_ptes, mapcount = per_value[sw.nr + 1:], mem.mapcount
    if pfn_ptes.size != mem.nr or np.count_nonzero(pfn_ptes != mapcount):
        return False
    # refcount, and I8's counts: with mapcount >= 0 now, a live page's
    # refcount is at least 1 and its mappings and caches, a free frame's
    # is 0 (and with it its mapcount)
    r = mem.refcount
    if (np.count_nonzero(r < mapcount + fact[_IN_SC] + fact[_FILE] * (mem.mapping >= 0))
            or np.count_nonzero(r < fact[_LIVE]) or np.count_nonzero(r * fact[_FREE])):
        return False
    # I2-I5, I11's css references, I12 and I13: per-memcg sums, by kind
    key = mem.pc_memcg * fact[_SPAN] + fact[_KIND] + (mapcount > 0)
    by_kind = np.bincount(key, minlength=n_mg * _NR)
    cgroup = sw.cgroup
    recorded = cgroup >= 0
    n_swap = np.bincount(cgroup[recorded], minlength=n_mg)
    if by_kind.size != n_mg * _NR or n_swap.size != n_mg:
        return False
    t = inv.Tally.of_sums(m, by_kind.reshape(n_mg, _NR) @ _KIND_COUNTS, n_swap)
    for check in (inv.i13_stock_never_caches_root, inv.i2_memory_counter,
                  inv.i3_memsw_counter, inv.i4_statistics, inv.i5_events, inv.i12_limits):
        if check(m, t) is not None:
            return False
    refs = n_swap.tolist()
    if any(mg.swap_css_refs != refs[mg.index] for mg in m.memcg_list):
        return False
    # I6: lru_size counts the pages linked on each list
    on_lru = fact[_ON_LRU].nonzero()[0]
    linked = np.bincount(np.multiply(lm[on_lru], NR_LRU_LISTS, dtype=np.int64)
                         + mem.lru[on_lru],
                         minlength=NR_LRU_LISTS * n_mg).reshape(-1, NR_LRU_LISTS).tolist()
    if [mg.row[LRU_BASE:LRU_BASE + NR_LRU_LISTS]
            for mg in m.memcg_list] != linked[:n_mg]:
        return False
    # I11's slots, swap_map and swapcache, as their checks test them
    sc_pfns = fact[_IN_SC].nonzero()[0]
    if sc_pfns.size:
        slots = mem.private[sc_pfns]
        if (np.count_nonzero(fact[_USED][sc_pfns] & recorded[slots])
                or np.count_nonzero(sw.page[slots] != sc_pfns)
                or np.count_nonzero(sw.cache[slots]) != slots.size):
            return False
    if np.count_nonzero(recorded & ((sw.count == 0) > sw.cache)):
        return False
    if np.count_nonzero(sw.page >= 0) != sc_pfns.size:
        return False
    swaps = per_value[sw.nr - 1::-1] if sw.nr else per_value[:0]
    tmpfs = [slot for f in m.file_list.values() for slot in f.swap.values()]
    if tmpfs:
        swaps = swaps + np.bincount(tmpfs, minlength=sw.nr)
    if np.count_nonzero(swaps != sw.count):
        return False
    # rmap: a pte beyond its page's first is looked up in the rmap
    mapped = ptes >= 0
    if np.count_nonzero(mapped):
        pfns = ptes[mapped]
        tids, addrs = (a[mapped] for a in inv._pte_owners(
            tuple((task.tid, task.top) for task in tasks)))
        later = ((mem.rmap_task.take(pfns) != tids)
                 | (mem.rmap_addr.take(pfns) != addrs)).nonzero()[0]
        for k in later.tolist():
            if not rmap_has(m, int(pfns[k]), int(tids[k]), int(addrs[k])):
                return False
    return True


def check_invariants(m: "Machine") -> None:
    """invariants.check_invariants(), which runs only when all_hold() says
    something is wrong: the same InvariantViolation, in the same words."""
    if not all_hold(m):
        inv.check_invariants(m)
