"""Synthetic timelines that follow the contract of docs/architecture.md.

A tiny hand-made "machine" (not the model): enough to give the plots and
widgets step records with counters, events, "detail" and "pages" whose
numbers are known in advance, so tests can assert on what is shown.
"""
from __future__ import annotations

import copy
from contextlib import contextmanager

from memcg_edu.timeline import Timeline

PCG_3_17 = {"1": "PCG_USED", "2": "PCG_MEM", "4": "PCG_MEMSW"}
NAMES = ["root", "A", "B"]
LISTS = ("inactive_anon", "active_anon", "inactive_file", "active_file", "unevictable")
PG = (("locked", "locked"), ("lru_flag", "lru"), ("active", "active"), ("anon", "anon"),
      ("swapbacked", "swapbacked"), ("swapcache", "swapcache"),
      ("unevictable", "unevictable"), ("free", "free"))


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
        self.calls = []
        self.depth = 0

    def _rec(self, op, events, touched=(), error=None):
        rec = {"op": op, "ok": error is None, "error": error, "events": list(events),
               "memcgs": copy.deepcopy(self.m),
               "detail": {"labels": copy.deepcopy(self.labels), "touched": list(touched)},
               "calls": self.calls}
        self.calls = []
        if self.with_pages:
            rec["pages"] = copy.deepcopy(self.p)
        self.tl.append(rec)

    # -- the "calls" of a step record, in the shape of docs/scenario-format.md --
    def state(self, pfn):
        """Frame ``pfn``'s fields, as a call's "state" names them."""
        p = self.p
        free = p["free"][pfn]
        return {"count": p["refcount"][pfn], "mapcount": p["mapcount"][pfn],
                "flags": [n for k, n in PG if p[k][pfn]],
                "pcg": [n[4:] for b, n in sorted((int(b), n) for b, n in PCG_3_17.items())
                        if p["pc_flags"][pfn] & b],
                "mem_cgroup": None if free or p["pc_memcg"][pfn] < 0
                else NAMES[p["pc_memcg"][pfn]],
                "lru": LISTS[p["lru"][pfn]] if p["lru"][pfn] >= 0 else None,
                "lruvec": NAMES[p["lru_memcg"][pfn]] if p["lru_memcg"][pfn] >= 0 else None}

    def _counters(self):
        return {n: {**{k: v for k, v in c.items() if k != "stat"}, **c["stat"]}
                for n, c in self.m.items()}

    @contextmanager
    def call(self, fn, file, pfn=None):
        """Record kernel call ``fn`` on ``pfn`` around the lines that stand for it."""
        label = next((k for k, v in self.labels.items() if v.get("pfn") == pfn), None)
        c = {"fn": fn, "file": file, "depth": self.depth, "page": label, "pfn": pfn,
             "swap": None, "state": None, "memcgs": {}, "was": {"state": None, "memcgs": {}}}
        self.calls.append(c)
        before = self.state(pfn) if pfn is not None else None
        counters = self._counters()
        self.depth += 1
        try:
            yield c
        finally:
            self.depth -= 1
            after_counters = self._counters()
            for n, row in after_counters.items():
                for k, v in row.items():
                    if counters[n][k] != v:
                        c["memcgs"].setdefault(n, {})[k] = v
                        c["was"]["memcgs"].setdefault(n, {})[k] = counters[n][k]
            if pfn is not None:
                c["state"] = self.state(pfn)
                c["page"] = c["page"] or next(
                    (k for k, v in self.labels.items() if v.get("pfn") == pfn), None)
                c["was"]["state"] = {k: v for k, v in before.items() if c["state"][k] != v}

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
        with self.call("do_anonymous_page", "mm/memory.c", pfn):
            with self.call("alloc_zeroed_user_highpage_movable", "include/linux/highmem.h",
                           pfn):
                p["free"][pfn] = False
                p["refcount"][pfn] = 1
            with self.call("mem_cgroup_try_charge", "mm/memcontrol.c", pfn):
                with self.call("try_charge", "mm/memcontrol.c"):
                    self._charge(name)
            with self.call("page_add_new_anon_rmap", "mm/rmap.c", pfn):
                p["anon"][pfn] = p["swapbacked"][pfn] = True
                p["mapcount"][pfn] = 1
                self.labels[label] = {"pfn": pfn}
            with self.call("mem_cgroup_commit_charge", "mm/memcontrol.c", pfn):
                with self.call("commit_charge", "mm/memcontrol.c", pfn):
                    p["pc_memcg"][pfn] = NAMES.index(name)
                    p["pc_flags"][pfn] = 7
                    c["stat"]["rss"] += 1
                    c["stat"]["pgpgin"] += 1
            with self.call("lru_cache_add_active_or_unevictable", "mm/swap.c", pfn):
                p["lru_flag"][pfn] = p["active"][pfn] = True
                p["lru"][pfn] = 1
                p["lru_memcg"][pfn] = NAMES.index(name)
                c["stat"]["active_anon"] += 1
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
        for k in ("anon", "swapbacked", "lru_flag", "active"):
            p[k][pfn] = False
        p["free"][pfn] = True
        p["refcount"][pfn] = p["mapcount"][pfn] = p["pc_flags"][pfn] = 0
        p["lru"][pfn] = p["lru_memcg"][pfn] = -1
        return name

    def swap_out(self, label):
        pfn = self.labels[label]["pfn"]
        p = self.p
        slot = p["swap_count"].index(0)
        with self.call("shrink_page_list", "mm/vmscan.c", pfn):
            with self.call("mem_cgroup_swapout", "mm/memcontrol.c", pfn):
                name = NAMES[p["pc_memcg"][pfn]]
                with self.call("swap_cgroup_record", "mm/page_cgroup.c"):
                    p["swap_cgroup"][slot] = NAMES.index(name)
                p["pc_flags"][pfn] &= ~4
                self.m[name]["stat"]["swap"] += 1
                p["swap_count"][slot] = 1
            with self.call("mem_cgroup_uncharge", "mm/memcontrol.c", pfn):
                self._free_anon(pfn)
        self.labels[label] = {"swap": slot}
        self._rec("swap_out", ["mem_cgroup_swapout", "mem_cgroup_uncharge"], [pfn])
        return slot

    def unmap(self, label):
        """zap_pte_range drops the mapping, then the final put_page frees and
        uncharges the page (3.17 mm/swap.c: __put_single_page calls
        __page_cache_release, which takes the page off its LRU and calls
        mem_cgroup_uncharge, then free_hot_cold_page)."""
        pfn = self.labels[label]["pfn"]
        p = self.p
        name = NAMES[p["pc_memcg"][pfn]]
        c = self.m[name]
        with self.call("zap_pte_range", "mm/memory.c", pfn):
            with self.call("page_remove_rmap", "mm/rmap.c", pfn):
                p["mapcount"][pfn] = 0
        with self.call("put_page", "mm/swap.c", pfn):
            with self.call("put_page_testzero", "include/linux/mm.h", pfn):
                p["refcount"][pfn] = 0
            with self.call("__put_single_page", "mm/swap.c", pfn):
                with self.call("__page_cache_release", "mm/swap.c", pfn):
                    with self.call("del_page_from_lru_list", "include/linux/mm_inline.h",
                                   pfn):
                        p["lru_flag"][pfn] = p["active"][pfn] = False
                        p["lru"][pfn] = p["lru_memcg"][pfn] = -1
                        c["stat"]["active_anon"] -= 1
                    with self.call("mem_cgroup_uncharge", "mm/memcontrol.c", pfn):
                        p["pc_flags"][pfn] = 0
                        c["usage"] -= 1
                        c["memsw_usage"] -= 1
                        c["stat"]["rss"] -= 1
                        c["stat"]["pgpgout"] += 1
                with self.call("free_hot_cold_page", "mm/page_alloc.c", pfn):
                    p["anon"][pfn] = p["swapbacked"][pfn] = False
                    p["free"][pfn] = True
        self.labels.pop(label)
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
