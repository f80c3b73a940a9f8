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

from typing import TYPE_CHECKING, Optional

import numpy as np

from ..errors import KernelBugError, MemcgOOM, ModelUsageError
from .lru import (LRU_ACTIVE_ANON, del_page_from_lru_list, del_pages_from_lru,
                  lru_cache_add, lru_cache_add_many)
from .memcontrol import commit_charge_bulk, try_charge_bulk
from .pages import (PG_anon, PG_locked, PG_lru, PG_swapbacked, PG_swapcache,
                    PG_unevictable)
from .swap import (__delete_from_swap_cache, add_to_swap_cache, swap_duplicate,
                   swap_entry_free, swap_free, swapcache_free, vm_swap_full)
from .tasks import PTE_NONE, File, Task, pte_slot, swp_pte

if TYPE_CHECKING:
    from .machine import Machine

__all__ = ["rmap_add", "rmap_del", "rmap_all", "rmap_find", "get_page",
           "put_page", "release_pages", "putback_lru_page", "lock_page",
           "unlock_page", "page_remove_rmap", "page_add_file_rmap",
           "try_to_free_swap", "delete_from_swap_cache", "free_swap_and_cache",
           "do_anonymous_page", "fault_anon_range", "add_to_page_cache_lru",
           "shmem_getpage_new", "map_page", "map_swap", "zap_ptes",
           "unmap_page", "unmap_swap", "truncate_page", "shmem_free_swap",
           "do_swap_page", "shmem_swapin", "replace_page_cache_page",
           "exit_mmap", "cache_refs"]


# -- reverse map: which ptes map a page --------------------------------------
def rmap_add(m: "Machine", pfn: int, tid: int, v: int) -> None:
    """Remember that pte ``v`` of task ``tid`` maps the page (anon_vma / i_mmap)."""
    mem = m.mem
    if mem.rmap_task[pfn] < 0:
        mem.rmap_task[pfn], mem.rmap_addr[pfn] = tid, v
    else:
        m.rmap_extra.setdefault(pfn, []).append((tid, v))


def rmap_del(m: "Machine", pfn: int, tid: int, v: int) -> None:
    """Forget that pte ``v`` of task ``tid`` maps the page."""
    mem = m.mem
    extra = m.rmap_extra.get(pfn)
    if mem.rmap_task[pfn] == tid and mem.rmap_addr[pfn] == v:
        if extra:
            mem.rmap_task[pfn], mem.rmap_addr[pfn] = extra.pop(0)
        else:
            mem.rmap_task[pfn] = mem.rmap_addr[pfn] = -1
    else:
        extra.remove((tid, v))  # type: ignore[union-attr]
    if extra is not None and not extra:
        del m.rmap_extra[pfn]


def rmap_all(m: "Machine", pfn: int) -> list[tuple[int, int]]:
    """Every (task id, virtual page) mapping the page (rmap_walk)."""
    mem = m.mem
    if mem.rmap_task[pfn] < 0:
        return []
    return [(int(mem.rmap_task[pfn]), int(mem.rmap_addr[pfn]))] + \
        list(m.rmap_extra.get(pfn, ()))


def rmap_find(m: "Machine", pfn: int, tid: int) -> int:
    """The virtual page at which task ``tid`` maps the page, or -1."""
    for t, v in rmap_all(m, pfn):
        if t == tid:
            return v
    return -1


# -- references and the final put --------------------------------------------
def cache_refs(m: "Machine", pfn: int) -> int:
    """References held by the page cache and the swap cache."""
    mem = m.mem
    in_pc = not mem.flags[pfn] & PG_anon and mem.mapping[pfn] >= 0
    return int(in_pc) + int(bool(mem.flags[pfn] & PG_swapcache))


def get_page(m: "Machine", pfn: int) -> None:
    """get_page() (include/linux/mm.h): one more reference. VM_BUG_ON_PAGE(page_count <= 0)."""
    if m.mem.refcount[pfn] <= 0:
        raise KernelBugError(f"page {pfn} has no reference to copy",
                             "VM_BUG_ON_PAGE(atomic_read(&page->_count) <= 0, page)",
                             "get_page", "include/linux/mm.h")
    m.mem.refcount[pfn] += 1


