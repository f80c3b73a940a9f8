"""The Machine: one simulated Linux 3.17 system with memory cgroups.

The facade the rest of memcg_edu uses (docs/architecture.md): it owns
mem_map + page_cgroup (pages.py), the swap device (swap.py), the memcgs
(memcg.py), tasks and files (tasks.py), the charge stock (stock.py) and the
event log (events.py), and offers the mm operations a learner meets. Each
operation runs the kernel path in mm.py / reclaim.py / migrate.py /
move_charge.py, which call the memcg hooks of the chosen design (``ops``,
memcontrol.py for 3.17).

>>> m = Machine(ram_pages=16, swap_slots=8)
>>> a = m.create_memcg("A")
>>> p = m.fault_anon(m.create_task("p", a))
>>> (a.usage, a.stat["rss"], p.memcg)
(1, 1, 'A')
>>> e = m.swap_out(p); (a.usage, a.memsw_usage, a.stat["swap"])
(0, 1, 1)
"""
from __future__ import annotations

import copy
import numbers
from collections import OrderedDict
from typing import Any, Callable, Optional, TypeVar, Union

import numpy as np

from ..errors import MemcgOOM, ModelUsageError
from . import migrate as _migrate
from . import mm, reclaim
from .calls import CallLog
from .events import EventLog
from .invariants_fast import check_invariants as _check_all
from .invariants_touched import check_invariants as _check_invariants
from .limits import MAX_FILES, MAX_FRAMES, MAX_MEMCGS, MAX_SLOTS, MAX_TASKS
from .memcg import COL, MemCgroup
from .memcontrol import FIXES, Memcg317, mem_cgroup_reclaim
from .memcontrol_316 import Memcg316
from .move_charge import (MOVE_CHARGE_TYPE_ANON, MOVE_CHARGE_TYPE_FILE,
                          mem_cgroup_move_task)
from .oom import MemcgOomState, handle_mm_fault
from .pages import (PG_active, PG_anon, PG_free, PG_locked, PG_lru,
                    PG_swapbacked, PG_swapcache, PG_unevictable, MemMap, Page,
                    changed_items)
from .reparent import mem_cgroup_css_offline
from .res_counter import RES_COUNTER_MAX
from .stock import Stock, drain_stock
from .swap import SwapEntry, SwapInfo
from .tasks import File, Task

__all__ = ["Machine", "PageStateLists"]

_KEEP: Any = object()
MemcgLike = Union[MemCgroup, str]
TaskLike = Union[Task, str]
T = TypeVar("T")
#: the page flags page_state() shows, in the order it unpacks them
_SHOWN_FLAGS = np.array([PG_free, PG_anon, PG_swapbacked, PG_swapcache, PG_locked,
                         PG_lru, PG_active, PG_unevictable], np.uint16)
#: each flags value's shown flags, by value (a column each; the page flags
#: are all below 2 * PG_free): one take() tests all of them for every page
_SHOWN_BY_FLAGS = (_SHOWN_FLAGS[:, None] & np.arange(2 * PG_free)) != 0
#: page_state()'s keys for those rows, in _SHOWN_FLAGS order
_SHOWN_KEYS = ("free", "anon", "swapbacked", "swapcache", "locked", "lru_flag",
               "active", "unevictable")
#: page_state()'s keys for Machine._page_sources()' arrays
_PFN_KEYS = ("refcount", "mapcount", "lru", "lru_memcg", "pc_flags", "pc_memcg")
_SLOT_KEYS = ("swap_count", "swap_cache", "swap_cgroup")
#: page_state()'s keys, in the order its dict has them
_PAGE_STATE_KEYS = ("refcount", "mapcount", *_SHOWN_KEYS, "lru", "lru_memcg",
                    "pc_flags", "pc_memcg", "swap_entry", "swap_count", "swap_cache",
                    "swap_cgroup", "memcg_names", "pcg_flag_names")


def _design_ops(design: str) -> Union[Memcg317, Memcg316]:
    if design == "3.17":
        return Memcg317()
    if design == "3.16":
        return Memcg316()
    raise ModelUsageError(f"unknown design {design!r}; choose \"3.17\" or \"3.16\"")


