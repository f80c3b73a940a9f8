"""Memcg reclaim: try_to_free_mem_cgroup_pages() and shrink_page_list() (mm/vmscan.c, Linux 3.17).

Per memcg of the hierarchy and per priority (DEF_PRIORITY down to 0) the
LRU lists are scanned from the tail: an active list is aged into its
inactive list when the inactive list is smaller (shrink_active_list), and
inactive pages are reclaimed (shrink_inactive_list -> shrink_page_list).
Anonymous and tmpfs pages go out through add_to_swap / shmem_writepage,
try_to_unmap, pageout and __remove_mapping, which calls
mem_cgroup_swapout() before the page leaves the swap cache; clean file
pages are dropped from the page cache. Freed pages are uncharged together
by mem_cgroup_uncharge_list(). Simplifications: no referenced bits (every
inactive page is a candidate), writeback completes at once, anon and file
lists are scanned alike (no swappiness balancing).
"""
from __future__ import annotations

from typing import TYPE_CHECKING, Optional

import numpy as np

from ..errors import ModelUsageError
from .bulk import BY_PAGE_MAX
from .calls import kernel_call
from .lru import (LRU_ACTIVE_ANON, LRU_ACTIVE_FILE, LRU_INACTIVE_ANON,
                  LRU_INACTIVE_FILE, add_page_to_lru_list, isolate_lru_page,
                  lru_pages, mem_cgroup_page_lruvec, page_lru)
from .memcg import MemCgroup
from .mm import (_delete_from_page_cache, page_remove_rmap, put_page,
                 rmap_all, rmap_del)
from .pages import (PG_active, PG_anon, PG_locked, PG_lru, PG_swapbacked,
                    PG_swapcache)
from .swap import (__delete_from_swap_cache, add_to_swap_cache, get_swap_page,
                   swap_duplicate, swapcache_free)
from .tasks import swp_pte

if TYPE_CHECKING:
    from .machine import Machine

__all__ = ["SWAP_CLUSTER_MAX", "DEF_PRIORITY", "try_to_free_mem_cgroup_pages",
           "shrink_page_list", "shrink_active_list", "shrink_inactive_list",
           "reclaim_page"]

SWAP_CLUSTER_MAX = 32
DEF_PRIORITY = 12


@kernel_call("try_to_unmap")
def _try_to_unmap(m: "Machine", pfn: int) -> None:
    """try_to_unmap() (mm/rmap.c): every pte of the page goes.

    An anon page in the swap cache leaves a swap pte behind (swap_duplicate);
    a file or tmpfs pte is simply cleared (the task would fault it back).
    """
    mem = m.mem
    anon = bool(mem.pg.flags[pfn] & PG_anon)
    for tid, v in rmap_all(m, pfn):
        task = m.task_list[tid]
        if anon:
            slot = int(mem.private[pfn])
            swap_duplicate(m, slot)
            task.pte[v] = swp_pte(slot)
        else:
            task.pte[v] = -1
            task.free_vaddrs(np.array([v], np.int32))
        rmap_del(m, pfn, tid, v)
        page_remove_rmap(m, pfn)
        put_page(m, pfn)


@kernel_call("add_to_swap")
def _add_to_swap(m: "Machine", pfn: int) -> bool:
    """add_to_swap() (mm/swap_state.c): a slot and the swap cache for an anon page."""
    slot = get_swap_page(m)
    if slot < 0:
        return False
    add_to_swap_cache(m, pfn, slot)
    return True


@kernel_call("shmem_writepage")
def _shmem_writepage(m: "Machine", pfn: int) -> bool:
    """shmem_writepage() (mm/shmem.c): a tmpfs page moves from its file to the swap cache.

    The file's radix-tree slot now holds the swap entry (swap_shmem_alloc:
    the file owns one map reference) and the page cache reference is dropped.
    """
    slot = get_swap_page(m)
    if slot < 0:
        return False
    add_to_swap_cache(m, pfn, slot)
    m.swap.count[slot] = 1                       # swap_shmem_alloc
    file = m.file_list[m.mem.pg.mapping[pfn]]
    off = file.offset_of[pfn]
    _delete_from_page_cache(m, pfn)              # shmem_delete_from_page_cache
    file.swap[off] = slot
    put_page(m, pfn)
    return True


@kernel_call("__remove_mapping")
def _remove_mapping(m: "Machine", pfn: int) -> bool:
    """__remove_mapping() (mm/vmscan.c): freeze the refcount at 2 and unhook the page.

    Fails if anyone else holds a reference. Swap cache: mem_cgroup_swapout,
    __delete_from_swap_cache, swapcache_free. Page cache:
    __delete_from_page_cache. The count is then 0 (the isolation reference
    is consumed), ready for the batched uncharge.
    """
    mem = m.mem
    if mem.pg.refcount[pfn] != 2:                # page_freeze_refs(page, 2)
        return False
    mem.pg.refcount[pfn] = 0
    if mem.pg.flags[pfn] & PG_swapcache:
        slot = int(mem.private[pfn])
        m.ops.remove_mapping_swapout(m, pfn, slot)
        __delete_from_swap_cache(m, pfn)
        remaining = swapcache_free(m, slot)
        m.ops.delete_from_swap_cache(m, pfn, slot, remaining)
    else:
        _delete_from_page_cache(m, pfn)
        m.ops.delete_from_page_cache(m, pfn)     # 3.16 uncharges here
    return True


