"""The memcg API of mm/memcontrol.c in Linux 3.16, the design 0a31bc97c8 replaced.

Charging: mem_cgroup_charge_anon / mem_cgroup_charge_file reserve and commit
in one go, before the page is mapped or in the page cache; swap-in uses the
try / commit / cancel trio mem_cgroup_try_charge_swapin,
mem_cgroup_commit_charge_swapin, mem_cgroup_cancel_charge_swapin.

Uncharging happens at type-specific events, while the page may still be in
use: mem_cgroup_uncharge_page at the last unmap of an anonymous page (from
page_remove_rmap, mm/rmap.c), mem_cgroup_uncharge_cache_page when a page
leaves the page cache (mm/filemap.c, mm/vmscan.c, mm/truncate.c),
mem_cgroup_uncharge_swapcache when it leaves the swap cache
(swapcache_free, mm/swapfile.c), and mem_cgroup_end_migration. All of them
funnel into __mem_cgroup_uncharge_common, which decides from the page state
and the charge type (ANON, CACHE, SWAPOUT, DROP) whether to uncharge or to
refuse, under the per-page bit spinlock lock_page_cgroup (PCG_LOCK).
Migration commits the new page without a counter charge and protects the
old one with PCG_MIGRATION (mem_cgroup_prepare_migration /
mem_cgroup_end_migration); page cache replacement has its own
mem_cgroup_replace_page_cache. Uncharges may be batched per task
(current->memcg_batch, mem_cgroup_uncharge_start / _end).

The root memcg follows the 3.16 rules, which the 3.17 release restored:
its res_counter is never charged or uncharged (try_charge returns at once,
the uncharge skips root's counters, mem_cgroup_uncharge_swap skips root's
memsw), but pages committed to root get statistics.

Representation: the machine's pc_flags array keeps the 3.17 masks for a
charged page (PCG_USED | PCG_MEM | PCG_MEMSW: a 3.16 charged page holds a
memory and, with swap accounting, a memory+swap charge), so the code both
designs share (LRU placement, FILE_MAPPED, invariants) reads it the same
way; PCG_MIGRATION and PCG_LOCK sit above those bits. page_state() shows
the 3.16 bit values (PCG_LOCK=1, PCG_USED=2, PCG_MIGRATION=4), see
``pc_flags_316``.

Events are recorded when a function returns (so the counters stored with
an event are those after it), ``lock_page_cgroup`` at each acquisition,
and ``function:case`` when a function takes a special path (a refusal, a
deferral, a root skip, an early return); memcg_edu.compare reads them.
"""
from __future__ import annotations

from operator import attrgetter
from typing import TYPE_CHECKING, Optional, Union

import numpy as np
from numpy.typing import NDArray

from .calls import kernel_call
from .differences_316 import design_differences
from .lru import lock_page_lru, unlock_page_lru
from .memcg import COL, MemCgroup
from .memcontrol import (PageLike, _bug, _pfn, cancel_charge,
                         mem_cgroup_uncharge_swap, mem_cgroup_update_page_stat,
                         try_charge)
from .pages import (PCG_MEM, PCG_MEMSW, PCG_USED, PG_anon, PG_locked, PG_lru,
                    PG_swapbacked, PG_swapcache)
from .swap import lookup_swap_cgroup_id, swap_cgroup_record

if TYPE_CHECKING:
    from .machine import Machine

__all__ = ["PCG_MIGRATION", "PCG_LOCK", "PCG_FLAG_NAMES_316", "CHARGE_TYPES",
           "MemcgBatch", "pc_flags_316", "lock_page_cgroup", "unlock_page_cgroup",
           "mem_cgroup_charge_statistics", "__mem_cgroup_commit_charge",
           "mem_cgroup_charge_anon", "mem_cgroup_charge_file",
           "try_get_mem_cgroup_from_page", "mem_cgroup_try_charge_swapin",
           "mem_cgroup_commit_charge_swapin", "mem_cgroup_cancel_charge_swapin",
           "mem_cgroup_do_uncharge", "__mem_cgroup_uncharge_common",
           "mem_cgroup_uncharge_page", "mem_cgroup_uncharge_cache_page",
           "mem_cgroup_uncharge_start", "mem_cgroup_uncharge_end",
           "mem_cgroup_uncharge_swapcache", "mem_cgroup_prepare_migration",
           "mem_cgroup_end_migration", "mem_cgroup_replace_page_cache",
           "mem_cgroup_move_account", "Memcg316"]

#: 3.16-only page_cgroup bits, stored above the shared PCG_USED/MEM/MEMSW masks
PCG_MIGRATION, PCG_LOCK = 0x08, 0x10
#: what page_state() shows under 3.16: the bit values of include/linux/page_cgroup.h
PCG_FLAG_NAMES_316 = {1: "PCG_LOCK", 2: "PCG_USED", 4: "PCG_MIGRATION"}
#: enum charge_type of mm/memcontrol.c (3.16)
CHARGE_TYPES = ("CACHE", "ANON", "SWAPOUT", "DROP")
_CHARGED = PCG_USED | PCG_MEM | PCG_MEMSW


if TYPE_CHECKING:
    def _ops(m: "Machine") -> "Memcg316":
        """The machine's design hooks: the 3.16 paths below run only on a 3.16 machine."""
else:
    # m.ops, read in C: typing.cast is a Python call, and the 3.16 paths
    # read the hooks several times a page
    _ops = attrgetter("ops")

_RSS, _CACHE, _SWAP = COL["rss"], COL["cache"], COL["swap"]
_PGPGIN, _PGPGOUT = COL["pgpgin"], COL["pgpgout"]


