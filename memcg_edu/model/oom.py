"""The memcg OOM killer of Linux 3.17: a charge in a page fault that cannot be made.

mm/memcontrol.c: mem_cgroup_oom() (try_charge remembers the OOM, but only
inside a user page fault), mem_cgroup_oom_synchronize() (at the end of the
fault: sleep when memory.oom_control has oom_kill_disable, else kill) and
mem_cgroup_out_of_memory() (the task of the memcg's subtree with the highest
badness). mm/oom_kill.c: oom_badness() and oom_kill_process(). mm/memory.c:
handle_mm_fault() brackets a user fault with mem_cgroup_oom_enable() and
mem_cgroup_oom_disable(); on VM_FAULT_OOM the arch fault handler calls
pagefault_out_of_memory(), which runs mem_cgroup_oom_synchronize(), and the
faulting instruction runs again: the fault is retried.

A charge outside a fault (read() and write() filling the page cache) never
reaches the killer: try_charge returns -ENOMEM to its caller.

>>> from memcg_edu.model import Machine
>>> m = Machine(ram_pages=16, swap_slots=0)
>>> a = m.create_memcg("A", limit=2)
>>> big, small = m.create_task("big", a), m.create_task("small", a)
>>> _ = m.fault_anon(big); _ = m.fault_anon(big)
>>> _ = m.fault_anon(small)            # no room, no swap: big (badness 2) is killed
>>> sorted(m.tasks), a.usage, m.oom_kills[-1]["victim"]
(['small'], 1, 'big')
"""
from __future__ import annotations

from typing import TYPE_CHECKING, Callable, Optional, TypeVar

import numpy as np

from ..errors import MemcgOOM
from .calls import kernel_call
from .memcg import MemCgroup
from .tasks import Task

if TYPE_CHECKING:
    from .machine import Machine

__all__ = ["MemcgOomState", "mem_cgroup_oom", "handle_mm_fault",
           "mem_cgroup_oom_synchronize", "mem_cgroup_out_of_memory",
           "oom_badness", "oom_kill_process"]

T = TypeVar("T")


class MemcgOomState:
    """current->memcg_oom of the faulting task (include/linux/sched.h).

    ``may_oom`` is set only while a user page fault runs; ``memcg`` is the
    memcg whose limit a charge in that fault could not get under (the css
    reference mem_cgroup_oom() takes), None when there is no pending OOM.
    """

    def __init__(self) -> None:
        self.may_oom = False
        self.memcg: Optional[MemCgroup] = None


@kernel_call("mem_cgroup_oom", page=None)
def mem_cgroup_oom(m: "Machine", memcg: MemCgroup, nr_pages: int) -> None:
    """Remember a memcg OOM for the end of the page fault.

    Mirrors mem_cgroup_oom() in mm/memcontrol.c (Linux 3.17), called by
    try_charge() once reclaim and the retries are spent. Outside a user
    page fault (``may_oom`` clear) it returns at once and the charge just
    fails with -ENOMEM. Inside one it does nothing but record the memcg:
    the charge path may hold locks, so killing or sleeping waits for
    mem_cgroup_oom_synchronize() after the fault has unwound.
    """
    if not m.memcg_oom.may_oom:              # not a user fault: -ENOMEM only
        return
    m.memcg_oom.memcg = memcg
    m.events.record("mem_cgroup_oom", -1, memcg.index, nr_pages)


def handle_mm_fault(m: "Machine", task: Task, fault: Callable[[], T]) -> T:
    """A user page fault with its memcg OOM handling, retried as the CPU would.

    Mirrors handle_mm_fault() in mm/memory.c (Linux 3.17), which turns
    ``may_oom`` on around a fault from user space (mem_cgroup_oom_enable /
    mem_cgroup_oom_disable), and the arch fault handler that calls
    pagefault_out_of_memory() -> mem_cgroup_oom_synchronize() on
    VM_FAULT_OOM and lets the instruction fault again. Each retry follows a
    kill, and every kill removes a task, so the loop ends. Raises MemcgOOM
    when the fault cannot complete (see mem_cgroup_oom_synchronize).
    """
    while True:
        m.memcg_oom.may_oom = True           # mem_cgroup_oom_enable()
        try:
            return fault()
        except MemcgOOM as e:
            failure = e
        finally:
            m.memcg_oom.may_oom = False      # mem_cgroup_oom_disable()
        memcg, m.memcg_oom.memcg = m.memcg_oom.memcg, None
        if memcg is None:                    # failed without mem_cgroup_oom()
            raise failure
        mem_cgroup_oom_synchronize(m, task, memcg, failure)


