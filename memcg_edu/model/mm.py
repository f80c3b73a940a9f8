"""The mm callers of the memcg API, in kernel order (Linux 3.17).

Simplified versions of the paths in mm/memory.c (do_anonymous_page,
do_swap_page, zap_pte_range), mm/filemap.c (__add_to_page_cache_locked,
__delete_from_page_cache, replace_page_cache_page), mm/shmem.c
(shmem_getpage_gfp), mm/rmap.c (page_add_*_rmap, page_remove_rmap),
mm/swap.c (put_page, __page_cache_release, release_pages), mm/swap_state.c
and mm/swapfile.c (swap cache, free_swap_and_cache), mm/truncate.c and
mm/migrate.c's putback. They call the memcg hooks of ``machine.ops`` at the
kernel's call sites and in the kernel's order; pages are pfns here (the
Machine turns handles into pfns). Reclaim, migration and charge moving have
their own modules.
"""
from __future__ import annotations

from collections import OrderedDict
from typing import TYPE_CHECKING, Any, Optional, Union

import numpy as np

from ..errors import KernelBugError, MemcgOOM, ModelUsageError
from . import bulk
from .calls import kernel_call
from .limits import MAX_MAPCOUNT
from .lru import del_page_from_lru_list, lru_cache_add
from .pages import (PG_anon, PG_locked, PG_lru, PG_swapbacked, PG_swapcache,
                    PG_unevictable)
from .swap import (__delete_from_swap_cache, add_to_swap_cache, swap_duplicate,
                   swap_entry_free, swap_free, swapcache_free, vm_swap_full)
from .tasks import PTE_NONE, File, Task, pte_slot, swp_pte

if TYPE_CHECKING:
    from .machine import Machine

__all__ = ["rmap_add", "rmap_del", "rmap_all", "rmap_find", "rmap_has", "rmap_move", "get_page",
           "put_page", "release_pages", "putback_lru_page", "lock_page", "lock_page_first",
           "unlock_page", "page_remove_rmap", "page_add_file_rmap",
           "try_to_free_swap", "delete_from_swap_cache", "free_swap_and_cache",
           "do_anonymous_page", "fault_anon_range", "add_to_page_cache_lru",
           "shmem_getpage_new", "map_page", "map_swap", "zap_ptes",
           "unmap_page", "unmap_swap", "truncate_page", "shmem_free_swap",
           "do_swap_page", "shmem_swapin", "replace_page_cache_page",
           "exit_mmap", "cache_refs"]

#: what m.ops.try_charge hands back for commit_charge / cancel_charge: each
#: design's own token (3.17 the memcg or None, 3.16 the charge kind and memcg),
#: passed through here unread
ChargeToken = Any


# -- reverse map: which ptes map a page --------------------------------------
# The first pte mapping a page lives in mem.rmap_task / rmap_addr (what the
# bulk paths read); the others, in the order they were added, in
# m.rmap_extra[pfn] (an OrderedDict of (tid, v)) and, per task, in
# m.rmap_tid[pfn][tid] (an OrderedDict of v). Adding, removing and finding
# one mapping are O(1), so k tasks sharing a page cost O(k), not O(k^2).
def rmap_add(m: "Machine", pfn: int, tid: int, v: int) -> None:
    """Remember that pte ``v`` of task ``tid`` maps the page (anon_vma / i_mmap)."""
    mem = m.mem
    if mem.pg.rmap_task[pfn] < 0:
        mem.pg.rmap_task[pfn], mem.pg.rmap_addr[pfn] = tid, v
        return
    extra = m.rmap_extra.get(pfn)
    if extra is None:
        extra = m.rmap_extra[pfn] = OrderedDict()
        m.rmap_tid[pfn] = {}
    extra[(tid, v)] = None
    m.rmap_tid[pfn].setdefault(tid, OrderedDict())[v] = None


def _rmap_tid_del(m: "Machine", pfn: int, tid: int, v: int) -> None:
    by_tid = m.rmap_tid[pfn]
    own = by_tid[tid]
    del own[v]
    if not own:
        del by_tid[tid]


def rmap_del(m: "Machine", pfn: int, tid: int, v: int) -> None:
    """Forget that pte ``v`` of task ``tid`` maps the page."""
    mem = m.mem
    extra = m.rmap_extra.get(pfn)
    if mem.pg.rmap_task[pfn] == tid and mem.pg.rmap_addr[pfn] == v:
        if extra:                                # the next oldest becomes first
            (t2, v2), _ = extra.popitem(last=False)
            _rmap_tid_del(m, pfn, t2, v2)
            mem.pg.rmap_task[pfn], mem.pg.rmap_addr[pfn] = t2, v2
        else:
            mem.pg.rmap_task[pfn] = mem.pg.rmap_addr[pfn] = -1
    else:
        assert extra is not None                 # not the first pte: an extra one
        del extra[(tid, v)]
        _rmap_tid_del(m, pfn, tid, v)
    if extra is not None and not extra:
        del m.rmap_extra[pfn], m.rmap_tid[pfn]


