"""The model's own limits: how many of each thing its arrays can number.

Each limit is the width of the numpy field that stores the number
(pages.MemMap, swap.SwapInfo, tasks.Task); docs/architecture.md "Limits"
states them, Machine checks them when it is built or grows, and
memcg_edu.scenario.load checks a scenario against them before it runs.
The kernel's own fields are wider; a teaching machine never comes near.
"""
from __future__ import annotations

__all__ = ["MAX_FRAMES", "MAX_SLOTS", "MAX_TASKS", "MAX_MEMCGS", "MAX_FILES",
           "MAX_MAPCOUNT", "MAX_LABELS"]

#: page frames: a pfn is an int32 (free list, page tables, swap cache)
MAX_FRAMES = 2**31 - 1
#: swap slots: a swap pte is -2 - slot in an int32 page table
MAX_SLOTS = 2**31 - 2
#: tasks ever created: task ids are int16 (rmap_task, an anon page's mapping)
MAX_TASKS = 32_767
#: memcgs ever created, root included: ids are int16 (pc_memcg, lru_memcg, swap_cgroup)
MAX_MEMCGS = 32_767
#: files (regular and tmpfs): a page-cache page's mapping is an int16 file id
MAX_FILES = 32_767
#: ptes mapping one page: mapcount is an int16
MAX_MAPCOUNT = 32_767
#: page labels one scenario may create (each costs a Python object)
MAX_LABELS = 1 << 24