#: the 3.16 view of each stored pc_flags byte, by byte value
_PC_FLAGS_316 = np.array([((v & PCG_LOCK) != 0) * 1 + ((v & PCG_USED) != 0) * 2
                          + ((v & PCG_MIGRATION) != 0) * 4 for v in range(256)], np.uint8)


def pc_flags_316(flags: NDArray[np.uint8]) -> NDArray[np.uint8]:
    """The 3.16 view of pc_flags: PCG_LOCK=1, PCG_USED=2, PCG_MIGRATION=4
    (one lookup in a table of the 256 byte values)."""
    view: NDArray[np.uint8] = _PC_FLAGS_316.take(np.asarray(flags, np.uint8))
    return view


class MemcgBatch:
    """current->memcg_batch (struct memcg_batch_info) of the one simulated task context."""

    def __init__(self) -> None:
        self.do_batch = 0
        self.memcg: Optional[MemCgroup] = None
        self.nr_pages = 0
        self.memsw_nr_pages = 0


# -- the page_cgroup lock -----------------------------------------------------
@kernel_call('lock_page_cgroup')
def lock_page_cgroup(m: "Machine", pfn: PageLike) -> None:
    """lock_page_cgroup() (include/linux/page_cgroup.h): bit_spin_lock(PCG_LOCK, &pc->flags).

    Mirrors include/linux/page_cgroup.h (Linux 3.16). Guards pc->mem_cgroup,
    PCG_USED and PCG_MIGRATION. The model runs one path at a time, so the
    lock is free whenever it is taken; taking it twice would spin forever,
    which the model reports as a kernel bug. Every acquisition is recorded
    (event ``lock_page_cgroup``) and counted in ``m.ops.locks``.
    """
    pfn = _pfn(pfn)
    mem = m.mem
    if mem.pg.pc_flags[pfn] & PCG_LOCK:
        raise _bug(f"the page_cgroup lock of page {pfn} is already held",
                   "bit_spin_lock(PCG_LOCK, &pc->flags) would spin forever",
                   "lock_page_cgroup", "include/linux/page_cgroup.h")
    mem.pg.pc_flags[pfn] |= PCG_LOCK
    _ops(m).locks += 1
    m.events.record("lock_page_cgroup", pfn, mem.pg.pc_memcg[pfn], 0)


@kernel_call('unlock_page_cgroup')
def unlock_page_cgroup(m: "Machine", pfn: PageLike) -> None:
    """unlock_page_cgroup() (include/linux/page_cgroup.h): bit_spin_unlock(PCG_LOCK, &pc->flags)."""
    pfn = _pfn(pfn)
    m.mem.pg.pc_flags[pfn] &= 0xFF & ~PCG_LOCK


# -- charge -------------------------------------------------------------------
@kernel_call('mem_cgroup_charge_statistics', page=None)
def mem_cgroup_charge_statistics(m: "Machine", memcg: MemCgroup, anon: bool,
                                 nr_pages: int) -> None:
    """mem_cgroup_charge_statistics() of 3.16: RSS or CACHE by the caller's
    ``anon`` (derived from the charge type, not from PageAnon), one PGPGIN
    or PGPGOUT."""
    row = memcg.row
    row[_RSS if anon else _CACHE] += nr_pages
    row[_PGPGIN if nr_pages > 0 else _PGPGOUT] += 1
    m.written.add(memcg.index)


@kernel_call('__mem_cgroup_commit_charge', page=1)
def __mem_cgroup_commit_charge(m: "Machine", memcg: MemCgroup, pfn: PageLike,
                               ctype: str, lrucare: bool) -> None:
    """Bind a page to the memcg it was charged to.

    Mirrors __mem_cgroup_commit_charge() in mm/memcontrol.c (Linux 3.16),
    under lock_page_cgroup. Precondition (VM_BUG_ON_PAGE): the page is not
    PCG_USED yet. With ``lrucare`` (swap cache, fuse) the page is taken off
    the lruvec of its old pc->mem_cgroup and put back on the new memcg's.
    Statistics: RSS if the charge type is ANON, else CACHE; PGPGIN +1.
    """
    pfn = _pfn(pfn)
    mem = m.mem
    lock_page_cgroup(m, pfn)
    if mem.pg.pc_flags[pfn] & PCG_USED:
        unlock_page_cgroup(m, pfn)
        raise _bug(f"page {pfn} is already charged (PCG_USED)",
                   "VM_BUG_ON_PAGE(PageCgroupUsed(pc), page)",
                   "__mem_cgroup_commit_charge")
    isolated = lock_page_lru(m, pfn) if lrucare else False
    mem.pg.pc_memcg[pfn] = memcg.index
    mem.pg.pc_flags[pfn] = ((mem.pg.pc_flags[pfn] & (PCG_LOCK | PCG_MIGRATION))
                         | PCG_USED | PCG_MEM | (PCG_MEMSW if m.swap_account else 0))
    if lrucare:
        unlock_page_lru(m, pfn, isolated)
    mem_cgroup_charge_statistics(m, memcg, ctype == "ANON", 1)
    unlock_page_cgroup(m, pfn)
    _ops(m).charged_again(pfn)


@kernel_call('mem_cgroup_try_charge', page=None)
def _try_charge(m: "Machine", memcg: MemCgroup) -> None:
    """mem_cgroup_try_charge() of 3.16 (static): root returns at once."""
    if memcg.is_root:
        m.events.record("mem_cgroup_try_charge:root", -1, 0, 0)
    try_charge(m, memcg, 1)


