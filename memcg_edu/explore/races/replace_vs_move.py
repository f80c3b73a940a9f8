"""Race 4 (3.17): page-cache replacement against charge moving.

Kernel context (Linux 3.17, mm/filemap.c, fs/fuse/dev.c, mm/memcontrol.c):

* Replacement: ``fuse_try_move_page`` (splice with SPLICE_F_MOVE) locks
  the old page-cache page O and the pipe's page N and calls
  ``replace_page_cache_page(O, N)``: the radix-tree slot is switched
  under ``tree_lock``, then ``mem_cgroup_migrate(O, N, lrucare=true)``
  transfers O's charge to N. Unlike real migration, O is **not
  isolated** from the LRU by the caller: ``lock_page_lru`` takes it off
  under ``zone->lru_lock`` while its flags are cleared. Afterwards the
  cache's reference on O is dropped, fuse unlocks both pages, drops its
  own reference and adds N to the LRU.
* Charge moving: task P moves to memcg B with ``move_charge_at_immigrate``
  bit 1 (file pages); ``mem_cgroup_can_attach`` precharged B one page.
  ``mem_cgroup_move_charge_pte_range`` finds the file's page through
  ``mc_handle_file_pte`` (``find_get_page``: a reference), checks it is
  charged to A, ``isolate_lru_page``, then ``mem_cgroup_move_account``:
  ``trylock_page`` (or -EBUSY), re-check PCG_USED and
  ``pc->mem_cgroup == A``, ``pc->mem_cgroup = B``, statistics;
  ``putback_lru_page``, ``put_page``; ``mem_cgroup_clear_mc`` finally
  cancels A's moved charge and B's unused precharge.
* Protection ``trylock_page`` (added to move_account by the rewrite's
  "fix page cache migration"): "Prevent mem_cgroup_migrate() from
  looking at pc->mem_cgroup of its source page while we change it: page
  migration takes both pages off the LRU, but page cache replacement
  doesn't." Without it the mover can check O, the replacement clear O
  and commit N to A, and the mover then switch O to B and cancel A's
  charge: N is charged to A with no counter behind it.

What the explorer finds with every protection in place (3.17.0 as
released): when O is still on the LRU at ``lock_page_lru``,
``unlock_page_lru`` puts the now-uncharged O back through
``mem_cgroup_page_lruvec``, which switches ``pc(O)->mem_cgroup`` to root,
and ``mem_cgroup_migrate`` only then reads ``pc->mem_cgroup`` for
``commit_charge(N, ...)``: N is committed to root and A keeps a charge no
page holds. Apply fix ``memcg_read_first`` (read the memcg before
clearing, as the 3.19 code does) to see the trylock_page protection on
its own. This reading comes from the 3.17.0 source and is not a
documented kernel report.
"""
from __future__ import annotations

from ..kernel import isolate_lru_page, lru_add, put_page, putback_lru_page, trylock_page
from ..memcg317 import mem_cgroup_migrate
from ..paths import Path, Step
from ..state import World, new_memcg, new_page
from . import Race

__all__ = ["RACE"]

_O, _N = "O", "N"
_FULL = {"USED", "MEM", "MEMSW"}


