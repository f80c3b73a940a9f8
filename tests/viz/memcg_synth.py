"""Synthetic timelines that follow the contract of docs/architecture.md.

A tiny hand-made "machine" (not the model): enough to give the plots and
widgets step records with counters, events, "detail" and "pages" whose
numbers are known in advance, so tests can assert on what is shown.
"""
from __future__ import annotations

import copy

from memcg_edu.timeline import Timeline

PCG_3_17 = {"1": "PCG_USED", "2": "PCG_MEM", "4": "PCG_MEMSW"}
NAMES = ["root", "A", "B"]


def _memcg(limit=None, memsw_limit=None):
    return {"usage": 0, "memsw_usage": 0, "max_usage": 0, "memsw_max_usage": 0,
            "failcnt": 0, "memsw_failcnt": 0, "limit": limit, "memsw_limit": memsw_limit,
            "stat": {k: 0 for k in ("cache", "rss", "rss_huge", "mapped_file", "swap",
                                    "pgpgin", "pgpgout", "inactive_anon", "active_anon",
                                    "inactive_file", "active_file", "unevictable")}}


def _pages(n_pages, n_slots):
    z = [0] * n_pages
    return {"refcount": list(z), "mapcount": list(z), "free": [True] * n_pages,
            "anon": [False] * n_pages, "swapbacked": [False] * n_pages,
            "swapcache": [False] * n_pages, "locked": [False] * n_pages,
            "lru_flag": [False] * n_pages, "active": [False] * n_pages,
            "unevictable": [False] * n_pages, "lru": [-1] * n_pages,
            "lru_memcg": [-1] * n_pages, "pc_flags": list(z), "pc_memcg": [-1] * n_pages,
            "swap_entry": [-1] * n_pages, "swap_count": [0] * n_slots,
            "swap_cache": [False] * n_slots, "swap_cgroup": [-1] * n_slots,
            "memcg_names": list(NAMES), "pcg_flag_names": dict(PCG_3_17)}


class Fake:
    """Keeps counters and page arrays; each op appends one step record."""

    def __init__(self, n_pages=16, n_slots=8, limit_a=4, with_pages=True):
        self.m = {"A": _memcg(limit_a, limit_a + 4), "B": _memcg()}
        self.p = _pages(n_pages, n_slots)
        self.with_pages = with_pages
        self.tl = Timeline(meta={"source": "model", "design": "3.17", "title": "synthetic"})
        self.labels = {}

    def _rec(self, op, events, touched=(), error=None):
        rec = {"op": op, "ok": error is None, "error": error, "events": list(events),
               "memcgs": copy.deepcopy(self.m),
               "detail": {"labels": copy.deepcopy(self.labels), "touched": list(touched)}}
        if self.with_pages:
            rec["pages"] = copy.deepcopy(self.p)
        self.tl.append(rec)

    def _charge(self, name, n=1):
        c = self.m[name]
        c["usage"] += n
        c["memsw_usage"] += n
        c["max_usage"] = max(c["max_usage"], c["usage"])
        c["memsw_max_usage"] = max(c["memsw_max_usage"], c["memsw_usage"])

    def fault_anon(self, name, label):
        c = self.m[name]
        if c["limit"] is not None and c["usage"] + 1 > c["limit"]:
            c["failcnt"] += 1
            self._rec("fault_anon", ["mem_cgroup_try_charge"],
                      error=f"memcg OOM: 1 page(s) could not be charged, memory limit "
                            f"of {name} reached and reclaim could not make room")
            return None
        pfn = self.p["free"].index(True)
        p = self.p
        p["free"][pfn] = False
        p["anon"][pfn] = p["swapbacked"][pfn] = p["lru_flag"][pfn] = True
        p["refcount"][pfn] = p["mapcount"][pfn] = 1
        p["lru"][pfn] = 1
        p["lru_memcg"][pfn] = p["pc_memcg"][pfn] = NAMES.index(name)
        p["pc_flags"][pfn] = 7
        self._charge(name)
        c["stat"]["rss"] += 1
        c["stat"]["active_anon"] += 1
        c["stat"]["pgpgin"] += 1
        self.labels[label] = {"pfn": pfn}
        self._rec("fault_anon", ["mem_cgroup_try_charge", "mem_cgroup_commit_charge"], [pfn])
        return pfn

    def _free_anon(self, pfn):
        """Uncharge an active anon page's memory (usage, rss) and free its frame;
        returns its memcg's name (memsw is the caller's: swap keeps it)."""
        p = self.p
        name = NAMES[p["pc_memcg"][pfn]]
        c = self.m[name]
        c["usage"] -= 1
        c["stat"]["rss"] -= 1
        c["stat"]["active_anon"] -= 1
        c["stat"]["pgpgout"] += 1
        for k in ("anon", "swapbacked", "lru_flag"):
            p[k][pfn] = False
        p["free"][pfn] = True
        p["refcount"][pfn] = p["mapcount"][pfn] = p["pc_flags"][pfn] = 0
        p["lru"][pfn] = p["lru_memcg"][pfn] = -1
        return name

    def swap_out(self, label):
        pfn = self.labels[label]["pfn"]
        p = self.p
        slot = p["swap_count"].index(0)
        name = self._free_anon(pfn)
        self.m[name]["stat"]["swap"] += 1
        p["swap_count"][slot] = 1
        p["swap_cgroup"][slot] = NAMES.index(name)
        self.labels[label] = {"swap": slot}
        self._rec("swap_out", ["mem_cgroup_swapout", "mem_cgroup_uncharge"], [pfn])
        return slot

    def unmap(self, label):
        pfn = self.labels.pop(label)["pfn"]
        self.m[self._free_anon(pfn)]["memsw_usage"] -= 1
        self._rec("unmap", ["mem_cgroup_uncharge"], [pfn])

    def cache(self, name, label):
        pfn = self.p["free"].index(True)
        p = self.p
        p["free"][pfn] = False
        p["lru_flag"][pfn] = True
        p["refcount"][pfn] = 1
        p["lru"][pfn] = 2
        p["lru_memcg"][pfn] = p["pc_memcg"][pfn] = NAMES.index(name)
        p["pc_flags"][pfn] = 7
        self._charge(name)
        c = self.m[name]
        c["stat"]["cache"] += 1
        c["stat"]["inactive_file"] += 1
        c["stat"]["pgpgin"] += 1
        self.labels[label] = {"pfn": pfn}
        self._rec("add_to_page_cache", ["mem_cgroup_try_charge", "mem_cgroup_commit_charge"],
                  [pfn])


def small_timeline(with_pages=True) -> Timeline:
    """Ten steps with known numbers (A's limit 4, memsw limit 8):

    0-3 fault x0..x3 in A (usage 1..4); 4 fault x4 fails (failcnt 1, OOM);
    5 swap_out x0 (usage 3, memsw 4, swap 1); 6 file page f in B;
    7 unmap x1 (A usage 2, memsw 3); 8 fault y in A (usage 3, memsw 4);
    9 unmap x2 (usage 2, memsw 3).
    """
    f = Fake(with_pages=with_pages)
    for i in range(4):
        f.fault_anon("A", f"x{i}")
    f.fault_anon("A", "x4")
    f.swap_out("x0")
    f.cache("B", "f")
    f.unmap("x1")
    f.fault_anon("A", "y")
    f.unmap("x2")
    return f.tl


def repeated_timeline(n_steps: int) -> Timeline:
    """``n_steps`` records cycling small_timeline's (no page state): fast to build."""
    base = small_timeline(with_pages=False)
    return Timeline(({**base[i % len(base)], "step": i} for i in range(n_steps)), base.meta)
