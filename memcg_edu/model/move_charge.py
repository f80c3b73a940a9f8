"""Moving a task's charges with it: move_charge_at_immigrate (mm/memcontrol.c, Linux 3.17).

mem_cgroup_can_attach() counts the task's ptes whose page (or swap entry)
is charged to the old memcg and precharges that many pages on the new one
(mem_cgroup_do_precharge: one bulk charge without reclaim, else page by
page with reclaim); if that fails the move is refused. mem_cgroup_move_task()
then walks the page table again (mem_cgroup_move_charge): pages are isolated
and moved with mem_cgroup_move_account(), swap entries with
mem_cgroup_move_swap_account(); mem_cgroup_clear_mc() settles the counters.
Bit 0 of the mask moves anonymous pages and their swap, bit 1 file and
tmpfs pages mapped by the task.
"""
from __future__ import annotations

from typing import TYPE_CHECKING, Optional

import numpy as np

from ..errors import MemcgOOM
from .lru import isolate_lru_page
from .memcg import MemCgroup
from .memcontrol import (cancel_charge, mem_cgroup_move_swap_account,
                         try_charge)
from .calls import kernel_call
from .mm import get_page, put_page, putback_lru_page
from .pages import PCG_USED, PG_anon
from .swap import lookup_swap_cgroup_id
from .tasks import Task, pte_slot

if TYPE_CHECKING:
    from .machine import Machine

__all__ = ["MOVE_CHARGE_TYPE_ANON", "MOVE_CHARGE_TYPE_FILE", "MoveCharge",
           "mem_cgroup_move_task"]

MOVE_CHARGE_TYPE_ANON, MOVE_CHARGE_TYPE_FILE = 1, 2


class MoveCharge:
    """The global ``mc`` of mm/memcontrol.c: from, to and the bookkeeping."""

    def __init__(self, from_: MemCgroup, to: MemCgroup, mask: int) -> None:
        self.from_, self.to, self.mask = from_, to, mask
        self.precharge = self.moved_charge = self.moved_swap = 0


def _target(m: "Machine", mc: MoveCharge, pte: int) -> Optional[tuple[str, int]]:
    """is_target_pte_for_mc(): ("page", pfn), ("swap", slot) or None."""
    mem = m.mem
    slot = -1
    if pte >= 0:                                 # mc_handle_present_pte
        pfn = pte
        if mem.pg.mapcount[pfn] == 0:
            return None
        anon = bool(mem.pg.flags[pfn] & PG_anon)
        if not mc.mask & (MOVE_CHARGE_TYPE_ANON if anon else MOVE_CHARGE_TYPE_FILE):
            return None
    else:                                        # mc_handle_swap_pte
        if not mc.mask & MOVE_CHARGE_TYPE_ANON:
            return None
        slot = pte_slot(pte)
        pfn = int(m.swap.page[slot])
    if (pfn >= 0 and mem.pg.pc_flags[pfn] & PCG_USED
            and mem.pg.pc_memcg[pfn] == mc.from_.index):
        return ("page", pfn)
    if slot >= 0 and m.swap_account and \
            lookup_swap_cgroup_id(m, slot) == mc.from_.index:
        return ("swap", slot)
    return None


@kernel_call("mem_cgroup_do_precharge", page=None)
def _do_precharge(m: "Machine", mc: MoveCharge, count: int) -> None:
    """mem_cgroup_do_precharge(): bulk without reclaim, else one by one with reclaim."""
    name = _CHARGE[m.design]
    i = m.calls.enter(name)
    try:
        try_charge(m, mc.to, count, may_wait=False)
        mc.precharge += count
        return
    except MemcgOOM:
        pass
    finally:
        m.calls.leave(i)
    for _ in range(count):
        i = m.calls.enter(name)
        try:
            try_charge(m, mc.to, 1)              # raises MemcgOOM on failure
        finally:
            m.calls.leave(i)
        mc.precharge += 1


