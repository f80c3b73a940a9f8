"""Step builders for the Linux 3.16 memcg uncharge code (mm/memcontrol.c).

__mem_cgroup_uncharge_common() as the explorer's steps: an unlocked
PCG_USED test, lock_page_cgroup() (the PCG_LOCK bit spinlock), the
re-check of PCG_USED and of the charge type's refusals under the lock
(still mapped; PCG_MIGRATION set; a shmem page still in its inode),
statistics and ClearPageCgroupUsed, unlock_page_cgroup(), and
mem_cgroup_do_uncharge() on the res/memsw counters, which runs after the
lock is dropped with the memcg read under it. Also the commit side the
3.16 races share: __mem_cgroup_commit_charge()'s pc and statistics update
(``commit_charge``, one World operation).

Protections named here: ``lock_page_cgroup`` (the lock/unlock steps),
``PCG_MIGRATION`` (the refusal of a page under migration),
``mapped_check`` (the refusals of a page that is still mapped).
"""
from __future__ import annotations

from .kernel import charge_statistics
from .paths import Step
from .state import ROOT, World

__all__ = ["uncharge_common", "commit_charge"]

_FILE = "mm/memcontrol.c:__mem_cgroup_uncharge_common (3.16)"


def commit_charge(w: World, page: str, memcg: str | None) -> None:
    """__mem_cgroup_commit_charge (3.16) of a page off any LRU (or with the
    caller doing the LRU care): pc->mem_cgroup, PCG_USED, statistics +1.
    Nothing for a NULL memcg (the try_charge charged nothing)."""
    if memcg is None:
        return
    p = w.page(page)
    p["pc_flags"], p["pc_memcg"] = frozenset({"USED"}), memcg
    charge_statistics(w, memcg, page, 1)


def uncharge_common(page: str, ctype: str, *, done: str, prefix: str = "",
                    end_migration: bool = False, slot: str | None = None) -> list[Step]:
    """Steps of __mem_cgroup_uncharge_common(page, ctype, end_migration).

    ``ctype`` is ANON, DROP, SWAPOUT or CACHE; for SWAPOUT, ``slot`` is the
    swap entry whose swap_cgroup record mem_cgroup_uncharge_swapcache()
    writes. Every outcome continues at label ``done``; the memcg that was
    uncharged (or None) is left in the local ``{prefix}ret``. ``page`` may
    be "$var": the page named by the path's local variable ``var``.
    """
    lock = f"pcg:{page}"

    def pg(ctx) -> str:
        return ctx.local[page[1:]] if page.startswith("$") else page
    memcg_v, ok_v, ret_v = f"{prefix}memcg", f"{prefix}ok", f"{prefix}ret"

    def test_used(w: World, ctx) -> str | None:
        ctx.local[ret_v] = None
        if not w.used(pg(ctx)):
            return done
        return None

    def recheck(w: World, ctx) -> str | None:
        p = w.page(pg(ctx))
        ok = "USED" in p["pc_flags"]
        if ok and ctype in ("ANON", "DROP"):
            if ctx.on("mapped_check") and p["map"] > 0:
                ok = False
            if (not end_migration and ctx.on("PCG_MIGRATION")
                    and "MIGRATION" in p["pc_flags"]):
                ok = False
        elif ok and ctype == "SWAPOUT":
            if p["anon"]:
                ok = not (ctx.on("mapped_check") and p["map"] > 0)
            else:
                ok = not p["cache"]  # shmem page still in its inode's cache
        ctx.local[memcg_v], ctx.local[ok_v] = p["pc_memcg"], ok
        return None if ok else f"{prefix}unlock_page_cgroup"

    def clear_used(w: World, ctx) -> None:
        p = w.page(pg(ctx))
        memcg = ctx.local[memcg_v]
        w.stat(memcg, "rss" if (ctype == "ANON" or p["anon"]) else "cache", -1)
        p["pc_flags"] = p["pc_flags"] - {"USED"}

    def do_uncharge(w: World, ctx) -> str:
        if not ctx.local[ok_v]:
            return done
        memcg = ctx.local[memcg_v]
        if ctype == "SWAPOUT" and slot is not None:
            w.stat(memcg, "swap", 1)
            w.slots[slot]["record"] = memcg
        if not end_migration and memcg != ROOT:
            w.uncharge(memcg, ("res",) if ctype == "SWAPOUT" else ("res", "memsw"))
        ctx.local[ret_v] = memcg
        return done

    return [
        Step(f"{prefix}test PCG_USED", _FILE, test_used,
             refs="unlocked early test; the caller keeps the page alive"),
        Step(f"{prefix}lock_page_cgroup", "include/linux/page_cgroup.h:lock_page_cgroup",
             lambda w, ctx: None, takes=(lock,), protection="lock_page_cgroup"),
        Step(f"{prefix}read pc->mem_cgroup, recheck {ctype}", _FILE, recheck,
             refs="PCG_LOCK makes PCG_USED and pc->mem_cgroup stable"),
        Step(f"{prefix}statistics -1, ClearPageCgroupUsed", _FILE, clear_used),
        Step(f"{prefix}unlock_page_cgroup", "include/linux/page_cgroup.h:unlock_page_cgroup",
             lambda w, ctx: None, releases=(lock,), protection="lock_page_cgroup"),
        Step(f"{prefix}mem_cgroup_do_uncharge", "mm/memcontrol.c:mem_cgroup_do_uncharge (3.16)",
             do_uncharge, refs="uses the memcg read under PCG_LOCK; res_counter has its own lock"),
    ]
