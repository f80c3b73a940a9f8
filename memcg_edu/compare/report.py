"""The text a learner reads: two designs' counters per step, then what each design did.

Formats a memcg_edu.compare.Comparison for a terminal (``python -m
memcg_edu compare FILE``). Pure formatting: no kernel file behind it.
"""
from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from .calls import CATEGORIES, SPECIAL_CASES
from .comparison import DESIGNS, Comparison
from .diff import SHOWN, calls_of, read_counters

__all__ = ["render_text", "StepsTable", "op_width", "title_lines",
           "outcome_lines", "summary_lines"]


def _compact(calls: list[str]) -> str:
    """Consecutive repeats once, with a count: "lock_page_cgroup x2"."""
    out: list[list] = []
    for c in calls:
        if out and out[-1][0] == c:
            out[-1][1] += 1
        else:
            out.append([c, 1])
    return ", ".join(c if n == 1 else f"{c} x{n}" for c, n in out) or "no call"


class _Cells(dict):
    """(3.16 value, its type, 3.17 value, its type) -> the cell "*3.16/3.17"
    right-aligned (``*`` when they differ), made when first asked for: a
    long table repeats its cells (the types keep 1, 1.0 and True apart)."""

    LIMIT = 1 << 16     # cells kept at most (a counter that keeps growing repeats none)

    def __init__(self, width: int) -> None:
        super().__init__()
        self.width = width

    def __missing__(self, key: tuple) -> str:
        a, _, b, _ = key
        if len(self) >= self.LIMIT:
            self.clear()
        # built in one expression: a counter that keeps growing makes a new
        # cell at most steps
        cell = self[key] = (("*" if a != b else " ") + ("-" if a is None else str(a))
                            + "/" + ("-" if b is None else str(b))).rjust(self.width)
        return cell


class StepsTable:
    """The side-by-side table of per-step counters: its head, and each
    row's lines. The op column's width is given last (``lines``), so that
    a comparison read once, step by step, can keep its rows' lines and
    write them when the widest op is known."""

    def __init__(self, names: list[str], counters: tuple[str, ...],
                 calls: bool = False) -> None:
        self.names, self.counters, self.calls = names, counters, calls
        self.mw = max([len("memcg")] + [len(m) for m in names])
        self.cw = max([len(c) for c in counters] + [9])
        self._cells = _Cells(self.cw)
        self._read = read_counters(counters)
        self._leads = [(m, f"{m:<{self.mw}} ") for m in names]
        self._last: dict[str, tuple[Any, Any, str]] = {}   # memcg -> (ra, rb, its line)

    def head(self, opw: int) -> list[str]:
        head = (f"{'step':>4} {'op':<{opw}} {'memcg':<{self.mw}} "
                + " ".join(f"{c:>{self.cw}}" for c in self.counters))
        return [head, "-" * len(head)]

    def body(self, sa: Mapping[str, Any], sb: Mapping[str, Any]
             ) -> tuple[list[str], list[str]]:
        """A row's memcg lines (without the step and op in front) and the
        lines under them (each design's calls, a failed step), from the
        two designs' records of the step (diff_steps's, stand-ins too)."""
        ma, mb = sa.get("memcgs") or {}, sb.get("memcgs") or {}
        parts = []
        last, read, cell = self._last, self._read, self._cells.__getitem__
        for m, lead in self._leads:
            ra, rb = ma.get(m), mb.get(m)
            # the runner hands a memcg whose counters did not move the same
            # record again: its line too
            seen = last.get(m)
            if seen is not None and seen[0] is ra and seen[1] is rb:
                parts.append(seen[2])
                continue
            va, vb = read(ra), read(rb)
            line = lead + " ".join(map(cell, zip(va, map(type, va), vb, map(type, vb))))
            last[m] = (ra, rb, line)
            parts.append(line)
        under: list[str] = []
        op = sa.get("op", sb.get("op"))
        if self.calls and op != "expect":
            under += [f"{'':>4}   {d} calls: {_compact(calls_of(r, op))}"
                      for d, r in zip(DESIGNS, (sa, sb))]
        if not (sa.get("ok", True) and sb.get("ok", True)):
            under += [f"{'':>4}   {d} step failed: {r.get('error')}"
                      for d, r in zip(DESIGNS, (sa, sb)) if not r.get("ok", True)]
        return parts, under

    @staticmethod
    def lines(step: int, op: Any, parts: Sequence[str], under: Sequence[str],
              opw: int) -> list[str]:
        """A row's lines with an op column ``opw`` wide (``text``, split)."""
        return StepsTable.text(step, op, parts, under, opw).split("\n")[:-1]

    @staticmethod
    def text(step: int, op: Any, parts: Sequence[str], under: Sequence[str],
             opw: int) -> str:
        """A row as text with an op column ``opw`` wide: the step and op
        beside its first part, the other parts under it, then ``under``;
        each line ending in a newline (built in one go: a long comparison
        writes a row per step)."""
        text = "".join(u + "\n" for u in under) if under else ""
        if not parts:
            return text
        # a part under the first is indented as far as the step and op
        return (f"{step:>4} {op:<{opw}} " + ("\n" + " " * (opw + 6)).join(parts)
                + "\n" + text)


def op_width(ops) -> int:
    """The op column's width for rows of these ops."""
    return max([len("op")] + [len(str(op)) for op in ops])


def _steps_table(cmp: Comparison, counters: tuple[str, ...],
                 calls: bool = False) -> list[str]:
    # from the timelines, not the rows: each row is built when read
    names = list(dict.fromkeys(m for t in cmp.timelines.values() for m in t.memcg_names))
    longest = max(cmp.timelines.values(), key=len)
    opw = op_width(r.get("op") for r in longest.steps)
    table = StepsTable(names, counters, calls)
    lines = table.head(opw)
    for i in range(len(cmp.rows)):
        sa, sb = cmp.rows.records(i)
        lines += table.lines(i, sa.get("op", sb.get("op")), *table.body(sa, sb), opw)
    return lines


def title_lines(title: str, calls: bool) -> list[str]:
    """The lines above the table."""
    title = f"{title}: " if title else ""
    lines = [f"{title}3.16 beside 3.17 (each cell: 3.16/3.17 in pages, "
             f"* = the designs differ)"]
    if calls:
        lines.append("calls are listed in the order they return (inner calls first)")
    lines.append("")
    return lines


def outcome_lines(differing_steps: list[int], same_end_state: bool,
                  end_differences: list[list[str]],
                  kernel_bugs: list[dict[str, Any]]) -> list[str]:
    """Where the counters differ, and where a design stopped."""
    lines = []
    if differing_steps:
        steps = differing_steps
        lines.append(f"counters differ after step{'' if len(steps) == 1 else 's'} "
                     + ", ".join(map(str, steps))
                     + ("; the end state is the same" if same_end_state
                        else "; at the end they still differ in "
                        + ", ".join(f"{m} {c}" for m, c in end_differences)))
    else:
        lines.append("the counters agree after every step")
    for bug in kernel_bugs:
        lines.append(f"the {bug['design']} kernel stops at step {bug['step']}: "
                     f"{bug['error']}")
    return lines


def summary_lines(s: dict[str, Any]) -> list[str]:
    """Per design: entry points, locks, special cases, design notes."""
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
    lines = title_lines(cmp.title, calls)
    lines += _steps_table(cmp, counters, calls)
    lines.append("")
    lines += outcome_lines(cmp.differing_steps, cmp.same_end_state,
                           cmp.end_differences, cmp.kernel_bugs)
    lines.append("")
    lines += summary_lines(cmp.summary)
    return "\n".join(lines) + "\n"
