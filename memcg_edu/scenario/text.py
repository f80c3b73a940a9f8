"""Readable text for step records: what `run` prints for a person.

One block per step: the step and its fields, what happened (events and the
counters that changed), then a table of every memcg's counters in pages and
bytes, named like the cgroup v1 files of mm/memcontrol.c. With --calls, the
step's kernel calls follow, one line each (format_calls).
"""
from __future__ import annotations

from functools import lru_cache
from operator import itemgetter
from typing import Any, Callable, Mapping

from ..timeline import COUNTERS, PAGE_SIZE, STATS

__all__ = ["describe_step", "format_step", "format_calls", "call_changes",
           "size"]

_TABLE = (("usage", "usage"), ("memsw_usage", "memsw"), ("limit", "limit"),
          ("memsw_limit", "memsw limit"), ("failcnt", "failcnt"))
_STATS = ("cache", "rss", "swap", "mapped_file")


@lru_cache(maxsize=4096)              # a run prints the same few sizes over and over
def size(pages: int | None) -> str:
    """"3 (12 KiB)", or "unlimited" for None."""
    if pages is None:
        return "unlimited"
    b = pages * PAGE_SIZE
    for unit, div in (("GiB", 2**30), ("MiB", 2**20), ("KiB", 2**10)):
        if b >= div:
            v = b / div
            return f"{pages} ({v:.0f} {unit})" if v.is_integer() else f"{pages} ({v:.1f} {unit})"
    return f"{pages} ({b} B)"


def describe_step(step: Mapping[str, Any]) -> str:
    """'fault_anon task=p page=x' from a scenario step."""
    # (a string or a number shows as itself: no call for it)
    fields = " ".join([f"{k}={v if v.__class__ is str or v.__class__ is int else _v(v)}"
                       for k, v in step.items() if k != "op" and k != "note"])
    return f"{step['op']} {fields}".rstrip()


def _v(v: Any) -> str:
    if v is None:
        return "unlimited"
    if isinstance(v, bool):
        return "yes" if v else "no"
    return str(v)


#: a memcg's counters, and its statistics, as tuples in COUNTERS and STATS
#: order, taken at once (a run prints the changes of a memcg at every step)
_COUNTER_VALUES, _STAT_ALL = itemgetter(*COUNTERS), itemgetter(*STATS)


def _values(d: Mapping[str, Any], keys: tuple[str, ...],
            get: Callable[[Mapping[str, Any]], tuple[Any, ...]]) -> tuple[Any, ...]:
    """``get(d)``: d's values of ``keys``, None for a key it lacks (a saved
    timeline may have fewer)."""
    try:
        return get(d)
    except KeyError:
        return tuple([d.get(k) for k in keys])


def _changes(rec: Mapping[str, Any], prev: Mapping[str, Any]) -> list[str]:
    out = []
    old = prev.get("memcgs", {})
    for name, now in rec["memcgs"].items():
        before = old.get(name)
        # the same dict object, or an equal one: nothing moved (a run shares
        # what stays the same, root's counters while its usage stays)
        if before is None or before is now or before == now:
            continue
        diffs = [f"{k} {_v(a)}->{_v(b)}" for k, a, b in
                 zip(COUNTERS, _values(before, COUNTERS, _COUNTER_VALUES),
                     _values(now, COUNTERS, _COUNTER_VALUES)) if a != b]
        was, stat = before["stat"], now["stat"]
        if was is not stat:
            diffs += [f"{k} {a}->{b}" for k, a, b in
                      zip(STATS, _values(was, STATS, _STAT_ALL),
                          _values(stat, STATS, _STAT_ALL)) if a != b]
        if diffs:
            out.append(f"{name}: " + ", ".join(diffs))
    return out


#: what the memcg OOM killer did at the end of the fault (step record "oom")
_OOM_OUTCOME = {
    "retried": "the OOM killer killed {victim} (badness {badness}), then the "
               "fault of {task} was retried",
    "killed": "the OOM killer killed the faulting task {task} itself (badness {badness})",
    "oom_kill_disable": "oom_kill_disable is set: nobody was killed, {task} would sleep",
    "no_victim": "no task in {memcg} could be killed",
}


def format_step(rec: Mapping[str, Any], step: Mapping[str, Any],
                prev: Mapping[str, Any] | None = None) -> str:
    """The text block for one step record (``prev``: the record before)."""
    status = "ok" if rec["ok"] else "FAILED"
    lines = [f"step {rec['step']}: {describe_step(step)}  [{status}]"]
    if step.get("note"):
        lines.append(f"  note: {step['note']}")
    if rec["error"]:
        lines.append(f"  why: {rec['error']}")
    if rec.get("oom"):
        lines += [f"  memcg OOM in {o['memcg']}: {_OOM_OUTCOME[o['outcome']].format(**o)}"
                  for o in rec["oom"]]
    if rec["events"]:
        lines.append("  events: " + ", ".join(rec["events"]))
    if prev is not None:
        lines += [f"  changed: {c}" for c in _changes(rec, prev)]
    # where the design departs from clean accounting (Machine.design_notes)
    if rec.get("design_notes"):
        lines += [f"  design note: {n}" for n in rec["design_notes"]]
    lines.append(_table([_row(name, c) for name, c in rec["memcgs"].items()]))
    return "\n".join(lines)


_HEADER = ("memcg",) + tuple(h for _, h in _TABLE) + _STATS


