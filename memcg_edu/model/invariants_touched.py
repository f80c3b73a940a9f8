"""Do all the invariants still hold? Asked of what changed since the last check.

Not kernel code. With ``Machine(check_invariants=True)`` the invariants
are checked after every operation, and an operation changes a few frames,
ptes and swap slots of a machine whose every other fact held a moment
ago. all_hold() keeps, for each machine, a copy of the bytes of every
array the checks read (MemMap.checked, the buffer holding the frame
arrays of pages.CHECKED_FIELDS; each task's ptes; the swap slots' arrays
of SLOT_FIELDS) and what they added up to (each frame's share of its
memcg's I2-I6 sums, the ptes of each pfn and slot, the swap records of
each memcg, the swap-cache pages, the ptes that are not their page's
first in the rmap). At each check it compares the arrays with their
copies, byte for byte: the frames, ptes and slots that differ are the
only ones whose facts can have changed, whoever wrote them, so nothing
has to mark what it writes and no write can go unseen (a frame array
rebound so that it is no longer a view of MemMap.checked is not trusted:
invariants_fast.py reads the machine). Only those are checked again and
their shares moved from the old sums to the new; the per-memcg checks
(_memcgs_hold), the swap-cache pages and the later ptes' rmap look-ups,
which read facts kept outside those arrays (counter rows, the stock,
page_private(), rmap_tid, tmpfs swap entries), are few and run in full
every time.

Its answer is all_hold()'s of invariants_fast.py (tests/model/
test_invariants_touched.py compares them, and the full checks, after
every operation of random runs and on broken states of both designs).
A no, or a state it does not sum (a new memcg, stranded charges, a value
beyond the machine), forgets the copies and asks invariants_fast.py; the
first check of a machine does too, then copies what it saw.
"""
from __future__ import annotations

from functools import lru_cache
from operator import attrgetter
from typing import TYPE_CHECKING, Optional
from weakref import ref

import numpy as np

from . import invariants as inv
from . import invariants_fast as fast
from .invariants_fast import (_BAD, _CACHED_FROM, _COUNTS, _FREE, _I7, _IN_SC,
                              _LIVE, _LOF, _MEMCG, _ON_LRU, _SPAN, _USED,
                              FAST_MAX_FRAMES, _flag_codes, _memcgs_hold,
                              _pair_facts)
from .mm import rmap_has
from .pages import (CHECKED_FIELDS, PCG_MEM, PCG_MEMSW, PCG_USED, MemMap, PageFields,
                    changed_items)
from .swap import SwapInfo

if TYPE_CHECKING:
    from .machine import Machine

__all__ = ["all_hold", "check_invariants", "SLOT_FIELDS"]

#: the SwapInfo arrays the checks read
SLOT_FIELDS = ("count", "cache", "cgroup", "page")
_NO_SHARE: tuple[int, ...] = ()
_NO_PTES = (b"", 0, b"")


class _CannotSum(Exception):
    """A state the sums of _Seen do not cover: invariants_fast.py reads it."""


@lru_cache(maxsize=8)
def _pfn_of_byte(nr: int, sizes: tuple[int, ...]) -> tuple[int, ...]:
    """The pfn of each byte of MemMap.checked, for arrays of ``nr`` items
    of these ``sizes`` (bytes) one after the other."""
    return tuple(p for size in sizes for p in range(nr) for _ in range(size))


