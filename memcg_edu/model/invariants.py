"""The accounting invariants of Linux 3.17's memcg, one function each.

Not kernel code: the rules a reader of mm/memcontrol.c can derive from it,
stated and argued in docs/kernel-rules.md ("Invariants"): I1-I8, I11-I13
are checked here (I9 and I10 are preconditions the API itself enforces with
KernelBugError), plus the structural consistency of the simulated mm
(reverse map, mapcounts, swap counts, swap cache, refcounts). They hold
between operations (no reservation in flight, nothing isolated). Charges
that 3.17.0's mem_cgroup_migrate() stranded (``Machine.stranded``) are a
known term: they stay on their memcg's counters and statistics, and root's
statistics lack them.

Each check is a function whose docstring's first line is the invariant in
words; check_invariants() runs them all and raises one InvariantViolation
naming every invariant that failed, in words, with the numbers.
"""
from __future__ import annotations

from functools import lru_cache
from typing import TYPE_CHECKING, Callable, Optional

import numpy as np

from ..errors import InvariantViolation
from .lru import NR_LRU_LISTS, page_lru
from .memcg import COL, LRU_BASE, LRU_NAMES
from .mm import rmap_has
from .pages import (PCG_MEM, PCG_MEMSW, PCG_USED, PG_anon, PG_free, PG_lru,
                    PG_swapcache)
from .tasks import pte_slot

if TYPE_CHECKING:
    from .machine import Machine

__all__ = ["check_invariants", "failed_invariants", "INVARIANTS",
           "invariant_words", "Tally",
           "i8_free_frames_are_clean", "i1_page_cgroup_shape",
           "i13_stock_never_caches_root", "i2_memory_counter",
           "i3_memsw_counter", "i4_statistics", "i5_events",
           "i11_swap_records", "i12_limits", "i6_lru_placement",
           "i7_uncharged_pages_on_root_lru", "rmap_knows_every_pte",
           "mapcount_counts_ptes", "swap_map_counts_users",
           "swap_cache_agrees", "refcount_covers_users"]


class Tally:
    """What the checks count once per call: per-memcg sums over page_cgroup."""

    def __init__(self, m: "Machine") -> None:
        mem, sw = m.mem, m.swap
        self.n_mg = n_mg = len(m.memcg_list)
        self.names = [mg.name for mg in m.memcg_list]
        self.live = (mem.flags & PG_free) == 0
        pcf = mem.pc_flags
        self.used = self.live & ((pcf & PCG_USED) != 0)
        #: pc->flags of a charged page between operations (I1)
        self.full = PCG_USED | PCG_MEM | (PCG_MEMSW if m.swap_account else 0)
        self.anon = (mem.flags & PG_anon) != 0
        memcg_of = mem.pc_memcg.astype(np.int64)

        def count(mask: np.ndarray) -> np.ndarray:
            return np.bincount(memcg_of[mask], minlength=n_mg)

        used, anon = self.used, self.anon
        self.n_used = count(used)
        self.n_mem = count(used & ((pcf & PCG_MEM) != 0))
        self.n_memsw = count(used & ((pcf & PCG_MEMSW) != 0))
        n_rss, n_cache = count(used & anon), count(used & ~anon)
        self.n_mapped = count(used & ~anon & (mem.mapcount > 0))
        self.n_swap = np.bincount(sw.cgroup[sw.cgroup >= 0].astype(np.int64),
                                  minlength=n_mg)
        self.stock = np.zeros(n_mg, np.int64)
        if m.stock.cached is not None:
            self.stock[m.stock.cached] = m.stock.nr_pages
        # stranded by mem_cgroup_migrate: on the old memcg without a page; the
        # pages charged to root in their place brought no statistic to root
        str_rss, str_cache = np.zeros(n_mg, np.int64), np.zeros(n_mg, np.int64)
        for mi, tally in m.stranded.items():
            str_rss[mi], str_cache[mi] = tally["rss"], tally["cache"]
        self.n_str = str_rss + str_cache
        self.want_rss, self.want_cache = n_rss + str_rss, n_cache + str_cache
        self.want_rss[0] -= str_rss.sum()
        self.want_cache[0] -= str_cache.sum()
        self.want_used = self.n_used + self.n_str
        self.want_used[0] -= self.n_str.sum()
        self.on_lru = self.live & ((mem.flags & PG_lru) != 0)
        self.in_sc = self.live & ((mem.flags & PG_swapcache) != 0)
        #: the pfns of the pages on an LRU, and in the swap cache
        self.lru_pfns = self.on_lru.nonzero()[0]
        self.sc_pfns = self.in_sc.nonzero()[0]


