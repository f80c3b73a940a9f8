"""Race 3 (3.16): the swap cache deleted from the swap-out and the swap-in side.

Kernel context (Linux 3.16, mm/vmscan.c, mm/memory.c, mm/swapfile.c,
mm/swap_state.c, mm/memcontrol.c):

* Swap-out side: reclaim (``shrink_page_list``) isolates anon page X,
  which is in the swap cache (slot E) and mapped by task P, trylocks it,
  ``try_to_unmap`` turns P's pte into a swap pte (E's count +1) and the
  last ``page_remove_rmap`` calls ``mem_cgroup_uncharge_page(X)``, which
  **defers** a page in the swap cache to the swap path. Then
  ``__remove_mapping`` freezes the reference count at 2 (the swap
  cache's and reclaim's), deletes X from the swap cache and calls
  ``swapcache_free(E, X)`` -> ``mem_cgroup_uncharge_swapcache(X, E,
  swapout = E still referenced)``: SWAPOUT uncharges the memory counter,
  keeps memory+swap and writes A's id into ``swap_cgroup[E]``; DROP
  uncharges both.
* Swap-in side: P faults on the swap pte (``do_swap_page``): looks X up
  in the swap cache (a reference that makes the freeze fail), locks it,
  re-checks it is still E's swap-cache page, ``mem_cgroup_try_charge_swapin``
  (nothing to do for a page already PCG_USED), maps it, commits,
  ``swap_free(E)`` and, with swap nearly full, ``try_to_free_swap(X)``:
  the swap-in side's swap-cache deletion, which reaches
  ``mem_cgroup_uncharge_swapcache`` as DROP while X is mapped again.
* Memcg had to tell these deletions apart from mapcount, PageAnon and
  the slot's count. Protections: ``swapcache_defer`` (the unmap's
  uncharge leaves swap-cache pages to the swap path; without it the
  swapped-out data keeps no memory+swap charge: docs/kernel-rules.md,
  "The 3.16 swap side") and
  ``mapped_check`` (DROP/SWAPOUT refuse a mapped page; without it the
  swap-in side's deletion uncharges a page that is mapped). The page lock
  and the reference freeze keep the two deletions apart.

Known 3.16 weakness outside this race (documented in docs/races.md): on a
*write* fault ``reuse_swap_page`` deletes an already charged page from
the swap cache *before* it is mapped, which SWAPOUT then uncharges while
``mem_cgroup_try_charge_swapin`` had skipped the charge (case D of the
3.16 memcg_test.txt table).
"""
from __future__ import annotations

from ..kernel import (isolate_lru_page, lru_add, lru_del, mem_cgroup_uncharge_swap, put_page,
                      swap_free)
from ..memcg316 import commit_charge, uncharge_common
from ..paths import END, Path, Step
from ..state import World, new_memcg, new_page, new_slot
from ..vmscan import free_or_putback, isolate_and_trylock
from . import Race

__all__ = ["RACE"]

_X, _E = "X", "E"


