"""mem_map and the page_cgroup array: per page frame state in numpy arrays.

Stands for struct page (include/linux/mm_types.h), the page flags
(include/linux/page-flags.h), struct page_cgroup (include/linux/page_cgroup.h)
and the page allocator's free list (mm/page_alloc.c), Linux 3.17. One entry
per page frame number (pfn); a ``Page`` is only a (machine, pfn, generation)
handle, so millions of pages cost a few dozen bytes each.
"""
from __future__ import annotations

import sys
from typing import TYPE_CHECKING, Any

import numpy as np

from ..errors import KernelBugError, ModelUsageError
from .stack import IntStack

if TYPE_CHECKING:
    from .machine import Machine

__all__ = ["PG_locked", "PG_lru", "PG_active", "PG_anon", "PG_swapbacked",
           "PG_swapcache", "PG_unevictable", "PG_free", "PCG_USED", "PCG_MEM",
           "PCG_MEMSW", "PCG_FLAG_NAMES", "CHECKED_FIELDS", "changed_items", "SwapSlots",
           "PageFields", "MemMap", "Page"]

# page->flags bits that matter here. PG_anon stands for the PAGE_MAPPING_ANON
# bit of page->mapping (what PageAnon() tests); PG_free for PageBuddy.
PG_locked, PG_lru, PG_active, PG_anon = 1, 2, 4, 8
PG_swapbacked, PG_swapcache, PG_unevictable, PG_free = 16, 32, 64, 128

# page_cgroup flags, Linux 3.17: masks written as a whole word
PCG_USED, PCG_MEM, PCG_MEMSW = 0x01, 0x02, 0x04
PCG_FLAG_NAMES = {PCG_USED: "PCG_USED", PCG_MEM: "PCG_MEM", PCG_MEMSW: "PCG_MEMSW"}

NO_PFN = -1

#: the per-frame arrays the invariant checks read (lru_seq and gen they do
#: not), widest first: MemMap keeps them in one buffer, each aligned
CHECKED_FIELDS = ("refcount", "rmap_addr", "mapcount", "flags", "mapping", "lru_memcg",
                  "rmap_task", "pc_memcg", "lru", "pc_flags")


def changed_items(now: bytes, was: bytes, itemsize: int) -> list[int]:
    """Indexes of the items that differ between two arrays' bytes (of one
    length and item size), in order: each is the lowest set bit of the
    bytes XORed as one little-endian integer, a few integer operations per
    changed item whatever the length."""
    bits = 8 * itemsize
    x = int.from_bytes(now, "little") ^ int.from_bytes(was, "little")
    out, i = [], 0
    while x:
        skip = ((x & -x).bit_length() - 1) // bits     # unchanged items before it
        i += skip
        out.append(i)
        x >>= (skip + 1) * bits
        i += 1
    return out


class SwapSlots:
    """page_private() of the pages in the swap cache: their swap slot.

    Only a swap-cache page has one, so a dict of them stands in for a
    pfn-indexed array (which would cost 4 bytes for every frame).
    ``private[pfn]`` is the slot, or -1 for a page not in the swap cache
    (an array of pfns gives an array); ``private[pfn] = -1`` forgets it.
    """

    __slots__ = ("slot",)

    def __init__(self) -> None:
        self.slot: dict[int, int] = {}

    def __getitem__(self, pfn: Any) -> Any:
        if isinstance(pfn, np.ndarray):
            return np.array([self.slot.get(p, -1) for p in pfn.tolist()], np.int64)
        return self.slot.get(int(pfn), -1)

    def __setitem__(self, pfn: int, slot: int) -> None:
        if slot < 0:
            self.slot.pop(int(pfn), None)
        else:
            self.slot[int(pfn)] = int(slot)

    def array(self, nr: int) -> np.ndarray:
        """All of it as a pfn-indexed array (-1: not in the swap cache)."""
        out = np.full(nr, -1, np.int64)
        if self.slot:
            out[list(self.slot)] = list(self.slot.values())
        return out

    def tolist(self, nr: int) -> list[int]:
        """array(nr) as a list, made without numpy (a page snapshot's)."""
        out = [-1] * nr
        for pfn, slot in self.slot.items():
            out[pfn] = slot
        return out

    @property
    def nbytes(self) -> int:
        return sys.getsizeof(self.slot)


