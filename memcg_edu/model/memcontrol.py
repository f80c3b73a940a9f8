"""The memcg API of mm/memcontrol.c in Linux 3.17 (after 0a31bc97c8, release behaviour).

Charging is a transaction: mem_cgroup_try_charge() reserves (moves the res
and memsw counters), mem_cgroup_commit_charge() binds the page (page_cgroup,
statistics, LRU placement) or mem_cgroup_cancel_charge() gives the
reservation back. A page is uncharged exactly once, at its final put
(mem_cgroup_uncharge / mem_cgroup_uncharge_list). Migration transfers the
charge (mem_cgroup_migrate; in 3.17.0 a page-cache replacement commits the
new page to root instead, unless Machine(fixes=("memcg_read_first",)));
swap-out hands the memsw half of the charge to the swap slot
(mem_cgroup_swapout) until the slot is freed (mem_cgroup_uncharge_swap). Charge moving: mem_cgroup_move_account and
mem_cgroup_move_swap_account.

Every function takes the Machine first and a page as a Page handle or pfn.
``Memcg317`` bundles them as the hooks the mm callers (mm.py, reclaim.py,
migrate.py) call at the kernel's call sites, so another design (3.16) can
put its own hooks at its own call sites.
"""
from __future__ import annotations

from typing import TYPE_CHECKING, Optional, Sequence, Union

import numpy as np
from numpy.typing import NDArray

from ..errors import KernelBugError, MemcgOOM
from . import bulk
from .calls import kernel_call
from .lru import lock_page_lru, mem_cgroup_page_lruvec, unlock_page_lru
from .memcg import COL, MemCgroup
from .oom import mem_cgroup_oom
from .pages import (PCG_FLAG_NAMES, PCG_MEM, PCG_MEMSW, PCG_USED, PG_anon,
                    PG_locked, PG_lru, PG_swapcache, Page)
from .stock import CHARGE_BATCH, consume_stock, drain_stock, refill_stock
from .swap import lookup_swap_cgroup_id, swap_cgroup_record

if TYPE_CHECKING:
    from .machine import Machine

__all__ = ["MEM_CGROUP_RECLAIM_RETRIES", "MEM_CGROUP_MAX_RECLAIM_LOOPS",
           "PAGE_ALLOC_COSTLY_NR", "try_charge", "cancel_charge",
           "mem_cgroup_margin", "mem_cgroup_reclaim",
           "mem_cgroup_try_charge", "mem_cgroup_commit_charge",
           "mem_cgroup_cancel_charge", "commit_charge",
           "mem_cgroup_charge_statistics", "mem_cgroup_uncharge",
           "mem_cgroup_uncharge_list", "mem_cgroup_migrate",
           "mem_cgroup_swapout", "mem_cgroup_uncharge_swap",
           "mem_cgroup_move_account", "mem_cgroup_move_swap_account",
           "mem_cgroup_update_page_stat", "mem_cgroup_page_lruvec",
           "UNCHARGE_LIST_BULK", "Memcg317", "FIXES"]

MEM_CGROUP_RECLAIM_RETRIES = 5
MEM_CGROUP_MAX_RECLAIM_LOOPS = 100
#: 1 << PAGE_ALLOC_COSTLY_ORDER: small charges retry as long as reclaim makes progress
PAGE_ALLOC_COSTLY_NR = 8
#: later kernel fixes a Machine can apply on top of 3.17.0 (Machine(fixes=...))
FIXES = {
    "memcg_read_first": "mem_cgroup_migrate() reads pc->mem_cgroup before it "
                        "clears the old page (the 3.19 order)",
}

_RSS, _CACHE = COL["rss"], COL["cache"]
_PGPGIN, _PGPGOUT, _SWAP = COL["pgpgin"], COL["pgpgout"], COL["swap"]
_MAPPED = COL["mapped_file"]

PageLike = Union[Page, int]


def _pfn(page: PageLike) -> int:
    return page.check() if isinstance(page, Page) else int(page)


def _bug(rule: str, check: str, function: str,
         file: str = "mm/memcontrol.c") -> KernelBugError:
    return KernelBugError(rule, check, function, file)


def _check_released(m: "Machine", pfn: int, function: str) -> None:
    """The VM_BUG_ON_PAGE pair mem_cgroup_uncharge and mem_cgroup_swapout
    both open with: the page is off the LRU and nobody references it."""
    mem = m.mem
    if mem.pg.flags[pfn] & PG_lru:
        raise _bug(f"page {pfn} is still on an LRU list",
                   "VM_BUG_ON_PAGE(PageLRU(page), page)", function)
    if mem.pg.refcount[pfn]:
        raise _bug(f"page {pfn} still has {mem.pg.refcount[pfn]} reference(s)",
                   "VM_BUG_ON_PAGE(page_count(page), page)", function)


# -- counters ---------------------------------------------------------------
def mem_cgroup_margin(m: "Machine", memcg: MemCgroup) -> int:
    """mem_cgroup_margin(): room left under res (and memsw, with swap accounting)."""
    margin = memcg.res.margin()
    if m.swap_account:
        margin = min(margin, memcg.memsw.margin())
    return margin


