"""Per-step timelines of memcg counters: the one shape every front-end reads.

A timeline is a list of step records plus metadata. A step record is exactly
the object ``python -m memcg_edu run FILE --json`` prints for one step::

    {"step": 0, "op": "fault_anon", "ok": true, "error": null,
     "events": ["mem_cgroup_try_charge", "mem_cgroup_commit_charge"],
     "memcgs": {"A": {"usage": 1, "memsw_usage": 1, ..., "limit": 8,
                      "memsw_limit": null, "stat": {"cache": 0, ...}}}}

(all sizes in pages; a limit of ``null`` means unlimited). Records may carry
more keys (``"detail"``, ``"pages"``); readers ignore what they do not know.
The model's scenario runner, the 3.16 design and the real-kernel recorder
(memcg_edu.live) all produce this shape, so one plot overlays any two.

Numbers come out as numpy arrays over steps (``Timeline.counter`` for one,
``Timeline.series`` for all of a memcg's in one pass), with
``nan`` for an unlimited limit or a memcg missing at a step.
"""
from __future__ import annotations

import json
import operator
from collections.abc import Mapping, Sequence
from itertools import compress
from pathlib import Path
from typing import TYPE_CHECKING, Any, Iterable, Iterator

from .errors import ModelUsageError
from .safeio import read_json, write_atomic

if TYPE_CHECKING:  # numpy is imported when arrays are asked for: the
    import numpy as np  # command line starts (and Ctrl-C stops it) cleanly

__all__ = ["COUNTERS", "STATS", "LRU_NAMES", "FORMAT", "PAGE_SIZE", "MAX_TIMELINE_BYTES",
           "Timeline", "json_default", "runs", "series_of"]

#: Counter names of a memcg in a step record (res_counter fields, in pages).
COUNTERS = ("usage", "memsw_usage", "max_usage", "memsw_max_usage",
            "failcnt", "memsw_failcnt", "limit", "memsw_limit")
#: The LRU lists in enum lru_list order (include/linux/mmzone.h), as
#: memory.stat names them: the one definition every layer uses.
LRU_NAMES = ("inactive_anon", "active_anon", "inactive_file", "active_file",
             "unevictable")
#: memory.stat names in a step record's "stat" (pages, or event counts).
STATS = ("cache", "rss", "rss_huge", "mapped_file", "swap", "pgpgin",
         "pgpgout", *LRU_NAMES)
FORMAT = "memcg-edu-timeline/1"
PAGE_SIZE = 4096
#: Largest timeline file ``Timeline.load`` reads (a 100,000-step run with
#: page state is well under it).
MAX_TIMELINE_BYTES = 512 * 1024 * 1024


#: a memcg record's COUNTERS, and the STATS of its "stat"
_TOP, _STATS = operator.itemgetter(*COUNTERS), operator.itemgetter(*STATS)


def json_default(o: Any) -> list[Any]:
    """``json.dumps(..., default=json_default)`` for step records: a
    sequence built when read (a model step's "calls",
    memcg_edu.model.calls.CallRecords) is written as its list; anything
    else JSON has no form for stays a TypeError."""
    if isinstance(o, Sequence) and not isinstance(o, (str, bytes, bytearray)):
        return list(o)
    raise TypeError(f"Object of type {type(o).__name__} is not JSON serializable")