class PageFields:
    """MemMap's per-frame arrays as memoryviews of the same memory: one
    page's field read or written as a Python int (no numpy scalar), at no
    cost in bytes per page."""

    __slots__ = ("refcount", "mapcount", "flags", "mapping", "lru", "lru_memcg",
                 "lru_seq", "rmap_task", "rmap_addr", "gen", "pc_flags", "pc_memcg")

    def __init__(self, mem: "MemMap") -> None:
        # ndarray.data: a memoryview of the array's own buffer
        self.refcount, self.mapcount = mem.refcount.data, mem.mapcount.data
        self.flags, self.mapping = mem.flags.data, mem.mapping.data
        self.lru, self.lru_memcg = mem.lru.data, mem.lru_memcg.data
        self.lru_seq, self.gen = mem.lru_seq.data, mem.gen.data
        self.rmap_task, self.rmap_addr = mem.rmap_task.data, mem.rmap_addr.data
        self.pc_flags, self.pc_memcg = mem.pc_flags.data, mem.pc_memcg.data


class MemMap:
    """mem_map[] and page_cgroup[] for ``nr`` page frames, plus the free list.

    Arrays (pfn-indexed): refcount (_count), mapcount (_mapcount + 1), flags,
    mapping (file id for page cache, owning task id for anon, -1 = NULL),
    lru / lru_memcg / lru_seq (which list of which memcg's lruvec the page
    is linked on, and its age there), rmap_task / rmap_addr (first pte
    mapping it; more in Machine.rmap_extra, see mm.rmap_add), gen (bumped
    when freed, to catch stale handles), pc_flags / pc_memcg (struct
    page_cgroup). ``private`` (the swap slot while PG_swapcache) is a
    SwapSlots. 27 bytes per frame; the widths are the model's limits
    (docs/architecture.md, "Limits"). The arrays the invariant checks read
    (CHECKED_FIELDS) are views of one buffer, ``checked``.

    ``pg`` holds the same arrays as memoryviews (PageFields): a path that
    reads or writes one page's field goes through it (``mem.pg.flags[pfn]``
    is a Python int, where ``mem.flags[pfn]`` is a numpy scalar, several
    times slower to test, compute with and store); array code uses the
    arrays.

    The free list is a stack: frames never handed out (``fresh`` up to
    ``nr``, given lowest first) under the frames freed since (``freed``,
    the last freed given first), so a fresh machine hands out pfn 0, 1, 2,
    ... and a freed frame is reused first.
    """

    def __init__(self, nr: int) -> None:
        self.nr = nr
        self.refcount = np.zeros(nr, np.int32)
        self.mapcount = np.zeros(nr, np.int16)
        self.flags = np.full(nr, PG_free, np.uint16)
        self.mapping = np.full(nr, -1, np.int16)
        self.private = SwapSlots()
        self.lru = np.full(nr, -1, np.int8)
        self.lru_memcg = np.full(nr, -1, np.int16)
        self.lru_seq = np.zeros(nr, np.uint32)
        self.rmap_task = np.full(nr, -1, np.int16)
        self.rmap_addr = np.full(nr, -1, np.int32)
        self.gen = np.zeros(nr, np.uint8)
        self.pc_flags = np.zeros(nr, np.uint8)
        self.pc_memcg = np.zeros(nr, np.int16)
        self.fresh = 0
        self.freed = IntStack()
        self._join_checked()
        self.pg = PageFields(self)

    def _join_checked(self) -> None:
        """Move the arrays of CHECKED_FIELDS into one buffer, ``checked``,
        each array a view of its part (same values): the invariant check
        after each operation finds the frames it changed in one comparison
        of that buffer with its copy (invariants_touched.py)."""
        arrays = [getattr(self, name) for name in CHECKED_FIELDS]
        self.checked = np.empty(sum(a.nbytes for a in arrays), np.uint8)
        start = 0
        for name, a in zip(CHECKED_FIELDS, arrays):
            part = self.checked[start:start + a.nbytes].view(a.dtype)
            part[:] = a
            setattr(self, name, part)
            start += a.nbytes

    def __getstate__(self) -> dict[str, Any]:
        # a memoryview cannot be copied: a copy (Machine.snapshot) makes its
        # own, and joins its arrays again
        return {k: v for k, v in vars(self).items() if k not in ("pg", "checked")}

    def __setstate__(self, state: dict[str, Any]) -> None:
        vars(self).update(state)
        self._join_checked()
        self.pg = PageFields(self)

    @property
    def nr_free(self) -> int:
        return self.nr - self.fresh + len(self.freed)

    def arrays(self) -> dict[str, np.ndarray]:
        """The per-frame arrays by name (not ``checked``, which holds some of them)."""
        return {k: v for k, v in vars(self).items()
                if isinstance(v, np.ndarray) and k != "checked"}

    def nbytes(self) -> int:
        return (sum(a.nbytes for a in self.arrays().values())
                + self.freed.nbytes + self.private.nbytes)

    # -- the page allocator ---------------------------------------------
    def alloc(self, n: int) -> np.ndarray:
        """alloc_pages() for ``n`` order-0 pages: refcount 1, no flags."""
        if n > self.nr_free:
            raise ModelUsageError(
                f"out of simulated RAM: {n} page(s) wanted, {self.nr_free} of "
                f"{self.nr} frames free (create the Machine with more ram_pages)")
        k = min(n, len(self.freed))
        pfns = self.freed.pop(k)
        if n > k:                                # then frames never used yet
            fresh = np.arange(self.fresh, self.fresh + n - k, dtype=np.int32)
            self.fresh += n - k
            pfns = np.concatenate([pfns, fresh]) if k else fresh
        self.refcount[pfns] = 1
        self.mapcount[pfns] = 0
        self.flags[pfns] = 0
        self.mapping[pfns] = -1
        self.rmap_task[pfns] = -1
        self.rmap_addr[pfns] = -1
        return pfns

    def alloc_one(self) -> int:
        """alloc_pages() of one page, without the array overhead."""
        if self.freed.size:
            pfn = self.freed.pop_one()
        elif self.fresh < self.nr:
            pfn = self.fresh
            self.fresh += 1
        else:
            self.alloc(1)                        # raises the out-of-RAM error
        pg = self.pg
        pg.refcount[pfn] = 1
        pg.mapcount[pfn] = 0
        pg.flags[pfn] = 0
        pg.mapping[pfn] = -1
        pg.rmap_task[pfn] = pg.rmap_addr[pfn] = -1
        return pfn

    def _freeable(self, pfn: int) -> bool:
        """free_pages_check() passes: uncharged, unreferenced, unmapped, off the LRU."""
        pg = self.pg
        return not (pg.pc_flags[pfn] & PCG_USED or pg.refcount[pfn]
                    or pg.mapcount[pfn] or pg.flags[pfn] & PG_lru)

    def free_few(self, pfns: list[int]) -> None:
        """free() of a few pages, given as a list: page by page, without
        arrays (shrink_page_list's free list). Every page is checked first,
        so a bad one raises free()'s error before any page is freed."""
        if not all(map(self._freeable, pfns)):
            self.free(np.array(pfns))            # raises the bad-page error
        for pfn in pfns:
            self.free_one(pfn)

    def free_one(self, pfn: int) -> None:
        """free_hot_cold_page() of one page (same checks as free())."""
        pg = self.pg
        if not self._freeable(pfn):
            self.free(np.array([pfn]))           # raises the bad-page error
            return
        pg.flags[pfn] = PG_free
        pg.mapping[pfn] = -1
        if self.private.slot:                    # it may be in the swap cache
            self.private[pfn] = -1
        pg.gen[pfn] = (pg.gen[pfn] + 1) & 0xFF  # 8 bits, wraps
        self.freed.push_one(pfn)

    def free(self, pfns: np.ndarray) -> None:
        """free_hot_cold_page(): give frames back, after free_pages_check().

        A page that reaches the allocator still charged is the "cgroup check
        failed" bad page of mem_cgroup_bad_page_check() (I8).
        """
        bad = pfns[(self.pc_flags[pfns] & PCG_USED) != 0]
        if bad.size:
            raise KernelBugError(
                f"page {int(bad[0])} is being freed while its page_cgroup is "
                f"still PCG_USED", "mem_cgroup_bad_page_check(page) "
                "(\"cgroup check failed\")", "free_pages_check", "mm/page_alloc.c")
        busy = pfns[(self.refcount[pfns] != 0) | (self.mapcount[pfns] != 0)
                    | ((self.flags[pfns] & PG_lru) != 0)]
        if busy.size:
            raise KernelBugError(
                f"page {int(busy[0])} is being freed while still referenced, "
                f"mapped or on an LRU list", "bad_page(page)",
                "free_pages_check", "mm/page_alloc.c")
        self.flags[pfns] = PG_free
        self.mapping[pfns] = -1
        if self.private.slot:                    # none of them is in the swap cache
            for pfn in pfns.tolist():
                self.private[pfn] = -1
        self.gen[pfns] += 1                      # 8 bits, wraps
        self.freed.push(pfns)


