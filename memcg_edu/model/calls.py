"""The call log: every kernel function an mm operation runs, with the page's state at its return.

Not a kernel structure: it is what a function tracer on the v3.17 (or
v3.16) mm paths would show, one row per call, in the order the calls are
entered (a caller before its callees). Each row holds the function, its
nesting depth, the page (pfn) or swap slot it acts on, and that page's
fields when the call returns: _count, _mapcount + 1, the PG_ flags the
model keeps, page_cgroup's flags and mem_cgroup, and the LRU list it is
linked on. A memcg's counter row that changed is kept whole, as (mark,
memcg, where its row before is kept, the row after), where a mark is taken
at every call entry and return; the counters a call changed are the columns
that differ in the rows kept between its two marks (found when the log is
read).

Rows live in ``array`` buffers (an entry and a return row per call, one
row for a leaf: a few dozen bytes per call); Python dicts
are built only when a front-end reads a range (``records``, or later through
the ``CallRecords`` a scenario step keeps: ``since``).

Model code records a call in one of three ways:

* ``@kernel_call("put_page")`` on a model function that mirrors one
  kernel function (the page is its first argument after the machine);
* ``i = m.calls.enter("zap_pte_range", pfn)`` ... ``m.calls.leave(i)``
  around a stretch of code that stands for a kernel function;
* ``m.calls.leaf("page_add_new_anon_rmap", pfn)`` right after the line(s)
  that stand for a kernel function with no recorded callees (its state at
  entry is the page's latest recorded one: a leaf only where that holds).

Every name must be in KERNEL_FUNCTIONS (its file is a fact kept once).

A machine whose log is off (``enabled`` False: a long scenario run, a
comparison) records nothing, and while no log in the process records, a
``@kernel_call`` function runs its own code, with no wrapper frame to pass
through (the same function object: callers hold it, not a copy); the
first log to turn on gives each one its wrapper back (_recording_moved).
"""
from __future__ import annotations

import functools
import inspect
import json
import struct
import threading
from array import array
from bisect import bisect_right
from itertools import compress
from operator import ne
from types import CodeType, FunctionType
from collections import abc
from typing import (TYPE_CHECKING, Any, Callable, Collection, Iterator,
                    Mapping, Optional, Sequence, TypeVar, Union, overload)

import numpy as np

from ..errors import ModelUsageError
from .memcg import COLUMNS, LRU_NAMES
from .pages import (PG_active, PG_anon, PG_free, PG_locked, PG_lru,
                    PG_swapbacked, PG_swapcache, PG_unevictable, Page)
from .res_counter import RES_COUNTER_MAX

if TYPE_CHECKING:
    from .machine import Machine

__all__ = ["KERNEL_FUNCTIONS", "CallLog", "CallRecords", "kernel_call",
           "PG_NAMES", "STATE_FIELDS"]

