"""Race 8 (3.16 bug replay): a write-fault swap-in reuses a page still charged.

Kernel context (Linux 3.16, mm/memory.c, mm/swapfile.c, mm/memcontrol.c,
mm/vmscan.c):

* Reclaim has unmapped anon page X (``try_to_unmap``: P's pte became a
  swap pte for slot E) and written it out; ``mem_cgroup_uncharge_page``
  deferred the uncharge because X is in the swap cache, so X is still
  PCG_USED, unmapped, clean, on A's LRU. Reclaim's next pass will free it
  (``__remove_mapping`` -> ``swapcache_free`` -> SWAPOUT).
* P write-faults on the swap pte first: ``do_swap_page`` looks X up,
  locks it, and ``mem_cgroup_try_charge_swapin`` charges nothing because
  X is PCG_USED ("the USED bit is protected by the page lock, which
  serializes swap cache removal"). Then ``reuse_swap_page(X)`` (mapcount
  0 + swap count 1) deletes X from the swap cache *before* it is mapped:
  ``swapcache_free(E, X)`` -> ``mem_cgroup_uncharge_swapcache(X, E,
  swapout=true)``, and SWAPOUT uncharges an unmapped anon page, writing a
  swap record. X is then mapped, the commit has no memcg, and
  ``swap_free(E)`` drops the record: X is mapped and uncharged, A's
  counters are 0. This is case (D) of the table in the 3.16
  memcg_test.txt, which assumed a charge at try_charge that the 3.16
  code no longer makes.
* Whichever path deletes X from the swap cache first decides: reclaim
  first and the fault reads a new page (outside this race); the fault
  first and the charge is lost. No 3.16 protection covers it; 3.17 does
  not uncharge at swap-cache deletion at all. This reading of the 3.16
  source is the explorer's finding, not a documented kernel report.
"""
from __future__ import annotations

from ..kernel import isolate_lru_page, put_page, swap_free
from ..memcg316 import commit_charge, uncharge_common
from ..paths import END, Path, Step
from ..state import World, new_memcg, new_page, new_slot
from ..vmscan import free_or_putback, isolate_and_trylock
from . import Race

__all__ = ["RACE"]

_X, _E = "X", "E"


def _delete_from_swap_cache(w: World, page: str) -> None:
    """__delete_from_swap_cache + the swap cache's reference (the caller
    then runs swapcache_free's memcg part)."""
    w.page(page)["swapcache"] = None
    w.slots[_E]["cache"] = None


def _build(fixes: frozenset[str]) -> tuple[World, list[Path]]:
    world = World("3.16",
                  pages={_X: new_page(anon=True, ref=1, lru="A", pc_flags={"USED"},
                                      pc_memcg="A", swapcache=_E)},
                  memcgs={"A": new_memcg(None, res=1, memsw=1, rss=1)},
                  slots={_E: new_slot(count=1, cache=_X)},
                  ptes={"P": ("swap", _E)})

    def lookup(w: World, ctx) -> str | None:
        page = w.slots[_E]["cache"]
        if page is None or w.pages[page]["ref"] == 0:
            return END  # reclaim won: the fault would read a new page
        w.page(page)["ref"] += 1
        return None

    def try_charge(w: World, ctx) -> str | None:
        p = w.page(_X)
        if p["swapcache"] != _E:
            return "unlock and retry"
        ctx.local["memcg"] = None if "USED" in p["pc_flags"] else "A"
        if ctx.local["memcg"]:
            w.charge("A")
        return None

    def reuse(w: World, ctx) -> str | None:
        p = w.page(_X)
        if p["map"] + w.slots[_E]["count"] != 1:
            return "set_pte_at, do_page_add_anon_rmap"
        _delete_from_swap_cache(w, _X)
        p["ref"] -= 1
        return None  # swapcache_free: count 1 remains -> SWAPOUT

    def map_it(w: World, ctx) -> None:
        w.ptes["P"] = ("page", _X)
        w.page(_X)["map"] += 1

    fault = Path("write_fault", (
        Step("lookup_swap_cache", "mm/swap_state.c:lookup_swap_cache", lookup,
             takes=("tree_lock",), releases=("tree_lock",), refs="a page reference"),
        Step("lock_page", "mm/memory.c:do_swap_page", lambda w, ctx: None,
             takes=(f"page:{_X}",)),
        Step("recheck, mem_cgroup_try_charge_swapin (PCG_USED: nothing)",
             "mm/memcontrol.c:__mem_cgroup_try_charge_swapin (3.16)", try_charge),
        Step("reuse_swap_page: delete_from_swap_cache", "mm/swapfile.c:reuse_swap_page",
             reuse, takes=("tree_lock",), releases=("tree_lock",)),
        *uncharge_common(_X, "SWAPOUT", prefix="swapcache_free: ", slot=_E,
                         done="set_pte_at, do_page_add_anon_rmap"),
        Step("set_pte_at, do_page_add_anon_rmap", "mm/memory.c:do_swap_page", map_it,
             takes=("ptl:P",), releases=("ptl:P",)),
        Step("mem_cgroup_commit_charge_swapin", "mm/memcontrol.c:mem_cgroup_commit_charge_swapin (3.16)",
             lambda w, ctx: commit_charge(w, _X, ctx.local["memcg"])),
        Step("swap_free(E)", "mm/swapfile.c:swap_free", lambda w, ctx: swap_free(w, _E)),
        Step("unlock_page", "mm/memory.c:do_swap_page", lambda w, ctx: END,
             releases=(f"page:{_X}",)),
        Step("unlock and retry", "mm/memory.c:do_swap_page (out_page)", lambda w, ctx: None,
             releases=(f"page:{_X}",)),
        Step("put_page", "mm/memory.c:do_swap_page (out_release)",
             lambda w, ctx: put_page(w, _X),
             takes=("lru_lock",), releases=("lru_lock",)),
    ), local=(("memcg", None),))

    def isolate(w: World, ctx) -> str | None:
        p = w.pages[_X]
        if p["freed"] or p["lru"] is None:
            return END
        return None if isolate_lru_page(w, _X) else END

    def remove_mapping(w: World, ctx) -> str | None:
        p = w.page(_X)
        if p["map"] > 0 or p["swapcache"] != _E or p["ref"] != 2:
            return "unlock_page(reclaim)"
        p["ref"] = 0
        _delete_from_swap_cache(w, _X)
        return None

    reclaim = Path("reclaim", (
        *isolate_and_trylock(_X, isolate),
        Step("__remove_mapping: page_freeze_refs(2), delete from swap cache",
             "mm/vmscan.c:__remove_mapping", remove_mapping,
             takes=("tree_lock",), releases=("tree_lock",)),
        *uncharge_common(_X, "SWAPOUT", prefix="swapout: ", slot=_E, done="free_it"),
        *free_or_putback(_X, unlock="unlock_page(reclaim)"),
    ))
    return world, [fault, reclaim]


RACE = Race("swapin_reuse", "3.16",
            "bug replay: write-fault swap-in deletes a still-charged page from the swap cache",
            __doc__, (), _build, expect_broken=True)
