"""Exercises of notebook 04 (swap): swap-out, swap-in, accounting off."""
from __future__ import annotations

from ..exercise import Exercise, counters
from . import scenario

__all__ = ["EXERCISES"]

_SHARED_SLOT = scenario([
    {"op": "fault_anon", "task": "p", "page": "x"},
    {"op": "map", "task": "q", "page": "x"},
    {"op": "swap_out", "page": "x"},
    {"op": "swap_in", "task": "p", "page": "x"},
], title="two tasks share a swapped-out page", tasks={"p": "A", "q": "A"})

_MEMSW_LIMIT = scenario([
    {"op": "fault_anon", "task": "p", "page": "x"},
    {"op": "fault_anon", "task": "p", "page": "y"},
    {"op": "fault_anon", "task": "p", "page": "z"},
    {"op": "fault_anon", "task": "p", "page": "w"},
], title="a memsw limit stops swapping",
    memcgs={"A": {"limit": 2, "memsw_limit": 3, "oom_kill_disable": True}})

_SLOT_SHARED = scenario([
    {"op": "fault_anon", "task": "p", "page": "x"},
    {"op": "map", "task": "q", "page": "x"},
    {"op": "swap_out", "page": "x"},
    {"op": "unmap", "task": "q", "page": "x"},
    {"op": "unmap", "task": "p", "page": "x"},
], title="two page tables point at one swap slot", tasks={"p": "A", "q": "A"})

EXERCISES = [
    Exercise(
        "04", 1, "Swap-in while another task still holds the swap entry",
        counters(_SHARED_SLOT, 3, "A", {
            "usage": "p's fault charged the page to A again (the memcg "
                     "recorded for the slot).",
            "memsw_usage": "try_charge added 1 to memsw, and the commit "
                           "dropped the slot's duplicate: the page, not the "
                           "slot, now holds A's memsw charge.",
            "swap": "The commit cleared the slot's record even though q's "
                    "page table still points at the slot: the page in the "
                    "swap cache carries the charge now.",
        }),
        reference={"usage": 1, "memsw_usage": 1, "swap": 0},
        solution="usage 1, memsw 1, swap 0. `mem_cgroup_commit_charge()` "
                 "checks only whether the page is still in the swap cache; "
                 "if so it calls `mem_cgroup_uncharge_swap()` for the slot at "
                 "once, whoever else still references the slot. When q later "
                 "faults, `mem_cgroup_try_charge()` finds the swap cache page "
                 "already charged and does nothing; when the slot is finally "
                 "freed its record is already zero."),
    Exercise(
        "04", 2, "A memsw limit stops swapping",
        counters(_MEMSW_LIMIT, 3, "A", {
            "usage": "At step 2 memcg reclaim pushed both older pages (x, y) "
                     "to swap: it takes up to SWAP_CLUSTER_MAX = 32 pages a "
                     "round, and A had only two. So only z is in memory, and "
                     "w never got charged.",
            "memsw_usage": "z plus the two swap slots: 3, the memsw limit. "
                           "The charge for w fails on the memsw counter, and "
                           "swapping cannot help, since memsw counts swap too: "
                           "the step ends in a memcg OOM.",
            "swap": "x and y are on swap, each slot holding A's charge.",
        }),
        reference={"usage": 1, "memsw_usage": 3, "swap": 2},
        solution="usage 1, memsw 3, swap 2, and step 3 fails with a memcg "
                 "OOM although usage is below the memory limit (A has "
                 "oom_kill_disable, so nobody is killed: p would sleep). At "
                 "step 2 the "
                 "res_counter refused z (failcnt 1) and `mem_cgroup_reclaim()` "
                 "swapped out x and y (memcg reclaim scans small lists whole). "
                 "At step 3 the memsw counter refuses w: `try_charge()` "
                 "reclaims with `MEM_CGROUP_RECLAIM_NOSWAP`, because moving a "
                 "page to swap would not lower memory+swap, finds nothing to "
                 "drop, retries, and gives up (memsw_failcnt counts each "
                 "attempt). The memsw limit is how an administrator caps a "
                 "group's swap use."),
    Exercise(
        "04", 3, "The slot is freed by its last reference",
        counters(_SLOT_SHARED, 3, "A", {
            "usage": "x is on swap, not in memory.",
            "memsw_usage": "q's unmap dropped one reference to the swap slot, "
                           "but p's page table still points at it: the slot "
                           "lives on, and so does the memsw charge it holds.",
            "swap": "The slot still carries A's swap_cgroup record.",
        }),
        reference={"usage": 0, "memsw_usage": 1, "swap": 1},
        solution="usage 0, memsw 1, swap 1. A swap slot has a map count, one "
                 "per page table entry that points at it. `swap_entry_free()` "
                 "(mm/swapfile.c) calls `mem_cgroup_uncharge_swap()` only "
                 "when that count reaches zero, which here is p's unmap at "
                 "step 4: then memsw and swap drop to 0. The swap charge "
                 "follows the slot's life exactly as the memory charge "
                 "follows the page's."),
]