class Machine:
    """A simulated machine: page frames, one swap device, memcgs, tasks.

    ``ram_pages`` page frames and ``swap_slots`` swap slots; ``swap_account``
    is do_swap_account (memsw counters); ``charge_stock`` turns on the
    per-CPU stock (usage then moves in CHARGE_BATCH steps);
    ``check_invariants`` checks every invariant after every operation;
    ``record_events`` keeps the event log, and ``record_counters`` the
    counters after each event in it (EventLog.counter); ``fixes`` names later kernel
    fixes to apply to the 3.17 design (memcontrol.FIXES:
    "memcg_read_first"; the 3.16 design has no such code and ignores them).

    ``stranded`` is {memcg index: {"rss": n, "cache": n}}: charges that
    3.17.0's mem_cgroup_migrate() left on a memcg with no page behind them
    (the replacement page went to root instead); the invariant checks
    count them and design_notes() explains them.
    """

    def __init__(self, ram_pages: int = 64, swap_slots: int = 32,
                 swap_account: bool = True, charge_stock: bool = False,
                 design: str = "3.17", check_invariants: bool = False,
                 record_events: bool = True, fixes: tuple[str, ...] = (),
                 record_counters: bool = True) -> None:
        if not isinstance(ram_pages, int) or not 0 < ram_pages <= MAX_FRAMES:
            raise ModelUsageError(f"ram_pages must be an integer from 1 to "
                                  f"{MAX_FRAMES:,} (the model's limit), not {ram_pages!r}")
        if not isinstance(swap_slots, int) or not 0 <= swap_slots <= MAX_SLOTS:
            raise ModelUsageError(f"swap_slots must be an integer from 0 to "
                                  f"{MAX_SLOTS:,} (the model's limit), not {swap_slots!r}")
        if isinstance(fixes, str) or not isinstance(fixes, (tuple, list, set, frozenset)):
            raise ModelUsageError(f'fixes is a tuple of fix names such as '
                                  f'("memcg_read_first",), not {fixes!r}')
        for fix in fixes:
            if fix not in FIXES:
                raise ModelUsageError(f"unknown fix {fix!r}; known fixes: "
                                      f"{', '.join(FIXES)}")
        self.fixes = tuple(fixes)
        self.stranded: dict[int, dict[str, int]] = {}
        self.ops = _design_ops(design)
        self.design = design
        self.swap_account = bool(swap_account)
        self.charge_stock = bool(charge_stock)
        self.checking = bool(check_invariants)
        self.mem = MemMap(ram_pages)
        self.swap = SwapInfo(swap_slots)
        self.stock = Stock()
        self.lru_clock = 0
        self.memcg_list: list[MemCgroup] = []
        #: each memcg's counter row (MemCgroup.row), by index: what the
        #: event and call logs copy and compare
        self.memcg_rows: list[list[int]] = []
        #: the memcgs (indices) whose counter row was written since the
        #: event or call log last looked: whoever writes a row adds its
        #: memcg (a ResCounter each level it writes), and each log looks only
        #: at those rows (comparing every row at every event or recorded
        #: call cost more than the rest of it). A log that looks adds them
        #: to the other log's own set (``written`` of EventLog and CallLog),
        #: as that one has not looked yet, then looks at them with its own
        #: set's and empties both.
        self.written: set[int] = set()
        self.memcgs: dict[str, MemCgroup] = {}
        self.created_at: dict[int, int] = {}
        self.task_list: dict[int, Task] = {}
        self.tasks: dict[str, Task] = {}
        self._next_tid = 0
        self.file_list: dict[int, File] = {}
        self.files: dict[str, File] = {}
        # mm.rmap_add: the ptes of a page beyond the first, in order
        self.rmap_extra: dict[int, OrderedDict[tuple[int, int], None]] = {}
        self.rmap_tid: dict[int, dict[int, OrderedDict[int, None]]] = {}
        #: current->memcg_oom of the task that is faulting (oom.py)
        self.memcg_oom = MemcgOomState()
        #: every memcg OOM a fault ran into, in order: {"memcg", "task",
        #: "victim", "badness", "outcome"} (outcome "retried", "killed",
        #: "oom_kill_disable" or "no_victim")
        self.oom_kills: list[dict[str, Any]] = []
        #: how many times shrink_page_list() ran: only then (or when the
        #: OOM killer ends a task) can a step move pages it does not name
        self.shrink_runs = 0
        self.events = EventLog(self, enabled=record_events, counters=record_counters)
        self.calls = CallLog(self, enabled=record_events)
        self._add_memcg("root", None, False)

    # -- lookups -------------------------------------------------------------
    @property
    def root(self) -> MemCgroup:
        return self.memcg_list[0]

    def _memcg(self, x: MemcgLike, what: str = "memcg") -> MemCgroup:
        name = x.name if isinstance(x, MemCgroup) else x
        mg = self.memcgs.get(name) if isinstance(name, str) else None
        if mg is None:
            raise ModelUsageError(f"{what}: no memcg {x!r}; there are "
                                  f"{', '.join(self.memcgs)}")
        return mg

    def _task(self, x: TaskLike) -> Task:
        if x.__class__ is Task:                  # the usual case, in one test
            t = self.tasks.get(x.name)           # (by name: restore replaced it)
        else:
            name = x.name if isinstance(x, Task) else x
            t = self.tasks.get(name) if isinstance(name, str) else None
        if t is None:
            raise ModelUsageError(f"no task {x!r} (it may have exited); tasks "
                                  f"are {', '.join(self.tasks) or 'none'}")
        return t

    def _page(self, x: Any) -> int:
        if not isinstance(x, Page):
            raise ModelUsageError(f"expected a Page, got {type(x).__name__} {x!r}")
        if x._m is not self:
            raise ModelUsageError(f"page {x.pfn} belongs to another Machine")
        return x.check()

    def _entry(self, x: Any) -> int:
        if not isinstance(x, SwapEntry) or x._m is not self:
            raise ModelUsageError(f"expected a SwapEntry of this machine, got {x!r}")
        return x.check()

    def page(self, pfn: int) -> Page:
        """A handle on the live page at ``pfn``."""
        if not 0 <= pfn < self.mem.nr or self.mem.flags[pfn] & PG_free:
            raise ModelUsageError(f"no page at pfn {pfn}")
        return Page(self, pfn)

    def swap_entry(self, slot: int) -> SwapEntry:
        """A handle on swap slot ``slot``."""
        if not 0 <= slot < self.swap.nr:
            raise ModelUsageError(f"no swap slot {slot}")
        return SwapEntry(self, slot)

    def _file(self, name: str, shmem: bool) -> File:
        if not isinstance(name, str) or not name:
            raise ModelUsageError(f"a file is named by a non-empty string, not {name!r}")
        f = self.files.get(name)
        if f is None:
            fid = len(self.file_list)
            if fid >= MAX_FILES:
                raise ModelUsageError(f"too many files: the model numbers at most "
                                      f"{MAX_FILES:,} (ids are 16 bits)")
            f = self.files[name] = self.file_list[fid] = File(name, fid, shmem)
        elif f.shmem != shmem:
            kind = "a tmpfs file" if f.shmem else "a regular file"
            raise ModelUsageError(f"file {name!r} is {kind}")
        return f

    # -- running operations ----------------------------------------------------
    def _op(self, name: str, fn: Callable[..., T], *args: Any, pfn: int = -1,
            memcg: int = -1, nr: int = 1) -> T:
        """Run one mm operation, ``fn(*args)``, record it, check invariants if asked.

        (The hottest operations pass ``fn`` its arguments, the others a
        closure: making and calling one costs as much as a line of the path.)
        """
        self.calls.depth = 0                     # a failed op may leave calls open
        try:
            result = fn(*args)
        except MemcgOOM:
            self.events.record(name, pfn, memcg, 0, 0)      # depth 0
            if self.checking:
                _check_invariants(self)
            raise
        out = result.pfn if isinstance(result, Page) else pfn
        self.events.record(name, out, memcg, nr, 0)         # depth 0
        if self.checking:
            _check_invariants(self)
        return result

    # -- memcgs and tasks --------------------------------------------------------
    def _add_memcg(self, name: str, parent: Optional[MemCgroup],
                   use_hierarchy: bool) -> MemCgroup:
        mg = MemCgroup(name, len(self.memcg_list), parent, use_hierarchy,
                       self.written)
        if len(self.memcg_list) >= MAX_MEMCGS:
            raise ModelUsageError(f"too many memcgs: the model numbers at most "
                                  f"{MAX_MEMCGS:,}, root included (ids are 16 bits)")
        self.memcg_list.append(mg)
        self.memcg_rows.append(mg.row)
        self.written.add(mg.index)               # its limits: the logs' first row
        self.memcgs[name] = mg
        if parent is not None:
            parent.children.append(mg)
        self.created_at[mg.index] = len(self.events)
        self.events.record("create_memcg", -1, mg.index, 0, depth=0)
        return mg

    def create_memcg(self, name: str, parent: Optional[MemcgLike] = None,
                     limit: Optional[int] = None, memsw_limit: Optional[int] = None,
                     use_hierarchy: Optional[bool] = None,
                     oom_kill_disable: Optional[bool] = None) -> MemCgroup:
        """mkdir of a memory cgroup (mem_cgroup_css_alloc / _css_online).

        ``parent`` None = root. A child inherits use_hierarchy from its
        parent; ``use_hierarchy`` sets it (only allowed where the kernel
        allows writing memory.use_hierarchy: the parent is not hierarchical).
        Its counters are linked to the parent's only if the parent has
        use_hierarchy. Limits in pages, None = unlimited.
        ``oom_kill_disable`` writes memory.oom_control (set_oom_kill_disable);
        None keeps what the child copied from its parent.
        """
        if not isinstance(name, str) or not name:
            raise ModelUsageError(f"a memcg is named by a non-empty string, not {name!r}")
        if name in self.memcgs:
            raise ModelUsageError(f"memcg {name!r} exists already")
        par = self.root if parent is None else self._memcg(parent, "parent")
        if use_hierarchy is None:
            use_hierarchy = par.use_hierarchy
        elif par.use_hierarchy and not use_hierarchy:
            raise ModelUsageError(
                f"memcg {name!r}: its parent {par.name} has use_hierarchy, so "
                f"it cannot be turned off here (the kernel returns -EINVAL)")
        mg = self._add_memcg(name, par, bool(use_hierarchy))
        if oom_kill_disable is not None and oom_kill_disable != mg.oom_kill_disable:
            self.set_oom_kill_disable(mg, oom_kill_disable)
        if limit is not None or memsw_limit is not None:
            self.set_limit(mg, limit=_KEEP if limit is None else limit,
                           memsw_limit=_KEEP if memsw_limit is None else memsw_limit)
        return mg

    def set_use_hierarchy(self, memcg: MemcgLike, value: bool) -> None:
        """Write memory.use_hierarchy (mem_cgroup_hierarchy_write): only without children."""
        mg = self._memcg(memcg)
        if mg.children:
            raise ModelUsageError(f"memcg {mg.name} has children, so "
                                  f"use_hierarchy cannot change (-EBUSY)")
        if mg.parent is not None and mg.parent.use_hierarchy:
            raise ModelUsageError(f"the parent of {mg.name} has use_hierarchy (-EINVAL)")
        mg.use_hierarchy = bool(value)

    def set_oom_kill_disable(self, memcg: MemcgLike, value: bool) -> None:
        """Write memory.oom_control (mem_cgroup_oom_control_write).

        The kernel refuses it (-EINVAL) for root, and for a memcg whose
        parent has use_hierarchy or that has children: the setting belongs
        to the top of a hierarchy and its children copy it when created.
        """
        mg = self._memcg(memcg)
        if mg.is_root:
            raise ModelUsageError("the root memcg has no oom_kill_disable to set (-EINVAL)")
        if mg.parent is not None and mg.parent.use_hierarchy:
            raise ModelUsageError(
                f"the parent of {mg.name} has use_hierarchy, so its "
                f"oom_kill_disable comes from the top of the hierarchy (-EINVAL)")
        if mg.children:
            raise ModelUsageError(f"memcg {mg.name} has children, so "
                                  f"oom_kill_disable cannot change (-EINVAL)")
        mg.oom_kill_disable = bool(value)

    def create_task(self, name: str, memcg: MemcgLike = "root") -> Task:
        """A new process (thread-group leader owning its mm) in ``memcg``."""
        if not isinstance(name, str) or not name:
            raise ModelUsageError(f"a task is named by a non-empty string, not {name!r}")
        if name in self.tasks:
            raise ModelUsageError(f"task {name!r} exists already")
        if self._next_tid >= MAX_TASKS:
            raise ModelUsageError(f"too many tasks: the model numbers at most "
                                  f"{MAX_TASKS:,} (ids are 16 bits)")
        t = Task(name, self._next_tid, self._memcg(memcg))
        self._next_tid += 1
        self.tasks[name] = self.task_list[t.tid] = t
        return t

    def set_limit(self, memcg: MemcgLike, limit: Optional[int] = _KEEP,
                  memsw_limit: Optional[int] = _KEEP) -> None:
        """Write memory.limit_in_bytes / memory.memsw.limit_in_bytes (pages; None = unlimited).

        mem_cgroup_resize_limit / mem_cgroup_resize_memsw_limit: the memory
        limit may not exceed the memsw limit (-EINVAL); a limit below usage
        reclaims first and fails with -EBUSY (ModelUsageError) if reclaim
        cannot get under it. The two are applied in the order that keeps
        limit <= memsw_limit.
        """
        mg = self._memcg(memcg)
        if mg.is_root:
            raise ModelUsageError("the root memcg has no limit to set (-EINVAL)")
        # a numpy integer (a notebook's arithmetic) is a number of pages too
        if isinstance(limit, numbers.Integral) and not isinstance(limit, bool):
            limit = int(limit)
        if isinstance(memsw_limit, numbers.Integral) and not isinstance(memsw_limit, bool):
            memsw_limit = int(memsw_limit)
        for v, what in ((limit, "limit"), (memsw_limit, "memsw_limit")):
            if v is not _KEEP and v is not None and (not isinstance(v, int)
                                                     or isinstance(v, bool) or v < 0):
                raise ModelUsageError(f"{what} of {mg.name} must be a number of "
                                      f"pages >= 0 or None, not {v!r}")
        if memsw_limit is not _KEEP and not self.swap_account:
            raise ModelUsageError("memory.memsw.limit_in_bytes does not exist "
                                  "without swap accounting")
        new_l = None if limit is _KEEP else (RES_COUNTER_MAX if limit is None else limit)
        new_ml = None if memsw_limit is _KEEP else (
            RES_COUNTER_MAX if memsw_limit is None else memsw_limit)

        def run() -> None:
            steps = [("res", new_l), ("memsw", new_ml)]
            if new_ml is not None and new_ml >= mg.row[COL["memsw_limit"]]:
                steps.reverse()              # raise memsw first
            for which, val in steps:
                if val is not None:
                    self._resize(mg, which, val)
        self._op("set_limit", run, memcg=mg.index, nr=0)

    def _resize(self, mg: MemCgroup, which: str, val: int) -> None:
        """mem_cgroup_resize_limit() / mem_cgroup_resize_memsw_limit()."""
        i = self.calls.enter("mem_cgroup_resize_limit" if which == "res"
                             else "mem_cgroup_resize_memsw_limit")
        try:
            self._resize_loop(mg, which, val)
        finally:
            self.calls.leave(i)

    def _resize_loop(self, mg: MemCgroup, which: str, val: int) -> None:
        counter = mg.res if which == "res" else mg.memsw
        retries = 5 * max(1, sum(1 for _ in mg.subtree()))
        while True:
            if which == "res" and val > mg.row[COL["memsw_limit"]]:
                raise ModelUsageError(f"limit of {mg.name} ({val}) would exceed its "
                                      f"memsw_limit (-EINVAL)")
            if which == "memsw" and val < mg.row[COL["limit"]]:
                raise ModelUsageError(f"memsw_limit of {mg.name} ({val}) would be "
                                      f"below its limit (-EINVAL)")
            if counter.set_limit(val):
                # the write that succeeded sets the flag reclaim reads
                mg.memsw_is_minimum = (mg.row[COL["limit"]]
                                       == mg.row[COL["memsw_limit"]])
                return
            before = counter.usage
            mem_cgroup_reclaim(self, mg, noswap=which == "memsw", shrink=True)
            if counter.usage >= before:
                retries -= 1
                if retries <= 0:
                    raise ModelUsageError(
                        f"cannot set {which} limit of {mg.name} to {val} pages: "
                        f"usage is {counter.usage} and reclaim cannot free "
                        f"enough (the kernel returns -EBUSY)")

    # -- mm operations ------------------------------------------------------------
    def fault_anon(self, task: TaskLike) -> Page:
        """An anonymous page fault (do_anonymous_page): a new charged, mapped page."""
        t = self._task(task)
        page: Page = self._op("fault_anon", handle_mm_fault, self, t,
                              lambda: Page(self, mm.do_anonymous_page(self, t)),
                              memcg=t.memcg.index)
        return page

    def fault_anon_range(self, task: TaskLike, n: int) -> np.ndarray:
        """``n`` anonymous faults at once (bulk, same effect); returns their pfns."""
        t = self._task(task)
        if not isinstance(n, int) or n < 0:
            raise ModelUsageError(f"n must be a non-negative integer, not {n!r}")
        return self._op("fault_anon_range", lambda: mm.fault_anon_range(self, t, n),
                        memcg=t.memcg.index, nr=n)

    def add_to_page_cache(self, task: TaskLike, file: str = "f",
                          mapped: bool = False) -> Page:
        """A page of ``file`` read by ``task`` (add_to_page_cache_lru), maybe mapped.

        ``mapped``: a page fault on a file mapping (filemap_fault), which
        may run the memcg OOM killer; else read() or write(), whose failed
        charge is only -ENOMEM.
        """
        t = self._task(task)
        f = self._file(file, shmem=False)

        def read() -> Page:
            return Page(self, mm.add_to_page_cache_lru(self, t, f, bool(mapped)))
        return self._op("add_to_page_cache",
                        (lambda: handle_mm_fault(self, t, read)) if mapped else read,
                        memcg=t.memcg.index)

    def fault_shmem(self, task: TaskLike, file: str = "shm", mapped: bool = True) -> Page:
        """A new tmpfs page of ``file`` (shmem_getpage_gfp), mapped by ``task``."""
        t = self._task(task)
        f = self._file(file, shmem=True)
        return self._op("fault_shmem", lambda: handle_mm_fault(
            self, t, lambda: Page(self, mm.shmem_getpage_new(self, t, f, bool(mapped)))),
            memcg=t.memcg.index)

    def map(self, task: TaskLike, what: Union[Page, SwapEntry]) -> None:
        """Another task maps a page (fork sharing, or a file fault) or copies a swap pte."""
        self._pte_op("map", task, what, mm.map_page, mm.map_swap)

    def unmap(self, task: TaskLike, what: Union[Page, SwapEntry]) -> None:
        """munmap of one pte: a page (maybe its final put) or a swap pte (maybe freeing the slot)."""
        self._pte_op("unmap", task, what, mm.unmap_page, mm.unmap_swap)

    def _pte_op(self, name: str, task: TaskLike, what: Union[Page, SwapEntry],
                on_page: Callable[["Machine", Any, int], Any],
                on_swap: Callable[["Machine", Any, int], Any]) -> None:
        """One pte of ``task``: ``on_page`` for a page, ``on_swap`` for a swap pte."""
        t = self._task(task)
        if isinstance(what, SwapEntry):
            slot = self._entry(what)
            self._op(name, on_swap, self, t, slot, pfn=slot)
        else:
            pfn = self._page(what)
            self._op(name, on_page, self, t, pfn, pfn=pfn)

    def unmap_range(self, task: TaskLike, pfns: np.ndarray) -> None:
        """munmap of many pages of a task at once (one zap, release_pages batches)."""
        t = self._task(task)
        pfns = np.asarray(pfns, dtype=np.int64)
        if pfns.size and (pfns.min() < 0 or pfns.max() >= self.mem.nr):
            raise ModelUsageError("unmap_range: a pfn is outside the machine")

        def run() -> None:
            vs = np.empty(pfns.size, np.int32)
            mem = self.mem
            own = mem.rmap_task[pfns] == t.tid
            vs[own] = mem.rmap_addr[pfns[own]]
            for i in np.flatnonzero(~own).tolist():
                vs[i] = mm.rmap_find(self, int(pfns[i]), t.tid)
            if np.any(vs < 0) or np.any(mem.flags[pfns] & PG_free):
                bad = int(pfns[np.flatnonzero(vs < 0)[0]]) if np.any(vs < 0) else -1
                raise ModelUsageError(f"task {t.name!r} does not map page {bad}")
            mm.zap_ptes(self, t, vs)
        self._op("unmap_range", run, memcg=t.memcg.index, nr=int(pfns.size))

    def get_page(self, page: Page) -> None:
        """get_page(): pin the page (an extra reference, e.g. get_user_pages or a pipe)."""
        pfn = self._page(page)
        self._op("get_page", lambda: mm.get_page(self, pfn), pfn=pfn)

    def pins(self, page: Page) -> int:
        """References beyond the page's mappings and caches (what get_page added)."""
        pfn = self._page(page)
        return int(self.mem.refcount[pfn] - self.mem.mapcount[pfn]
                   - mm.cache_refs(self, pfn))

    def put_page(self, page: Page) -> None:
        """put_page(): drop a pin taken with get_page; the last reference frees and uncharges."""
        pfn = self._page(page)
        if self.pins(page) <= 0:
            raise ModelUsageError(
                f"put_page on page {pfn} without a matching get_page: its "
                f"{int(self.mem.refcount[pfn])} reference(s) belong to its "
                f"mappings and caches")
        self._op("put_page", lambda: mm.put_page(self, pfn), pfn=pfn)

    def truncate(self, what: Union[Page, SwapEntry]) -> None:
        """Remove a page from its page cache (truncate_inode_page), or a swapped tmpfs page."""
        if isinstance(what, SwapEntry):
            slot = self._entry(what)
            for f in self.file_list.values():
                for off, s in f.swap.items():
                    if s == slot:
                        self._op("truncate", lambda: mm.shmem_free_swap(self, f, off),
                                 pfn=slot)
                        return
            raise ModelUsageError(f"swap entry {slot} does not belong to a tmpfs file")
        pfn = self._page(what)
        self._op("truncate", lambda: mm.truncate_page(self, pfn), pfn=pfn)

    def swap_out(self, page: Page) -> SwapEntry:
        """Reclaim this anon or tmpfs page to swap (shrink_page_list on it); returns the entry."""
        pfn = self._page(page)
        return self._op("swap_out", lambda: SwapEntry(self, reclaim.reclaim_page(self, pfn)),
                        pfn=pfn)

    def swap_in(self, task: TaskLike, entry: SwapEntry) -> Page:
        """A fault on a swap pte of ``task`` (do_swap_page), or on a swapped tmpfs page."""
        t = self._task(task)
        slot = self._entry(entry)
        for f in self.file_list.values():
            for off, s in f.swap.items():
                if s == slot:
                    return self._op("swap_in", lambda: handle_mm_fault(
                        self, t, lambda: Page(self, mm.shmem_swapin(self, t, f, off))),
                        memcg=t.memcg.index)
        return self._op("swap_in", lambda: handle_mm_fault(
            self, t, lambda: Page(self, mm.do_swap_page(self, t, slot))),
            memcg=t.memcg.index)

    def free_swap(self, entry: SwapEntry) -> None:
        """Drop the swap-cache copy of a swapped-in page (try_to_free_swap)."""
        slot = self._entry(entry)
        if self.swap.count[slot] > 0:
            raise ModelUsageError(
                f"swap entry {slot} is still used by {int(self.swap.count[slot])} "
                f"swap pte(s) or tmpfs entries; unmap or truncate them first")
        pfn = int(self.swap.page[slot])

        def run() -> None:
            mm.get_page(self, pfn)                # find_get_page
            mm.lock_page(self, pfn)
            mm.try_to_free_swap(self, pfn)
            mm.unlock_page(self, pfn)
            mm.put_page(self, pfn)
        self._op("free_swap", run, pfn=slot)

    def migrate(self, page: Page) -> Page:
        """Migrate a page (isolate, copy, mem_cgroup_migrate, remap, putback).

        Returns the new page, or the same page if migration failed because
        someone else holds a reference (the kernel's -EAGAIN).
        """
        pfn = self._page(page)

        def run() -> Page:
            new = _migrate.migrate_page(self, pfn)
            return Page(self, pfn if new is None else new)
        return self._op("migrate", run, pfn=pfn)

    def replace_page_cache(self, page: Page, with_: Optional[Page] = None) -> Page:
        """fuse splice: ``with_`` (or a fresh pipe page) replaces ``page`` in its page cache."""
        pfn = self._page(page)
        new = None if with_ is None else self._page(with_)
        return self._op("replace_page_cache",
                        lambda: Page(self, mm.replace_page_cache_page(self, pfn, new)),
                        pfn=pfn)

    def reclaim(self, memcg: MemcgLike, nr: int = 32, may_swap: bool = True) -> int:
        """Reclaim up to ``nr`` pages from memcg's hierarchy; returns how many were freed."""
        mg = self._memcg(memcg)
        if not isinstance(nr, int) or nr <= 0:
            raise ModelUsageError(f"nr must be a positive number of pages, not {nr!r}")
        return self._op("reclaim", lambda: reclaim.try_to_free_mem_cgroup_pages(
            self, mg, nr, may_swap=bool(may_swap), exact=True), memcg=mg.index, nr=nr)

    def move_task(self, task: TaskLike, to: MemcgLike, move_charge: Union[bool, int] = True) -> None:
        """Move a task to another memcg; ``move_charge`` is the destination's
        move_charge_at_immigrate (True = anon and file, 1 = anon, 2 = file, False = none)."""
        t = self._task(task)
        mg = self._memcg(to)
        mask = (MOVE_CHARGE_TYPE_ANON | MOVE_CHARGE_TYPE_FILE) if move_charge is True \
            else int(move_charge)
        if not 0 <= mask <= 3:
            raise ModelUsageError(f"move_charge must be True, False or a mask 0..3, not {move_charge!r}")
        self._op("move_task", lambda: mem_cgroup_move_task(self, t, mg, mask),
                 memcg=mg.index)

    def exit_task(self, task: TaskLike) -> None:
        """The task exits: every pte is zapped (exit_mmap)."""
        t = self._task(task)
        self._op("exit_task", lambda: self.remove_task(t), memcg=t.memcg.index)

    def remove_task(self, t: Task) -> None:
        """do_exit of a task: exit_mmap zaps every pte, then the task is gone
        (a plain exit and an OOM kill end the same way)."""
        mm.exit_mmap(self, t)
        del self.tasks[t.name]
        del self.task_list[t.tid]

    def remove_memcg(self, memcg: MemcgLike) -> None:
        """rmdir of a memcg without tasks or children (mem_cgroup_css_offline).

        Its pages move to the parent (or root) with their charges; its swap
        records stay with the now offline memcg, which keeps their memsw
        charge until the slots are freed (or a swap-in charges the faulting
        task's memcg instead and drops the record).
        """
        mg = self._memcg(memcg)
        if mg.is_root:
            raise ModelUsageError("the root memcg cannot be removed")
        if mg.children:
            raise ModelUsageError(f"memcg {mg.name} has children (rmdir fails with -EBUSY)")
        busy = [t.name for t in self.tasks.values() if t.memcg is mg]
        if busy:
            raise ModelUsageError(f"memcg {mg.name} still has tasks "
                                  f"{', '.join(busy)} (rmdir fails with -EBUSY)")

        def run() -> None:
            mem_cgroup_css_offline(self, mg)
            del self.memcgs[mg.name]
        self._op("remove_memcg", run, memcg=mg.index, nr=0)

    def drain_stock(self) -> None:
        """drain_all_stock(): give stocked pre-charges back (charge_stock only)."""
        self._op("drain_stock", lambda: drain_stock(self), nr=0)

    # -- reading state --------------------------------------------------------------
    def counters(self) -> dict[str, dict[str, Any]]:
        """{memcg name: counters} in the shape of a timeline step record."""
        return {mg.name: mg.counters() for mg in self.memcg_list if mg.online}

    def check_invariants(self) -> None:
        """Check the invariants now (docs/kernel-rules.md, "Invariants");
        raises InvariantViolation naming each that fails, in words. It
        checks every frame, where the check after each operation
        (``check_invariants=True``) checks what the operation changed."""
        _check_all(self)

    def design_notes(self) -> list[str]:
        """Where this state departs from clean accounting, in words: 3.16
        breaks invariants only the 3.17 design keeps (a page uncharged while
        still in use, an uncharged page on a memcg's LRU); 3.17.0 names the
        charges mem_cgroup_migrate() stranded (``stranded``)."""
        if not self.stranded and self.ops.design == "3.17":
            return []                    # 3.17's notes name stranded charges only
        return self.ops.design_notes(self)

    def page_state(self, as_lists: bool = False) -> dict[str, Any]:
        """pfn-indexed arrays (and per-slot swap arrays) for the page grid.

        ``as_lists``: each array as a list (what a step record stores),
        made from the live arrays, with no copy first. A run that takes one
        at every step uses PageStateLists, which makes each from the last.
        """
        flags, arrays, slots = self._page_sources()
        # every page flag the grid shows, looked up at once: one row each
        shown = _SHOWN_BY_FLAGS.take(flags, axis=1)
        named = zip(_PFN_KEYS + _SLOT_KEYS, arrays + slots)
        out: dict[str, Any]
        if as_lists:
            out = {k: a.tolist() for k, a in named}
            out.update(zip(_SHOWN_KEYS, shown.tolist()))
            out["swap_entry"] = self.mem.private.tolist(self.mem.nr)
        else:
            out = {k: a.copy() for k, a in named}
            out.update(zip(_SHOWN_KEYS, shown))
            out["swap_entry"] = self.mem.private.array(self.mem.nr)
        out["memcg_names"] = [mg.name for mg in self.memcg_list]
        out["pcg_flag_names"] = dict(self.ops.pcg_flag_names)
        return {k: out[k] for k in _PAGE_STATE_KEYS}

    def _page_sources(self) -> tuple[Any, tuple[Any, ...], tuple[Any, ...]]:
        """What page_state() shows, as the live arrays: the page flags (its
        bool rows come from them), the other pfn-indexed arrays (_PFN_KEYS)
        and the per-slot swap arrays (_SLOT_KEYS)."""
        mem, sw = self.mem, self.swap
        return (mem.flags,
                (mem.refcount, mem.mapcount, mem.lru, mem.lru_memcg,
                 self.ops.pc_flags_view(mem.pc_flags), mem.pc_memcg),
                (sw.count, sw.cache, sw.cgroup))

    def nbytes(self) -> int:
        """Bytes of numpy state: mem_map, page_cgroup, swap, page tables."""
        return (self.mem.nbytes() + self.swap.nbytes()
                + sum(t.nbytes() for t in self.task_list.values()))

    # -- snapshot / restore -----------------------------------------------------------
    _NOT_STATE = ("events", "calls")

    def snapshot(self) -> dict[str, Any]:
        """A copy of the whole state (not the event log), for restore()."""
        state = {k: v for k, v in vars(self).items() if k not in self._NOT_STATE}
        snap = copy.deepcopy(state)
        snap["_events_len"] = len(self.events)
        snap["_calls_len"] = len(self.calls)
        return snap

    def restore(self, snap: dict[str, Any]) -> None:
        """Go back to a snapshot; later events are forgotten.

        Page/SwapEntry handles stay valid (they hold a pfn); memcg and task
        objects are replaced, so look them up again in ``memcgs``/``tasks``
        (machine methods also accept names).
        """
        if not isinstance(snap, dict) or "_events_len" not in snap:
            raise ModelUsageError("restore() takes what snapshot() returned")
        state = copy.deepcopy({k: v for k, v in snap.items()
                               if k not in ("_events_len", "_calls_len")})
        vars(self).update(state)
        self.events.truncate(snap["_events_len"])
        self.calls.truncate(snap.get("_calls_len", 0))

    def __repr__(self) -> str:
        return (f"<Machine {self.design}: {self.mem.nr - self.mem.nr_free}/"
                f"{self.mem.nr} pages used, {len(self.memcg_list)} memcgs, "
                f"{len(self.tasks)} tasks>")


