"""Per-step counters of two designs side by side, with the differing cells marked.

Works on two memcg_edu.timeline.Timeline objects of the same scenario (one
step record per scenario step in each); it stands for no kernel file, only
for the user-visible cgroup v1 files (memory.usage_in_bytes,
memory.memsw.usage_in_bytes, memory.stat) that the two kernels would show.
"""
from __future__ import annotations

import functools
import operator
from collections.abc import Callable, Mapping, Sequence
from typing import Any

from ..errors import ModelUsageError
from ..timeline import COUNTERS, STATS, Timeline

__all__ = ["SHOWN", "counter_value", "diff_steps", "diff_row", "step_differs", "StepDiffers",
           "stand_in", "read_counters", "calls_of"]

#: Counters a side-by-side table shows by default (pages / events).
SHOWN = ("usage", "memsw_usage", "rss", "cache", "swap", "pgpgin", "pgpgout")


def counter_value(record: Mapping[str, Any] | None, name: str) -> Any:
    """One counter of one memcg's record (``None`` if absent or unlimited)."""
    if record is None:
        return None
    if name in _STAT_NAMES:
        return (record.get("stat") or {}).get(name)
    return record.get(name)


_STAT_NAMES = frozenset(STATS)
#: the keys of a memcg's record that hold only counters (read_counters)
_PLAIN = frozenset(COUNTERS) | {"stat"}


def _getter(keys: tuple[str, ...]) -> Callable[[Mapping[str, Any]], tuple]:
    """record -> (record[k] for k in keys), as a tuple (KeyError if one is missing)."""
    if len(keys) == 1:
        key = keys[0]
        return lambda r: (r[key],)
    return operator.itemgetter(*keys) if keys else (lambda r: ())


@functools.lru_cache(maxsize=None)
def read_counters(counters: tuple[str, ...]
                  ) -> Callable[[Mapping[str, Any] | None], tuple[Any, ...]]:
    """A function giving counter_value of each of ``counters`` for a memcg's
    record, in that order, as a tuple (read in one pass: a long comparison
    reads millions)."""
    tops = tuple(c for c in counters if c not in _STAT_NAMES)
    stats = tuple(c for c in counters if c in _STAT_NAMES)
    order = [(tops + stats).index(c) for c in counters]
    same_order = order == list(range(len(counters)))
    get_tops, get_stats = _getter(tops), _getter(stats)
    absent = (None,) * len(counters)

    def read(record: Mapping[str, Any] | None) -> tuple[Any, ...]:
        if record is None:
            return absent
        try:                                 # every counter there: at C speed
            values = get_tops(record) + get_stats(record["stat"])
        except (KeyError, TypeError):        # some missing (None), or no "stat"
            stat = record.get("stat") or {}
            values = (*map(record.get, tops), *map(stat.get, stats))
        return values if same_order else tuple(values[k] for k in order)
    return read


def calls_of(record: Mapping[str, Any], op: Any) -> list[str]:
    """The kernel functions a step called, in order (without the mm
    operation's own event, which closes the list)."""
    names = [e if type(e) is str else
             e.get("function") or e.get("kind") if isinstance(e, Mapping) else e
             for e in record.get("events") or ()]
    if names and names[-1] == op:
        names.pop()
    return [str(n) for n in names]


@functools.lru_cache(maxsize=None)
def _every(counters: tuple[str, ...]) -> bool:
    return set(counters) == _PLAIN - {"stat"} | _STAT_NAMES


def _plainly_unequal(ra: Mapping[str, Any], rb: Mapping[str, Any]) -> bool:
    """True when two memcg records hold the same counter names and nothing
    else, so that ``ra != rb`` means some counter differs."""
    sa, sb = ra.get("stat") or {}, rb.get("stat") or {}
    return (ra.keys() == rb.keys() and ra.keys() <= _PLAIN
            and sa.keys() == sb.keys() and sa.keys() <= _STAT_NAMES)


def step_differs(sa: Mapping[str, Any], sb: Mapping[str, Any], names: list[str],
                 counters: tuple[str, ...]) -> bool:
    """Does some counter of some memcg differ between two step records?"""
    every = _every(counters)
    read = read_counters(counters)
    ma, mb = sa.get("memcgs") or {}, sb.get("memcgs") or {}
    return any(_differs(ma.get(m), mb.get(m), every, read) for m in names)


def _differs(ra: Mapping[str, Any] | None, rb: Mapping[str, Any] | None, every: bool,
             read: Callable[[Mapping[str, Any] | None], tuple[Any, ...]]) -> bool:
    """Does some counter (``read``; ``every`` counter?) differ between two
    records of a memcg?"""
    if ra is rb:
        return False
    if ra is not None and rb is not None:
        if ra == rb:                         # equal records
            return False
        if every and _plainly_unequal(ra, rb):
            return True
    return read(ra) != read(rb)