def try_charge(m: "Machine", memcg: MemCgroup, nr_pages: int, *,
               may_wait: bool = True, noretry: bool = False) -> None:
    """Reserve ``nr_pages`` on memcg's res and memsw counters, or raise MemcgOOM.

    Mirrors the static try_charge() in mm/memcontrol.c (Linux 3.17): root is
    never charged; the stock (if on) is tried first and refilled with a
    CHARGE_BATCH surplus; a failed batch attempt retries with exactly
    ``nr_pages``; then the memcg whose limit was hit (maybe an ancestor) is
    reclaimed, without swap when the memsw counter failed, and the charge is
    retried while reclaim makes progress (small charges) or up to
    MEM_CGROUP_RECLAIM_RETRIES times. Every failed counter charge bumps the
    failcnt of the level that failed. ``may_wait=False`` is a charge without
    __GFP_WAIT (no reclaim), ``noretry`` is __GFP_NORETRY. The model has no
    dying tasks, so the kernel's bypass never happens. When the retries are
    spent, mem_cgroup_oom() remembers the OOM if this is a user page fault
    (memcg_edu.model.oom); either way the charge fails (-ENOMEM).
    """
    if memcg.is_root:
        return
    batch = max(CHARGE_BATCH, nr_pages) if m.charge_stock else nr_pages
    retries = MEM_CGROUP_RECLAIM_RETRIES
    while True:
        if m.charge_stock and consume_stock(m, memcg, nr_pages):
            return
        noswap = False
        fail = memcg.res.charge(batch)
        if fail is None:
            if not m.swap_account:
                break
            fail = memcg.memsw.charge(batch)
            if fail is None:
                break
            memcg.res.uncharge(batch)
            noswap = True
        over: MemCgroup = fail.owner
        if batch > nr_pages:
            batch = nr_pages
            continue
        if not may_wait:
            raise MemcgOOM(over.name, nr_pages,
                           "memory+swap" if noswap else "memory")
        reclaimed = mem_cgroup_reclaim(m, over, noswap=noswap)
        if mem_cgroup_margin(m, over) >= nr_pages:
            continue
        if noretry:
            raise MemcgOOM(over.name, nr_pages, "memory+swap" if noswap else "memory")
        if reclaimed and nr_pages <= PAGE_ALLOC_COSTLY_NR:
            continue
        if retries:
            retries -= 1
            continue
        mem_cgroup_oom(m, over, nr_pages)    # only a user fault remembers it
        raise MemcgOOM(over.name, nr_pages, "memory+swap" if noswap else "memory",
                       "" if m.memcg_oom.may_oom else "enomem")
    if batch > nr_pages:
        refill_stock(m, memcg, batch - nr_pages)


def cancel_charge(m: "Machine", memcg: MemCgroup, nr_pages: int) -> None:
    """cancel_charge(): give back a reservation (root: nothing to give back)."""
    if memcg.is_root:
        return
    memcg.res.uncharge(nr_pages)
    if m.swap_account:
        memcg.memsw.uncharge(nr_pages)


@kernel_call("mem_cgroup_reclaim", page=None)
def mem_cgroup_reclaim(m: "Machine", memcg: MemCgroup, *, noswap: bool = False,
                       shrink: bool = False) -> int:
    """Reclaim from memcg's hierarchy until there is a margin.

    Mirrors mem_cgroup_reclaim() in mm/memcontrol.c (Linux 3.17): up to
    MEM_CGROUP_MAX_RECLAIM_LOOPS rounds of try_to_free_mem_cgroup_pages(),
    draining the stock from the second round; swap is not used for a memsw
    failure or when memsw_is_minimum; stops at a margin, after two rounds
    that freed nothing, or (limit shrinking) after any progress.
    """
    from .reclaim import try_to_free_mem_cgroup_pages
    if not shrink and memcg.memsw_is_minimum:
        noswap = True
    total = 0
    for loop in range(MEM_CGROUP_MAX_RECLAIM_LOOPS):
        if loop:
            drain_stock(m)
        total += try_to_free_mem_cgroup_pages(m, memcg, 1, may_swap=not noswap)
        if total and shrink:
            break
        if mem_cgroup_margin(m, memcg):
            break
        if loop and not total:
            break
    return total


