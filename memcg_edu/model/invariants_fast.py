"""Do all the invariants hold? One yes/no, in fewer array operations.

Not kernel code. ``Machine(check_invariants=True)`` checks the
invariants after every operation, and on the small machines of the
scenarios each numpy call costs more than the arithmetic it does (a few
thousand machine instructions for 64 frames): invariants.py's checks,
one function per invariant each finding the page that breaks it, cost
about 580,000 instructions on the 64-frame machine of
benchmarks/bench_scale.py, and all_hold() about 350,000. It answers only
whether every one of them holds: each frame's page flags and pc->flags
are read through one look-up of the facts every check reads off them
(_pair_facts(), one row per fact for each pair of values), the frame
facts of I1, I6, I7, I8, mapcount and refcount are tested a few at a
time, and the per-memcg sums of I2-I6 come out of one count (each frame
adds 1 to some of its memcg's sums) and are compared in Python. Its
answer is True exactly when invariants.failed_invariants() is empty
(tests/model/test_invariants_fast.py compares both on broken states of
both designs); check_invariants() runs the checks of invariants.py,
which say what is wrong and in which words, only when it is False.
"""
from __future__ import annotations

from functools import lru_cache
from operator import itemgetter
from typing import TYPE_CHECKING

import numpy as np

from . import invariants as inv
from .lru import NR_LRU_LISTS
from .memcg import COL, LRU_BASE
from .mm import rmap_has
from .pages import PCG_MEM, PCG_MEMSW, PCG_USED, PG_swapcache

if TYPE_CHECKING:
    from .machine import Machine

__all__ = ["all_hold", "check_invariants", "FAST_MAX_FRAMES"]

#: the sums of each memcg that a frame adds 1 to (_pair_facts()'s _COUNTS
#: rows name them): charged pages, with PCG_MEM, with PCG_MEMSW, anonymous,
#: cache (not anonymous), cache unmapped and mapped (mapped_file), then
#: one per LRU
_USED_, _MEM_, _MEMSW_, _RSS_, _CACHE_, _UNMAPPED_, _MAPPED_ = range(7)
_LRU_ = _MAPPED_ + 1
_NOTHING = _LRU_ + NR_LRU_LISTS          # added to nothing (and that plus 1)
_SPAN = _NOTHING + 2                     # sums of each memcg
# the rows of _pair_facts(): a fact of each (page flags, pc->flags) pair
(_BAD, _LOF, _ON_LRU, _I7, _IN_SC, _CACHED_FROM, _LIVE, _FREE, _USED, _MEMCG,
 _COUNTS) = range(11)
(_USAGE, _MEMSW_USAGE, _LIMIT, _MEMSW_LIMIT, _PGPGIN, _PGPGOUT) = (COL[c] for c in (
    "usage", "memsw_usage", "limit", "memsw_limit", "pgpgin", "pgpgout"))
_LRU_END = LRU_BASE + NR_LRU_LISTS
#: a row's usage and the statistics I4 counts
_STATS = itemgetter(*(COL[c] for c in ("usage", "rss", "cache", "swap", "mapped_file")))


