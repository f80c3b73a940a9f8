"""Which kind of accounting event a step record shows, for the event markers.

Reads the kernel function names a step called (``record["events"]``, from
mm/memcontrol.c of 3.17 or 3.16), its op and outcome, and the counters'
change against the step before. Kinds: charge, uncharge, swap-out, swap-in,
migration, OOM, failcnt.
"""
from __future__ import annotations

import operator
import re
import weakref
from typing import Any, Mapping, Sequence

import numpy as np

from ..scenario.registry import REGISTRY
from ..timeline import STATS, Timeline

__all__ = ["EVENT_KINDS", "step_kinds", "event_steps"]

EVENT_KINDS = ("charge", "uncharge", "swap-out", "swap-in", "migration",
               "OOM", "failcnt")

# Kernel functions (3.17 and 3.16 names) that make a step count as a kind.
_BY_FUNCTION = {
    "charge": {"mem_cgroup_commit_charge", "mem_cgroup_charge_anon",
               "mem_cgroup_charge_file", "mem_cgroup_commit_charge_swapin",
               "__mem_cgroup_commit_charge", "commit_charge"},
    "uncharge": {"mem_cgroup_uncharge", "mem_cgroup_uncharge_list",
                 "mem_cgroup_uncharge_page", "mem_cgroup_uncharge_cache_page",
                 "mem_cgroup_uncharge_swapcache", "mem_cgroup_uncharge_swap",
                 "__mem_cgroup_uncharge_common", "uncharge_batch"},
    "swap-out": {"mem_cgroup_swapout"},
    "migration": {"mem_cgroup_migrate", "mem_cgroup_prepare_migration",
                  "mem_cgroup_end_migration", "mem_cgroup_replace_page_cache"},
    "OOM": {"mem_cgroup_oom"},
}
#: ops that always count as a kind (the op registry's event_kind)
_BY_OP = {o.name: o.event_kind for o in REGISTRY.values() if o.event_kind}


def _function_names(record: Mapping[str, Any]) -> set[str]:
    names = set()
    for e in record.get("events") or ():
        # events are function names, or dicts carrying one under "function"
        names.add(e.get("function", "") if isinstance(e, Mapping) else str(e))
    return names


def _mentions(message: str, memcg: str) -> bool:
    return re.search(rf"(?<![\w-]){re.escape(memcg)}(?![\w-])", message) is not None


def step_kinds(record: Mapping[str, Any], prev: Mapping[str, Any] | None = None,
               memcg: str | None = None) -> set[str]:
    """The event kinds of one step; with ``memcg``, only those that moved it.

    A charge, uncharge, swap or migration counts for a memcg when its
    counters or statistics changed at this step (without a function log, as
    from the real kernel, a rise or fall of usage is a charge or uncharge);
    failcnt when its failcnt or
    memsw_failcnt grew; OOM when the step met a memcg OOM in it (the
    record's "oom" list; without one, when the error names it, or any
    memcg when the message names none).
    """
    kinds: set[str] = set()
    names = _function_names(record)
    for kind, funcs in _BY_FUNCTION.items():
        if names & funcs:
            kinds.add(kind)
    if record.get("op") in _BY_OP:
        kinds.add(_BY_OP[record["op"]])
    err = str(record.get("error") or "")
    if "OOM" in err or "oom" in err:
        kinds.add("OOM")
    if memcg is None:
        return kinds
    now = (record.get("memcgs") or {}).get(memcg)
    if now is None:
        return set()
    before = ((prev or {}).get("memcgs") or {}).get(memcg) or {}
    stat_now, stat_before = now.get("stat") or {}, before.get("stat") or {}
    # a memcg missing before counts as all zeros (created empty)
    changed = any((now.get(k) or 0) != (before.get(k) or 0)
                  for k in ("usage", "memsw_usage")) or any(
        (stat_now.get(k) or 0) != (stat_before.get(k) or 0)
        for k in set(stat_now) | set(stat_before))
    out = (kinds - {"OOM"}) if changed else set()
    if not names:
        # no function log (a real-kernel recording): read charge and uncharge
        # off the usage counter itself
        delta = (now.get("usage") or 0) - (before.get("usage") or 0)
        out |= {"charge"} if delta > 0 else {"uncharge"} if delta < 0 else set()
    ooms = [o.get("memcg") for o in record.get("oom") or ()]   # the model says whose
    if "OOM" in kinds and ((memcg in ooms) if ooms else (_mentions(err, memcg) or not any(
            _mentions(err, n) for n in (record.get("memcgs") or {}) if n != memcg))):
        out.add("OOM")
    if any((now.get(k) or 0) > (before.get(k) or 0)
           for k in ("failcnt", "memsw_failcnt")):
        out.add("failcnt")
    return out