def _free_page(m: "Machine", pfn: int) -> None:
    """__page_cache_release() then free_hot_cold_page() (mm/swap.c, mm/page_alloc.c) for a page at count 0."""
    mem = m.mem
    if mem.flags[pfn] & PG_lru:
        del_page_from_lru_list(m, pfn)
        mem.flags[pfn] &= 0xFFFF ^ PG_lru
    m.ops.page_cache_release(m, pfn)
    mem.free_one(pfn)


def put_page(m: "Machine", pfn: int) -> None:
    """put_page() (mm/swap.c): drop a reference; the last one frees the page.

    The final put goes through __page_cache_release(): off the LRU, then
    mem_cgroup_uncharge(), then back to the page allocator.
    """
    mem = m.mem
    if mem.refcount[pfn] <= 0:
        raise KernelBugError(f"page {pfn} has no reference left to drop",
                             "VM_BUG_ON_PAGE(atomic_read(&page->_count) == 0, page)",
                             "put_page_testzero", "include/linux/mm.h")
    mem.refcount[pfn] -= 1
    if mem.refcount[pfn] == 0:
        _free_page(m, pfn)


def release_pages(m: "Machine", pfns: np.ndarray) -> None:
    """release_pages() (mm/swap.c): drop one reference of each page.

    Pages whose count reaches zero come off their LRU and are uncharged
    together through mem_cgroup_uncharge_list(), then freed.
    """
    mem = m.mem
    if pfns.size <= 8:                           # a pagevec: page by page
        dead = []
        for pfn in pfns.tolist():
            if mem.refcount[pfn] <= 0:
                raise KernelBugError(
                    f"page {pfn} has no reference left to drop",
                    "VM_BUG_ON_PAGE(atomic_read(&page->_count) == 0, page)",
                    "put_page_testzero", "include/linux/mm.h")
            mem.refcount[pfn] -= 1
            if mem.refcount[pfn] == 0:
                if mem.flags[pfn] & PG_lru:
                    del_page_from_lru_list(m, pfn)
                    mem.flags[pfn] &= 0xFFFF ^ PG_lru
                dead.append(pfn)
        if dead:
            m.ops.release_pages(m, np.array(dead, np.int64))
            for pfn in dead:
                mem.free_one(pfn)
        return
    if np.any(mem.refcount[pfns] <= 0):
        bad = int(pfns[np.flatnonzero(mem.refcount[pfns] <= 0)[0]])
        raise KernelBugError(f"page {bad} has no reference left to drop",
                             "VM_BUG_ON_PAGE(atomic_read(&page->_count) == 0, page)",
                             "put_page_testzero", "include/linux/mm.h")
    if pfns.size == 1:
        mem.refcount[pfns] -= 1
        dead = pfns[mem.refcount[pfns] == 0]
    else:                                        # a page may come twice
        srt = np.sort(pfns)
        first = np.flatnonzero(np.r_[True, srt[1:] != srt[:-1]])
        uniq = srt[first]
        mem.refcount[uniq] -= np.diff(np.r_[first, srt.size]).astype(np.int32)
        dead = uniq[mem.refcount[uniq] == 0]
    if not dead.size:
        return
    on_lru = dead[(mem.flags[dead] & PG_lru) != 0]
    if on_lru.size:
        del_pages_from_lru(m, on_lru)
    m.ops.release_pages(m, dead)
    mem.free(dead)


def lock_page(m: "Machine", pfn: int) -> None:
    """lock_page() (include/linux/pagemap.h): the model runs one path at a time, so the lock must be free."""
    if m.mem.flags[pfn] & PG_locked:
        raise ModelUsageError(f"page {pfn} is locked (lock_page would sleep "
                              f"forever in this single-threaded model)")
    m.mem.flags[pfn] |= PG_locked


def unlock_page(m: "Machine", pfn: int) -> None:
    """unlock_page() (mm/filemap.c): VM_BUG_ON_PAGE(!PageLocked(page))."""
    if not m.mem.flags[pfn] & PG_locked:
        raise KernelBugError(f"page {pfn} is not locked",
                             "VM_BUG_ON_PAGE(!PageLocked(page), page)",
                             "unlock_page", "mm/filemap.c")
    m.mem.flags[pfn] &= 0xFFFF ^ PG_locked


def putback_lru_page(m: "Machine", pfn: int) -> None:
    """putback_lru_page() (mm/vmscan.c): back on an LRU, drop the isolation reference.

    mem_cgroup_page_lruvec() picks the lruvec, so a page that lost its
    charge (a migration source) lands on root's lists before its final put.
    """
    m.mem.flags[pfn] &= 0xFFFF ^ PG_unevictable
    lru_cache_add(m, pfn)
    put_page(m, pfn)


