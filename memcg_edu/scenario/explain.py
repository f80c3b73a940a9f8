"""Plain-words explanations of a step: which kernel path ran, what memcg did.

Used by the quiz (--solve) and the predict-then-reveal widgets. The texts
follow Linux 3.17 (mm/memcontrol.c after "mm: memcontrol: rewrite uncharge
API"): charges at fault / page cache insertion, transfer at migration, memsw
moved to the swap slot at swap-out, uncharge only at the final put.
"""
from __future__ import annotations

from typing import Any, Mapping

from .explain_316 import TEXT_316

__all__ = ["explain_step", "counter_moves"]

_SHOWN = (("usage", "usage"), ("memsw_usage", "memsw"))


def counter_moves(rec: Mapping[str, Any], prev: Mapping[str, Any] | None) -> str:
    """'A: usage 0->1, memsw 0->1, swap 0' for every memcg in the record."""
    parts = []
    for name, now in rec["memcgs"].items():
        before = (prev or {}).get("memcgs", {}).get(name, now)
        bits = []
        for key, label in _SHOWN:
            a, b = before[key], now[key]
            bits.append(f"{label} {a}->{b}" if a != b else f"{label} {b}")
        a, b = before["stat"]["swap"], now["stat"]["swap"]
        bits.append(f"swap {a}->{b}" if a != b else f"swap {b}")
        parts.append(f"{name}: " + ", ".join(bits))
    return "; ".join(parts)


def _delta(rec, prev, key: str) -> int:
    total = 0
    for name, now in rec["memcgs"].items():
        before = (prev or {}).get("memcgs", {}).get(name)
        if before is not None:
            total += (now["stat"][key] if key in now["stat"] else now[key]) - (
                before["stat"][key] if key in before["stat"] else before[key])
    return total


def explain_step(step: Mapping[str, Any], rec: Mapping[str, Any],
                 prev: Mapping[str, Any] | None, memcg: str,
                 design: str = "3.17") -> str:
    """Why the counters moved (or did not) at this step, in plain words.

    ``memcg`` names the memcg of the task that acted, for the wording;
    ``design`` "3.16" tells the story of the old design (explain_316).
    """
    op = step["op"]
    oom = "".join(_oom_killed(o) for o in rec.get("oom") or ()
                  if o["outcome"] == "retried")
    if not rec["ok"]:
        return (f"{oom}The step failed: {rec['error']}. "
                + counter_moves(rec, prev) + ".")
    freed = _delta(rec, prev, "usage") < 0
    swap_freed = _delta(rec, prev, "memsw_usage") < 0
    texts = TEXT_316 if design == "3.16" and op in TEXT_316 else _TEXT
    text = texts[op](step, memcg, freed, swap_freed)
    return f"{oom}{text} Counters: {counter_moves(rec, prev)}."


def _oom_killed(o: Mapping[str, Any]) -> str:
    """What the memcg OOM killer did before a fault was retried."""
    return (f"The charge hit {o['memcg']}'s limit and reclaim could not make "
            f"room, so at the end of the page fault the memcg OOM killer ran "
            f"(mem_cgroup_oom_synchronize -> mem_cgroup_out_of_memory): it "
            f"killed task {o['victim']}, the task in {o['memcg']} with the "
            f"highest badness ({o['badness']} pages resident or on swap). Its "
            f"mappings and swap entries went as at exit, then the fault was "
            f"retried and this time the charge fit. ")


def _fault_anon(s, m, freed, swap_freed):
    return (f"The anonymous fault (do_anonymous_page) reserves the page with "
            f"mem_cgroup_try_charge, which raises usage and memsw of {m}, then "
            f"binds it with mem_cgroup_commit_charge (rss +1, pgpgin +1); the "
            f"page goes on {m}'s active anon LRU.")


def _add_to_page_cache(s, m, freed, swap_freed):
    return (f"Reading the file adds the page to the page cache "
            f"(__add_to_page_cache_locked): try_charge raises usage and memsw "
            f"of {m}, commit_charge counts it as cache; add_to_page_cache_lru "
            f"puts it on {m}'s file LRU.")


def _fault_shmem(s, m, freed, swap_freed):
    return (f"A tmpfs page (shmem_getpage_gfp) is charged like page cache: "
            f"usage and memsw of {m} +1, counted as cache; being swap-backed "
            f"it sits on the anon LRU.")


def _map(s, m, freed, swap_freed):
    return ("Mapping an existing page raises its mapcount and refcount only; "
            "memcg charges pages, not mappings, so no counter moves.")


def _still_held(kind: str) -> str:
    return (f"The page is still referenced, so nothing is uncharged: since "
            f"Linux 3.17 the charge goes only at the final put ({kind}).")


