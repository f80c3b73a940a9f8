"""Tables the notebooks show, as HTML: text that never wraps mid-word.

A printed table wraps mid-word in a narrow notebook column (JupyterLab
breaks long output lines anywhere); these render as HTML tables with the
numbers kept on one line and the prose free to wrap between words. Each
object also has a plain-text form (``str()``) for terminals.

* ``steps_table(timeline, ...)``: counters per step, with design notes
  (notebooks 02-04);
* ``designs_table(cmp)``: 3.16 beside 3.17 (memcg_edu.compare.Comparison,
  notebook 05), with the per-design summary of memcg calls, page_cgroup
  locks and special cases (mm/memcontrol.c of each release);
* ``kernel_table(cmp)`` and ``differences_list(cmp)``: model beside the
  kernel (memcg_edu.live.compare.Comparison, notebook 06), each named
  difference once.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Iterable, Mapping, Sequence

from ..safeio import html_text
from ..timeline import Timeline

__all__ = ["HtmlTable", "steps_table", "designs_table", "kernel_table",
           "differences_list", "plural"]

_TABLE = "border-collapse:collapse;margin:4px 0;font-size:95%"
_TH = "text-align:left;padding:2px 10px 2px 0;border-bottom:1px solid #888;white-space:nowrap"
_TD = "text-align:left;padding:2px 10px 2px 0;vertical-align:top"
_NUM = _TD + ";text-align:right;white-space:nowrap;font-variant-numeric:tabular-nums"
_DIFF = ";background:#FCE8D5;font-weight:bold"


def plural(n: int, word: str = "page") -> str:
    """'1 page', '3 pages'."""
    return f"{n} {word}{'' if n == 1 else 's'}"


@dataclass(frozen=True)
class HtmlTable:
    """HTML for a notebook (``_repr_html_``), text for a terminal (``str``)."""
    html: str
    text: str

    def _repr_html_(self) -> str:
        return self.html

    def __str__(self) -> str:
        return self.text

    def __repr__(self) -> str:
        return self.text


def _e(x: Any) -> str:
    return html_text(str(x))


def _table(head: Sequence[str], rows: Iterable[Sequence[tuple[str, str]]],
           numeric_from: int) -> str:
    """rows: cells as (html, extra style); columns from ``numeric_from`` are numbers."""
    out = [f"<table style='{_TABLE}'><tr>"
           + "".join(f"<th style='{_TH}{';text-align:right' if i >= numeric_from else ''}'>"
                     f"{_e(h)}</th>" for i, h in enumerate(head)) + "</tr>"]
    for row in rows:
        if len(row) == 1:     # a note under the row, across the table
            out.append(f"<tr><td colspan='{len(head)}' style='{_TD};padding-left:2em'>"
                       f"{row[0][0]}</td></tr>")
            continue
        out.append("<tr>" + "".join(
            f"<td style='{(_NUM if i >= numeric_from else _TD) + extra}'>{cell}</td>"
            for i, (cell, extra) in enumerate(row)) + "</tr>")
    return "".join(out) + "</table>"


def _value(rec: Mapping[str, Any], memcg: str, name: str) -> Any:
    c = (rec.get("memcgs") or {}).get(memcg) or {}
    return c[name] if name in c else (c.get("stat") or {}).get(name)


def steps_table(timeline: Timeline, memcgs: Sequence[str] = ("A",),
                counters: Sequence[str] = ("usage",), notes: bool = True) -> HtmlTable:
    """One row per step: the op and ``counters`` of each memcg; a failed
    step's error and (``notes``) the design notes under the step where
    each first shows."""
    head = ["step", "op"] + [f"{m} {c}" for m in memcgs for c in counters]
    rows, text = [], ["  ".join(head)]
    shown: list[str] = []
    for rec in timeline:
        vals = [_value(rec, m, c) for m in memcgs for c in counters]
        cells = [(_e(rec.get("step")), ""), (f"<code>{_e(rec.get('op'))}</code>", "")]
        rows.append(cells + [(_e("-" if v is None else v), "") for v in vals])
        text.append(f"{rec.get('step')}  {rec.get('op')}  " + "  ".join(map(str, vals)))
        under = ([f"step failed: {rec['error']}"] if rec.get("ok") is False else [])
        now = list(rec.get("design_notes") or []) if notes else []
        under += [n for n in now if n not in shown]    # a note once, where it starts
        shown = now
        for note in under:
            rows.append([(f"<i>{_e(note)}</i>", "")])
            text.append(f"    {note}")
    return HtmlTable(_table(head, rows, 2), "\n".join(text))


def designs_table(cmp: Any, counters: Sequence[str] | None = None) -> HtmlTable:
    """3.16 beside 3.17: each cell "3.16 / 3.17", a differing cell marked;
    then which steps differ and, per design, the memcg entry points, page
    locks and special cases (a memcg_edu.compare.Comparison)."""
    from ..compare.calls import CATEGORIES, SPECIAL_CASES
    from ..compare.comparison import DESIGNS
    from ..compare.diff import SHOWN
    from ..compare.report import render_text

    counters = tuple(counters or SHOWN)
    names = list(dict.fromkeys(m for r in cmp.rows for m in r["memcgs"]))
    rows = []
    for r in cmp.rows:
        for i, m in enumerate(names):
            cells = [(_e(r["step"]) if i == 0 else "", ""),
                     (f"<code>{_e(r['op'])}</code>" if i == 0 else "", ""), (_e(m), "")]
            for c in counters:
                pair = r["memcgs"][m][c]
                vals = ["-" if pair[d] is None else str(pair[d]) for d in DESIGNS]
                cells.append((" / ".join(vals), _DIFF if vals[0] != vals[1] else ""))
            rows.append(cells)
        for d in DESIGNS:
            if not r["ok"][d]:
                rows.append([(f"<i>{_e(d)}: the step failed: {_e(r['error'][d])}</i>", "")])
    title = f"<b>{_e(cmp.title)}</b>: " if cmp.title else ""
    parts = [f"<div>{title}3.16 beside 3.17, in pages (each cell: 3.16 / 3.17; "
             f"<span style='background:#FCE8D5;font-weight:bold'>marked</span>: "
             f"the designs differ)</div>",
             _table(["step", "op", "memcg", *counters], rows, 3)]
    if cmp.differing_steps:
        end = ("the end state is the same" if cmp.same_end_state else
               "at the end they still differ in "
               + ", ".join(f"{m} {c}" for m, c in cmp.end_differences))
        parts.append(f"<p>The counters differ after step"
                     f"{'s' if len(cmp.differing_steps) > 1 else ''} "
                     f"{_e(', '.join(map(str, cmp.differing_steps)))}; {_e(end)}.</p>")
    else:
        parts.append("<p>The counters agree after every step.</p>")
    for bug in cmp.kernel_bugs:
        parts.append(f"<p>The {_e(bug['design'])} kernel stops at step {bug['step']}: "
                     f"{_e(bug['error'])}</p>")
    s = cmp.summary
    srows = [[("memcg entry points called", "")] + [(str(len(s[d]["entry_points"])), "")
                                                      for d in DESIGNS],
             [("page_cgroup lock taken", "")] + [(str(s[d]["lock_page_cgroup"]), "")
                                                 for d in DESIGNS]]
    srows += [[(f"special case: {_e(cat)}", "")] + [(str(s[d]["categories"][cat]), "")
                                                    for d in DESIGNS]
              for cat in CATEGORIES if any(s[d]["categories"][cat] for d in DESIGNS)]
    parts.append(_table(["per design", *DESIGNS], srows, 1))
    for d in DESIGNS:
        items = [f"<li>entry points: {', '.join(f'<code>{_e(e)}</code>' for e in s[d]['entry_points']) or 'none'}</li>"]
        items += [f"<li>{n} &times; <code>{_e(name)}</code>: "
                  f"{_e(SPECIAL_CASES.get(name, ('', name))[1] or name)}</li>"
                  for name, n in s[d]["special_cases"].items()]
        items += [f"<li>design difference at step {note['step']}: {_e(note['note'])}</li>"
                  for note in s[d]["design_notes"]]
        parts.append(f"<div><b>{_e(d)}</b><ul style='margin:2px 0'>{''.join(items)}</ul></div>")
    return HtmlTable("".join(parts), render_text(cmp, counters))


def kernel_table(cmp: Any, counters: Sequence[str] | None = None) -> HtmlTable:
    """The model beside the kernel (a memcg_edu.live.compare.Comparison):
    each cell "model | kernel" and the difference, marked where it is
    outside the tolerance; the named differences are listed once below
    (:func:`differences_list`)."""
    from ..live.compare import SHOWN, render

    counters = tuple(counters or SHOWN)
    meta = cmp.kernel.meta
    by_step: dict[tuple[int, str], dict[str, dict]] = {}
    for r in cmp.rows:
        by_step.setdefault((r["step"], r["memcg"]), {})[r["counter"]] = r
    rows = []
    for (step, memcg), cells in by_step.items():
        row = [(_e(step), ""), (f"<code>{_e(cmp.kernel[step]['op'])}</code>", ""), (_e(memcg), "")]
        for c in counters:
            r = cells.get(c)
            if r is None:
                row.append(("-", ""))
                continue
            mark = "" if r["within"] else (" ~" if r["explained_by"] else " !")
            row.append((f"{r['model']} | {r['kernel']} ({r['diff']:+d}){mark}",
                        "" if r["within"] else _DIFF))
        rows.append(row)
        if not cmp.kernel[step].get("ok", True):
            rows.append([(f"<i>{_e(cmp.kernel[step].get('error'))}</i>", "")])
    head = (f"<div>Workload <code>{_e(meta.get('workload'))}</code> "
            f"({_e(meta.get('pages'))} pages per operation): model (Linux 3.17 design) | "
            f"kernel (Linux {_e(meta.get('kernel'))}, cgroup {_e(meta.get('cgroup'))}), "
            f"in pages, then kernel &minus; model. <b>~</b> outside the tolerance but "
            f"accounted for by a named difference (listed below), <b>!</b> unexplained.</div>")
    return HtmlTable(head + _table(["step", "op", "memcg", *counters], rows, 3), render(cmp))


def _ranges(steps: Sequence[int]) -> str:
    """'1, 3-5, 7'."""
    out: list[list[int]] = []
    for s in steps:
        if out and s == out[-1][1] + 1:
            out[-1][1] = s
        else:
            out.append([s, s])
    return ", ".join(str(a) if a == b else f"{a}-{b}" for a, b in out)


def differences_list(cmp: Any) -> HtmlTable:
    """Each named difference once (per memcg): the steps where it shows, its
    size there, and the explanation at its largest."""
    groups: dict[tuple[str, str], list[Any]] = {}
    for d in cmp.differences:
        groups.setdefault((d.memcg, d.name), []).append(d)
    items, text = [], []
    for (memcg, name), ds in groups.items():
        steps = sorted({d.step for d in ds})
        sizes = sorted({d.pages for d in ds})
        size = (plural(sizes[0]) if len(sizes) == 1
                else f"{sizes[0]} to {plural(sizes[-1])}")
        top = max(ds, key=lambda d: d.pages)
        where = f"step{'s' if len(steps) > 1 else ''} {_ranges(steps)}"
        items.append(f"<li><b>{_e(name)}</b> ({_e(memcg)}, {_e(where)}, {_e(size)}): "
                     f"at step {top.step} ({_e(top.op)}), {_e(top.text)}.</li>")
        text.append(f"- {name} ({memcg}, {where}, {size}): at step {top.step} "
                    f"({top.op}), {top.text}.")
    if not items:
        return HtmlTable("<p>No named differences.</p>", "No named differences.")
    return HtmlTable(f"<ul style='margin:2px 0'>{''.join(items)}</ul>", "\n".join(text))