# -- the charge transaction -------------------------------------------------
@kernel_call("mem_cgroup_try_charge")
def mem_cgroup_try_charge(m: "Machine", page: PageLike,
                          mm_memcg: Optional[MemCgroup], *, may_wait: bool = True,
                          noretry: bool = False) -> Optional[MemCgroup]:
    """Reserve a charge for a page about to be instantiated.

    Mirrors mem_cgroup_try_charge() in mm/memcontrol.c (Linux 3.17). Returns
    the memcg to pass to commit/cancel, or None (the kernel's NULL) for a
    swap-cache page that is already charged (a second fault on it). For a
    swap-cache page the memcg recorded in swap_cgroup is charged if it is
    online (try_get_mem_cgroup_from_page(), which needs the page locked),
    else the memcg of the faulting mm. Raises MemcgOOM when try_charge fails.
    """
    pfn = page if page.__class__ is int else _pfn(page)   # (the mm paths pass ints)
    mem = m.mem
    memcg: Optional[MemCgroup] = None
    if mem.pg.flags[pfn] & PG_swapcache:
        if mem.pg.pc_flags[pfn] & PCG_USED:
            m.events.record("mem_cgroup_try_charge", pfn, -1, 0)
            return None
        if m.swap_account:
            if not mem.pg.flags[pfn] & PG_locked:
                raise _bug(f"page {pfn} is not locked",
                           "VM_BUG_ON_PAGE(!PageLocked(page), page)",
                           "try_get_mem_cgroup_from_page")
            mi = lookup_swap_cgroup_id(m, int(mem.private[pfn]))
            if mi >= 0 and m.memcg_list[mi].online:
                memcg = m.memcg_list[mi]
    if memcg is None:
        memcg = mm_memcg if mm_memcg is not None else m.root
    calls = m.calls
    on = calls.enabled                           # no call log: none of its calls
    if on:
        i = calls.enter("try_charge", pfn)
    try:
        try_charge(m, memcg, 1, may_wait=may_wait, noretry=noretry)
    finally:
        if on:
            calls.leave(i)
        m.events.record("mem_cgroup_try_charge", pfn, memcg.index, 1)
    return memcg


def commit_charge(m: "Machine", pfn: int, memcg: MemCgroup, lrucare: bool) -> None:
    """commit_charge(): bind the page to memcg (pc->mem_cgroup, pc->flags).

    VM_BUG_ON_PAGE(PageCgroupUsed(pc)): a page is never committed twice. With
    ``lrucare`` the page is taken off the LRU it may sit on (root's, for a
    swap-cache readahead page) and put back on the new memcg's lruvec.
    """
    # the call log: with lrucare a call with callees (lock_page_lru,
    # unlock_page_lru) that moves lru_size counters; without, a leaf,
    # recorded as it ends (a failed check included): it records no callees,
    # writes no counter, and both callers enter it right after the page's
    # state was recorded (mem_cgroup_commit_charge's entry on it, and
    # migrate_page_copy's on mem_cgroup_migrate's new page), which is then
    # its state at entry
    calls = m.calls
    i = calls.enter("commit_charge", pfn) if lrucare else -1
    try:
        pg = m.mem.pg
        if pg.pc_flags[pfn] & PCG_USED:
            raise _bug(f"page {pfn} is already charged (PCG_USED)",
                       "VM_BUG_ON_PAGE(PageCgroupUsed(pc), page)", "commit_charge")
        isolated = lock_page_lru(m, pfn) if lrucare else False
        pg.pc_memcg[pfn] = memcg.index
        pg.pc_flags[pfn] = PCG_USED | PCG_MEM | (PCG_MEMSW if m.swap_account else 0)
        if lrucare:
            unlock_page_lru(m, pfn, isolated)
    finally:
        if lrucare:
            calls.leave(i)
        elif calls.enabled:                      # (no call log: no call)
            calls.leaf("commit_charge", pfn)


@kernel_call("mem_cgroup_charge_statistics", page=1)
def mem_cgroup_charge_statistics(m: "Machine", memcg: MemCgroup, pfn: int,
                                 nr_pages: int) -> None:
    """mem_cgroup_charge_statistics(): RSS or CACHE by PageAnon, one PGPGIN/PGPGOUT."""
    row = memcg.row
    row[_RSS if m.mem.pg.flags[pfn] & PG_anon else _CACHE] += nr_pages
    row[_PGPGIN if nr_pages > 0 else _PGPGOUT] += 1
    m.written.add(memcg.index)


@kernel_call("mem_cgroup_commit_charge")
def mem_cgroup_commit_charge(m: "Machine", page: PageLike,
                             memcg: Optional[MemCgroup], lrucare: bool) -> None:
    """Commit a reserved charge to a page that is now instantiated.

    Mirrors mem_cgroup_commit_charge() in mm/memcontrol.c (Linux 3.17).
    Preconditions (VM_BUG_ON_PAGE): page->mapping is set; the page is not on
    an LRU unless ``lrucare``; and (commit_charge) it is not PCG_USED yet.
    ``memcg`` None (already-charged swap page) does nothing. Afterwards:
    RSS or CACHE +1 and PGPGIN +1; if swap accounting is on and the page is
    still in the swap cache, the slot's duplicate memsw charge is dropped at
    once (mem_cgroup_uncharge_swap).
    """
    pfn = page if page.__class__ is int else _pfn(page)   # (the mm paths pass ints)
    mem = m.mem
    if mem.pg.mapping[pfn] < 0:
        raise _bug(f"page {pfn} has no page->mapping yet",
                   "VM_BUG_ON_PAGE(!page->mapping, page)", "mem_cgroup_commit_charge")
    if mem.pg.flags[pfn] & PG_lru and not lrucare:
        raise _bug(f"page {pfn} is on an LRU list and lrucare is false",
                   "VM_BUG_ON_PAGE(PageLRU(page) && !lrucare, page)",
                   "mem_cgroup_commit_charge")
    if memcg is None:
        m.events.record("mem_cgroup_commit_charge", pfn, -1, 0)
        return
    commit_charge(m, pfn, memcg, lrucare)
    mem_cgroup_charge_statistics(m, memcg, pfn, 1)
    m.events.record("mem_cgroup_commit_charge", pfn, memcg.index, 1)
    if m.swap_account and mem.pg.flags[pfn] & PG_swapcache:
        mem_cgroup_uncharge_swap(m, int(mem.private[pfn]))