def i8_free_frames_are_clean(m: "Machine", t: Tally) -> Optional[str]:
    """I8: a free frame has no charge, no reference, no mapping and is on no LRU; a used frame has a reference."""
    mem, pcf = m.mem, m.mem.pc_flags
    free = ~t.live
    bad = (free & (((pcf & PCG_USED) != 0) | (mem.refcount != 0)
                   | (mem.mapcount != 0) | ((mem.flags & PG_lru) != 0))).nonzero()[0]
    if bad.size:
        p = int(bad[0])
        return (f"free page {p} has pc flags {int(pcf[p])}, refcount "
                f"{int(mem.refcount[p])}, mapcount {int(mem.mapcount[p])}")
    bad = (t.live & (mem.refcount <= 0)).nonzero()[0]
    if bad.size:
        return (f"page {int(bad[0])} is allocated but has refcount "
                f"{int(mem.refcount[bad[0]])}")
    return None


def i1_page_cgroup_shape(m: "Machine", t: Tally) -> Optional[str]:
    """I1: a charged page's pc->flags are PCG_USED|PCG_MEM (|PCG_MEMSW with swap accounting); an uncharged page's are 0."""
    pcf = m.mem.pc_flags
    bad = (t.used & (pcf != t.full)).nonzero()[0]
    if bad.size:
        return (f"charged page {int(bad[0])} has pc->flags {int(pcf[bad[0]])}, "
                f"expected {t.full} between operations")
    bad = (t.live & ~t.used & (pcf != 0)).nonzero()[0]
    if bad.size:
        return f"uncharged page {int(bad[0])} has pc->flags {int(pcf[bad[0]])}"
    return None


def i13_stock_never_caches_root(m: "Machine", t: Tally) -> Optional[str]:
    """I13: the per-CPU charge stock never caches the root memcg."""
    return "the charge stock caches the root memcg" if m.stock.cached == 0 else None


def _expected_counters(m: "Machine", t: Tally) -> tuple[np.ndarray, np.ndarray]:
    """Local charges of each memcg plus those of its hierarchical children."""
    local_res = t.n_mem + t.stock + t.n_str
    local_memsw = t.n_memsw + t.n_swap + ((t.stock + t.n_str) if m.swap_account else 0)
    local_res[0] = local_memsw[0] = 0            # root's own pages are not charged
    exp_res, exp_memsw = local_res.copy(), local_memsw.copy()
    for mg in reversed(m.memcg_list):            # children come after parents
        up = mg.res.parent                       # memsw links to the same parent
        if up is not None:
            exp_res[up.owner.index] += exp_res[mg.index]
            exp_memsw[up.owner.index] += exp_memsw[mg.index]
    return exp_res, exp_memsw


def i2_memory_counter(m: "Machine", t: Tally) -> Optional[str]:
    """I2: a memcg's memory usage is its charged pages, its stock and its stranded charges, plus its hierarchical children's usage."""
    exp_res, _ = _expected_counters(m, t)
    for mg in m.memcg_list:
        i, usage = mg.index, mg.row[COL["usage"]]
        if usage != exp_res[i]:
            return (f"res usage of {mg.name} is {usage} but {int(t.n_mem[i])} "
                    f"charged page(s), {int(t.stock[i])} in stock, "
                    f"{int(t.n_str[i])} stranded and its hierarchical children "
                    f"add up to {int(exp_res[i])}")
    return None


