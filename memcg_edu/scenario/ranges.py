"""Range steps: one scenario step that stands for N, run through the bulk paths.

A step with ``"count": N`` and "{i}" in its label fields stands for the N
steps with i = 0 .. N-1 (docs/scenario-format.md). The runner
(scenario/run.py) runs them one by one, exactly as if written out, except
where the model has a bulk path that gives the same state:

* ``fault_anon`` of N new labels: Machine.fault_anon_range (the N charges
  at once, when all fit without reclaim: model/bulk.py);
* ``unmap`` of N labels a range fault made, still mapped only by that task
  and named by no step since: Machine.unmap_range (one zap,
  release_pages batches).

The labels such a fault makes stay as arrays (a LabelRange) instead of N
Label objects, so that a million of them cost a few bytes each; a label
becomes a Label the first time a step names it on its own, or when a
step needs every live label.
"""
from __future__ import annotations

from typing import TYPE_CHECKING, Any, Optional

import numpy as np

from ..model import bulk
from ..model.pages import PG_free, PG_swapcache, Page
from .format import RANGE_INDEX
from .labels import PTE, Label, LabelTracker
from .load import range_index

if TYPE_CHECKING:
    from .ops import Context

__all__ = ["LabelRange", "fault_anon_range", "unmap_plan", "unmap_members"]


class LabelRange:
    """Labels template.replace("{i}", str(j)) for j < n: anonymous pages
    faulted by ``task`` at one step, the page of member j at ``pfns[j]``
    (generation ``gens[j]``) mapped at virtual page ``vaddrs[j]``.
    ``kept[j]``: member j is still here (not yet a Label, not freed)."""

    def __init__(self, m: Any, template: str, created: int, task: str,
                 pfns: np.ndarray, vaddrs: np.ndarray) -> None:
        self.m, self.created, self.task = m, created, task
        self.prefix, self.suffix = template.split(RANGE_INDEX)
        self.pfns = pfns.astype(np.int32)
        self.gens = m.mem.gen[pfns].copy()
        self.vaddrs = vaddrs.astype(np.int32)
        self.kept = np.ones(pfns.size, bool)
        self.freed_at = np.full(pfns.size, -1, np.int32)   # step that freed it
        self.fates: dict[int, str] = {}                    # step -> why

    def name(self, j: int) -> str:
        return f"{self.prefix}{j}{self.suffix}"

    def index_of(self, name: str) -> Optional[int]:
        """j such that name(j) == name, or None."""
        return range_index(name, self.prefix, self.suffix, self.pfns.size)

    def materialize(self, tr: LabelTracker, j: int) -> Label:
        """Member j as a Label from now on (a freed one as a retired Label)."""
        name = self.name(j)
        if name in tr.labels:
            return tr.labels[name]
        lab = Label(name, "anon", self.created)
        tr.labels[name] = lab
        if self.kept[j]:
            self.kept[j] = False
            lab.page = Page(self.m, int(self.pfns[j]))
            lab.maps[self.task], lab.vaddr[self.task] = PTE, int(self.vaddrs[j])
            tr._live[name] = lab
        else:
            step = int(self.freed_at[j])
            lab.fate, lab.unmapped[self.task] = self.fates[step], step
        return lab

    def materialize_all(self, tr: LabelTracker) -> None:
        for j in np.flatnonzero(self.kept).tolist():
            self.materialize(tr, j)

    def materialize_moved(self, tr: LabelTracker) -> None:
        """Members whose page is no longer where it was become Labels (for sync)."""
        kept = np.flatnonzero(self.kept)
        if not kept.size:
            return
        mem, task = self.m.mem, self.m.tasks.get(self.task)
        pfns, vs = self.pfns[kept], self.vaddrs[kept]
        same = (mem.gen[pfns] == self.gens[kept]) & ((mem.flags[pfns] & PG_free) == 0)
        if task is not None:
            same &= task.pte[vs] == pfns
        else:
            same[:] = False
        for j in kept[~same].tolist():
            self.materialize(tr, j)


def _single_index(template: Any) -> bool:
    return isinstance(template, str) and template.count(RANGE_INDEX) == 1


def fault_anon_range(ctx: "Context", i: int, st: dict) -> Optional[list]:
    """A fault_anon range step at once, or None when it must go step by step.

    Only when the N charges all fit without reclaim (bulk.charge_fits),
    so that the N faults cannot fail or reclaim: the state is then what N
    fault_anon steps leave.
    """
    m, tr, n = ctx.m, ctx.tr, st["count"]
    t = st["task"]
    if (n < 2 or not _single_index(st["page"]) or t in tr.exited
            or not m.ops.bulk_ok or n > m.mem.nr_free
            or not bulk.charge_fits(m, ctx.tasks[t].memcg, n)):
        return None
    task = ctx.tasks[t]
    pfns = m.fault_anon_range(task, n)
    r = LabelRange(m, st["page"], i, t, pfns, m.mem.rmap_addr[pfns])
    tr.ranges.append(r)
    return []


def unmap_plan(ctx: "Context", st: dict) -> Optional[tuple[LabelRange, np.ndarray]]:
    """For an unmap range step over a range fault's labels ("x{i}" over "x{i}"):
    the range and which of its first ``count`` members may be unmapped at
    once (kept as arrays, mapped by this task alone, no other reference);
    None when no member may."""
    m, tr, n = ctx.m, ctx.tr, st["count"]
    t = st["task"]
    if not _single_index(st["page"]) or t in tr.exited:
        return None
    for r in tr.ranges:
        if st["page"] != r.prefix + RANGE_INDEX + r.suffix:
            continue
        if r.task != t or n > r.pfns.size:
            return None
        mem = m.mem
        pfns = r.pfns[:n]
        ok = (r.kept[:n] & (mem.gen[pfns] == r.gens[:n]) & (mem.mapcount[pfns] == 1)
              & (mem.refcount[pfns] == 1)
              & ((mem.flags[pfns] & (PG_swapcache | PG_free)) == 0)
              & (ctx.tasks[t].pte[r.vaddrs[:n]] == pfns))
        return (r, ok) if ok.any() else None
    return None


def unmap_members(ctx: "Context", i: int, r: LabelRange, js: np.ndarray) -> None:
    """unmap of members ``js`` of ``r`` (unmap_plan said they may) at once:
    one zap, and each unmap is the final put of its page."""
    t = r.task
    ctx.m.unmap_range(ctx.tasks[t], r.pfns[js])
    r.kept[js] = False
    r.freed_at[js] = i
    r.fates[i] = f"it was freed at step {i} (unmap dropped its last reference)"
