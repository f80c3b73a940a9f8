"""Invariants the explorer checks: after every step and after every
complete interleaving.

Ids follow docs/kernel-rules.md, "Invariants" (I2, I3, I4, I6, I7, I11) plus
two whole-design properties: "charged in use" (a page that is mapped or
in the page cache is charged, in both designs) and the step-level kernel
checks raised by the steps themselves (VM_BUG_ON, I8, res_counter
underflow, use-after-free). At OLD (3.16) and REL (3.17) the root memcg's
res/memsw counters are never charged, so I2/I3 apply to non-root memcgs
only (docs/kernel-rules.md, "Hierarchy").
"""
from __future__ import annotations

from .state import ROOT, World

__all__ = ["check_step", "check_final", "INVARIANT_WORDS", "invariant_words"]

#: each id the checks return, in words (what must hold)
INVARIANT_WORDS = {
    "I2": "a memcg's memory usage equals the charged pages in its subtree",
    "I3": "a memcg's memory+swap usage equals its charged pages plus its swap records",
    "I4": "the rss, cache and swap statistics match the pages and swap records",
    "I6": "a page on an LRU list sits on the lruvec of its pc->mem_cgroup",
    "I7": "an uncharged page on an LRU list sits on root's lruvec (3.17)",
    "I8": "a page reaches the page allocator uncharged",
    "I11": "swapped-out data keeps a swap_cgroup record, so memory+swap counts it",
    "VM_BUG_ON": "a kernel assertion (VM_BUG_ON) holds",
    "charged in use": "a page that is mapped or in the page cache is charged",
}


def invariant_words(key: str) -> str:
    """"I2 (a memcg's memory usage equals ...)" for an id, the key itself
    for a check already named in words ("res_counter underflow")."""
    words = INVARIANT_WORDS.get(key)
    return key if words is None or words == key else f"{key} ({words})"


def check_step(w: World) -> tuple[str, str] | None:
    """Invariants that must hold between any two steps."""
    for name, p in w.pages.items():
        if p["freed"] or p["lru"] is None:
            continue
        # I6: pc->mem_cgroup changes only while the page is off the LRU
        if p["lru"] != p["pc_memcg"]:
            return ("I6", f"page {name} sits on {p['lru']}'s lruvec but "
                          f"pc->mem_cgroup is {p['pc_memcg']}: the LRU code will "
                          f"unlink it from the wrong list")
        # I7 (3.17 only): an uncharged page on an LRU belongs to root
        if (w.design == "3.17" and "USED" not in p["pc_flags"]
                and p["lru"] != ROOT):
            return ("I7", f"uncharged page {name} is left on {p['lru']}'s lruvec "
                          f"(3.17 keeps uncharged LRU pages on root's)")
    return None


def _subtree(w: World, memcg: str) -> set[str]:
    return {m for m in w.memcgs if memcg in w.ancestors(m)}


def check_final(w: World) -> tuple[str, str] | None:
    """Invariants of a quiescent state (every path finished)."""
    flags_mem = "MEM" if w.design == "3.17" else "USED"
    flags_memsw = "MEMSW" if w.design == "3.17" else "USED"
    live = {n: p for n, p in w.pages.items() if not p["freed"]}
    for name, p in live.items():
        if (p["map"] > 0 or p["cache"]) and "USED" not in p["pc_flags"]:
            return ("charged in use", f"page {name} is "
                    f"{'mapped' if p['map'] else 'in the page cache'} "
                    "but not charged to any memcg")
    for m, c in w.memcgs.items():
        if m == ROOT:
            continue
        sub = _subtree(w, m)
        pages_res = sum(1 for p in live.values() if "USED" in p["pc_flags"]
                        and flags_mem in p["pc_flags"] and p["pc_memcg"] in sub)
        pages_memsw = sum(1 for p in live.values() if "USED" in p["pc_flags"]
                          and flags_memsw in p["pc_flags"] and p["pc_memcg"] in sub)
        records = sum(1 for s in w.slots.values() if s["record"] in sub)
        if c["res"] != pages_res:
            return ("I2", f"{m}: memory usage {c['res']} but {pages_res} "
                          "charged page(s) in its subtree")
        if c["memsw"] != pages_memsw + records:
            return ("I3", f"{m}: memory+swap usage {c['memsw']} but "
                          f"{pages_memsw} charged page(s) + {records} swap "
                          "record(s) in its subtree")
    for m, c in w.memcgs.items():
        for stat, anon in (("rss", True), ("cache", False)):
            n = sum(1 for p in live.values() if "USED" in p["pc_flags"]
                    and p["pc_memcg"] == m and p["anon"] == anon)
            if c[stat] != n:
                return ("I4", f"{m}: {stat} statistic {c[stat]} but {n} charged "
                              f"{'anon' if anon else 'file/shmem'} page(s)")
        nswap = sum(1 for s in w.slots.values() if s["record"] == m)
        if c["swap"] != nswap:
            return ("I4", f"{m}: swap statistic {c['swap']} but {nswap} swap record(s)")
    for slot, s in w.slots.items():
        # I11: swapped-out data still counts against memory+swap
        if s["count"] > 0 and s["cache"] is None and s["record"] is None:
            return ("I11", f"swap slot {slot} holds swapped-out data but carries "
                           "no swap_cgroup record: memory+swap no longer counts it")
    return None