@kernel_call("mem_cgroup_cancel_charge")
def mem_cgroup_cancel_charge(m: "Machine", page: PageLike,
                             memcg: Optional[MemCgroup]) -> None:
    """Give back a reservation that will not be committed.

    Mirrors mem_cgroup_cancel_charge() in mm/memcontrol.c (Linux 3.17); None
    does nothing, root has nothing to give back (cancel_charge skips it).
    """
    pfn = _pfn(page)
    if memcg is None:
        return
    i = m.calls.enter("cancel_charge", pfn)
    cancel_charge(m, memcg, 1)
    m.calls.leave(i)
    m.events.record("mem_cgroup_cancel_charge", pfn, memcg.index, 1)


# -- uncharge ---------------------------------------------------------------
@kernel_call("uncharge_batch", page=None)
def _uncharge_batch(m: "Machine", memcg: MemCgroup, pgpgout: int, nr_mem: int,
                    nr_memsw: int, nr_anon: int, nr_file: int) -> None:
    """uncharge_batch(): counters (not for root), then RSS/CACHE and PGPGOUT."""
    if not memcg.is_root:
        if nr_mem:
            memcg.res.uncharge(nr_mem)
        if nr_memsw:
            memcg.memsw.uncharge(nr_memsw)
    row = memcg.row
    row[_RSS] -= nr_anon
    row[_CACHE] -= nr_file
    row[_PGPGOUT] += pgpgout
    m.written.add(memcg.index)


#: longer lists go to the vectorised bulk.uncharge_list (same effect)
UNCHARGE_LIST_BULK = 16


@kernel_call("mem_cgroup_uncharge_list", page=None)
def mem_cgroup_uncharge_list(m: "Machine",
                             pages: Union[Sequence[PageLike], np.ndarray]) -> None:
    """Uncharge pages that are being freed, batched per memcg.

    Mirrors mem_cgroup_uncharge_list() / uncharge_list() in mm/memcontrol.c
    (Linux 3.17), called by release_pages() and shrink_page_list().
    Preconditions (VM_BUG_ON_PAGE, checked for charged pages): each page is
    off the LRU and its refcount is zero. Pages without PCG_USED are skipped
    (never charged, or their charge migrated away). ``pages`` may be a list
    of handles/pfns or a numpy array of pfns. The kernel flushes a batch
    whenever the next page belongs to another memcg; the model collects
    each memcg's pages and flushes the memcgs in index order (the same
    counters).
    """
    if len(pages) == 1:                          # a munmap of one page: no lists
        page = pages[0]
        _uncharge_one(m, page if page.__class__ is int else _pfn(page))
        return
    mem = m.mem
    if isinstance(pages, np.ndarray) and pages.size > UNCHARGE_LIST_BULK:
        if np.any(mem.pc_flags[pages] & PCG_USED):
            i = m.calls.enter("uncharge_list")
            try:
                bulk.uncharge_list(m, pages)     # the same batches, vectorised
            finally:
                m.calls.leave(i)
        return
    pfns = pages.tolist() if isinstance(pages, np.ndarray) else [_pfn(p) for p in pages]
    charged = [pfn for pfn in pfns if mem.pg.pc_flags[pfn] & PCG_USED]
    if not charged:                              # nothing to give back
        return
    i = m.calls.enter("uncharge_list")
    try:
        _uncharge_pages(m, charged)
    finally:
        m.calls.leave(i)


def _uncharge_pages(m: "Machine", pfns: list[int]) -> None:
    """The body of uncharge_list() for charged pages, one by one."""
    mem = m.mem
    # memcg index -> [pgpgout, nr_mem, nr_memsw, nr_anon, nr_file]
    batches: dict[int, list[int]] = {}
    for pfn in pfns:
        _check_released(m, pfn, "mem_cgroup_uncharge")
        f = mem.pg.pc_flags[pfn]
        b = batches.setdefault(mem.pg.pc_memcg[pfn], [0, 0, 0, 0, 0])
        anon = 1 if mem.pg.flags[pfn] & PG_anon else 0
        b[0] += 1                                # one PGPGOUT per page
        b[1] += 1 if f & PCG_MEM else 0          # what res was charged for it
        b[2] += 1 if f & PCG_MEMSW else 0        # what memsw was charged for it
        b[3] += anon                             # MEM_CGROUP_STAT_RSS
        b[4] += 1 - anon                         # MEM_CGROUP_STAT_CACHE
        mem.pg.pc_flags[pfn] = 0                 # pc->flags = 0: uncharged
    for mi in sorted(batches):
        _uncharge_batch(m, m.memcg_list[mi], *batches[mi])
        m.events.record("mem_cgroup_uncharge_list", -1, mi, batches[mi][0])