class Timeline:
    """Step records with metadata, readable as arrays.

    ``meta`` holds at least ``source`` ("model" or "kernel") and, where
    known, ``design`` ("3.17" / "3.16"), ``title``, ``kernel`` (release),
    ``cgroup`` ("v1" / "v2"), ``date``.
    """

    def __init__(self, steps: Iterable[Mapping[str, Any]] = (),
                 meta: Mapping[str, Any] | None = None) -> None:
        self.meta: dict[str, Any] = {"source": "model", **(meta or {})}
        self.steps: list[dict[str, Any]] = [dict(s) for s in steps]

    # -- building -------------------------------------------------------
    def append(self, record: Mapping[str, Any]) -> None:
        """Add one step record (its "step" number is set if missing)."""
        rec = dict(record)
        rec.setdefault("step", len(self.steps))
        self.steps.append(rec)

    # -- reading --------------------------------------------------------
    def __len__(self) -> int:
        return len(self.steps)

    def __iter__(self) -> Iterator[dict[str, Any]]:
        return iter(self.steps)

    def __getitem__(self, i: int) -> dict[str, Any]:
        return self.steps[i]

    def step_index(self, step: Any, what: str = "step") -> int:
        """``step`` as an index 0..len-1 (negative counts from the end), or
        a ModelUsageError naming ``what``: the one check of a step number
        every plot and widget uses."""
        if not self.steps:
            raise ModelUsageError(f"{what}: this timeline has no steps")
        try:
            if isinstance(step, bool):
                raise TypeError
            i = operator.index(step)   # int or numpy integer, not 1.5 or "1"
        except TypeError:
            raise ModelUsageError(f"{what} must be a whole number, got "
                                  f"{step!r}") from None
        n = len(self.steps)
        if not -n <= i < n:
            raise ModelUsageError(f"{what} {i} is outside this timeline "
                                  f"(steps 0 to {n - 1})")
        return i % n

    @property
    def memcg_names(self) -> list[str]:
        """Every memcg named in any step, in first-seen order."""
        seen: dict[str, None] = {}
        for s in self.steps:
            for name in s.get("memcgs", {}):
                seen.setdefault(name, None)
        return list(seen)

    @property
    def ops(self) -> list[str]:
        return [s.get("op", "") for s in self.steps]

    def _records(self, memcg: str) -> list[dict[str, Any]]:
        """memcg's record at each step ({} where it is absent); a clear
        error when no step names it."""
        return [r or {} for r in self.present(memcg)]

    def present(self, memcg: str) -> list[dict[str, Any] | None]:
        """memcg's record at each step (None where it is absent); a clear
        error when no step names it."""
        if not isinstance(memcg, str):
            raise ModelUsageError(
                f"memcg must be a name (a string), got {memcg!r}; this "
                f"timeline has {', '.join(self.memcg_names) or 'none'}")
        recs = [(s.get("memcgs") or {}).get(memcg) for s in self.steps]
        if recs.count(None) == len(recs):
            raise ModelUsageError(
                f"no memcg {memcg!r} in this timeline; it has "
                f"{', '.join(self.memcg_names) or 'none'}")
        return recs

    def counter(self, memcg: str, name: str) -> np.ndarray:
        """One counter (a COUNTERS or STATS name) of one memcg over the steps.

        Returns float64 with nan where the value is null (unlimited) or the
        memcg is absent at that step.
        """
        if name not in COUNTERS and name not in STATS:
            raise ModelUsageError(
                f"unknown counter {name!r}; counters are {', '.join(COUNTERS)} "
                f"and statistics {', '.join(STATS)}")
        import numpy as np
        recs = self._records(memcg)
        if name in STATS:
            recs = [r.get("stat") or {} for r in recs]
        # None becomes nan in a float array
        return np.array([r.get(name) for r in recs], dtype=float)

    def series(self, memcg: str) -> dict[str, np.ndarray]:
        """Every COUNTERS and STATS name of one memcg over the steps, read
        in one pass (same arrays as ``counter`` gives one at a time)."""
        return series_of(*runs(self.present(memcg)))

    # -- files ----------------------------------------------------------
    def to_dict(self) -> dict[str, Any]:
        return {"format": FORMAT, "meta": self.meta, "steps": self.steps}

    def save(self, path: str | Path, overwrite: bool = True) -> None:
        """Write the timeline as JSON: a new file renamed into place, so a
        symlink at ``path`` is replaced, not followed (``overwrite`` False:
        refused if a file is there)."""
        write_atomic(path, json.dumps(self.to_dict(), indent=1,
                                      default=json_default) + "\n",
                     overwrite=overwrite)

    @classmethod
    def from_dict(cls, data: Mapping[str, Any], where: str = "timeline") -> "Timeline":
        if not isinstance(data, Mapping) or data.get("format") != FORMAT:
            raise ModelUsageError(f"{where}: not a memcg-edu timeline "
                                  f"(expected \"format\": \"{FORMAT}\")")
        steps = data.get("steps")
        if not isinstance(steps, list):
            raise ModelUsageError(f"{where}: \"steps\" must be a list")
        for i, s in enumerate(steps):
            if not isinstance(s, Mapping):
                raise ModelUsageError(f"{where}: steps[{i}] must be an object "
                                      f"(a step record), not "
                                      f"{type(s).__name__}")
            if not isinstance(s.get("memcgs", {}), Mapping):
                raise ModelUsageError(f"{where}: steps[{i}].memcgs must be an "
                                      f"object of memcg name -> counters")
        meta = data.get("meta") or {}
        if not isinstance(meta, Mapping):
            raise ModelUsageError(f"{where}: \"meta\" must be an object")
        return cls(steps, meta)

    @classmethod
    def load(cls, path: str | Path) -> "Timeline":
        """Read a saved timeline: a regular UTF-8 JSON file of at most
        MAX_TIMELINE_BYTES (memcg_edu.safeio); every problem is one
        ModelUsageError line."""
        p = Path(path)
        fail = (lambda msg: ModelUsageError(f"{p}: cannot read timeline: {msg}"))
        return cls.from_dict(read_json(p, MAX_TIMELINE_BYTES, fail), str(p))


def runs(recs: Sequence[Mapping[str, Any] | None]
         ) -> tuple[list[Mapping[str, Any] | None], np.ndarray]:
    """The records ``recs`` of a memcg (Timeline.present's list) once per
    run of steps that share one, and the run of each step. The runner
    repeats a record that did not change: a step starts a new run only
    where its record is another object than the step before's (records
    are alive together, so their ids differ)."""
    import numpy as np
    ids = np.fromiter(map(id, recs), dtype=np.uint64, count=len(recs))
    new = np.ones(len(recs), dtype=bool)
    new[1:] = ids[1:] != ids[:-1]
    return list(compress(recs, new.tolist())), np.cumsum(new) - 1


def series_of(records: Sequence[Mapping[str, Any] | None],
              run: np.ndarray) -> dict[str, np.ndarray]:
    """Timeline.series of a memcg's ``runs``: its arrays over the steps."""
    import numpy as np
    # a row per record, then a column per name (None: nan) with a value per step
    table = np.array([_row(r) for r in records], dtype=float).reshape(
        -1, len(COUNTERS) + len(STATS))
    return dict(zip(COUNTERS + STATS, table.T.take(run, axis=1)))


def _row(r: Mapping[str, Any] | None) -> tuple:
    """A memcg record's COUNTERS then STATS (None where it has none)."""
    try:                       # every name there (the runner's records)
        return _TOP(r) + _STATS(r["stat"])    # type: ignore[arg-type,index]
    except (KeyError, TypeError):          # absent, a name missing, null "stat"
        r = r or {}
        st = r.get("stat") or {}
        return (*map(r.get, COUNTERS), *map(st.get, STATS))
