"""Race 5 (3.17): a commit with lrucare against LRU putback of the same page.

Kernel context (Linux 3.17, mm/memory.c, mm/memcontrol.c, mm/vmscan.c):

* Commit: ``do_swap_page`` faults in Y, a swap-readahead page that
  ``read_swap_cache_async`` already put on an LRU while uncharged (so on
  root's lruvec). Under the page lock it charges the memcg recorded for
  the swap slot (``mem_cgroup_try_charge``), maps Y under the pte lock
  and calls ``mem_cgroup_commit_charge(Y, A, lrucare=true)``;
  ``commit_charge`` rewrites ``pc->mem_cgroup`` and ``pc->flags`` with
  plain stores, so with lrucare it first takes Y off its LRU under
  ``zone->lru_lock`` (``lock_page_lru``) and puts it back on A's lruvec
  afterwards (``unlock_page_lru``). Y is still in the swap cache, so the
  slot's duplicate memory+swap charge is dropped
  (``mem_cgroup_uncharge_swap``); then ``swap_free``.
* LRU side: reclaim (``shrink_active_list``) isolates Y under
  ``lru_lock`` without the page lock and puts it back with
  ``move_active_pages_to_lru``, which looks the lruvec up with
  ``mem_cgroup_page_lruvec``: an uncharged, off-LRU page is switched to
  root there.
* Protection ``lru_isolation`` (lock_page_lru/unlock_page_lru): the
  page is off every LRU and the lru_lock is held while pc is rewritten.
  Without it, ``pc->mem_cgroup`` changes under a page sitting on root's
  lruvec (invariant I6), or the putback lands between the two stores,
  switches ``pc->mem_cgroup`` back to root and the page ends up charged
  to root while A holds the charge.
"""
from __future__ import annotations

from ..kernel import isolate_lru_page, putback_lru_page, swap_free
from ..memcg317 import commit_charge, commit_charge_done, try_charge_swapcache
from ..paths import END, Path, Step
from ..state import ROOT, World, new_memcg, new_page, new_slot
from . import Race

__all__ = ["RACE"]

_Y, _E = "Y", "E"


def _build(fixes: frozenset[str]) -> tuple[World, list[Path]]:
    world = World("3.17",
                  pages={_Y: new_page(anon=True, ref=1, lru=ROOT, swapcache=_E)},
                  memcgs={"A": new_memcg(None, memsw=1, swap=1)},
                  slots={_E: new_slot(count=1, cache=_Y, record="A")},
                  ptes={"P": ("swap", _E)})

    def lookup(w: World, ctx) -> str | None:
        if w.slots[_E]["cache"] != _Y:
            return END
        w.page(_Y)["ref"] += 1
        return None

    def try_charge(w: World, ctx) -> None:
        ctx.local["memcg"] = try_charge_swapcache(w, _Y, _E, "A")

    def map_it(w: World, ctx) -> None:
        w.ptes["P"] = ("page", _Y)
        w.page(_Y)["map"] += 1

    fault = Path("swapin", (
        Step("lookup_swap_cache", "mm/swap_state.c:lookup_swap_cache", lookup,
             takes=("tree_lock",), releases=("tree_lock",), refs="a page reference"),
        Step("lock_page", "mm/memory.c:do_swap_page", lambda w, ctx: None,
             takes=(f"page:{_Y}",)),
        Step("mem_cgroup_try_charge", "mm/memcontrol.c:mem_cgroup_try_charge (3.17)",
             try_charge, refs="page lock: PCG_USED and the swap cache are stable"),
        Step("set_pte_at, do_page_add_anon_rmap", "mm/memory.c:do_swap_page", map_it,
             takes=("ptl:P",), releases=("ptl:P",)),
        *commit_charge(_Y, "memcg", lrucare=True, prefix="commit: "),
        Step("statistics, mem_cgroup_uncharge_swap (still in swap cache)",
             "mm/memcontrol.c:mem_cgroup_commit_charge (3.17)",
             lambda w, ctx: commit_charge_done(w, _Y, ctx.local["memcg"])),
        Step("swap_free", "mm/swapfile.c:swap_free", lambda w, ctx: swap_free(w, _E)),
        Step("unlock_page", "mm/memory.c:do_swap_page", lambda w, ctx: None,
             releases=(f"page:{_Y}",)),
    ), local=(("memcg", None),))

    lru = Path("reclaim", (
        Step("isolate_lru_pages", "mm/vmscan.c:shrink_active_list",
             lambda w, ctx: None if isolate_lru_page(w, _Y) else END,
             takes=("lru_lock",), releases=("lru_lock",)),
        Step("move_active_pages_to_lru", "mm/vmscan.c:move_active_pages_to_lru",
             lambda w, ctx: putback_lru_page(w, _Y),
             takes=("lru_lock",), releases=("lru_lock",),
             refs="mem_cgroup_page_lruvec under lru_lock"),
    ))
    return world, [fault, lru]


RACE = Race("commit_vs_putback", "3.17",
            "commit_charge with lrucare vs LRU putback of the same page",
            __doc__, ("lru_isolation",), _build)