def _uncharge_one(m: "Machine", pfn: int, kind: str = "mem_cgroup_uncharge_list") -> None:
    """uncharge_list() of a one-page list."""
    pg = m.mem.pg
    f = pg.pc_flags[pfn]
    if not f & PCG_USED:
        return
    calls = m.calls
    on = calls.enabled                           # no call log: none of its calls
    if on:
        i = calls.enter("uncharge_list", pfn)
    try:
        _check_released(m, pfn, "mem_cgroup_uncharge")
        mi = pg.pc_memcg[pfn]
        anon = 1 if pg.flags[pfn] & PG_anon else 0
        pg.pc_flags[pfn] = 0
        _uncharge_batch(m, m.memcg_list[mi], 1, 1 if f & PCG_MEM else 0,
                        1 if f & PCG_MEMSW else 0, anon, 1 - anon)
    finally:
        if on:
            calls.leave(i)
    m.events.record(kind, pfn, mi, 1)


@kernel_call("mem_cgroup_uncharge")
def mem_cgroup_uncharge(m: "Machine", page: PageLike) -> None:
    """Give back the charge of a page at its final put.

    Mirrors mem_cgroup_uncharge() in mm/memcontrol.c (Linux 3.17), called
    from __page_cache_release() once the refcount has dropped to zero.
    Returns early for a page without PCG_USED; otherwise the preconditions
    of uncharge_list() apply (VM_BUG_ON_PAGE: off the LRU, refcount zero).
    Uncharges res if PCG_MEM, memsw if PCG_MEMSW (a swapped-out page gives
    back only its memory half), RSS or CACHE -1, PGPGOUT +1.

    >>> m = Machine(); a = m.create_memcg("A"); t = m.create_task("p", a)
    >>> p = m.fault_anon(t); m.get_page(p); m.unmap(t, p); a.usage
    1
    >>> m.put_page(p); a.usage, m.events.kinds()[-2]
    (0, 'mem_cgroup_uncharge')
    """
    _uncharge_one(m, _pfn(page), "mem_cgroup_uncharge")


# -- migration, swap --------------------------------------------------------
# recorded on the old page: its own line, pc->flags = 0, changes the old
# page_cgroup; commit_charge records the new page's
@kernel_call("mem_cgroup_migrate", page=0)
def mem_cgroup_migrate(m: "Machine", oldpage: PageLike, newpage: PageLike,
                       lrucare: bool) -> None:
    """Transfer the charge of ``oldpage`` to its replacement ``newpage``.

    Mirrors mem_cgroup_migrate() in mm/memcontrol.c (Linux 3.17), called by
    move_to_new_page() (lrucare false) and replace_page_cache_page()
    (lrucare true). Preconditions (VM_BUG_ON_PAGE): both pages locked;
    without lrucare neither is on an LRU; PageAnon equal on both. Returns
    early if the new page is already charged (fuse splice: both keep their
    own charges) or the old one is not (re-entrant migration). Counters and
    (3.17 release) statistics do not change.

    The 3.17.0 order: with lrucare, lock_page_lru() isolates the old page,
    its pc->flags is set to 0, and unlock_page_lru() puts it back through
    mem_cgroup_page_lruvec(), which switches an uncharged off-LRU page's
    pc->mem_cgroup to root; only then is pc->mem_cgroup read for
    commit_charge(newpage, ...). So when the old page was on an LRU the
    new page is committed to root, and the old memcg keeps a res/memsw
    charge and a statistic that no page holds (tallied in
    ``Machine.stranded``). The fix ``Machine(fixes=("memcg_read_first",))``
    reads the memcg before clearing (Johannes Weiner, "mm: memcontrol:
    remove unnecessary PCG_USED pc->mem_cgroup valid flag", 3.19): the
    charge goes to the old page's memcg. Migration (lrucare false) does
    not isolate, so both orders commit to the old page's memcg.

    >>> m = Machine(); a = m.create_memcg("A"); p = m.fault_anon(m.create_task("p", a))
    >>> n = m.migrate(p); (n.memcg, a.usage, a.stat["pgpgin"], p.alive)
    ('A', 1, 1, False)
    >>> f = m.add_to_page_cache(m.tasks["p"], "f"); g = m.replace_page_cache(f)
    >>> g.memcg, a.usage, m.stranded
    ('root', 2, {1: {'rss': 0, 'cache': 1}})
    """
    old, new = _pfn(oldpage), _pfn(newpage)
    mem = m.mem
    for p, what in ((old, "old"), (new, "new")):
        if not mem.pg.flags[p] & PG_locked:
            raise _bug(f"the {what} page {p} is not locked",
                       f"VM_BUG_ON_PAGE(!PageLocked({what}page), {what}page)",
                       "mem_cgroup_migrate")
    for p, what in ((old, "old"), (new, "new")):
        if not lrucare and mem.pg.flags[p] & PG_lru:
            raise _bug(f"the {what} page {p} is on an LRU list and lrucare is false",
                       f"VM_BUG_ON_PAGE(!lrucare && PageLRU({what}page), {what}page)",
                       "mem_cgroup_migrate")
    if bool(mem.pg.flags[old] & PG_anon) != bool(mem.pg.flags[new] & PG_anon):
        raise _bug(f"page {old} and page {new} differ in PageAnon",
                   "VM_BUG_ON_PAGE(PageAnon(oldpage) != PageAnon(newpage), newpage)",
                   "mem_cgroup_migrate")
    if mem.pg.pc_flags[new] & PCG_USED:
        m.events.record("mem_cgroup_migrate", new, -1, 0)
        return
    flags = mem.pg.pc_flags[old]
    if not flags & PCG_USED:
        m.events.record("mem_cgroup_migrate", old, -1, 0)
        return
    if not flags & PCG_MEM or (m.swap_account and not flags & PCG_MEMSW):
        raise _bug(f"page {old} is charged but lacks PCG_MEM/PCG_MEMSW",
                   "VM_BUG_ON_PAGE(!(pc->flags & PCG_MEMSW), oldpage)",
                   "mem_cgroup_migrate")
    owner = mem.pg.pc_memcg[old]
    isolated = lock_page_lru(m, old) if lrucare else False
    mem.pg.pc_flags[old] = 0
    if lrucare:
        unlock_page_lru(m, old, isolated)
    # 3.17.0 reads pc->mem_cgroup only now, after unlock_page_lru() may have
    # switched the old page to root
    mi = owner if "memcg_read_first" in m.fixes else mem.pg.pc_memcg[old]
    if mi != owner:
        tally = m.stranded.setdefault(owner, {"rss": 0, "cache": 0})
        tally["rss" if mem.pg.flags[old] & PG_anon else "cache"] += 1
    memcg = m.memcg_list[mi]
    commit_charge(m, new, memcg, lrucare)
    m.events.record("mem_cgroup_migrate", new, memcg.index, 1)