#: kernel function -> the file that defines it (Linux 3.17; 3.16-only
#: functions of mm/memcontrol.c are marked in their words elsewhere)
KERNEL_FUNCTIONS: dict[str, str] = {
    # mm/memory.c
    "do_anonymous_page": "mm/memory.c",
    "do_swap_page": "mm/memory.c",
    "do_set_pte": "mm/memory.c",
    "zap_pte_range": "mm/memory.c",
    "unmap_mapping_range": "mm/memory.c",
    "copy_one_pte": "mm/memory.c",
    "tlb_flush_mmu": "mm/memory.c",
    # mm/mmap.c
    "exit_mmap": "mm/mmap.c",
    # include/linux/highmem.h, include/linux/mm.h, include/linux/pagemap.h
    "alloc_zeroed_user_highpage_movable": "include/linux/highmem.h",
    "get_page": "include/linux/mm.h",
    "put_page_testzero": "include/linux/mm.h",
    "page_cache_get": "include/linux/pagemap.h",
    "trylock_page": "include/linux/pagemap.h",
    # mm/page_alloc.c
    "alloc_pages": "mm/page_alloc.c",
    "free_hot_cold_page": "mm/page_alloc.c",
    "free_hot_cold_page_list": "mm/page_alloc.c",
    # mm/swap.c
    "put_page": "mm/swap.c",
    "__put_single_page": "mm/swap.c",
    "__page_cache_release": "mm/swap.c",
    "release_pages": "mm/swap.c",
    "lru_cache_add": "mm/swap.c",
    "del_page_from_lru_list": "include/linux/mm_inline.h",
    "lru_cache_add_anon": "mm/swap.c",
    "lru_cache_add_file": "mm/swap.c",
    "lru_cache_add_active_or_unevictable": "mm/swap.c",
    "__pagevec_lru_add_fn": "mm/swap.c",
    # mm/filemap.c
    "add_to_page_cache_lru": "mm/filemap.c",
    "__add_to_page_cache_locked": "mm/filemap.c",
    "__delete_from_page_cache": "mm/filemap.c",
    "delete_from_page_cache": "mm/filemap.c",
    "replace_page_cache_page": "mm/filemap.c",
    "lock_page": "mm/filemap.c",
    "unlock_page": "mm/filemap.c",
    "find_get_page": "mm/filemap.c",
    # mm/shmem.c
    "shmem_getpage_gfp": "mm/shmem.c",
    "shmem_add_to_page_cache": "mm/shmem.c",
    "shmem_writepage": "mm/shmem.c",
    "shmem_free_swap": "mm/shmem.c",
    # mm/rmap.c
    "page_add_new_anon_rmap": "mm/rmap.c",
    "do_page_add_anon_rmap": "mm/rmap.c",
    "page_add_anon_rmap": "mm/rmap.c",
    "page_dup_rmap": "include/linux/rmap.h",
    "page_add_file_rmap": "mm/rmap.c",
    "page_remove_rmap": "mm/rmap.c",
    "try_to_unmap": "mm/rmap.c",
    # mm/truncate.c
    "truncate_inode_page": "mm/truncate.c",
    # mm/swap_state.c
    "add_to_swap": "mm/swap_state.c",
    "__add_to_swap_cache": "mm/swap_state.c",
    "__delete_from_swap_cache": "mm/swap_state.c",
    "delete_from_swap_cache": "mm/swap_state.c",
    "free_pages_and_swap_cache": "mm/swap_state.c",
    "free_swap_cache": "mm/swap_state.c",
    "lookup_swap_cache": "mm/swap_state.c",
    "read_swap_cache_async": "mm/swap_state.c",
    # mm/swapfile.c
    "get_swap_page": "mm/swapfile.c",
    "swap_duplicate": "mm/swapfile.c",
    "swap_free": "mm/swapfile.c",
    "swapcache_free": "mm/swapfile.c",
    "swap_entry_free": "mm/swapfile.c",
    "try_to_free_swap": "mm/swapfile.c",
    "free_swap_and_cache": "mm/swapfile.c",
    # mm/page_cgroup.c
    "swap_cgroup_record": "mm/page_cgroup.c",
    # mm/vmscan.c
    "try_to_free_mem_cgroup_pages": "mm/vmscan.c",
    "shrink_lruvec": "mm/vmscan.c",
    "shrink_inactive_list": "mm/vmscan.c",
    "shrink_active_list": "mm/vmscan.c",
    "shrink_page_list": "mm/vmscan.c",
    "isolate_lru_page": "mm/vmscan.c",
    "__isolate_lru_page": "mm/vmscan.c",
    "putback_lru_page": "mm/vmscan.c",
    "putback_inactive_pages": "mm/vmscan.c",
    "move_active_pages_to_lru": "mm/vmscan.c",
    "pageout": "mm/vmscan.c",
    "__remove_mapping": "mm/vmscan.c",
    # mm/migrate.c
    "migrate_pages": "mm/migrate.c",
    "unmap_and_move": "mm/migrate.c",
    "__unmap_and_move": "mm/migrate.c",
    "move_to_new_page": "mm/migrate.c",
    "migrate_page_move_mapping": "mm/migrate.c",
    "migrate_page_copy": "mm/migrate.c",
    "remove_migration_ptes": "mm/migrate.c",
    # fs/fuse/dev.c
    "fuse_try_move_page": "fs/fuse/dev.c",
    # mm/memcontrol.c, 3.17
    "mem_cgroup_try_charge": "mm/memcontrol.c",
    "try_charge": "mm/memcontrol.c",
    "mem_cgroup_reclaim": "mm/memcontrol.c",
    "mem_cgroup_oom": "mm/memcontrol.c",
    "mem_cgroup_oom_synchronize": "mm/memcontrol.c",
    "mem_cgroup_out_of_memory": "mm/memcontrol.c",
    "oom_badness": "mm/oom_kill.c",
    "oom_kill_process": "mm/oom_kill.c",
    "mem_cgroup_commit_charge": "mm/memcontrol.c",
    "commit_charge": "mm/memcontrol.c",
    "mem_cgroup_charge_statistics": "mm/memcontrol.c",
    "mem_cgroup_cancel_charge": "mm/memcontrol.c",
    "cancel_charge": "mm/memcontrol.c",
    "mem_cgroup_uncharge": "mm/memcontrol.c",
    "mem_cgroup_uncharge_list": "mm/memcontrol.c",
    "uncharge_list": "mm/memcontrol.c",
    "uncharge_batch": "mm/memcontrol.c",
    "mem_cgroup_migrate": "mm/memcontrol.c",
    "mem_cgroup_swapout": "mm/memcontrol.c",
    "mem_cgroup_uncharge_swap": "mm/memcontrol.c",
    "mem_cgroup_page_lruvec": "mm/memcontrol.c",
    "lock_page_lru": "mm/memcontrol.c",
    "unlock_page_lru": "mm/memcontrol.c",
    "mem_cgroup_update_page_stat": "mm/memcontrol.c",
    "mem_cgroup_resize_limit": "mm/memcontrol.c",
    "mem_cgroup_resize_memsw_limit": "mm/memcontrol.c",
    "mem_cgroup_can_attach": "mm/memcontrol.c",
    "mem_cgroup_do_precharge": "mm/memcontrol.c",
    "mem_cgroup_move_task": "mm/memcontrol.c",
    "mem_cgroup_move_charge": "mm/memcontrol.c",
    "mem_cgroup_move_charge_pte_range": "mm/memcontrol.c",
    "mem_cgroup_move_account": "mm/memcontrol.c",
    "mem_cgroup_move_swap_account": "mm/memcontrol.c",
    "mem_cgroup_clear_mc": "mm/memcontrol.c",
    "__mem_cgroup_clear_mc": "mm/memcontrol.c",
    "mem_cgroup_css_offline": "mm/memcontrol.c",
    "drain_all_stock": "mm/memcontrol.c",
    # mm/memcontrol.c, 3.16 only
    "mem_cgroup_charge_anon": "mm/memcontrol.c",
    "mem_cgroup_charge_file": "mm/memcontrol.c",
    "__mem_cgroup_commit_charge": "mm/memcontrol.c",
    "mem_cgroup_try_charge_swapin": "mm/memcontrol.c",
    "__mem_cgroup_cancel_charge": "mm/memcontrol.c",
    "mem_cgroup_commit_charge_swapin": "mm/memcontrol.c",
    "mem_cgroup_cancel_charge_swapin": "mm/memcontrol.c",
    "try_get_mem_cgroup_from_page": "mm/memcontrol.c",
    "__mem_cgroup_uncharge_common": "mm/memcontrol.c",
    "mem_cgroup_do_uncharge": "mm/memcontrol.c",
    "mem_cgroup_uncharge_page": "mm/memcontrol.c",
    "mem_cgroup_uncharge_cache_page": "mm/memcontrol.c",
    "mem_cgroup_uncharge_start": "mm/memcontrol.c",
    "mem_cgroup_uncharge_end": "mm/memcontrol.c",
    "mem_cgroup_uncharge_swapcache": "mm/memcontrol.c",
    "mem_cgroup_prepare_migration": "mm/memcontrol.c",
    "mem_cgroup_end_migration": "mm/memcontrol.c",
    "mem_cgroup_replace_page_cache": "mm/memcontrol.c",
    "lock_page_cgroup": "include/linux/page_cgroup.h",
    "unlock_page_cgroup": "include/linux/page_cgroup.h",
}

_NAMES = list(KERNEL_FUNCTIONS)
_ID = {n: i for i, n in enumerate(_NAMES)}
_FILES = [KERNEL_FUNCTIONS[n] for n in _NAMES]