def rmap_all(m: "Machine", pfn: int) -> list[tuple[int, int]]:
    """Every (task id, virtual page) mapping the page (rmap_walk)."""
    mem = m.mem
    if mem.pg.rmap_task[pfn] < 0:
        return []
    return [(mem.pg.rmap_task[pfn], mem.pg.rmap_addr[pfn])] + \
        list(m.rmap_extra.get(pfn, ()))


def rmap_find(m: "Machine", pfn: int, tid: int) -> int:
    """The virtual page at which task ``tid`` maps the page (its first pte), or -1."""
    mem = m.mem
    if mem.pg.rmap_task[pfn] == tid:
        return mem.pg.rmap_addr[pfn]
    own = m.rmap_tid.get(pfn, {}).get(tid)
    return next(iter(own)) if own else -1


def rmap_has(m: "Machine", pfn: int, tid: int, v: int) -> bool:
    """Does pte ``v`` of task ``tid`` map the page, as the rmap records it?"""
    mem = m.mem
    if mem.pg.rmap_task[pfn] == tid and mem.pg.rmap_addr[pfn] == v:
        return True
    own = m.rmap_tid.get(pfn, {}).get(tid)
    return own is not None and v in own


def rmap_move(m: "Machine", old: int, new: int) -> None:
    """Every pte of page ``old`` now maps ``new``, in the same rmap order.

    What try_to_unmap() and remove_migration_ptes() do to the rmap, one
    pte at a time, taken together: O(1) whatever the number of ptes.
    """
    mem = m.mem
    mem.pg.rmap_task[new], mem.pg.rmap_addr[new] = mem.pg.rmap_task[old], mem.pg.rmap_addr[old]
    mem.pg.rmap_task[old] = mem.pg.rmap_addr[old] = -1
    if old in m.rmap_extra:
        m.rmap_extra[new] = m.rmap_extra.pop(old)
        m.rmap_tid[new] = m.rmap_tid.pop(old)


# -- references and the final put --------------------------------------------
def cache_refs(m: "Machine", pfn: int) -> int:
    """References held by the page cache and the swap cache."""
    mem = m.mem
    in_pc = not mem.pg.flags[pfn] & PG_anon and mem.pg.mapping[pfn] >= 0
    return int(in_pc) + int(bool(mem.pg.flags[pfn] & PG_swapcache))


@kernel_call("get_page")
def get_page(m: "Machine", pfn: int) -> None:
    """get_page() (include/linux/mm.h): one more reference. VM_BUG_ON_PAGE(page_count <= 0)."""
    if m.mem.pg.refcount[pfn] <= 0:
        raise KernelBugError(f"page {pfn} has no reference to copy",
                             "VM_BUG_ON_PAGE(atomic_read(&page->_count) <= 0, page)",
                             "get_page", "include/linux/mm.h")
    m.mem.pg.refcount[pfn] += 1


@kernel_call("__put_single_page")
def _free_page(m: "Machine", pfn: int) -> None:
    """__put_single_page() (mm/swap.c): __page_cache_release(), then free_hot_cold_page() (mm/page_alloc.c), for a page at count 0."""
    mem = m.mem
    calls = m.calls
    on = calls.enabled                           # no call log: none of its calls
    if on:
        i = calls.enter("__page_cache_release", pfn)
    if mem.pg.flags[pfn] & PG_lru:
        del_page_from_lru_list(m, pfn)
        mem.pg.flags[pfn] &= 0xFFFF ^ PG_lru
        if on:
            calls.leaf("del_page_from_lru_list", pfn)
    m.ops.page_cache_release(m, pfn)             # 3.17: mem_cgroup_uncharge
    if on:
        calls.leave(i)
    mem.free_one(pfn)
    if on:
        calls.leaf("free_hot_cold_page", pfn)


@kernel_call("put_page")
def put_page(m: "Machine", pfn: int) -> None:
    """put_page() (mm/swap.c): drop a reference; the last one frees the page.

    put_page_testzero() drops the count; at zero __put_single_page() runs
    __page_cache_release(): off the LRU, then (3.17) mem_cgroup_uncharge(),
    then free_hot_cold_page() gives the frame back.
    """
    pg = m.mem.pg
    count = pg.refcount[pfn]
    if count <= 0:
        raise KernelBugError(f"page {pfn} has no reference left to drop",
                             "VM_BUG_ON_PAGE(atomic_read(&page->_count) == 0, page)",
                             "put_page_testzero", "include/linux/mm.h")
    pg.refcount[pfn] = count - 1
    calls = m.calls
    if calls.enabled:                            # (no call log: no call)
        calls.leaf("put_page_testzero", pfn)
    if count == 1:                               # that was the last reference
        _free_page(m, pfn)