# -- rmap ---------------------------------------------------------------------
def page_add_file_rmap(m: "Machine", pfn: int) -> None:
    """page_add_file_rmap() (mm/rmap.c): first mapping of a file page counts FILE_MAPPED."""
    mem = m.mem
    mem.mapcount[pfn] += 1
    if mem.mapcount[pfn] == 1:
        m.ops.update_file_mapped(m, pfn, 1)


def page_remove_rmap(m: "Machine", pfn: int) -> None:
    """page_remove_rmap() (mm/rmap.c): one mapping less.

    The last unmap of a file page drops FILE_MAPPED; of an anon page it is
    where 3.16 uncharged (a no-op hook in 3.17).
    """
    mem = m.mem
    mem.mapcount[pfn] -= 1
    if mem.mapcount[pfn] == 0:
        if mem.flags[pfn] & PG_anon:
            m.ops.page_remove_rmap(m, pfn)
        else:
            m.ops.update_file_mapped(m, pfn, -1)


def _set_pte(m: "Machine", task: Task, v: int, pfn: int) -> None:
    task.pte[v] = pfn
    rmap_add(m, pfn, task.tid, v)


# -- swap cache ----------------------------------------------------------------
def delete_from_swap_cache(m: "Machine", pfn: int) -> None:
    """delete_from_swap_cache() (mm/swap_state.c): unlink, free the cache bit, drop the ref."""
    slot = __delete_from_swap_cache(m, pfn)
    remaining = swapcache_free(m, slot)
    m.ops.delete_from_swap_cache(m, pfn, slot, remaining)
    put_page(m, pfn)


def try_to_free_swap(m: "Machine", pfn: int) -> bool:
    """try_to_free_swap() (mm/swapfile.c): drop the swap cache of a page no pte needs.

    Only if the slot has no map count left. The page must be locked.
    """
    mem = m.mem
    if not mem.flags[pfn] & PG_locked:
        raise KernelBugError(f"page {pfn} is not locked",
                             "VM_BUG_ON_PAGE(!PageLocked(page), page)",
                             "try_to_free_swap", "mm/swapfile.c")
    if not mem.flags[pfn] & PG_swapcache:
        return False
    if m.swap.count[int(mem.private[pfn])] > 0:
        return False
    delete_from_swap_cache(m, pfn)
    return True


def _free_swap_cache(m: "Machine", pfn: int) -> None:
    """free_swap_cache() (mm/swap_state.c): at unmap, drop an unmapped page's swap cache."""
    mem = m.mem
    if (mem.flags[pfn] & PG_swapcache and mem.mapcount[pfn] == 0
            and not mem.flags[pfn] & PG_locked):
        mem.flags[pfn] |= PG_locked
        try_to_free_swap(m, pfn)
        mem.flags[pfn] &= 0xFFFF ^ PG_locked


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
    if pfn < 0 or mem.flags[pfn] & PG_locked:
        return
    get_page(m, pfn)                     # find_get_page
    mem.flags[pfn] |= PG_locked
    if mem.flags[pfn] & PG_swapcache and (mem.mapcount[pfn] == 0 or vm_swap_full(m)):
        delete_from_swap_cache(m, pfn)
    mem.flags[pfn] &= 0xFFFF ^ PG_locked
    put_page(m, pfn)


# -- instantiating pages ---------------------------------------------------------
def _charge_or_free(m: "Machine", pfn: int, task: Task, site: str):
    """ops.try_charge; on a memcg OOM the new page is released (VM_FAULT_OOM)."""
    try:
        return m.ops.try_charge(m, pfn, task.memcg, site)
    except MemcgOOM:
        m.mem.flags[pfn] &= 0xFFFF ^ PG_locked
        put_page(m, pfn)
        raise


