"""The event log: every memcg API call and mm operation, with the counters after it.

Not a kernel structure; it stands for what a tracer attached to
mm/memcontrol.c and the mm paths would see. Records are appended to
``array`` buffers (12 bytes an event) and counters are stored as changes
only (event, memcg, column, new value), so a million events stay cheap.
Numbers come out as numpy arrays with one value per event.

An event copies the rows written since the last event (Machine.written,
marked by every writer of a row, so that no row is compared here); the
changed columns are found later, for thousands of copies at once in numpy
(EventLog._flush): column by column in Python they cost most of an event's
time (and so did marks naming columns instead of rows: docs/architecture.md).
"""
from __future__ import annotations

import struct
from array import array
from typing import TYPE_CHECKING, Any

import numpy as np

from ..errors import ModelUsageError
from ..timeline import COUNTERS, STATS
from .memcg import COL, COLUMNS
from .res_counter import RES_COUNTER_MAX

if TYPE_CHECKING:
    from .machine import Machine

__all__ = ["EventLog"]

_CACHE, _RSS, _SWAP = COL["cache"], COL["rss"], COL["swap"]
_NCOL = len(COLUMNS)
#: one event: kind, pfn, memcg, nr, depth (12 bytes, no padding), and the
#: same as a numpy record
_EVENT = struct.Struct("=BihiB")
_FIELDS = ("kind", "pfn", "memcg", "nr", "depth")
_EVENT_DTYPE = np.dtype(list(zip(_FIELDS, (np.uint8, np.int32, np.int16,
                                           np.int32, np.uint8))))
_SIZE, _PACK_EVENT = _EVENT.size, _EVENT.pack
#: a row copy: its key (as a change's, column 0) and the whole counter row,
#: as int64s: "n" (ssize_t) where it is 8 bytes, as on every 64-bit system
#: (the same bytes as "q", but a key or a limit of RES_COUNTER_MAX, more
#: than one digit of a Python int, converts several times faster:
#: PyLong_AsSsize_t loops over the digits where "q" goes through
#: _PyLong_AsByteArray)
_PACK_COPY = struct.Struct(f"{_NCOL + 1}n" if struct.calcsize("n") == 8
                           else f"={_NCOL + 1}q").pack
#: rows copied by record() are diffed (_flush) when this many wait
_FLUSH_AT = 4096
#: what their buffer then holds
_FLUSH_LEN = _FLUSH_AT * (_NCOL + 1)