@kernel_call('mem_cgroup_charge_anon')
def mem_cgroup_charge_anon(m: "Machine", pfn: PageLike, memcg: MemCgroup) -> None:
    """Charge and commit a new anonymous page (fault, COW) before it is mapped.

    Mirrors mem_cgroup_charge_anon() in mm/memcontrol.c (Linux 3.16).
    Preconditions (VM_BUG_ON_PAGE): the page is not mapped, and has no
    mapping other than an anon one. ``memcg`` is the faulting mm's. Raises
    MemcgOOM when the charge fails; then nothing is committed.
    """
    pfn = _pfn(pfn)
    mem = m.mem
    if mem.pg.mapcount[pfn] > 0:
        raise _bug(f"page {pfn} is already mapped", "VM_BUG_ON_PAGE(page_mapped(page), page)",
                   "mem_cgroup_charge_anon")
    if mem.pg.mapping[pfn] >= 0 and not mem.pg.flags[pfn] & PG_anon:
        raise _bug(f"page {pfn} has a file mapping",
                   "VM_BUG_ON_PAGE(page->mapping && !PageAnon(page), page)",
                   "mem_cgroup_charge_anon")
    ok = False
    try:
        _try_charge(m, memcg)
        __mem_cgroup_commit_charge(m, memcg, pfn, "ANON", False)
        ok = True
    finally:                                     # nr 0: the charge failed
        m.events.record("mem_cgroup_charge_anon", pfn, memcg.index, int(ok))


@kernel_call('mem_cgroup_charge_file')
def mem_cgroup_charge_file(m: "Machine", pfn: PageLike, memcg: MemCgroup) -> None:
    """Charge and commit a page cache or shmem page.

    Mirrors mem_cgroup_charge_file() in mm/memcontrol.c (Linux 3.16), called
    before the page enters the page cache. A shmem page that is in the swap
    cache (shmem swap-in) goes through the swap-in reservation instead: the
    memcg recorded for its slot is charged and the commit (CACHE, lrucare)
    drops the slot's duplicate memsw charge.
    """
    pfn = _pfn(pfn)
    mem = m.mem
    ok = False
    try:
        if mem.pg.flags[pfn] & PG_swapcache:
            token = __mem_cgroup_try_charge_swapin(m, pfn, memcg)
            __mem_cgroup_commit_charge_swapin(m, pfn, token, "CACHE")
        else:
            _try_charge(m, memcg)
            __mem_cgroup_commit_charge(m, memcg, pfn, "CACHE", False)
        ok = True
    finally:
        m.events.record("mem_cgroup_charge_file", pfn, memcg.index, int(ok))


@kernel_call('try_get_mem_cgroup_from_page')
def try_get_mem_cgroup_from_page(m: "Machine", pfn: PageLike) -> Optional[MemCgroup]:
    """The memcg that owns a locked page, or the one its swap slot records.

    Mirrors try_get_mem_cgroup_from_page() in mm/memcontrol.c (Linux 3.16),
    under lock_page_cgroup. Precondition (VM_BUG_ON_PAGE): the page is
    locked. Only an online memcg is returned (css_tryget_online).
    """
    pfn = _pfn(pfn)
    mem = m.mem
    if not mem.pg.flags[pfn] & PG_locked:
        raise _bug(f"page {pfn} is not locked", "VM_BUG_ON_PAGE(!PageLocked(page), page)",
                   "try_get_mem_cgroup_from_page")
    lock_page_cgroup(m, pfn)
    mi = -1
    if mem.pg.pc_flags[pfn] & PCG_USED:
        mi = mem.pg.pc_memcg[pfn]
    elif mem.pg.flags[pfn] & PG_swapcache:
        mi = lookup_swap_cgroup_id(m, int(mem.private[pfn]))
    unlock_page_cgroup(m, pfn)
    if mi >= 0 and m.memcg_list[mi].online:
        return m.memcg_list[mi]
    return None


def __mem_cgroup_try_charge_swapin(m: "Machine", pfn: int,
                                   mm_memcg: MemCgroup) -> Optional[MemCgroup]:
    """Reserve a charge for a swap-cache page (None: it is already charged)."""
    mem = m.mem
    if mem.pg.pc_flags[pfn] & PCG_USED:
        m.events.record("mem_cgroup_try_charge_swapin:already_charged", pfn, -1, 0)
        return None
    memcg = try_get_mem_cgroup_from_page(m, pfn) if m.swap_account else None
    if memcg is None:
        memcg = mm_memcg
    _try_charge(m, memcg)
    return memcg


@kernel_call('mem_cgroup_try_charge_swapin')
def mem_cgroup_try_charge_swapin(m: "Machine", pfn: PageLike,
                                 mm_memcg: MemCgroup) -> Optional[MemCgroup]:
    """Reserve a charge for a page being swapped in (do_swap_page, unuse_pte).

    Mirrors mem_cgroup_try_charge_swapin() in mm/memcontrol.c (Linux 3.16).
    A page no longer in the swap cache (KSM copy, racing fault) is charged
    to the faulting mm's memcg; a swap-cache page that is already charged
    needs nothing (returns None); otherwise the memcg recorded in
    swap_cgroup for its slot is charged if online, else the mm's. Raises
    MemcgOOM when the charge fails.
    """
    pfn = _pfn(pfn)
    memcg: Optional[MemCgroup] = None
    ok = False
    try:
        if not m.mem.pg.flags[pfn] & PG_swapcache:
            memcg = mm_memcg
            _try_charge(m, memcg)
        else:
            memcg = __mem_cgroup_try_charge_swapin(m, pfn, mm_memcg)
        ok = True
    finally:
        m.events.record("mem_cgroup_try_charge_swapin", pfn,
                        -1 if memcg is None else memcg.index,
                        int(ok and memcg is not None))
    return memcg