#: the PG_ flags a call's state lists (the model's page->flags bits; "free"
#: is PageBuddy: the frame is back in the page allocator)
PG_NAMES = ((PG_locked, "locked"), (PG_lru, "lru"), (PG_active, "active"),
            (PG_anon, "anon"), (PG_swapbacked, "swapbacked"),
            (PG_swapcache, "swapcache"), (PG_unevictable, "unevictable"),
            (PG_free, "free"))
#: the keys of a call's "state", in display order
STATE_FIELDS = ("count", "mapcount", "flags", "pcg", "mem_cgroup", "lru",
                "lruvec")

#: numbers kept per call at entry, and per return (see CallLog.__init__)
_E, _R = 13, 9
_PACK_E, _PACK_R = struct.Struct(f"{_E}q").pack, struct.Struct(f"{_R}q").pack
#: an entry's first six numbers, a return's first two, and the rest of
#: either for no page state (packed once)
_PACK_E6, _PACK_R2 = struct.Struct("6q").pack, struct.Struct("2q").pack
_NO_STATE_E = struct.pack("7q", -1, 0, 0, 0, -1, -1, -1)
_NO_STATE_R = struct.pack("7q", 0, 0, 0, 0, -1, -1, -1)
#: added to the function id of a leaf's entry: its one row, holding the
#: page's state at return (it has no return row)
_LEAF = 1 << 16
_FN = _LEAF - 1
_NCOL = len(COLUMNS)
_COLS = range(_NCOL)
_LIMIT_COLS = {COLUMNS.index("limit"), COLUMNS.index("memsw_limit")}
#: a fresh memcg's row (limits unlimited, everything else 0)
_FRESH_ROW = tuple(RES_COUNTER_MAX if c in _LIMIT_COLS else 0 for c in range(_NCOL))
#: about what a counter row change holds (a tuple of _NCOL ints and three
#: list entries), for nbytes()
_CHANGE_BYTES = 8 * (_NCOL + 20)

#: a string's JSON text, as json.dumps writes it (in C)
_enc: Callable[[str], str] = json.encoder.encode_basestring_ascii
#: a call's JSON text up to its depth, by function id
_PREFIX = [f'{{"fn": {_enc(n)}, "file": {_enc(f)}, "depth": '
           for n, f in zip(_NAMES, _FILES)]
#: '"usage": ' ... by column name
_COLUMN_KEYS = {c: f"{_enc(c)}: " for c in COLUMNS}
#: page states whose text is kept (then made again from none)
_STATES_KEPT = 1 << 14

#: CallRecords keeps a step's page labels and states before it whole up to
#: this many entries (bounded memory a step), else those of its calls' pages
_KEEP_WHOLE = 16

F = TypeVar("F", bound=Callable[..., Any])