@kernel_call("release_pages", page=None)
def release_pages(m: "Machine", pfns: Union[np.ndarray, list[int]]) -> None:
    """release_pages() (mm/swap.c): drop one reference of each page.

    Pages whose count reaches zero come off their LRU and are uncharged
    together through mem_cgroup_uncharge_list(), then freed. ``pfns``: an
    array, or a list of a few pfns (a munmap of one page builds no array).
    """
    mem = m.mem
    calls = m.calls
    if isinstance(pfns, np.ndarray):
        if pfns.size > bulk.BY_PAGE_MAX:
            bulk.release_pages(m, pfns)          # more than a pagevec
            return
        pfns = pfns.tolist()
    on = calls.enabled                           # no call log: none of its calls
    pg = mem.pg
    dead = []                                    # a pagevec: page by page
    for pfn in pfns:
        count = pg.refcount[pfn]
        if count <= 0:
            raise KernelBugError(
                f"page {pfn} has no reference left to drop",
                "VM_BUG_ON_PAGE(atomic_read(&page->_count) == 0, page)",
                "put_page_testzero", "include/linux/mm.h")
        pg.refcount[pfn] = count - 1
        if on:
            calls.leaf("put_page_testzero", pfn)
        if count == 1:                           # that was the last reference
            if pg.flags[pfn] & PG_lru:
                del_page_from_lru_list(m, pfn)
                pg.flags[pfn] &= 0xFFFF ^ PG_lru
                if on:
                    calls.leaf("del_page_from_lru_list", pfn)
            dead.append(pfn)
    if dead:
        m.ops.release_pages(m, dead)             # at most a pagevec: a list
        for pfn in dead:
            mem.free_one(pfn)
            if on:
                calls.leaf("free_hot_cold_page", pfn)


@kernel_call("lock_page")
def lock_page(m: "Machine", pfn: int) -> None:
    """lock_page() (include/linux/pagemap.h): the model runs one path at a time, so the lock must be free."""
    _lock_page(m, pfn)


def lock_page_first(m: "Machine", pfn: int) -> None:
    """lock_page() as the first thing a recorded call on the same page does.

    Recorded as a leaf (one row, cheaper), when it ends (a failure
    included): the caller's entry has just recorded the page's state, which
    is then its state at entry, and it records no callees and writes no
    counter, so the call log reads as with lock_page().
    """
    try:
        _lock_page(m, pfn)
    finally:
        m.calls.leaf("lock_page", pfn)


def _lock_page(m: "Machine", pfn: int) -> None:
    if m.mem.pg.flags[pfn] & PG_locked:
        raise ModelUsageError(f"page {pfn} is locked (lock_page would sleep "
                              f"forever in this single-threaded model)")
    m.mem.pg.flags[pfn] |= PG_locked


@kernel_call("unlock_page")
def unlock_page(m: "Machine", pfn: int) -> None:
    """unlock_page() (mm/filemap.c): VM_BUG_ON_PAGE(!PageLocked(page))."""
    if not m.mem.pg.flags[pfn] & PG_locked:
        raise KernelBugError(f"page {pfn} is not locked",
                             "VM_BUG_ON_PAGE(!PageLocked(page), page)",
                             "unlock_page", "mm/filemap.c")
    m.mem.pg.flags[pfn] &= 0xFFFF ^ PG_locked


@kernel_call("putback_lru_page")
def putback_lru_page(m: "Machine", pfn: int) -> None:
    """putback_lru_page() (mm/vmscan.c): back on an LRU, drop the isolation reference.

    mem_cgroup_page_lruvec() picks the lruvec, so a page that lost its
    charge (a migration source) lands on root's lists before its final put.
    """
    m.mem.pg.flags[pfn] &= 0xFFFF ^ PG_unevictable
    lru_cache_add(m, pfn)
    put_page(m, pfn)


# -- rmap ---------------------------------------------------------------------
@kernel_call("page_add_file_rmap")
def page_add_file_rmap(m: "Machine", pfn: int) -> None:
    """page_add_file_rmap() (mm/rmap.c): first mapping of a file page counts FILE_MAPPED."""
    mem = m.mem
    mem.pg.mapcount[pfn] += 1
    if mem.pg.mapcount[pfn] == 1:
        m.ops.update_file_mapped(m, pfn, 1)


@kernel_call("page_remove_rmap")
def page_remove_rmap(m: "Machine", pfn: int) -> None:
    """page_remove_rmap() (mm/rmap.c): one mapping less.

    The last unmap of a file page drops FILE_MAPPED; of an anon page it is
    where 3.16 uncharged (a no-op hook in 3.17).
    """
    mem = m.mem
    mem.pg.mapcount[pfn] -= 1
    if mem.pg.mapcount[pfn] == 0:
        if mem.pg.flags[pfn] & PG_anon:
            m.ops.page_remove_rmap(m, pfn)
        else:
            m.ops.update_file_mapped(m, pfn, -1)


def _set_pte(m: "Machine", task: Task, v: int, pfn: int) -> None:
    task.pte_view[v] = pfn
    rmap_add(m, pfn, task.tid, v)