@kernel_call("mem_cgroup_swapout", slot=1)
def mem_cgroup_swapout(m: "Machine", page: PageLike, slot: int) -> None:
    """Hand the memsw charge of a page being swapped out to its swap slot.

    Mirrors mem_cgroup_swapout() in mm/memcontrol.c (Linux 3.17), called by
    __remove_mapping() with the refcount frozen to 0. Preconditions
    (VM_BUG_ON_PAGE): off the LRU, page_count zero; a charged page must have
    PCG_MEMSW and the slot no swap_cgroup record yet. Does nothing without
    swap accounting or for a never-charged readahead page. Records the
    memcg for the slot, clears PCG_MEMSW, takes a css reference, SWAP +1.

    >>> m = Machine(); a = m.create_memcg("A"); p = m.fault_anon(m.create_task("p", a))
    >>> e = m.swap_out(p); (a.usage, a.memsw_usage, a.stat["swap"], e.memcg)
    (0, 1, 1, 'A')
    """
    pfn = _pfn(page)
    mem = m.mem
    _check_released(m, pfn, "mem_cgroup_swapout")
    if not m.swap_account:
        return
    flags = mem.pg.pc_flags[pfn]
    if not flags & PCG_USED:
        m.events.record("mem_cgroup_swapout", slot, -1, 0)
        return
    if not flags & PCG_MEMSW:
        raise _bug(f"page {pfn} has no memsw charge to hand over",
                   "VM_BUG_ON_PAGE(!(pc->flags & PCG_MEMSW), page)",
                   "mem_cgroup_swapout")
    if lookup_swap_cgroup_id(m, slot) >= 0:
        raise _bug(f"swap slot {slot} already has a swap_cgroup record",
                   "VM_BUG_ON_PAGE(oldid, page)", "mem_cgroup_swapout")
    memcg = m.memcg_list[mem.pg.pc_memcg[pfn]]
    swap_cgroup_record(m, slot, memcg.index)
    mem.pg.pc_flags[pfn] = flags & ~PCG_MEMSW
    memcg.swap_css_refs += 1
    memcg.row[_SWAP] += 1
    m.written.add(memcg.index)
    m.events.record("mem_cgroup_swapout", slot, memcg.index, 1)


@kernel_call("mem_cgroup_uncharge_swap", page=None, slot=0)
def mem_cgroup_uncharge_swap(m: "Machine", slot: int) -> None:
    """Drop the memsw charge a swap slot holds.

    Mirrors mem_cgroup_uncharge_swap() in mm/memcontrol.c (Linux 3.17),
    called by swap_entry_free() when the slot's map count reaches zero and
    by mem_cgroup_commit_charge() for a page still in the swap cache. Clears
    the swap_cgroup record; if there was one: memsw -1 (not for root),
    SWAP -1, css reference dropped. No record, or no swap accounting: no-op.
    """
    if not m.swap_account:
        return
    mi = swap_cgroup_record(m, slot, -1)
    if mi < 0:
        return
    memcg = m.memcg_list[mi]
    if not memcg.is_root:
        memcg.memsw.uncharge(1)
    memcg.row[_SWAP] -= 1
    m.written.add(memcg.index)
    memcg.swap_css_refs -= 1
    m.events.record("mem_cgroup_uncharge_swap", slot, mi, 1)


