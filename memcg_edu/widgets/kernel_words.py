"""Kernel function names in plain words, for the step player and the explorer.

The names are those of mm/memcontrol.c, mm/swap.c, mm/vmscan.c, mm/migrate.c,
mm/filemap.c, mm/swapfile.c and mm/page_cgroup.c in Linux 3.17 and 3.16 (the
functions a step record lists in "events"); the words are ours.
"""
from __future__ import annotations

from typing import Any, Iterable, Mapping

from ..scenario.registry import REGISTRY

__all__ = ["FUNCTION_WORDS", "OP_WORDS", "MACHINE_OP_WORDS", "MM_OPERATIONS",
           "function_words", "function_items", "describe_function",
           "describe_functions", "describe_op", "event_functions",
           "step_functions"]

FUNCTION_WORDS = {
    # 3.17 charge API (mm/memcontrol.c)
    "mem_cgroup_try_charge": "reserves the page on the memcg's usage and memsw "
                             "counters (reclaims, or fails with OOM, at the limit)",
    "try_charge": "charges the res and memsw counters, reclaiming at the limit",
    "mem_cgroup_commit_charge": "binds the reserved charge to the page: sets "
                                "pc->mem_cgroup and PCG_USED|PCG_MEM|PCG_MEMSW, "
                                "counts rss or cache",
    "commit_charge": "writes pc->mem_cgroup and the PCG flags of the page",
    "mem_cgroup_cancel_charge": "gives an unused reservation back",
    "cancel_charge": "gives an unused reservation back",
    # 3.17 uncharge API
    "mem_cgroup_uncharge": "at the final put (refcount 0, off the LRU) gives "
                           "back the page's charge",
    "mem_cgroup_uncharge_list": "gives back the charges of a list of freed pages",
    "uncharge_list": "gives back the charges of a list of freed pages",
    "uncharge_batch": "subtracts a batch of uncharged pages from one memcg",
    "mem_cgroup_migrate": "moves the charge from the old page to its "
                          "replacement; no counter changes",
    "mem_cgroup_swapout": "hands the page's memsw charge to its swap slot "
                          "(swap_cgroup_record, swap +1)",
    "mem_cgroup_uncharge_swap": "frees a swap slot's memsw charge and clears "
                                "its swap_cgroup record (swap -1)",
    "swap_cgroup_record": "writes which memcg a swap slot's charge belongs to",
    "mem_cgroup_page_lruvec": "finds the LRU lists a page belongs on (re-points "
                              "an uncharged page at root)",
    "lock_page_lru": "takes the page off its LRU under zone->lru_lock before "
                     "its page_cgroup changes",
    "unlock_page_lru": "puts the page back on the LRU of its (new) memcg",
    "mem_cgroup_move_account": "moves a page's charge and statistics to another memcg",
    "mem_cgroup_oom": "records a memcg OOM: the charge could not be made even "
                      "after reclaim",
    "mem_cgroup_reclaim": "reclaims pages of the memcg to make room under its limit",
    "try_to_free_mem_cgroup_pages": "reclaims pages of the memcg to make room "
                                    "under its limit",
    "res_counter_charge": "adds pages to a res_counter, failing above the limit",
    "res_counter_uncharge": "subtracts pages from a res_counter",
    "mem_cgroup_resize_limit": "sets memory.limit_in_bytes, reclaiming first",
    "mem_cgroup_resize_memsw_limit": "sets memory.memsw.limit_in_bytes, reclaiming first",
    # 3.16 API
    "mem_cgroup_charge_anon": "3.16: charges a new anonymous page in one go",
    "mem_cgroup_charge_file": "3.16: charges a page-cache page in one go",
    "mem_cgroup_try_charge_swapin": "3.16: reserves the charge of a swap-in",
    "mem_cgroup_commit_charge_swapin": "3.16: binds a swap-in charge, dropping "
                                       "the slot's duplicate memsw charge",
    "mem_cgroup_cancel_charge_swapin": "3.16: gives a swap-in reservation back",
    "__mem_cgroup_commit_charge": "3.16: binds a charge under lock_page_cgroup",
    "mem_cgroup_uncharge_page": "3.16: uncharges an anon page at its last unmap "
                                "(not if it is in the swap cache)",
    "mem_cgroup_uncharge_cache_page": "3.16: uncharges a page leaving the page cache",
    "mem_cgroup_uncharge_swapcache": "3.16: at swap-cache deletion decides whether "
                                     "to keep, move to swap or drop the charge",
    "__mem_cgroup_uncharge_common": "3.16: the shared uncharge path and its guards",
    "mem_cgroup_prepare_migration": "3.16: commits the new page without a counter "
                                    "charge and marks the old one PCG_MIGRATION",
    "mem_cgroup_end_migration": "3.16: uncharges whichever page did not survive "
                                "the migration",
    "mem_cgroup_replace_page_cache": "3.16: moves a page-cache charge to a "
                                     "replacement page",
    "lock_page_cgroup": "3.16: takes the page_cgroup bit spinlock (PCG_LOCK)",
    "unlock_page_cgroup": "3.16: releases the page_cgroup bit spinlock",
    # mm callers
    "do_anonymous_page": "the anonymous page fault",
    "do_swap_page": "the swap-in page fault",
    "do_wp_page": "the copy-on-write fault",
    "__add_to_page_cache_locked": "inserts a page into the page cache",
    "add_to_page_cache_lru": "inserts a page into the page cache and its LRU",
    "shmem_getpage_gfp": "finds or creates a tmpfs page",
    "page_remove_rmap": "drops one mapping of a page",
    "put_page": "drops one reference to a page",
    "__page_cache_release": "final put: takes the page off its LRU before freeing",
    "release_pages": "drops references to many pages, freeing those at zero",
    "delete_from_page_cache": "removes a page from the page cache",
    "__remove_mapping": "reclaim: detaches a page from page cache or swap cache",
    "shrink_page_list": "reclaim: frees the pages it could detach",
    "add_to_swap": "reclaim: gives an anon page a swap slot and the swap cache",
    "delete_from_swap_cache": "removes a page from the swap cache",
    "swapcache_free": "drops the swap cache's hold on a slot",
    "swap_free": "drops one pte's hold on a swap slot",
    "swap_entry_free": "frees a swap slot nobody holds any more",
    "try_to_free_swap": "frees the swap copy of a page that is back in memory",
    "migrate_pages": "migrates pages to new frames",
    "move_to_new_page": "migration: moves mapping and contents to the new page",
    "__unmap_and_move": "migration of one page: lock, unmap, move, remap",
    "replace_page_cache_page": "replaces a page in the page cache (fuse splice)",
    "isolate_lru_page": "takes a page off its LRU list",
    "putback_lru_page": "puts an isolated page back on an LRU list",
    "lru_cache_add": "queues a page for its LRU list",
    "free_pages_prepare": "the page goes back to the page allocator",
    # the rest of the call log (memcg_edu.model.calls.KERNEL_FUNCTIONS)
    "do_set_pte": "a file fault maps the page into the task",
    "zap_pte_range": "clears the task's ptes, dropping each page's mapping",
    "unmap_mapping_range": "unmaps a file page from every task that maps it",
    "copy_one_pte": "fork copies a pte: one more mapping of the page or swap entry",
    "tlb_flush_mmu": "after the TLB flush, frees the pages the unmap gathered",
    "exit_mmap": "the exiting task's whole address space is unmapped",
    "alloc_zeroed_user_highpage_movable": "allocates a zeroed page for the fault",
    "alloc_pages": "allocates a page frame (refcount 1)",
    "get_page": "takes one more reference to the page",
    "put_page_testzero": "drops a reference and tests whether it was the last",
    "page_cache_get": "the page cache takes its reference",
    "trylock_page": "takes the page lock if it is free",
    "free_hot_cold_page": "gives the frame back to the page allocator",
    "free_hot_cold_page_list": "gives a list of frames back to the page allocator",
    "__put_single_page": "frees a page whose last reference is gone",
    "del_page_from_lru_list": "unlinks the page from its lruvec's list",
    "lru_cache_add_anon": "queues a swap-backed page for the anon LRU",
    "lru_cache_add_file": "queues a page-cache page for the file LRU",
    "lru_cache_add_active_or_unevictable": "queues a new anon page for the "
                                           "active list (or unevictable)",
    "__pagevec_lru_add_fn": "links the page on the list of the lruvec "
                            "mem_cgroup_page_lruvec chose, sets PG_lru",
    "__delete_from_page_cache": "unlinks the page from its file's page cache",
    "lock_page": "takes the page lock (PG_locked)",
    "unlock_page": "releases the page lock",
    "find_get_page": "looks the page up and takes a reference",
    "shmem_add_to_page_cache": "inserts a tmpfs page into its file",
    "shmem_writepage": "moves a tmpfs page from its file to the swap cache",
    "shmem_free_swap": "truncation frees a tmpfs file's swap entry",
    "page_add_new_anon_rmap": "maps a new anonymous page (mapcount 1)",
    "do_page_add_anon_rmap": "maps a swapped-in anonymous page again",
    "page_add_anon_rmap": "one more mapping of an anonymous page",
    "page_dup_rmap": "fork: one more mapping of the page",
    "page_add_file_rmap": "one more mapping of a file page (FILE_MAPPED at the first)",
    "try_to_unmap": "removes every pte that maps the page",
    "truncate_inode_page": "truncation removes one page from the page cache",
    "__add_to_swap_cache": "the swap cache takes the page (PG_swapcache)",
    "__delete_from_swap_cache": "unlinks the page from the swap cache",
    "free_pages_and_swap_cache": "drops unmapped pages' swap cache, then "
                                 "releases the pages",
    "free_swap_cache": "drops the swap cache of a page nobody maps",
    "lookup_swap_cache": "finds the page of a swap slot in the swap cache",
    "read_swap_cache_async": "reads a swap slot into a new swap-cache page",
    "get_swap_page": "allocates a free swap slot",
    "swap_duplicate": "one more reference to a swap slot",
    "free_swap_and_cache": "a swap pte goes: drops its slot reference",
    "shrink_lruvec": "reclaim scans one memcg's LRU lists",
    "shrink_inactive_list": "reclaim isolates inactive pages and tries to free them",
    "shrink_active_list": "reclaim ages active pages onto the inactive list",
    "__isolate_lru_page": "reclaim takes a page off its LRU with a reference",
    "putback_inactive_pages": "reclaim puts back the pages it could not free",
    "move_active_pages_to_lru": "reclaim relinks the pages it aged",
    "pageout": "writes the page out (the model's I/O completes at once)",
    "unmap_and_move": "migrates one page: new page, move, put both back",
    "migrate_page_move_mapping": "moves the page cache or swap cache slot to "
                                 "the new page (fails if others hold references)",
    "migrate_page_copy": "copies the contents and flags to the new page",
    "remove_migration_ptes": "maps the new page where the old one was mapped",
    "fuse_try_move_page": "fuse splice moves a pipe page into the page cache",
    "mem_cgroup_charge_statistics": "counts the page in rss or cache, one "
                                    "pgpgin or pgpgout",
    "mem_cgroup_update_page_stat": "counts a mapped file page in mapped_file",
    "mem_cgroup_can_attach": "before a task moves: counts and precharges what "
                             "will move with it",
    "mem_cgroup_do_precharge": "charges the destination memcg in advance",
    "mem_cgroup_move_task": "after the task moved: moves its charges",
    "mem_cgroup_move_charge": "walks the task's page tables to move charges",
    "mem_cgroup_move_charge_pte_range": "moves the charge of each page and "
                                        "swap entry of a pte range",
    "mem_cgroup_move_swap_account": "moves a swap slot's record to another memcg",
    "mem_cgroup_clear_mc": "ends a charge move",
    "__mem_cgroup_clear_mc": "gives back unused precharges and settles the "
                             "moved charges",
    "mem_cgroup_css_offline": "rmdir: the memcg's pages go to its parent",
    "drain_all_stock": "gives the per-CPU stocked charges back",
    "__mem_cgroup_cancel_charge": "3.16: gives an unused charge back",
    "try_get_mem_cgroup_from_page": "3.16: the memcg of a page or of its swap record",
    "mem_cgroup_do_uncharge": "3.16: uncharges now or into the open batch",
    "mem_cgroup_uncharge_start": "3.16: opens a batch of uncharges",
    "mem_cgroup_uncharge_end": "3.16: closes the batch, giving its pages back",
}