def i3_memsw_counter(m: "Machine", t: Tally) -> Optional[str]:
    """I3: a memcg's memory+swap usage is I2's sum plus the swap slots recorded for it (and is 0 without swap accounting)."""
    _, exp_memsw = _expected_counters(m, t)
    for mg in m.memcg_list:
        i, memsw = mg.index, mg.row[COL["memsw_usage"]]
        if m.swap_account and memsw != exp_memsw[i]:
            return (f"memsw usage of {mg.name} is {memsw} but "
                    f"{int(t.n_memsw[i])} page(s) with PCG_MEMSW, "
                    f"{int(t.n_swap[i])} swap record(s), {int(t.stock[i])} in "
                    f"stock, {int(t.n_str[i])} stranded and children add up to "
                    f"{int(exp_memsw[i])}")
        if not m.swap_account and (memsw or t.n_memsw[i] or t.n_swap[i]):
            return f"{mg.name} has memsw charges although swap accounting is off"
    return None


def i4_statistics(m: "Machine", t: Tally) -> Optional[str]:
    """I4: rss counts the charged anonymous pages, cache the other charged pages, swap the recorded slots, mapped_file the mapped cache pages."""
    for mg in m.memcg_list:
        i, row = mg.index, mg.row
        for stat, want in (("rss", t.want_rss[i]), ("cache", t.want_cache[i]),
                           ("swap", t.n_swap[i]), ("mapped_file", t.n_mapped[i])):
            if row[COL[stat]] != want:
                return (f"{stat} of {mg.name} is {row[COL[stat]]} but "
                        f"{int(want)} page(s)/slot(s) qualify")
    return None


def i5_events(m: "Machine", t: Tally) -> Optional[str]:
    """I5: pgpgin - pgpgout of a memcg is the number of pages charged to it."""
    for mg in m.memcg_list:
        i, row = mg.index, mg.row
        if row[COL["pgpgin"]] - row[COL["pgpgout"]] != t.want_used[i]:
            return (f"pgpgin - pgpgout of {mg.name} is "
                    f"{row[COL['pgpgin']] - row[COL['pgpgout']]} but "
                    f"{int(t.n_used[i])} page(s) are charged to it and "
                    f"{int(t.want_used[i] - t.n_used[i])} stranded")
    return None


def i11_swap_records(m: "Machine", t: Tally) -> Optional[str]:
    """I11: each swap_cgroup record holds one css reference; a charged swap-cache page and a free slot have no record."""
    for mg in m.memcg_list:
        if mg.swap_css_refs != t.n_swap[mg.index]:
            return (f"{mg.name} holds {mg.swap_css_refs} swap css "
                    f"reference(s) for {int(t.n_swap[mg.index])} swap record(s)")
    sw = m.swap
    sc_pfns = t.sc_pfns
    slots = m.mem.private[sc_pfns]
    bad = sc_pfns[t.used[sc_pfns] & (sw.cgroup[slots] >= 0)]
    if bad.size:
        return (f"charged swap-cache page {int(bad[0])} still has a "
                f"swap_cgroup record for its slot")
    free_slots = (sw.count == 0) & ~sw.cache
    if (free_slots & (sw.cgroup >= 0)).any():
        return "a free swap slot still has a swap_cgroup record"
    return None


def i12_limits(m: "Machine", t: Tally) -> Optional[str]:
    """I12: usage stays at or under the limit and memsw usage under the memsw limit; limit <= memsw limit."""
    for mg in m.memcg_list:
        row = mg.row
        if not mg.is_root:
            for c, lim in (("usage", "limit"), ("memsw_usage", "memsw_limit")):
                if row[COL[c]] > row[COL[lim]]:
                    return (f"{c} of {mg.name} ({row[COL[c]]}) is over its "
                            f"{lim} ({row[COL[lim]]})")
        if row[COL["limit"]] > row[COL["memsw_limit"]]:
            return f"limit of {mg.name} is above its memsw_limit"
    return None


