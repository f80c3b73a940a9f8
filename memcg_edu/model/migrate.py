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
from .lru import isolate_lru_page
from .mm import (lock_page, page_add_file_rmap, page_remove_rmap, put_page,
                 putback_lru_page, rmap_all, rmap_move, unlock_page)
from .pages import (PG_active, PG_anon, PG_swapbacked, PG_swapcache,
                    PG_unevictable)

if TYPE_CHECKING:
    from .machine import Machine

__all__ = ["migrate_page"]

#: migrate_pages() tries a busy page this many times
MIGRATE_PASSES = 10


def _move_mapping(m: "Machine", old: int, new: int) -> bool:
    """migrate_page_move_mapping(): move the cache slot, or -EAGAIN on extra references."""
    mem = m.mem
    in_pc = not mem.flags[old] & PG_anon and mem.mapping[old] >= 0
    in_sc = bool(mem.flags[old] & PG_swapcache)
    expected = 1 + int(in_pc or in_sc)
    if mem.refcount[old] != expected:
        return False
    if in_pc:
        file = m.file_list[int(mem.mapping[old])]
        off = file.offset_of.pop(old)
        file.pages[off], file.offset_of[new] = new, off
        mem.refcount[new] += 1
        mem.refcount[old] -= 1
    elif in_sc:
        slot = int(mem.private[old])
        mem.flags[new] |= PG_swapcache
        mem.private[new] = slot
        m.swap.page[slot] = new
        mem.flags[old] &= 0xFFFF ^ PG_swapcache
        mem.private[old] = -1
        mem.refcount[new] += 1
        mem.refcount[old] -= 1
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
    if not isolate_lru_page(m, old):
        raise ModelUsageError(f"page {old} is not on an LRU list, so "
                              f"isolate_lru_page() cannot take it for migration")
    try:
        new = mem.alloc_one()                    # get_new_page
    except ModelUsageError:
        putback_lru_page(m, old)                 # -ENOMEM: the page goes back
        raise
    lock_page(m, old)
    token = m.ops.migrate_prepare(m, old, new)
    ptes = rmap_all(m, old)                      # try_to_unmap: migration entries
    k = len(ptes)
    if k:
        # one page_remove_rmap() and put_page() per pte; only the last of
        # each can reach zero (and the isolation reference keeps the count
        # above it), so the k-1 before it are plain decrements
        rmap_move(m, old, new)                   # the rmap waits on the new page
        mem.mapcount[old] -= k - 1
        page_remove_rmap(m, old)
        mem.refcount[old] -= k - 1
        put_page(m, old)
    ok = False
    lock_page(m, new)                            # move_to_new_page
    mem.mapping[new] = mem.mapping[old]
    mem.flags[new] |= mem.flags[old] & (PG_anon | PG_swapbacked)
    for _ in range(MIGRATE_PASSES):
        if _move_mapping(m, old, new):
            ok = True
            break
    if ok:
        moved = mem.flags[old] & (PG_active | PG_unevictable)   # migrate_page_copy
        mem.flags[new] |= moved
        mem.flags[old] &= 0xFFFF ^ (PG_active | PG_unevictable)
        m.ops.migrate(m, old, new, token)
        mem.mapping[old] = -1
    else:
        mem.mapping[new] = -1
        mem.flags[new] &= 0xFFFF ^ (PG_anon | PG_swapbacked)
    unlock_page(m, new)
    target = new if ok else old
    if k:                                        # remove_migration_ptes
        for tid, v in ptes:
            m.task_list[tid].pte[v] = target
        if not ok:
            rmap_move(m, new, old)               # failed: the ptes map old again
        mem.refcount[target] += k
        if mem.flags[target] & PG_anon:
            mem.mapcount[target] += k
        else:                                    # the first counts FILE_MAPPED
            page_add_file_rmap(m, target)
            mem.mapcount[target] += k - 1
    m.ops.migrate_end(m, old, new, token, ok)
    unlock_page(m, old)
    putback_lru_page(m, old)
    putback_lru_page(m, new)
    return new if ok else None
