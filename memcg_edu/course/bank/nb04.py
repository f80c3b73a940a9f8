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
], title="a memsw limit stops swapping", memcgs={"A": {"limit": 2, "memsw_limit": 3}})

_NO_ACCOUNTING = scenario([
    {"op": "fault_anon", "task": "p", "page": "x"},
    {"op": "swap_out", "page": "x"},
], title="swap-out with swap accounting off", machine={"swap_account": False})

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
                 "OOM although usage is below the memory limit. At step 2 the "
                 "res_counter refused z (failcnt 1) and `mem_cgroup_reclaim()` "
                 "swapped out x and y (memcg reclaim scans small lists whole). "
                 "At step 3 the memsw counter refuses w: `try_charge()` "
                 "reclaims with `MEM_CGROUP_RECLAIM_NOSWAP`, because moving a "
                 "page to swap would not lower memory+swap, finds nothing to "
                 "drop, retries, and gives up (memsw_failcnt counts each "
                 "attempt). The memsw limit is how an administrator caps a "
                 "group's swap use."),
    Exercise(
        "04", 3, "Swap-out with swap accounting off",
        counters(_NO_ACCOUNTING, 1, "A", {
            "usage": "The page left memory, so its memory charge is gone.",
            "swap": "Without swap accounting (swapaccount=0) "
                    "mem_cgroup_swapout returns at once: no swap_cgroup "
                    "record, no swap statistic. The group pays nothing for "
                    "its swap.",
        }),
        reference={"usage": 0, "swap": 0},
        solution="usage 0, swap 0. With `do_swap_account` off no memsw "
                 "counter is charged, PCG_MEMSW is never set, and "
                 "`mem_cgroup_swapout()` / `mem_cgroup_uncharge_swap()` "
                 "return immediately. A group can then push any amount of "
                 "memory to swap without it counting against any limit."),
]