def i6_lru_placement(m: "Machine", t: Tally) -> Optional[str]:
    """I6: a page with PageLRU sits on the list its flags name, in the lruvec of pc->mem_cgroup, and lru_size counts it."""
    mem, names = m.mem, t.names
    lru_pfns = t.lru_pfns
    if (mem.lru[~t.on_lru] != -1).any():
        p = int((~t.on_lru & (mem.lru != -1)).nonzero()[0][0])
        return f"page {p} is linked on a list without PageLRU"
    for p in lru_pfns[mem.lru_memcg[lru_pfns] != mem.pc_memcg[lru_pfns]].tolist():
        return (f"page {p} sits on the lruvec of {names[mem.lru_memcg[p]]} "
                f"but pc->mem_cgroup is {names[mem.pc_memcg[p]]}")
    wrong = lru_pfns[mem.lru[lru_pfns] != _page_lru_table()[mem.flags[lru_pfns]]]
    for p in wrong[:1].tolist():
        return (f"page {p} is on list {LRU_NAMES[mem.lru[p]]} but its "
                f"flags say {LRU_NAMES[page_lru(int(mem.flags[p]))]}")
    key = mem.lru_memcg[lru_pfns].astype(np.int64) * NR_LRU_LISTS + mem.lru[lru_pfns]
    linked = np.bincount(key, minlength=NR_LRU_LISTS * t.n_mg).reshape(t.n_mg, NR_LRU_LISTS)
    have = np.array([mg.row[LRU_BASE:LRU_BASE + NR_LRU_LISTS] for mg in m.memcg_list])
    for i, lru in zip(*(have != linked).nonzero()):     # the first in (memcg, list) order
        return (f"lru_size[{LRU_NAMES[lru]}] of {m.memcg_list[i].name} is "
                f"{int(have[i, lru])} but {int(linked[i, lru])} page(s) are linked there")
    return None


@lru_cache(maxsize=1)
def _page_lru_table() -> np.ndarray:
    """page_lru() of every 16-bit page flags value (made once, read by I6)."""
    return np.array([page_lru(f) for f in range(1 << 16)], np.int8)


def i7_uncharged_pages_on_root_lru(m: "Machine", t: Tally) -> Optional[str]:
    """I7: an uncharged page on an LRU is on root's lruvec (3.16 breaks this by design)."""
    if "I7" in m.ops.design_differences:
        return None
    mem = m.mem
    lru_pfns = t.lru_pfns
    bad = lru_pfns[~t.used[lru_pfns] & (mem.lru_memcg[lru_pfns] != 0)]
    if bad.size:
        p = int(bad[0])
        return (f"uncharged page {p} is on the lruvec of "
                f"{t.names[mem.lru_memcg[p]]}, not root's")
    return None


def rmap_knows_every_pte(m: "Machine", t: Tally) -> Optional[str]:
    """rmap: every pte that maps a page is in that page's reverse map."""
    for task in m.task_list.values():
        ptes = task.pte[:task.top]
        for v in (ptes >= 0).nonzero()[0].tolist():
            p = int(ptes[v])
            if not rmap_has(m, p, task.tid, v):
                return (f"pte {v} of task {task.name} maps page {p} but the "
                        f"page's rmap does not know it")
    return None


def _ptes(m: "Machine") -> np.ndarray:
    """Every pte of every task, in one array."""
    tables = [task.pte[:task.top] for task in m.task_list.values()]
    return np.concatenate(tables) if tables else np.zeros(0, np.int32)


def mapcount_counts_ptes(m: "Machine", t: Tally) -> Optional[str]:
    """mapcount: a page's mapcount is the number of ptes that map it."""
    ptes = _ptes(m)
    maps = np.bincount(ptes[ptes >= 0], minlength=m.mem.nr)
    bad = (maps != m.mem.mapcount).nonzero()[0]
    if bad.size:
        p = int(bad[0])
        return (f"page {p} has mapcount {int(m.mem.mapcount[p])} but "
                f"{int(maps[p])} pte(s) map it")
    return None


