"""The per-memcg lruvec lists: include/linux/mm_inline.h, mm/swap.c, mm/memcontrol.c.

Each memcg has one lruvec with five lists (enum lru_list). A page's list is
kept in three pfn-indexed arrays: ``lru`` (which list), ``lru_memcg`` (whose
lruvec) and ``lru_seq`` (when it was put at the list head: the list's order,
oldest = tail). Pages go straight onto the list: the model has no per-CPU
pagevecs, which is the kernel after lru_add_drain().

mem_cgroup_page_lruvec() decides which lruvec a page goes to: an uncharged
page that is off the LRU is silently switched to the root memcg first.
"""
from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np

from ..errors import InvariantViolation, KernelBugError
from .calls import kernel_call
from .memcg import LRU_BASE, LRU_NAMES
from .pages import (PCG_USED, PG_active, PG_lru, PG_swapbacked,
                    PG_unevictable)

if TYPE_CHECKING:
    from .machine import Machine

__all__ = ["LRU_INACTIVE_ANON", "LRU_ACTIVE_ANON", "LRU_INACTIVE_FILE",
           "LRU_ACTIVE_FILE", "LRU_UNEVICTABLE", "NR_LRU_LISTS", "page_lru",
           "mem_cgroup_page_lruvec", "add_page_to_lru_list",
           "del_page_from_lru_list", "lru_cache_add", "lru_cache_add_many",
           "isolate_lru_page", "lock_page_lru", "unlock_page_lru",
           "lru_pages", "del_pages_from_lru"]

#: enum lru_list: the list numbers, in the order of LRU_NAMES
LRU_INACTIVE_ANON, LRU_ACTIVE_ANON, LRU_INACTIVE_FILE, LRU_ACTIVE_FILE, \
    LRU_UNEVICTABLE = range(len(LRU_NAMES))
NR_LRU_LISTS = len(LRU_NAMES)


def page_lru(flags: int) -> int:
    """page_lru() (include/linux/mm_inline.h): the list a page with these flags belongs on."""
    if flags & PG_unevictable:
        return LRU_UNEVICTABLE
    base = LRU_INACTIVE_ANON if flags & PG_swapbacked else LRU_INACTIVE_FILE
    return base + (1 if flags & PG_active else 0)


@kernel_call("mem_cgroup_page_lruvec")
def mem_cgroup_page_lruvec(m: "Machine", pfn: int) -> int:
    """The memcg (index) whose lruvec the page belongs on.

    Mirrors mem_cgroup_page_lruvec() in mm/memcontrol.c (Linux 3.17), called
    under zone->lru_lock by every LRU insertion and removal. It reads
    pc->mem_cgroup, but first switches an uncharged page that is not on an
    LRU to the root memcg: such a page no longer pins its old memcg.
    """
    return _page_lruvec(m, pfn)


def _page_lruvec(m: "Machine", pfn: int) -> int:
    """mem_cgroup_page_lruvec() unrecorded (lru_cache_add records it as a leaf)."""
    pg = m.mem.pg
    mi = pg.pc_memcg[pfn]
    if mi != 0 and not pg.flags[pfn] & PG_lru and not pg.pc_flags[pfn] & PCG_USED:
        pg.pc_memcg[pfn] = 0
        m.events.record("mem_cgroup_page_lruvec", pfn, 0, 1)
        mi = 0
    return mi


def add_page_to_lru_list(m: "Machine", pfn: int, memcg: int, lru: int) -> None:
    """add_page_to_lru_list() (include/linux/mm_inline.h): link at the head, lru_size += 1."""
    pg = m.mem.pg
    pg.lru[pfn] = lru
    pg.lru_memcg[pfn] = memcg
    m.lru_clock += 1
    pg.lru_seq[pfn] = m.lru_clock
    m.memcg_list[memcg].row[LRU_BASE + lru] += 1
    m.written.add(memcg)


