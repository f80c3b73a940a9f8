"""Processes and files: struct task_struct / mm_struct page tables and address_space.

A Task stands for a thread-group leader that owns its mm (include/linux/
sched.h, mm_types.h): its page table is a growable int32 array indexed by a
virtual page number, holding a pfn (>= 0), a swap pte (-2 - slot) or
nothing (-1). A File stands for an address_space (page cache of one file or
tmpfs inode, include/linux/fs.h), mapping offsets to pfns, or to swap slots
for a swapped-out tmpfs page (the shmem radix-tree swap entry).
"""
from __future__ import annotations

from typing import TYPE_CHECKING, Any, Union, overload

import numpy as np
from numpy.typing import NDArray

from .stack import IntStack

if TYPE_CHECKING:
    from .memcg import MemCgroup
    from .pages import Page

__all__ = ["PTE_NONE", "swp_pte", "pte_slot", "Task", "File"]

PTE_NONE = -1


def swp_pte(slot: int) -> int:
    """The pte value of a swap entry for ``slot``."""
    return -2 - slot


@overload
def pte_slot(pte: int) -> int: ...
@overload
def pte_slot(pte: NDArray[np.int32]) -> NDArray[np.int32]: ...


def pte_slot(pte: Union[int, NDArray[np.int32]]) -> Union[int, NDArray[np.int32]]:
    """The swap slot of a swap pte (of each, for an array of ptes)."""
    return -2 - pte


class Task:
    """A process: name, memcg (of mm->owner) and page table."""

    def __init__(self, name: str, tid: int, memcg: "MemCgroup") -> None:
        self.name, self.tid, self.memcg = name, tid, memcg
        self.pte = np.full(16, PTE_NONE, np.int32)
        # one pte read or written as a Python int (the page-at-a-time
        # paths): a memoryview of ``pte``, made again when it grows
        self.pte_view = self.pte.data
        self.top = 0                    # virtual pages handed out so far
        self.free_v = IntStack()        # unmapped virtual pages, reused first

    def __getstate__(self) -> dict[str, Any]:
        # a memoryview cannot be copied (Machine.snapshot): a copy makes its own
        return {k: v for k, v in vars(self).items() if k != "pte_view"}

    def __setstate__(self, state: dict[str, Any]) -> None:
        vars(self).update(state)
        self.pte_view = self.pte.data

    def nbytes(self) -> int:
        return self.pte.nbytes + self.free_v.nbytes

    def alloc_vaddrs(self, n: int) -> np.ndarray:
        """Virtual page numbers for ``n`` new ptes, reusing unmapped ones first."""
        k = min(n, len(self.free_v))
        reused = self.free_v.pop(k)
        fresh = np.arange(self.top, self.top + n - k, dtype=np.int32)
        self.top += n - k
        if self.top > self.pte.size:
            grown = np.full(max(self.top, 2 * self.pte.size), PTE_NONE, np.int32)
            grown[:self.pte.size] = self.pte
            self.pte = grown
            self.pte_view = grown.data
        return np.concatenate([reused, fresh]) if k else fresh

    def alloc_vaddr(self) -> int:
        """One virtual page number: alloc_vaddrs(1)[0], without its arrays
        when an unmapped one is there to reuse."""
        if self.free_v.size:
            return self.free_v.pop_one()
        return int(self.alloc_vaddrs(1)[0])

    def free_vaddrs(self, v: np.ndarray) -> None:
        """munmap: the ptes are clear, the addresses may be reused."""
        self.free_v.push(v)

    def free_vaddr(self, v: int) -> None:
        """free_vaddrs of one virtual page, without its array."""
        self.free_v.push_one(v)

    def find(self, value: int) -> int:
        """The first virtual page whose pte holds ``value``, or -1."""
        # (the method, not np.flatnonzero: its three layers of Python
        # dispatch cost more than the compare of a small task's ptes)
        hits = (self.pte[:self.top] == value).nonzero()[0]
        return int(hits[0]) if hits.size else -1

    def address_of(self, page: "Page") -> int | None:
        """The first virtual page whose pte maps ``page`` (what rmap finds), or None."""
        v = self.find(page.pfn)
        return None if v < 0 else v

    def page_at(self, vaddr: int) -> int | None:
        """The pfn the pte at ``vaddr`` maps, or None (no pte, or a swap pte)."""
        pte = self.pte.item(vaddr) if 0 <= vaddr < self.top else PTE_NONE
        return pte if pte >= 0 else None

    def swap_slot_at(self, vaddr: int) -> int | None:
        """The swap slot of a swap pte at ``vaddr``, or None."""
        pte = self.pte.item(vaddr) if 0 <= vaddr < self.top else PTE_NONE
        return pte_slot(pte) if pte <= -2 else None

    def entries(self) -> np.ndarray:
        """Virtual pages with a pte (page or swap), in address order."""
        return np.flatnonzero(self.pte[:self.top] != PTE_NONE)

    def __repr__(self) -> str:
        return f"<Task {self.name} in {self.memcg.name}>"


class File:
    """An address_space: the page cache of one file (``shmem``: a tmpfs file)."""

    def __init__(self, name: str, fid: int, shmem: bool) -> None:
        self.name, self.fid, self.shmem = name, fid, shmem
        self.pages: dict[int, int] = {}      # offset -> pfn
        self.offset_of: dict[int, int] = {}  # pfn -> offset
        self.swap: dict[int, int] = {}       # offset -> swap slot (tmpfs)
        self.next_offset = 0

    def holds(self, offset: int) -> bool:
        """Is there a page or a swap entry at ``offset`` (find_get_entry finds one)?"""
        return offset in self.pages or offset in self.swap

    def swap_slot(self, offset: int) -> int | None:
        """The swap slot of a swapped-out tmpfs page at ``offset``, or None."""
        return self.swap.get(offset)

    def __repr__(self) -> str:
        return (f"<File {self.name}{' (tmpfs)' if self.shmem else ''}: "
                f"{len(self.pages)} page(s), {len(self.swap)} swapped>")