def do_anonymous_page(m: "Machine", task: Task) -> int:
    """do_anonymous_page() (mm/memory.c): a new anonymous page for a fault.

    try_charge on the fresh page, page_add_new_anon_rmap, commit (lrucare
    false, under the pte lock), then lru_cache_add_active_or_unevictable.
    """
    mem = m.mem
    pfn = mem.alloc_one()
    token = _charge_or_free(m, pfn, task, "anon")
    v = int(task.alloc_vaddrs(1)[0])
    mem.flags[pfn] |= PG_anon | PG_swapbacked     # page_add_new_anon_rmap
    mem.mapping[pfn] = task.tid
    mem.mapcount[pfn] = 1
    _set_pte(m, task, v, pfn)
    m.ops.commit_charge(m, pfn, token, False, "anon")
    lru_cache_add(m, pfn, active=True)
    return pfn


def fault_anon_range(m: "Machine", task: Task, n: int) -> np.ndarray:
    """``n`` anonymous faults of one task, vectorised where that is exact.

    The same as n do_anonymous_page() calls: when every charge fits without
    reclaim (try_charge_bulk) the pages are charged, mapped, committed and
    put on the active anon list as one batch (events carry the page count);
    otherwise the faults run one by one.
    """
    if n <= 0:
        return np.zeros(0, np.int64)
    mem = m.mem
    if (not m.ops.bulk_ok or n > mem.nr_free
            or not try_charge_bulk(m, task.memcg, n)):
        return np.array([do_anonymous_page(m, task) for _ in range(n)], np.int64)
    pfns = mem.alloc(n)
    m.events.record("mem_cgroup_try_charge", -1, task.memcg.index, n)
    vs = task.alloc_vaddrs(n)
    mem.flags[pfns] = PG_anon | PG_swapbacked
    mem.mapping[pfns] = task.tid
    mem.mapcount[pfns] = 1
    mem.rmap_task[pfns] = task.tid
    mem.rmap_addr[pfns] = vs
    task.pte[vs] = pfns
    commit_charge_bulk(m, pfns, task.memcg)
    m.events.record("mem_cgroup_commit_charge", -1, task.memcg.index, n)
    lru_cache_add_many(m, pfns, LRU_ACTIVE_ANON)
    return pfns.astype(np.int64)


def _new_cache_page(m: "Machine", task: Task, file: File, shmem: bool) -> int:
    """Allocate, charge and insert a page into ``file`` (caller holds one ref)."""
    mem = m.mem
    pfn = mem.alloc_one()
    if shmem:
        mem.flags[pfn] |= PG_swapbacked
    mem.flags[pfn] |= PG_locked
    token = _charge_or_free(m, pfn, task, "shmem" if shmem else "file")
    mem.refcount[pfn] += 1                       # page_cache_get
    mem.mapping[pfn] = file.fid
    off = file.next_offset
    file.next_offset += 1
    file.pages[off], file.offset_of[pfn] = pfn, off
    m.ops.commit_charge(m, pfn, token, False, "shmem" if shmem else "file")
    lru_cache_add(m, pfn)                        # lru_cache_add_anon / _file
    mem.flags[pfn] &= 0xFFFF ^ PG_locked
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
    if take_ref:
        get_page(m, pfn)
    v = int(task.alloc_vaddrs(1)[0])
    page_add_file_rmap(m, pfn)
    _set_pte(m, task, v, pfn)


def map_page(m: "Machine", task: Task, pfn: int) -> None:
    """Another pte for an existing page: fork's page_dup_rmap for anon, a fault for file."""
    mem = m.mem
    if mem.flags[pfn] & PG_anon:
        if mem.mapcount[pfn] == 0:
            raise ModelUsageError(
                f"page {pfn} is an anonymous page nobody maps any more; only "
                f"a task that maps it can share it (fork)")
        get_page(m, pfn)
        mem.mapcount[pfn] += 1
        _set_pte(m, task, int(task.alloc_vaddrs(1)[0]), pfn)
    elif mem.mapping[pfn] >= 0:
        _map_file_page(m, task, pfn, take_ref=True)
    else:
        raise ModelUsageError(f"page {pfn} is in no page cache and not "
                              f"anonymous, so no fault can map it")


def map_swap(m: "Machine", task: Task, slot: int) -> None:
    """copy_one_pte() (mm/memory.c) of a swap pte at fork: swap_duplicate()."""
    if m.swap.count[slot] <= 0:
        raise ModelUsageError(f"swap entry {slot} is not mapped by any task, "
                              f"so fork cannot copy a pte for it")
    swap_duplicate(m, slot)
    v = int(task.alloc_vaddrs(1)[0])
    task.pte[v] = swp_pte(slot)


