"""The bulk paths: many pages at once, vectorised, with the one-page paths' effect.

The one-page functions (memcontrol.py, mm.py) read like the kernel
functions they mirror; a learner reads those. The functions here do what
n calls of them do, with numpy over arrays of pfns, for the cases where
that is exact: charges that all fit without reclaim (try_charge_bulk),
fresh anonymous pages (fault_anon_range), uncharging and freeing a batch
(uncharge_list, release_pages) and zapping ptes of pages only one task
maps (zap_exclusive_anon). They mirror the kernel's own batching
(release_pages() -> mem_cgroup_uncharge_list(), one res_counter update per
memcg) and record one event per batch with its page count.
tests/model/test_bulk.py checks that each gives what the one-page path gives.
"""
from __future__ import annotations

from typing import TYPE_CHECKING, Optional

import numpy as np
from numpy.typing import NDArray

from ..errors import KernelBugError
from . import memcontrol as mc
from . import mm
from .lru import LRU_ACTIVE_ANON, del_pages_from_lru, lru_cache_add_many
from .memcg import COL, MemCgroup
from .pages import (PCG_MEM, PCG_MEMSW, PCG_USED, PG_anon, PG_lru,
                    PG_swapbacked, PG_swapcache)
from .res_counter import ResCounter

if TYPE_CHECKING:
    from .machine import Machine
    from .res_counter import ResCounter
    from .tasks import Task

__all__ = ["charge_fits", "try_charge_bulk", "commit_charge_bulk", "uncharge_list",
           "fault_anon_range", "release_pages", "zap_exclusive_anon",
           "MIGRATION_PTES", "BY_PAGE_MAX", "try_to_unmap_migration",
           "remove_migration_ptes"]

#: a page migrated with more ptes than this has them unmapped and remapped
#: as one batch (the call log then shows one page_remove_rmap and one
#: put_page standing for all of them)
MIGRATION_PTES = 16
#: up to this many pages (or ptes) the callers go page by page, through the
#: one-page functions; the vectorised paths here pay off above it
BY_PAGE_MAX = 8

_RSS, _CACHE, _PGPGIN = COL["rss"], COL["cache"], COL["pgpgin"]


def charge_fits(m: "Machine", memcg: MemCgroup, nr_pages: int) -> bool:
    """Would ``nr_pages`` one-page charges of ``memcg`` all fit without reclaim,
    so that try_charge_bulk may take them at once? (Nothing is changed.)"""
    if memcg.is_root:
        return True
    if m.charge_stock:
        return False
    for c in [memcg.res] + ([memcg.memsw] if m.swap_account else []):
        level: Optional[ResCounter] = c
        while level is not None:
            if level.margin() < nr_pages:
                return False
            level = level.parent
    return True


def try_charge_bulk(m: "Machine", memcg: MemCgroup, nr_pages: int) -> bool:
    """``nr_pages`` successive one-page try_charge() calls that all fit, at once.

    Returns False (nothing charged) when that cannot be decided without
    going page by page: the stock is on, or some level of res/memsw has
    less than ``nr_pages`` of margin (a charge would fail or reclaim).
    Otherwise charges every level by ``nr_pages``: the same usage, the same
    max_usage peak and no failcnt, exactly as the single charges would.
    """
    if not charge_fits(m, memcg, nr_pages):
        return False
    if memcg.is_root:
        return True
    for c in [memcg.res] + ([memcg.memsw] if m.swap_account else []):
        failed = c.charge(nr_pages)
        if failed is not None:               # cannot happen: every margin was checked
            raise AssertionError(f"bulk charge of {nr_pages} failed at {failed}")
    return True


