"""The accounting invariants of kernel-semantics.md section 6, for Linux 3.17.

Not kernel code: the checks a reader of mm/memcontrol.c can derive from it
(I1-I8, I11-I13; I9 and I10 are preconditions the API itself enforces), plus
the structural consistency of the simulated mm (mapcounts, swap counts,
swap cache). Meant to hold between operations (no reservation in flight,
nothing isolated). Charges that 3.17.0's mem_cgroup_migrate() stranded
(``Machine.stranded``) are a known term: they stay on their memcg's
counters and statistics, and root's statistics lack them. Each failure
raises InvariantViolation with the numbers.
"""
from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np

from ..errors import InvariantViolation
from .lru import page_lru
from .memcg import COL, LRU_BASE, LRU_NAMES
from .pages import (PCG_MEM, PCG_MEMSW, PCG_USED, PG_anon, PG_free, PG_lru,
                    PG_swapcache)
from .mm import rmap_has
from .tasks import pte_slot

if TYPE_CHECKING:
    from .machine import Machine

__all__ = ["check_invariants"]


def _fail(inv: str, msg: str) -> None:
    raise InvariantViolation(inv, msg)


def check_invariants(m: "Machine") -> None:
    """Check every invariant; raise InvariantViolation naming the first that fails."""
    mem, sw = m.mem, m.swap
    n_mg = len(m.memcg_list)
    names = [mg.name for mg in m.memcg_list]
    live = (mem.flags & PG_free) == 0
    pcf = mem.pc_flags
    used = live & ((pcf & PCG_USED) != 0)
    full = PCG_USED | PCG_MEM | (PCG_MEMSW if m.swap_account else 0)

    # I8: free frames are clean
    free = ~live
    bad = np.flatnonzero(free & (((pcf & PCG_USED) != 0) | (mem.refcount != 0)
                                 | (mem.mapcount != 0) | ((mem.flags & PG_lru) != 0)))
    if bad.size:
        p = int(bad[0])
        _fail("I8", f"free page {p} has pc flags {int(pcf[p])}, refcount "
              f"{int(mem.refcount[p])}, mapcount {int(mem.mapcount[p])}")
    bad = np.flatnonzero(live & (mem.refcount <= 0))
    if bad.size:
        _fail("I8", f"page {int(bad[0])} is allocated but has refcount "
              f"{int(mem.refcount[bad[0]])}")

    # I1: page_cgroup shape
    bad = np.flatnonzero(used & (pcf != full))
    if bad.size:
        _fail("I1", f"charged page {int(bad[0])} has pc->flags {int(pcf[bad[0]])}, "
              f"expected {full} between operations")
    bad = np.flatnonzero(live & ~used & (pcf != 0))
    if bad.size:
        _fail("I1", f"uncharged page {int(bad[0])} has pc->flags {int(pcf[bad[0]])}")

    memcg_of = mem.pc_memcg.astype(np.int64)
    anon = (mem.flags & PG_anon) != 0

    def count(mask: np.ndarray) -> np.ndarray:
        return np.bincount(memcg_of[mask], minlength=n_mg)

    n_used = count(used)
    n_mem = count(used & ((pcf & PCG_MEM) != 0))
    n_memsw = count(used & ((pcf & PCG_MEMSW) != 0))
    n_rss = count(used & anon)
    n_cache = count(used & ~anon)
    n_mapped = count(used & ~anon & (mem.mapcount > 0))
    rec = sw.cgroup[sw.cgroup >= 0].astype(np.int64)
    n_swap = np.bincount(rec, minlength=n_mg)
    stock = np.zeros(n_mg, np.int64)
    if m.stock.cached is not None:
        stock[m.stock.cached] = m.stock.nr_pages
    # stranded by mem_cgroup_migrate: on the old memcg without a page; the
    # pages charged to root in their place brought no statistic to root
    str_rss, str_cache = np.zeros(n_mg, np.int64), np.zeros(n_mg, np.int64)
    for mi, tally in m.stranded.items():
        str_rss[mi], str_cache[mi] = tally["rss"], tally["cache"]
    n_str = str_rss + str_cache
    want_rss, want_cache = n_rss + str_rss, n_cache + str_cache
    want_rss[0] -= str_rss.sum()
    want_cache[0] -= str_cache.sum()
    want_used = n_used + n_str
    want_used[0] -= n_str.sum()

    # I13: the stock never caches root
    if m.stock.cached == 0:
        _fail("I13", "the charge stock caches the root memcg")

    # I2 / I3: counters = local charges + hierarchical children
    local_res = n_mem + stock + n_str
    local_memsw = n_memsw + n_swap + ((stock + n_str) if m.swap_account else 0)
    local_res[0] = local_memsw[0] = 0            # root's own pages are not charged
    exp_res, exp_memsw = local_res.copy(), local_memsw.copy()
    for mg in reversed(m.memcg_list):            # children come after parents
        if mg.res.parent is not None:
            exp_res[mg.res.parent.owner.index] += exp_res[mg.index]
            exp_memsw[mg.memsw.parent.owner.index] += exp_memsw[mg.index]
    for mg in m.memcg_list:
        i, row = mg.index, mg.row
        if row[COL["usage"]] != exp_res[i]:
            _fail("I2", f"res usage of {mg.name} is {row[COL['usage']]} but "
                  f"{int(n_mem[i])} charged page(s), {int(stock[i])} in stock, "
                  f"{int(n_str[i])} stranded and its hierarchical children "
                  f"add up to {int(exp_res[i])}")
        if m.swap_account and row[COL["memsw_usage"]] != exp_memsw[i]:
            _fail("I3", f"memsw usage of {mg.name} is {row[COL['memsw_usage']]} "
                  f"but {int(n_memsw[i])} page(s) with PCG_MEMSW, "
                  f"{int(n_swap[i])} swap record(s), {int(stock[i])} in stock, "
                  f"{int(n_str[i])} stranded and children add up to "
                  f"{int(exp_memsw[i])}")
        if not m.swap_account and (row[COL["memsw_usage"]] or n_memsw[i] or n_swap[i]):
            _fail("I3", f"{mg.name} has memsw charges although swap accounting is off")
        # I4: statistics
        for stat, want in (("rss", want_rss[i]), ("cache", want_cache[i]),
                           ("swap", n_swap[i]), ("mapped_file", n_mapped[i])):
            if row[COL[stat]] != want:
                _fail("I4", f"{stat} of {mg.name} is {row[COL[stat]]} but "
                      f"{int(want)} page(s)/slot(s) qualify")
        # I5: events
        if row[COL["pgpgin"]] - row[COL["pgpgout"]] != want_used[i]:
            _fail("I5", f"pgpgin - pgpgout of {mg.name} is "
                  f"{row[COL['pgpgin']] - row[COL['pgpgout']]} but "
                  f"{int(n_used[i])} page(s) are charged to it and "
                  f"{int(want_used[i] - n_used[i])} stranded")
        # I11: each record holds one css reference
        if mg.swap_css_refs != n_swap[i]:
            _fail("I11", f"{mg.name} holds {mg.swap_css_refs} swap css "
                  f"reference(s) for {int(n_swap[i])} swap record(s)")
        # I12: limits
        if not mg.is_root:
            for c, lim in (("usage", "limit"), ("memsw_usage", "memsw_limit")):
                if row[COL[c]] > row[COL[lim]]:
                    _fail("I12", f"{c} of {mg.name} ({row[COL[c]]}) is over "
                          f"its {lim} ({row[COL[lim]]})")
        if row[COL["limit"]] > row[COL["memsw_limit"]]:
            _fail("I12", f"limit of {mg.name} is above its memsw_limit")

    # I6 / I7: LRU placement and sizes
    on_lru = live & ((mem.flags & PG_lru) != 0)
    lru_pfns = np.flatnonzero(on_lru)
    if np.any(mem.lru[~on_lru] != -1):
        p = int(np.flatnonzero(~on_lru & (mem.lru != -1))[0])
        _fail("I6", f"page {p} is linked on a list without PageLRU")
    for p in lru_pfns[mem.lru_memcg[lru_pfns] != mem.pc_memcg[lru_pfns]].tolist():
        _fail("I6", f"page {p} sits on the lruvec of {names[mem.lru_memcg[p]]} "
              f"but pc->mem_cgroup is {names[mem.pc_memcg[p]]}")
    for p in lru_pfns.tolist():
        if mem.lru[p] != page_lru(int(mem.flags[p])):
            _fail("I6", f"page {p} is on list {LRU_NAMES[mem.lru[p]]} but its "
                  f"flags say {LRU_NAMES[page_lru(int(mem.flags[p]))]}")
    bad = lru_pfns[~used[lru_pfns] & (mem.lru_memcg[lru_pfns] != 0)]
    if bad.size and "I7" not in m.ops.design_differences:   # 3.16 breaks I7 by design
        p = int(bad[0])
        _fail("I7", f"uncharged page {p} is on the lruvec of {names[mem.lru_memcg[p]]}, not root's")
    key = mem.lru_memcg[lru_pfns].astype(np.int64) * 5 + mem.lru[lru_pfns]
    sizes = np.bincount(key, minlength=5 * n_mg)
    for mg in m.memcg_list:
        for lru in range(5):
            if mg.row[LRU_BASE + lru] != sizes[mg.index * 5 + lru]:
                _fail("I6", f"lru_size[{LRU_NAMES[lru]}] of {mg.name} is "
                      f"{mg.row[LRU_BASE + lru]} but "
                      f"{int(sizes[mg.index * 5 + lru])} page(s) are linked there")

    # structure: ptes, mapcounts, swap counts, swap cache
    maps = np.zeros(mem.nr, np.int64)
    swaps = np.zeros(sw.nr, np.int64)
    for task in m.task_list.values():
        ptes = task.pte[:task.top]
        pages = ptes[ptes >= 0]
        np.add.at(maps, pages, 1)
        np.add.at(swaps, pte_slot(ptes[ptes <= -2]), 1)
        for v in np.flatnonzero(ptes >= 0).tolist():
            p = int(ptes[v])
            if not rmap_has(m, p, task.tid, v):
                _fail("rmap", f"pte {v} of task {task.name} maps page {p} "
                      f"but the page's rmap does not know it")
    for f in m.file_list.values():
        for slot in f.swap.values():
            swaps[slot] += 1
    bad = np.flatnonzero(maps != mem.mapcount)
    if bad.size:
        p = int(bad[0])
        _fail("mapcount", f"page {p} has mapcount {int(mem.mapcount[p])} "
              f"but {int(maps[p])} pte(s) map it")
    bad = np.flatnonzero(swaps != sw.count)
    if bad.size:
        s = int(bad[0])
        _fail("swap_map", f"swap slot {s} has count {int(sw.count[s])} but "
              f"{int(swaps[s])} swap pte(s)/tmpfs entries use it")
    in_sc = live & ((mem.flags & PG_swapcache) != 0)
    sc_pfns = np.flatnonzero(in_sc)
    slots = mem.private[sc_pfns]
    if np.any(sw.page[slots] != sc_pfns) or not np.all(sw.cache[slots]):
        _fail("swapcache", "a page in the swap cache and its slot disagree")
    if np.count_nonzero(sw.page >= 0) != sc_pfns.size:
        _fail("swapcache", "a slot names a swap-cache page that is not there")
    # I11: a charged page in the swap cache has no record for its slot
    bad = sc_pfns[used[sc_pfns] & (sw.cgroup[slots] >= 0)]
    if bad.size:
        _fail("I11", f"charged swap-cache page {int(bad[0])} still has a "
              f"swap_cgroup record for its slot")
    free_slots = (sw.count == 0) & ~sw.cache
    if np.any(free_slots & (sw.cgroup >= 0)):
        _fail("I11", "a free swap slot still has a swap_cgroup record")
    refs_min = mem.mapcount.astype(np.int64) + in_sc + \
        (live & ~anon & (mem.mapping >= 0))
    bad = np.flatnonzero(live & (mem.refcount < refs_min))
    if bad.size:
        p = int(bad[0])
        _fail("refcount", f"page {p} has refcount {int(mem.refcount[p])} but "
              f"its mappings and caches hold {int(refs_min[p])}")
