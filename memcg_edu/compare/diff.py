"""Per-step counters of two designs side by side, with the differing cells marked.

Works on two memcg_edu.timeline.Timeline objects of the same scenario (one
step record per scenario step in each); it stands for no kernel file, only
for the user-visible cgroup v1 files (memory.usage_in_bytes,
memory.memsw.usage_in_bytes, memory.stat) that the two kernels would show.
"""
from __future__ import annotations

from typing import Any, Mapping

from ..errors import ModelUsageError
from ..timeline import COUNTERS, STATS, Timeline

__all__ = ["SHOWN", "counter_value", "diff_steps"]

#: Counters a side-by-side table shows by default (pages / events).
SHOWN = ("usage", "memsw_usage", "rss", "cache", "swap", "pgpgin", "pgpgout")


def counter_value(record: Mapping[str, Any] | None, name: str) -> Any:
    """One counter of one memcg's record (``None`` if absent or unlimited)."""
    if record is None:
        return None
    if name in STATS:
        return (record.get("stat") or {}).get(name)
    return record.get(name)


def _calls(record: Mapping[str, Any], op: Any) -> list[str]:
    """The kernel functions a step called, in order (without the mm
    operation's own event, which closes the list)."""
    names = [e.get("function") or e.get("kind") if isinstance(e, Mapping) else e
             for e in record.get("events") or ()]
    if names and names[-1] == op:
        names.pop()
    return [str(n) for n in names]


def _stopped(t: Timeline) -> int | None:
    at = t.meta.get("stopped_at")
    return int(at) if at is not None else None


def diff_steps(a: Timeline, b: Timeline, labels: tuple[str, str] = ("3.16", "3.17"),
               counters: tuple[str, ...] = COUNTERS + STATS) -> list[dict[str, Any]]:
    """Pair the step records of ``a`` and ``b`` and compare their counters.

    Each row: ``{"step", "op", "ok": {label: bool}, "error": {label: str|None},
    "calls": {label: [kernel functions called, in order]},
    "memcgs": {memcg: {counter: {label: value}}}, "differs": [[memcg, counter],
    ...]}``. A design whose run stopped at a broken kernel precondition
    (``meta["stopped_at"]``) has ``None`` values, ``ok`` false and an error
    saying so for the steps after it. Raises ModelUsageError if the two
    timelines are not of the same scenario.
    """
    la, lb = labels
    for t, other in ((a, b), (b, a)):
        if len(t) < len(other) and _stopped(t) != len(t) - 1:
            raise ModelUsageError(f"the timelines differ in length ({len(a)} and "
                                  f"{len(b)} steps): not the same scenario")
    names = list(dict.fromkeys(a.memcg_names + b.memcg_names))
    rows = []
    for i in range(max(len(a), len(b))):
        recs: dict[str, dict[str, Any]] = {}
        for lab, t in ((la, a), (lb, b)):
            recs[lab] = t[i] if i < len(t) else {
                "ok": False, "memcgs": {},
                "error": f"not run: the {lab} kernel stopped at step {_stopped(t)}"}
        sa, sb = recs[la], recs[lb]
        ops = {s["op"] for s in (sa, sb) if "op" in s}
        if len(ops) > 1:
            raise ModelUsageError(f"step {i} is {sa.get('op')!r} in one timeline "
                                  f"and {sb.get('op')!r} in the other")
        memcgs: dict[str, dict[str, dict[str, Any]]] = {}
        differs = []
        for m in names:
            ra = (sa.get("memcgs") or {}).get(m)
            rb = (sb.get("memcgs") or {}).get(m)
            cells = {}
            for c in counters:
                va, vb = counter_value(ra, c), counter_value(rb, c)
                cells[c] = {la: va, lb: vb}
                if va != vb:
                    differs.append([m, c])
            memcgs[m] = cells
        op = ops.pop() if ops else None
        rows.append({"step": i, "op": op,
                     "ok": {la: sa.get("ok", True), lb: sb.get("ok", True)},
                     "error": {la: sa.get("error"), lb: sb.get("error")},
                     "calls": {la: _calls(sa, op), lb: _calls(sb, op)},
                     "memcgs": memcgs, "differs": differs})
    return rows