def commit_charge_bulk(m: "Machine", pfns: np.ndarray, memcg: MemCgroup) -> None:
    """mem_cgroup_commit_charge(page, memcg, false) for many fresh pages at once.

    Same preconditions as the single commit (mapping set, off the LRU, not
    PCG_USED), checked for the whole batch; RSS/CACHE +n and n PGPGIN.
    """
    mem = m.mem
    if np.any(mem.mapping[pfns] < 0):
        raise mc._bug("a page of the batch has no page->mapping yet",
                      "VM_BUG_ON_PAGE(!page->mapping, page)", "mem_cgroup_commit_charge")
    if np.any(mem.flags[pfns] & PG_lru):
        raise mc._bug("a page of the batch is on an LRU list and lrucare is false",
                      "VM_BUG_ON_PAGE(PageLRU(page) && !lrucare, page)",
                      "mem_cgroup_commit_charge")
    if np.any(mem.pc_flags[pfns] & PCG_USED):
        raise mc._bug("a page of the batch is already charged (PCG_USED)",
                      "VM_BUG_ON_PAGE(PageCgroupUsed(pc), page)", "commit_charge")
    mem.pc_memcg[pfns] = memcg.index
    mem.pc_flags[pfns] = PCG_USED | PCG_MEM | (PCG_MEMSW if m.swap_account else 0)
    n = int(pfns.size)
    n_anon = int(np.count_nonzero(mem.flags[pfns] & PG_anon))
    memcg.row[_RSS] += n_anon
    memcg.row[_CACHE] += n - n_anon
    memcg.row[_PGPGIN] += n
    m.written.add(memcg.index)


def uncharge_list(m: "Machine", pages: np.ndarray) -> None:
    """mem_cgroup_uncharge_list() of an array of pfns: one uncharge_batch per memcg.

    The same checks and counters as memcontrol.mem_cgroup_uncharge_list()
    page by page; memcgs are flushed in index order, as there.
    """
    mem = m.mem
    pfns = pages[(mem.pc_flags[pages] & PCG_USED) != 0]
    if not pfns.size:
        return
    bad = pfns[(mem.flags[pfns] & PG_lru) != 0]
    if bad.size:
        raise mc._bug(f"page {int(bad[0])} is still on an LRU list",
                      "VM_BUG_ON_PAGE(PageLRU(page), page)", "mem_cgroup_uncharge")
    bad = pfns[mem.refcount[pfns] != 0]
    if bad.size:
        raise mc._bug(f"page {int(bad[0])} still has {int(mem.refcount[bad[0]])} "
                      f"reference(s)", "VM_BUG_ON_PAGE(page_count(page), page)",
                      "mem_cgroup_uncharge")
    flags, memcgs = mem.pc_flags[pfns], mem.pc_memcg[pfns]
    anon = (mem.flags[pfns] & PG_anon) != 0
    mem.pc_flags[pfns] = 0
    for mi in np.flatnonzero(np.bincount(memcgs.astype(np.int64))):
        sel = memcgs == mi
        f = flags[sel]
        n_anon = int(np.count_nonzero(anon[sel]))
        n = int(f.size)
        mc._uncharge_batch(m, m.memcg_list[int(mi)], n,
                           int(np.count_nonzero(f & PCG_MEM)),
                           int(np.count_nonzero(f & PCG_MEMSW)), n_anon, n - n_anon)
        m.events.record("mem_cgroup_uncharge_list", -1, int(mi), n)


def fault_anon_range(m: "Machine", task: "Task", n: int) -> np.ndarray | None:
    """``n`` do_anonymous_page() calls of one task as one batch, or None.

    Only when every charge fits without reclaim (try_charge_bulk) and the
    design allows it (ops.bulk_ok): the pages are charged, mapped,
    committed and put on the active anon list together (events carry the
    page count). None: nothing was done, the caller faults page by page.
    """
    mem = m.mem
    if (not m.ops.bulk_ok or n > mem.nr_free
            or not try_charge_bulk(m, task.memcg, n)):
        return None
    pfns = mem.alloc(n)
    m.events.record("mem_cgroup_try_charge", -1, task.memcg.index, n)
    vs = task.alloc_vaddrs(n)
    mem.flags[pfns] = PG_anon | PG_swapbacked        # page_add_new_anon_rmap
    mem.mapping[pfns] = task.tid
    mem.mapcount[pfns] = 1
    mem.rmap_task[pfns] = task.tid
    mem.rmap_addr[pfns] = vs
    task.pte[vs] = pfns
    commit_charge_bulk(m, pfns, task.memcg)
    m.events.record("mem_cgroup_commit_charge", -1, task.memcg.index, n)
    lru_cache_add_many(m, pfns, LRU_ACTIVE_ANON)
    return pfns.astype(np.int64)


