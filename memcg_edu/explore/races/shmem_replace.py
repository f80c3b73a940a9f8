"""Race 6 (3.17 bug replay): shmem_replace_page with lrucare=false.

Kernel context (Linux 3.17, mm/shmem.c, mm/memcontrol.c, mm/vmscan.c):

* ``shmem_getpage_gfp`` finds the tmpfs page S in the swap cache (it was
  moved there by ``shmem_writepage`` and is still charged to A), locks
  it and, because S sits in a zone the mapping's gfp mask forbids
  (i965 graphics objects must stay below 4GiB), calls
  ``shmem_replace_page``: a new page N takes S's place in the swap cache
  and ``mem_cgroup_migrate(S, N, lrucare=false)`` transfers the charge;
  N is added to the LRU, S is unlocked and released twice. The swap-in
  then goes on with N: ``mem_cgroup_try_charge`` (nothing, N is
  charged), ``shmem_add_to_page_cache``, commit, ``delete_from_swap_cache``
  and ``swap_free``.
* Meanwhile reclaim isolates S from the LRU and puts it back (its
  ``trylock_page`` fails while the swap-in holds the page lock), so S may
  or may not be on an LRU when ``mem_cgroup_migrate`` runs.
* The bug (docs/kernel-rules.md, "shmem_replace_page in 3.17"): ``mem_cgroup_migrate`` asserts
  ``VM_BUG_ON_PAGE(!lrucare && PageLRU(oldpage))``, reported on i965
  hardware; without CONFIG_DEBUG_VM, S's flags are cleared while it sits
  on A's LRU. Michal Hocko's fix (acked by Hugh Dickins) passes
  ``lrucare=true`` (fix ``lrucare``). In the 3.17.0 code that alone is
  not enough for a charged S: ``unlock_page_lru`` switches the uncharged
  S to root before ``mem_cgroup_migrate`` reads ``pc->mem_cgroup`` for N,
  so also apply ``memcg_read_first`` (see race replace_vs_move).
"""
from __future__ import annotations

from ..kernel import isolate_lru_page, lru_add, put_page, putback_lru_page, swap_free, trylock_page
from ..memcg317 import commit_charge, commit_charge_done, mem_cgroup_migrate, try_charge_swapcache
from ..paths import END, Path, Step
from ..state import World, new_memcg, new_page, new_slot
from . import Race

__all__ = ["RACE"]

_S, _N, _E = "S", "N", "E"
_FULL = {"USED", "MEM", "MEMSW"}


def _build(fixes: frozenset[str]) -> tuple[World, list[Path]]:
    world = World("3.17",
                  pages={_S: new_page(anon=False, ref=1, lru="A", pc_flags=_FULL,
                                      pc_memcg="A", swapcache=_E),
                         _N: new_page(anon=False, ref=1, mapping=False)},
                  memcgs={"A": new_memcg(None, res=1, memsw=1, cache=1)},
                  slots={_E: new_slot(count=1, cache=_S)})

    def lookup(w: World, ctx) -> None:
        w.page(_S)["ref"] += 1

    def replace(w: World, ctx) -> None:
        s, n = w.page(_S), w.page(_N)
        w.take(f"page:{_N}", ctx.path)  # __set_page_locked(newpage)
        n["ref"] += 1
        n["swapcache"], n["mapping"] = _E, True
        w.slots[_E]["cache"] = _N

    def release_old(w: World, ctx) -> None:
        s = w.page(_S)
        s["swapcache"] = None
        w.drop(f"page:{_S}", ctx.path)
        put_page(w, _S, 2)

    def try_charge(w: World, ctx) -> None:
        ctx.local["memcg"] = try_charge_swapcache(w, _N, _E, "A")

    def add_to_cache(w: World, ctx) -> None:
        w.page(_N)["cache"] = True

    def delete_swap(w: World, ctx) -> None:
        n = w.page(_N)
        n["swapcache"] = None
        w.slots[_E]["cache"] = None
        n["ref"] -= 1
        swap_free(w, _E)

    swapin = Path("shmem_swapin", (
        Step("lookup_swap_cache", "mm/shmem.c:shmem_getpage_gfp", lookup,
             takes=("tree_lock",), releases=("tree_lock",), refs="a page reference"),
        Step("lock_page", "mm/shmem.c:shmem_getpage_gfp", lambda w, ctx: None,
             takes=(f"page:{_S}",)),
        Step("shmem_replace_page: new page replaces old in swap cache",
             "mm/shmem.c:shmem_replace_page", replace,
             takes=("tree_lock",), releases=("tree_lock",)),
        *mem_cgroup_migrate(_S, _N, lrucare="lrucare" in fixes,
                            read_first="memcg_read_first" in fixes,
                            done="lru_cache_add_anon(new)"),
        Step("lru_cache_add_anon(new)", "mm/shmem.c:shmem_replace_page",
             lambda w, ctx: lru_add(w, _N), takes=("lru_lock",), releases=("lru_lock",)),
        Step("unlock old, page_cache_release(old) x2", "mm/shmem.c:shmem_replace_page",
             release_old, takes=("lru_lock",), releases=("lru_lock",)),
        Step("mem_cgroup_try_charge(new)", "mm/memcontrol.c:mem_cgroup_try_charge (3.17)",
             try_charge),
        Step("shmem_add_to_page_cache", "mm/shmem.c:shmem_add_to_page_cache", add_to_cache,
             takes=("tree_lock",), releases=("tree_lock",)),
        *commit_charge(_N, "memcg", lrucare=True, prefix="commit: "),
        Step("statistics, mem_cgroup_uncharge_swap", "mm/memcontrol.c:mem_cgroup_commit_charge (3.17)",
             lambda w, ctx: commit_charge_done(w, _N, ctx.local["memcg"])),
        Step("delete_from_swap_cache, swap_free", "mm/shmem.c:shmem_getpage_gfp", delete_swap,
             takes=("tree_lock",), releases=("tree_lock",)),
        Step("unlock_page(new)", "mm/shmem.c:shmem_getpage_gfp", lambda w, ctx: None,
             releases=(f"page:{_N}",)),
    ), local=(("memcg", None),))

    def _on_lru(w: World) -> bool:
        # reclaim scans the LRU lists: a freed page is on none of them
        return not w.pages[_S]["freed"] and w.pages[_S]["lru"] is not None

    reclaim = Path("reclaim", (
        Step("isolate_lru_pages", "mm/vmscan.c:shrink_inactive_list",
             lambda w, ctx: None if _on_lru(w) and isolate_lru_page(w, _S) else END,
             takes=("lru_lock",), releases=("lru_lock",)),
        Step("trylock_page", "mm/vmscan.c:shrink_page_list",
             lambda w, ctx: None if trylock_page(w, _S, ctx.path) else "putback_inactive_pages"),
        Step("page referenced: keep, unlock_page", "mm/vmscan.c:shrink_page_list",
             lambda w, ctx: None, releases=(f"page:{_S}",)),
        Step("putback_inactive_pages", "mm/vmscan.c:putback_inactive_pages",
             lambda w, ctx: putback_lru_page(w, _S),
             takes=("lru_lock",), releases=("lru_lock",)),
    ))
    return world, [swapin, reclaim]


RACE = Race("shmem_replace", "3.17",
            "bug replay: shmem_replace_page calls mem_cgroup_migrate with lrucare=false",
            __doc__, (), _build, fixes=("lrucare", "memcg_read_first"), expect_broken=True)