_FINAL_PUT = ("That dropped the last reference: the final put takes the page "
              "off its LRU and mem_cgroup_uncharge gives back its charge "
              "(usage and memsw -1, pgpgout +1).")


def _unmap(s, m, freed, swap_freed):
    if freed:
        return _FINAL_PUT
    if swap_freed:
        return ("The last swap pte went away: swap_entry_free frees the slot and "
                "mem_cgroup_uncharge_swap gives back the memsw charge the slot "
                "held (swap -1).")
    return _still_held("another mapping, a pin or the page cache holds it")


def _get_page(s, m, freed, swap_freed):
    return ("get_page takes an extra reference, as an I/O in flight does; memcg "
            "does not notice.")


def _put_page(s, m, freed, swap_freed):
    return _FINAL_PUT if freed else _still_held("other references remain")


def _truncate(s, m, freed, swap_freed):
    if freed:
        return ("Truncation unmaps the page and deletes it from the page cache; "
                "nothing else holds it, so it is freed and mem_cgroup_uncharge "
                "runs at that final put.")
    return ("Truncation deletes the page from the page cache, but a reference "
            "remains, so in 3.17 it stays charged until the final put (3.16 "
            "uncharged it right here, in delete_from_page_cache).")


def _swap_out(s, m, freed, swap_freed):
    if not freed:
        return ("Reclaim put the page in the swap cache and unmapped it, but "
                "someone else still holds a reference, so __remove_mapping "
                "cannot free it: it stays in memory, fully charged, and "
                "mem_cgroup_swapout is not called.")
    return ("Reclaim writes the page to a swap slot; __remove_mapping calls "
            "mem_cgroup_swapout, which hands the memsw half of the charge to "
            "the slot (swap_cgroup_record, swap +1), and the final put "
            "uncharges only the memory half: usage -1, memsw unchanged.")


def _swap_in(s, m, freed, swap_freed):
    return ("The swap-in fault reads the page into the swap cache, try_charge "
            "charges the memcg recorded for the slot (usage and memsw +1), and "
            "commit_charge with lrucare moves it from root's LRU to the memcg's; "
            "as the page is still in the swap cache, the slot's duplicate memsw "
            "charge is dropped at once (memsw -1, swap -1).")


def _migrate(s, m, freed, swap_freed):
    return ("Migration isolates the page, copies it to a new frame and calls "
            "mem_cgroup_migrate, which transfers the charge: the old "
            "page_cgroup is cleared and the new page committed to the same "
            "memcg. No counter moves; the old frame is freed with nothing to "
            "uncharge.")


def _replace(s, m, freed, swap_freed):
    if "with" in s:
        return ("The new page is already charged (PCG_USED), so "
                "mem_cgroup_migrate returns early: both pages keep their own "
                "charges, and the old page is uncharged when it is freed.")
    return ("replace_page_cache_page calls mem_cgroup_migrate (lrucare) to hand "
            "the charge to the new page, but 3.17.0 reads pc->mem_cgroup only "
            "after unlock_page_lru has put the old, now uncharged page back on "
            "root's lruvec: the new page is charged to root, and the old page's "
            "memcg keeps a charge no page holds. No counter moves.")


def _reclaim(s, m, freed, swap_freed):
    return ("Reclaim from the memcg drops clean file pages and swaps out anon "
            "and shmem pages; each freed page is uncharged at its final put, and "
            "a swapped page leaves its memsw charge with the swap slot.")


def _set_limit(s, m, freed, swap_freed):
    return ("Setting a limit below usage makes the kernel reclaim first "
            "(mem_cgroup_resize_limit); the limit is refused if reclaim cannot "
            "get usage under it.")


def _move_task(s, m, freed, swap_freed):
    if s.get("move_charge"):
        return ("With move_charge_at_immigrate the task's pages and swap entries "
                "follow it: mem_cgroup_move_account re-points each page's "
                "page_cgroup and moves the statistics to the new memcg.")
    return ("Without move_charge the task moves alone: its pages stay charged "
            "to the memcg that charged them; only new charges go to the new one.")


def _exit(s, m, freed, swap_freed):
    return ("At exit every mapping goes (zap_pte_range, release_pages) and every "
            "swap entry the task held is freed; pages nobody else holds are "
            "uncharged at their final put.")


def _expect(s, m, freed, swap_freed):
    return "An expect step only checks counters."


_TEXT = {"fault_anon": _fault_anon, "add_to_page_cache": _add_to_page_cache,
         "fault_shmem": _fault_shmem, "map": _map, "unmap": _unmap,
         "get_page": _get_page, "put_page": _put_page, "truncate": _truncate,
         "swap_out": _swap_out, "swap_in": _swap_in, "migrate": _migrate,
         "replace_page_cache": _replace, "reclaim": _reclaim,
         "set_limit": _set_limit, "move_task": _move_task, "exit": _exit,
         "expect": _expect}
