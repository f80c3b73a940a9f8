"""Reading the text of a tracefs buffer: one event per line.

The line format is the default output of kernel/trace/trace_output.c
(``comm-pid [cpu] flags timestamp: event: fields``), with the fields
printed by each tracepoint's ``print fmt`` (include/trace/events/kmem.h,
pagemap.h, filemap.h, vmscan.h, migrate.h, memcg.h). Lines the kernel
writes when a CPU's buffer lost events (``CPU:N [LOST M EVENTS]``) are
counted, never skipped silently.

The memcg tracepoints print their statistic as a number (``item=17``): the
index in enum node_stat_item, memcg_stat_item or vm_event_item of the
running kernel. ``item_names()`` rebuilds those enums from /proc/vmstat,
which lists the node and event items in enum order.
"""
from __future__ import annotations

import re
from pathlib import Path
from typing import Iterable, Iterator, NamedTuple

from ..collector import collector_off

__all__ = ["Event", "Lost", "parse_lines", "item_names", "MEMCG_ITEMS",
           "MARK"]

#: what our markers start with (trace_marker lines)
MARK = "memcg-edu step "
#: enum memcg_stat_item after the node items (include/linux/memcontrol.h, 6.x)
MEMCG_ITEMS = ("swap", "sock", "percpu_b", "vmalloc", "kmem", "zswap_b",
               "zswapped")

_LINE = re.compile(r"^\s*(?P<comm>.*?)-(?P<pid>\d+)\s+(?:\(\s*[-\d]+\)\s+)?"
                   r"\[(?P<cpu>\d+)\]\s+(?:\S+\s+)?(?P<ts>\d+\.\d+): "
                   r"(?P<event>\w+): (?P<body>.*)$")
_LOST = re.compile(r"^CPU:(\d+) \[LOST (\d+) EVENTS\]")
_KV = re.compile(r"(\w+)=([^\s,]*)")
_FILEMAP = re.compile(r"^dev (\d+):(\d+) ino ([0-9a-f]+) ")
_HEX = {"pfn", "addr", "pte", "page", "folio"}
_MEMCG_EVENTS = {"mod_memcg_state", "mod_memcg_lruvec_state", "count_memcg_events"}


class Event(NamedTuple):
    """One tracepoint hit: time, CPU, process, name and its fields."""

    ts: float
    cpu: int
    pid: int
    comm: str
    name: str
    fields: dict


class Lost(NamedTuple):
    """A ``[LOST n EVENTS]`` line of the buffer."""

    cpu: int
    events: int


_MEMCG = ("memcg_id=", "item=", "val=")


def _fields(name: str, body: str) -> dict:
    if name == "tracing_mark_write":
        return {"text": body.strip()}
    if name in _MEMCG_EVENTS:
        # the most frequent lines, "memcg_id=%llu item=%d val=%d": split
        parts = body.split()
        if len(parts) == 3 and all(p.startswith(k) for p, k in zip(parts, _MEMCG)):
            return {"memcg_id": int(parts[0][9:]), "item": int(parts[1][5:]),
                    "val": int(parts[2][4:])}
    out: dict = {}
    if name.startswith("mm_filemap_"):
        m = _FILEMAP.match(body)
        if m:
            out["dev"] = (int(m.group(1)), int(m.group(2)))
            out["ino"] = int(m.group(3), 16)
    for k, v in _KV.findall(body):
        if k in _HEX:
            out[k] = int(v, 16) if v.startswith("0x") else _hex_or_int(v)
        elif k == "flags" and name == "mm_lru_insertion":
            # six one-letter columns: M(locked) a(non)/f(ile) s(wapbacked)...
            i = body.index("flags=") + 6
            out[k] = body[i:i + 6]
        else:
            try:
                out[k] = int(v)
            except ValueError:
                out[k] = v
    return out


def _hex_or_int(v: str) -> int | str:
    try:
        return int(v, 16)
    except ValueError:
        return v


def parse_lines(lines: Iterable[str]) -> Iterator[Event | Lost]:
    """Events (and Lost notices) from the text of a ``trace`` file."""
    with collector_off():      # the events stay alive: no point rescanning them
        yield from _parse(lines)


def _parse(lines: Iterable[str]) -> Iterator[Event | Lost]:
    for line in lines:
        if not line or line[0] == "#":
            continue
        m = _LINE.match(line.rstrip("\n"))
        if m is None:
            lost = _LOST.match(line)
            if lost:
                yield Lost(int(lost.group(1)), int(lost.group(2)))
            continue
        name = m.group("event")
        yield Event(float(m.group("ts")), int(m.group("cpu")),
                    int(m.group("pid")), m.group("comm"), name,
                    _fields(name, m.group("body")))


def item_names(vmstat: Path = Path("/proc/vmstat")) -> dict[str, list[str]]:
    """The running kernel's enums of statistics, by tracepoint.

    "state": node_stat_item then memcg_stat_item (mod_memcg_state and
    mod_memcg_lruvec_state index this one array, as memcg_stat_items does);
    "events": vm_event_item (count_memcg_events). Node items are the
    /proc/vmstat names from nr_inactive_anon (NR_LRU_BASE, the first node
    item) to just before nr_dirty_threshold; events start at pgpgin.
    """
    names = [line.split()[0] for line in vmstat.read_text().splitlines()
             if line.strip()]
    try:
        first = names.index("nr_inactive_anon")
        last = names.index("nr_dirty_threshold")
        ev = names.index("pgpgin")
    except ValueError:
        return {"state": [], "events": []}
    return {"state": names[first:last] + list(MEMCG_ITEMS),
            "events": names[ev:]}