def __mem_cgroup_commit_charge_swapin(m: "Machine", pfn: int,
                                      memcg: Optional[MemCgroup], ctype: str) -> None:
    if memcg is None:
        return
    __mem_cgroup_commit_charge(m, memcg, pfn, ctype, True)
    if m.swap_account and m.mem.pg.flags[pfn] & PG_swapcache:
        # the page now holds a memsw charge: drop the slot's duplicate now
        mem_cgroup_uncharge_swap(m, int(m.mem.private[pfn]))


@kernel_call('mem_cgroup_commit_charge_swapin')
def mem_cgroup_commit_charge_swapin(m: "Machine", pfn: PageLike,
                                    memcg: Optional[MemCgroup]) -> None:
    """Commit a swap-in reservation as an anonymous charge.

    Mirrors mem_cgroup_commit_charge_swapin() in mm/memcontrol.c (Linux
    3.16), called after the pte is set and the rmap added. None (already
    charged) does nothing. The commit takes the page off root's LRU and puts
    it on the memcg's (lrucare); if the page is still in the swap cache the
    slot's memsw charge is dropped at once (mem_cgroup_uncharge_swap), else
    it stays until swap_free() frees the slot.
    """
    pfn = _pfn(pfn)
    __mem_cgroup_commit_charge_swapin(m, pfn, memcg, "ANON")
    m.events.record("mem_cgroup_commit_charge_swapin", pfn,
                    -1 if memcg is None else memcg.index, 0 if memcg is None else 1)


@kernel_call('mem_cgroup_cancel_charge_swapin', page=None)
def mem_cgroup_cancel_charge_swapin(m: "Machine", memcg: Optional[MemCgroup]) -> None:
    """Give back a swap-in reservation (the pte changed meanwhile).

    Mirrors mem_cgroup_cancel_charge_swapin() in mm/memcontrol.c (Linux
    3.16); None does nothing, root has nothing to give back.
    """
    if memcg is None:
        return
    if memcg.is_root:
        m.events.record("__mem_cgroup_cancel_charge:root", -1, 0, 0)
    i = m.calls.enter("__mem_cgroup_cancel_charge")
    cancel_charge(m, memcg, 1)
    m.calls.leave(i)
    m.events.record("mem_cgroup_cancel_charge_swapin", -1, memcg.index, 1)


# -- uncharge -----------------------------------------------------------------
@kernel_call('mem_cgroup_do_uncharge', page=None)
def mem_cgroup_do_uncharge(m: "Machine", memcg: MemCgroup, nr_pages: int,
                           ctype: str) -> None:
    """Give back res (and memsw unless SWAPOUT) now or into the open batch.

    Mirrors mem_cgroup_do_uncharge() in mm/memcontrol.c (Linux 3.16). The
    uncharge is deferred into current->memcg_batch when a batch is open,
    the page is a single page and the batch belongs to this memcg (the
    first uncharge of a batch claims it); otherwise it is direct.
    """
    memsw = m.swap_account and ctype != "SWAPOUT"
    batch = _ops(m).batch
    if batch.memcg is None:
        batch.memcg = memcg
    if batch.do_batch and nr_pages == 1 and batch.memcg is memcg:
        batch.nr_pages += nr_pages
        if memsw:
            batch.memsw_nr_pages += nr_pages
        return
    memcg.res.uncharge(nr_pages)
    if memsw:
        memcg.memsw.uncharge(nr_pages)


@kernel_call('__mem_cgroup_uncharge_common')
def __mem_cgroup_uncharge_common(m: "Machine", pfn: PageLike, ctype: str,
                                 end_migration: bool = False) -> Optional[MemCgroup]:
    """Uncharge a page at one of the 3.16 uncharge events, unless it must stay charged.

    Mirrors __mem_cgroup_uncharge_common() in mm/memcontrol.c (Linux 3.16).
    Returns the memcg it uncharged, or None when it did nothing:

    * the page is not PCG_USED (checked before and under lock_page_cgroup);
    * ANON (counts as rss) and DROP refuse while the page is mapped, and
      while PCG_MIGRATION is set unless this is end_migration's call;
    * SWAPOUT refuses for a shmem page still in its inode's page cache
      (page->mapping set, swap-backed) and for a mapped anon page;
    * CACHE never refuses.

    Otherwise: statistics -1, PCG_USED cleared (pc->mem_cgroup kept); for
    SWAPOUT with swap accounting SWAP +1 and a css reference for the coming
    swap record; then, except at the end of a migration (the replacement was
    never counted) and for root (never charged), mem_cgroup_do_uncharge.
    """
    pfn = _pfn(pfn)
    mem = m.mem
    name = "__mem_cgroup_uncharge_common"
    if ctype not in CHARGE_TYPES:
        raise ValueError(f"unknown charge type {ctype!r}")
    if not mem.pg.pc_flags[pfn] & PCG_USED:
        m.events.record(name + ":not_used", pfn, -1, 0)
        return None
    lock_page_cgroup(m, pfn)
    memcg = m.memcg_list[mem.pg.pc_memcg[pfn]]
    anon = bool(mem.pg.flags[pfn] & PG_anon) or ctype == "ANON"
    mapped = mem.pg.mapcount[pfn] > 0
    refuse = None
    if ctype in ("ANON", "DROP"):
        if mapped:
            refuse = "mapped"
        elif not end_migration and mem.pg.pc_flags[pfn] & PCG_MIGRATION:
            refuse = "migration"
    elif ctype == "SWAPOUT":
        if not mem.pg.flags[pfn] & PG_anon:
            if mem.pg.mapping[pfn] >= 0 and mem.pg.flags[pfn] & PG_swapbacked:
                refuse = "shmem_in_cache"
        elif mapped:
            refuse = "mapped"
    if refuse:
        unlock_page_cgroup(m, pfn)
        m.events.record(f"{name}:{refuse}", pfn, memcg.index, 0)
        return None
    mem_cgroup_charge_statistics(m, memcg, anon, -1)
    mem.pg.pc_flags[pfn] &= 0xFF & ~_CHARGED
    unlock_page_cgroup(m, pfn)
    if m.swap_account and ctype == "SWAPOUT":
        memcg.row[_SWAP] += 1
        m.written.add(memcg.index)
        memcg.swap_css_refs += 1
    if not end_migration:
        if memcg.is_root:
            m.events.record(name + ":root", pfn, 0, 0)
        else:
            mem_cgroup_do_uncharge(m, memcg, 1, ctype)
    m.events.record(name, pfn, memcg.index, 1)
    return memcg