#: the kernel's name of the helper __mem_cgroup_clear_mc cancels with, per design
_CANCEL = {"3.17": "cancel_charge", "3.16": "__mem_cgroup_cancel_charge"}
#: ... and of the static charge function mem_cgroup_do_precharge calls
_CHARGE = {"3.17": "try_charge", "3.16": "mem_cgroup_try_charge"}


def _cancel(m: "Machine", memcg: MemCgroup, nr: int) -> None:
    i = m.calls.enter(_CANCEL[m.design])
    cancel_charge(m, memcg, nr)
    m.calls.leave(i)
    m.events.record(_CANCEL[m.design], -1, memcg.index, nr)


@kernel_call("__mem_cgroup_clear_mc", page=None)
def _clear_mc(m: "Machine", mc: MoveCharge) -> None:
    """__mem_cgroup_clear_mc(): cancel leftovers, settle moved pages and swap."""
    if mc.precharge:                 # unused precharges on the new memcg
        _cancel(m, mc.to, mc.precharge)
        mc.precharge = 0
    if mc.moved_charge:              # move_account left the old memcg charged
        _cancel(m, mc.from_, mc.moved_charge)
        mc.moved_charge = 0
    if mc.moved_swap:
        if not mc.from_.is_root:
            mc.from_.memsw.uncharge(mc.moved_swap)
        mc.from_.swap_css_refs -= mc.moved_swap
        if not mc.to.is_root:
            mc.to.res.uncharge(mc.moved_swap)
        mc.moved_swap = 0
    m.events.record("mem_cgroup_clear_mc", -1, mc.to.index, 0)


def mem_cgroup_move_task(m: "Machine", task: Task, to: MemCgroup, mask: int) -> None:
    """mem_cgroup_can_attach() + mem_cgroup_move_task() (mm/memcontrol.c): attach ``task``.

    Moves its charges to ``to`` when ``mask`` asks for it. Mirrors
    mem_cgroup_can_attach() (precharge; raises MemcgOOM and leaves
    the task where it was if that fails), the attach itself and
    mem_cgroup_move_task() / mem_cgroup_move_charge() / mem_cgroup_clear_mc().
    Pages that cannot be isolated or locked stay charged to the old memcg.
    """
    from_ = task.memcg
    if from_ is to or not mask:
        task.memcg = to
        return
    mc = MoveCharge(from_, to, mask)
    vs = task.entries()
    calls = m.calls
    i = calls.enter("mem_cgroup_can_attach")
    try:
        count = sum(_target(m, mc, int(task.pte[v])) is not None for v in vs)
        if count:
            try:
                _do_precharge(m, mc, count)
            except MemcgOOM:
                _clear_mc(m, mc)
                raise
    finally:
        calls.leave(i)
    task.memcg = to
    i = calls.enter("mem_cgroup_move_task")
    j = calls.enter("mem_cgroup_move_charge")
    k = calls.enter("mem_cgroup_move_charge_pte_range")
    _move_charge_ptes(m, mc, task, vs)
    calls.leave(k)
    calls.leave(j)
    c = calls.enter("mem_cgroup_clear_mc")
    _clear_mc(m, mc)
    calls.leave(c)
    calls.leave(i)


def _move_charge_ptes(m: "Machine", mc: MoveCharge, task: Task, vs: np.ndarray) -> None:
    """mem_cgroup_move_charge_pte_range(): move each target pte's page or swap entry."""
    from_, to = mc.from_, mc.to
    for v in vs:
        pte = int(task.pte[v])
        target = _target(m, mc, pte)
        if target is None:
            continue
        if not mc.precharge:
            try:
                _do_precharge(m, mc, 1)
            except MemcgOOM:
                break
        kind, what = target
        if kind == "page":
            get_page(m, what)
            if isolate_lru_page(m, what):
                if m.ops.move_account(m, what, from_, to):
                    mc.precharge -= 1
                    mc.moved_charge += 1
                putback_lru_page(m, what)
            put_page(m, what)
        elif mem_cgroup_move_swap_account(m, what, from_, to):
            mc.precharge -= 1
            mc.moved_swap += 1
