"""Swap slots, the swap cache and swap_cgroup: mm/swapfile.c, mm/swap_state.c,
mm/page_cgroup.c (Linux 3.17).

One swap device of ``nr`` slots. Per slot: the map count (swap_map without
the SWAP_HAS_CACHE bit), the cache bit, the swap_cgroup record (memcg index,
-1 for id 0 = no record) and the page in the swap cache for it.
"""
from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np

from ..errors import KernelBugError, ModelUsageError
from .calls import kernel_call
from .pages import PG_swapbacked, PG_swapcache

if TYPE_CHECKING:
    from .machine import Machine

__all__ = ["SwapInfo", "SwapEntry", "get_swap_page", "swap_duplicate",
           "swap_entry_free", "swap_free", "swapcache_free",
           "add_to_swap_cache", "__delete_from_swap_cache",
           "swap_cgroup_record", "lookup_swap_cgroup_id", "vm_swap_full"]


class SwapInfo:
    """struct swap_info_struct's swap_map plus swap_cgroup and the swap cache."""

    def __init__(self, nr: int) -> None:
        self.nr = nr
        self.count = np.zeros(nr, np.int16)
        self.cache = np.zeros(nr, np.bool_)
        self.cgroup = np.full(nr, -1, np.int16)
        self.page = np.full(nr, -1, np.int32)
        self.gen = np.zeros(nr, np.uint16)
        self.free_stack = np.arange(nr - 1, -1, -1, dtype=np.int32)
        self.nr_free = nr

    def nbytes(self) -> int:
        return sum(a.nbytes for a in vars(self).values()
                   if isinstance(a, np.ndarray))

    def in_use(self, slot: int) -> bool:
        return bool(self.count[slot] > 0 or self.cache[slot])


class SwapEntry:
    """A handle on one swap slot (swp_entry_t); stale once the slot is freed."""

    __slots__ = ("_m", "slot", "gen")

    def __init__(self, machine: "Machine", slot: int) -> None:
        self._m, self.slot = machine, int(slot)
        self.gen = int(machine.swap.gen[self.slot])

    def check(self) -> int:
        sw = self._m.swap
        if sw.gen[self.slot] != self.gen or not sw.in_use(self.slot):
            raise ModelUsageError(f"swap entry {self.slot} no longer exists: "
                                  f"its slot was freed")
        return self.slot

    @property
    def alive(self) -> bool:
        sw = self._m.swap
        return bool(sw.gen[self.slot] == self.gen and sw.in_use(self.slot))

    @property
    def count(self) -> int:
        """Map count of the slot (swap_map without SWAP_HAS_CACHE)."""
        return int(self._m.swap.count[self.check()])

    @property
    def in_swap_cache(self) -> bool:
        return bool(self._m.swap.cache[self.check()])

    @property
    def memcg(self) -> str | None:
        """Name of the memcg swap_cgroup records for this slot, or None."""
        i = int(self._m.swap.cgroup[self.check()])
        return None if i < 0 else self._m.memcg_list[i].name

    def __eq__(self, other: object) -> bool:
        return (isinstance(other, SwapEntry) and other._m is self._m
                and other.slot == self.slot and other.gen == self.gen)

    def __hash__(self) -> int:
        return hash(("swap", self.slot, self.gen))

    def __repr__(self) -> str:
        if not self.alive:
            return f"<SwapEntry {self.slot} (freed)>"
        return (f"<SwapEntry {self.slot}: count {self.count}, "
                f"{'cache, ' if self.in_swap_cache else ''}record {self.memcg}>")


def vm_swap_full(m: "Machine") -> bool:
    """vm_swap_full() (include/linux/swap.h): more than half of swap in use."""
    sw = m.swap
    return sw.nr > 0 and sw.nr_free * 2 < sw.nr


@kernel_call("get_swap_page", page=None)
def get_swap_page(m: "Machine") -> int:
    """get_swap_page() (mm/swapfile.c): a free slot with only SWAP_HAS_CACHE set, or -1."""
    sw = m.swap
    if sw.nr_free == 0:
        return -1
    sw.nr_free -= 1
    slot = int(sw.free_stack[sw.nr_free])
    sw.cache[slot] = True
    return slot