def swap_map_counts_users(m: "Machine", t: Tally) -> Optional[str]:
    """swap_map: a swap slot's count is the number of swap ptes and tmpfs entries that use it."""
    sw = m.swap
    ptes = _ptes(m)
    swaps = np.bincount(pte_slot(ptes[ptes <= -2]), minlength=sw.nr)
    for f in m.file_list.values():
        for slot in f.swap.values():
            swaps[slot] += 1
    bad = (swaps != sw.count).nonzero()[0]
    if bad.size:
        s = int(bad[0])
        return (f"swap slot {s} has count {int(sw.count[s])} but "
                f"{int(swaps[s])} swap pte(s)/tmpfs entries use it")
    return None


def swap_cache_agrees(m: "Machine", t: Tally) -> Optional[str]:
    """swapcache: a page in the swap cache and its slot name each other, and the slot has SWAP_HAS_CACHE."""
    sw = m.swap
    sc_pfns = t.sc_pfns
    slots = m.mem.private[sc_pfns]
    if (sw.page[slots] != sc_pfns).any() or not sw.cache[slots].all():
        return "a page in the swap cache and its slot disagree"
    if np.count_nonzero(sw.page >= 0) != sc_pfns.size:
        return "a slot names a swap-cache page that is not there"
    return None


def refcount_covers_users(m: "Machine", t: Tally) -> Optional[str]:
    """refcount: a page's refcount is at least its mappings plus its page-cache and swap-cache references."""
    mem = m.mem
    refs_min = mem.mapcount.astype(np.int64) + t.in_sc + \
        (t.live & ~t.anon & (mem.mapping >= 0))
    bad = (t.live & (mem.refcount < refs_min)).nonzero()[0]
    if bad.size:
        p = int(bad[0])
        return (f"page {p} has refcount {int(mem.refcount[p])} but its "
                f"mappings and caches hold {int(refs_min[p])}")
    return None


Check = Callable[["Machine", Tally], Optional[str]]

#: (id, check) in the order they are reported
INVARIANTS: tuple[tuple[str, Check], ...] = (
    ("I8", i8_free_frames_are_clean), ("I1", i1_page_cgroup_shape),
    ("I13", i13_stock_never_caches_root), ("I2", i2_memory_counter),
    ("I3", i3_memsw_counter), ("I4", i4_statistics), ("I5", i5_events),
    ("I11", i11_swap_records), ("I12", i12_limits), ("I6", i6_lru_placement),
    ("I7", i7_uncharged_pages_on_root_lru), ("rmap", rmap_knows_every_pte),
    ("mapcount", mapcount_counts_ptes), ("swap_map", swap_map_counts_users),
    ("swapcache", swap_cache_agrees), ("refcount", refcount_covers_users),
)


def invariant_words(name: str) -> str:
    """The statement of invariant ``name`` ("I2", "mapcount", ...) in words."""
    for inv, check in INVARIANTS:
        if inv == name:
            doc = (check.__doc__ or "").strip().splitlines()[0]
            return doc.split(": ", 1)[1].rstrip(".")
    raise KeyError(f"no invariant {name!r}; there are "
                   f"{', '.join(inv for inv, _ in INVARIANTS)}")


def failed_invariants(m: "Machine") -> list[tuple[str, str]]:
    """[(id, what is wrong)] for every invariant that does not hold now."""
    t = Tally(m)
    out = []
    for inv, check in INVARIANTS:
        problem = check(m, t)
        if problem is not None:
            out.append((inv, problem))
    return out


def check_invariants(m: "Machine") -> None:
    """Check every invariant; raise InvariantViolation naming each that fails.

    The exception's ``invariant`` is the first that failed; its message
    says, for each, the rule in words and what broke it.
    """
    failed = failed_invariants(m)
    if failed:
        parts = [f"{msg} (the rule: {invariant_words(inv)})" for inv, msg in failed]
        more = "".join(f"; invariant {inv} broken too: {part}"
                       for (inv, _), part in zip(failed[1:], parts[1:]))
        raise InvariantViolation(failed[0][0], parts[0] + more)