@kernel_call("mem_cgroup_oom_synchronize", page=None)
def mem_cgroup_oom_synchronize(m: "Machine", task: Task, memcg: MemCgroup,
                               failure: MemcgOOM) -> None:
    """Complete the memcg OOM a fault left behind: wait, or kill; then retry.

    Mirrors mem_cgroup_oom_synchronize() in mm/memcontrol.c (Linux 3.17),
    called with handle = true from pagefault_out_of_memory(). With oom_kill_disable set on ``memcg`` the kernel puts the task
    to sleep until an uncharge wakes it (memcg_oom_recover); the model
    cannot wait for another actor, so the fault fails with every counter
    as it was. Otherwise mem_cgroup_out_of_memory() picks and kills a
    victim and this returns, so the fault is retried - unless the victim
    is the faulting task, which dies on the way back to user space, or no
    task could be chosen.
    """
    m.events.record("mem_cgroup_oom_synchronize", -1, memcg.index, 0)
    entry = {"memcg": memcg.name, "task": task.name, "victim": None,
             "badness": 0, "outcome": ""}
    m.oom_kills.append(entry)
    if memcg.oom_kill_disable:               # userspace handles the OOM
        entry["outcome"] = "oom_kill_disable"
        raise MemcgOOM(failure.memcg, failure.nr_pages, failure.counter,
                       "oom_kill_disable")
    victim, points = mem_cgroup_out_of_memory(m, memcg)
    if victim is None:
        entry["outcome"] = "no_victim"
        raise MemcgOOM(failure.memcg, failure.nr_pages, failure.counter,
                       "no_victim")
    entry["victim"], entry["badness"] = victim.name, points
    oom_kill_process(m, victim, memcg, points)
    if victim is task:                       # SIGKILL: no retry for the dead
        entry["outcome"] = "killed"
        raise MemcgOOM(failure.memcg, failure.nr_pages, failure.counter,
                       "killed", task.name)
    entry["outcome"] = "retried"


@kernel_call("oom_badness", page=None)
def oom_badness(m: "Machine", task: Task) -> int:
    """How much memory killing ``task`` would give back, in pages.

    Mirrors oom_badness() in mm/oom_kill.c (Linux 3.17): the resident pages
    of the mm (get_mm_rss: every pte that maps a page, file or anon) plus
    its swap entries (MM_SWAPENTS). The kernel adds the page-table pages
    (the model has none), takes 3% off for CAP_SYS_ADMIN tasks and applies
    oom_score_adj (the model's tasks have neither); an eligible task never
    scores 0, so a task with nothing mapped still scores 1.
    """
    ptes = task.pte[:task.top]
    rss = int(np.count_nonzero(ptes >= 0))
    swapents = int(np.count_nonzero(ptes <= -2))
    return max(rss + swapents, 1)


@kernel_call("mem_cgroup_out_of_memory", page=None)
def mem_cgroup_out_of_memory(m: "Machine", memcg: MemCgroup
                             ) -> tuple[Optional[Task], int]:
    """Choose the victim of a memcg OOM: (task, badness), or (None, 0).

    Mirrors mem_cgroup_out_of_memory() in mm/memcontrol.c (Linux 3.17): it
    walks the memcg's hierarchy (for_each_mem_cgroup_tree: the subtree with
    use_hierarchy, else the memcg alone) and every task in each, keeping
    the highest oom_badness(); on a tie the task found first stays chosen
    (the kernel prefers thread-group leaders, and every model task is one).
    The model has no dying tasks, so the "current is exiting" shortcut and
    OOM_SCAN_ABORT never apply.
    """
    m.events.record("mem_cgroup_out_of_memory", -1, memcg.index, 0)
    chosen: Optional[Task] = None
    chosen_points = 0
    for iter_ in memcg.hierarchy():
        for task in m.task_list.values():    # css_task_iter over iter_
            if task.memcg is not iter_:
                continue
            points = oom_badness(m, task)
            if points > chosen_points:
                chosen, chosen_points = task, points
    return chosen, chosen_points


@kernel_call("oom_kill_process", page=None)
def oom_kill_process(m: "Machine", victim: Task, memcg: MemCgroup,
                     points: int) -> None:
    """Kill the victim: its mappings and swap references go as at exit.

    Mirrors oom_kill_process() in mm/oom_kill.c (Linux 3.17), which sends
    SIGKILL and sets TIF_MEMDIE; the victim then exits and exit_mmap()
    zaps every pte. The model runs that exit at once, so every page and
    swap slot only the victim held is freed and uncharged now.
    """
    m.events.record("oom_kill_process", -1, victim.memcg.index, points)
    m.remove_task(victim)
