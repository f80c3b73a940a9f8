"""Race explorer: every interleaving of short kernel paths, old design vs new.

The Python API (the widgets and notebooks build on it)::

    from memcg_edu.explore import list_races, explore
    list_races()            # [{"name", "design", "title", "protections", ...}]
    r = explore("move_vs_unmap", without=["lock_page_cgroup"])
    r.explored, r.broken, r.first_broken, r.to_dict()

``progress(states_visited, total_or_None)`` is called every few hundred
search states, so a notebook can drive a progress bar.
Kernel files modelled: see the race modules in memcg_edu.explore.races.
"""
from __future__ import annotations

from typing import Any, Callable, Iterable

from ..errors import ModelUsageError
from .races import FIXES, PROTECTIONS, RACES, Race
from .result import ExploreResult
from .search import Search

__all__ = ["list_races", "race_paths", "explore", "ExploreResult", "PROTECTIONS",
           "FIXES", "RACES", "Race"]


def list_races() -> list[dict[str, Any]]:
    """Every shipped race: name, design, title, protections it can drop,
    fixes it can apply, whether it replays a kernel bug, its paths."""
    return [r.describe() for r in RACES.values()]


def race_paths(race: str, fixes: Iterable[str] = ()) -> list[dict[str, Any]]:
    """The race's paths as data, before any exploration: per path its name
    and steps, each step with ``label``, ``kernel``, ``takes``,
    ``releases``, ``refs`` and ``protection`` (None, or the protection
    whose removal drops the step)."""
    fixes = list(fixes)
    r = _check(race, (), fixes)
    _, paths = r.build(frozenset(fixes))
    return [{"name": p.name,
             "steps": [{"label": s.label, "kernel": s.kernel, "takes": list(s.takes),
                        "releases": list(s.releases), "refs": s.refs,
                        "protection": s.protection} for s in p.steps]}
            for p in paths]


def _check(race: str, without: Iterable[str], fixes: Iterable[str]) -> Race:
    r = RACES.get(race)
    if r is None:
        raise ModelUsageError(f'unknown race "{race}" (known: {", ".join(RACES)})')
    for p in without:
        if p not in r.protections:
            can = ", ".join(r.protections) or "none"
            raise ModelUsageError(f'race "{race}" has no protection "{p}" to drop '
                                  f"(it can drop: {can})")
    for f in fixes:
        if f not in r.fixes:
            can = ", ".join(r.fixes) or "none"
            raise ModelUsageError(f'race "{race}" has no fix "{f}" (it can apply: {can})')
    return r


def explore(race: str, without: Iterable[str] = (), fixes: Iterable[str] = (),
            progress: Callable[[int, int | None], None] | None = None) -> ExploreResult:
    """Enumerate every interleaving of the race's paths the locks allow.

    ``without``: protections to remove (each must be one the race lists;
    a single name may be given as a string); ``fixes``: later-kernel fixes
    to apply. Raises ModelUsageError for an
    unknown race, protection or fix.
    """
    without = [without] if isinstance(without, str) else list(dict.fromkeys(without))
    fixes = [fixes] if isinstance(fixes, str) else list(dict.fromkeys(fixes))
    r = _check(race, without, fixes)
    in_force = frozenset(PROTECTIONS) - set(without)
    world, paths = r.build(frozenset(fixes))
    search = Search(world, [p.compile(in_force) for p in paths], in_force,
                    frozenset(fixes), progress=progress)
    total, broken, why = search.run()
    if progress is not None:
        progress(len(search.memo), len(search.memo))
    return ExploreResult(race=r.name, design=r.design, title=r.title,
                         without=without, fixes=fixes, explored=total,
                         broken=broken, states=len(search.memo),
                         by_invariant=dict(sorted(why.items())),
                         first_broken=search.first_broken(),
                         expect_broken=r.expect_broken)