class PageStateLists:
    """Machine.page_state(as_lists=True) at every step of a run, each made
    from the one before.

    The first take() is a whole page_state(). A later one shares with the
    last snapshot (records are read-only) what did not change: the bool
    rows of the page flags are the last ones, and where the flags changed
    (pages.changed_items finds the pages from the flags' bytes) a row whose
    cell changed is a copy with it set; a swap array is the last list while
    its bytes are equal; the swap cache slots and the memcg names (memcgs
    are only ever appended) are the last ones while equal. The other
    pfn-indexed arrays are listed again (at a few dozen frames that costs
    less than finding their changed cells). What take() returns is equal
    to page_state(as_lists=True) of the same moment
    (tests/scenario/test_page_snapshots.py checks it, as JSON, at every
    step of the shipped scenarios under both designs).
    """

    def __init__(self, m: Machine) -> None:
        self._m = m
        self._last: dict[str, Any] = {}          # the last snapshot taken
        self._flags = b""                        # its page flags, as bytes
        self._slots: list[bytes] = []            # its swap arrays, as bytes
        self._private: dict[int, int] = {}       # its swap cache slots, by pfn
        self._shown: dict[int, list[bool]] = {}  # flags value -> its rows' bools

    def take(self) -> dict[str, Any]:
        """The page state now, as page_state(as_lists=True) has it."""
        m, last = self._m, self._last
        flags, arrays, slots = m._page_sources()
        now, was = flags.tobytes(), self._flags
        self._flags = now
        private = m.mem.private.slot
        if len(now) != len(was):                 # the first
            self._slots = [a.tobytes() for a in slots]
            self._private = dict(private)
            out = self._last = m.page_state(as_lists=True)
            return out
        out = dict(last)
        out.update(zip(_PFN_KEYS, [a.tolist() for a in arrays]))
        if now != was:
            rows = [out[k] for k in _SHOWN_KEYS]
            copied = [False] * len(rows)
            for pfn in changed_items(now, was, flags.itemsize):
                bits = self._shown_by(flags.item(pfn))
                for r, row in enumerate(rows):
                    if row[pfn] is not bits[r]:      # (bools: one object each)
                        if not copied[r]:
                            rows[r] = row = row.copy()
                            copied[r] = True
                        row[pfn] = bits[r]
            out.update(zip(_SHOWN_KEYS, rows))
        for i, a in enumerate(slots):
            b = a.tobytes()
            if b != self._slots[i]:
                self._slots[i] = b
                out[_SLOT_KEYS[i]] = a.tolist()
        if private != self._private:
            self._private = dict(private)
            out["swap_entry"] = m.mem.private.tolist(m.mem.nr)
        if len(m.memcg_list) != len(out["memcg_names"]):
            out["memcg_names"] = [mg.name for mg in m.memcg_list]
        self._last = out
        return out

    def _shown_by(self, flags: int) -> list[bool]:
        """page_state()'s bools for a page with these flags, in _SHOWN_KEYS order."""
        shown = self._shown.get(flags)
        if shown is None:
            shown = self._shown[flags] = _SHOWN_BY_FLAGS[:, flags].tolist()
        return shown