def _uncharge_in_use(m: "Machine", pfn: int, ctype: str, name: str) -> Optional[MemCgroup]:
    """__mem_cgroup_uncharge_common for ``name``, noting (design notes) a
    page uncharged while still in use."""
    memcg = __mem_cgroup_uncharge_common(m, pfn, ctype)
    if memcg is not None:
        _ops(m).uncharged_in_use(m, pfn, name)
    return memcg


def _record_uncharge(m: "Machine", name: str, where: int,
                     memcg: Optional[MemCgroup]) -> Optional[MemCgroup]:
    """The event an uncharge entry point ends with: the memcg and 1 page,
    or -1 and 0 when nothing was uncharged; returns ``memcg``."""
    m.events.record(name, where, -1 if memcg is None else memcg.index,
                    0 if memcg is None else 1)
    return memcg


@kernel_call('mem_cgroup_uncharge_page')
def mem_cgroup_uncharge_page(m: "Machine", pfn: PageLike) -> Optional[MemCgroup]:
    """Uncharge an anonymous page at its last unmap (page_remove_rmap, mm/rmap.c).

    Mirrors mem_cgroup_uncharge_page() in mm/memcontrol.c (Linux 3.16), also
    used by end_migration and the anon charge error paths. Returns early
    while the page is mapped, and for a page in the swap cache: that
    uncharge is deferred to mem_cgroup_uncharge_swapcache, which moves the
    charge to the swap slot. Precondition (VM_BUG_ON_PAGE): no file mapping.
    """
    pfn = _pfn(pfn)
    mem = m.mem
    name = "mem_cgroup_uncharge_page"
    memcg = None
    if mem.pg.mapcount[pfn] > 0:
        m.events.record(name + ":mapped", pfn, -1, 0)
    elif mem.pg.mapping[pfn] >= 0 and not mem.pg.flags[pfn] & PG_anon:
        raise _bug(f"page {pfn} is a page cache page",
                   "VM_BUG_ON_PAGE(page->mapping && !PageAnon(page), page)", name)
    elif mem.pg.flags[pfn] & PG_swapcache:
        m.events.record(name + ":swapcache", pfn, mem.pg.pc_memcg[pfn], 0)
    else:
        memcg = _uncharge_in_use(m, pfn, "ANON", name)
    return _record_uncharge(m, name, pfn, memcg)


@kernel_call('mem_cgroup_uncharge_cache_page')
def mem_cgroup_uncharge_cache_page(m: "Machine", pfn: PageLike) -> Optional[MemCgroup]:
    """Uncharge a page that left the page cache (truncation, reclaim, error paths).

    Mirrors mem_cgroup_uncharge_cache_page() in mm/memcontrol.c (Linux
    3.16), called after __delete_from_page_cache(). Preconditions
    (VM_BUG_ON_PAGE): the page is not mapped and page->mapping is already
    NULL. No further checks: type CACHE always uncharges a charged page.
    """
    pfn = _pfn(pfn)
    mem = m.mem
    name = "mem_cgroup_uncharge_cache_page"
    if mem.pg.mapcount[pfn] > 0:
        raise _bug(f"page {pfn} is still mapped", "VM_BUG_ON_PAGE(page_mapped(page), page)",
                   name)
    if mem.pg.mapping[pfn] >= 0:
        raise _bug(f"page {pfn} still has a page->mapping",
                   "VM_BUG_ON_PAGE(page->mapping, page)", name)
    return _record_uncharge(m, name, pfn, _uncharge_in_use(m, pfn, "CACHE", name))


@kernel_call('mem_cgroup_uncharge_start', page=None)
def mem_cgroup_uncharge_start(m: "Machine") -> None:
    """Open (or nest) the task's uncharge batch.

    Mirrors mem_cgroup_uncharge_start() in mm/memcontrol.c (Linux 3.16),
    called around unmap_page_range, the truncate/invalidate loops and
    shrink_page_list.
    """
    b = _ops(m).batch
    b.do_batch += 1
    if b.do_batch == 1:
        b.memcg, b.nr_pages, b.memsw_nr_pages = None, 0, 0
    m.events.record("mem_cgroup_uncharge_start", -1, -1, 0)