# -- swap cache ----------------------------------------------------------------
@kernel_call("delete_from_swap_cache")
def delete_from_swap_cache(m: "Machine", pfn: int) -> None:
    """delete_from_swap_cache() (mm/swap_state.c): unlink, free the cache bit, drop the ref."""
    slot = __delete_from_swap_cache(m, pfn)
    remaining = swapcache_free(m, slot)
    m.ops.delete_from_swap_cache(m, pfn, slot, remaining)
    put_page(m, pfn)


@kernel_call("try_to_free_swap")
def try_to_free_swap(m: "Machine", pfn: int) -> bool:
    """try_to_free_swap() (mm/swapfile.c): drop the swap cache of a page no pte needs.

    Only if the slot has no map count left. The page must be locked.
    """
    mem = m.mem
    if not mem.pg.flags[pfn] & PG_locked:
        raise KernelBugError(f"page {pfn} is not locked",
                             "VM_BUG_ON_PAGE(!PageLocked(page), page)",
                             "try_to_free_swap", "mm/swapfile.c")
    if not mem.pg.flags[pfn] & PG_swapcache:
        return False
    if m.swap.count[int(mem.private[pfn])] > 0:
        return False
    delete_from_swap_cache(m, pfn)
    return True


@kernel_call("free_swap_cache")
def _free_swap_cache(m: "Machine", pfn: int) -> None:
    """free_swap_cache() (mm/swap_state.c): at unmap, drop an unmapped page's swap cache."""
    mem = m.mem
    flags = mem.pg.flags[pfn]
    if (flags & PG_swapcache and mem.pg.mapcount[pfn] == 0
            and not flags & PG_locked):
        mem.pg.flags[pfn] |= PG_locked
        try_to_free_swap(m, pfn)
        mem.pg.flags[pfn] &= 0xFFFF ^ PG_locked


@kernel_call("free_swap_and_cache", page=None, slot=0)
def free_swap_and_cache(m: "Machine", slot: int) -> None:
    """free_swap_and_cache() (mm/swapfile.c): a swap pte (or tmpfs entry) goes away.

    Drops one map reference (mem_cgroup_uncharge_swap at count 0); if only
    the swap cache is left and its page is unmapped (or swap is full), the
    page leaves the swap cache too.
    """
    remaining = swap_entry_free(m, slot, cache=False)
    if remaining != 1 << 15:             # not "only SWAP_HAS_CACHE left"
        return
    pfn = int(m.swap.page[slot])
    mem = m.mem
    if pfn < 0 or mem.pg.flags[pfn] & PG_locked:
        return
    get_page(m, pfn)                     # find_get_page
    mem.pg.flags[pfn] |= PG_locked
    if mem.pg.flags[pfn] & PG_swapcache and (mem.pg.mapcount[pfn] == 0 or vm_swap_full(m)):
        delete_from_swap_cache(m, pfn)
    mem.pg.flags[pfn] &= 0xFFFF ^ PG_locked
    put_page(m, pfn)


# -- instantiating pages ---------------------------------------------------------
def _charge_or_free(m: "Machine", pfn: int, task: Task, site: str) -> ChargeToken:
    """ops.try_charge; on a memcg OOM the new page is released (VM_FAULT_OOM)."""
    try:
        return m.ops.try_charge(m, pfn, task.memcg, site)
    except MemcgOOM:
        m.mem.pg.flags[pfn] &= 0xFFFF ^ PG_locked
        put_page(m, pfn)
        raise


def do_anonymous_page(m: "Machine", task: Task) -> int:
    """do_anonymous_page() (mm/memory.c): a new anonymous page for a fault.

    try_charge on the fresh page, page_add_new_anon_rmap, commit (lrucare
    false, under the pte lock), then lru_cache_add_active_or_unevictable.
    """
    mem = m.mem
    calls = m.calls
    # a run without the call log makes none of its calls (each costs as
    # much as a line of the path): ``on`` tests it once
    on = calls.enabled
    i = calls.enter("do_anonymous_page") if on else -1
    try:
        pfn = mem.alloc_one()
        if on:
            calls.set_page(i, pfn)
            calls.leaf("alloc_zeroed_user_highpage_movable", pfn)
        token = _charge_or_free(m, pfn, task, "anon")
        v = task.alloc_vaddr()
        pg = mem.pg
        pg.flags[pfn] |= PG_anon | PG_swapbacked     # page_add_new_anon_rmap
        pg.mapping[pfn] = task.tid
        pg.mapcount[pfn] = 1
        if on:
            calls.leaf("page_add_new_anon_rmap", pfn)
        m.ops.commit_charge(m, pfn, token, False, "anon")
        lru_cache_add(m, pfn, active=True, fn="lru_cache_add_active_or_unevictable")
        _set_pte(m, task, v, pfn)                     # set_pte_at
        return pfn
    finally:
        if on:
            calls.leave(i)