class CallLog:
    """The calls of one Machine, as columns (see the module docstring)."""

    def __init__(self, machine: "Machine", enabled: bool = True) -> None:
        self._m = machine
        self._on = False
        self.enabled = enabled
        self.depth = 0
        # per call, in entry order, _E numbers: function id (+ _LEAF for a
        # leaf), depth, pfn, swap slot, mark at entry, number of returns
        # recorded before it, then the page's state at entry as below
        # (count -1: not known), or at return for a leaf
        self._e = array("q")
        # per return, in return order, _R numbers: call index, mark at
        # return, then the page's count, mapcount, flags, pc->flags,
        # pc->mem_cgroup, lru, lru memcg (zeros and -1 for no page)
        self._r = array("q")
        self._n = self._nr = 0           # calls and returns recorded
        # the calls and returns forget() dropped: call i is row i - first
        # of _e, return j row j - rfirst of _r
        self.first = self._rfirst = 0
        # counter row changes (a few a step, so plain lists: array.append
        # parses its argument, slower): the mark, the memcg, its row before
        # and its row now, whole (tuples: a copy costs less than packing it,
        # and the row before is the change before's, shared); the changed
        # columns are found only when the log is read (_changes); and each
        # memcg's row as its latest change left it
        self._c_mark: list[int] = []
        self._c_memcg: list[int] = []
        self._c_old: list[tuple[int, ...]] = []
        self._c_rows: list[tuple[int, ...]] = []
        self._c_latest: list[tuple[int, ...]] = []
        self._mark = 0
        # each memcg's row as last diffed, and the machine's live rows
        # (Machine.memcg_rows, a list that grows with each new memcg) it is
        # compared with: a new memcg makes the two lists differ in length
        self._last: list[list[int]] = []
        self._rows: list[list[int]] = machine.memcg_rows
        # the memcgs whose row the event log took from Machine.written since
        # the last diff
        self.written: set[int] = set()
        # memoryviews of the mem_map arrays a state reads (plain ints, fast;
        # None: to be made again, as after restore replaced the MemMap)
        self._views: Optional[tuple[memoryview, ...]] = None
        # where truncate() cut the log, in order (a CallRecords made before
        # a cut below its end can no longer be built)
        self.cuts: list[int] = []
        # PG_ and PCG_ names of a raw flags value, kept once made
        self._flag_cache: dict[int, tuple[str, ...]] = {}
        self._pcg_cache: dict[int, tuple[str, ...]] = {}
        # the JSON texts records_json is made of (None: to be made)
        self._texts: Optional[_Texts] = None

    @property
    def enabled(self) -> bool:
        """Whether calls are recorded (off: every call runs unrecorded)."""
        return self._on

    @enabled.setter
    def enabled(self, on: bool) -> None:
        on = bool(on)
        if on != self._on:
            # on: the @kernel_call functions get their wrapper before the
            # first call it would record (_recording_moved)
            if on:
                _recording_moved(+1)
            self._on = on
            if not on:
                _recording_moved(-1)

    def __del__(self) -> None:
        if self._on:                     # the last log on lets the wrappers go
            _recording_moved(-1)

    def __getstate__(self) -> dict[str, Any]:
        state = dict(vars(self))
        state["_on"] = False             # a copy turns on through enabled
        state["_copy_on"] = self._on
        return state

    def __setstate__(self, state: dict[str, Any]) -> None:
        on = state.pop("_copy_on")
        vars(self).update(state)
        self.enabled = on

    def __len__(self) -> int:
        return self._n

    # -- recording ------------------------------------------------------------
    # enter, leave and leaf run at every recorded call: each takes its mark
    # and reads the page's state inline, and diffs the counters only when a
    # row was written since the last diff, and only those rows
    # (Machine.written, marked by every writer of a row: a set test, where
    # comparing the rows at every mark cost about a sixth of the recording).
    def _changed(self, mark: int) -> None:
        """Log every counter row that changed since the last diff, at ``mark``."""
        m = self._m
        written, mine = m.written, self.written
        m.events.written |= written             # (see Machine.written)
        if mine:                                # rows the event log took first
            written |= mine
            mine.clear()
        rows, last, latest = self._rows, self._last, self._c_latest
        while len(last) < len(rows):            # a new memcg: a fresh row
            last.append(list(_FRESH_ROW))
            latest.append(_FRESH_ROW)
        for i in sorted(written) if len(written) > 1 else written:
            row = rows[i]
            if row == last[i]:                  # written back as it was
                continue
            # the row whole, and the row before: finding the changed columns
            # here would cost several times more, and most logs are never read
            now = tuple(row)
            self._c_mark.append(mark)
            self._c_memcg.append(i)
            self._c_old.append(latest[i])
            self._c_rows.append(now)
            latest[i] = now
            last[i][:] = row
        written.clear()

    def _state_arrays(self) -> tuple[np.ndarray, ...]:
        """The mem_map arrays of a page's state, in raw_state() order."""
        mem = self._m.mem
        return (mem.refcount, mem.mapcount, mem.flags, mem.pc_flags,
                mem.pc_memcg, mem.lru, mem.lru_memcg)

    def _page_views(self) -> tuple[memoryview, ...]:
        """The memoryviews of the mem_map arrays (see __init__)."""
        # numpy's stubs declare the buffer protocol only for Python >= 3.12
        self._views = tuple(memoryview(a)  # type: ignore[arg-type]
                            for a in self._state_arrays())
        return self._views

    def enter(self, fn: str, pfn: int = -1, slot: int = -1) -> int:
        """A call of kernel function ``fn`` on page ``pfn`` (or swap slot) begins.

        Returns its index for leave(); -1 when recording is off.
        """
        if not self._on:
            return -1
        f = _ID[fn]
        i = self._n
        self._n = i + 1
        mark = self._mark = self._mark + 1
        if self._m.written or self.written:  # a counter row was written
            self._changed(mark)
        if pfn < 0:
            self._e.frombytes(_PACK_E6(f, self.depth, pfn, slot, mark, self._nr)
                              + _NO_STATE_E)
        else:
            rc, mc, fl, pf, pm, lr, lm = self._views or self._page_views()
            self._e.frombytes(_PACK_E(f, self.depth, pfn, slot, mark, self._nr,
                                      rc[pfn], mc[pfn], fl[pfn], pf[pfn], pm[pfn],
                                      lr[pfn], lm[pfn]))
        self.depth += 1
        return i

    def set_page(self, i: int, pfn: int) -> None:
        """The page of call ``i`` became known inside it (a fault allocates it)."""
        if i >= 0:
            k = (i - self.first) * _E
            self._e[k + 2] = pfn
            self._e[k + 6] = -1                  # it had no state at entry

    def leave(self, i: int, pfn: Optional[int] = None) -> None:
        """Call ``i`` returns: store the mark and its page's state.

        ``pfn``: its page (-1: none) when the caller knows it; None: the
        page its entry (or set_page) gave it.
        """
        if i < 0:
            return
        if pfn is None:
            pfn = self._e[(i - self.first) * _E + 2]
        self.depth -= 1
        mark = self._mark = self._mark + 1
        if self._m.written or self.written:  # a counter row was written
            self._changed(mark)
        self._nr += 1
        if pfn < 0:
            self._r.frombytes(_PACK_R2(i, mark) + _NO_STATE_R)
        else:
            rc, mc, fl, pf, pm, lr, lm = self._views or self._page_views()
            self._r.frombytes(_PACK_R(i, mark, rc[pfn], mc[pfn], fl[pfn],
                                      pf[pfn], pm[pfn], lr[pfn], lm[pfn]))

    def leaf(self, fn: str, pfn: int = -1, slot: int = -1) -> None:
        """A call with no recorded callees, just done (state is the state now).

        Its counter changes, if any, are its caller's: its entry and return
        are one mark taken without a diff (the next diff finds them). Its
        state at entry is the page's latest recorded state. One row: its
        entry, with the state at return (_LEAF).
        """
        if not self._on:
            return
        mark = self._mark = self._mark + 1
        self._n += 1
        if pfn < 0:
            self._e.frombytes(_PACK_E6(_ID[fn] + _LEAF, self.depth, pfn, slot, mark,
                                       self._nr) + _NO_STATE_E)
        else:
            rc, mc, fl, pf, pm, lr, lm = self._views or self._page_views()
            self._e.frombytes(_PACK_E(_ID[fn] + _LEAF, self.depth, pfn, slot, mark,
                                      self._nr, rc[pfn], mc[pfn], fl[pfn], pf[pfn],
                                      pm[pfn], lr[pfn], lm[pfn]))

    def nbytes(self) -> int:
        """Bytes held by the log's buffers."""
        return sum(a.itemsize * len(a) for a in (self._e, self._r)) \
            + len(self._c_rows) * _CHANGE_BYTES

    def _row(self, i: int) -> int:
        """Where call ``i``'s numbers start in _e (a forgotten call raises)."""
        if i < self.first:
            raise ModelUsageError(
                f"kernel call {i} was forgotten: calls before {self.first} "
                "were dropped once written (CallLog.forget)")
        return (i - self.first) * _E

    def forget(self) -> None:
        """Forget every call recorded so far (a streaming writer wrote them).

        Between operations (no call open), so that a long run keeps the
        calls of one step, not of all: later calls keep their numbers
        (``len()`` counts every call recorded), and reading a forgotten one
        raises ModelUsageError. What the next diff compares with (each
        memcg's row as last diffed) stays: the next call's changes are the
        same as without the forget.
        """
        self.first, self._rfirst = self._n, self._nr
        del self._e[:]
        del self._r[:]
        # every change is at a mark before the next call's entry: none is
        # read again (_changes reads those after a call's entry mark)
        del self._c_mark[:]
        del self._c_memcg[:]
        del self._c_old[:]
        del self._c_rows[:]

    def truncate(self, n: int) -> None:
        """Forget calls from ``n`` on (Machine.restore, between operations)."""
        if n < len(self):
            at = self._row(n)
            self.cuts.append(n)
            mark, r0 = self._e[at + 4], self._e[at + 5]
            del self._e[at:]
            del self._r[(r0 - self._rfirst) * _R:]
            self._n, self._nr = n, r0
            cut = bisect_right(self._c_mark, mark)
            # each memcg's latest change that stays: the row before its
            # first change that goes (walked back to it)
            for k in range(len(self._c_mark) - 1, cut - 1, -1):
                self._c_latest[self._c_memcg[k]] = self._c_old[k]
            del self._c_mark[cut:]
            del self._c_memcg[cut:]
            del self._c_old[cut:]
            del self._c_rows[cut:]
        self.depth = 0
        self._rows = self._m.memcg_rows          # restore replaced the rows
        del self._c_latest[len(self._rows):]
        # each row as its latest change left it: the next diff, at the entry
        # of the next operation's first call (inside no call), logs what the
        # restore put back
        self._last = [list(row) for row in self._c_latest]
        self.written.clear()
        self.written.update(range(len(self._rows)))   # all compared next
        self._views = None                       # and the mem_map arrays

    # -- reading --------------------------------------------------------------
    def names(self, start: int = 0, stop: Optional[int] = None) -> list[str]:
        """Function names of calls [start, stop), in entry order."""
        stop = len(self) if stop is None else stop
        return [_NAMES[f & _FN] for f in self._e[self._row(start):self._row(stop):_E]]

    def depths(self, start: int = 0, stop: Optional[int] = None) -> list[int]:
        """Nesting depths of calls [start, stop) (0: entered by the mm operation)."""
        stop = len(self) if stop is None else stop
        return list(self._e[self._row(start) + 1:self._row(stop):_E])

    def pfns(self, start: int = 0, stop: Optional[int] = None) -> set[int]:
        """The pfns calls [start, stop) act on (-1: no page)."""
        stop = self._n if stop is None else stop
        return set(self._e[self._row(start) + 2:self._row(stop):_E])

    def state_now(self, pfn: int) -> dict[str, Any]:
        """The page's fields now, in the shape of a call's "state"."""
        return self._state_builder()[0](self.raw_state(pfn))

    def _pcg_names(self, raw: int) -> tuple[str, ...]:
        """PCG_ names (without the prefix) of a stored pc->flags byte, in
        this design's bit values (ops.pc_flags_view); kept per byte."""
        names = self._pcg_cache.get(raw)
        if names is None:
            ops = self._m.ops
            view = int(ops.pc_flags_view(np.array([raw], np.uint8))[0])
            names = self._pcg_cache[raw] = tuple(
                n[4:] for b, n in sorted(ops.pcg_flag_names.items()) if view & b)
        return names

    def raw_state(self, pfn: int) -> tuple[int, ...]:
        """The page's fields now as numbers (for ``records(before=...)``)."""
        return tuple(v[pfn] for v in self._views or self._page_views())

    def state_arrays_copy(self) -> list[np.ndarray]:
        """Every page's fields now, copied, as arrays in raw_state() order
        (a step's states before it, when most pages are labelled)."""
        return [a.copy() for a in self._state_arrays()]

    def raw_states(self, pfns: Collection[int]) -> dict[int, tuple[int, ...]]:
        """raw_state() of many pages (a step's labelled pages): pfn -> state."""
        if len(pfns) <= 8:
            rc, mc, fl, pf, pm, lr, lm = self._views or self._page_views()
            return {p: (rc[p], mc[p], fl[p], pf[p], pm[p], lr[p], lm[p]) for p in pfns}
        idx = np.fromiter(pfns, np.int64, len(pfns))
        cols = [a[idx].tolist() for a in self._state_arrays()]
        return dict(zip(idx.tolist(), zip(*cols)))

    def records(self, start: int = 0, stop: Optional[int] = None,
                labels: Optional[Mapping[int, str]] = None,
                before: Optional[Mapping[int, tuple[int, ...]]] = None
                ) -> list[dict[str, Any]]:
        """Calls [start, stop) as dicts, in entry order.

        Each: {"fn", "file", "depth", "page" (label from ``labels``, a
        pfn -> label map, or None), "pfn", "swap" (slot or None), "state"
        (the page's fields at return, None for a call on no page),
        "memcgs" ({memcg: {counter: value}} the call changed, itself or
        through its callees; limits None = unlimited), "was" (the old
        value of each state field and counter that changed: {"state":
        {...} or None when the page's earlier state is unknown, "memcgs":
        {...}})}. ``before`` gives pages' states before the first call
        (pfn -> raw_state()) so that their first call can say what it
        changed.

        The shape is written here and in records_json (their text);
        tests/model/test_calls.py holds the two equal.
        """
        labels = labels or {}
        state, field = self._state_builder()
        call_changes = self._call_changes
        out = []
        for f, depth, p, slot, now, then, changes in self._calls(start, stop, before):
            memcgs, was_mc = call_changes(changes) if changes else ({}, {})
            st = was_st = None
            if now is not None:
                st = state(now)
                if then is not None:
                    was_st = {} if then == now else {
                        name: field[j](then[j]) for j, name in enumerate(STATE_FIELDS)
                        if then[j] != now[j]}
            out.append({
                "fn": _NAMES[f], "file": _FILES[f], "depth": depth,
                "page": labels.get(p) if p >= 0 else None,
                "pfn": p if p >= 0 else None,
                "swap": slot if slot >= 0 else None,
                "state": st, "memcgs": memcgs,
                "was": {"state": was_st, "memcgs": was_mc}})
        return out

    def records_json(self, start: int = 0, stop: Optional[int] = None,
                     labels: Optional[Mapping[int, str]] = None,
                     before: Optional[Mapping[int, tuple[int, ...]]] = None) -> str:
        """``json.dumps(records(start, stop, labels, before))``, written
        directly (what `run --json` prints under "calls"): no call dict is
        made, and the text of a page state, of a "was" state and of a
        function's name and file is made once and kept (see _Texts)."""
        labels = labels or {}
        tx = self._text()
        state, was_state, call_changes = tx.state, tx.was_state, tx.changes
        enc, prefix = _enc, _PREFIX
        out = []
        for f, depth, p, slot, now, then, changes in self._calls(start, stop, before):
            memcgs, was_mc = call_changes(changes) if changes else ("{}", "{}")
            st = was_st = "null"
            if now is not None:
                st = state(now)
                if then is not None:
                    was_st = "{}" if then == now else was_state(then, now)
            if p >= 0:
                label = labels.get(p)
                page = "null" if label is None else enc(label)
                pfn = str(p)
            else:
                page = pfn = "null"
            swap = str(slot) if slot >= 0 else "null"
            out.append(f'{prefix[f]}{depth}, "page": {page}, "pfn": {pfn}, '
                       f'"swap": {swap}, "state": {st}, "memcgs": {memcgs}, '
                       f'"was": {{"state": {was_st}, "memcgs": {was_mc}}}}}')
        return "[" + ", ".join(out) + "]"

    def _calls(self, start: int, stop: Optional[int],
               before: Optional[Mapping[int, tuple[int, ...]]]
               ) -> Iterator[tuple[int, int, int, int, Optional[tuple[int, ...]],
                                   Optional[tuple[int, ...]],
                                   list[tuple[int, int, int, int]]]]:
        """Calls [start, stop) as records and records_json read them: per
        call, in entry order, (function id, depth, pfn, swap slot, the
        page's raw state at return (None: no page, or it never returned),
        its raw state before the call (None: not known), the counter
        changes made from its entry to its return (_changes))."""
        n = len(self)
        stop = n if stop is None else min(stop, n)
        if start >= stop:
            return
        count = stop - start
        # plain lists of the slices (a few dozen calls: no numpy round trip)
        at, end = self._row(start), self._row(stop)
        flat = self._e[at:end].tolist()
        entries = [flat[j:j + _E] for j in range(0, len(flat), _E)]
        # the returns of these calls: from the first one's entry to the
        # entry of call ``stop`` when that is a new operation's (depth 0:
        # every call before it has returned, or never will), else to now
        r1 = self._e[end + 5] if stop < n and self._e[end + 1] == 0 else self._nr
        rflat = self._r[(entries[0][5] - self._rfirst) * _R:(r1 - self._rfirst) * _R].tolist()
        # raw state at return (None: no page, or the call never returned
        # because an error ended the operation: it then ends at its entry)
        at_ret: list[Optional[tuple[int, ...]]] = [None] * count
        m_out = [e[4] for e in entries]
        returns = []                     # (mark, k) of returns with a page, in time order
        for j in range(0, len(rflat), _R):
            k = rflat[j] - start
            if 0 <= k < count:
                m_out[k] = rflat[j + 1]
                if entries[k][2] >= 0:
                    at_ret[k] = tuple(rflat[j + 2:j + _R])
                    returns.append((rflat[j + 1], k))
        # state at entry: as recorded at entry, else as the latest entry or
        # return on the page left it (entries and returns merged in mark
        # order, an entry before a return of the same mark), else ``before``
        known: dict[int, Optional[tuple[int, ...]]] = dict(before or {})
        at_entry: list[Optional[tuple[int, ...]]] = [None] * count
        ri, nr = 0, len(returns)
        for k, e in enumerate(entries):
            while ri < nr and returns[ri][0] < e[4]:
                kr = returns[ri][1]
                known[entries[kr][2]] = at_ret[kr]
                ri += 1
            p = e[2]
            if p < 0:
                continue
            if e[0] & _LEAF:                     # entered and returned at this mark
                at_entry[k] = known.get(p)
                at_ret[k] = known[p] = tuple(e[6:])
            elif e[6] >= 0:
                at_entry[k] = known[p] = tuple(e[6:])
            else:
                at_entry[k] = known.get(p)
        changes = self._changes(entries[0][4], max(m_out))
        marks = [c[0] for c in changes]
        for e, now, then, out in zip(entries, at_ret, at_entry, m_out):
            yield (e[0] & _FN, e[1], e[2], e[3], now, then,
                   changes[bisect_right(marks, e[4]):bisect_right(marks, out)])

    def since(self, start: int, labels: Mapping[int, str],
              before: Mapping[int, tuple[int, ...]]) -> "CallRecords":
        """Calls [start, now) as ``records(start, now, labels, before)``
        will give them, built when first read (a scenario step's "calls").

        ``labels`` and ``before`` may be kept as they are: do not change
        them afterwards."""
        return CallRecords(self, start, len(self), labels, before)

    def _state_builder(self) -> tuple[Callable[[Sequence[int]], dict[str, Any]],
                                      list[Callable[[int], Any]]]:
        """(state(raw) -> a call's "state" dict, one raw field -> its value
        for each of STATE_FIELDS), with name lookups cached."""
        names = [mg.name for mg in self._m.memcg_list]
        lruvec: dict[int, Optional[str]] = dict(enumerate(names))
        lruvec[-1] = None
        lru: dict[int, Optional[str]] = dict(enumerate(LRU_NAMES))
        lru[-1] = None
        flags = self._flag_cache
        pcg = self._pcg_names

        def flag_names(raw: int) -> list[str]:
            f = flags.get(raw)
            if f is None:
                f = flags[raw] = tuple(n for b, n in PG_NAMES if raw & b)
            return list(f)

        def state(v: Sequence[int]) -> dict[str, Any]:
            return {"count": v[0], "mapcount": v[1], "flags": flag_names(v[2]),
                    "pcg": list(pcg(v[3])), "mem_cgroup": names[v[4]],
                    "lru": lru[v[5]], "lruvec": lruvec[v[6]]}
        field: list[Callable[[int], Any]] = [
            int, int, flag_names, lambda raw: list(pcg(raw)), names.__getitem__,
            lru.__getitem__, lruvec.__getitem__]
        return state, field

    def _changes(self, lo: int, hi: int) -> list[tuple[int, int, int, int]]:
        """Counter changes with lo < mark <= hi: (mark, memcg << 8 | column,
        old, new), in mark, memcg and column order."""
        a = bisect_right(self._c_mark, lo)
        b = bisect_right(self._c_mark, hi)
        rows, olds = self._c_rows, self._c_old
        out = []
        for k in range(a, b):
            mark, base = self._c_mark[k], self._c_memcg[k] << 8
            new, old = rows[k], olds[k]
            # the changed columns, found in C (most rows change in one or two)
            out += [(mark, base | c, old[c], new[c])
                    for c in compress(_COLS, map(ne, new, old))]
        return out

    def _call_changes(self, changes: Sequence[tuple[int, int, int, int]]
                      ) -> tuple[dict[str, dict[str, Any]], dict[str, dict[str, Any]]]:
        """({memcg: {counter: new}}, {memcg: {counter: old}}) of some changes
        (memcgs in memcg_list order, counters in COLUMNS order)."""
        first: dict[int, int] = {}
        last: dict[int, int] = {}
        for _, key, was, now in changes:
            if key not in first:
                first[key] = was
            last[key] = now
        new_by: dict[str, dict[str, Any]] = {}
        old_by: dict[str, dict[str, Any]] = {}
        ml = self._m.memcg_list
        for key in sorted(last) if len(last) > 1 else last:
            was, now = first[key], last[key]
            if was == now:
                continue
            name, col = ml[key >> 8].name, key & 0xFF
            old: Optional[int] = was
            new: Optional[int] = now
            if col in _LIMIT_COLS:               # RES_COUNTER_MAX: unlimited
                old = None if was == RES_COUNTER_MAX else was
                new = None if now == RES_COUNTER_MAX else now
            c = COLUMNS[col]
            if name in new_by:
                new_by[name][c] = new
                old_by[name][c] = old
            else:
                new_by[name] = {c: new}
                old_by[name] = {c: old}
        return new_by, old_by

    def _text(self) -> "_Texts":
        """The JSON texts of states and counter changes (kept while no memcg
        is made: a state names its memcg)."""
        tx = self._texts
        if tx is None or tx.memcgs != len(self._m.memcg_list):
            tx = self._texts = _Texts(self)
        return tx


