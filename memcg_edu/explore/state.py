"""The small abstract kernel state that the race explorer's paths act on.

Stands for the few fields of include/linux/mm_types.h (struct page:
_count, _mapcount, PG_lru, PG_locked, PG_swapcache, mapping),
include/linux/page_cgroup.h (pc->flags, pc->mem_cgroup), the
res_counters and statistics of struct mem_cgroup in mm/memcontrol.c,
the swap_map / swap_cgroup of one swap slot (mm/swapfile.c,
mm/page_cgroup.c), the one pte each task has on the page, and the
spinlocks and sleeping locks the paths take (page lock, PCG_LOCK,
zone->lru_lock, the page table lock, the swap-cache tree_lock).

A World is deliberately tiny (two or three pages, two or three memcgs)
so that every interleaving of the modelled paths can be enumerated.
Counters are in pages; the root memcg's res/memsw counters are never
charged (3.16 and the 3.17 release agree here: docs/kernel-rules.md,
"Hierarchy").
"""
from __future__ import annotations

from typing import Any, Iterable

__all__ = ["World", "ROOT", "StepViolation", "new_page", "new_memcg",
           "new_slot"]

#: name of the root memcg in every world
ROOT = "root"


class StepViolation(Exception):
    """A step did something the kernel would catch or never allow.

    ``invariant`` is a short id (for example "VM_BUG_ON" or "I8"), the
    message says what happened in plain words and names the kernel check.
    """

    def __init__(self, invariant: str, message: str) -> None:
        self.invariant = invariant
        self.message = message
        super().__init__(f"{invariant}: {message}")


def new_page(*, anon: bool, ref: int = 1, map: int = 0, lru: str | None = None,
             pc_flags: Iterable[str] = (), pc_memcg: str = ROOT,
             cache: bool = False, swapcache: str | None = None,
             mapping: bool = True) -> dict[str, Any]:
    """A struct page plus its page_cgroup, as a plain dict.

    ``lru`` names the memcg whose lruvec the page is linked on (PageLRU
    set), None when the page is off every LRU.
    """
    return {"ref": ref, "map": map, "lru": lru, "pc_flags": frozenset(pc_flags),
            "pc_memcg": pc_memcg, "anon": anon, "cache": cache,
            "swapcache": swapcache, "mapping": mapping, "freed": False}


def new_memcg(parent: str | None = None, *, res: int = 0, memsw: int = 0,
              rss: int = 0, cache: int = 0, swap: int = 0) -> dict[str, Any]:
    """A struct mem_cgroup reduced to res/memsw usage and three statistics."""
    return {"parent": parent, "res": res, "memsw": memsw, "rss": rss,
            "cache": cache, "swap": swap}


def new_slot(*, count: int = 0, cache: str | None = None,
             record: str | None = None) -> dict[str, Any]:
    """One swap slot: swap_map count (without the cache bit), SWAP_HAS_CACHE
    as the name of the swap-cache page, and its swap_cgroup record."""
    return {"count": count, "cache": cache, "record": record}