@kernel_call("swap_duplicate", page=None, slot=0)
def swap_duplicate(m: "Machine", slot: int) -> None:
    """swap_duplicate() (mm/swapfile.c): one more swap pte (or shmem entry) uses the slot."""
    sw = m.swap
    if not sw.in_use(slot):
        raise KernelBugError(f"swap slot {slot} is free",
                             "Bad swap file entry", "__swap_duplicate",
                             "mm/swapfile.c")
    sw.count[slot] += 1


@kernel_call("swap_entry_free", page=None, slot=0)
def swap_entry_free(m: "Machine", slot: int, cache: bool) -> int:
    """swap_entry_free() in mm/swapfile.c (Linux 3.17).

    Drops the SWAP_HAS_CACHE bit (``cache``) or one map reference. Whenever
    the map count is zero afterwards, mem_cgroup_uncharge_swap() runs (a
    no-op if the record is already clear); with no count and no cache bit
    left the slot is free. Returns the remaining count | cache.
    """
    sw = m.swap
    if cache:
        if not sw.cache[slot]:
            raise KernelBugError(f"swap slot {slot} has no swap-cache bit",
                                 "VM_BUG_ON(!has_cache)", "swap_entry_free",
                                 "mm/swapfile.c")
        sw.cache[slot] = False
    else:
        if sw.count[slot] <= 0:
            raise KernelBugError(f"swap slot {slot} has no map reference left",
                                 "Bad swap file entry", "swap_entry_free",
                                 "mm/swapfile.c")
        sw.count[slot] -= 1
    if sw.count[slot] == 0:
        m.ops.uncharge_swap(m, slot)
    if sw.count[slot] == 0 and not sw.cache[slot]:
        sw.gen[slot] += 1
        sw.free_stack[sw.nr_free] = slot
        sw.nr_free += 1
        return 0
    return int(sw.count[slot]) | (1 << 15 if sw.cache[slot] else 0)


@kernel_call("swap_free", page=None, slot=0)
def swap_free(m: "Machine", slot: int) -> int:
    """swap_free() (mm/swapfile.c): drop one map reference of the slot."""
    return swap_entry_free(m, slot, cache=False)


@kernel_call("swapcache_free", page=None, slot=0)
def swapcache_free(m: "Machine", slot: int) -> int:
    """swapcache_free() (mm/swapfile.c): drop the slot's SWAP_HAS_CACHE bit (3.17: no page argument)."""
    return swap_entry_free(m, slot, cache=True)


@kernel_call("__add_to_swap_cache", slot=1)
def add_to_swap_cache(m: "Machine", pfn: int, slot: int) -> None:
    """__add_to_swap_cache() (mm/swap_state.c): the swap cache takes a reference; PG_swapcache, private = slot."""
    mem = m.mem
    mem.pg.refcount[pfn] += 1
    mem.pg.flags[pfn] |= PG_swapcache | PG_swapbacked
    mem.private[pfn] = slot
    m.swap.page[slot] = pfn


@kernel_call("__delete_from_swap_cache")
def __delete_from_swap_cache(m: "Machine", pfn: int) -> int:
    """__delete_from_swap_cache() (mm/swap_state.c): unlink; the caller drops the cache reference. Returns the slot."""
    mem = m.mem
    slot = int(mem.private[pfn])
    mem.pg.flags[pfn] &= 0xFFFF ^ PG_swapcache
    mem.private[pfn] = -1
    m.swap.page[slot] = -1
    return slot


@kernel_call("swap_cgroup_record", page=None, slot=0)
def swap_cgroup_record(m: "Machine", slot: int, memcg: int) -> int:
    """swap_cgroup_record() (mm/page_cgroup.c): store a memcg (-1 = id 0) for the slot, return the old one."""
    old = int(m.swap.cgroup[slot])
    m.swap.cgroup[slot] = memcg
    return old


def lookup_swap_cgroup_id(m: "Machine", slot: int) -> int:
    """lookup_swap_cgroup_id() (mm/page_cgroup.c): the memcg recorded for a slot, -1 for none."""
    return int(m.swap.cgroup[slot])