def release_pages(m: "Machine", pfns: np.ndarray) -> None:
    """release_pages() of more pages than a pagevec, vectorised (mm.release_pages).

    One reference of each (a page may come more than once); those at zero
    come off their LRU, are uncharged through ops.release_pages and freed.
    """
    mem = m.mem
    if np.any(mem.refcount[pfns] <= 0):
        bad = int(pfns[np.flatnonzero(mem.refcount[pfns] <= 0)[0]])
        raise KernelBugError(f"page {bad} has no reference left to drop",
                                "VM_BUG_ON_PAGE(atomic_read(&page->_count) == 0, page)",
                                "put_page_testzero", "include/linux/mm.h")
    uniq, last, times = np.unique(pfns[::-1], return_index=True, return_counts=True)
    mem.refcount[uniq] -= times.astype(np.int32)
    zero = mem.refcount[uniq] == 0
    # freed in the order the one-page path frees them: each at its last put
    dead = uniq[zero][np.argsort(-last[zero], kind="stable")]
    if not dead.size:
        return
    on_lru = dead[(mem.flags[dead] & PG_lru) != 0]
    if on_lru.size:
        del_pages_from_lru(m, on_lru)
    m.ops.release_pages(m, dead)
    mem.free(dead)


def zap_exclusive_anon(m: "Machine", task: "Task", pfns: np.ndarray) -> np.ndarray:
    """zap_pte_range()'s page_remove_rmap for the pages only this pte maps.

    Of ``pfns`` (pages whose ptes of ``task`` were just cleared), those that
    are anonymous, outside the swap cache, mapped once, by this task and
    only once in the list lose their mapping here as a batch (mapcount 0,
    no rmap; 3.17 has no memcg call at page_remove_rmap). Returns a mask of
    them; the caller handles the others one by one and releases all.
    """
    mem = m.mem
    if not m.ops.bulk_ok or pfns.size <= BY_PAGE_MAX:
        return np.zeros(pfns.size, bool)
    simple: NDArray[np.bool_]                   # numpy types comparisons as Any
    simple = ((mem.mapcount[pfns] == 1) & (mem.rmap_task[pfns] == task.tid)
              & ((mem.flags[pfns] & (PG_anon | PG_swapcache)) == PG_anon))
    if simple.any():                            # a page listed twice is not simple
        srt = np.sort(pfns)
        twice = srt[1:][srt[1:] == srt[:-1]]
        if twice.size:
            simple &= ~np.isin(pfns, twice)
    fast = pfns[simple]
    mem.mapcount[fast] = 0
    mem.rmap_task[fast] = -1
    mem.rmap_addr[fast] = -1
    return simple


def try_to_unmap_migration(m: "Machine", old: int, new: int, k: int) -> None:
    """try_to_unmap(old, TTU_MIGRATION) of its ``k`` ptes at once.

    The k page_remove_rmap() and put_page() calls: only the last of each
    can reach zero (the isolation reference keeps the count above it), so
    the k-1 before them are plain decrements. The rmap waits on ``new``
    (the migration entries) until remove_migration_ptes.
    """
    mem = m.mem
    mm.rmap_move(m, old, new)
    mem.mapcount[old] -= k - 1
    mm.page_remove_rmap(m, old)
    mem.refcount[old] -= k - 1
    mm.put_page(m, old)


def remove_migration_ptes(m: "Machine", ptes: list[tuple[int, int]], new: int,
                          target: int) -> None:
    """remove_migration_ptes() after try_to_unmap_migration: every pte maps ``target``.

    ``target`` is ``new``, or the old page if migration failed (then the
    rmap parked on ``new`` goes back to it). One reference and one mapping
    per pte; the first mapping of a file page counts FILE_MAPPED.
    """
    mem = m.mem
    k = len(ptes)
    for tid, v in ptes:
        m.task_list[tid].pte[v] = target
    if target != new:
        mm.rmap_move(m, new, target)
    mem.refcount[target] += k
    if mem.flags[target] & PG_anon:
        mem.mapcount[target] += k
    else:
        mm.page_add_file_rmap(m, target)
        mem.mapcount[target] += k - 1
