"""The step table: an exploration result as text for the terminal.

Each row of the first broken interleaving shows which path ran which
step, the locks that path holds after it, and what the step changed in
the state (page fields, memcg counters and statistics, swap slots,
ptes); the row where an invariant broke ends with a "!" line naming it.
"""
from __future__ import annotations

from typing import Any

from .races import FIXES, PROTECTIONS, RACES
from .result import ExploreResult

__all__ = ["format_result", "format_list", "format_paths", "state_diff", "format_state"]


def _flatten(state: dict[str, Any]) -> dict[str, Any]:
    flat: dict[str, Any] = {}
    for section in ("pages", "memcgs", "slots"):
        for obj, fields in state.get(section, {}).items():
            for k, v in fields.items():
                flat[f"{obj}.{k}"] = v
    for task, pte in state.get("ptes", {}).items():
        flat[f"pte({task})"] = pte
    for k, v in state.get("mc", {}).items():
        flat[f"mc.{k}"] = v
    return flat


def _show(v: Any) -> str:
    if v is None:
        return "none"
    if isinstance(v, list):
        return "|".join(str(x) for x in v) if v else "none"
    if isinstance(v, bool):
        return "yes" if v else "no"
    return str(v)


def state_diff(before: dict[str, Any], after: dict[str, Any]) -> list[str]:
    """What changed between two state snapshots, as "X.ref 1->2" items."""
    a, b = _flatten(before), _flatten(after)
    return [f"{k} {_show(a.get(k))}->{_show(b[k])}" for k in b if a.get(k) != b[k]]


def format_state(state: dict[str, Any]) -> str:
    """One line for a whole state snapshot: pages | memcgs | slots | ptes."""
    pages = []
    for name, p in state["pages"].items():
        if p["freed"]:
            pages.append(f"{name} freed")
            continue
        flags = "|".join(p["pc_flags"]) or "-"
        where = [w for w, on in (("cache", p["cache"]), (f"swapcache={p['swapcache']}",
                                                          p["swapcache"])) if on]
        pages.append(f"{name} ref{p['ref']} map{p['map']} lru={p['lru'] or '-'} "
                     f"pc={flags}@{p['pc_memcg']}" + "".join(" " + x for x in where))
    memcgs = [f"{m} res{c['res']} memsw{c['memsw']} rss{c['rss']} cache{c['cache']} "
              f"swap{c['swap']}" for m, c in state["memcgs"].items()]
    slots = [f"{s} count{v['count']} cache={v['cache'] or '-'} record={v['record'] or '-'}"
             for s, v in state["slots"].items()]
    ptes = [f"pte {t}={_show(v)}" for t, v in state["ptes"].items()]
    return " | ".join(", ".join(x) for x in (pages, memcgs, slots, ptes) if x)


def format_result(r: ExploreResult, initial: dict[str, Any] | None = None,
                  full_state: bool = False) -> str:
    """The whole report: counts, broken counts per invariant, step table
    (with ``full_state``, the whole state after each step as well)."""
    race = RACES[r.race]
    lines = [f"{r.race} ({r.design}): {r.title}"]
    kept = [p for p in race.protections if p not in r.without]
    lines.append("protections in force: " + (", ".join(kept) or "none")
                 + (f"; dropped: {', '.join(r.without)}" if r.without else ""))
    if race.fixes:
        lines.append("later-kernel fixes applied: " + (", ".join(r.fixes) or "none"))
    lines.append(f"explored {r.explored} interleavings ({r.states} distinct states): "
                 f"{r.broken} broke an invariant")
    for inv, n in r.by_invariant.items():
        lines.append(f"  {inv}: {n}")
    if r.first_broken is None:
        lines.append("no interleaving breaks an invariant.")
        return "\n".join(lines)
    lines.append("")
    lines.append("first broken interleaving:")
    width_p = max(len(row["path"]) for row in r.first_broken)
    width_s = max(len(row["step"]) for row in r.first_broken)
    lines.append(f"  {'#':>3}  {'path':<{width_p}}  {'step':<{width_s}}  locks held | changes")
    prev = initial or r.first_broken[0]["state"]
    if full_state and initial is not None:
        lines.append(f"  {'':>3}  initial state: {format_state(initial)}")
    for i, row in enumerate(r.first_broken, 1):
        locks = ",".join(row["locks"]) or "-"
        changes = ", ".join(state_diff(prev, row["state"])) or "-"
        lines.append(f"  {i:>3}  {row['path']:<{width_p}}  {row['step']:<{width_s}}  "
                     f"{locks} | {changes}")
        prev = row["state"]
        if full_state:
            lines.append(f"       = {format_state(row['state'])}")
        inv = row["invariant"]
        if inv is not None:
            when = "after this step" if inv["after"] == "step" else \
                "once every path has finished"
            lines.append(f"       ! {inv['id']} ({when}): {inv['message']}")
    return "\n".join(lines)


def format_list(verbose: bool = False) -> str:
    """`explore --list`: the races and the protections each can drop."""
    lines = []
    for race in RACES.values():
        tag = "  [breaks as released: replays a kernel bug]" if race.expect_broken else ""
        lines.append(f"{race.name}  ({race.design}){tag}")
        lines.append(f"    {race.title}")
        lines.append("    --without: " + (" ".join(race.protections) or "(none)"))
        if race.fixes:
            lines.append("    --fix:     " + " ".join(race.fixes))
        if verbose:
            for p in race.protections:
                lines.append(f"      {p}: {PROTECTIONS[p]}")
            for f in race.fixes:
                lines.append(f"      {f}: {FIXES[f]}")
    return "\n".join(lines)


def format_paths(paths: list[dict[str, Any]]) -> str:
    """`explore RACE --paths`: every path's steps with their locks, the
    references they rely on and the protection each step belongs to."""
    lines = []
    for path in paths:
        lines.append(f"path {path['name']}:")
        for i, s in enumerate(path["steps"], 1):
            locks = " ".join([f"+{l}" for l in s["takes"]] + [f"-{l}" for l in s["releases"]])
            extra = "".join([f"  [{locks}]" if locks else "",
                             f"  (protection {s['protection']})" if s["protection"] else ""])
            lines.append(f"  {i:>2}. {s['label']}{extra}")
            lines.append(f"      {s['kernel']}" + (f"; relies on: {s['refs']}" if s["refs"] else ""))
    return "\n".join(lines)