class _Seen:
    """What the last check of one machine saw and summed."""

    def __init__(self, m: "Machine") -> None:
        mem, sw = m.mem, m.swap
        self.n_mg, self.nr, self.nr_slots = len(m.memcg_list), mem.nr, sw.nr
        self.full = PCG_USED | PCG_MEM | (PCG_MEMSW if m.swap_account else 0)
        self.i7 = "I7" not in m.ops.design_differences
        self.table = _pair_facts(self.full, self.i7)
        self.codes = _flag_codes().data
        #: the facts (a _pair_facts() column) of each key met so far
        self.facts: dict[int, tuple[int, ...]] = {}
        #: a copy of MemMap.checked (None: not seen yet, every frame is new)
        self.frames: Optional[np.ndarray] = None
        #: the arrays of CHECKED_FIELDS when they were last found to be
        #: views of MemMap.checked
        self.views: tuple[np.ndarray, ...] = ()
        self.view_ids: tuple[int, ...] = ()
        self.pfn_of: tuple[int, ...] = ()
        self.get_views = attrgetter(*CHECKED_FIELDS)
        #: the bytes of each array of SLOT_FIELDS (none yet: every slot is new)
        self.slots: tuple[bytes, ...] = ()
        self.get_slots = attrgetter(*SLOT_FIELDS)
        self.slot_sizes = [a.itemsize for a in self.get_slots(sw)]
        #: tid -> the bytes of its pte array, top, and the bytes of pte[:top]
        self.ptes: dict[int, tuple[bytes, int, bytes]] = {}
        #: each frame's _frame() by its fields, for the states met lately
        self.known: dict[tuple[int, ...], tuple[bool, tuple[int, ...], int, int]] = {}
        #: each frame charged (PCG_USED and live), and the I2-I6 sums it adds 1 to
        self.used = [0] * mem.nr
        self.share: list[tuple[int, ...]] = [_NO_SHARE] * mem.nr
        self.sums = [0] * (self.n_mg * _SPAN)
        self.swap_cache: set[int] = set()       # pfns live in the swap cache
        self.pfn_ptes = [0] * mem.nr
        self.slot_ptes = [0] * sw.nr
        self.mapped_by: dict[int, set[tuple[int, int]]] = {}   # pfn -> (tid, v)
        #: the ptes that are not their page's first in the rmap: (tid, v) -> pfn
        self.later: dict[tuple[int, int], int] = {}
        self.record = [-1] * sw.nr              # each slot's swap_cgroup record
        self.n_swap = [0] * self.n_mg
        self.named = [False] * sw.nr            # the slot names a page
        self.n_named = 0
        self.tmpfs: dict[int, int] = {}         # slot -> tmpfs entries

    def holds(self, m: "Machine") -> bool:
        """Compare the machine with what was seen, check what differs and
        move its shares; True when every invariant holds. Raises
        _CannotSum where the sums do not reach."""
        mem, sw = m.mem, m.swap
        if (len(m.memcg_list) != self.n_mg or m.stranded or mem.nr != self.nr
                or sw.nr != self.nr_slots):
            raise _CannotSum
        frames = self._frames_differ(mem)       # a field of theirs changed
        slots = self._slots_differ(sw)
        counted = self._ptes(m, slots)          # pfns whose pte count changed
        self._tmpfs(m, slots)
        ok = self._frames(m, frames, counted)
        ok = self._slots(m, slots) and ok
        if not ok:
            return False
        # the later ptes: the rmap beyond a page's first, read where it is
        if self.later and not all(rmap_has(m, p, tid, v)
                                  for (tid, v), p in self.later.items()):
            return False
        # swapcache, and I11 for charged swap-cache pages
        if self.n_named != len(self.swap_cache):
            return False
        used, slot_of, nr_slots = self.used, mem.private.slot, self.nr_slots
        for p in self.swap_cache:
            s = slot_of.get(p, -1)
            if not 0 <= s < nr_slots:
                raise _CannotSum                # numpy would read slot -1 or fail
            if ((used[p] and self.record[s] >= 0) or sw.page.item(s) != p
                    or not sw.cache.item(s)):
                return False
        return _memcgs_hold(m, self.sums, self.n_swap)

    def _frames_differ(self, mem: MemMap) -> set[int]:
        """The frames where an array of CHECKED_FIELDS differs from the copy
        of MemMap.checked (all of them without one); the copy takes the
        new bytes."""
        buf, views = mem.checked, self.get_views(mem)
        ids = tuple(map(id, views))      # (self.views keeps the ids taken)
        if ids != self.view_ids:         # other arrays: views of it, as pages.py makes them?
            if any(a.base is not buf for a in views):
                raise _CannotSum
            self.views, self.view_ids = views, ids
            self.pfn_of = _pfn_of_byte(mem.nr, tuple(a.itemsize for a in views))
        seen = self.frames
        if seen is None or seen.size != buf.size:
            self.frames = buf.copy()
            return set(range(mem.nr))
        bytes_ = (buf != seen).nonzero()[0].tolist()
        if bytes_:
            seen[:] = buf
        pfn_of = self.pfn_of
        return {pfn_of[b] for b in bytes_}

    def _slots_differ(self, sw: SwapInfo) -> set[int]:
        """The slots where an array of SLOT_FIELDS differs from its bytes
        last seen (all of them, the first time)."""
        now = tuple(map(np.ndarray.tobytes, self.get_slots(sw)))
        was, self.slots = self.slots, now
        if now == was:
            return set()
        if not was:
            return set(range(sw.nr))
        out: set[int] = set()
        for a, b, size in zip(now, was, self.slot_sizes):
            if a != b:
                out.update(changed_items(a, b, size))
        return out

    def _ptes(self, m: "Machine", slots: set[int]) -> set[int]:
        """Compare each task's ptes with the last seen; count the changed
        ones, adding the slots they count on to ``slots``; the pfns whose
        count changed, or whose rmap first may now be another pte."""
        counted: set[int] = set()
        seen, tasks = self.ptes, m.task_list
        for tid, task in tasks.items():
            # the whole array first: unchanged with the same top, nothing changed
            whole, top = task.pte.tobytes(), task.top
            was_whole, was_top, was = seen.get(tid, _NO_PTES)
            if whole == was_whole and top == was_top:
                continue
            now = whole[:4 * top]
            seen[tid] = whole, top, now
            if now == was:
                continue
            new, old = memoryview(now).cast("i"), memoryview(was).cast("i")
            if len(new) == len(old):     # (the top rarely moves)
                for v in changed_items(now, was, 4):
                    self._pte(tid, v, old[v], new[v], slots, counted)
                continue
            common = min(len(new), len(old))
            vs = changed_items(now[:4 * common], was[:4 * common], 4) if common else []
            for v in vs + list(range(common, max(len(new), len(old)))):
                self._pte(tid, v, old[v] if v < len(old) else -1,
                          new[v] if v < len(new) else -1, slots, counted)
        if seen.keys() != tasks.keys():
            for tid in [t for t in seen if t not in tasks]:     # exited
                for v, pte in enumerate(memoryview(seen.pop(tid)[2]).cast("i")):
                    self._pte(tid, v, pte, -1, slots, counted)
        return counted

    def _pte(self, tid: int, v: int, old: int, new: int, slots: set[int],
             counted: set[int]) -> None:
        """Pte ``v`` of task ``tid`` went from ``old`` to ``new``."""
        if old == new:
            return
        if old >= 0:
            self.pfn_ptes[old] -= 1
            self.mapped_by[old].discard((tid, v))
            self.later.pop((tid, v), None)
            counted.add(old)
        elif old <= -2 and -2 - old < self.nr_slots:   # beyond the device: not counted
            self.slot_ptes[-2 - old] -= 1
            slots.add(-2 - old)
        if new >= self.nr:
            raise _CannotSum                    # a pfn beyond the machine
        if new >= 0:
            self.pfn_ptes[new] += 1
            self.mapped_by.setdefault(new, set()).add((tid, v))
            counted.add(new)
        elif new <= -2 and -2 - new < self.nr_slots:
            self.slot_ptes[-2 - new] += 1
            slots.add(-2 - new)

    def _tmpfs(self, m: "Machine", slots: set[int]) -> None:
        """The tmpfs swap entries of each slot; the slots whose count changed
        join ``slots``."""
        now: dict[int, int] = {}
        for f in m.file_list.values():
            for s in f.swap.values():
                now[s] = now.get(s, 0) + 1
        if now != self.tmpfs:
            for s in now.keys() | self.tmpfs.keys():
                if now.get(s) != self.tmpfs.get(s):
                    if not 0 <= s < self.nr_slots:
                        raise _CannotSum        # numpy's count would fail
                    slots.add(s)
            self.tmpfs = now

    def _frames(self, m: "Machine", frames: set[int], counted: set[int]) -> bool:
        """Check the frames that changed or whose ptes did (I1, I6, I7, I8,
        mapcount, refcount) and move their shares of the sums."""
        pg, known, ok = m.mem.pg, self.known, True
        for p in frames | counted:
            values = (pg.flags[p], pg.pc_flags[p], pg.lru[p], pg.lru_memcg[p],
                      pg.pc_memcg[p], pg.mapcount[p], pg.refcount[p], pg.mapping[p],
                      self.pfn_ptes[p])
            got = known.get(values)
            if got is None:
                if len(known) > 4096:        # a few states recur; forget the rest
                    known.clear()
                got = known[values] = self._frame(*values)
            holds, share, in_sc, self.used[p] = got
            ok = ok and holds
            if in_sc:
                self.swap_cache.add(p)
            else:
                self.swap_cache.discard(p)
            old = self.share[p]
            if share != old:
                sums = self.sums
                for k in old:
                    sums[k] -= 1
                for k in share:
                    sums[k] += 1
                self.share[p] = share
            for tv in self.mapped_by.get(p, ()):   # its rmap first, or its ptes, moved
                self._later(pg, tv, p)
        return ok

    def _frame(self, flags: int, pc_flags: int, lru: int, lm: int, g: int,
               mapcount: int, r: int, mapping: int, ptes: int
               ) -> tuple[bool, tuple[int, ...], int, int]:
        """For a frame of these fields (and ``ptes`` mapping it): do its
        facts hold, the sums it adds 1 to, is it in the swap cache, is it
        charged? The tests of invariants_fast._all_hold on one frame."""
        key = self.codes[flags] | pc_flags
        f = self.facts.get(key)
        if f is None:
            f = self.facts[key] = tuple(self.table[:, key].tolist())
        holds = not (f[_BAD] or lru != f[_LOF] or (f[_ON_LRU] and lm != g)
                     or (f[_I7] and lm) or ptes != mapcount
                     or r < mapcount + f[_IN_SC] + (mapping >= f[_CACHED_FROM])
                     or r < f[_LIVE] or (r and f[_FREE]))
        base = g * f[_MEMCG]
        share = [c + base for c in f[_COUNTS:]]
        share[-1] += mapcount > 0
        if min(share) < 0 or max(share) >= len(self.sums):
            raise _CannotSum                # a memcg index beyond the memcgs
        return holds, tuple(share), f[_IN_SC], f[_USED]

    def _later(self, pg: PageFields, tv: tuple[int, int], p: int) -> None:
        """Is pte ``tv`` (task id, address) of page ``p`` its rmap first?"""
        first = (pg.rmap_task[p], pg.rmap_addr[p])
        if first == tv:
            self.later.pop(tv, None)
        else:
            self.later[tv] = p

    def _slots(self, m: "Machine", slots: set[int]) -> bool:
        """Check the slots that changed or whose users did (I11's records,
        swap_map) and move their swap records and the slots naming a page."""
        if not slots:
            return True
        sw, ok = m.swap, True
        count, cache, cgroup, page = (sw.count.data, sw.cache.data, sw.cgroup.data,
                                      sw.page.data)
        for s in slots:
            rec = cgroup[s]
            if rec >= self.n_mg:
                raise _CannotSum                # a memcg index beyond the memcgs
            if self.record[s] >= 0:
                self.n_swap[self.record[s]] -= 1
            if rec >= 0:
                self.n_swap[rec] += 1
            self.record[s] = rec
            named = page[s] >= 0
            self.n_named += named - self.named[s]
            self.named[s] = named
            n = count[s]
            if ((rec >= 0 and n == 0 and not cache[s])
                    or self.slot_ptes[s] + self.tmpfs.get(s, 0) != n):
                ok = False
        return ok


