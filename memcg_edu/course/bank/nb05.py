"""Exercises of notebook 05 (old vs new): 3.16 behaviour and its locks."""
from __future__ import annotations

from ..exercise import Exercise, choice, counters
# the same scenario as exercise 02.3, run under 3.16
from .nb02 import TRUNCATE_PINNED as _TRUNCATE_PINNED

__all__ = ["EXERCISES"]

EXERCISES = [
    Exercise(
        "05", 1, "Truncating a page under I/O, in 3.16",
        counters(_TRUNCATE_PINNED, 2, "A", {
            "usage": "3.16 uncharged a page cache page when it left the page "
                     "cache (mem_cgroup_uncharge_cache_page from "
                     "delete_from_page_cache), although the I/O pin still "
                     "holds it.",
            "cache": "The statistics went down with the uncharge.",
        }, design="3.16"),
        reference={"usage": 0, "cache": 0},
        solution="usage 0, cache 0 under 3.16 (3.17: 1 and 1, see exercise "
                 "02.3). The page is still in use by the I/O, yet no longer "
                 "charged. 3.16 had to uncharge at removal because its "
                 "uncharge needed the caller to say what kind of page it was; "
                 "3.17 can wait for the final put because the page's kind is "
                 "known from the page itself (`PageAnon`)."),
    Exercise(
        "05", 2, "What did PCG_MIGRATION guard against in 3.16?",
        choice({
            "a": ("the old page being uncharged when try_to_unmap removed its "
                  "last mapping during migration", True,
                  "mem_cgroup_prepare_migration set it on the old anon page so "
                  "that the uncharge from page_remove_rmap was refused until "
                  "mem_cgroup_end_migration decided which page survived."),
            "b": ("two CPUs committing a charge to the same page", False,
                  "that is what PCG_USED under lock_page_cgroup prevented."),
            "c": ("the swap slot losing its swap_cgroup record", False,
                  "swap records are written and cleared under the "
                  "swap_cgroup lock; migration never touches them."),
        }),
        reference="a",
        solution="**(a)**. In 3.16 migration unmaps the old page "
                 "(`try_to_unmap(TTU_MIGRATION)`), and the last unmap of an "
                 "anon page uncharged it. PCG_MIGRATION made "
                 "`__mem_cgroup_uncharge_common` refuse that uncharge until "
                 "`mem_cgroup_end_migration`. In 3.17 unmapping never "
                 "uncharges, so the flag went away."),
    Exercise(
        "05", 3, "Why could 3.17 drop lock_page_cgroup?",
        choice({
            "a": ("uncharge only runs when the refcount is zero and the page "
                  "is off the LRU; every other path already holds the page "
                  "lock, the pte lock or the lru_lock", True,
                  "with no user left at uncharge time, each remaining writer "
                  "of the page_cgroup is serialised by a lock it already had."),
            "b": ("3.17 disables interrupts around every page_cgroup change", False,
                  "interrupts are disabled for the statistics, which does not "
                  "stop another CPU."),
            "c": ("3.17 protects page_cgroup with RCU", False,
                  "RCU protects the memcg's lifetime for statistics updates, "
                  "not the page_cgroup flags."),
        }),
        reference="a",
        solution="**(a)**. See the table in the rewrite's changelog: anon "
                 "commits under the pte lock, page cache and swap-in commits "
                 "under the page lock (with `lrucare` isolating the page "
                 "under `lru_lock`), migration with both pages locked, "
                 "uncharge with nobody else left, and charge moving with a "
                 "reference, LRU isolation and `trylock_page`. The race "
                 "explorer shows what breaks when one of these goes."),
]
