"""World-level operations the paths' steps are made of.

Each function mirrors one kernel helper and is named after it; they act
on the explorer's small World (memcg_edu.explore.state), not on the full
model. Kernel files: mm/memcontrol.c (mem_cgroup_page_lruvec,
__mem_cgroup_uncharge_common, mem_cgroup_uncharge, commit_charge),
mm/swap.c (__page_cache_release, put_page), mm/vmscan.c
(isolate_lru_page, putback_lru_page), mm/page_alloc.c (free_pages_check),
mm/swapfile.c (swap_free), include/linux/pagemap.h (trylock_page).

Simplification shared by every race: an LRU addition goes straight onto
the lruvec (the per-CPU pagevec is drained at once), so "putback" is one
step under zone->lru_lock.
"""
from __future__ import annotations

from .state import ROOT, StepViolation, World

__all__ = ["mem_cgroup_page_lruvec", "lru_del", "lru_add", "isolate_lru_page",
           "putback_lru_page", "put_page", "free_page", "uncharge_317",
           "charge_statistics", "mem_cgroup_uncharge_swap", "swap_free", "trylock_page"]


def mem_cgroup_page_lruvec(w: World, name: str) -> str:
    """Which memcg's lruvec a page belongs to (mm/memcontrol.c).

    Uses pc->mem_cgroup, except that a page that is off the LRU and not
    PCG_USED is silently switched to the root memcg first (both 3.16 and
    3.17 do this; caller holds zone->lru_lock).
    """
    p = w.page(name)
    if p["lru"] is None and "USED" not in p["pc_flags"] and p["pc_memcg"] != ROOT:
        p["pc_memcg"] = ROOT
    return p["pc_memcg"]


def lru_del(w: World, name: str) -> None:
    """del_page_from_lru_list + ClearPageLRU, on the lruvec the lookup gives."""
    p = w.page(name)
    on = mem_cgroup_page_lruvec(w, name)
    if p["lru"] != on:
        raise StepViolation(
            "I6", f"page {name} is linked on {p['lru']}'s lruvec but the lookup "
                  f"gives {on}'s: del_page_from_lru_list corrupts {on}'s lru_size")
    p["lru"] = None


def lru_add(w: World, name: str) -> None:
    """SetPageLRU + add_page_to_lru_list on mem_cgroup_page_lruvec's lruvec."""
    p = w.page(name)
    if p["lru"] is not None:
        raise StepViolation("VM_BUG_ON",
                            f"page {name} is already on an LRU: VM_BUG_ON_PAGE(PageLRU(page))")
    p["lru"] = mem_cgroup_page_lruvec(w, name)


def isolate_lru_page(w: World, name: str) -> bool:
    """mm/vmscan.c:isolate_lru_page: take a PageLRU page off its list and
    pin it with a reference; False (-EBUSY) when it is not on an LRU."""
    p = w.page(name)
    if p["lru"] is None:
        return False
    lru_del(w, name)
    p["ref"] += 1
    return True


def putback_lru_page(w: World, name: str) -> None:
    """mm/vmscan.c:putback_lru_page: back onto an LRU, drop the isolation
    reference (which may be the last one)."""
    lru_add(w, name)
    put_page(w, name)


def charge_statistics(w: World, memcg: str, name: str, nr: int) -> None:
    """mem_cgroup_charge_statistics: RSS for anon, CACHE otherwise."""
    w.stat(memcg, "rss" if w.pages[name]["anon"] else "cache", nr)


def uncharge_317(w: World, name: str) -> None:
    """mm/memcontrol.c:mem_cgroup_uncharge (3.17) at the final put.

    Preconditions: VM_BUG_ON_PAGE(PageLRU(page)) and
    VM_BUG_ON_PAGE(page_count(page)). Returns early for an uncharged page.
    """
    p = w.page(name)
    if p["lru"] is not None or p["ref"] != 0:
        raise StepViolation("VM_BUG_ON", f"mem_cgroup_uncharge of page {name} "
                            "that is on an LRU or still referenced")
    if "USED" not in p["pc_flags"]:
        return
    memcg = p["pc_memcg"]
    counters = [c for c, f in (("res", "MEM"), ("memsw", "MEMSW"))
                if f in p["pc_flags"]]
    p["pc_flags"] = frozenset()
    w.uncharge(memcg, counters)
    charge_statistics(w, memcg, name, -1)


def free_page(w: World, name: str) -> None:
    """The page reaches the page allocator: __page_cache_release takes it
    off the LRU, 3.17 uncharges it, free_pages_check refuses a page still
    PCG_USED ("cgroup check failed", mem_cgroup_bad_page_check)."""
    p = w.page(name)
    if p["map"] > 0:
        raise StepViolation("bad page", f"page {name} is freed while still mapped")
    if p["lru"] is not None:
        lru_del(w, name)
    if w.design == "3.17":
        uncharge_317(w, name)
    if "USED" in p["pc_flags"]:
        raise StepViolation("I8", f"page {name} reaches the page allocator still "
                            "PCG_USED: free_pages_check -> mem_cgroup_bad_page_check "
                            "(mm/page_alloc.c) reports a bad page")
    p["freed"] = True


def put_page(w: World, name: str, nr: int = 1) -> None:
    """put_page: drop references; the last one frees the page."""
    p = w.page(name)
    if p["ref"] < nr:
        raise StepViolation("refcount", f"page {name} loses more references than it has")
    p["ref"] -= nr
    if p["ref"] == 0:
        free_page(w, name)


def mem_cgroup_uncharge_swap(w: World, slot: str) -> None:
    """mm/memcontrol.c:mem_cgroup_uncharge_swap (3.16 and 3.17): clear the
    slot's swap_cgroup record and give back its memory+swap page (root's
    counters are never charged)."""
    memcg = w.slots[slot]["record"]
    w.slots[slot]["record"] = None
    if memcg is not None:
        if memcg != ROOT:
            w.uncharge(memcg, ("memsw",))
        w.stat(memcg, "swap", -1)


def swap_free(w: World, slot: str) -> None:
    """mm/swapfile.c:swap_free -> swap_entry_free: drop one swap count; the
    last one frees the slot and uncharges its swap record."""
    w.slots[slot]["count"] -= 1
    if w.slots[slot]["count"] == 0:
        mem_cgroup_uncharge_swap(w, slot)


def trylock_page(w: World, name: str, path: str) -> bool:
    """include/linux/pagemap.h:trylock_page: take the page lock for
    ``path`` unless somebody holds it (False, nothing taken)."""
    lock = f"page:{name}"
    if w.holder(lock) is not None:
        return False
    w.take(lock, path)
    return True