class _CannotTell(Exception):
    """A state all_hold() does not sum itself: a memcg index beyond the
    memcgs (a broken state), or charges stranded by 3.17.0's
    mem_cgroup_migrate() (Machine.stranded); the checks of invariants.py
    read it."""


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
    cache; _CACHED_FROM: the least mapping that is a page-cache
    reference (0 for a live page that is not anonymous, else more than
    any int16); _LIVE; _FREE; _USED: charged (live, PCG_USED); _MEMCG:
    _SPAN for a page counted on pc->mem_cgroup (charged or on an LRU),
    else 0; then the _COUNTS rows: the sum each
    fact of the page adds 1 to, else _NOTHING (all_hold adds 1 to the
    last for a mapped page)."""
    key = np.arange(1 << 15)
    code, c = key >> 8, key & 0xFF
    free, lru_flag, sc, anon = code & 1, (code >> 1) & 1, (code >> 2) & 1, (code >> 3) & 1
    lof = (code >> 4) - 1
    live, pc_used = 1 - free, (c & PCG_USED) != 0
    used = live & pc_used
    on_lru = live & lru_flag
    bad = ((free & (pc_used | lru_flag)) | (used & (c != full))
           | (live & ~pc_used & (c != 0)))

    def counts(sum_: int, when: np.ndarray) -> np.ndarray:
        return np.where(when, sum_, _NOTHING)
    return np.stack([
        bad, lof, on_lru, on_lru & (1 - used) & i7, live & sc,
        np.where(live & (1 - anon), 0, 1 << 20), live, free,
        used, (used | on_lru) * _SPAN,
        counts(_USED_, used), counts(_MEM_, used & ((c & PCG_MEM) != 0)),
        counts(_MEMSW_, used & ((c & PCG_MEMSW) != 0)),
        np.where(used, np.where(anon, _RSS_, _CACHE_), _NOTHING),
        counts(_LRU_, on_lru) + np.maximum(lof, 0),
        # _MAPPED_ is _UNMAPPED_ + 1: all_hold adds 1 for a mapped page
        np.where(used & (1 - anon), _UNMAPPED_, _NOTHING)]).astype(np.int32)


def all_hold(m: "Machine") -> bool:
    """True when every invariant of invariants.INVARIANTS holds, else False.

    A state it cannot read quickly (a memcg index beyond the memcgs,
    stranded charges) is read by invariants.failed_invariants()."""
    try:
        return _all_hold(m)
    except (_CannotTell, ValueError, IndexError):
        try:
            return not inv.failed_invariants(m)
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
    lm, g = mem.lru_memcg, mem.pc_memcg
    if np.count_nonzero(((lm - g) * fact[_ON_LRU]) | (lm * fact[_I7])):
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
    if (np.count_nonzero(r < mapcount + fact[_IN_SC] + (mem.mapping >= fact[_CACHED_FROM]))
            or np.count_nonzero(r < fact[_LIVE]) or np.count_nonzero(r * fact[_FREE])):
        return False
    # I2-I6's sums: each frame adds 1 to some of its memcg's _SPAN sums
    # (the lruvec's memcg is pc->mem_cgroup now)
    key = fact[_COUNTS:] + g * fact[_MEMCG]
    key[-1] += mapcount > 0
    sums = np.bincount(key.ravel(), minlength=n_mg * _SPAN)
    cgroup = sw.cgroup
    recorded = cgroup >= 0
    n_swap = np.bincount(cgroup[recorded], minlength=n_mg)
    if sums.size != n_mg * _SPAN or n_swap.size != n_mg or m.stranded:
        raise _CannotTell
    if not _memcgs_hold(m, sums.tolist(), n_swap.tolist()):
        return False
    # I11's slots, swap_map and swapcache, as their checks test them
    if np.count_nonzero(recorded & ((sw.count == 0) > sw.cache)):
        return False
    sc_pfns = fact[_IN_SC].nonzero()[0].tolist()
    if np.count_nonzero(sw.page >= 0) != len(sc_pfns):
        return False
    slot_of, used = mem.private.slot, fact[_USED]
    for p in sc_pfns:                    # few: a page is there while it is written
        s = slot_of.get(p, -1)
        if (used[p] and recorded[s]) or sw.page[s] != p or not sw.cache[s]:
            return False
    swaps = per_value[sw.nr - 1::-1] if sw.nr else per_value[:0]
    tmpfs = [slot for f in m.file_list.values() for slot in f.swap.values()]
    if tmpfs:
        swaps = swaps + np.bincount(tmpfs, minlength=sw.nr)
    if np.count_nonzero(swaps != sw.count):
        return False
    # rmap: a pte beyond its page's first is looked up in the rmap; the
    # first (task, address) of each page as one number, as _pte_codes()
    mapped = ptes >= 0
    pfns = ptes[mapped]
    tops = tuple((task.tid, task.top) for task in tasks)
    first = (mem.rmap_task.astype(np.int64) << 32) | mem.rmap_addr
    later = (first.take(pfns) != _pte_codes(tops)[mapped]).nonzero()[0]
    if not later.size:
        return True
    tids, addrs = (a[mapped] for a in inv._pte_owners(tops))
    return all(rmap_has(m, int(pfns[k]), int(tids[k]), int(addrs[k])) for k in later.tolist())


@lru_cache(maxsize=64)
def _pte_codes(tops: tuple[tuple[int, int], ...]) -> np.ndarray:
    """invariants._pte_owners() as one number per pte: task id << 32 |
    address (both >= 0: a page's first pte is this one exactly when its
    rmap_task << 32 | rmap_addr is this number; a negative rmap_addr sets
    the high bits and matches none)."""
    tids, addrs = inv._pte_owners(tops)
    out: np.ndarray = (tids.astype(np.int64) << 32) | addrs
    return out


def _memcgs_hold(m: "Machine", sums: list[int], n_swap: list[int]) -> bool:
    """I13, then for each memcg I2, I3, I4, I5, I6's lru_size, I11's css
    references and I12, against its ``sums`` (_SPAN of them for each memcg,
    by memcg index, one after the other) and ``n_swap`` (swap records),
    without stranded charges."""
    st, swap_account = m.stock, m.swap_account
    if st.cached == 0:
        return False
    res = sums[_MEM_::_SPAN]
    memsw = [s + n for s, n in zip(sums[_MEMSW_::_SPAN], n_swap)]
    if st.cached is not None:            # the stock's pre-charges
        res[st.cached] += st.nr_pages
        if swap_account:
            memsw[st.cached] += st.nr_pages
    exp_res, exp_memsw = inv._hierarchical(m, res, memsw)
    for mg in m.memcg_list:
        i = mg.index
        o, swap, row = i * _SPAN, n_swap[i], mg.row
        if (_STATS(row) != (exp_res[i], sums[o + _RSS_], sums[o + _CACHE_], swap,
                            sums[o + _MAPPED_])
                or row[_PGPGIN] - row[_PGPGOUT] != sums[o + _USED_]
                or row[LRU_BASE:_LRU_END] != sums[o + _LRU_:o + _NOTHING]
                or mg.swap_css_refs != swap or row[_LIMIT] > row[_MEMSW_LIMIT]
                or (not mg.is_root and (row[_USAGE] > row[_LIMIT]
                                        or row[_MEMSW_USAGE] > row[_MEMSW_LIMIT]))):
            return False
        if ((row[_MEMSW_USAGE] != exp_memsw[i]) if swap_account
                else (row[_MEMSW_USAGE] or sums[o + _MEMSW_] or swap)):
            return False
    return True


#: the most frames for which all_hold() goes first: beyond about 2,000 the
#: array work outweighs the calls saved, and its int32 table rows take
#: more memory than invariants.py's (measured: 0.5x the time of the
#: checks at 64 frames, 0.9x at 1,024, 1.1x at 4,096, 3x at 65,536)
FAST_MAX_FRAMES = 2048


def check_invariants(m: "Machine") -> None:
    """invariants.check_invariants(), which on a machine of up to
    FAST_MAX_FRAMES frames runs only when all_hold() says something is
    wrong: the same InvariantViolation, in the same words."""
    if m.mem.nr > FAST_MAX_FRAMES or not all_hold(m):
        inv.check_invariants(m)
