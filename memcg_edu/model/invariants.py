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
    """What the checks count once per call: per-memcg sums over page_cgroup,
    the facts of each frame's flags, the ptes of every task.

    Made of few array operations whatever the machine's size: on a small
    machine each numpy call costs more than the arithmetic it does, and the
    checks run after every operation when ``Machine.checking`` is on.
    """

    def __init__(self, m: "Machine") -> None:
        mem, sw = m.mem, m.swap
        self.n_mg = n_mg = len(m.memcg_list)
        self.names = [mg.name for mg in m.memcg_list]
        # each frame's row of _flag_facts(), one view per fact
        (self.free, self.live, self.lru_flag, self.on_lru, self.in_sc,
         self.anon, self.live_file) = _flag_facts().take(mem.flags, axis=1)
        pcf = mem.pc_flags
        #: PCG_USED set, on any frame (I8 finds it on a free one)
        self.pc_used = _PC_USED.take(pcf)
        self.used = self.live & self.pc_used
        #: pc->flags of a charged page between operations (I1)
        self.full = PCG_USED | PCG_MEM | (PCG_MEMSW if m.swap_account else 0)
        # one count per (memcg, kind of charged page), the kind made of
        # pc->flags' PCG_MEM and PCG_MEMSW bits, PageAnon and "mapped"
        kind = _PC_KIND.take(pcf) + _flag_kind().take(mem.flags) + (mem.mapcount > 0)
        key = mem.pc_memcg.astype(np.int64) * _NR_KINDS + kind
        by_kind = np.bincount(key[self.used], minlength=n_mg * _NR_KINDS)
        (self.n_used, self.n_mem, self.n_memsw, n_rss, n_cache,
         self.n_mapped) = (by_kind.reshape(n_mg, _NR_KINDS) @ _KIND_COUNTS).T
        cgroup = sw.cgroup
        self.n_swap = np.bincount(cgroup[cgroup >= 0], minlength=n_mg)
        self.stock = np.zeros(n_mg, np.int64)
        if m.stock.cached is not None:
            self.stock[m.stock.cached] = m.stock.nr_pages
        self.n_str = np.zeros(n_mg, np.int64)
        self.want_rss, self.want_cache, self.want_used = n_rss, n_cache, self.n_used
        if m.stranded:
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
        #: the pfns of the pages on an LRU, and in the swap cache, and the
        #: slot each of the latter names (page_private)
        self.lru_pfns = self.on_lru.nonzero()[0]
        self.sc_pfns = self.in_sc.nonzero()[0]
        self.sc_slots = mem.private[self.sc_pfns]
        #: every pte of every task in one array, in task then address order,
        #: and the task id and address of each
        tasks = m.task_list.values()
        self.ptes = (np.concatenate([task.pte[:task.top] for task in tasks])
                     if tasks else np.zeros(0, np.int32))
        self.pte_tids, self.pte_addrs = _pte_owners(
            tuple((task.tid, task.top) for task in tasks))
        per_value = _ptes_per_value(self.ptes, sw.nr, mem.nr)
        #: how many ptes map each pfn, and hold each swap slot
        self.pfn_ptes = per_value[sw.nr + 1:]
        self.slot_ptes = per_value[sw.nr - 1::-1] if sw.nr else per_value[:0]
        self._counters: Optional[tuple[list[int], list[int]]] = None

    def counters(self, m: "Machine") -> tuple[list[int], list[int]]:
        """_expected_counters(), worked out once for I2 and I3."""
        if self._counters is None:
            self._counters = _expected_counters(m, self)
        return self._counters


#: the kinds of charged page Tally counts: pc->flags & (PCG_MEM|PCG_MEMSW),
#: plus _KIND_ANON for an anonymous page, plus 1 for a mapped one
_KIND_ANON, _NR_KINDS = 8, 16
# the kind's bits must not overlap: PCG_MEM and PCG_MEMSW are 0x02 and 0x04
assert not (PCG_MEM | PCG_MEMSW) & (1 | _KIND_ANON) and (PCG_MEM | PCG_MEMSW | 1 | _KIND_ANON) < _NR_KINDS
_KINDS = np.arange(_NR_KINDS)
#: which kinds each of Tally's sums counts: every charged page, PCG_MEM,
#: PCG_MEMSW, rss (anonymous), cache (not), mapped_file (mapped cache)
_KIND_COUNTS = np.stack([
    np.ones(_NR_KINDS, np.int64), (_KINDS & PCG_MEM) != 0, (_KINDS & PCG_MEMSW) != 0,
    (_KINDS & _KIND_ANON) != 0, (_KINDS & _KIND_ANON) == 0,
    ((_KINDS & _KIND_ANON) == 0) & ((_KINDS & 1) != 0)], axis=1).astype(np.int64)