# -- unmapping -------------------------------------------------------------------
def zap_ptes(m: "Machine", task: Task, vs: np.ndarray) -> None:
    """zap_pte_range() + tlb_finish_mmu() (mm/memory.c) for some ptes of a task.

    Page ptes: page_remove_rmap, then free_pages_and_swap_cache (drop the
    swap cache of pages nobody maps, release_pages). Swap ptes:
    free_swap_and_cache. Exclusive anon pages outside the swap cache are
    handled as one vectorised batch with the same effect.
    """
    mem = m.mem
    m.ops.uncharge_start(m)
    ptes = task.pte[vs]
    task.pte[vs] = PTE_NONE
    task.free_vaddrs(vs)
    is_page = ptes >= 0
    pfns = ptes[is_page].astype(np.int64)
    vpages = vs[is_page]
    if m.ops.bulk_ok and pfns.size > 8:
        simple = ((mem.mapcount[pfns] == 1) & (mem.rmap_task[pfns] == task.tid)
                  & ((mem.flags[pfns] & (PG_anon | PG_swapcache)) == PG_anon)
                  & (np.bincount(pfns, minlength=mem.nr)[pfns] == 1))
        fast = pfns[simple]
        mem.mapcount[fast] = 0
        mem.rmap_task[fast] = -1
        mem.rmap_addr[fast] = -1
        slow, slow_v = pfns[~simple], vpages[~simple]
    else:
        fast, slow, slow_v = pfns[:0], pfns, vpages
    for pfn, v in zip(slow.tolist(), slow_v.tolist()):
        rmap_del(m, pfn, task.tid, v)
        page_remove_rmap(m, pfn)
    for pfn in slow.tolist():                    # free_pages_and_swap_cache
        _free_swap_cache(m, pfn)
    release_pages(m, np.concatenate([fast, slow]))
    for pte in ptes[ptes <= -2].tolist():
        free_swap_and_cache(m, pte_slot(pte))
    m.ops.uncharge_end(m)


def unmap_page(m: "Machine", task: Task, pfn: int) -> None:
    """munmap of one page: the task's pte for it is zapped."""
    v = rmap_find(m, pfn, task.tid)
    if v < 0:
        raise ModelUsageError(f"task {task.name!r} does not map page {pfn}")
    zap_ptes(m, task, np.array([v], np.int32))


def unmap_swap(m: "Machine", task: Task, slot: int) -> None:
    """munmap of a swapped-out page: the task's swap pte is zapped."""
    v = task.find(swp_pte(slot))
    if v < 0:
        raise ModelUsageError(f"task {task.name!r} has no swap pte for swap "
                              f"entry {slot}")
    zap_ptes(m, task, np.array([v], np.int32))


def exit_mmap(m: "Machine", task: Task) -> None:
    """exit_mmap() (mm/mmap.c): unmap every pte of the task."""
    zap_ptes(m, task, task.entries().astype(np.int32))


# -- page cache removal ----------------------------------------------------------
def _delete_from_page_cache(m: "Machine", pfn: int) -> File:
    """__delete_from_page_cache() (mm/filemap.c): page->mapping = NULL.

    No memcg call in either design: 3.16 uncharged in its callers
    delete_from_page_cache() and __remove_mapping() (ops.delete_from_page_cache),
    not in shmem_writepage() or replace_page_cache_page().
    """
    mem = m.mem
    file = m.file_list[int(mem.mapping[pfn])]
    off = file.offset_of.pop(pfn)
    del file.pages[off]
    mem.mapping[pfn] = -1
    return file


def truncate_page(m: "Machine", pfn: int) -> None:
    """truncate_inode_page() (mm/truncate.c) for one page-cache page.

    With a pagevec reference and the page lock: unmap_mapping_range zaps
    every pte mapping it, delete_from_page_cache drops the cache reference;
    the final put (pagevec_release -> release_pages) uncharges it.
    """
    mem = m.mem
    if mem.flags[pfn] & PG_anon or mem.mapping[pfn] < 0:
        raise ModelUsageError(f"page {pfn} is not in a page cache, so there "
                              f"is nothing to truncate")
    get_page(m, pfn)                             # find_get_pages
    for tid, v in rmap_all(m, pfn):              # unmap_mapping_range
        zap_ptes(m, m.task_list[tid], np.array([v], np.int32))
    m.ops.uncharge_start(m)
    lock_page(m, pfn)
    _delete_from_page_cache(m, pfn)              # delete_from_page_cache:
    m.ops.delete_from_page_cache(m, pfn)         # 3.16 uncharges here
    put_page(m, pfn)                             # page_cache_release
    unlock_page(m, pfn)
    m.ops.uncharge_end(m)
    release_pages(m, np.array([pfn]))


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
        get_page(m, pfn)
        return pfn
    mem = m.mem
    if m.swap.cache[slot]:
        raise KernelBugError(f"swap slot {slot} has SWAP_HAS_CACHE but no page",
                             "swapcache_prepare() == -EEXIST forever",
                             "read_swap_cache_async", "mm/swap_state.c")
    pfn = int(mem.alloc(1)[0])
    m.swap.cache[slot] = True                    # swapcache_prepare
    add_to_swap_cache(m, pfn, slot)
    lru_cache_add(m, pfn)                        # lru_cache_add_anon
    return pfn