class StepDiffers:
    """step_differs for the steps of a comparison read in order: a memcg
    whose two records are the very ones of the step before (the runner
    hands a memcg whose counters did not move the same record again) is
    not compared again."""

    def __init__(self, names: list[str], counters: tuple[str, ...]) -> None:
        self.names = names
        self.every, self.read = _every(counters), read_counters(counters)
        self._last: dict[str, tuple[Any, Any, bool]] = {}   # memcg -> (ra, rb, differs)

    def __call__(self, sa: Mapping[str, Any], sb: Mapping[str, Any]) -> bool:
        ma, mb = sa.get("memcgs") or {}, sb.get("memcgs") or {}
        last = self._last
        for m in self.names:
            ra, rb = ma.get(m), mb.get(m)
            seen = last.get(m)
            if seen is None or seen[0] is not ra or seen[1] is not rb:
                seen = last[m] = (ra, rb, _differs(ra, rb, self.every, self.read))
            if seen[2]:
                return True
        return False


def diff_row(i: int, sa: Mapping[str, Any], sb: Mapping[str, Any],
             labels: tuple[str, str], names: list[str],
             counters: tuple[str, ...]) -> dict[str, Any]:
    """Row ``i`` of diff_steps from the two designs' records of step i."""
    la, lb = labels
    ops = {s["op"] for s in (sa, sb) if "op" in s}
    memcgs: dict[str, dict[str, dict[str, Any]]] = {}
    differs = []
    read = read_counters(counters)
    for m in names:
        va = read((sa.get("memcgs") or {}).get(m))
        vb = read((sb.get("memcgs") or {}).get(m))
        memcgs[m] = {c: {la: x, lb: y} for c, x, y in zip(counters, va, vb)}
        if va != vb:
            differs += [[m, c] for c, x, y in zip(counters, va, vb) if x != y]
    op = ops.pop() if ops else None
    return {"step": i, "op": op,
            "ok": {la: sa.get("ok", True), lb: sb.get("ok", True)},
            "error": {la: sa.get("error"), lb: sb.get("error")},
            "calls": {la: calls_of(sa, op), lb: calls_of(sb, op)},
            "memcgs": memcgs, "differs": differs}


def stand_in(label: str, stopped_at: int | None) -> dict[str, Any]:
    """The record of a step a design did not run (it stopped before)."""
    return {"ok": False, "memcgs": {},
            "error": f"not run: the {label} kernel stopped at step {stopped_at}"}


def _stopped(t: Timeline) -> int | None:
    at = t.meta.get("stopped_at")
    return int(at) if at is not None else None


def diff_steps(a: Timeline, b: Timeline, labels: tuple[str, str] = ("3.16", "3.17"),
               counters: tuple[str, ...] = COUNTERS + STATS) -> "DiffRows":
    """Pair the step records of ``a`` and ``b`` and compare their counters.

    Each row: ``{"step", "op", "ok": {label: bool}, "error": {label: str|None},
    "calls": {label: [kernel functions called, in order]},
    "memcgs": {memcg: {counter: {label: value}}}, "differs": [[memcg, counter],
    ...]}``. A design whose run stopped at a broken kernel precondition
    (``meta["stopped_at"]``) has ``None`` values, ``ok`` false and an error
    saying so for the steps after it. Raises ModelUsageError if the two
    timelines are not of the same scenario. The rows are a read-only
    sequence that builds each row when it is read, so that a long
    comparison does not hold a second copy of both timelines.
    """
    la, lb = labels
    for t, other in ((a, b), (b, a)):
        if len(t) < len(other) and _stopped(t) != len(t) - 1:
            raise ModelUsageError(f"the timelines differ in length ({len(a)} and "
                                  f"{len(b)} steps): not the same scenario")
    rows = DiffRows(a, b, labels, counters)
    for i in range(len(rows)):                   # the same scenario, step by step
        ops = {s["op"] for s in rows.records(i) if "op" in s}
        if len(ops) > 1:
            sa, sb = rows.records(i)
            raise ModelUsageError(f"step {i} is {sa.get('op')!r} in one timeline "
                                  f"and {sb.get('op')!r} in the other")
    return rows


class DiffRows(Sequence):
    """The rows of diff_steps, each built when read."""

    def __init__(self, a: Timeline, b: Timeline, labels: tuple[str, str],
                 counters: tuple[str, ...]) -> None:
        self.a, self.b, self.labels, self.counters = a, b, labels, counters
        self.names = list(dict.fromkeys(a.memcg_names + b.memcg_names))

    def __len__(self) -> int:
        return max(len(self.a), len(self.b))

    def records(self, i: int) -> tuple[Mapping[str, Any], Mapping[str, Any]]:
        """Step i of each timeline (a stand-in after a design stopped)."""
        out = [t[i] if i < len(t) else stand_in(lab, _stopped(t))
               for lab, t in zip(self.labels, (self.a, self.b))]
        return out[0], out[1]

    def differs(self, i: int) -> bool:
        """Does some counter differ at step i? (without building the row)"""
        return step_differs(*self.records(i), self.names, self.counters)

    def __getitem__(self, i: Any) -> Any:
        if isinstance(i, slice):
            return [self[j] for j in range(*i.indices(len(self)))]
        if i < 0:
            i += len(self)
        if not 0 <= i < len(self):
            raise IndexError(i)
        return diff_row(i, *self.records(i), self.labels, self.names, self.counters)
