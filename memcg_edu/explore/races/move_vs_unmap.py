"""Race 1 (3.16): charge moving against the uncharge at the last unmap.

Kernel context (Linux 3.16, mm/memcontrol.c, mm/memory.c, mm/rmap.c):

* Mover: ``mem_cgroup_move_parent()``, called by
  ``mem_cgroup_reparent_charges()`` when the child memcg C is removed
  (rmdir / force_empty). It finds the page on C's LRU, pins it with
  ``get_page_unless_zero``, isolates it (``isolate_lru_page``), and
  calls ``mem_cgroup_move_account(page, 1, pc, C, parent)``, which under
  ``lock_page_cgroup`` re-checks PCG_USED and ``pc->mem_cgroup == from``,
  moves the statistics and sets ``pc->mem_cgroup = parent``. On success
  ``__mem_cgroup_cancel_local_charge`` uncharges C's own counters up to
  (not including) the parent, which keeps the page's hierarchical charge.
  Then ``putback_lru_page`` and ``put_page``.
* Unmapper: the owner's ``zap_pte_range`` clears the last pte;
  ``page_remove_rmap`` drops the mapcount to 0 and calls
  ``mem_cgroup_uncharge_page`` -> ``__mem_cgroup_uncharge_common(ANON)``,
  which reads ``pc->mem_cgroup`` under ``lock_page_cgroup``, clears
  PCG_USED, drops the lock and only then uncharges the res/memsw
  counters of the memcg it read.
* Protection ``lock_page_cgroup``: without it the uncharge can read C,
  the mover switch the page to the parent and cancel C's local charge,
  and the uncharge then take C's counters (and the parent's, through
  the hierarchy) down a second time: statistics and counters go wrong
  (docs/kernel-rules.md, "Scenario A3: moving a charge while unmapping (3.16)").

Note on the kernel (why the mover here is reparenting): scenario A3
tells the story with the task-move walk (``mem_cgroup_move_charge``).
In 3.16 that walk holds the page-table lock of the moving task's pte
(``pte_offset_map_lock`` in ``mem_cgroup_move_charge_pte_range``) and
mmap_sem across ``mem_cgroup_move_account``, so the task's own last
unmap cannot interleave there; the path where only PCG_LOCK separates
the two is reparenting, which pins pages it found on the LRU by a bare
reference. 3.17 needs no lock here: uncharge waits for the final put,
and the mover holds a reference.
"""
from __future__ import annotations

from ..kernel import isolate_lru_page, put_page, putback_lru_page
from ..memcg316 import uncharge_common
from ..paths import END, Path, Step
from ..state import World, new_memcg, new_page
from . import Race

__all__ = ["RACE", "RACE3", "build"]

_X = "X"


