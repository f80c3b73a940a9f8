"""Race 2 (3.16): page migration against the unmap of the old page.

Kernel context (Linux 3.16, mm/migrate.c, mm/memcontrol.c, mm/rmap.c):

* Migration: ``__unmap_and_move`` locks the old page X (isolated from
  the LRU by the caller, which holds a reference), then
  ``mem_cgroup_prepare_migration(X, N)``: under ``lock_page_cgroup`` it
  reads X's memcg, takes a css reference and, X being anon, sets
  **PCG_MIGRATION** on X; it then commits the new page N to the same
  memcg without charging any counter ("only one page will survive").
  ``try_to_unmap(TTU_MIGRATION)`` replaces X's ptes by migration
  entries; the last one drops X's mapcount to 0 and ``page_remove_rmap``
  calls ``mem_cgroup_uncharge_page(X)``. ``move_to_new_page`` succeeds
  (``remove_migration_ptes(X, N)`` maps N) or fails
  (``remove_migration_ptes(X, X)`` maps X again). Finally
  ``mem_cgroup_end_migration`` takes the statistics of the unused page
  away without touching counters, clears PCG_MIGRATION and calls
  ``mem_cgroup_uncharge_page(used)``, which uncharges for real only if
  the surviving page ended up unmapped.
* Unmapper: the owner exits or munmaps (``zap_pte_range``): it finds X,
  N or a migration entry in its pte; the last unmap of a page calls
  ``mem_cgroup_uncharge_page``.
* Protection ``PCG_MIGRATION``: the uncharge at X's last unmap refuses a
  page under migration (``__mem_cgroup_uncharge_common``, ANON/DROP:
  "Pages under migration may not be uncharged"). Without it, the unmap
  done by migration itself uncharges X's counters while N carries the
  charge forward (docs/kernel-rules.md, "Scenario B: migration"): N ends up charged with no counter
  behind it. 3.17 needs no flag: nothing is uncharged before the final
  put, and ``mem_cgroup_migrate`` transfers the charge.
"""
from __future__ import annotations

from ..kernel import put_page, putback_lru_page
from ..memcg316 import commit_charge, uncharge_common
from ..paths import END, Path, Step
from ..state import World, new_memcg, new_page
from . import Race

__all__ = ["RACE"]

_X, _N = "X", "N"
_F = "mm/memcontrol.c:mem_cgroup_{} (3.16)"


def _uncharge_page(var: str, prefix: str, done: str) -> list[Step]:
    """mem_cgroup_uncharge_page($var): early checks, then the common code."""
    def early(w: World, ctx) -> str | None:
        p = w.page(ctx.local[var])
        return done if p["map"] > 0 or p["swapcache"] is not None else None
    return [Step(f"{prefix}mem_cgroup_uncharge_page: not mapped, not swap cache",
                 _F.format("uncharge_page"), early),
            *uncharge_common(f"${var}", "ANON", prefix=prefix, done=done)]