_TABLES: "weakref.WeakKeyDictionary[Timeline, tuple[int, np.ndarray, np.ndarray]]" = \
    weakref.WeakKeyDictionary()


def _step_table(timeline: Timeline) -> tuple[np.ndarray, np.ndarray]:
    """For every step: which kinds its functions, op and error show (a bit
    per EVENT_KINDS entry), and whether it has a function log; kept per
    timeline (made again when it grows), as every memcg's markers read it."""
    hit = _TABLES.get(timeline)
    if hit is None or hit[0] != len(timeline):
        hit = _TABLES[timeline] = (len(timeline), *_read_steps(timeline))
    return hit[1], hit[2]


def _read_steps(timeline: Timeline) -> tuple[np.ndarray, np.ndarray]:
    """_step_table's arrays. Steps of a long run repeat a few lists of
    function names: each list is read once."""
    bit = {k: 1 << j for j, k in enumerate(EVENT_KINDS)}
    by_names: dict[tuple, int] = {}
    masks, logged = [], []
    for rec in timeline.steps:
        events = rec.get("events") or ()
        try:
            key: tuple = (rec.get("op"), *events)
            mask = by_names.get(key)
        except TypeError:                     # dict events: not a key
            key, mask = (), None
        if mask is None:
            mask = sum(bit[k] for k in step_kinds({"op": rec.get("op"), "events": events}))
            if key:
                by_names[key] = mask
        err = rec.get("error")
        if err and ("OOM" in str(err) or "oom" in str(err)):
            mask |= bit["OOM"]
        masks.append(mask)
        logged.append(bool(events))
    return np.array(masks, np.uint8).reshape(-1), np.array(logged, bool).reshape(-1)


def event_steps(timeline: Timeline, memcg: str) -> dict[str, np.ndarray]:
    """For each kind, the steps (indices) where it happened to ``memcg``
    (step_kinds of each step, read off the counters' arrays at once)."""
    from .series import records, series

    recs = records(timeline, memcg)
    # each record once: a record's statistics are those of its run's steps
    if not _known_stats(recs.distinct):
        return _event_steps_one_by_one(timeline, memcg)   # other statistics: read each
    present = np.array([r is not None for r in recs.present], bool)
    masks, logged = _step_table(timeline)

    def moved(name: str) -> np.ndarray:
        # the change since the step before; absent or null counts as 0
        v = np.nan_to_num(series(timeline, memcg, name))
        return np.diff(v, prepend=0.0)

    changed = np.zeros(len(timeline), bool)
    for name in ("usage", "memsw_usage", *STATS):
        changed |= moved(name) != 0
    usage = moved("usage")
    grew = (moved("failcnt") > 0) | (moved("memsw_failcnt") > 0)
    found = {}
    for j, kind in enumerate(EVENT_KINDS):
        has = (masks & (1 << j)) != 0
        if kind == "OOM":
            # whose OOM it was: the step's own words (rare steps, read one by one)
            at = [int(i) for i in np.flatnonzero(has & present)
                  if "OOM" in step_kinds(timeline[int(i)],
                                         timeline[int(i) - 1] if i else None, memcg)]
            found[kind] = np.asarray(at, dtype=int)
            continue
        hit = has & changed
        if kind == "charge":
            hit |= ~logged & (usage > 0)      # no function log: read off usage
        elif kind == "uncharge":
            hit |= ~logged & (usage < 0)
        elif kind == "failcnt":
            hit |= grew
        found[kind] = np.flatnonzero(hit & present).astype(int)
    return found


_STATS = frozenset(STATS)
_STAT = operator.itemgetter("stat")


def _known_stats(recs: Sequence[Mapping[str, Any] | None]) -> bool:
    """Do the memcg records ``recs`` (None: absent) hold no statistic but
    those of STATS?"""
    try:
        # at C speed (a long timeline's records, each read once): the
        # "stat" of every record that has counters, its names a subset
        return all(map(_STATS.issuperset, map(_STAT, filter(None, recs))))
    except (KeyError, TypeError):               # no "stat", or a null one
        return all((r.get("stat") or {}).keys() <= _STATS for r in recs if r is not None)


def _event_steps_one_by_one(timeline: Timeline, memcg: str) -> dict[str, np.ndarray]:
    found: dict[str, list[int]] = {k: [] for k in EVENT_KINDS}
    prev = None
    for i, rec in enumerate(timeline.steps):
        for kind in step_kinds(rec, prev, memcg):
            found[kind].append(i)
        prev = rec
    return {k: np.asarray(v, dtype=int) for k, v in found.items()}