@kernel_call("mem_cgroup_update_page_stat")
def mem_cgroup_update_page_stat(m: "Machine", pfn: int, delta: int) -> None:
    """mem_cgroup_update_page_stat() for FILE_MAPPED: the page's memcg counts it.

    The kernel returns early for a page without PCG_USED; it can meet one
    in races the model does not run (a stat update against a concurrent
    uncharge). In the model the page is always charged here, in both
    designs: a file page is mapped (page_add_file_rmap) only while it is
    in a page cache, and every page-cache page is charged from its
    insertion to its final put (3.17) or to its deletion from the cache
    (3.16), and is unmapped before either; migration and replacement map
    only the committed new page. tests/model/test_mutations.py checks this
    on every shipped scenario under both designs.
    """
    mi = m.mem.pg.pc_memcg[pfn]
    m.memcg_list[mi].row[_MAPPED] += delta
    m.written.add(mi)


# -- charge moving ------------------------------------------------------------
@kernel_call("mem_cgroup_move_account")
def mem_cgroup_move_account(m: "Machine", page: PageLike, from_: MemCgroup,
                            to: MemCgroup) -> bool:
    """Move the page_cgroup of an isolated page from one memcg to another.

    Mirrors mem_cgroup_move_account() in mm/memcontrol.c (Linux 3.17), used
    by charge moving. Preconditions: from != to (VM_BUG_ON), the page is
    off the LRU (VM_BUG_ON_PAGE(PageLRU(page))). It gives up (returns
    False) if trylock_page() fails or the page is no longer charged to
    ``from``. Moves FILE_MAPPED for a mapped file page and RSS/CACHE with
    one PGPGOUT on ``from`` and one PGPGIN on ``to``; PCG_MEM/PCG_MEMSW and
    the counters are left alone (the caller settles them).
    """
    pfn = _pfn(page)
    mem = m.mem
    if from_ is to:
        raise _bug("charges would move from a memcg to itself",
                   "VM_BUG_ON(from == to)", "mem_cgroup_move_account")
    if mem.pg.flags[pfn] & PG_lru:
        raise _bug(f"page {pfn} is still on an LRU list",
                   "VM_BUG_ON_PAGE(PageLRU(page), page)", "mem_cgroup_move_account")
    if mem.pg.flags[pfn] & PG_locked:
        m.events.record("mem_cgroup_move_account", pfn, -1, 0)
        return False
    if not mem.pg.pc_flags[pfn] & PCG_USED or mem.pg.pc_memcg[pfn] != from_.index:
        m.events.record("mem_cgroup_move_account", pfn, -1, 0)
        return False
    if not mem.pg.flags[pfn] & PG_anon and mem.pg.mapcount[pfn] > 0:
        from_.row[_MAPPED] -= 1
        to.row[_MAPPED] += 1
        m.written.update((from_.index, to.index))
    mem_cgroup_charge_statistics(m, from_, pfn, -1)
    mem.pg.pc_memcg[pfn] = to.index
    mem_cgroup_charge_statistics(m, to, pfn, 1)
    m.events.record("mem_cgroup_move_account", pfn, to.index, 1)
    return True


@kernel_call("mem_cgroup_move_swap_account", page=None, slot=0)
def mem_cgroup_move_swap_account(m: "Machine", slot: int, from_: MemCgroup,
                                 to: MemCgroup) -> bool:
    """Move a swap slot's record from one memcg to another.

    Mirrors mem_cgroup_move_swap_account() in mm/memcontrol.c (Linux 3.17):
    swap_cgroup_cmpxchg(from -> to), SWAP -1 on from and +1 on to, a css
    reference on to. The memsw counters are settled in mem_cgroup_clear_mc.
    """
    if lookup_swap_cgroup_id(m, slot) != from_.index:
        return False
    swap_cgroup_record(m, slot, to.index)
    from_.row[_SWAP] -= 1
    to.row[_SWAP] += 1
    m.written.update((from_.index, to.index))
    to.swap_css_refs += 1
    m.events.record("mem_cgroup_move_swap_account", slot, to.index, 1)
    return True


