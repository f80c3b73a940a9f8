"""Exercises of notebook 01 (charge): limits and reclaim, hierarchy, the stock."""
from __future__ import annotations

from ..exercise import Exercise, counters, number, run_timeline, value_at
from . import scenario

__all__ = ["EXERCISES"]

_AT_LIMIT = scenario([
    {"op": "add_to_page_cache", "task": "p", "page": "f", "file": "log"},
    {"op": "fault_anon", "task": "p", "page": "x"},
    {"op": "fault_anon", "task": "p", "page": "y"},
    {"op": "fault_anon", "task": "p", "page": "z"},
    {"op": "fault_anon", "task": "p", "page": "w"},
], title="a fifth page under a limit of four",
    memcgs={"A": {"limit": 4, "memsw_limit": 4}})

_HIERARCHY = scenario([
    {"op": "fault_anon", "task": "c", "page": "x"},
    {"op": "fault_anon", "task": "c", "page": "y"},
    {"op": "fault_anon", "task": "p", "page": "z"},
], title="a child charges its parent",
    memcgs={"P": {"use_hierarchy": True, "limit": 3}, "C": {"parent": "P"}},
    tasks={"p": "P", "c": "C"})

_STOCK = scenario([{"op": "fault_anon", "task": "p", "page": "x"}],
                  title="one page with the per-CPU stock",
                  machine={"charge_stock": True})


def _stock_usage() -> int:
    return value_at(run_timeline(_STOCK), 0, "A", "usage")


EXERCISES = [
    Exercise(
        "01", 1, "A fifth page under a limit of four",
        counters(_AT_LIMIT, 4, "A", {
            "usage": "The charge for w does not fit, so try_charge reclaims "
                     "from A and retries: usage stays at the limit.",
            "cache": "With memsw limit = limit, reclaim may not use swap, so "
                     "it drops the only page it can: the clean page cache page f.",
            "rss": "The four anonymous pages x, y, z, w are all charged.",
            "failcnt": "One charge attempt hit the limit before reclaim made "
                       "room; failcnt counts failed attempts, not OOMs.",
        }),
        reference={"usage": 4, "cache": 0, "rss": 4, "failcnt": 1},
        solution="usage 4, cache 0, rss 4, failcnt 1. `try_charge()` "
                 "(mm/memcontrol.c) first charges the res_counter, which "
                 "fails at the limit and bumps `failcnt`. It then calls "
                 "`mem_cgroup_reclaim()`. Because the memsw limit equals the "
                 "memory limit (`memsw_is_minimum`), reclaim may not swap; "
                 "it drops the inactive file page f instead. Now there is "
                 "margin, the retry succeeds, and w is charged. Had there been "
                 "nothing to reclaim, the charge would have ended in a memcg "
                 "OOM."),
    Exercise(
        "01", 2, "What the parent sees of its child",
        counters(_HIERARCHY, 2, "P", {
            "usage": "With use_hierarchy the child's res_counter has the "
                     "parent's as its parent: C's two pages are charged to P "
                     "too, plus P's own page.",
            "rss": "memory.stat's rss is local: only the pages committed to P "
                   "itself (z). total_rss would add the child's.",
        }),
        reference={"usage": 3, "rss": 1},
        solution="usage 3, rss 1. `res_counter_charge()` walks from C's "
                 "counter up through its parents, so P's usage includes C's "
                 "pages, and P's limit of 3 now also stops C. The statistics "
                 "(rss, cache) are per memcg: P's rss counts only z, and "
                 "memory.stat shows the subtree sum as total_rss."),
    Exercise(
        "01", 3, "One page with the per-CPU stock switched on",
        number(_stock_usage,
               "The first charge on this CPU takes a whole batch "
               "(CHARGE_BATCH = 32 pages) from the res_counter and keeps the "
               "31 spare pages in the per-CPU stock for the next charges, so "
               "usage jumps by 32.",
               hints={1: "that is the exact count the model shows with the "
                         "stock off (the default)."}),
        reference=32,
        solution="32. With `charge_stock` on, `try_charge()` first tries "
                 "`consume_stock()`; the stock is empty, so it charges "
                 "`CHARGE_BATCH` = 32 pages and `refill_stock()` keeps 31 of "
                 "them for later charges, which then change no counter at "
                 "all. This is why Documentation/cgroups/memory.txt calls "
                 "usage \"fuzzy\". (Recent kernels use a batch of 64.)"),
]
