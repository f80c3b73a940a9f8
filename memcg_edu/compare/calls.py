"""What each design did to get its numbers: memcg calls, page_cgroup locks, special cases.

Reads only the ``"events"`` names and ``"design_notes"`` of a timeline's
step records. The names are the kernel's: mm/memcontrol.c entry points of
Linux 3.16 (mem_cgroup_charge_anon, mem_cgroup_uncharge_page,
mem_cgroup_uncharge_swapcache, mem_cgroup_prepare_migration, ...) and of
Linux 3.17 (mem_cgroup_try_charge, mem_cgroup_uncharge, mem_cgroup_migrate,
...), ``lock_page_cgroup`` for each acquisition of the 3.16 PCG_LOCK bit
spinlock, and ``function:case`` for a special case the function took (an
early return, a refusal, a deferral, a root skip).
"""
from __future__ import annotations

import re
from collections import Counter
from collections.abc import Iterable, Mapping
from typing import Any

from ..scenario.registry import DESIGNS, REGISTRY

__all__ = ["ENTRY_POINTS", "LOCK_EVENT", "SPECIAL_CASES", "CATEGORIES",
           "summarize_calls", "CallTally"]

#: The functions mm/memcontrol.c exports to the rest of mm, per design: the
#: entry points the scenario ops' paths call (the op registry's memcg_api).
ENTRY_POINTS: dict[str, tuple[str, ...]] = {
    d: tuple(sorted({f for o in REGISTRY.values() for f in o.memcg_api[d]}))
    for d in DESIGNS}

#: One acquisition of the per-page bit spinlock (3.16 only).
LOCK_EVENT = "lock_page_cgroup"

#: Category of each special case, in the order a report lists them.
CATEGORIES = ("deferred uncharge for swap cache", "migration refusal",
              "unmapped survivor of migration", "refused uncharge", "root skip",
              "early return")

#: special-case event -> (category, what happened, in plain words). Only the
#: 3.16 hooks record these; the 3.17 model records an early return as the
#: plain call with no memcg (its ``nr`` is 0), which a step's name list
#: cannot tell apart, so 3.17 shows no special cases.
SPECIAL_CASES: dict[str, tuple[str, str]] = {
    "mem_cgroup_uncharge_page:swapcache": (
        "deferred uncharge for swap cache",
        "last unmap of an anon page in the swap cache: uncharge left to "
        "mem_cgroup_uncharge_swapcache"),
    "mem_cgroup_uncharge_page:mapped": (
        "early return", "mem_cgroup_uncharge_page on a page that is still mapped"),
    "__mem_cgroup_uncharge_common:migration": (
        "migration refusal",
        "uncharge refused: PCG_MIGRATION set, end_migration decides"),
    "__mem_cgroup_uncharge_common:mapped": (
        "refused uncharge", "uncharge refused: the page is still mapped"),
    "__mem_cgroup_uncharge_common:shmem_in_cache": (
        "refused uncharge",
        "SWAPOUT refused: the shmem page is still in its inode's page cache"),
    "__mem_cgroup_uncharge_common:not_used": (
        "early return", "uncharge of a page without PCG_USED"),
    "__mem_cgroup_uncharge_common:root": (
        "root skip", "uncharge of a root page: statistics only, no res_counter"),
    "mem_cgroup_try_charge:root": (
        "root skip", "charge to the root memcg: nothing charged"),
    "__mem_cgroup_cancel_charge:root": (
        "root skip", "cancel of a root charge: nothing to give back"),
    "mem_cgroup_uncharge_swap:root": (
        "root skip", "swap record of root freed: no memsw to give back"),
    "mem_cgroup_try_charge_swapin:already_charged": (
        "early return", "swap fault on a page that is already charged"),
    "mem_cgroup_end_migration:unmapped_survivor": (
        "unmapped survivor of migration",
        "end_migration found the surviving page unmapped and uncharged it"),
    "mem_cgroup_prepare_migration:not_used": (
        "early return", "migration of an uncharged page: nothing to prepare"),
    "mem_cgroup_replace_page_cache:not_used": (
        "early return", "replaced page cache page was not charged"),
}


def _event_name(event: Any) -> str:
    """An event of a step record: a name, or a dict naming its function."""
    if isinstance(event, Mapping):
        return str(event.get("function") or event.get("kind") or "")
    return str(event)


def _with_labels(note: str, step: Mapping[str, Any]) -> str:
    """'page 3' -> 'page 3 ("x")' where the step's detail names pfn 3 "x"."""
    labels = ((step.get("detail") or {}).get("labels") or {})
    by_pfn = {v["pfn"]: k for k, v in labels.items()
              if isinstance(v, Mapping) and v.get("pfn") is not None}
    if not by_pfn:
        return note
    return re.sub(r"page (\d+)",
                  lambda mt: (f'page {mt.group(1)} ("{by_pfn[int(mt.group(1))]}")'
                              if int(mt.group(1)) in by_pfn else mt.group(0)), note)


class CallTally:
    """summarize_calls fed one step record at a time (``add``), for a
    comparison that streams its steps; ``result()`` is summarize_calls's."""

    def __init__(self, design: str) -> None:
        self.known = set(ENTRY_POINTS.get(design, ()))
        # each distinct list of event names, counted: the steps of a long
        # run repeat a few lists, counted name by name at the end
        self.lists: dict[tuple[str, ...], int] = {}
        self.other: Counter[str] = Counter()     # any other events, by name
        self.notes: dict[str, int] = {}
        self.seen = 0

    def add(self, step: Mapping[str, Any]) -> None:
        self.seen += 1
        events = tuple(step.get("events") or ())
        try:
            n: int | None = self.lists.get(events, 0)
        except TypeError:                       # unhashable: dicts naming their function
            n = None
        # a list kept is names only (strings): a name is never equal to
        # anything else, so an equal list is the same names
        if n or (n == 0 and all(type(e) is str for e in events)):
            self.lists[events] = n + 1
        else:
            self.other.update(map(_event_name, events))
        if "design_notes" in step:
            for note in step["design_notes"] or ():
                self.notes.setdefault(_with_labels(note, step),
                                      step.get("step", self.seen - 1))

    def result(self) -> dict[str, Any]:
        events = Counter(self.other)
        for names, n in self.lists.items():
            for name in names:
                events[_event_name(name)] += n
        calls = {k: n for k, n in events.items() if k in self.known and k != LOCK_EVENT}
        special = {k: n for k, n in events.items() if ":" in k}
        categories = {c: 0 for c in CATEGORIES}
        for name, n in special.items():
            cat = SPECIAL_CASES.get(name, ("early return", ""))[0]
            categories[cat] += n
        return {"entry_points": sorted(calls),
                "calls": dict(sorted(calls.items())),
                "lock_page_cgroup": events[LOCK_EVENT],
                "special_cases": dict(sorted(special.items())),
                "categories": categories,
                "design_notes": [{"step": st, "note": n} for n, st in self.notes.items()]}


def summarize_calls(steps: Iterable[Mapping[str, Any]],
                    design: str) -> dict[str, Any]:
    """Count what one design's timeline called.

    Returns ``{"entry_points": [sorted names], "calls": {name: count},
    "lock_page_cgroup": n, "special_cases": {event: count},
    "categories": {category: count}, "design_notes": [{"step", "note"}]}``
    (each distinct note once, with the first step it appeared after).
    An entry point is a function of ``ENTRY_POINTS[design]`` that appears
    in some step's events (with or without a ``:case`` suffix).
    """
    tally = CallTally(design)
    for step in steps:
        tally.add(step)
    return tally.result()
