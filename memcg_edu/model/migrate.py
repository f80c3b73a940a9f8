"""Page migration: migrate_pages() -> unmap_and_move() (mm/migrate.c, Linux 3.17).

The page is isolated from its LRU, a new page allocated, the old page
locked and unmapped (migration entries in its ptes), then
move_to_new_page() locks the new page, moves the page-cache or swap-cache
slot (which fails with -EAGAIN if someone else holds a reference) and
calls mem_cgroup_migrate(old, new, lrucare=false) before
remove_migration_ptes() maps the new page. Both pages are then put back:
the old one, uncharged, lands on root's LRU and is freed by its last put.
"""
from __future__ import annotations

from typing import TYPE_CHECKING, Optional

from ..errors import ModelUsageError
from . import bulk
from .calls import kernel_call
from .lru import isolate_lru_page
from .mm import (lock_page_first, page_add_file_rmap, page_remove_rmap, put_page,
                 putback_lru_page, rmap_add, rmap_all, rmap_del, unlock_page)
from .pages import (PG_active, PG_anon, PG_swapbacked, PG_swapcache,
                    PG_unevictable)

if TYPE_CHECKING:
    from .machine import Machine

__all__ = ["migrate_page"]

#: migrate_pages() tries a busy page this many times
MIGRATE_PASSES = 10


@kernel_call("migrate_page_move_mapping")
def _move_mapping(m: "Machine", old: int, new: int) -> bool:
    """migrate_page_move_mapping(): move the cache slot, or -EAGAIN on extra references."""
    mem = m.mem
    in_pc = not mem.pg.flags[old] & PG_anon and mem.pg.mapping[old] >= 0
    in_sc = bool(mem.pg.flags[old] & PG_swapcache)
    expected = 1 + int(in_pc or in_sc)
    if mem.pg.refcount[old] != expected:
        return False
    if in_pc:
        file = m.file_list[mem.pg.mapping[old]]
        off = file.offset_of.pop(old)
        file.pages[off], file.offset_of[new] = new, off
        mem.pg.refcount[new] += 1
        mem.pg.refcount[old] -= 1
    elif in_sc:
        slot = int(mem.private[old])
        mem.pg.flags[new] |= PG_swapcache
        mem.private[new] = slot
        m.swap.page[slot] = new
        mem.pg.flags[old] &= 0xFFFF ^ PG_swapcache
        mem.private[old] = -1
        mem.pg.refcount[new] += 1
        mem.pg.refcount[old] -= 1
    return True


def migrate_page(m: "Machine", old: int) -> Optional[int]:
    """Migrate one LRU page; returns the new pfn, or None if it stayed busy.

    Kernel order (__unmap_and_move, move_to_new_page): lock old;
    try_to_unmap (TTU_MIGRATION); lock new, copy mapping/index and the
    anon/swapbacked state; move the cache slot; on success
    mem_cgroup_migrate before remove_migration_ptes, and old->mapping =
    NULL; on failure the old page is remapped. Then putback_lru_page() of
    both (the failed new page is freed by it).
    """
    mem = m.mem
    calls = m.calls
    if not isolate_lru_page(m, old):
        raise ModelUsageError(f"page {old} is not on an LRU list, so "
                              f"isolate_lru_page() cannot take it for migration")
    top = calls.enter("migrate_pages", old)
    try:
        return _unmap_and_move(m, old)
    finally:
        calls.leave(top)


@kernel_call("unmap_and_move")
def _unmap_and_move(m: "Machine", old: int) -> Optional[int]:
    """unmap_and_move(): get_new_page, __unmap_and_move, then put both pages back."""
    mem = m.mem
    calls = m.calls
    try:
        new = mem.alloc_one()                    # get_new_page
    except ModelUsageError:
        putback_lru_page(m, old)                 # -ENOMEM: the page goes back
        raise
    calls.leaf("alloc_pages", new)
    i = calls.enter("__unmap_and_move", old)
    lock_page_first(m, old)
    token = m.ops.migrate_prepare(m, old, new)
    ptes = rmap_all(m, old)
    if ptes:
        j = calls.enter("try_to_unmap", old)
        if len(ptes) > bulk.MIGRATION_PTES:      # many: the same, at once
            bulk.try_to_unmap_migration(m, old, new, len(ptes))
        else:
            for tid, v in ptes:                  # migration entries
                rmap_del(m, old, tid, v)
                page_remove_rmap(m, old)
                put_page(m, old)
        calls.leave(j)
    ok = False
    j = calls.enter("move_to_new_page", new)
    lock_page_first(m, new)
    mem.pg.mapping[new] = mem.pg.mapping[old]
    mem.pg.flags[new] |= mem.pg.flags[old] & (PG_anon | PG_swapbacked)
    for _ in range(MIGRATE_PASSES):
        if _move_mapping(m, old, new):
            ok = True
            break
    if ok:
        moved = mem.pg.flags[old] & (PG_active | PG_unevictable)
        mem.pg.flags[new] |= moved
        mem.pg.flags[old] &= 0xFFFF ^ (PG_active | PG_unevictable)
        calls.leaf("migrate_page_copy", new)
        m.ops.migrate(m, old, new, token)
    target = new if ok else old
    if ok and ptes:
        _remove_migration_ptes(m, ptes, new, target)
    if ok:
        mem.pg.mapping[old] = -1
    else:
        mem.pg.mapping[new] = -1
        mem.pg.flags[new] &= 0xFFFF ^ (PG_anon | PG_swapbacked)
    unlock_page(m, new)
    calls.leave(j)
    if not ok and ptes:
        _remove_migration_ptes(m, ptes, new, target)
    m.ops.migrate_end(m, old, new, token, ok)
    unlock_page(m, old)
    calls.leave(i)
    putback_lru_page(m, old)
    putback_lru_page(m, new)
    return new if ok else None


def _remove_migration_ptes(m: "Machine", ptes: list[tuple[int, int]], new: int,
                           target: int) -> None:
    """remove_migration_ptes(): each migration entry becomes a pte of ``target``
    (``new``, or the old page when migration failed)."""
    mem = m.mem
    i = m.calls.enter("remove_migration_ptes", target)
    if len(ptes) > bulk.MIGRATION_PTES:          # as try_to_unmap did them
        bulk.remove_migration_ptes(m, ptes, new, target)
        m.calls.leave(i)
        return
    for tid, v in ptes:
        mem.pg.refcount[target] += 1             # get_page
        m.task_list[tid].pte[v] = target
        rmap_add(m, target, tid, v)
        if mem.pg.flags[target] & PG_anon:
            mem.pg.mapcount[target] += 1
            m.calls.leaf("page_add_anon_rmap", target)
        else:
            page_add_file_rmap(m, target)
    m.calls.leave(i)
