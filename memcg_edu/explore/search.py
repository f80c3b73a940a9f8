"""Exhaustive enumeration of the interleavings that the locks allow.

A search state is (World, each path's next step, each path's locals).
From a state every path whose next step is not blocked by a lock held by
another path may run that step; a step can branch (trylock failure is
decided by the state itself; a kernel outcome that can go either way is
a list of labels). States are memoised, so the number of interleavings
is counted on the state graph (a DAG: every step advances a path) rather
than by walking each interleaving, and each shipped race finishes in
well under a second.

Results: ``explored`` = complete interleavings (maximal schedules), and
``broken`` = those in which a step-level check fired or a final
invariant failed (memcg_edu.explore.invariants). The first broken
interleaving in deterministic order (lower path index first, branches
in the order the step lists them) is rebuilt as a step table.
"""
from __future__ import annotations

import sys
from collections import Counter
from typing import Any, Callable, Iterator

from .invariants import check_final, check_step
from .paths import END, CompiledPath, Ctx
from .state import StepViolation, World

__all__ = ["Search", "Transition"]

Progress = Callable[[int, "int | None"], None]


class Transition:
    """One step of one path from a search state."""

    __slots__ = ("path", "step", "world", "pcs", "locals", "violation")

    def __init__(self, path: int, step: int, world: World, pcs: tuple,
                 locals_: tuple, violation: tuple[str, str] | None) -> None:
        self.path, self.step, self.world = path, step, world
        self.pcs, self.locals, self.violation = pcs, locals_, violation


def _lock_name(lock: str, local: dict[str, Any]) -> str:
    """"pcg:$page" names the lock of the page in the local ``page``."""
    kind, _, obj = lock.partition(":")
    if obj.startswith("$"):
        return f"{kind}:{local[obj[1:]]}"
    return lock


def _freeze_local(d: dict[str, Any]) -> tuple:
    return tuple(sorted(d.items()))


class Search:
    """The state graph of some compiled paths acting on one World."""

    def __init__(self, world: World, paths: list[CompiledPath],
                 protections: frozenset[str], fixes: frozenset[str],
                 progress: Progress | None = None, every: int = 500) -> None:
        self.paths = paths
        self.protections, self.fixes = protections, fixes
        self.start = (world, tuple(0 for _ in paths),
                      tuple(_freeze_local(p.local) for p in paths))
        self.memo: dict[tuple, tuple[int, int, Counter]] = {}
        self.progress, self.every = progress, every

    # -- successors ------------------------------------------------------
    def transitions(self, world: World, pcs: tuple, locs: tuple) -> Iterator[Transition]:
        for i, path in enumerate(self.paths):
            pc = pcs[i]
            if pc >= path.end:
                continue
            step = path.steps[pc]
            local = dict(locs[i])
            takes = [_lock_name(l, local) for l in step.takes]
            if any(world.locks.get(l) is not None for l in takes):
                continue  # waits for a lock another path (or itself) holds
            w = world.copy()
            ctx = Ctx(path.name, local, self.protections, self.fixes)
            violation = None
            try:
                for l in takes:
                    w.take(l, path.name)
                nxt = step.run(w, ctx)
                for l in step.releases:
                    w.drop(_lock_name(l, ctx.local), path.name)
            except StepViolation as sv:
                violation, nxt = (sv.invariant, sv.message), END
            labels = nxt if isinstance(nxt, list) else [nxt]
            for label in labels:
                new_pc = pc + 1 if label is None else path.index[label]
                new_locs = locs[:i] + (_freeze_local(ctx.local),) + locs[i + 1:]
                new_pcs = pcs[:i] + (new_pc,) + pcs[i + 1:]
                v = violation or check_step(w)
                yield Transition(i, pc, w, new_pcs, new_locs, v)

    def _finished(self, pcs: tuple) -> bool:
        return all(pc >= p.end for pc, p in zip(pcs, self.paths))

    def _terminal(self, world: World, pcs: tuple) -> tuple[str, str] | None:
        if not self._finished(pcs):
            stuck = [p.name for pc, p in zip(pcs, self.paths) if pc < p.end]
            return ("deadlock", "no path can run: " + ", ".join(stuck) + " wait for locks")
        if world.locks:
            return ("lock", f"locks still held at the end: {world.locks}")
        return check_final(world)

    # -- counting --------------------------------------------------------
    def count(self, world: World, pcs: tuple, locs: tuple) -> tuple[int, int, Counter]:
        """(interleavings, broken, broken per invariant) from this state."""
        key = (world.key(), pcs, locs)
        hit = self.memo.get(key)
        if hit is not None:
            return hit
        total, broken, why = 0, 0, Counter[str]()
        any_move = False
        for t in self.transitions(world, pcs, locs):
            any_move = True
            if t.violation is not None:
                total, broken = total + 1, broken + 1
                why[t.violation[0]] += 1
                continue
            a, b, c = self.count(t.world, t.pcs, t.locals)
            total, broken = total + a, broken + b
            why.update(c)
        if not any_move:
            total = 1
            v = self._terminal(world, pcs)
            if v is not None:
                broken = 1
                why[v[0]] += 1
        res = (total, broken, why)
        self.memo[key] = res
        if self.progress is not None and len(self.memo) % self.every == 0:
            self.progress(len(self.memo), None)
        return res

    def run(self) -> tuple[int, int, Counter]:
        limit = sys.getrecursionlimit()
        sys.setrecursionlimit(max(limit, 10000))
        try:
            return self.count(*self.start)
        finally:
            sys.setrecursionlimit(limit)

    # -- the first broken interleaving ----------------------------------
    def first_broken(self, invariant: str | None = None) -> list[dict[str, Any]] | None:
        """Rebuild the first broken interleaving (optionally: the first that
        breaks ``invariant``) as step-table rows."""
        def bad(counts: tuple[int, int, Counter]) -> bool:
            return counts[1] > 0 if invariant is None else counts[2][invariant] > 0

        world, pcs, locs = self.start
        if not bad(self.count(world, pcs, locs)):
            return None
        rows: list[dict[str, Any]] = []
        while True:
            for t in self.transitions(world, pcs, locs):
                if t.violation is not None:
                    if invariant not in (None, t.violation[0]):
                        continue
                    rows.append(self._row(t, t.violation))
                    return rows
                if bad(self.count(t.world, t.pcs, t.locals)):
                    rows.append(self._row(t, None))
                    world, pcs, locs = t.world, t.pcs, t.locals
                    break
            else:
                v = self._terminal(world, pcs)
                if rows and v is not None:
                    rows[-1]["invariant"] = {"id": v[0], "message": v[1],
                                             "after": "complete interleaving"}
                return rows

    def _row(self, t: Transition, violation: tuple[str, str] | None) -> dict[str, Any]:
        path = self.paths[t.path]
        step = path.steps[t.step]
        return {"path": path.name, "step": step.label, "kernel": step.kernel,
                "locks": t.world.held_by(path.name),
                "state": t.world.snapshot(),
                "invariant": None if violation is None else
                {"id": violation[0], "message": violation[1], "after": "step"}}
