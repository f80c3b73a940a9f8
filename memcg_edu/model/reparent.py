"""Removing a memory cgroup: mem_cgroup_css_offline -> mem_cgroup_reparent_charges
(mm/memcontrol.c, Linux 3.17).

rmdir of a memcg with no tasks and no children: the stock is drained
(drain_all_stock_sync), then every page on its LRU lists is moved to the
parent (the root if its counters have no parent) with
mem_cgroup_move_account() and the child's own counter levels are
uncharged (__mem_cgroup_cancel_local_charge); a hierarchical parent keeps
the charge. Swap records are not reparented: they keep the dead memcg and
its memsw charge until their slots are freed.
"""
from __future__ import annotations

from typing import TYPE_CHECKING

from .calls import kernel_call
from .lru import NR_LRU_LISTS, isolate_lru_page, lru_pages
from .memcg import MemCgroup
from .mm import get_page, put_page, putback_lru_page
from .stock import drain_stock

if TYPE_CHECKING:
    from .machine import Machine

__all__ = ["mem_cgroup_reparent_charges", "mem_cgroup_css_offline"]


def _cancel_local_charge(m: "Machine", memcg: MemCgroup, nr: int) -> None:
    """__mem_cgroup_cancel_local_charge(): uncharge this level only, not the parent."""
    memcg.res.uncharge(nr, top=memcg.res.parent)
    if m.swap_account:
        memcg.memsw.uncharge(nr, top=memcg.memsw.parent)


def mem_cgroup_reparent_charges(m: "Machine", memcg: MemCgroup) -> None:
    """mem_cgroup_reparent_charges(): every LRU page of ``memcg`` to its parent (mem_cgroup_move_parent)."""
    drain_stock(m)                               # drain_all_stock_sync
    parent = memcg.res.parent.owner if memcg.res.parent is not None else m.root
    for lru in range(NR_LRU_LISTS):
        for pfn in lru_pages(m, memcg.index, lru).tolist():
            get_page(m, pfn)                     # get_page_unless_zero
            if isolate_lru_page(m, pfn):
                if m.ops.move_account(m, pfn, memcg, parent):
                    _cancel_local_charge(m, memcg, 1)
                putback_lru_page(m, pfn)
            put_page(m, pfn)


@kernel_call("mem_cgroup_css_offline", page=None)
def mem_cgroup_css_offline(m: "Machine", memcg: MemCgroup) -> None:
    """mem_cgroup_css_offline(): take the memcg offline: reparent its pages; swap records stay with it."""
    mem_cgroup_reparent_charges(m, memcg)
    memcg.online = False
    if memcg.parent is not None:
        memcg.parent.children.remove(memcg)