def fault_anon_range(m: "Machine", task: Task, n: int) -> np.ndarray:
    """``n`` anonymous faults of one task: n do_anonymous_page() calls.

    As one batch (bulk.fault_anon_range) when every charge fits without
    reclaim, otherwise one by one; either way the same state.
    """
    if n <= 0:
        return np.zeros(0, np.int64)
    pfns = bulk.fault_anon_range(m, task, n)
    if pfns is None:
        pfns = np.array([do_anonymous_page(m, task) for _ in range(n)], np.int64)
    return pfns


def _new_cache_page(m: "Machine", task: Task, file: File, shmem: bool) -> int:
    """Allocate, charge and insert a page into ``file`` (caller holds one ref)."""
    mem = m.mem
    calls = m.calls
    on = calls.enabled                           # no call log: none of its calls
    i = calls.enter("shmem_getpage_gfp" if shmem else "add_to_page_cache_lru") \
        if on else -1
    try:
        pfn = mem.alloc_one()
        if shmem:
            mem.pg.flags[pfn] |= PG_swapbacked
        mem.pg.flags[pfn] |= PG_locked               # __set_page_locked
        if on:
            calls.set_page(i, pfn)
            calls.leaf("alloc_pages", pfn)
        j = calls.enter("__add_to_page_cache_locked", pfn) if on and not shmem else -1
        try:
            token = _charge_or_free(m, pfn, task, "shmem" if shmem else "file")
            k = calls.enter("shmem_add_to_page_cache", pfn) if on and shmem else -1
            mem.pg.refcount[pfn] += 1                # page_cache_get
            if on:
                calls.leaf("page_cache_get", pfn)
            mem.pg.mapping[pfn] = file.fid
            off = file.next_offset
            file.next_offset += 1
            file.pages[off], file.offset_of[pfn] = pfn, off
            if on:
                calls.leave(k)
            m.ops.commit_charge(m, pfn, token, False, "shmem" if shmem else "file")
        finally:
            if on:
                calls.leave(j)
        lru_cache_add(m, pfn, fn="lru_cache_add_anon" if shmem else "lru_cache_add_file")
    finally:
        if on:
            calls.leave(i)
    mem.pg.flags[pfn] &= 0xFFFF ^ PG_locked      # the read is done
    if on:
        calls.leaf("unlock_page", pfn)
    return pfn


def add_to_page_cache_lru(m: "Machine", task: Task, file: File, mapped: bool) -> int:
    """add_to_page_cache_lru() (mm/filemap.c) for a page read by ``task``.

    __add_to_page_cache_locked: try_charge (memcg of the reader's mm), radix
    tree insertion, commit (lrucare false); then the LRU. ``mapped``: the
    read was a page fault (filemap_fault), so the page is mapped too.
    """
    pfn = _new_cache_page(m, task, file, shmem=False)
    if mapped:
        _map_file_page(m, task, pfn, take_ref=False)
    else:
        put_page(m, pfn)                         # the reader's reference
    return pfn


def shmem_getpage_new(m: "Machine", task: Task, file: File, mapped: bool = True) -> int:
    """shmem_getpage_gfp() (mm/shmem.c) for a new tmpfs page, then shmem_fault maps it.

    try_charge, shmem_add_to_page_cache, commit (lrucare false),
    lru_cache_add_anon: a tmpfs page lives on the anon LRU but counts as cache.
    """
    pfn = _new_cache_page(m, task, file, shmem=True)
    if mapped:
        _map_file_page(m, task, pfn, take_ref=False)
    else:
        put_page(m, pfn)
    return pfn


def _map_file_page(m: "Machine", task: Task, pfn: int, take_ref: bool) -> None:
    """do_set_pte() of a file fault (the fault's reference is the pte's)."""
    i = m.calls.enter("do_set_pte", pfn)
    try:
        if take_ref:
            get_page(m, pfn)                     # find_get_page in filemap_fault
        v = task.alloc_vaddr()
        page_add_file_rmap(m, pfn)
        _set_pte(m, task, v, pfn)
    finally:
        m.calls.leave(i)


def map_page(m: "Machine", task: Task, pfn: int) -> None:
    """Another pte for an existing page: fork's page_dup_rmap for anon, a fault for file."""
    mem = m.mem
    if mem.pg.mapcount[pfn] >= MAX_MAPCOUNT:
        raise ModelUsageError(f"page {pfn} is mapped {MAX_MAPCOUNT:,} times, "
                              f"the most the model counts (mapcount is 16 bits)")
    if mem.pg.flags[pfn] & PG_anon:
        if mem.pg.mapcount[pfn] == 0:
            raise ModelUsageError(
                f"page {pfn} is an anonymous page nobody maps any more; only "
                f"a task that maps it can share it (fork)")
        calls = m.calls
        on = calls.enabled                       # no call log: none of its calls
        if on:
            i = calls.enter("copy_one_pte", pfn)
        get_page(m, pfn)
        mem.pg.mapcount[pfn] += 1
        if on:
            calls.leaf("page_dup_rmap", pfn)
        _set_pte(m, task, task.alloc_vaddr(), pfn)
        if on:
            calls.leave(i)
    elif mem.pg.mapping[pfn] >= 0:
        _map_file_page(m, task, pfn, take_ref=True)
    else:
        raise ModelUsageError(f"page {pfn} is in no page cache and not "
                              f"anonymous, so no fault can map it")