def _build(fixes: frozenset[str]) -> tuple[World, list[Path]]:
    world = World("3.17",
                  pages={_O: new_page(anon=False, ref=2, lru="A", pc_flags=_FULL,
                                      pc_memcg="A", cache=True),
                         _N: new_page(anon=False, ref=1, mapping=False)},
                  memcgs={"A": new_memcg(None, res=1, memsw=1, cache=1),
                          "B": new_memcg(None, res=1, memsw=1)},
                  mc={"from": "A", "to": "B", "precharge": 1, "moved_charge": 0})

    def radix_replace(w: World, ctx) -> None:
        o, n = w.page(_O), w.page(_N)
        o["cache"], o["mapping"] = False, False
        n["cache"], n["mapping"] = True, True
        n["ref"] += 1

    def fuse_done(w: World, ctx) -> None:
        w.drop(f"page:{_O}", ctx.path)
        w.drop(f"page:{_N}", ctx.path)
        put_page(w, _O)  # fuse's own reference on the old page

    replace = Path("replace", (
        Step("lock_page(old), lock_page(new)", "fs/fuse/dev.c:fuse_try_move_page",
             lambda w, ctx: None, takes=(f"page:{_O}", f"page:{_N}"),
             refs="fuse holds a reference on both pages"),
        Step("radix tree: new replaces old", "mm/filemap.c:replace_page_cache_page",
             radix_replace, takes=("tree_lock",), releases=("tree_lock",)),
        *mem_cgroup_migrate(_O, _N, lrucare=True, read_first="memcg_read_first" in fixes,
                            done="page_cache_release(old)"),
        Step("page_cache_release(old)", "mm/filemap.c:replace_page_cache_page",
             lambda w, ctx: put_page(w, _O), takes=("lru_lock",), releases=("lru_lock",)),
        Step("unlock both, page_cache_release(old)", "fs/fuse/dev.c:fuse_try_move_page",
             fuse_done, takes=("lru_lock",), releases=("lru_lock",)),
        Step("lru_cache_add_file(new)", "fs/fuse/dev.c:fuse_try_move_page",
             lambda w, ctx: lru_add(w, _N), takes=("lru_lock",), releases=("lru_lock",)),
    ))

    def find_get_page(w: World, ctx) -> str | None:
        page = _O if w.pages[_O]["cache"] else _N
        p = w.page(page)
        p["ref"] += 1
        ctx.local["page"] = page
        if "USED" not in p["pc_flags"] or p["pc_memcg"] != "A":
            return "put_page"
        return None

    def isolate(w: World, ctx) -> str | None:
        return None if isolate_lru_page(w, ctx.local["page"]) else "put_page"

    def trylock(w: World, ctx) -> str | None:
        if trylock_page(w, ctx.local["page"], ctx.path):
            return None
        return "putback_lru_page"  # -EBUSY

    def check(w: World, ctx) -> str | None:
        p = w.page(ctx.local["page"])
        if "USED" not in p["pc_flags"] or p["pc_memcg"] != "A":
            return "unlock_page"  # -EINVAL
        return None

    def set_memcg(w: World, ctx) -> None:
        w.page(ctx.local["page"])["pc_memcg"] = "B"

    def stats(w: World, ctx) -> None:
        w.stat("B", "cache", 1)
        w.stat("A", "cache", -1)
        w.mc["precharge"] -= 1
        w.mc["moved_charge"] += 1

    def clear_mc(w: World, ctx) -> None:
        if w.mc["precharge"]:
            w.uncharge("B", nr=w.mc["precharge"])
        if w.mc["moved_charge"]:
            w.uncharge("A", nr=w.mc["moved_charge"])
        w.mc.update(precharge=0, moved_charge=0)

    mover = Path("move_charge", (
        Step("mc_handle_file_pte: find_get_page, charged to A?",
             "mm/memcontrol.c:get_mctgt_type (3.17)", find_get_page,
             takes=("tree_lock",), releases=("tree_lock",), refs="a page reference"),
        Step("isolate_lru_page", "mm/vmscan.c:isolate_lru_page", isolate,
             takes=("lru_lock",), releases=("lru_lock",)),
        Step("trylock_page", "mm/memcontrol.c:mem_cgroup_move_account (3.17)", trylock,
             protection="trylock_page"),
        Step("check PCG_USED && pc->mem_cgroup == A",
             "mm/memcontrol.c:mem_cgroup_move_account (3.17)", check),
        Step("pc->mem_cgroup = B", "mm/memcontrol.c:mem_cgroup_move_account (3.17)",
             set_memcg, refs="referenced, isolated and (with trylock_page) locked"),
        Step("statistics A->B", "mm/memcontrol.c:mem_cgroup_move_account (3.17)", stats),
        Step("unlock_page", "mm/memcontrol.c:mem_cgroup_move_account (3.17)",
             lambda w, ctx: None, releases=("page:$page",), protection="trylock_page"),
        Step("putback_lru_page", "mm/vmscan.c:putback_lru_page",
             lambda w, ctx: putback_lru_page(w, ctx.local["page"]),
             takes=("lru_lock",), releases=("lru_lock",)),
        Step("put_page", "mm/memcontrol.c:mem_cgroup_move_charge_pte_range (3.17)",
             lambda w, ctx: put_page(w, ctx.local["page"]),
             takes=("lru_lock",), releases=("lru_lock",)),
        Step("mem_cgroup_clear_mc", "mm/memcontrol.c:__mem_cgroup_clear_mc (3.17)", clear_mc),
    ), local=(("page", _O),))
    return world, [replace, mover]


RACE = Race("replace_vs_move", "3.17",
            "replace_page_cache (mem_cgroup_migrate, lrucare) vs charge moving",
            __doc__, ("trylock_page",), _build, fixes=("memcg_read_first",),
            expect_broken=True)
