"""struct mem_cgroup of mm/memcontrol.c (Linux 3.17): counters, statistics, lruvec.

Every number of a memcg lives in one list, its counter row, laid out as
COLUMNS: the res and memsw res_counters, then the memory.stat values
(memcg_edu.timeline.STATS), whose last five are the lruvec's lru_size of the
five LRU lists. Every writer of a row adds the memcg's index to
Machine.written, and the event and call logs look only at the rows marked
there (docs/architecture.md, "The model": the event log).

The root memcg behaves as in the 3.17 release: its counters are never
charged by its own pages (try_charge returns at once for root), and its
memory.usage_in_bytes is computed from statistics (mem_cgroup_usage()).
"""
from __future__ import annotations

from typing import Any, Callable, Iterator, Optional

from ..timeline import LRU_NAMES, STATS
from .res_counter import RES_COUNTER_MAX, ResCounter

__all__ = ["COLUMNS", "COL", "LRU_NAMES", "LRU_BASE", "MemCgroup"]

#: column names of a memcg's counter row
COLUMNS = ("usage", "max_usage", "limit", "failcnt",
           "memsw_usage", "memsw_max_usage", "memsw_limit", "memsw_failcnt",
           *STATS)
COL = {name: i for i, name in enumerate(COLUMNS)}
#: column of lru_size[LRU_INACTIVE_ANON]; list l is at LRU_BASE + l (STATS
#: ends with LRU_NAMES, in enum lru_list order)
LRU_BASE = COL[LRU_NAMES[0]]

_CACHE, _RSS, _SWAP = COL["cache"], COL["rss"], COL["swap"]
_MAX_USAGE, _FAILCNT = COL["max_usage"], COL["failcnt"]
_USAGE, _MEMSW_USAGE = COL["usage"], COL["memsw_usage"]
_LIMIT, _MEMSW_LIMIT = COL["limit"], COL["memsw_limit"]
_MEMSW_MAX_USAGE, _MEMSW_FAILCNT = COL["memsw_max_usage"], COL["memsw_failcnt"]
#: memory.stat of a counter row as a new dict: a literal naming every
#: statistic, made once from STATS (a literal's dict is made at its size,
#: in half the time of dict(zip(...)), which grows it: a scenario run makes
#: one for every memcg that moved, at every step)
_stat_dict: Callable[[list[int]], dict[str, int]] = eval(
    "lambda row: {" + ", ".join(f"{name!r}: row[{COL[name]}]" for name in STATS) + "}")


class StatView:
    """memory.stat of one memcg as a read-only mapping (values in pages)."""

    __slots__ = ("_row",)

    def __init__(self, row: list[int]) -> None:
        self._row = row

    def __getitem__(self, name: str) -> int:
        return self._row[COL[name]] if name in STATS else _missing(name)

    def __iter__(self) -> Iterator[str]:
        return iter(STATS)

    def __len__(self) -> int:
        return len(STATS)

    def keys(self) -> tuple[str, ...]:
        return STATS

    def items(self) -> list[tuple[str, int]]:
        return [(k, self._row[COL[k]]) for k in STATS]

    def __repr__(self) -> str:
        return repr(dict(self.items()))


def _missing(name: str) -> int:
    raise KeyError(f"no statistic {name!r}; memory.stat has {', '.join(STATS)}")


