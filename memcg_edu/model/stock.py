"""The per-CPU charge stock of mm/memcontrol.c (Linux 3.17), one CPU.

consume_stock(), refill_stock() and drain_stock(): try_charge charges the
counters CHARGE_BATCH pages at a time and keeps the surplus here, so later
charges of the same memcg need no counter update. Off by default in the
Machine (``charge_stock=False``) so that usage counts pages exactly; the
stock never caches the root memcg (root is never charged in 3.17).
"""
from __future__ import annotations

from typing import TYPE_CHECKING, Optional

from .calls import kernel_call

if TYPE_CHECKING:
    from .machine import Machine
    from .memcg import MemCgroup

__all__ = ["CHARGE_BATCH", "Stock", "consume_stock", "refill_stock",
           "drain_stock"]

#: CHARGE_BATCH: pages charged at once when the stock is in use
CHARGE_BATCH = 32


class Stock:
    """struct memcg_stock_pcp of the one simulated CPU."""

    def __init__(self) -> None:
        self.cached: Optional[int] = None   # memcg index
        self.nr_pages = 0


def consume_stock(m: "Machine", memcg: "MemCgroup", nr_pages: int) -> bool:
    """consume_stock(): take ``nr_pages`` from the stock if it holds this memcg."""
    st = m.stock
    if nr_pages > CHARGE_BATCH:
        return False
    if st.cached == memcg.index and st.nr_pages >= nr_pages:
        st.nr_pages -= nr_pages
        return True
    return False


@kernel_call("drain_all_stock", page=None)
def drain_stock(m: "Machine") -> None:
    """drain_stock(): give the stocked pages back to the cached memcg's counters."""
    st = m.stock
    if st.nr_pages and st.cached is not None:
        old = m.memcg_list[st.cached]
        old.res.uncharge(st.nr_pages)
        if m.swap_account:
            old.memsw.uncharge(st.nr_pages)
    st.nr_pages = 0
    st.cached = None


def refill_stock(m: "Machine", memcg: "MemCgroup", nr_pages: int) -> None:
    """refill_stock(): park pre-charged pages, draining another memcg's first."""
    st = m.stock
    if st.cached != memcg.index:
        drain_stock(m)
        st.cached = memcg.index
    st.nr_pages += nr_pages