def map_swap(m: "Machine", task: Task, slot: int) -> None:
    """copy_one_pte() (mm/memory.c) of a swap pte at fork: swap_duplicate()."""
    if m.swap.count[slot] <= 0:
        raise ModelUsageError(f"swap entry {slot} is not mapped by any task, "
                              f"so fork cannot copy a pte for it")
    i = m.calls.enter("copy_one_pte", slot=slot)
    swap_duplicate(m, slot)
    v = task.alloc_vaddr()
    task.pte[v] = swp_pte(slot)
    m.calls.leave(i)


# -- unmapping -------------------------------------------------------------------
def zap_ptes(m: "Machine", task: Task, vs: Union[np.ndarray, list[int]]) -> None:
    """zap_pte_range() + tlb_finish_mmu() (mm/memory.c) for some ptes of a task.

    Page ptes: page_remove_rmap; swap ptes: free_swap_and_cache (both in
    the pte walk); then tlb_flush_mmu's free_pages_and_swap_cache drops the
    swap cache of pages nobody maps and release_pages the batch. Exclusive anon pages outside the swap cache are
    handled as one vectorised batch with the same effect. ``vs``: an array,
    or a list of a few virtual pages (a munmap of one page builds no array).
    """
    calls = m.calls
    on = calls.enabled                           # no call log: none of its calls
    batches = m.ops.uncharge_batches             # (no hook call where it does nothing)
    if batches:
        m.ops.uncharge_start(m)
    pfns: Union[np.ndarray, list[int]]
    if isinstance(vs, np.ndarray) and vs.size > bulk.BY_PAGE_MAX:
        # many ptes: the exclusive anon pages as one vectorised batch, the
        # other pages (the slow ones) one by one
        ptes = task.pte[vs]
        task.pte[vs] = PTE_NONE
        task.free_vaddrs(vs)
        is_page = ptes >= 0
        batch = ptes[is_page].astype(np.int64)
        simple = bulk.zap_exclusive_anon(m, task, batch)
        slow = list(zip(batch[~simple].tolist(), vs[is_page][~simple].tolist()))
        pfns = batch
        swaps = ptes[ptes <= -2].tolist()
    else:
        # a few ptes (munmap of one page): every pte one by one, as ints
        slow, swaps, pfns = [], [], []
        pte_of = task.pte_view
        for v in vs.tolist() if isinstance(vs, np.ndarray) else vs:
            pte = pte_of[v]
            pte_of[v] = PTE_NONE
            task.free_vaddr(v)
            if pte >= 0:
                slow.append((pte, v))
                pfns.append(pte)
            elif pte <= -2:
                swaps.append(pte)
    if on:
        i = calls.enter("zap_pte_range", slow[0][0] if len(slow) == 1 else -1)
    for pfn, v in slow:
        rmap_del(m, pfn, task.tid, v)
        page_remove_rmap(m, pfn)
    for pte in swaps:                            # swap ptes go in the same walk
        free_swap_and_cache(m, pte_slot(pte))
    if on:
        calls.leave(i)
        j = calls.enter("tlb_flush_mmu")         # the batched pages are freed
        k = calls.enter("free_pages_and_swap_cache")
    flags = m.mem.pg.flags
    for pfn, _ in slow:
        # free_swap_cache() acts only on a swap-cache page: unrecorded, it
        # is called for those only
        if on or flags[pfn] & PG_swapcache:
            _free_swap_cache(m, pfn)
    release_pages(m, pfns)                       # the batch, in pte order
    if on:
        calls.leave(k)
        calls.leave(j)
    if batches:
        m.ops.uncharge_end(m)


def unmap_page(m: "Machine", task: Task, pfn: int) -> None:
    """munmap of one page: the task's pte for it is zapped."""
    v = rmap_find(m, pfn, task.tid)
    if v < 0:
        raise ModelUsageError(f"task {task.name!r} does not map page {pfn}")
    zap_ptes(m, task, [v])


def unmap_swap(m: "Machine", task: Task, slot: int) -> None:
    """munmap of a swapped-out page: the task's swap pte is zapped."""
    v = task.find(swp_pte(slot))
    if v < 0:
        raise ModelUsageError(f"task {task.name!r} has no swap pte for swap "
                              f"entry {slot}")
    zap_ptes(m, task, [v])


@kernel_call("exit_mmap", page=None)
def exit_mmap(m: "Machine", task: Task) -> None:
    """exit_mmap() (mm/mmap.c): unmap every pte of the task."""
    zap_ptes(m, task, task.entries().astype(np.int32))