class _Texts:
    """The JSON texts records_json writes a CallLog's calls with: the text
    of each page state and "was" state made once (json.dumps of what
    records puts there), for the memcgs there are (a state names its
    memcg: made again when one is made)."""

    def __init__(self, log: CallLog) -> None:
        self.memcgs = len(log._m.memcg_list)
        self._state, self._field = log._state_builder()
        self._call_changes = log._call_changes
        self._states: dict[tuple[int, ...], str] = {}
        self._was: dict[tuple[tuple[int, ...], tuple[int, ...]], str] = {}
        self._open: dict[str, str] = {}          # '"A": {' by memcg name

    def state(self, v: tuple[int, ...]) -> str:
        """A call's "state" of a raw state."""
        t = self._states.get(v)
        if t is None:
            if len(self._states) >= _STATES_KEPT:
                self._states.clear()
            t = self._states[v] = json.dumps(self._state(v))
        return t

    def was_state(self, then: tuple[int, ...], now: tuple[int, ...]) -> str:
        """A call's "was" "state": the fields of ``then`` that differ from
        ``now`` (they differ)."""
        t = self._was.get((then, now))
        if t is None:
            if len(self._was) >= _STATES_KEPT:
                self._was.clear()
            field = self._field
            t = self._was[then, now] = json.dumps({
                name: field[j](then[j]) for j, name in enumerate(STATE_FIELDS)
                if then[j] != now[j]})
        return t

    def changes(self, changes: Sequence[tuple[int, int, int, int]]) -> tuple[str, str]:
        """A call's "memcgs" and "was" "memcgs" (CallLog._call_changes) as text."""
        new_by, old_by = self._call_changes(changes)
        return self._by_memcg(new_by), self._by_memcg(old_by)

    def _by_memcg(self, by: dict[str, dict[str, Any]]) -> str:
        """json.dumps of {memcg: {counter: value}} (values int or None)."""
        out = []
        for name, d in by.items():
            head = self._open.get(name)
            if head is None:
                head = self._open[name] = _enc(name) + ": {"
            out.append(head + ", ".join([_COLUMN_KEYS[c] + ("null" if v is None else str(v))
                                         for c, v in d.items()]) + "}")
        return "{" + ", ".join(out) + "}"