@kernel_call('mem_cgroup_uncharge_end', page=None)
def mem_cgroup_uncharge_end(m: "Machine") -> None:
    """Close the batch; the outermost end gives back what it collected.

    Mirrors mem_cgroup_uncharge_end() in mm/memcontrol.c (Linux 3.16): one
    res uncharge and one memsw uncharge for all the batched pages.
    """
    b = _ops(m).batch
    if not b.do_batch:
        return
    b.do_batch -= 1
    memcg, n = b.memcg, b.nr_pages
    if not b.do_batch and memcg is not None:
        if b.nr_pages:
            memcg.res.uncharge(b.nr_pages)
        if b.memsw_nr_pages:
            memcg.memsw.uncharge(b.memsw_nr_pages)
        b.memcg, b.nr_pages, b.memsw_nr_pages = None, 0, 0
    m.events.record("mem_cgroup_uncharge_end", -1,
                    -1 if memcg is None else memcg.index, n)


@kernel_call('mem_cgroup_uncharge_swapcache', slot=1)
def mem_cgroup_uncharge_swapcache(m: "Machine", pfn: PageLike, slot: int,
                                  swapout: bool) -> Optional[MemCgroup]:
    """Settle the charge of a page deleted from the swap cache.

    Mirrors mem_cgroup_uncharge_swapcache() in mm/memcontrol.c (Linux
    3.16), called by swapcache_free(entry, page) (mm/swapfile.c) after the
    slot lost its SWAP_HAS_CACHE bit; ``swapout`` is "the slot still has
    map references". SWAPOUT: the page's memory charge goes, its memsw
    charge moves to the slot (swap_cgroup_record). DROP: nothing refers to
    the slot any more, both charges go. Either may be refused by
    __mem_cgroup_uncharge_common (a mapped page during swap-in, a shmem page
    back in its page cache, a page under migration).
    """
    pfn = _pfn(pfn)
    memcg = __mem_cgroup_uncharge_common(m, pfn, "SWAPOUT" if swapout else "DROP")
    if memcg is not None:
        if m.swap_account and swapout:
            swap_cgroup_record(m, slot, memcg.index)
        _ops(m).uncharged_in_use(m, pfn, "mem_cgroup_uncharge_swapcache")
    return _record_uncharge(m, "mem_cgroup_uncharge_swapcache", slot, memcg)


# -- migration and page cache replacement ---------------------------------------
@kernel_call('mem_cgroup_prepare_migration')
def mem_cgroup_prepare_migration(m: "Machine", old: PageLike,
                                 new: PageLike) -> Optional[MemCgroup]:
    """Commit the migration target to the old page's memcg, without charging it.

    Mirrors mem_cgroup_prepare_migration() in mm/memcontrol.c (Linux 3.16),
    called by __unmap_and_move() with the old page locked, before
    try_to_unmap(). If the old page is charged: a css reference, and
    PCG_MIGRATION on an anon old page so that the uncharge its last unmap
    triggers is refused; then the new page is committed (ANON or CACHE like
    the old one) with statistics +1 and PGPGIN +1 but no counter charge:
    only one of the two pages will survive. Returns the memcg for
    mem_cgroup_end_migration, or None for an uncharged old page.
    """
    old, new = _pfn(old), _pfn(new)
    mem = m.mem
    name = "mem_cgroup_prepare_migration"
    memcg = None
    lock_page_cgroup(m, old)
    if mem.pg.pc_flags[old] & PCG_USED:
        memcg = m.memcg_list[mem.pg.pc_memcg[old]]
        if mem.pg.flags[old] & PG_anon:
            mem.pg.pc_flags[old] |= PCG_MIGRATION
    unlock_page_cgroup(m, old)
    if memcg is None:
        m.events.record(name + ":not_used", old, -1, 0)
        m.events.record(name, old, -1, 0)
        return None
    ctype = "ANON" if mem.pg.flags[old] & PG_anon else "CACHE"
    __mem_cgroup_commit_charge(m, memcg, new, ctype, False)
    m.events.record(name, new, memcg.index, 1)
    return memcg


@kernel_call('mem_cgroup_end_migration', page=1)
def mem_cgroup_end_migration(m: "Machine", memcg: Optional[MemCgroup], old: PageLike,
                             new: PageLike, migration_ok: bool) -> None:
    """Drop the page that did not survive a migration, and re-check the one that did.

    Mirrors mem_cgroup_end_migration() in mm/memcontrol.c (Linux 3.16),
    called by __unmap_and_move() after the mappings were restored (to the
    new page on success, to the old one on failure). The unused page loses
    PCG_USED and its statistics, with no counter change; PCG_MIGRATION is
    cleared on the old page; for an anon page, mem_cgroup_uncharge_page()
    on the survivor uncharges it for real if it is no longer mapped (the
    process unmapped it or exited during the migration).
    """
    old, new = _pfn(old), _pfn(new)
    name = "mem_cgroup_end_migration"
    if memcg is None:
        m.events.record(name, old, -1, 0)
        return
    mem = m.mem
    used, unused = (new, old) if migration_ok else (old, new)
    anon = bool(mem.flags[used] & PG_anon)
    __mem_cgroup_uncharge_common(m, unused, "ANON" if anon else "CACHE",
                                 end_migration=True)
    lock_page_cgroup(m, old)
    mem.pg.pc_flags[old] &= 0xFF & ~PCG_MIGRATION
    unlock_page_cgroup(m, old)
    if anon and mem_cgroup_uncharge_page(m, used) is not None:
        m.events.record(name + ":unmapped_survivor", used, memcg.index, 1)
    m.events.record(name, used, memcg.index, 1)