def _build(fixes: frozenset[str]) -> tuple[World, list[Path]]:
    world = World("3.16",
                  pages={_X: new_page(anon=True, ref=2, map=1, lru="A", pc_flags={"USED"},
                                      pc_memcg="A", swapcache=_E)},
                  memcgs={"A": new_memcg(None, res=1, memsw=1, rss=1)},
                  slots={_E: new_slot(count=0, cache=_X)},
                  ptes={"P": ("page", _X)})

    # -- swap-out side: shrink_page_list ---------------------------------
    def isolate(w: World, ctx) -> str | None:
        return None if isolate_lru_page(w, _X) else END

    def unmap(w: World, ctx) -> str | None:
        p = w.page(_X)
        if w.ptes["P"] != ("page", _X):
            return "__remove_mapping: page_freeze_refs(2)"
        w.ptes["P"] = ("swap", _E)
        w.slots[_E]["count"] += 1
        p["map"] -= 1
        p["ref"] -= 1
        return None if p["map"] == 0 else "__remove_mapping: page_freeze_refs(2)"

    def uncharge_page_early(w: World, ctx) -> str | None:
        p = w.page(_X)
        if p["map"] > 0 or (ctx.on("swapcache_defer") and p["swapcache"] is not None):
            return "__remove_mapping: page_freeze_refs(2)"
        return None

    def freeze_delete(w: World, ctx) -> str | None:
        p = w.page(_X)
        if p["ref"] != 2:
            return "unlock_page"  # someone else holds a reference: keep the page
        p["ref"] = 0
        p["swapcache"] = None
        w.slots[_E]["cache"] = None
        return "swapout" if w.slots[_E]["count"] else "drop"

    reclaim = Path("reclaim", (
        *isolate_and_trylock(_X, isolate),
        Step("try_to_unmap: swap pte, page_remove_rmap", "mm/rmap.c:try_to_unmap_one",
             unmap, takes=("ptl:P",), releases=("ptl:P",)),
        Step("mem_cgroup_uncharge_page: in swap cache? defer",
             "mm/memcontrol.c:mem_cgroup_uncharge_page (3.16)", uncharge_page_early),
        *uncharge_common(_X, "ANON", prefix="unmap: ",
                         done="__remove_mapping: page_freeze_refs(2)"),
        Step("__remove_mapping: page_freeze_refs(2)", "mm/vmscan.c:__remove_mapping",
             freeze_delete, takes=("tree_lock",), releases=("tree_lock",),
             refs="frozen refcount: nobody can look the page up any more"),
        Step("swapout", "mm/swapfile.c:swapcache_free -> mem_cgroup_uncharge_swapcache",
             lambda w, ctx: None),
        *uncharge_common(_X, "SWAPOUT", prefix="swapout: ", slot=_E, done="free_it"),
        Step("drop", "mm/swapfile.c:swapcache_free -> mem_cgroup_uncharge_swapcache",
             lambda w, ctx: None),
        *uncharge_common(_X, "DROP", prefix="drop: ", done="free_it"),
        *free_or_putback(_X, unlock="unlock_page"),
    ))

    # -- swap-in side: do_swap_page ---------------------------------------
    def read_pte(w: World, ctx) -> str | None:
        return None if w.ptes["P"] == ("swap", _E) else END

    def lookup(w: World, ctx) -> str | None:
        page = w.slots[_E]["cache"]
        if page is None or w.pages[page]["ref"] == 0:
            return END  # would read a new page from swap: another story
        w.page(page)["ref"] += 1
        ctx.local["page"] = page
        return None

    def recheck(w: World, ctx) -> str | None:
        return None if w.page(ctx.local["page"])["swapcache"] == _E else "unlock and put"

    def try_charge(w: World, ctx) -> None:
        p = w.page(ctx.local["page"])
        memcg = None
        if "USED" not in p["pc_flags"]:
            memcg = w.slots[_E]["record"] or "A"
            w.charge(memcg)
        ctx.local["memcg"] = memcg

    def map_it(w: World, ctx) -> str | None:
        if w.ptes["P"] != ("swap", _E):
            if ctx.local["memcg"] is not None:
                w.uncharge(ctx.local["memcg"])  # out_nomap: cancel
            return "unlock and put"
        w.ptes["P"] = ("page", ctx.local["page"])
        w.page(ctx.local["page"])["map"] += 1
        return None

    def commit(w: World, ctx) -> None:
        memcg, name = ctx.local["memcg"], ctx.local["page"]
        if memcg is None:
            return
        p = w.page(name)
        on_lru = p["lru"] is not None
        if on_lru:
            lru_del(w, name)
        commit_charge(w, name, memcg)
        if on_lru:
            lru_add(w, name)
        if p["swapcache"] == _E:
            mem_cgroup_uncharge_swap(w, _E)

    def try_to_free_swap(w: World, ctx) -> str | None:
        p = w.page(ctx.local["page"])
        if p["swapcache"] != _E or w.slots[_E]["count"] > 0:
            return "unlock_page(swap-in)"
        p["swapcache"] = None
        w.slots[_E]["cache"] = None
        p["ref"] -= 1
        return None

    swapin = Path("swapin", (
        Step("do_swap_page: read the swap pte", "mm/memory.c:do_swap_page", read_pte,
             takes=("ptl:P",), releases=("ptl:P",)),
        Step("lookup_swap_cache", "mm/swap_state.c:lookup_swap_cache", lookup,
             takes=("tree_lock",), releases=("tree_lock",),
             refs="takes a page reference (fails on a frozen count)"),
        Step("lock_page", "mm/memory.c:do_swap_page", lambda w, ctx: None,
             takes=("page:$page",)),
        Step("recheck PageSwapCache && page_private == E", "mm/memory.c:do_swap_page",
             recheck),
        Step("mem_cgroup_try_charge_swapin", "mm/memcontrol.c:mem_cgroup_try_charge_swapin (3.16)",
             try_charge, refs="PCG_USED is stable under the page lock"),
        Step("set_pte_at, do_page_add_anon_rmap", "mm/memory.c:do_swap_page", map_it,
             takes=("ptl:P",), releases=("ptl:P",)),
        Step("mem_cgroup_commit_charge_swapin", "mm/memcontrol.c:__mem_cgroup_commit_charge_swapin (3.16)",
             commit, takes=("pcg:$page", "lru_lock"), releases=("pcg:$page", "lru_lock")),
        Step("swap_free(E)", "mm/swapfile.c:swap_free -> swap_entry_free",
             lambda w, ctx: swap_free(w, _E)),
        Step("try_to_free_swap: delete_from_swap_cache", "mm/swapfile.c:try_to_free_swap",
             try_to_free_swap, takes=("tree_lock",), releases=("tree_lock",)),
        *uncharge_common("$page", "DROP", prefix="swap-in drop: ",
                         done="unlock_page(swap-in)"),
        Step("unlock_page(swap-in)", "mm/memory.c:do_swap_page", lambda w, ctx: END,
             releases=("page:$page",)),
        Step("unlock and put", "mm/memory.c:do_swap_page (out_page)",
             lambda w, ctx: put_page(w, ctx.local["page"]),
             releases=("page:$page",)),
    ), local=(("page", _X),))
    return world, [reclaim, swapin]


RACE = Race("swapcache_delete", "3.16",
            "swap cache deleted from the swap-out side and the swap-in side",
            __doc__, ("swapcache_defer", "mapped_check"), _build)