def build(fixes: frozenset[str], tasks: tuple[str, ...] = ("P",)) -> tuple[World, list[Path]]:
    """The mover and one unmapper per task mapping X (the last one uncharges)."""
    n = len(tasks)
    world = World("3.16", pages={_X: new_page(anon=True, ref=n, map=n, lru="C",
                                              pc_flags={"USED"}, pc_memcg="C")},
                  memcgs={"B": new_memcg(None, res=1, memsw=1),
                          "C": new_memcg("B", res=1, memsw=1, rss=1)},
                  ptes={t: ("page", _X) for t in tasks})

    def pin(w: World, ctx) -> str | None:
        p = w.pages[_X]
        if p["freed"] or p["lru"] != "C" or p["ref"] == 0:
            return END  # not on C's LRU any more: nothing to reparent
        p["ref"] += 1
        return None

    def isolate(w: World, ctx) -> str | None:
        return None if isolate_lru_page(w, _X) else "put_page"

    def check(w: World, ctx) -> str | None:
        p = w.page(_X)
        ctx.local["moved"] = False
        if "USED" not in p["pc_flags"] or p["pc_memcg"] != "C":
            return "unlock_page_cgroup"  # -EINVAL
        return None

    def move(w: World, ctx) -> None:
        p = w.page(_X)
        w.stat("C", "rss", -1)
        p["pc_memcg"] = "B"
        w.stat("B", "rss", 1)
        ctx.local["moved"] = True

    def cancel_local(w: World, ctx) -> None:
        if ctx.local["moved"]:
            w.uncharge("C", until="B")

    mover = Path("reparent", (
        Step("pick page from C's LRU, get_page_unless_zero",
             "mm/memcontrol.c:mem_cgroup_force_empty_list / mem_cgroup_move_parent",
             pin, takes=("lru_lock",), releases=("lru_lock",),
             refs="holds a page reference from here on"),
        Step("isolate_lru_page", "mm/vmscan.c:isolate_lru_page", isolate,
             takes=("lru_lock",), releases=("lru_lock",)),
        Step("lock_page_cgroup", "mm/memcontrol.c:mem_cgroup_move_account (3.16)",
             lambda w, ctx: None, takes=(f"pcg:{_X}",), protection="lock_page_cgroup"),
        Step("check PCG_USED && pc->mem_cgroup == C",
             "mm/memcontrol.c:mem_cgroup_move_account (3.16)", check),
        Step("move statistics C->B, pc->mem_cgroup = B",
             "mm/memcontrol.c:mem_cgroup_move_account (3.16)", move,
             refs="page isolated from the LRU; move_lock_mem_cgroup for statistics"),
        Step("unlock_page_cgroup", "mm/memcontrol.c:mem_cgroup_move_account (3.16)",
             lambda w, ctx: None, releases=(f"pcg:{_X}",), protection="lock_page_cgroup"),
        Step("__mem_cgroup_cancel_local_charge(C)",
             "mm/memcontrol.c:mem_cgroup_move_parent (3.16)", cancel_local),
        Step("putback_lru_page", "mm/vmscan.c:putback_lru_page",
             lambda w, ctx: putback_lru_page(w, _X),
             takes=("lru_lock",), releases=("lru_lock",)),
        Step("put_page", "mm/memcontrol.c:mem_cgroup_move_parent (3.16)",
             lambda w, ctx: put_page(w, _X), takes=("lru_lock",), releases=("lru_lock",)),
    ))

    return world, [mover] + [_unmapper(t) for t in tasks]


def _unmapper(task: str) -> Path:
    """zap_pte_range of ``task``'s pte on X, and the uncharge if it was the last."""
    def zap(w: World, ctx) -> str | None:
        p = w.page(_X)
        w.ptes[task] = None
        p["map"] -= 1
        return "release_pages" if p["map"] > 0 else None

    def early(w: World, ctx) -> str | None:
        p = w.page(_X)
        if p["map"] > 0 or p["swapcache"] is not None:
            return "release_pages"
        return None

    return Path("unmap" if task == "P" else f"unmap {task}", (
        Step("zap_pte_range: clear pte, page_remove_rmap",
             "mm/memory.c:zap_pte_range, mm/rmap.c:page_remove_rmap", zap,
             takes=(f"ptl:{task}",), releases=(f"ptl:{task}",),
             refs="the pte's reference is dropped later, in release_pages"),
        Step("mem_cgroup_uncharge_page: not mapped, not in swap cache",
             "mm/memcontrol.c:mem_cgroup_uncharge_page (3.16)", early),
        *uncharge_common(_X, "ANON", done="release_pages"),
        Step("release_pages", "mm/swap.c:release_pages (via free_pages_and_swap_cache)",
             lambda w, ctx: put_page(w, _X), takes=("lru_lock",), releases=("lru_lock",)),
    ))


RACE = Race("move_vs_unmap", "3.16",
            "mem_cgroup_move_account (reparenting) vs uncharge at the last unmap",
            __doc__, ("lock_page_cgroup",), build)

#: three paths: the page is shared by P and Q (fork); whichever unmaps last uncharges
RACE3 = Race("move_vs_two_unmaps", "3.16",
             "reparenting vs two tasks unmapping a shared page (three paths)",
             __doc__, ("lock_page_cgroup",), lambda fixes: build(fixes, ("P", "Q")))
