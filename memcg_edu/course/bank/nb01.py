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

_PARENT_LIMIT = scenario([
    {"op": "fault_anon", "task": "c", "page": "x"},
    {"op": "fault_anon", "task": "c", "page": "y"},
    {"op": "fault_anon", "task": "c", "page": "z"},
], title="the parent's limit stops the child",
    memcgs={"P": {"use_hierarchy": True, "limit": 2, "memsw_limit": 2,
                  "oom_kill_disable": True},
            "C": {"parent": "P"}},
    tasks={"c": "C"})

_STOCK = scenario([{"op": "fault_anon", "task": "p", "page": "x"},
                   {"op": "unmap", "task": "p", "page": "x"}],
                  title="one page in and out with the per-CPU stock",
                  machine={"charge_stock": True})


def _stock_usage() -> int:
    usage = value_at(run_timeline(_STOCK), 1, "A", "usage")
    assert usage is not None                     # only a limit reads "unlimited"
    return usage


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
        "01", 2, "The parent's limit stops the child",
        counters(_PARENT_LIMIT, 2, "C", {
            "usage": "z could not be charged: the walk up the hierarchy failed "
                     "at P and rolled C's part back, so C keeps x and y.",
            "failcnt": "Only the level whose limit was hit counts a failure: "
                       "P's failcnt went up, C's stayed 0.",
        }),
        reference={"usage": 2, "failcnt": 0},
        solution="usage 2, failcnt 0 (and the step fails with a memcg OOM "
                 "naming P; P has oom_kill_disable, so no task is killed and "
                 "c would sleep until memory is freed). "
                 "`res_counter_charge()` (kernel/res_counter.c) "
                 "charges C's counter, then P's; P would go over its limit, "
                 "so P's failcnt goes up and the charge already made at C is "
                 "undone. Reclaim then targets P's subtree (C's pages), but "
                 "with memsw limit = limit nothing can be swapped, so after "
                 "the retries the charge fails. C has no limit of its own and "
                 "never fails: its failcnt stays 0."),
    Exercise(
        "01", 3, "One page in and out with the per-CPU stock",
        number(_stock_usage,
               "The fault charged a whole batch of 32 pages and kept 31 in "
               "the per-CPU stock. The unmap freed the page, and its uncharge "
               "went straight to the res_counter (uncharges never refill the "
               "stock): 32 - 1 = 31 pages stay charged, held by the stock.",
               hints={0: "the page is gone, but what about the 31 spare pages "
                         "the first charge took for the stock?",
                      32: "the uncharge does reach the counter; it just does "
                          "not give the stock's spare pages back."}),
        reference=31,
        solution="31. With `charge_stock` on, `try_charge()` charges "
                 "`CHARGE_BATCH` = 32 pages and `refill_stock()` keeps 31 "
                 "for the next charges on this CPU. `mem_cgroup_uncharge()` "
                 "gives the freed page back to the res_counter directly. The "
                 "31 stocked pages stay charged until a drain "
                 "(`drain_stock`, on reclaim or when the CPU caches another "
                 "memcg). This is why Documentation/cgroups/memory.txt calls "
                 "usage \"fuzzy\". (Recent kernels use a batch of 64.)"),
]
