"""The 3.17 wording of a step's story, per op: the kernel path in plain words.

Linux 3.17 (mm/memcontrol.c after "mm: memcontrol: rewrite uncharge API"):
charges at fault / page cache insertion, transfer at migration, memsw moved
to the swap slot at swap-out, uncharge only at the final put. Each function
takes (step, memcg of the acting task, freed, swap_freed) and returns
sentences; the op registry (memcg_edu.scenario.registry) names which one
each op uses, and explain_step adds what the recorded calls show.
"""
from __future__ import annotations

__all__ = ["fault_anon", "add_to_page_cache", "fault_shmem", "map_page",
           "unmap", "get_page", "put_page", "truncate", "swap_out", "swap_in",
           "migrate", "replace_page_cache", "reclaim", "set_limit",
           "move_task", "exit_task", "expect"]


def fault_anon(s, m, freed, swap_freed):
    return (f"The anonymous fault (do_anonymous_page) reserves the page with "
            f"mem_cgroup_try_charge, which raises usage and memsw of {m}, then "
            f"binds it with mem_cgroup_commit_charge (rss +1, pgpgin +1); the "
            f"page goes on {m}'s active anon LRU.")


def add_to_page_cache(s, m, freed, swap_freed):
    return (f"Reading the file adds the page to the page cache "
            f"(__add_to_page_cache_locked): try_charge raises usage and memsw "
            f"of {m}, commit_charge counts it as cache; add_to_page_cache_lru "
            f"puts it on {m}'s file LRU.")


def fault_shmem(s, m, freed, swap_freed):
    return (f"A tmpfs page (shmem_getpage_gfp) is charged like page cache: "
            f"usage and memsw of {m} +1, counted as cache; being swap-backed "
            f"it sits on the anon LRU.")


def map_page(s, m, freed, swap_freed):
    return ("Mapping an existing page raises its mapcount and refcount only; "
            "memcg charges pages, not mappings, so no counter moves.")


def _still_held(kind: str) -> str:
    return (f"The page is still referenced, so nothing is uncharged: since "
            f"Linux 3.17 the charge goes only at the final put ({kind}).")


_FINAL_PUT = ("That dropped the last reference: the final put takes the page "
              "off its LRU and mem_cgroup_uncharge gives back its charge "
              "(usage and memsw -1, pgpgout +1).")

#: an unmap's final put: zap_pte_range gathers the pages, release_pages
#: (mm/swap.c) frees them and uncharges them as a list
_FINAL_PUT_LIST = ("That dropped the last reference: release_pages takes the page "
                   "off its LRU and mem_cgroup_uncharge_list gives back its charge "
                   "(usage and memsw -1, pgpgout +1).")


def unmap(s, m, freed, swap_freed):
    if freed:
        return _FINAL_PUT_LIST
    if swap_freed:
        return ("The last swap pte went away: swap_entry_free frees the slot and "
                "mem_cgroup_uncharge_swap gives back the memsw charge the slot "
                "held (swap -1).")
    return _still_held("another mapping, a pin or the page cache holds it")


def get_page(s, m, freed, swap_freed):
    return ("get_page takes an extra reference, as an I/O in flight does; memcg "
            "does not notice.")


def put_page(s, m, freed, swap_freed):
    return _FINAL_PUT if freed else _still_held("other references remain")


def truncate(s, m, freed, swap_freed):
    if freed:
        return ("Truncation unmaps the page and deletes it from the page cache; "
                "nothing else holds it, so it is freed and mem_cgroup_uncharge "
                "runs at that final put.")
    return ("Truncation deletes the page from the page cache, but a reference "
            "remains, so in 3.17 it stays charged until the final put (3.16 "
            "uncharged it right here, in delete_from_page_cache).")


def swap_out(s, m, freed, swap_freed):
    if not freed:
        return ("Reclaim put the page in the swap cache and unmapped it, but "
                "someone else still holds a reference, so __remove_mapping "
                "cannot free it: it stays in memory, fully charged, and "
                "mem_cgroup_swapout is not called.")
    return ("Reclaim writes the page to a swap slot; __remove_mapping calls "
            "mem_cgroup_swapout, which hands the memsw half of the charge to "
            "the slot (swap_cgroup_record, swap +1), and the final put "
            "uncharges only the memory half: usage -1, memsw unchanged.")


def swap_in(s, m, freed, swap_freed):
    return ("The swap-in fault reads the page into the swap cache, try_charge "
            "charges the memcg recorded for the slot (usage and memsw +1), and "
            "commit_charge with lrucare moves it from root's LRU to the memcg's; "
            "as the page is still in the swap cache, the slot's duplicate memsw "
            "charge is dropped at once (memsw -1, swap -1).")


def migrate(s, m, freed, swap_freed):
    return ("Migration isolates the page, copies it to a new frame and calls "
            "mem_cgroup_migrate, which transfers the charge: the old "
            "page_cgroup is cleared and the new page committed to the same "
            "memcg. No counter moves; the old frame is freed with nothing to "
            "uncharge.")


def replace_page_cache(s, m, freed, swap_freed):
    if "with" in s:
        return ("The new page is already charged (PCG_USED), so "
                "mem_cgroup_migrate returns early: both pages keep their own "
                "charges, and the old page is uncharged when it is freed.")
    return ("replace_page_cache_page calls mem_cgroup_migrate (lrucare) to hand "
            "the charge to the new page, but 3.17.0 reads pc->mem_cgroup only "
            "after unlock_page_lru has put the old, now uncharged page back on "
            "root's lruvec: the new page is charged to root, and the old page's "
            "memcg keeps a charge no page holds. No counter moves.")


def reclaim(s, m, freed, swap_freed):
    return ("Reclaim from the memcg drops clean file pages and swaps out anon "
            "and shmem pages; each freed page is uncharged at its final put, and "
            "a swapped page leaves its memsw charge with the swap slot.")


def set_limit(s, m, freed, swap_freed):
    return ("Setting a limit below usage makes the kernel reclaim first "
            "(mem_cgroup_resize_limit); the limit is refused if reclaim cannot "
            "get usage under it.")


def move_task(s, m, freed, swap_freed):
    if s.get("move_charge"):
        return ("With move_charge_at_immigrate the task's pages and swap entries "
                "follow it: mem_cgroup_move_account re-points each page's "
                "page_cgroup and moves the statistics to the new memcg.")
    return ("Without move_charge the task moves alone: its pages stay charged "
            "to the memcg that charged them; only new charges go to the new one.")


def exit_task(s, m, freed, swap_freed):
    return ("At exit every mapping goes (zap_pte_range, release_pages) and every "
            "swap entry the task held is freed; pages nobody else holds are "
            "uncharged at their final put.")


def expect(s, m, freed, swap_freed):
    return "An expect step only checks counters."