class CallRecords(abc.Sequence):  # type: ignore[type-arg]  # of call dicts
    """A range of calls as the list ``CallLog.records`` gives, built when first read.

    What a scenario step keeps under "calls": the range and the page labels
    and states before it that ``records`` needs (only for the pages the
    calls act on), so that a run pays for the dicts only of the steps a
    front-end opens. ``len()`` needs no build. It equals the list of the
    same dicts, and pickles and copies as that list; ``json.dumps`` needs
    ``default=memcg_edu.timeline.json_default`` (a plain list is written);
    ``json()`` gives that text without making the dicts (`run --json`).
    """

    __slots__ = ("_log", "_start", "_stop", "_cuts", "_labels", "_before",
                 "_list")

    def __init__(self, log: CallLog, start: int, stop: int,
                 labels: Mapping[int, str],
                 before: Mapping[int, tuple[int, ...]]) -> None:
        self._log: Optional[CallLog] = log
        self._start, self._stop, self._cuts = start, stop, len(log.cuts)
        if len(labels) + len(before) <= _KEEP_WHOLE:
            # a few pages (most steps): kept whole, which costs less than
            # finding the calls' pages (records() looks up only those); the
            # caller hands over mappings it no longer changes (see since)
            self._labels, self._before = labels, before
        else:
            pfns = log.pfns(start, stop)
            self._labels = {p: labels[p] for p in pfns if p in labels}
            self._before = {p: before[p] for p in pfns if p in before}
        self._list: Optional[list[dict[str, Any]]] = None

    def json(self) -> str:
        """``json.dumps`` of the list (CallLog.records_json: no dict made)."""
        if self._list is not None:
            return json.dumps(self._list)
        return self._kept_log().records_json(self._start, self._stop, self._labels,
                                             self._before)

    def _kept_log(self) -> CallLog:
        """The log, which still holds these calls (else ModelUsageError)."""
        log = self._log
        assert log is not None                       # dropped only once built
        if self._start < min(log.first, self._stop):     # (none: nothing to read)
            raise ModelUsageError(
                "these kernel calls were forgotten: a streaming run keeps "
                "a step's calls only until its next step (CallLog.forget)")
        if any(n < self._stop for n in log.cuts[self._cuts:]):
            raise ModelUsageError(
                "these kernel calls were forgotten: the machine was "
                "restored to a snapshot taken before them")
        return log

    def _built(self) -> list[dict[str, Any]]:
        if self._list is None:
            self._list = self._kept_log().records(self._start, self._stop,
                                                  self._labels, self._before)
            self._log = None                         # the machine is not pinned
            self._labels, self._before = {}, {}
        return self._list

    def __len__(self) -> int:
        return self._stop - self._start

    @overload
    def __getitem__(self, i: int) -> dict[str, Any]: ...
    @overload
    def __getitem__(self, i: slice) -> list[dict[str, Any]]: ...

    def __getitem__(self, i: Union[int, slice]
                    ) -> Union[dict[str, Any], list[dict[str, Any]]]:
        return self._built()[i]

    def __iter__(self) -> Iterator[dict[str, Any]]:
        return iter(self._built())

    def __eq__(self, other: object) -> bool:
        if isinstance(other, CallRecords):
            other = other._built()
        if not isinstance(other, list):
            return NotImplemented
        return self._built() == other

    __hash__ = None  # type: ignore[assignment]  # a list is not hashable either

    def __repr__(self) -> str:
        return repr(self._built())

    def __reduce__(self) -> tuple[Any, ...]:
        return (list, (self._built(),))