#: PCG_USED of every 8-bit pc->flags value, and its kind bits
_PC_USED = (np.arange(256) & PCG_USED) != 0
_PC_KIND = np.arange(256) & (PCG_MEM | PCG_MEMSW)


@lru_cache(maxsize=1)
def _flag_kind() -> np.ndarray:
    """The kind bit of every 16-bit page flags value (_KIND_ANON or 0)."""
    return np.where((np.arange(1 << 16) & PG_anon) != 0, _KIND_ANON, 0).astype(np.int8)


@lru_cache(maxsize=1)
def _flag_facts() -> np.ndarray:
    """The facts Tally reads off every 16-bit page flags value, one row
    each: free (PageBuddy), live, PageLRU, on an LRU (live with PageLRU),
    in the swap cache (live with PageSwapCache), PageAnon, live and not
    anonymous (made once: a column is read per frame in one look-up)."""
    f = np.arange(1 << 16)
    free = (f & PG_free) != 0
    live, lru, anon = ~free, (f & PG_lru) != 0, (f & PG_anon) != 0
    return np.stack([free, live, lru, live & lru, live & ((f & PG_swapcache) != 0),
                     anon, live & ~anon])


def _ptes_per_value(ptes: np.ndarray, nr_slots: int, nr_frames: int) -> np.ndarray:
    """How many of ``ptes`` hold each value, in one count: swap ptes
    (-2 - slot) of slot nr_slots-1 down to 0, then no pte (-1), then pfns
    from 0 up (a swap pte beyond the device has no slot to count it on)."""
    values = ptes + (nr_slots + 1)
    try:
        return np.bincount(values, minlength=nr_slots + 1 + nr_frames)
    except ValueError:
        return np.bincount(values[values >= 0], minlength=nr_slots + 1 + nr_frames)


@lru_cache(maxsize=64)
def _pte_owners(tops: tuple[tuple[int, int], ...]) -> tuple[np.ndarray, np.ndarray]:
    """For page tables of these (task id, size), in order: the task id and
    the address of each pte of Tally.ptes (page tables rarely grow, so the
    same few are asked for again and again)."""
    if not tops:
        return np.zeros(0, np.int64), np.zeros(0, np.int64)
    tids = np.repeat([tid for tid, _ in tops], [top for _, top in tops])
    addrs = np.concatenate([np.arange(top) for _, top in tops])
    return tids, addrs


def i8_free_frames_are_clean(m: "Machine", t: Tally) -> Optional[str]:
    """I8: a free frame has no charge, no reference, no mapping and is on no LRU; a used frame has a reference."""
    mem, pcf, free = m.mem, m.mem.pc_flags, t.free
    if (np.count_nonzero(t.pc_used[free]) or np.count_nonzero(mem.refcount[free])
            or np.count_nonzero(mem.mapcount[free]) or np.count_nonzero(t.lru_flag[free])):
        p = int((free & (t.pc_used | (mem.refcount != 0) | (mem.mapcount != 0)
                         | t.lru_flag)).nonzero()[0][0])
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
    uncharged = t.live ^ t.used                            # used implies live
    if np.count_nonzero(pcf[uncharged]):
        bad = (uncharged & (pcf != 0)).nonzero()[0]
        return f"uncharged page {int(bad[0])} has pc->flags {int(pcf[bad[0]])}"
    return None


def i13_stock_never_caches_root(m: "Machine", t: Tally) -> Optional[str]:
    """I13: the per-CPU charge stock never caches the root memcg."""
    return "the charge stock caches the root memcg" if m.stock.cached == 0 else None


def _expected_counters(m: "Machine", t: Tally) -> tuple[list[int], list[int]]:
    """Local charges of each memcg plus those of its hierarchical children."""
    local_res = t.n_mem + t.stock + t.n_str
    local_memsw = t.n_memsw + t.n_swap + ((t.stock + t.n_str) if m.swap_account else 0)
    return _hierarchical(m, local_res.tolist(), local_memsw.tolist())


def _hierarchical(m: "Machine", exp_res: list[int], exp_memsw: list[int]
                 ) -> tuple[list[int], list[int]]:
    """Each memcg's local res and memsw charges (lists by memcg index,
    changed in place) plus those of its hierarchical children; root's own
    pages are not charged."""
    exp_res[0] = exp_memsw[0] = 0
    for mg in reversed(m.memcg_list):            # children come after parents
        up = mg.res.parent                       # memsw links to the same parent
        if up is not None:
            exp_res[up.owner.index] += exp_res[mg.index]
            exp_memsw[up.owner.index] += exp_memsw[mg.index]
    return exp_res, exp_memsw