class World:
    """Pages, memcgs, swap slots, ptes, charge-moving state and lock owners.

    ``design`` is "3.16" or "3.17"; it decides the page_cgroup flag
    vocabulary (PCG_USED alone in 3.16, USED|MEM|MEMSW in 3.17) and
    which invariants apply.
    """

    __slots__ = ("design", "pages", "memcgs", "slots", "ptes", "mc", "locks")

    def __init__(self, design: str, pages: dict[str, dict[str, Any]],
                 memcgs: dict[str, dict[str, Any]],
                 slots: dict[str, dict[str, Any]] | None = None,
                 ptes: dict[str, Any] | None = None,
                 mc: dict[str, Any] | None = None,
                 locks: dict[str, str] | None = None) -> None:
        self.design = design
        self.pages = pages
        self.memcgs = {ROOT: new_memcg(), **memcgs}
        self.slots = slots or {}
        self.ptes = ptes or {}
        self.mc = mc or {}
        self.locks = locks or {}

    # -- copying and hashing (the search memoises on key()) -------------
    def copy(self) -> "World":
        w = World.__new__(World)
        w.design = self.design
        w.pages = {k: dict(v) for k, v in self.pages.items()}
        w.memcgs = {k: dict(v) for k, v in self.memcgs.items()}
        w.slots = {k: dict(v) for k, v in self.slots.items()}
        w.ptes = dict(self.ptes)
        w.mc = dict(self.mc)
        w.locks = dict(self.locks)
        return w

    def key(self) -> tuple:
        def freeze(d: dict[str, Any]) -> tuple:
            return tuple((k, tuple(sorted(v.items())) if isinstance(v, dict) else v)
                         for k, v in sorted(d.items()))
        return (freeze(self.pages), freeze(self.memcgs), freeze(self.slots),
                freeze(self.ptes), freeze(self.mc), freeze(self.locks))

    def snapshot(self) -> dict[str, Any]:
        """JSON-able copy: what a step table row shows."""
        pages = {}
        for name, p in self.pages.items():
            q = dict(p)
            q["pc_flags"] = sorted(q["pc_flags"])
            pages[name] = q
        return {"pages": pages,
                "memcgs": {k: {f: v for f, v in m.items() if f != "parent"}
                           for k, m in self.memcgs.items()},
                "slots": {k: dict(v) for k, v in self.slots.items()},
                "ptes": {k: list(v) if isinstance(v, tuple) else v
                         for k, v in self.ptes.items()},
                "mc": dict(self.mc), "locks": dict(self.locks)}

    # -- page helpers ----------------------------------------------------
    def page(self, name: str) -> dict[str, Any]:
        """The page, refusing a use after free (the kernel has no guard)."""
        p = self.pages[name]
        if p["freed"]:
            raise StepViolation("use-after-free",
                                f"page {name} was already freed and is used again")
        return p

    def used(self, name: str) -> bool:
        return "USED" in self.pages[name]["pc_flags"]

    def ancestors(self, memcg: str) -> list[str]:
        """memcg and its hierarchical parents (use_hierarchy), root last."""
        out = [memcg]
        while self.memcgs[out[-1]]["parent"] is not None:
            out.append(self.memcgs[out[-1]]["parent"])
        return out

    # -- res_counter ----------------------------------------------------
    def charge(self, memcg: str, counters: Iterable[str] = ("res", "memsw"),
               nr: int = 1) -> None:
        """res_counter_charge up the hierarchy; root is never charged."""
        for m in self.ancestors(memcg):
            if m == ROOT:
                continue
            for c in counters:
                self.memcgs[m][c] += nr

    def uncharge(self, memcg: str, counters: Iterable[str] = ("res", "memsw"),
                 nr: int = 1, until: str | None = None) -> None:
        """res_counter_uncharge(_until); an underflow is the kernel's
        WARN_ON in res_counter_uncharge_locked()."""
        for m in self.ancestors(memcg):
            if m == until or m == ROOT:
                break
            for c in counters:
                if self.memcgs[m][c] < nr:
                    raise StepViolation(
                        "res_counter underflow",
                        f"{c} usage of {m} would drop below zero "
                        f"(WARN_ON in res_counter_uncharge_locked, kernel/res_counter.c)")
                self.memcgs[m][c] -= nr

    def stat(self, memcg: str, name: str, delta: int) -> None:
        """mem_cgroup_charge_statistics / mem_cgroup_swap_statistics."""
        self.memcgs[memcg][name] += delta

    # -- locks -------------------------------------------------------------
    def holder(self, lock: str) -> str | None:
        return self.locks.get(lock)

    def take(self, lock: str, path: str) -> None:
        owner = self.locks.get(lock)
        if owner is not None:
            raise StepViolation("deadlock", f"{path} takes {lock} held by {owner}")
        self.locks[lock] = path

    def drop(self, lock: str, path: str) -> None:
        if self.locks.get(lock) != path:
            raise StepViolation("lock", f"{path} releases {lock} it does not hold")
        del self.locks[lock]

    def held_by(self, path: str) -> list[str]:
        return sorted(k for k, v in self.locks.items() if v == path)