class MemCgroup:
    """One memory cgroup (struct mem_cgroup).

    ``index`` is its position in Machine.memcg_list (root is 0) and the value
    page_cgroup and swap_cgroup store for it; ``parent`` is the cgroup
    parent. The res/memsw counters are linked to the parent's only when the
    parent has use_hierarchy (mem_cgroup_css_online, 3.17 release).
    ``written``: Machine.written, where its counters mark their writes.
    """

    def __init__(self, name: str, index: int, parent: Optional["MemCgroup"],
                 use_hierarchy: bool, written: set[int]) -> None:
        self.name, self.index, self.parent = name, index, parent
        #: mem_cgroup_is_root(): the first memcg (an attribute, not a
        #: property: charge paths test it on every page)
        self.is_root = index == 0
        self.use_hierarchy = use_hierarchy
        self.children: list[MemCgroup] = []
        self.row: list[int] = [0] * len(COLUMNS)
        self.row[COL["limit"]] = self.row[COL["memsw_limit"]] = RES_COUNTER_MAX
        link = parent if parent is not None and parent.use_hierarchy else None
        self.res: ResCounter = ResCounter(self.row, COL["usage"],
                                          link.res if link else None, self, "res",
                                          written)
        self.memsw: ResCounter = ResCounter(self.row, COL["memsw_usage"],
                                            link.memsw if link else None,
                                            self, "memsw", written)
        self.stat = StatView(self.row)
        #: memory.move_charge_at_immigrate bits (1 anon, 2 file)
        self.move_charge_at_immigrate = 0
        #: css_tryget_online() succeeds (the model never takes a memcg offline)
        self.online = True
        #: css references held by swap_cgroup records (css_get in swapout)
        self.swap_css_refs = 0
        #: memcg->memsw_is_minimum: set when a limit write leaves res.limit ==
        #: memsw.limit (mem_cgroup_resize_limit / _resize_memsw_limit); charge
        #: reclaim then skips swap. A flag, not a comparison: only a write sets it.
        self.memsw_is_minimum = False
        #: memory.oom_control oom_kill_disable: a memcg OOM puts the faulting
        #: task to sleep instead of killing (mem_cgroup_oom_synchronize);
        #: a child copies its parent's at creation (mem_cgroup_css_online)
        self.oom_kill_disable: bool = parent.oom_kill_disable if parent is not None else False

    # -- what memory.* files show (pages) ---------------------------------
    def subtree(self) -> Iterator["MemCgroup"]:
        """for_each_mem_cgroup_tree(): this memcg and every descendant."""
        yield self
        for c in self.children:
            yield from c.subtree()

    def hierarchy(self) -> Iterator["MemCgroup"]:
        """mem_cgroup_iter() for reclaim: the subtree if use_hierarchy, else self."""
        if self.use_hierarchy:
            yield from self.subtree()
        else:
            yield self

    def subtree_usage(self) -> tuple[int, int]:
        """mem_cgroup_usage() as 3.17 computes it for root: (cache + rss,
        cache + rss + swap) summed over the subtree, in one pass."""
        usage = swap = 0
        todo = [self]
        while todo:
            mg = todo.pop()
            row = mg.row
            usage += row[_CACHE] + row[_RSS]
            swap += row[_SWAP]
            todo += mg.children
        return usage, usage + swap

    @property
    def usage(self) -> int:
        """memory.usage_in_bytes in pages (mem_cgroup_usage() for root)."""
        if self.is_root:
            return self.subtree_usage()[0]
        return self.row[COL["usage"]]

    @property
    def memsw_usage(self) -> int:
        """memory.memsw.usage_in_bytes in pages (root: cache + rss + swap)."""
        if self.is_root:
            return self.subtree_usage()[1]
        return self.row[COL["memsw_usage"]]

    @property
    def max_usage(self) -> int:
        return self.row[COL["max_usage"]]

    @property
    def memsw_max_usage(self) -> int:
        return self.row[COL["memsw_max_usage"]]

    @property
    def failcnt(self) -> int:
        return self.row[COL["failcnt"]]

    @property
    def memsw_failcnt(self) -> int:
        return self.row[COL["memsw_failcnt"]]

    @property
    def limit(self) -> Optional[int]:
        v = self.row[COL["limit"]]
        return None if v == RES_COUNTER_MAX else v

    @property
    def memsw_limit(self) -> Optional[int]:
        v = self.row[COL["memsw_limit"]]
        return None if v == RES_COUNTER_MAX else v

    def lru_size(self, lru: int) -> int:
        """mem_cgroup_get_lru_size(): pages on this memcg's list ``lru``."""
        return self.row[LRU_BASE + lru]

    def counters(self) -> dict[str, Any]:
        """The per-memcg part of a timeline step record (pages, None = unlimited)."""
        row = self.row
        # the row read directly, not through the properties: a scenario run
        # takes this snapshot of every memcg that moved, at every step
        limit, memsw_limit = row[_LIMIT], row[_MEMSW_LIMIT]
        usage, memsw_usage = (self.subtree_usage() if self.index == 0
                              else (row[_USAGE], row[_MEMSW_USAGE]))
        return {"usage": usage, "memsw_usage": memsw_usage,
                "max_usage": row[_MAX_USAGE],
                "memsw_max_usage": row[_MEMSW_MAX_USAGE],
                "failcnt": row[_FAILCNT], "memsw_failcnt": row[_MEMSW_FAILCNT],
                "limit": None if limit == RES_COUNTER_MAX else limit,
                "memsw_limit": None if memsw_limit == RES_COUNTER_MAX else memsw_limit,
                # the stat columns are the row's tail, in STATS order
                "stat": _stat_dict(row)}

    def __repr__(self) -> str:
        return (f"<memcg {self.name}: usage {self.usage}, memsw "
                f"{self.memsw_usage}, limit {self.limit}>")