def del_page_from_lru_list(m: "Machine", pfn: int) -> None:
    """del_page_from_lru_list() (include/linux/mm_inline.h): unlink from the lruvec of pc->mem_cgroup.

    The kernel finds the list through pc->mem_cgroup; the model checks that
    this is where the page really is (invariant I6).
    """
    pg = m.mem.pg
    where, mi = pg.lru_memcg[pfn], pg.pc_memcg[pfn]
    if where != mi:
        raise InvariantViolation(
            "I6", f"page {pfn} is linked on the lruvec of "
            f"{m.memcg_list[where].name} but pc->mem_cgroup is "
            f"{m.memcg_list[mi].name}")
    m.memcg_list[where].row[LRU_BASE + pg.lru[pfn]] -= 1
    m.written.add(where)
    pg.lru[pfn] = -1
    pg.lru_memcg[pfn] = -1


def lru_cache_add(m: "Machine", pfn: int, active: bool = False,
                  fn: str = "lru_cache_add") -> None:
    """lru_cache_add() + __pagevec_lru_add_fn() (mm/swap.c): put a page on its LRU list.

    Mirrors mm/swap.c (Linux 3.17; lru_cache_add_anon / _file /
    lru_cache_add_active_or_unevictable: ``fn`` names the caller's entry
    for the call log). Precondition: the page is not on an LRU yet
    (VM_BUG_ON_PAGE(PageLRU(page)) in __lru_cache_add's drain).
    """
    pg = m.mem.pg
    calls = m.calls
    on = calls.enabled                           # no call log: none of its calls
    if on:
        i = calls.enter(fn, pfn)
        j = calls.enter("__pagevec_lru_add_fn", pfn)
    try:
        flags = pg.flags[pfn]
        if flags & PG_lru:
            raise KernelBugError(f"page {pfn} is already on an LRU list",
                                 "VM_BUG_ON_PAGE(PageLRU(page), page)",
                                 "__pagevec_lru_add_fn", "mm/swap.c")
        # mem_cgroup_page_lruvec, recorded as a leaf: it is entered right
        # after __pagevec_lru_add_fn on the same page (so its state at entry
        # is the one recorded there), records no callees, writes no counter
        # and cannot fail
        memcg = _page_lruvec(m, pfn)
        if on:
            calls.leaf("mem_cgroup_page_lruvec", pfn)
        # the caller's SetPageActive (lru_cache_add_active_or_unevictable),
        # set here so that the call log shows it with the list it selects;
        # _page_lruvec writes no page flag, so ``flags`` is still the page's
        flags |= PG_active | PG_lru if active else PG_lru
        pg.flags[pfn] = flags
        add_page_to_lru_list(m, pfn, memcg, page_lru(flags))
    finally:
        if on:
            calls.leave(j)
            calls.leave(i)


def lru_cache_add_many(m: "Machine", pfns: np.ndarray, lru: int) -> None:
    """lru_cache_add() (mm/swap.c) for a batch of new charged pages, as a pagevec drain.

    Every page must be PCG_USED (so mem_cgroup_page_lruvec() is just
    pc->mem_cgroup) and off the LRU; they all go on list ``lru``.
    """
    mem = m.mem
    if np.any(mem.flags[pfns] & PG_lru):
        raise KernelBugError("a page of the batch is already on an LRU list",
                             "VM_BUG_ON_PAGE(PageLRU(page), page)",
                             "__pagevec_lru_add_fn", "mm/swap.c")
    if lru in (LRU_ACTIVE_ANON, LRU_ACTIVE_FILE):
        mem.flags[pfns] |= PG_active | PG_lru
    else:
        mem.flags[pfns] |= PG_lru
    mem.lru[pfns] = lru
    memcgs = mem.pc_memcg[pfns]
    mem.lru_memcg[pfns] = memcgs
    n = pfns.size
    mem.lru_seq[pfns] = np.arange(m.lru_clock + 1, m.lru_clock + n + 1,
                                  dtype=np.uint32)
    m.lru_clock += n
    counts = np.bincount(memcgs, minlength=len(m.memcg_list))
    for mi in np.flatnonzero(counts):
        m.memcg_list[mi].row[LRU_BASE + lru] += int(counts[mi])
        m.written.add(int(mi))