@kernel_call('mem_cgroup_replace_page_cache')
def mem_cgroup_replace_page_cache(m: "Machine", old: PageLike, new: PageLike) -> None:
    """Move a page cache charge to the page that replaces it (fuse splice, shmem).

    Mirrors mem_cgroup_replace_page_cache() in mm/memcontrol.c (Linux 3.16),
    called by replace_page_cache_page() outside the tree_lock, both pages
    locked. The old page loses PCG_USED and CACHE -1 (it stays on its
    memcg's LRU, uncharged, until it is freed); the new page, which may
    already be on an LRU, is committed as CACHE with lrucare. No counter
    moves. The commit's VM_BUG_ON_PAGE(PageCgroupUsed(pc)) stops the kernel
    if the new page is already charged (inferred from the code:
    docs/kernel-rules.md, "The 3.16 page-cache replacement").
    """
    old, new = _pfn(old), _pfn(new)
    mem = m.mem
    name = "mem_cgroup_replace_page_cache"
    memcg = None
    lock_page_cgroup(m, old)
    if mem.pg.pc_flags[old] & PCG_USED:
        memcg = m.memcg_list[mem.pg.pc_memcg[old]]
        mem_cgroup_charge_statistics(m, memcg, False, -1)
        mem.pg.pc_flags[old] &= 0xFF & ~_CHARGED
    unlock_page_cgroup(m, old)
    if memcg is None:
        m.events.record(name + ":not_used", old, -1, 0)
        m.events.record(name, old, -1, 0)
        return
    _ops(m).uncharged_in_use(m, old, name)
    __mem_cgroup_commit_charge(m, memcg, new, "CACHE", True)
    m.events.record(name, new, memcg.index, 1)


@kernel_call('mem_cgroup_move_account')
def mem_cgroup_move_account(m: "Machine", pfn: PageLike, from_: MemCgroup,
                            to: MemCgroup) -> bool:
    """Move the page_cgroup of an isolated page from one memcg to another.

    Mirrors mem_cgroup_move_account() in mm/memcontrol.c (Linux 3.16):
    preconditions from != to (VM_BUG_ON) and the page off the LRU
    (VM_BUG_ON_PAGE(PageLRU(page))); serialised against a concurrent
    uncharge by lock_page_cgroup (3.17 trylocks the page instead). Gives up
    if the page is no longer charged to ``from``. Moves FILE_MAPPED for a
    mapped file page and RSS/CACHE with one PGPGOUT / PGPGIN; the counters
    are settled by the caller (mem_cgroup_clear_mc).
    """
    pfn = _pfn(pfn)
    mem = m.mem
    name = "mem_cgroup_move_account"
    if from_ is to:
        raise _bug("charges would move from a memcg to itself",
                   "VM_BUG_ON(from == to)", name)
    if mem.pg.flags[pfn] & PG_lru:
        raise _bug(f"page {pfn} is still on an LRU list",
                   "VM_BUG_ON_PAGE(PageLRU(page), page)", name)
    lock_page_cgroup(m, pfn)
    if not mem.pg.pc_flags[pfn] & PCG_USED or mem.pg.pc_memcg[pfn] != from_.index:
        unlock_page_cgroup(m, pfn)
        m.events.record(name, pfn, -1, 0)
        return False
    anon = bool(mem.pg.flags[pfn] & PG_anon)
    if not anon and mem.pg.mapcount[pfn] > 0:
        from_.row[COL["mapped_file"]] -= 1
        to.row[COL["mapped_file"]] += 1
        m.written.update((from_.index, to.index))
    mem_cgroup_charge_statistics(m, from_, anon, -1)
    mem.pg.pc_memcg[pfn] = to.index
    mem_cgroup_charge_statistics(m, to, anon, 1)
    unlock_page_cgroup(m, pfn)
    m.events.record(name, pfn, to.index, 1)
    return True