#: the wrapper kernel_call makes, as source: it takes the function's own
#: parameters (PARAMS, their defaults those of the function), so that it
#: passes them on as they came (ARGS), and one more, keyword-only, whose
#: default is (the function, its kernel name, Page); PAGE and SLOT name the
#: page and swap slot arguments (or are -1). A machine whose log is off
#: runs the function at the cost of one plain call; while no log records,
#: not even that (_recording_moved)
_WRAPPER = """
def wrapper(m, PARAMS, _kernel_call):
    log = m.calls
    if not log._on:
        return _kernel_call[0](m, ARGS)
    f, name, Page = _kernel_call
    p = PAGE
    if p.__class__ is Page:
        p = p.pfn
    i = log.enter(name, p, SLOT)
    try:
        return f(m, ARGS)
    finally:
        log.leave(i, p)
"""


@functools.lru_cache(maxsize=None)
def _wrapper_code(src: str) -> CodeType:
    """The code of _WRAPPER made for one parameter list, compiled once
    (most model functions take (m, pfn): compiling each costs more than
    their import)."""
    space: dict[str, Any] = {}
    exec(compile(src, "<kernel_call wrapper>", "exec"), space)
    code: CodeType = space["wrapper"].__code__
    return code


#: every @kernel_call function that can shed its wrapper: the function
#: object its module (or class) holds, which every caller calls, the
#: wrapper's code and the bare function's code
_SWITCHED: list[tuple[FunctionType, CodeType, CodeType]] = []
#: CallLogs on now, in every thread and machine
_recording = 0
_recording_lock = threading.Lock()


