"""The shipped races: registry and the vocabulary of protections.

Each race module defines one ``RACE`` (a Race): the design it belongs
to, a docstring with the kernel context (files, functions, what the
protection guards), the protections it can drop, the later-kernel fixes
it can apply, and ``build(fixes)`` giving the initial World and the
paths to interleave.
"""
from __future__ import annotations

import importlib
from dataclasses import dataclass, field
from typing import Callable

from ..paths import Path
from ..state import World

__all__ = ["Race", "PROTECTIONS", "FIXES", "RACES", "get_race"]

#: every protection the explorer knows, and what it stands for
PROTECTIONS = {
    "lock_page_cgroup": "3.16 PCG_LOCK bit spinlock around every pc->mem_cgroup / "
                        "PCG_USED update (include/linux/page_cgroup.h)",
    "PCG_MIGRATION": "3.16 flag set by mem_cgroup_prepare_migration so the uncharge "
                     "at the old page's last unmap is deferred to mem_cgroup_end_migration",
    "mapped_check": "3.16 refusal in __mem_cgroup_uncharge_common to uncharge a page "
                    "that is still mapped (ANON, DROP and SWAPOUT charge types)",
    "swapcache_defer": "3.16 mem_cgroup_uncharge_page leaves a page in the swap cache "
                       "to the swap-cache deletion (which moves the charge to a record)",
    "trylock_page": "3.17 trylock_page in mem_cgroup_move_account, excluding "
                    "mem_cgroup_migrate of a page-cache page being replaced",
    "lru_isolation": "3.17 lock_page_lru/unlock_page_lru in commit_charge(lrucare): "
                     "the page is off the LRU, under zone->lru_lock, while pc is rewritten",
}

#: later-kernel fixes a race can apply (none is applied by default)
FIXES = {
    "lrucare": "shmem_replace_page passes lrucare=true to mem_cgroup_migrate "
               "(M. Hocko, acked by H. Dickins, after the i965 VM_BUG_ON report)",
    "memcg_read_first": "mem_cgroup_migrate reads the old page's memcg before clearing "
                        "it, so unlock_page_lru's switch of an uncharged page to root "
                        "cannot redirect the new page's charge (as the 3.19 code does)",
}


@dataclass(frozen=True)
class Race:
    """One shipped race: what it is and how to build it."""

    name: str
    design: str
    title: str
    doc: str
    protections: tuple[str, ...]
    build: Callable[[frozenset[str]], tuple[World, list[Path]]] = field(compare=False)
    fixes: tuple[str, ...] = ()
    #: breaks with every protection in the code as released; the race's
    #: fixes, if it has any, all applied make it clean
    expect_broken: bool = False

    def describe(self) -> dict:
        """The race as data: name, design, title, protections, fixes."""
        return {"name": self.name, "design": self.design, "title": self.title,
                "protections": list(self.protections), "fixes": list(self.fixes),
                "expect_broken": self.expect_broken,
                "paths": [p.name for p in self.build(frozenset())[1]]}


#: race modules, in the order of the issue
_MODULES = ("move_vs_unmap", "migration_vs_unmap", "swapcache_delete",
            "replace_vs_move", "commit_vs_putback", "shmem_replace", "swapin_reuse")


def _load() -> dict[str, Race]:
    races = [importlib.import_module(f".{m}", __name__).RACE for m in _MODULES]
    races.insert(1, importlib.import_module(".move_vs_unmap", __name__).RACE3)
    return {r.name: r for r in races}


RACES: dict[str, Race] = _load()


def get_race(name: str) -> Race | None:
    return RACES.get(name)