class Memcg316:
    """The memcg hooks of Linux 3.16 at the mm call sites the model shares.

    The mm callers (mm.py, reclaim.py, migrate.py) call ``machine.ops.<site>``;
    this class answers with the 3.16 functions above, where the 3.16 kernel
    called them. One instance per machine: it also holds the 3.16 state
    that lives outside page_cgroup (current->memcg_batch, the count of
    page_cgroup lock acquisitions, and which pages were uncharged while
    still in use, for the design notes).
    """

    design = "3.16"
    pcg_flag_names = PCG_FLAG_NAMES_316
    #: the vectorised fault/zap paths skip page_remove_rmap, where 3.16 uncharges
    bulk_ok = False
    #: uncharge_start / uncharge_end open and close current->memcg_batch
    uncharge_batches = True
    #: I7 (uncharged pages on LRUs are root's) does not hold: design notes instead
    design_differences = ("I7",)

    def __init__(self) -> None:
        self.locks = 0
        self.batch = MemcgBatch()
        #: pfn -> (page generation, function that uncharged it)
        self.uncharged: dict[int, tuple[int, str]] = {}

    # bookkeeping for the design notes ------------------------------------------
    def uncharged_in_use(self, m: "Machine", pfn: int, function: str) -> None:
        """Remember that ``function`` uncharged a page that is still allocated."""
        self.uncharged[pfn] = (m.mem.pg.gen[pfn], function)

    def charged_again(self, pfn: int) -> None:
        self.uncharged.pop(pfn, None)

    def design_notes(self, m: "Machine") -> list[str]:
        """The 3.17 invariants this state breaks, in words (see differences_316)."""
        return design_differences(m, self.uncharged)

    def pc_flags_view(self, flags: NDArray[np.uint8]) -> NDArray[np.uint8]:
        """pc_flags as page_state() shows them under 3.16."""
        return pc_flags_316(flags)

    # charge sites ----------------------------------------------------------------
    def try_charge(self, m: "Machine", pfn: int, mm_memcg: Optional[MemCgroup],
                   site: str) -> tuple[str, Optional[MemCgroup]]:
        """do_anonymous_page: mem_cgroup_charge_anon; page cache and shmem
        insertion (new page or swap-in): mem_cgroup_charge_file; do_swap_page:
        mem_cgroup_try_charge_swapin. The first two commit at once."""
        memcg = mm_memcg if mm_memcg is not None else m.root
        if site == "anon":
            mem_cgroup_charge_anon(m, pfn, memcg)
            return ("committed", memcg)
        if site in ("file", "shmem", "shmem_swapin"):
            mem_cgroup_charge_file(m, pfn, memcg)
            return ("committed", memcg)
        if site == "swapin":
            return ("swapin", mem_cgroup_try_charge_swapin(m, pfn, memcg))
        raise ValueError(f"no 3.16 charge hook for the call site {site!r}")

    def commit_charge(self, m: "Machine", pfn: int, token: tuple[str, Optional[MemCgroup]], lrucare: bool,
                      site: str) -> None:
        """do_swap_page after the rmap: mem_cgroup_commit_charge_swapin; else
        nothing (mem_cgroup_charge_anon/_file committed already)."""
        kind, memcg = token
        if kind == "swapin":
            mem_cgroup_commit_charge_swapin(m, pfn, memcg)

    def cancel_charge(self, m: "Machine", pfn: int, token: tuple[str, Optional[MemCgroup]],
                      site: str) -> None:
        """Error paths: mem_cgroup_cancel_charge_swapin, or the uncharge of
        the page that was committed too early (anon / cache)."""
        kind, memcg = token
        if kind == "swapin":
            mem_cgroup_cancel_charge_swapin(m, memcg)
        elif site == "anon":
            mem_cgroup_uncharge_page(m, pfn)
        else:
            mem_cgroup_uncharge_cache_page(m, pfn)

    # uncharge sites ----------------------------------------------------------------
    def page_remove_rmap(self, m: "Machine", pfn: int) -> None:
        """page_remove_rmap() at the last unmap of an anon page: mem_cgroup_uncharge_page."""
        mem_cgroup_uncharge_page(m, pfn)

    def delete_from_page_cache(self, m: "Machine", pfn: int) -> None:
        """delete_from_page_cache() / __remove_mapping(): mem_cgroup_uncharge_cache_page."""
        mem_cgroup_uncharge_cache_page(m, pfn)

    def delete_from_swap_cache(self, m: "Machine", pfn: int, slot: int,
                               remaining: int) -> None:
        """swapcache_free(entry, page): mem_cgroup_uncharge_swapcache, SWAPOUT
        if the slot still has map references, else DROP."""
        mem_cgroup_uncharge_swapcache(m, pfn, slot, (remaining & 0x7FFF) != 0)

    def release_pages(self, m: "Machine", pfns: Union[np.ndarray, list[int]]) -> None:
        """release_pages()/shrink_page_list(): no memcg call at the final put in 3.16."""
        for pfn in np.asarray(pfns).tolist():
            self.uncharged.pop(int(pfn), None)

    def page_cache_release(self, m: "Machine", pfn: int) -> None:
        """__page_cache_release(): no memcg call in 3.16."""
        self.uncharged.pop(pfn, None)

    def remove_mapping_swapout(self, m: "Machine", pfn: int, slot: int) -> None:
        """__remove_mapping(): 3.16 settles the charge in swapcache_free instead."""

    def uncharge_swap(self, m: "Machine", slot: int) -> None:
        """swap_entry_free() at map count 0: mem_cgroup_uncharge_swap (memsw of
        root is never charged, so never uncharged)."""
        if m.swap_account and lookup_swap_cgroup_id(m, slot) == 0:
            m.events.record("mem_cgroup_uncharge_swap:root", slot, 0, 0)
        mem_cgroup_uncharge_swap(m, slot)

    def uncharge_start(self, m: "Machine") -> None:
        """unmap_page_range, truncation, shrink_page_list: mem_cgroup_uncharge_start."""
        mem_cgroup_uncharge_start(m)

    def uncharge_end(self, m: "Machine") -> None:
        """... and mem_cgroup_uncharge_end at their end."""
        mem_cgroup_uncharge_end(m)

    # migration, replacement, moving ------------------------------------------------------
    def migrate_prepare(self, m: "Machine", old: int, new: int) -> Optional[MemCgroup]:
        """__unmap_and_move() before try_to_unmap: mem_cgroup_prepare_migration."""
        return mem_cgroup_prepare_migration(m, old, new)

    def migrate(self, m: "Machine", old: int, new: int, token: object) -> None:
        """move_to_new_page(): no memcg call in 3.16."""

    def migrate_end(self, m: "Machine", old: int, new: int, token: object,
                    ok: bool) -> None:
        """__unmap_and_move() after remapping: mem_cgroup_end_migration."""
        # the token is the memcg (or None) migrate_prepare above returned
        mem_cgroup_end_migration(m, token, old, new, ok)  # type: ignore[arg-type]

    def replace_page_cache(self, m: "Machine", old: int, new: int) -> None:
        """replace_page_cache_page(): mem_cgroup_replace_page_cache."""
        mem_cgroup_replace_page_cache(m, old, new)

    def move_account(self, m: "Machine", pfn: int, from_: MemCgroup,
                     to: MemCgroup) -> bool:
        """mem_cgroup_move_charge_pte_range(): mem_cgroup_move_account under lock_page_cgroup."""
        return mem_cgroup_move_account(m, pfn, from_, to)

    def update_file_mapped(self, m: "Machine", pfn: int, delta: int) -> None:
        """page_add_file_rmap()/page_remove_rmap(): FILE_MAPPED of a charged page."""
        mem_cgroup_update_page_stat(m, pfn, delta)