#: mm operations of the Machine that no scenario op is named after (the
#: live lab's phases and Machine.free_swap), in words
MACHINE_OP_WORDS = {
    "remove_from_page_cache": "the page leaves the page cache",
    "free_swap": "the swap slot is freed",
}
#: each scenario op (and the Machine operation the event log names it by) in
#: words, from the op registry
OP_WORDS = {**{n: o.words for o in REGISTRY.values() for n in (o.name, o.machine_op)},
            **MACHINE_OP_WORDS}
#: names the event log records for mm operations, not kernel functions
MM_OPERATIONS = frozenset(o.machine_op for o in REGISTRY.values()) | frozenset(
    MACHINE_OP_WORDS) | frozenset({"fault_anon_range", "unmap_range",
                                   "remove_memcg", "drain_stock"})


def function_words(name: str) -> str:
    """What ``name`` does, in words ("" when we have none)."""
    words = FUNCTION_WORDS.get(name)
    if words is None and name in OP_WORDS:   # the model logs its mm operation too
        words = f"the mm operation: {OP_WORDS[name]}"
    return words or ""


def describe_function(name: str) -> str:
    """``name`` followed by what it does, or the bare name when we have no words."""
    words = function_words(name)
    return f"{name}: {words}" if words else name


def function_items(names: Iterable[str]) -> list[tuple[str, str, int]]:
    """(name, words, times called) for each distinct function, in call order."""
    counts: dict[str, int] = {}
    for n in names:
        counts[n] = counts.get(n, 0) + 1
    return [(n, function_words(n), c) for n, c in counts.items()]


def describe_functions(names: Iterable[str]) -> list[str]:
    """Each distinct function in call order, described (repeats are counted)."""
    return [describe_function(n) + (f" (x{c})" if c > 1 else "")
            for n, _, c in function_items(names)]


def event_functions(events: Iterable[Any] | None) -> list[str]:
    """The kernel function names of a step record's ``events`` (dicts or bare
    names), in order; the mm operations the event log also records
    (fault_anon, unmap, get_page, swap_out, ...) are the step's op, not
    kernel functions, and are left out."""
    names = [str(e.get("function", "")) if isinstance(e, Mapping) else str(e)
             for e in events or ()]
    return [n for n in names if n not in MM_OPERATIONS]


def step_functions(record: Mapping[str, Any]) -> list[str]:
    """The kernel functions a step called, in call order: its recorded
    "calls" when it has them, else the functions of its "events"."""
    calls = record.get("calls")
    if calls is not None:
        return [c["fn"] for c in calls]
    return event_functions(record.get("events"))


def describe_op(op: str) -> str:
    """The scenario operation in words."""
    return OP_WORDS.get(op, op.replace("_", " "))