class Page:
    """A handle on one page frame: a view, not a copy of its state.

    Compares equal to another handle of the same pfn and generation. A handle
    whose frame was freed (and maybe reused) is stale: using it raises
    ModelUsageError.
    """

    __slots__ = ("_m", "pfn", "gen")

    def __init__(self, machine: "Machine", pfn: int) -> None:
        self._m, self.pfn = machine, int(pfn)
        self.gen = machine.mem.pg.gen[self.pfn]

    def check(self) -> int:
        """The pfn, after making sure the handle still names a live page."""
        mem = self._m.mem
        if mem.pg.gen[self.pfn] != self.gen or mem.pg.flags[self.pfn] & PG_free:
            raise ModelUsageError(f"page {self.pfn} no longer exists: it was "
                                  f"freed (its last reference was dropped)")
        return self.pfn

    @property
    def alive(self) -> bool:
        mem = self._m.mem
        return (mem.pg.gen[self.pfn] == self.gen
                and not mem.pg.flags[self.pfn] & PG_free)

    def _flag(self, bit: int) -> bool:
        return bool(self._m.mem.flags[self.check()] & bit)

    refcount = property(lambda s: int(s._m.mem.refcount[s.check()]),
                        doc="page_count(page)")
    mapcount = property(lambda s: int(s._m.mem.mapcount[s.check()]),
                        doc="page_mapcount(page)")
    anon = property(lambda s: s._flag(PG_anon), doc="PageAnon(page)")
    lru = property(lambda s: s._flag(PG_lru), doc="PageLRU(page)")
    active = property(lambda s: s._flag(PG_active), doc="PageActive(page)")
    locked = property(lambda s: s._flag(PG_locked), doc="PageLocked(page)")
    swapcache = property(lambda s: s._flag(PG_swapcache), doc="PageSwapCache(page)")
    swapbacked = property(lambda s: s._flag(PG_swapbacked), doc="PageSwapBacked(page)")

    @property
    def pc_flags(self) -> int:
        """page_cgroup flags (PCG_USED | PCG_MEM | PCG_MEMSW)."""
        return int(self._m.mem.pc_flags[self.check()])

    @property
    def charged(self) -> bool:
        """PageCgroupUsed(pc)."""
        return bool(self.pc_flags & PCG_USED)

    @property
    def memcg(self) -> str:
        """Name of pc->mem_cgroup (kept after uncharge, as in the kernel)."""
        return self._m.memcg_list[int(self._m.mem.pc_memcg[self.check()])].name

    @property
    def lruvec(self) -> str | None:
        """Name of the memcg whose lruvec the page is linked on, or None."""
        i = int(self._m.mem.lru_memcg[self.check()])
        return None if i < 0 else self._m.memcg_list[i].name

    @property
    def file(self) -> Any:
        """page->mapping of a page-cache page: its File (regular or tmpfs), else None."""
        pfn = self.check()
        fid = int(self._m.mem.pg.mapping[pfn])
        if fid < 0 or self._m.mem.pg.flags[pfn] & PG_anon:
            return None
        return self._m.file_list[fid]

    @property
    def index(self) -> int | None:
        """page->index of a page-cache page: its offset in ``file``, else None."""
        f = self.file
        return None if f is None else f.offset_of[self.pfn]

    @property
    def swap_entry(self) -> Any:
        """The SwapEntry in page_private() while PageSwapCache, else None."""
        slot = int(self._m.mem.private[self.check()])
        return self._m.swap_entry(slot) if self.swapcache else None

    def __eq__(self, other: object) -> bool:
        return (isinstance(other, Page) and other._m is self._m
                and other.pfn == self.pfn and other.gen == self.gen)

    def __hash__(self) -> int:
        return hash((self.pfn, self.gen))

    def __repr__(self) -> str:
        if not self.alive:
            return f"<Page pfn {self.pfn} (freed)>"
        pc = "|".join(n for b, n in PCG_FLAG_NAMES.items() if self.pc_flags & b)
        return (f"<Page pfn {self.pfn}: count {self.refcount}, mapcount "
                f"{self.mapcount}, {'anon' if self.anon else 'file'}, "
                f"pc {pc or '0'} {self.memcg}>")