def _build(fixes: frozenset[str]) -> tuple[World, list[Path]]:
    world = World("3.16",
                  pages={_X: new_page(anon=True, ref=2, map=1, pc_flags={"USED"},
                                      pc_memcg="A"),
                         _N: new_page(anon=True, ref=1, mapping=False)},
                  memcgs={"A": new_memcg(None, res=1, memsw=1, rss=1)},
                  ptes={"P": ("page", _X)})

    def prepare(w: World, ctx) -> None:
        p = w.page(_X)
        ctx.local["memcg"] = p["pc_memcg"] if "USED" in p["pc_flags"] else None
        if ctx.local["memcg"] is not None and p["anon"] and ctx.on("PCG_MIGRATION"):
            p["pc_flags"] = p["pc_flags"] | {"MIGRATION"}

    def try_to_unmap(w: World, ctx) -> str | None:
        ctx.local["page"] = _X
        if w.ptes["P"] != ("page", _X):
            return "move_to_new_page"
        p = w.page(_X)
        w.ptes["P"] = ("migration", _X)
        p["map"] -= 1
        p["ref"] -= 1  # try_to_unmap_one drops the pte's reference
        return None

    def remap(new: bool):
        def run(w: World, ctx) -> str | None:
            used, unused = (_N, _X) if new else (_X, _N)
            ctx.local["used"], ctx.local["unused"] = used, unused
            if new:
                w.page(_N)["mapping"], w.page(_X)["mapping"] = True, False
            if w.ptes["P"] == ("migration", _X):
                w.ptes["P"] = ("page", used)
                w.page(used)["map"] += 1
                w.page(used)["ref"] += 1
            return "mem_cgroup_end_migration"
        return run

    def end_migration(w: World, ctx) -> str | None:
        return "unlock_page" if ctx.local["memcg"] is None else None

    def clear_migration(w: World, ctx) -> None:
        p = w.page(_X)
        p["pc_flags"] = p["pc_flags"] - {"MIGRATION"}

    def putback_old(w: World, ctx) -> None:
        putback_lru_page(w, _X)

    def release_new(w: World, ctx) -> None:
        if ctx.local["used"] == _N:
            putback_lru_page(w, _N)
        else:
            put_page(w, _N)

    migration = Path("migrate", (
        Step("lock_page(old)", "mm/migrate.c:__unmap_and_move", lambda w, ctx: None,
             takes=(f"page:{_X}",), refs="caller isolated X and holds a reference"),
        Step("lock_page_cgroup(old)", _F.format("prepare_migration"), lambda w, ctx: None,
             takes=(f"pcg:{_X}",), protection="lock_page_cgroup"),
        Step("read memcg, css_get, SetPageCgroupMigration", _F.format("prepare_migration"),
             prepare),
        Step("unlock_page_cgroup(old)", _F.format("prepare_migration"), lambda w, ctx: None,
             releases=(f"pcg:{_X}",), protection="lock_page_cgroup"),
        Step("commit new page to memcg (no counter charge)",
             "mm/memcontrol.c:__mem_cgroup_commit_charge (3.16)",
             lambda w, ctx: commit_charge(w, _N, ctx.local["memcg"])),
        Step("try_to_unmap: migration entry, page_remove_rmap",
             "mm/rmap.c:try_to_unmap_one", try_to_unmap,
             takes=("ptl:P",), releases=("ptl:P",)),
        *_uncharge_page("page", "unmap: ", "move_to_new_page"),
        Step("move_to_new_page", "mm/migrate.c:move_to_new_page",
             lambda w, ctx: ["remove_migration_ptes(old, new)",
                             "remove_migration_ptes(old, old)"],
             refs="succeeds or fails (e.g. an unexpected extra reference)"),
        Step("remove_migration_ptes(old, new)", "mm/migrate.c:remove_migration_ptes",
             remap(True), takes=("ptl:P",), releases=("ptl:P",)),
        Step("remove_migration_ptes(old, old)", "mm/migrate.c:remove_migration_ptes",
             remap(False), takes=("ptl:P",), releases=("ptl:P",)),
        Step("mem_cgroup_end_migration", _F.format("end_migration"), end_migration),
        *uncharge_common("$unused", "ANON", prefix="unused: ", end_migration=True,
                         done="lock_page_cgroup(old) again"),
        Step("lock_page_cgroup(old) again", _F.format("end_migration"), lambda w, ctx: None,
             takes=(f"pcg:{_X}",), protection="lock_page_cgroup"),
        Step("ClearPageCgroupMigration", _F.format("end_migration"), clear_migration),
        Step("unlock_page_cgroup(old) again", _F.format("end_migration"), lambda w, ctx: None,
             releases=(f"pcg:{_X}",), protection="lock_page_cgroup"),
        *_uncharge_page("used", "used: ", "unlock_page"),
        Step("unlock_page", "mm/migrate.c:__unmap_and_move", lambda w, ctx: None,
             releases=(f"page:{_X}",)),
        Step("putback_lru_page(old)", "mm/migrate.c:unmap_and_move", putback_old,
             takes=("lru_lock",), releases=("lru_lock",)),
        Step("putback_lru_page(new) / free new", "mm/migrate.c:unmap_and_move",
             release_new, takes=("lru_lock",), releases=("lru_lock",)),
    ), local=(("used", _X), ("unused", _N)))

    def zap(w: World, ctx) -> str | None:
        pte = w.ptes["P"]
        w.ptes["P"] = None
        if pte is None or pte[0] == "migration":
            return END  # a migration entry holds no page reference
        ctx.local["page"] = pte[1]
        p = w.page(pte[1])
        p["map"] -= 1
        return "release_pages" if p["map"] > 0 else None

    unmapper = Path("unmap", (
        Step("zap_pte_range: clear pte, page_remove_rmap",
             "mm/memory.c:zap_pte_range, mm/rmap.c:page_remove_rmap", zap,
             takes=("ptl:P",), releases=("ptl:P",)),
        *_uncharge_page("page", "", "release_pages"),
        Step("release_pages", "mm/swap.c:release_pages",
             lambda w, ctx: put_page(w, ctx.local["page"]),
             takes=("lru_lock",), releases=("lru_lock",)),
    ), local=(("page", _X),))
    return world, [migration, unmapper]


RACE = Race("migration_vs_unmap", "3.16",
            "page migration vs unmap of the old page (PCG_MIGRATION)",
            __doc__, ("PCG_MIGRATION",), _build)