@kernel_call("shrink_page_list", page=None)
def shrink_page_list(m: "Machine", pfns: list[int], may_swap: bool,
                     slots: Optional[dict[int, int]] = None) -> tuple[int, list[int]]:
    """shrink_page_list() (mm/vmscan.c) for isolated pages (each holds an isolation ref).

    Returns (pages reclaimed, pages to put back). Reclaimed pages are
    uncharged together (mem_cgroup_uncharge_list) and freed. ``slots``, if
    given, receives pfn -> swap slot for each page add_to_swap gave a slot.
    """
    mem = m.mem
    m.shrink_runs += 1                       # pages no step named may move
    free, keep = [], []
    m.ops.uncharge_start(m)
    for pfn in pfns:
        if mem.pg.flags[pfn] & PG_locked:        # trylock_page failed
            keep.append(pfn)
            continue
        mem.pg.flags[pfn] |= PG_locked
        m.calls.leaf("trylock_page", pfn)
        flags = mem.pg.flags[pfn]
        swapbacked = bool(flags & PG_swapbacked)
        if not flags & (PG_anon | PG_swapcache) and mem.pg.mapping[pfn] < 0:
            # truncated but still referenced: no mapping to remove it from
            mem.pg.flags[pfn] &= 0xFFFF ^ PG_locked
            keep.append(pfn)
            continue
        if flags & PG_anon and not flags & PG_swapcache:
            if not may_swap or not _add_to_swap(m, pfn):
                mem.pg.flags[pfn] |= PG_active   # activate_locked
                mem.pg.flags[pfn] &= 0xFFFF ^ PG_locked
                keep.append(pfn)
                continue
            if slots is not None:
                slots[pfn] = int(mem.private[pfn])
        if mem.pg.mapcount[pfn]:
            _try_to_unmap(m, pfn)
        if swapbacked and not mem.pg.flags[pfn] & (PG_anon | PG_swapcache):
            # a tmpfs page still in its file: pageout -> shmem_writepage
            i = m.calls.enter("pageout", pfn) if may_swap else -1
            written = may_swap and _shmem_writepage(m, pfn)
            m.calls.leave(i)
            if not written:
                mem.pg.flags[pfn] |= PG_active
                mem.pg.flags[pfn] &= 0xFFFF ^ PG_locked
                keep.append(pfn)
                continue
        elif mem.pg.flags[pfn] & PG_swapcache:
            m.calls.leaf("pageout", pfn)         # swap_writepage; I/O done at once
        if not _remove_mapping(m, pfn):
            mem.pg.flags[pfn] &= 0xFFFF ^ PG_locked
            keep.append(pfn)
            continue
        mem.pg.flags[pfn] &= 0xFFFF ^ PG_locked          # __clear_page_locked
        free.append(pfn)
    if len(free) > BY_PAGE_MAX:
        arr = np.array(free, np.int64)
        m.ops.release_pages(m, arr)              # mem_cgroup_uncharge_list
        mem.free(arr)
    elif free:                                   # a few: as a list, no arrays
        m.ops.release_pages(m, free)
        mem.free_few(free)
    if free:
        m.calls.leaf("free_hot_cold_page_list", free[0] if len(free) == 1 else -1)
    m.ops.uncharge_end(m)
    return len(free), keep


def _putback_pages(m: "Machine", pfns: list[int],
                   fn: str = "putback_inactive_pages") -> None:
    """putback_inactive_pages() / move_active_pages_to_lru(): relink, drop the isolation ref."""
    if not pfns:
        return
    i = m.calls.enter(fn, pfns[0] if len(pfns) == 1 else -1)
    try:
        _relink(m, pfns)
    finally:
        m.calls.leave(i)


def _relink(m: "Machine", pfns: list[int]) -> None:
    mem = m.mem
    for pfn in pfns:
        memcg = mem_cgroup_page_lruvec(m, pfn)
        mem.pg.flags[pfn] |= PG_lru
        add_page_to_lru_list(m, pfn, memcg, page_lru(mem.pg.flags[pfn]))
        put_page(m, pfn)


@kernel_call("shrink_inactive_list", page=None)
def shrink_inactive_list(m: "Machine", memcg: MemCgroup, lru: int, nr: int,
                         may_swap: bool) -> int:
    """shrink_inactive_list(): isolate ``nr`` pages from the tail and reclaim them."""
    pfns = [int(p) for p in lru_pages(m, memcg.index, lru)[:nr]]
    for pfn in pfns:
        _isolate(m, pfn)
    reclaimed, keep = shrink_page_list(m, pfns, may_swap)
    _putback_pages(m, keep)
    return reclaimed