@kernel_call("isolate_lru_page")
def isolate_lru_page(m: "Machine", pfn: int) -> bool:
    """isolate_lru_page() (mm/vmscan.c): take a page off its LRU with a reference.

    Returns False when the page is not on an LRU (the kernel's -EBUSY).
    """
    mem = m.mem
    if not mem.pg.flags[pfn] & PG_lru:
        return False
    mem.pg.refcount[pfn] += 1
    mem.pg.flags[pfn] &= 0xFFFF ^ PG_lru
    del_page_from_lru_list(m, pfn)
    return True


@kernel_call("lock_page_lru")
def lock_page_lru(m: "Machine", pfn: int) -> bool:
    """lock_page_lru() in mm/memcontrol.c (Linux 3.17).

    Under zone->lru_lock, takes the page off the lruvec it is on (if it is
    on one) so that pc->mem_cgroup can be rewritten. Returns ``isolated``.
    """
    mem = m.mem
    if mem.pg.flags[pfn] & PG_lru:
        mem.pg.flags[pfn] &= 0xFFFF ^ PG_lru
        del_page_from_lru_list(m, pfn)
        return True
    return False


@kernel_call("unlock_page_lru")
def unlock_page_lru(m: "Machine", pfn: int, isolated: bool) -> None:
    """unlock_page_lru() in mm/memcontrol.c (Linux 3.17).

    Puts a page that lock_page_lru() isolated back, on the lruvec
    mem_cgroup_page_lruvec() now computes (the new memcg, or root for a page
    that just lost its charge). VM_BUG_ON_PAGE(PageLRU(page)) in between.
    """
    if not isolated:
        return
    mem = m.mem
    memcg = mem_cgroup_page_lruvec(m, pfn)
    if mem.pg.flags[pfn] & PG_lru:
        raise KernelBugError(f"page {pfn} went back on an LRU while isolated",
                             "VM_BUG_ON_PAGE(PageLRU(page), page)",
                             "unlock_page_lru")
    mem.pg.flags[pfn] |= PG_lru
    add_page_to_lru_list(m, pfn, memcg, page_lru(mem.pg.flags[pfn]))


def lru_pages(m: "Machine", memcg: int, lru: int) -> np.ndarray:
    """The pfns on one list of one memcg's lruvec, tail (oldest) first."""
    mem = m.mem
    pfns = np.flatnonzero((mem.lru == lru) & (mem.lru_memcg == memcg))
    return pfns[np.argsort(mem.lru_seq[pfns], kind="stable")]


def del_pages_from_lru(m: "Machine", pfns: np.ndarray) -> None:
    """del_page_from_lru_list() (include/linux/mm_inline.h) for a batch of pages on LRU lists (release_pages)."""
    mem = m.mem
    where, mi = mem.lru_memcg[pfns], mem.pc_memcg[pfns]
    if np.any(where != mi):
        bad = int(pfns[np.flatnonzero(where != mi)[0]])
        raise InvariantViolation(
            "I6", f"page {bad} is linked on the lruvec of "
            f"{m.memcg_list[int(mem.lru_memcg[bad])].name} but pc->mem_cgroup "
            f"is {m.memcg_list[int(mem.pc_memcg[bad])].name}")
    key = where.astype(np.int64) * NR_LRU_LISTS + mem.lru[pfns]
    counts = np.bincount(key)
    for k in np.flatnonzero(counts):
        mi, lru = divmod(int(k), NR_LRU_LISTS)
        m.memcg_list[mi].row[LRU_BASE + lru] -= int(counts[k])
        m.written.add(mi)
    mem.flags[pfns] &= ~np.uint16(PG_lru)
    mem.lru[pfns] = -1
    mem.lru_memcg[pfns] = -1
