"""Exercises of notebook 00 (start here): what memcg counts and when."""
from __future__ import annotations

from ..exercise import Exercise, choice, counters
from . import scenario

__all__ = ["EXERCISES"]

_TWO_PAGES = scenario([
    {"op": "fault_anon", "task": "p", "page": "x"},
    {"op": "add_to_page_cache", "task": "p", "page": "f", "file": "notes.txt"},
], title="one anonymous page, one page cache page")

EXERCISES = [
    Exercise(
        "00", 1, "When does Linux 3.17 give back an anonymous page's charge?",
        choice({
            "a": ("at the last unmap of the page", False,
                  "that was Linux 3.16: mem_cgroup_uncharge_page() ran from "
                  "page_remove_rmap() when the mapcount reached zero. 3.17 "
                  "waits for the last reference, which someone who does not map "
                  "the page (an I/O pin, the swap cache) may still hold."),
            "b": ("when its last reference goes (the final put_page)", True,
                  "mem_cgroup_uncharge() runs from __page_cache_release() or "
                  "release_pages() in mm/swap.c once the refcount is zero and "
                  "the page is off the LRU; nobody else can see the page then."),
            "c": ("when the task that faulted it exits", False,
                  "exit unmaps the task's pages, which drops references; the "
                  "page is uncharged only if that was its last reference."),
            "d": ("when it leaves the swap cache", False,
                  "in 3.17 swap cache deletion does not call memcg at all; "
                  "3.16 did (mem_cgroup_uncharge_swapcache)."),
        }),
        reference="b",
        solution="**(b)**. The rewrite (commit 0a31bc97c8) made the final put "
                 "the only place a page is uncharged: `mem_cgroup_uncharge()` "
                 "from `__page_cache_release()` and `release_pages()` "
                 "(mm/swap.c), and from reclaim in mm/vmscan.c. Because the "
                 "refcount is zero and the page is off the LRU, nothing else "
                 "can touch its page_cgroup, which is why the per-page lock "
                 "of 3.16 could go."),
    Exercise(
        "00", 2, "usage is 3 pages and memsw usage is 5 pages. What does it tell you?",
        choice({
            "a": ("5 pages of the group are in memory", False,
                  "usage is the memory counter: 3 pages are in memory."),
            "b": ("2 pages' worth of the group's charge sit on swap slots", True,
                  "memsw counts memory plus swap, so memsw - usage is what "
                  "swap slots hold for the group (the swap statistic)."),
            "c": ("the accounting is broken: memsw cannot exceed usage", False,
                  "memsw is memory + swap, so it is never below usage while "
                  "swap accounting is on; above it means swap is in use."),
            "d": ("2 pages are reserved by try_charge and not yet committed", False,
                  "a reservation raises usage and memsw together, so it never "
                  "makes a gap between them."),
        }),
        reference="b",
        solution="**(b)**. With swap accounting on, each memcg has two "
                 "res_counters: `res` (memory, shown as usage) and `memsw` "
                 "(memory + swap). A swapped-out page keeps its memsw charge "
                 "on its swap slot (the `swap_cgroup` record) and gives back "
                 "the memory part, so memsw - usage = 2 swap slots."),
    Exercise(
        "00", 3, "Counters after an anonymous fault and a page cache read",
        counters(_TWO_PAGES, 1, "A", {
            "usage": "Both pages are charged to A: one anonymous, one page cache.",
            "rss": "rss counts the anonymous pages (PageAnon): just x.",
            "cache": "cache counts the page cache page f.",
        }),
        reference={"usage": 2, "rss": 1, "cache": 1},
        solution="usage 2, rss 1, cache 1. Every page a task of A brings in "
                 "is charged to A whatever its kind; memory.stat then splits "
                 "the charge into rss (anonymous) and cache (page cache and "
                 "tmpfs)."),
]