@kernel_call("__isolate_lru_page")
def _isolate(m: "Machine", pfn: int) -> None:
    """isolate_lru_pages() takes one page: __isolate_lru_page (a reference,
    PG_lru cleared) and del_page_from_lru_list."""
    # kernel_call's functools.wraps keeps the unrecorded function as __wrapped__
    isolate_lru_page.__wrapped__(m, pfn)  # type: ignore[attr-defined]


@kernel_call("shrink_active_list", page=None)
def shrink_active_list(m: "Machine", memcg: MemCgroup, lru: int, nr: int) -> None:
    """shrink_active_list(): move ``nr`` pages from the active tail to the inactive list."""
    mem = m.mem
    pfns = [int(p) for p in lru_pages(m, memcg.index, lru)[:nr]]
    for pfn in pfns:
        _isolate(m, pfn)
        mem.pg.flags[pfn] &= 0xFFFF ^ PG_active
    _putback_pages(m, pfns, "move_active_pages_to_lru")


def _inactive_is_low(memcg: MemCgroup, active: int) -> bool:
    return memcg.lru_size(active - 1) < memcg.lru_size(active)


@kernel_call("shrink_lruvec", page=None)
def _shrink_lruvec(m: "Machine", memcg: MemCgroup, priority: int, budget: int,
                   may_swap: bool) -> int:
    lists = [LRU_INACTIVE_FILE, LRU_ACTIVE_FILE]
    if may_swap and m.swap.nr_free > 0:
        lists = [LRU_INACTIVE_ANON, LRU_ACTIVE_ANON] + lists
    reclaimed = 0
    for lru in lists:
        size = memcg.lru_size(lru)
        scan = size >> priority or min(size, SWAP_CLUSTER_MAX)  # force_scan
        if lru in (LRU_ACTIVE_ANON, LRU_ACTIVE_FILE):
            if _inactive_is_low(memcg, lru):
                shrink_active_list(m, memcg, lru, scan)
        elif budget - reclaimed > 0:
            reclaimed += shrink_inactive_list(m, memcg, lru,
                                              min(scan, budget - reclaimed), may_swap)
    if may_swap and _inactive_is_low(memcg, LRU_ACTIVE_ANON):
        shrink_active_list(m, memcg, LRU_ACTIVE_ANON, SWAP_CLUSTER_MAX)
    return reclaimed


@kernel_call("try_to_free_mem_cgroup_pages", page=None)
def try_to_free_mem_cgroup_pages(m: "Machine", memcg: MemCgroup, nr_pages: int,
                                 may_swap: bool = True, exact: bool = False) -> int:
    """try_to_free_mem_cgroup_pages() (mm/vmscan.c): reclaim from memcg's hierarchy.

    Aims at max(nr_pages, SWAP_CLUSTER_MAX) pages (``exact``: nr_pages) and
    returns how many were freed. ``may_swap`` False leaves anon and tmpfs
    pages alone (a memsw limit was hit, or memsw_is_minimum).
    """
    target = nr_pages if exact else max(nr_pages, SWAP_CLUSTER_MAX)
    reclaimed = 0
    for priority in range(DEF_PRIORITY, -1, -1):
        for mg in list(memcg.hierarchy()):
            reclaimed += _shrink_lruvec(m, mg, priority, target - reclaimed, may_swap)
            if reclaimed >= target:
                return reclaimed
    return reclaimed


def reclaim_page(m: "Machine", pfn: int) -> int:
    """shrink_page_list() on one chosen page (the ``swap_out`` operation).

    Returns the swap slot the page (anon or tmpfs) was written to. The page
    is freed unless someone else still holds a reference; then it stays in
    the swap cache, back on its LRU.
    """
    mem = m.mem
    flags = mem.pg.flags[pfn]
    if not flags & PG_swapbacked:
        raise ModelUsageError(f"page {pfn} is a file page; file pages are not "
                              f"swapped (use reclaim or truncate)")
    if not flags & PG_lru:
        raise ModelUsageError(f"page {pfn} is not on an LRU list, so reclaim "
                              f"cannot isolate it")
    if not flags & (PG_anon | PG_swapcache) and mem.pg.mapping[pfn] < 0:
        raise ModelUsageError(f"page {pfn} was truncated and is only held by "
                              f"references; reclaim cannot free it, its last "
                              f"put_page will")
    if not flags & PG_swapcache and m.swap.nr_free == 0:
        raise ModelUsageError("no free swap slot (create the Machine with more swap_slots)")
    isolate_lru_page(m, pfn)
    if flags & PG_anon or flags & PG_swapcache:
        slots = {pfn: int(mem.private[pfn])} if flags & PG_swapcache else {}
        _, keep = shrink_page_list(m, [pfn], may_swap=True, slots=slots)
        slot = slots[pfn]
    else:                                        # tmpfs page still in its file
        file = m.file_list[mem.pg.mapping[pfn]]
        off = file.offset_of[pfn]
        _, keep = shrink_page_list(m, [pfn], may_swap=True)
        slot = file.swap[off]
    _putback_pages(m, keep)
    return slot
