"""Exercises of notebook 03 (migration and the LRU)."""
from __future__ import annotations

from ..exercise import Exercise, choice, counters
from . import scenario

__all__ = ["EXERCISES"]

_MIGRATE = scenario([
    {"op": "fault_anon", "task": "p", "page": "x"},
    {"op": "migrate", "page": "x"},
    {"op": "unmap", "task": "p", "page": "x"},
], title="migrate a charged page, then free it")

_SPLICE = scenario([
    {"op": "add_to_page_cache", "task": "p", "page": "f", "file": "a"},
    {"op": "add_to_page_cache", "task": "q", "page": "g", "file": "b"},
    {"op": "get_page", "page": "g", "note": "splice() from b puts g in a pipe buffer"},
    {"op": "truncate", "page": "g", "note": "the pipe steals g from b's page cache"},
    {"op": "replace_page_cache", "page": "f", "with": "g"},
], title="fuse splice with an already-charged page",
    memcgs={"A": {}, "B": {}}, tasks={"p": "A", "q": "B"})

EXERCISES = [
    Exercise(
        "03", 1, "Freeing a migrated page",
        counters(_MIGRATE, 2, "A", {
            "usage": "The unmap dropped the new page's last reference: its "
                     "final put uncharged it. The charge existed once, so it "
                     "went once.",
            "rss": "No charged anonymous page is left.",
            "pgpgout": "One uncharge, one pgpgout: the old page's final put "
                       "found no PCG_USED and counted nothing, and in Linux "
                       "3.17.0 the migration itself counts no events.",
        }),
        reference={"usage": 0, "rss": 0, "pgpgout": 1},
        solution="usage 0, rss 0, pgpgout 1. `mem_cgroup_migrate()` cleared "
                 "the old page's flags and committed the new page without "
                 "touching any counter, so exactly one page holds the charge. "
                 "The old page's final put calls `mem_cgroup_uncharge()`, "
                 "which returns early (no PCG_USED); the new page's final put "
                 "uncharges it. (The commit 0a31bc97c8 itself counted one "
                 "pgpgout and one pgpgin per migration; \"avoid charge "
                 "statistics churn during page migration\" removed that "
                 "before 3.17.0, so pgpgout would have been 2 there.)"),
    Exercise(
        "03", 2, "Where does the old page go?",
        choice({
            "a": ("back on A's lruvec", False,
                  "the old page is no longer charged, and an uncharged page "
                  "does nothing to keep A from being removed: it must not "
                  "sit on A's lruvec."),
            "b": ("on root's lruvec", True,
                  "putback_lru_page() asks mem_cgroup_page_lruvec(), which "
                  "sees an uncharged page off the LRU and points its "
                  "page_cgroup at the root memcg first."),
            "c": ("nowhere: migration frees it on the spot", False,
                  "it is freed soon, but first putback_lru_page() puts it "
                  "back on an LRU list, where compaction can find it again, "
                  "until its last reference goes; the final put then has no "
                  "charge to give back."),
        }),
        reference="b",
        solution="**(b)**. After the transfer the old page looks as if it "
                 "was never charged. `mem_cgroup_page_lruvec()` "
                 "(mm/memcontrol.c) resets `pc->mem_cgroup` of such a page to "
                 "root before linking it, so it lands on root's lruvec; its "
                 "final put then finds no PCG_USED and returns early."),
    Exercise(
        "03", 3, "fuse splice: the new page is already charged",
        counters(_SPLICE, 4, "A", {
            "usage": "mem_cgroup_migrate returns early because g is already "
                     "charged (to B), so f kept its own charge; f then left "
                     "the page cache and its last reference went, which "
                     "uncharged it from A.",
            "cache": "f was A's only cache page and it is gone.",
        }),
        reference={"usage": 0, "cache": 0},
        solution="usage 0, cache 0 (and B keeps 1). `replace_page_cache_page()` "
                 "(mm/filemap.c) calls `mem_cgroup_migrate(old, new, true)`. "
                 "If the new page already has PCG_USED (fuse stole it from a "
                 "pipe buffer, maybe another file's cache page) the function "
                 "does nothing: each page keeps its own charge, and the old "
                 "one is uncharged at its final put. 3.16 would have hit a "
                 "VM_BUG_ON committing an already-charged page. `lrucare` is "
                 "true because either page may be on an LRU."),
]