class Memcg317:
    """The memcg hooks the mm callers use, at their Linux 3.17 call sites.

    Each method is named after the mm call site; the mm code calls
    ``machine.ops.<site>(...)`` so that another design can hook in at the
    same places (a no-op here where 3.17 does nothing, e.g. page_remove_rmap).
    """

    design = "3.17"
    pcg_flag_names = PCG_FLAG_NAMES
    #: the vectorised bulk paths (fault_anon_range, zap of exclusive anon
    #: pages) call the 3.17 hooks directly; another design runs page by page
    bulk_ok = True
    #: uncharge_start / uncharge_end open and close a batch (3.16's
    #: memcg_batch): here they do nothing, so a hot path may skip them
    uncharge_batches = False
    #: invariants (docs/kernel-rules.md, "Invariants") this design breaks by design
    design_differences: tuple[str, ...] = ()

    def pc_flags_view(self, flags: NDArray[np.uint8]) -> NDArray[np.uint8]:
        """pc_flags as page_state() shows them (the 3.17 masks as stored)."""
        view: NDArray[np.uint8] = flags.copy()
        return view

    def design_notes(self, m: "Machine") -> list[str]:
        """Charges 3.17.0's mem_cgroup_migrate() stranded (Machine.stranded), in words."""
        notes = []
        for mi, tally in sorted(m.stranded.items()):
            n = tally["rss"] + tally["cache"]
            stats = " and ".join(k for k in ("rss", "cache") if tally[k])
            notes.append(
                f"{m.memcg_list[mi].name} keeps {n} page{'' if n == 1 else 's'} of usage"
                f"{', memsw usage' if m.swap_account else ''} and {stats} "
                f"that no page holds: in 3.17.0 mem_cgroup_migrate() "
                f"(mm/memcontrol.c) read pc->mem_cgroup only after "
                f"unlock_page_lru() had switched the old page to root, so the "
                f"replacement page was charged to root without its {stats}, "
                f"which therefore counts {n} less for root (below 0 once the "
                f"page is freed); the later kernel reads the memcg first "
                f'(the model\'s fix "memcg_read_first")')
        return notes

    # charge transaction (do_anonymous_page, __add_to_page_cache_locked,
    # shmem_getpage_gfp, do_swap_page)
    def try_charge(self, m: "Machine", pfn: int, mm_memcg: Optional[MemCgroup],
                   site: str) -> Optional[MemCgroup]:
        """Every charge site: mem_cgroup_try_charge (the token is the memcg or None)."""
        return mem_cgroup_try_charge(m, pfn, mm_memcg)

    def commit_charge(self, m: "Machine", pfn: int, token: Optional[MemCgroup],
                      lrucare: bool, site: str) -> None:
        """After the page is instantiated: mem_cgroup_commit_charge."""
        mem_cgroup_commit_charge(m, pfn, token, lrucare)

    def cancel_charge(self, m: "Machine", pfn: int, token: Optional[MemCgroup],
                      site: str) -> None:
        """On the error path: mem_cgroup_cancel_charge."""
        mem_cgroup_cancel_charge(m, pfn, token)

    # sites where 3.16 uncharged and 3.17 does nothing
    def page_remove_rmap(self, m: "Machine", pfn: int) -> None:
        """page_remove_rmap() after the last unmap: no memcg call in 3.17."""

    def delete_from_page_cache(self, m: "Machine", pfn: int) -> None:
        """__delete_from_page_cache(): no memcg call in 3.17."""

    def delete_from_swap_cache(self, m: "Machine", pfn: int, slot: int,
                               remaining: int) -> None:
        """swapcache_free(entry) after a swap-cache deletion: no page, no memcg call in 3.17.

        ``remaining`` is what swap_entry_free() left (map count | cache bit).
        """

    def uncharge_start(self, m: "Machine") -> None:
        """unmap_page_range, truncation, shrink_page_list: 3.16 opened an
        uncharge batch here; the 3.17 release batches with page lists instead."""

    def uncharge_end(self, m: "Machine") -> None:
        """End of those paths: nothing in 3.17."""

    # sites where 3.17 acts
    def release_pages(self, m: "Machine", pfns: Union[np.ndarray, list[int]]) -> None:
        """release_pages()/shrink_page_list(): mem_cgroup_uncharge_list."""
        mem_cgroup_uncharge_list(m, pfns)

    def page_cache_release(self, m: "Machine", pfn: int) -> None:
        """__page_cache_release(): mem_cgroup_uncharge of one page."""
        mem_cgroup_uncharge(m, pfn)

    def remove_mapping_swapout(self, m: "Machine", pfn: int, slot: int) -> None:
        """__remove_mapping(), swap-cache branch: mem_cgroup_swapout."""
        mem_cgroup_swapout(m, pfn, slot)

    def uncharge_swap(self, m: "Machine", slot: int) -> None:
        """swap_entry_free() at map count 0: mem_cgroup_uncharge_swap."""
        mem_cgroup_uncharge_swap(m, slot)

    def migrate_prepare(self, m: "Machine", old: int, new: int) -> object:
        """__unmap_and_move() before unmapping: nothing in 3.17."""
        return None

    def migrate(self, m: "Machine", old: int, new: int, token: object) -> None:
        """move_to_new_page(), before remove_migration_ptes: mem_cgroup_migrate(lrucare=false)."""
        mem_cgroup_migrate(m, old, new, False)

    def migrate_end(self, m: "Machine", old: int, new: int, token: object,
                    ok: bool) -> None:
        """__unmap_and_move() after remapping: nothing in 3.17."""

    def replace_page_cache(self, m: "Machine", old: int, new: int) -> None:
        """replace_page_cache_page(): mem_cgroup_migrate(lrucare=true)."""
        mem_cgroup_migrate(m, old, new, True)

    def update_file_mapped(self, m: "Machine", pfn: int, delta: int) -> None:
        """page_add_file_rmap()/page_remove_rmap(): FILE_MAPPED of a charged page."""
        mem_cgroup_update_page_stat(m, pfn, delta)

    def move_account(self, m: "Machine", pfn: int, from_: MemCgroup,
                     to: MemCgroup) -> bool:
        """mem_cgroup_move_charge_pte_range(): mem_cgroup_move_account (trylock_page)."""
        return mem_cgroup_move_account(m, pfn, from_, to)