#: each machine's _Seen, while its last check said yes, by id(machine)
#: (with a weak reference to it: the entry goes when the machine does)
_SEEN: dict[int, tuple["ref[Machine]", _Seen]] = {}




def all_hold(m: "Machine") -> bool:
    """True when every invariant of invariants.INVARIANTS holds, else
    False: invariants_fast.all_hold()'s answer, found from what changed
    since this machine's last check when that check said yes."""
    entry = _SEEN.get(id(m))
    if entry is not None and entry[0]() is m:
        try:
            if entry[1].holds(m):
                return True
        except _CannotSum:
            pass
        del _SEEN[id(m)]                # a no is read in full, and so is what follows
    if not fast.all_hold(m):
        return False
    seen = _Seen(m)
    try:
        if seen.holds(m):               # sums everything: the copies start here
            key = id(m)
            _SEEN[key] = (ref(m, lambda _: _SEEN.pop(key, None)), seen)
    except _CannotSum:
        pass
    return True


def check_invariants(m: "Machine") -> None:
    """invariants.check_invariants(), which on a machine of up to
    FAST_MAX_FRAMES frames runs only when all_hold() says something is
    wrong: the same InvariantViolation, in the same words."""
    if m.mem.nr > FAST_MAX_FRAMES or not all_hold(m):
        inv.check_invariants(m)