class EventLog:
    """Events of one Machine.

    Each event has a ``kind`` (kernel function or mm operation name), the
    ``pfn`` (or swap slot, for swap events) it concerns (-1 if none), the
    ``memcg`` index (-1 if none), ``nr`` pages and a ``depth``: 0 for an mm
    operation, recorded when it ends, 1 for the memcg API calls it made,
    recorded in order before it. ``enabled=False`` records nothing;
    ``counters=False`` records the events but not the counters after each
    (counter() then refuses): a scenario run reads its counters per step.
    """

    def __init__(self, machine: "Machine", enabled: bool = True,
                 counters: bool = True) -> None:
        self._m = machine
        self.enabled = enabled
        self.counters = counters
        self.kind_names: list[str] = []
        self._kind_index: dict[str, int] = {}
        # the events, _EVENT each (one pack per event)
        self._ev = array("B")
        # one change = key (event << 24 | memcg << 8 | column) and new value
        # (16 bytes a counter: a whole row per change would be 20 times more)
        self._c_key, self._c_val = array("q"), array("q")
        # the machine's live rows (Machine.memcg_rows, by memcg index; it
        # grows with each new memcg), and the memcgs whose row the call log
        # took from Machine.written since the last event
        self._rows: list[list[int]] = machine.memcg_rows
        self.written: set[int] = set()
        # rows that moved, not diffed yet: key (as a change's, column 0) and
        # the whole row, one pack each (_PACK_COPY); and each memcg's row as
        # of the last diff (_flush)
        self._copies = array("q")
        self._flushed: list[list[int]] = []

    def __len__(self) -> int:
        return len(self._ev) // _SIZE

    # -- recording ------------------------------------------------------
    def record(self, kind: str, pfn: int = -1, memcg: int = -1, nr: int = 1,
               depth: int = 1) -> None:
        """Append one event and the counters it changed."""
        if not self.enabled:
            return
        try:
            k = self._kind_index[kind]
        except KeyError:                         # the first event of its kind
            k = self._kind_index[kind] = len(self.kind_names)
            self.kind_names.append(kind)
        self._ev.frombytes(_PACK_EVENT(k, pfn, memcg, nr, depth))
        if not self.counters:                    # nobody reads them
            return
        m = self._m
        written, mine = m.written, self.written
        if written:                              # for the call log too
            m.calls.written |= written           # (see Machine.written)
        if mine:                                 # rows the call log took first
            written |= mine
            mine.clear()
        if not written:                          # no counter moved
            return
        rows, copies = self._rows, self._copies
        base = (len(self._ev) // _SIZE - 1) << 24
        # each written row whole (a write that left a row as it was changes
        # no column: _flush finds none)
        for i in written:
            copies.frombytes(_PACK_COPY(base | i << 8, *rows[i]))  # in C
        written.clear()
        if len(copies) >= _FLUSH_LEN:
            self._flush()

    def _flush(self) -> None:
        """Log the changed columns of the rows record() copied, at once."""
        if not self._copies:
            return
        copies = np.frombuffer(self._copies, np.int64).reshape(-1, _NCOL + 1)
        keys, rows = copies[:, 0], copies[:, 1:]
        memcg = (keys >> 8) & 0xFFFF
        flushed = self._flushed
        while len(flushed) < len(self._rows):    # a new memcg: its row was all 0
            flushed.append([0] * _NCOL)
        prev = np.empty_like(rows)               # each copy's row before it
        # (np.unique would import numpy.ma, 25 ms, on the first diff)
        for i in np.flatnonzero(np.bincount(memcg)).tolist():
            at = np.flatnonzero(memcg == i)
            prev[at[0]] = self._flushed[i]
            prev[at[1:]] = rows[at[:-1]]
            self._flushed[i] = rows[at[-1]].tolist()
        # row-major: by event, as they happened (within an event, in the
        # order record() took the rows: _column and truncate need only the
        # events in order)
        r, c = np.nonzero(rows != prev)
        self._c_key.frombytes((keys[r] | c).tobytes())
        self._c_val.frombytes(rows[r, c].tobytes())
        # a new buffer: the old one is still exported to keys and rows
        self._copies = array("q")

    def nbytes(self) -> int:
        """Bytes held by the log's buffers."""
        self._flush()
        return sum(a.itemsize * len(a) for a in (
            self._ev, self._c_key, self._c_val))

    def truncate(self, n: int) -> None:
        """Forget events from ``n`` on (used by Machine.restore)."""
        self._flush()
        del self._ev[n * _SIZE:]
        cut = int(np.searchsorted(np.frombuffer(self._c_key, np.int64), n << 24)) \
            if len(self._c_key) else 0
        del self._c_key[cut:]
        del self._c_val[cut:]
        self._rows = self._m.memcg_rows          # restore replaced the rows
        self._flushed = [list(row) for row in self._rows]
        self.written.clear()

    # -- reading --------------------------------------------------------
    def array(self, field: str) -> np.ndarray:
        """One field (kind, pfn, memcg, nr, depth) of every event as an array."""
        if field not in _FIELDS:
            raise ModelUsageError(f"no event field {field!r}; fields are "
                                  f"{', '.join(_FIELDS)}")
        dtype = _EVENT_DTYPE[field]
        return np.frombuffer(self._ev, _EVENT_DTYPE)[field].astype(dtype) \
            if len(self._ev) else np.zeros(0, dtype)

    def kinds(self, start: int = 0, stop: int | None = None) -> list[str]:
        """Names of the events in [start, stop)."""
        names = self.kind_names
        # an event's first byte is its kind
        return [names[k] for k in self._ev[start * _SIZE:
                                           None if stop is None else stop * _SIZE:_SIZE]]

    def __getitem__(self, i: int) -> dict[str, Any]:
        n = len(self)
        if not -n <= i < n:
            raise ModelUsageError(f"event {i} does not exist ({n} recorded)")
        i %= n
        kind, pfn, mi, nr, depth = _EVENT.unpack_from(self._ev, i * _SIZE)
        return {"seq": i, "kind": self.kind_names[kind], "pfn": pfn, "nr": nr,
                "depth": depth,
                "memcg": None if mi < 0 else self._m.memcg_list[mi].name}

    def _column(self, memcg: int, col: int) -> np.ndarray:
        """Values of one column of one memcg after each event (nan before its creation)."""
        self._flush()
        n = len(self)
        out = np.full(n, np.nan)
        if not len(self._c_key):
            return out
        key = np.frombuffer(self._c_key, np.int64)
        sel = (key & 0xFFFFFF) == (memcg << 8 | col)
        at, vals = key[sel] >> 24, np.frombuffer(self._c_val, np.int64)[sel]
        if memcg < len(self._m.memcg_list) and memcg in self._m.created_at:
            start = self._m.created_at[memcg]
        else:
            start = int(at[0]) if at.size else n
        base = float(COLUMNS_DEFAULT[col])
        if at.size:
            idx = np.searchsorted(at, np.arange(n), side="right") - 1
            out = np.where(idx >= 0, vals[np.maximum(idx, 0)].astype(float), base)
        else:
            out = np.full(n, base)
        out[:start] = np.nan
        if col in (COL["limit"], COL["memsw_limit"]):
            out[out == RES_COUNTER_MAX] = np.nan
        return out

    def counter(self, memcg: str, name: str) -> np.ndarray:
        """One counter (COUNTERS or STATS name) of one memcg, one value per event.

        Root's usage and memsw_usage are computed from statistics as the
        3.17 kernel does. Limits read nan when unlimited; every value is nan
        before the memcg was created.
        """
        if name not in COUNTERS and name not in STATS:
            raise ModelUsageError(
                f"unknown counter {name!r}; counters are {', '.join(COUNTERS)} "
                f"and statistics {', '.join(STATS)}")
        mg = self._m.memcgs.get(memcg)
        if mg is None:
            raise ModelUsageError(f"no memcg {memcg!r}; there are "
                                  f"{', '.join(self._m.memcgs)}")
        if not self.counters:
            raise ModelUsageError("this machine's event log keeps no counters "
                                  "(Machine(record_counters=False))")
        if mg.is_root and name in ("usage", "memsw_usage"):
            cols = [_CACHE, _RSS] + ([_SWAP] if name == "memsw_usage" else [])
            total = np.zeros(len(self))
            for other in mg.subtree():
                for c in cols:
                    total += np.nan_to_num(self._column(other.index, c))
            return total
        return self._column(mg.index, COL[name])


#: a fresh memcg's row (limits unlimited, everything else 0)
COLUMNS_DEFAULT = [RES_COUNTER_MAX if c in ("limit", "memsw_limit") else 0
                   for c in COLUMNS]
