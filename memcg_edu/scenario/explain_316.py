"""The 3.16 wording of explain_step: the design 0a31bc97c8 replaced.

Linux 3.16 mm/memcontrol.c charged in one go (mem_cgroup_charge_anon,
mem_cgroup_charge_file) and uncharged at type-specific events: the last
unmap of an anon page (page_remove_rmap), page cache deletion, swap cache
deletion (mem_cgroup_uncharge_swapcache) and the end of migration. Only the
ops whose story differs from 3.17 are here; the op registry
(memcg_edu.scenario.registry) gives the others their 3.17 text explicitly.
"""
from __future__ import annotations

__all__ = ["fault_anon", "add_to_page_cache", "fault_shmem", "unmap",
           "put_page", "truncate", "swap_out", "swap_in", "migrate",
           "replace_page_cache"]


def fault_anon(s, m, freed, swap_freed):
    return (f"The anonymous fault (do_anonymous_page) charges and commits the "
            f"page in one call, mem_cgroup_charge_anon: usage and memsw of {m} "
            f"+1, rss +1, pgpgin +1; the page goes on {m}'s active anon LRU.")


def add_to_page_cache(s, m, freed, swap_freed):
    return (f"Before inserting the page in the page cache, "
            f"add_to_page_cache_locked charges it with mem_cgroup_charge_file: "
            f"usage and memsw of {m} +1, counted as cache.")


def fault_shmem(s, m, freed, swap_freed):
    return (f"shmem_getpage_gfp charges the tmpfs page with "
            f"mem_cgroup_charge_file: usage and memsw of {m} +1, counted as "
            f"cache; being swap-backed it sits on the anon LRU.")


def unmap(s, m, freed, swap_freed):
    if freed:
        return ("In 3.16 the last unmap uncharges an anonymous page at once "
                "(page_remove_rmap -> mem_cgroup_uncharge_page), even if a pin "
                "still holds it and it stays on the LRU.")
    if swap_freed:
        return ("The last swap pte went away: swap_entry_free frees the slot and "
                "mem_cgroup_uncharge_swap gives back the memsw charge the slot "
                "held (swap -1).")
    return ("Nothing is uncharged: the page is still mapped, or is a page cache "
            "page (uncharged only when it leaves the cache), or was uncharged "
            "already.")


def put_page(s, m, freed, swap_freed):
    if freed:
        return ("The last reference went and the page was still charged, so it "
                "is uncharged now.")
    return ("Dropping the reference changes no counter: in 3.16 the page was "
            "uncharged when it was unmapped or left the page cache, or is "
            "still held.")


def truncate(s, m, freed, swap_freed):
    return ("In 3.16 deleting the page from the page cache uncharges it "
            "(delete_from_page_cache -> mem_cgroup_uncharge_cache_page), "
            "whoever else still holds it.")


def swap_out(s, m, freed, swap_freed):
    return ("When the written-out page leaves the swap cache, swapcache_free "
            "calls mem_cgroup_uncharge_swapcache (SWAPOUT): the memory charge "
            "goes (usage -1), the memsw charge stays with the swap record "
            "(swap +1).")


def swap_in(s, m, freed, swap_freed):
    return ("do_swap_page charges the memcg recorded for the slot with "
            "mem_cgroup_try_charge_swapin (usage and memsw +1), commits with "
            "mem_cgroup_commit_charge_swapin and, the page being still in the "
            "swap cache, drops the slot's duplicate memsw charge (memsw -1, "
            "swap -1).")


def migrate(s, m, freed, swap_freed):
    return ("mem_cgroup_prepare_migration commits the new page to the same "
            "memcg without charging it (rss or cache +1, pgpgin +1), and "
            "mem_cgroup_end_migration uncharges the old page's statistics "
            "(pgpgout +1). usage and memsw do not move.")


def replace_page_cache(s, m, freed, swap_freed):
    return ("mem_cgroup_replace_page_cache moves the old page's charge to the "
            "new page (it would BUG if the new page were still charged; in "
            "3.16 a page that left its page cache was uncharged already).")