def i2_memory_counter(m: "Machine", t: Tally) -> Optional[str]:
    """I2: a memcg's memory usage is its charged pages, its stock and its stranded charges, plus its hierarchical children's usage."""
    exp_res, _ = t.counters(m)
    for mg in m.memcg_list:
        i, usage = mg.index, mg.row[COL["usage"]]
        if usage != exp_res[i]:
            return (f"res usage of {mg.name} is {usage} but {int(t.n_mem[i])} "
                    f"charged page(s), {int(t.stock[i])} in stock, "
                    f"{int(t.n_str[i])} stranded and its hierarchical children "
                    f"add up to {exp_res[i]}")
    return None


def i3_memsw_counter(m: "Machine", t: Tally) -> Optional[str]:
    """I3: a memcg's memory+swap usage is I2's sum plus the swap slots recorded for it (and is 0 without swap accounting)."""
    _, exp_memsw = t.counters(m)
    n_memsw, n_swap = t.n_memsw.tolist(), t.n_swap.tolist()
    for mg in m.memcg_list:
        i, memsw = mg.index, mg.row[COL["memsw_usage"]]
        if m.swap_account and memsw != exp_memsw[i]:
            return (f"memsw usage of {mg.name} is {memsw} but "
                    f"{int(t.n_memsw[i])} page(s) with PCG_MEMSW, "
                    f"{int(t.n_swap[i])} swap record(s), {int(t.stock[i])} in "
                    f"stock, {int(t.n_str[i])} stranded and children add up to "
                    f"{exp_memsw[i]}")
        if not m.swap_account and (memsw or n_memsw[i] or n_swap[i]):
            return f"{mg.name} has memsw charges although swap accounting is off"
    return None


def i4_statistics(m: "Machine", t: Tally) -> Optional[str]:
    """I4: rss counts the charged anonymous pages, cache the other charged pages, swap the recorded slots, mapped_file the mapped cache pages."""
    wants = [(stat, want.tolist()) for stat, want in (
        ("rss", t.want_rss), ("cache", t.want_cache), ("swap", t.n_swap),
        ("mapped_file", t.n_mapped))]
    for mg in m.memcg_list:
        i, row = mg.index, mg.row
        for stat, want in wants:
            if row[COL[stat]] != want[i]:
                return (f"{stat} of {mg.name} is {row[COL[stat]]} but "
                        f"{want[i]} page(s)/slot(s) qualify")
    return None


def i5_events(m: "Machine", t: Tally) -> Optional[str]:
    """I5: pgpgin - pgpgout of a memcg is the number of pages charged to it."""
    want_used = t.want_used.tolist()
    for mg in m.memcg_list:
        i, row = mg.index, mg.row
        if row[COL["pgpgin"]] - row[COL["pgpgout"]] != want_used[i]:
            return (f"pgpgin - pgpgout of {mg.name} is "
                    f"{row[COL['pgpgin']] - row[COL['pgpgout']]} but "
                    f"{int(t.n_used[i])} page(s) are charged to it and "
                    f"{int(t.want_used[i] - t.n_used[i])} stranded")
    return None


def i11_swap_records(m: "Machine", t: Tally) -> Optional[str]:
    """I11: each swap_cgroup record holds one css reference; a charged swap-cache page and a free slot have no record."""
    n_swap = t.n_swap.tolist()
    for mg in m.memcg_list:
        if mg.swap_css_refs != n_swap[mg.index]:
            return (f"{mg.name} holds {mg.swap_css_refs} swap css "
                    f"reference(s) for {n_swap[mg.index]} swap record(s)")
    sw = m.swap
    sc_pfns = t.sc_pfns
    bad = sc_pfns[t.used[sc_pfns] & (sw.cgroup[t.sc_slots] >= 0)]
    if bad.size:
        return (f"charged swap-cache page {int(bad[0])} still has a "
                f"swap_cgroup record for its slot")
    free_slots = (sw.count == 0) & ~sw.cache
    if np.count_nonzero(sw.cgroup[free_slots] >= 0):
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
    mem, names, on_lru, lru_pfns = m.mem, t.names, t.on_lru, t.lru_pfns
    # the frames whose list is not the one their flags name (-1: none)
    wrong = (mem.lru != _lru_of_flags().take(mem.flags)).nonzero()[0]
    for p in wrong[~on_lru[wrong]][:1].tolist():
        return f"page {p} is linked on a list without PageLRU"
    lru_memcg = mem.lru_memcg[on_lru]             # of the pages in lru_pfns
    for p in lru_pfns[lru_memcg != mem.pc_memcg[on_lru]][:1].tolist():
        return (f"page {p} sits on the lruvec of {names[mem.lru_memcg[p]]} "
                f"but pc->mem_cgroup is {names[mem.pc_memcg[p]]}")
    for p in wrong[:1].tolist():                  # a page with PageLRU, then
        return (f"page {p} is on list {LRU_NAMES[mem.lru[p]]} but its "
                f"flags say {LRU_NAMES[page_lru(int(mem.flags[p]))]}")
    key = lru_memcg.astype(np.int64) * NR_LRU_LISTS + mem.lru[on_lru]
    linked = np.bincount(key, minlength=NR_LRU_LISTS * t.n_mg).reshape(
        -1, NR_LRU_LISTS).tolist()
    have = [mg.row[LRU_BASE:LRU_BASE + NR_LRU_LISTS] for mg in m.memcg_list]
    if have == linked[:t.n_mg]:
        return None
    for mg, sizes, links in zip(m.memcg_list, have, linked):   # the first in (memcg, list) order
        for i, (size, n) in enumerate(zip(sizes, links)):
            if size != n:
                return (f"lru_size[{LRU_NAMES[i]}] of {mg.name} is {size} "
                        f"but {n} page(s) are linked there")
    return None