class _Row:
    """One memcg's line of the table: its cells, their lengths, and the
    line padded to the widths it was last printed at."""

    __slots__ = ("cells", "lens", "widths", "line")

    def __init__(self, cells: tuple[str, ...]) -> None:
        self.cells, self.lens = cells, list(map(len, cells))
        self.widths: list[int] | None = None
        self.line = ""

    def padded(self, widths: list[int]) -> str:
        """The line, each cell left-justified to its column's width."""
        if widths != self.widths:
            self.widths = widths
            self.line = "  " + "  ".join(
                [c.ljust(w) for c, w in zip(self.cells, widths)]).rstrip()
        return self.line


_HEADER_ROW = _Row(_HEADER)
#: (name, id of a counters dict) -> (that dict, its row): a run shares a
#: memcg's counters dict between the steps that do not change it, so most
#: rows of a step are the step before's, already padded (calls into C cost
#: a thousand instructions each: a table built cell by cell at every step
#: was a sixth of a run's time)
_ROWS: dict[tuple[str, int], tuple[Mapping[str, Any], _Row]] = {}


#: a row's counters, the values its cells show -> the row: a small
#: machine's counters take few values, so most rows were printed before
_BY_VALUE: dict[tuple[Any, ...], _Row] = {}
_TABLE_VALUES = itemgetter(*(k for k, _ in _TABLE))
_STAT_VALUES = itemgetter(*_STATS)


def _row(name: str, c: Mapping[str, Any]) -> _Row:
    """One memcg's line of the table."""
    hit = _ROWS.get((name, id(c)))
    if hit is not None and hit[0] is c:
        return hit[1]
    key: tuple[Any, ...] | None
    try:
        key = (name, _TABLE_VALUES(c), _STAT_VALUES(c["stat"]))
    except KeyError:                     # a counter missing: built each time
        key = None
    row = _BY_VALUE.get(key) if key is not None else None
    if row is None:
        row = _Row((name,) + tuple([size(c.get(k)) if k != "failcnt" else str(c.get(k))
                                    for k, _ in _TABLE])
                   + tuple([str(c["stat"].get(k)) for k in _STATS]))
        if key is not None:
            if len(_BY_VALUE) >= 4096:
                _BY_VALUE.clear()
            _BY_VALUE[key] = row
    if len(_ROWS) >= 256:
        _ROWS.clear()
    _ROWS[name, id(c)] = (c, row)
    return row


#: the cell lengths of the last table's rows, and its column widths: a
#: step rarely changes how wide a number is
_LAST: list[Any] = [None, None]


def _table(rows: list[_Row]) -> str:
    """The counters table of memcg ``rows`` under _HEADER, columns aligned."""
    lens = [r.lens for r in rows]
    if lens != _LAST[0]:
        widths = list(_HEADER_ROW.lens)
        for row_lens in lens:
            for j, n in enumerate(row_lens):
                if n > widths[j]:
                    widths[j] = n
        _LAST[:] = lens, widths
    widths = _LAST[1]
    return "\n".join([_HEADER_ROW.padded(widths)] + [r.padded(widths) for r in rows])


def _lru(state: Mapping[str, Any]) -> str:
    return "none" if state["lru"] is None else f"{state['lruvec']}/{state['lru']}"


def call_changes(call: Mapping[str, Any]) -> list[str]:
    """What one recorded call changed, in words: ["count 1->0",
    "PCG USED|MEM|MEMSW->none", "A usage 1->0", ...] (page fields first)."""
    out = []
    st, was = call.get("state"), (call.get("was") or {}).get("state")
    if st is not None and was:
        for k in ("count", "mapcount"):
            if k in was:
                out.append(f"{k} {was[k]}->{st[k]}")
        if "flags" in was:
            old, new = set(was["flags"]), set(st["flags"])
            out.append("PG " + " ".join([f"+{f}" for f in st["flags"] if f not in old]
                                        + [f"-{f}" for f in was["flags"] if f not in new]))
        if "pcg" in was:
            out.append(f"PCG {'|'.join(was['pcg']) or 'none'}->"
                       f"{'|'.join(st['pcg']) or 'none'}")
        if "mem_cgroup" in was:
            out.append(f"pc->mem_cgroup {was['mem_cgroup']}->{st['mem_cgroup']}")
        if "lru" in was or "lruvec" in was:
            out.append(f"LRU {_lru({**st, **was})}->{_lru(st)}")
    old_mc = (call.get("was") or {}).get("memcgs") or {}
    for name, counters in (call.get("memcgs") or {}).items():
        bits = [f"{k} {_v(old_mc.get(name, {}).get(k))}->{_v(v)}"
                for k, v in counters.items()]
        out.append(f"{name} " + ", ".join(bits))
    return out


def format_calls(calls: list[Mapping[str, Any]]) -> str:
    """The calls of one step, indented by depth: function, page, what changed."""
    lines = ["  calls:"]
    frames: dict[str, set[int]] = {}
    for c in calls:
        if c["page"] is not None:
            frames.setdefault(c["page"], set()).add(c["pfn"])
    for c in calls:
        page = c["page"] if c["page"] is not None else (
            f"pfn {c['pfn']}" if c["pfn"] is not None else
            f"swap {c['swap']}" if c.get("swap") is not None else "")
        if c["page"] is not None and len(frames[c["page"]]) > 1:
            page += f" (pfn {c['pfn']})"         # a migration: old and new frame
        parts = [c["fn"]] + ([page] if page else []) + call_changes(c)
        lines.append("    " + "  " * c["depth"] + "  ".join(parts))
    if len(lines) == 1:
        lines.append("    (none)")
    return "\n".join(lines)
