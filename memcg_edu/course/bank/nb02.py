"""Exercises of notebook 02 (final put): pins, page cache, truncate."""
from __future__ import annotations

from ..exercise import Exercise, counters
from . import scenario

__all__ = ["EXERCISES", "TRUNCATE_PINNED"]

_SHARED = scenario([
    {"op": "fault_anon", "task": "p", "page": "x"},
    {"op": "map", "task": "q", "page": "x"},
    {"op": "exit", "task": "p"},
], title="a page shared across two memcgs",
    memcgs={"A": {}, "B": {}}, tasks={"p": "A", "q": "B"})

_TMPFS_WRITER_EXITS = scenario([
    {"op": "fault_shmem", "task": "p", "page": "s", "file": "/dev/shm/out"},
    {"op": "exit", "task": "p"},
], title="a tmpfs file outlives its writer")

TRUNCATE_PINNED = scenario([
    {"op": "add_to_page_cache", "task": "p", "page": "f", "file": "data.csv"},
    {"op": "get_page", "page": "f"},
    {"op": "truncate", "page": "f"},
    {"op": "put_page", "page": "f"},
], title="truncate a page under I/O")

EXERCISES = [
    Exercise(
        "02", 1, "Who pays for a shared page when its first user exits?",
        counters(_SHARED, 2, "A", {
            "usage": "x is still mapped by q, so it is not freed; its charge "
                     "stays where it was made: with A, the memcg of the task "
                     "that faulted it first.",
            "rss": "x is still a charged anonymous page of A.",
        }),
        reference={"usage": 1, "rss": 1},
        solution="usage 1, rss 1 (and B: 0). memcg charges a page to the "
                 "memcg of the task that brought it in, and the charge stays "
                 "there until the final put, whoever uses the page meanwhile. "
                 "p's exit drops p's mapping and reference; q's mapping keeps "
                 "x alive, so `mem_cgroup_uncharge()` has not run yet. (Only "
                 "charge moving, `move_charge_at_immigrate`, moves a charge "
                 "between memcgs.)"),
    Exercise(
        "02", 2, "A tmpfs file outlives its writer",
        counters(_TMPFS_WRITER_EXITS, 1, "A", {
            "usage": "s lives in the tmpfs file's page cache, which holds its "
                     "own reference: the exit drops p's mapping, not the page.",
            "cache": "shmem pages count as cache, and s is still charged.",
        }),
        reference={"usage": 1, "cache": 1},
        solution="usage 1, cache 1. A tmpfs page has no backing file to be "
                 "written back to: it stays in the file's page cache (and "
                 "charged to A) until the file is deleted or truncated, or "
                 "reclaim moves it to swap. Exiting drops only the task's "
                 "mapping. This is why a full /dev/shm keeps a memcg's usage "
                 "up after all its processes are gone."),
    Exercise(
        "02", 3, "Truncating a page that is under I/O",
        counters(TRUNCATE_PINNED, 2, "A", {
            "usage": "truncate took f out of the page cache, but the I/O pin "
                     "still holds it: no final put yet, so still charged.",
            "cache": "cache counts charged non-anonymous pages, in the page "
                     "cache or not: f keeps counting until it is uncharged.",
        }),
        reference={"usage": 1, "cache": 1},
        solution="usage 1, cache 1. 3.16 uncharged here, in "
                 "`delete_from_page_cache()` via "
                 "`mem_cgroup_uncharge_cache_page()`. 3.17 removed that call: "
                 "removal from the page cache drops the cache's reference, "
                 "and the uncharge waits for the I/O pin's `put_page` at step 3."),
]