def _recording_moved(by: int) -> None:
    """A CallLog turned on (+1) or off (-1). While none is on, each
    @kernel_call function runs the bare function's own code: the same
    function object (whoever holds it, a module, a class or a table)
    without its wrapper's frame (some 5% of a scenario step's
    instructions when no call is recorded). The first log to turn on gives them their wrapper's
    code back before it records anything. One assignment each: a call in
    another thread meanwhile runs one code or the other, both whole."""
    global _recording
    with _recording_lock:
        was = _recording
        _recording = was + by
        if (was == 0) != (_recording == 0):
            bare = _recording == 0
            for fn, wrapped, own in _SWITCHED:
                fn.__code__ = own if bare else wrapped


def kernel_call(name: str, page: Optional[int] = 0,
                slot: Optional[int] = None) -> Callable[[F], F]:
    """Record each call of the decorated model function as kernel function ``name``.

    The function takes the Machine first; ``page`` is the index (after the
    machine) of its page argument (a pfn or Page), ``slot`` that of a swap
    slot argument; None for neither. Its other parameters are plain or
    keyword-only ones.
    """
    if name not in _ID:
        raise KeyError(f"{name} is not in KERNEL_FUNCTIONS")

    def deco(f: F) -> F:
        params = list(inspect.signature(f).parameters.values())[1:]
        text, args = [], []
        for prm in params:
            if prm.kind is prm.KEYWORD_ONLY:
                if "*" not in text:
                    text.append("*")
                args.append(f"{prm.name}={prm.name}")
            elif prm.kind is prm.POSITIONAL_OR_KEYWORD:
                args.append(prm.name)
            else:
                raise TypeError(f"{f.__name__}: kernel_call takes plain or "
                                f"keyword-only parameters, not {prm}")
            # (the value is the function's own: __defaults__, __kwdefaults__)
            text.append(prm.name if prm.default is prm.empty else f"{prm.name}=None")
        text.append("_kernel_call" if "*" in text else "*, _kernel_call")
        src = (_WRAPPER.replace("PARAMS, _kernel_call", ", ".join(text))
               .replace("ARGS", ", ".join(args))
               .replace("PAGE", "-1" if page is None else params[page].name)
               .replace("SLOT", "-1" if slot is None else params[slot].name))
        own: CodeType = f.__code__
        wrapped = _wrapper_code(src)
        # the function object every caller gets: the wrapper's code, in the
        # function's module, with its defaults (and the wrapper's own)
        fn = FunctionType(wrapped, f.__globals__, f.__name__, f.__defaults__)
        fn.__kwdefaults__ = {**(f.__kwdefaults__ or {}), "_kernel_call": (f, name, Page)}
        functools.wraps(f)(fn)
        # a function with a closure keeps its wrapper (a code object fits
        # only a function of as many closure cells)
        if not own.co_freevars:
            with _recording_lock:
                _SWITCHED.append((fn, wrapped, own))
                if not _recording:
                    fn.__code__ = own
        return fn  # type: ignore[return-value]  # f's signature, by functools.wraps
    return deco