# -- page cache removal ----------------------------------------------------------
@kernel_call("__delete_from_page_cache")
def _delete_from_page_cache(m: "Machine", pfn: int) -> File:
    """__delete_from_page_cache() (mm/filemap.c): page->mapping = NULL.

    No memcg call in either design: 3.16 uncharged in its callers
    delete_from_page_cache() and __remove_mapping() (ops.delete_from_page_cache),
    not in shmem_writepage() or replace_page_cache_page().
    """
    mem = m.mem
    file = m.file_list[mem.pg.mapping[pfn]]
    off = file.offset_of.pop(pfn)
    del file.pages[off]
    mem.pg.mapping[pfn] = -1
    return file


def truncate_page(m: "Machine", pfn: int) -> None:
    """truncate_inode_page() (mm/truncate.c) for one page-cache page.

    With a pagevec reference and the page lock: unmap_mapping_range zaps
    every pte mapping it, delete_from_page_cache drops the cache reference;
    the final put (pagevec_release -> release_pages) uncharges it.
    """
    mem = m.mem
    if mem.pg.flags[pfn] & PG_anon or mem.pg.mapping[pfn] < 0:
        raise ModelUsageError(f"page {pfn} is not in a page cache, so there "
                              f"is nothing to truncate")
    calls = m.calls
    get_page(m, pfn)                             # find_get_pages
    maps = rmap_all(m, pfn)
    if maps:
        i = calls.enter("unmap_mapping_range", pfn)
        for tid, v in maps:
            zap_ptes(m, m.task_list[tid], [v])
        calls.leave(i)
    m.ops.uncharge_start(m)
    lock_page(m, pfn)
    i = calls.enter("truncate_inode_page", pfn)
    j = calls.enter("delete_from_page_cache", pfn)
    _delete_from_page_cache(m, pfn)
    m.ops.delete_from_page_cache(m, pfn)         # 3.16 uncharges here
    put_page(m, pfn)                             # page_cache_release
    calls.leave(j)
    calls.leave(i)
    unlock_page(m, pfn)
    m.ops.uncharge_end(m)
    release_pages(m, [pfn])                      # pagevec_release


@kernel_call("shmem_free_swap", page=None)
def shmem_free_swap(m: "Machine", file: File, off: int) -> None:
    """shmem_free_swap() (mm/shmem.c): truncating a swapped-out tmpfs page."""
    slot = file.swap.pop(off)
    free_swap_and_cache(m, slot)


# -- swap-in -------------------------------------------------------------------------
def _read_swap_cache_async(m: "Machine", slot: int) -> int:
    """lookup_swap_cache() or read_swap_cache_async() (mm/swap_state.c): the page for a slot, with a reference.

    A new page enters the swap cache uncharged and goes on an LRU, which
    mem_cgroup_page_lruvec() makes root's.
    """
    pfn = int(m.swap.page[slot])
    if pfn >= 0:
        i = m.calls.enter("lookup_swap_cache", pfn, slot)
        get_page(m, pfn)
        m.calls.leave(i)
        return pfn
    mem = m.mem
    if m.swap.cache[slot]:
        raise KernelBugError(f"swap slot {slot} has SWAP_HAS_CACHE but no page",
                             "swapcache_prepare() == -EEXIST forever",
                             "read_swap_cache_async", "mm/swap_state.c")
    i = m.calls.enter("read_swap_cache_async", slot=slot)
    pfn = mem.alloc_one()
    m.calls.set_page(i, pfn)
    m.calls.leaf("alloc_pages", pfn)
    m.swap.cache[slot] = True                    # swapcache_prepare
    add_to_swap_cache(m, pfn, slot)
    lru_cache_add(m, pfn, fn="lru_cache_add_anon")
    m.calls.leave(i)
    return pfn


def _swapin_locked_charged(m: "Machine", slot: int, task: Task,
                           site: str) -> tuple[int, ChargeToken]:
    """The swap-in start do_swap_page and shmem_getpage_gfp share: the
    slot's page (read in if needed), lock_page, ops.try_charge; on a memcg
    OOM the page is unlocked and released before the error propagates."""
    pfn = _read_swap_cache_async(m, slot)
    lock_page(m, pfn)
    try:
        return pfn, m.ops.try_charge(m, pfn, task.memcg, site)
    except MemcgOOM:
        unlock_page(m, pfn)
        put_page(m, pfn)
        raise


def do_swap_page(m: "Machine", task: Task, slot: int) -> int:
    """do_swap_page() (mm/memory.c): a read fault on a swap pte.

    Page from the swap cache (read in if needed), locked; try_charge (the
    memcg recorded for the slot); pte set, do_page_add_anon_rmap; commit
    with lrucare (it is on root's LRU) which also drops the slot's memsw
    duplicate; swap_free; try_to_free_swap if swap is more than half full.
    """
    v = task.find(swp_pte(slot))
    if v < 0:
        raise ModelUsageError(f"task {task.name!r} has no swap pte for swap "
                              f"entry {slot}")
    mem = m.mem
    calls = m.calls
    i = calls.enter("do_swap_page", slot=slot)
    try:
        pfn, token = _swapin_locked_charged(m, slot, task, "swapin")
        calls.set_page(i, pfn)
        task.pte[v] = pfn                        # set_pte_at
        rmap_add(m, pfn, task.tid, v)
        if mem.pg.mapcount[pfn] == 0:            # __page_set_anon_rmap
            mem.pg.flags[pfn] |= PG_anon
            mem.pg.mapping[pfn] = task.tid
        mem.pg.mapcount[pfn] += 1
        calls.leaf("do_page_add_anon_rmap", pfn)
        m.ops.commit_charge(m, pfn, token, True, "swapin")
        swap_free(m, slot)
        if vm_swap_full(m):
            try_to_free_swap(m, pfn)
        unlock_page(m, pfn)
        return pfn
    finally:
        calls.leave(i)