@lru_cache(maxsize=1)
def _lru_of_flags() -> np.ndarray:
    """The list a frame with each 16-bit page flags value is on between
    operations: page_lru() with PageLRU (and not free), else -1 (made
    once, read by I6)."""
    on_lru = _flag_facts()[3]
    return np.array([page_lru(f) if on_lru[f] else -1 for f in range(1 << 16)], np.int8)


def i7_uncharged_pages_on_root_lru(m: "Machine", t: Tally) -> Optional[str]:
    """I7: an uncharged page on an LRU is on root's lruvec (3.16 breaks this by design)."""
    if "I7" in m.ops.design_differences:
        return None
    mem = m.mem
    uncharged = t.on_lru & ~t.used
    if np.count_nonzero(mem.lru_memcg[uncharged]):
        p = int((uncharged & (mem.lru_memcg != 0)).nonzero()[0][0])
        return (f"uncharged page {p} is on the lruvec of "
                f"{t.names[mem.lru_memcg[p]]}, not root's")
    return None


def rmap_knows_every_pte(m: "Machine", t: Tally) -> Optional[str]:
    """rmap: every pte that maps a page is in that page's reverse map."""
    mem = m.mem
    mapped = t.ptes >= 0
    pfns, tids, addrs = t.ptes[mapped], t.pte_tids[mapped], t.pte_addrs[mapped]
    # most ptes are their page's first, which the rmap keeps in two arrays
    later = ((mem.rmap_task.take(pfns) != tids) | (mem.rmap_addr.take(pfns) != addrs)).nonzero()[0]
    for k in later.tolist():                      # in task then address order
        p, tid, v = int(pfns[k]), int(tids[k]), int(addrs[k])
        if not rmap_has(m, p, tid, v):
            return (f"pte {v} of task {m.task_list[tid].name} maps page {p} "
                    f"but the page's rmap does not know it")
    return None


def mapcount_counts_ptes(m: "Machine", t: Tally) -> Optional[str]:
    """mapcount: a page's mapcount is the number of ptes that map it."""
    maps = t.pfn_ptes
    bad = (maps != m.mem.mapcount).nonzero()[0]
    if bad.size:
        p = int(bad[0])
        return (f"page {p} has mapcount {int(m.mem.mapcount[p])} but "
                f"{int(maps[p])} pte(s) map it")
    return None


def swap_map_counts_users(m: "Machine", t: Tally) -> Optional[str]:
    """swap_map: a swap slot's count is the number of swap ptes and tmpfs entries that use it."""
    sw = m.swap
    swaps = t.slot_ptes
    tmpfs = [slot for f in m.file_list.values() for slot in f.swap.values()]
    if tmpfs:
        swaps = swaps + np.bincount(tmpfs, minlength=sw.nr)
    bad = (swaps != sw.count).nonzero()[0]
    if bad.size:
        s = int(bad[0])
        return (f"swap slot {s} has count {int(sw.count[s])} but "
                f"{int(swaps[s])} swap pte(s)/tmpfs entries use it")
    return None


def swap_cache_agrees(m: "Machine", t: Tally) -> Optional[str]:
    """swapcache: a page in the swap cache and its slot name each other, and the slot has SWAP_HAS_CACHE."""
    sw = m.swap
    sc_pfns, slots = t.sc_pfns, t.sc_slots
    if (np.count_nonzero(sw.page[slots] != sc_pfns)
            or np.count_nonzero(sw.cache[slots]) != slots.size):
        return "a page in the swap cache and its slot disagree"
    if np.count_nonzero(sw.page >= 0) != sc_pfns.size:
        return "a slot names a swap-cache page that is not there"
    return None


def refcount_covers_users(m: "Machine", t: Tally) -> Optional[str]:
    """refcount: a page's refcount is at least its mappings plus its page-cache and swap-cache references."""
    mem = m.mem
    refs_min = mem.mapcount.astype(np.int64) + t.in_sc + (t.live_file & (mem.mapping >= 0))
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
