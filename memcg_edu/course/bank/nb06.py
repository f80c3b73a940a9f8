"""Exercises of notebook 06 (your kernel): reading real counters."""
from __future__ import annotations

from ..exercise import Exercise, choice

__all__ = ["EXERCISES"]

EXERCISES = [
    Exercise(
        "06", 1, "The real kernel charged more than the pages the workload touched",
        choice({
            "a": ("the model is wrong about charging", False,
                  "the model charges exactly the pages the mm instantiates; "
                  "the kernel charges more than user pages."),
            "b": ("the kernel also charges kernel memory (page tables, slab) "
                  "and takes charges in per-CPU batches", True,
                  "modern kernels charge page tables and slab objects of the "
                  "group to its usage, and the per-CPU stock takes 64 pages at "
                  "a time."),
            "c": ("swap counts in usage", False,
                  "swap is in memsw (or memory.swap.current on cgroup v2), "
                  "never in usage."),
        }),
        reference="b",
        solution="**(b)**. The difference is overhead the 3.17 model leaves "
                 "out on purpose: kernel memory accounting (on by default "
                 "since 4.x) and the per-CPU charge stock (32 pages in 3.17, "
                 "64 now). It shows as a few dozen pages beyond the workload, "
                 "roughly constant however many pages the workload touches."),
    Exercise(
        "06", 2, "The page cache reader exited; usage did not drop",
        choice({
            "a": ("page cache is uncharged when the page is freed "
                  "(truncate, unlink, or reclaim), not when the reader exits", True,
                  "the same rule as in 3.17: the final put uncharges, and the "
                  "page cache holds a reference until the page leaves it."),
            "b": ("the kernel leaks the charge until the cgroup is removed", False,
                  "nothing leaks: deleting the file or dropping caches gives "
                  "it back."),
            "c": ("the charge moved to the parent cgroup", False,
                  "charges move to the parent only when a cgroup is removed "
                  "(reparenting)."),
        }),
        reference="a",
        solution="**(a)**. Run the workload's delete phase (or `echo 1 > "
                 "/proc/sys/vm/drop_caches` on your own machine) and watch "
                 "usage fall: the page cache pages reach their final put and "
                 "are uncharged, as `mem_cgroup_uncharge()` did in 3.17."),
]