def shmem_swapin(m: "Machine", task: Task, file: File, off: int,
                 mapped: bool = True) -> int:
    """shmem_getpage_gfp() (mm/shmem.c) for a swapped-out tmpfs page, then shmem_fault.

    try_charge on the locked swap-cache page, shmem_add_to_page_cache,
    commit with lrucare, delete_from_swap_cache, swap_free.
    """
    mem = m.mem
    calls = m.calls
    slot = file.swap[off]
    i = calls.enter("shmem_getpage_gfp", slot=slot)
    try:
        pfn, token = _swapin_locked_charged(m, slot, task, "shmem_swapin")
        calls.set_page(i, pfn)
        mem.pg.refcount[pfn] += 1                # shmem_add_to_page_cache
        mem.pg.mapping[pfn] = file.fid
        del file.swap[off]
        file.pages[off], file.offset_of[pfn] = pfn, off
        calls.leaf("shmem_add_to_page_cache", pfn)
        m.ops.commit_charge(m, pfn, token, True, "shmem_swapin")
        delete_from_swap_cache(m, pfn)
        swap_free(m, slot)
        unlock_page(m, pfn)
    finally:
        calls.leave(i)
    if mapped:
        _map_file_page(m, task, pfn, take_ref=False)
    else:
        put_page(m, pfn)
    return pfn


# -- page cache replacement ------------------------------------------------------------
def replace_page_cache_page(m: "Machine", old: int, new: Optional[int]) -> int:
    """fuse_try_move_page() + replace_page_cache_page() (fs/fuse/dev.c, mm/filemap.c).

    A fuse splice with SPLICE_F_MOVE hands a pipe-buffer page to the page
    cache in place of the readahead page ``old``. ``new`` None: a fresh,
    uncharged pipe page; otherwise an existing page that the caller pinned
    once with get_page (the pipe buffer's reference), unmapped and in no
    cache, maybe charged to some memcg and on its LRU. replace_page_cache_page
    locks both, moves the radix-tree slot, calls mem_cgroup_migrate(old, new,
    lrucare=true) and drops the cache reference of old; fuse puts the new page
    on the LRU if it was not there, releases the pipe reference, and the
    request's reference on old is dropped last (its final put).
    """
    mem = m.mem
    if mem.pg.flags[old] & PG_anon or mem.pg.mapping[old] < 0:
        raise ModelUsageError(f"page {old} is not a page-cache page")
    file = m.file_list[mem.pg.mapping[old]]
    if file.shmem:
        raise ModelUsageError(f"page {old} is a tmpfs page; replace_page_cache "
                              f"models the fuse splice path for regular files")
    if mem.pg.mapcount[old]:
        raise ModelUsageError(f"page {old} is mapped; fuse only replaces "
                              f"readahead pages nobody maps yet")
    if new is None:
        new = mem.alloc_one()                    # the pipe buffer's page
    else:
        if (mem.pg.mapcount[new] or mem.pg.mapping[new] >= 0
                or mem.pg.flags[new] & (PG_swapcache | PG_anon)):
            raise ModelUsageError(
                f"page {new} cannot be stolen from a pipe: fuse_check_page "
                f"wants it unmapped and in no page or swap cache")
        if mem.pg.refcount[new] != 1:
            raise ModelUsageError(
                f"page {new} must be held only by the pipe buffer (one "
                f"get_page), it has {mem.pg.refcount[new]} references")
    calls = m.calls
    was_lru = bool(mem.pg.flags[new] & PG_lru)
    get_page(m, old)                             # the fuse request's reference
    i = calls.enter("fuse_try_move_page", new)
    lock_page(m, old)
    lock_page(m, new)
    j = calls.enter("replace_page_cache_page", old)
    get_page(m, new)                             # page_cache_get(new)
    off = file.offset_of[old]
    mem.pg.mapping[new] = file.fid
    _delete_from_page_cache(m, old)
    file.pages[off], file.offset_of[new] = new, off
    m.ops.replace_page_cache(m, old, new)
    put_page(m, old)                             # page_cache_release(old)
    calls.leave(j)
    if not was_lru:
        lru_cache_add(m, new, fn="lru_cache_add_file")
    unlock_page(m, new)
    unlock_page(m, old)
    put_page(m, new)                             # pipe buffer released
    calls.leave(i)
    put_page(m, old)                             # request done
    return new
