"""The text a learner reads: two designs' counters per step, then what each design did.

Formats a memcg_edu.compare.Comparison for a terminal (``python -m
memcg_edu compare FILE``). Pure formatting: no kernel file behind it.
"""
from __future__ import annotations

from typing import Any

from .calls import CATEGORIES, SPECIAL_CASES
from .comparison import DESIGNS, Comparison
from .diff import SHOWN

__all__ = ["render_text"]


def _cell(pair: dict[str, Any]) -> str:
    vals = ["-" if pair[d] is None else str(pair[d]) for d in DESIGNS]
    mark = "*" if pair[DESIGNS[0]] != pair[DESIGNS[1]] else " "
    return mark + "/".join(vals)


def _compact(calls: list[str]) -> str:
    """Consecutive repeats once, with a count: "lock_page_cgroup x2"."""
    out: list[list] = []
    for c in calls:
        if out and out[-1][0] == c:
            out[-1][1] += 1
        else:
            out.append([c, 1])
    return ", ".join(c if n == 1 else f"{c} x{n}" for c, n in out) or "no call"


def _steps_table(cmp: Comparison, counters: tuple[str, ...],
                 calls: bool = False) -> list[str]:
    # from the timelines, not the rows: each row is built when read
    names = list(dict.fromkeys(m for t in cmp.timelines.values() for m in t.memcg_names))
    longest = max(cmp.timelines.values(), key=len)
    opw = max([len("op")] + [len(str(r.get("op"))) for r in longest.steps])
    mw = max([len("memcg")] + [len(m) for m in names])
    cw = max([len(c) for c in counters] + [9])
    head = (f"{'step':>4} {'op':<{opw}} {'memcg':<{mw}} "
            + " ".join(f"{c:>{cw}}" for c in counters))
    lines = [head, "-" * len(head)]
    for r in cmp.rows:
        first = True
        for m in names:
            cells = r["memcgs"][m]
            lead = (f"{r['step']:>4} {r['op']:<{opw}}" if first
                    else f"{'':>4} {'':<{opw}}")
            lines.append(f"{lead} {m:<{mw}} "
                         + " ".join(f"{_cell(cells[c]):>{cw}}" for c in counters))
            first = False
        for d in DESIGNS:
            if calls and r["op"] != "expect":
                lines.append(f"{'':>4}   {d} calls: {_compact(r['calls'][d])}")
        for d in DESIGNS:
            if not r["ok"][d]:
                lines.append(f"{'':>4}   {d} step failed: {r['error'][d]}")
    return lines


def _summary(cmp: Comparison) -> list[str]:
    s = cmp.summary
    w = 34
    lines = [f"{'per design':<{w}}" + "".join(f"{d:>8}" for d in DESIGNS)]

    def row(label: str, key) -> None:
        lines.append(f"{label:<{w}}" + "".join(f"{key(s[d]):>8}" for d in DESIGNS))

    row("memcg entry points called", lambda x: len(x["entry_points"]))
    row("page_cgroup lock taken", lambda x: x["lock_page_cgroup"])
    lines.append("special cases fired")
    for cat in CATEGORIES:
        row(f"  {cat}", lambda x, c=cat: x["categories"][c])
    for d in DESIGNS:
        lines.append("")
        lines.append(f"{d} entry points: " + (", ".join(s[d]["entry_points"]) or "none"))
        for name, n in s[d]["special_cases"].items():
            text = SPECIAL_CASES.get(name, ("", name))[1] or name
            lines.append(f"  {n} x {name}: {text}")
        for note in s[d]["design_notes"]:
            lines.append(f"  design difference at step {note['step']}: {note['note']}")
    return lines


def render_text(cmp: Comparison, counters: tuple[str, ...] = SHOWN,
                calls: bool = False) -> str:
    """The side-by-side table (cells "3.16/3.17", ``*`` marks a difference),
    with each step's kernel calls per design if ``calls``, followed by the
    per-design summary."""
    title = f"{cmp.title}: " if cmp.title else ""
    lines = [f"{title}3.16 beside 3.17 (each cell: 3.16/3.17 in pages, "
             f"* = the designs differ)"]
    if calls:
        lines.append("calls are listed in the order they return (inner calls first)")
    lines.append("")
    lines += _steps_table(cmp, counters, calls)
    lines.append("")
    if cmp.differing_steps:
        steps = cmp.differing_steps
        lines.append(f"counters differ after step{'' if len(steps) == 1 else 's'} "
                     + ", ".join(map(str, steps))
                     + ("; the end state is the same" if cmp.same_end_state
                        else "; at the end they still differ in "
                        + ", ".join(f"{m} {c}" for m, c in cmp.end_differences)))
    else:
        lines.append("the counters agree after every step")
    for bug in cmp.kernel_bugs:
        lines.append(f"the {bug['design']} kernel stops at step {bug['step']}: "
                     f"{bug['error']}")
    lines.append("")
    lines += _summary(cmp)
    return "\n".join(lines) + "\n"