def _swapin_locked_charged(m: "Machine", slot: int, task: Task, site: str):
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
    pfn, token = _swapin_locked_charged(m, slot, task, "swapin")
    task.pte[v] = pfn                            # set_pte_at
    rmap_add(m, pfn, task.tid, v)
    if mem.mapcount[pfn] == 0:                   # __page_set_anon_rmap
        mem.flags[pfn] |= PG_anon
        mem.mapping[pfn] = task.tid
    mem.mapcount[pfn] += 1
    m.ops.commit_charge(m, pfn, token, True, "swapin")
    swap_free(m, slot)
    if vm_swap_full(m):
        try_to_free_swap(m, pfn)
    unlock_page(m, pfn)
    return pfn


def shmem_swapin(m: "Machine", task: Task, file: File, off: int,
                 mapped: bool = True) -> int:
    """shmem_getpage_gfp() (mm/shmem.c) for a swapped-out tmpfs page, then shmem_fault.

    try_charge on the locked swap-cache page, shmem_add_to_page_cache,
    commit with lrucare, delete_from_swap_cache, swap_free.
    """
    mem = m.mem
    slot = file.swap[off]
    pfn, token = _swapin_locked_charged(m, slot, task, "shmem_swapin")
    mem.refcount[pfn] += 1                       # shmem_add_to_page_cache
    mem.mapping[pfn] = file.fid
    del file.swap[off]
    file.pages[off], file.offset_of[pfn] = pfn, off
    m.ops.commit_charge(m, pfn, token, True, "shmem_swapin")
    delete_from_swap_cache(m, pfn)
    swap_free(m, slot)
    unlock_page(m, pfn)
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
    if mem.flags[old] & PG_anon or mem.mapping[old] < 0:
        raise ModelUsageError(f"page {old} is not a page-cache page")
    file = m.file_list[int(mem.mapping[old])]
    if file.shmem:
        raise ModelUsageError(f"page {old} is a tmpfs page; replace_page_cache "
                              f"models the fuse splice path for regular files")
    if mem.mapcount[old]:
        raise ModelUsageError(f"page {old} is mapped; fuse only replaces "
                              f"readahead pages nobody maps yet")
    if new is None:
        new = int(mem.alloc(1)[0])               # the pipe buffer's page
    else:
        if (mem.mapcount[new] or mem.mapping[new] >= 0
                or mem.flags[new] & (PG_swapcache | PG_anon)):
            raise ModelUsageError(
                f"page {new} cannot be stolen from a pipe: fuse_check_page "
                f"wants it unmapped and in no page or swap cache")
        if mem.refcount[new] != 1:
            raise ModelUsageError(
                f"page {new} must be held only by the pipe buffer (one "
                f"get_page), it has {int(mem.refcount[new])} references")
    was_lru = bool(mem.flags[new] & PG_lru)
    get_page(m, old)                             # the fuse request's reference
    lock_page(m, old)
    lock_page(m, new)
    get_page(m, new)                             # page cache reference
    off = file.offset_of[old]
    mem.mapping[new] = file.fid
    _delete_from_page_cache(m, old)
    file.pages[off], file.offset_of[new] = new, off
    m.ops.replace_page_cache(m, old, new)
    put_page(m, old)                             # page_cache_release(old)
    if not was_lru:
        lru_cache_add(m, new)                    # lru_cache_add_file
    unlock_page(m, new)
    unlock_page(m, old)
    put_page(m, new)                             # pipe buffer released
    put_page(m, old)                             # request done
    return new
