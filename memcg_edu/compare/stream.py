"""One scenario under both designs in one pass, each step reported and let go.

What ``python -m memcg_edu compare FILE`` prints, for a scenario of any
length: the two designs run side by side, step by step
(memcg_edu.scenario.iter_scenario on a 3.16 and a 3.17 Machine, the 3.16
one in a second process for a long scenario: scenario/beside.py), and each
pair of step records is compared and turned into its table lines (or its
JSON row) at once and let go, so that memory never holds two timelines of
step records. The report goes to a spooled temporary file and is copied
out when both runs are through (a step found invalid half way writes
nothing). The text is render_text's and the JSON Comparison.to_dict's for
the same scenario. No kernel file behind it.
"""
from __future__ import annotations

import json
import shutil
import tempfile
from pathlib import Path
from typing import TYPE_CHECKING, Any, Iterator, TextIO, cast

from ..collector import collector_off
from ..timeline import COUNTERS, STATS
from .calls import CallTally
from .comparison import DESIGNS
from .diff import SHOWN, StepDiffers, diff_row, stand_in
from .report import StepsTable, op_width, outcome_lines, summary_lines, title_lines

if TYPE_CHECKING:
    from ..scenario.beside import Feed

__all__ = ["stream_compare"]

ALL = COUNTERS + STATS


#: iter_scenario's options for both runs: no "detail", which the report
#: reads only for design notes, whose steps keep it. The first design
#: (3.16, the slower) may run in a second process meanwhile (beside.records)
_OPTIONS = {"pages": False, "calls": False, "detail": False}


def _paired(scenario: Any, stopped: dict[str, tuple[int, Any]],
            feed: Feed | None = None
            ) -> Iterator[tuple[dict[str, Any], dict[str, Any]]]:
    """Each step's (3.16 record, 3.17 record), until both designs stopped;
    a design that stopped (``stopped[design] = (step, error)``) gives
    stand-ins, as diff_steps does. ``feed``: beside.early's, or None."""
    from ..scenario import iter_scenario
    from ..scenario.beside import records

    runs = {d: (records(scenario, d, feed, **_OPTIONS) if d == DESIGNS[0]
                else iter_scenario(scenario, d, **_OPTIONS))
            for d in DESIGNS}
    try:
        for i in range(len(scenario.steps)):
            if len(stopped) == len(DESIGNS):
                return
            pair = []
            for d in DESIGNS:
                if d in stopped:
                    pair.append(stand_in(d, stopped[d][0]))
                    continue
                rec, stop = next(runs[d])
                if stop:
                    stopped[d] = (i, rec.get("error"))
                pair.append(rec)
            yield pair[0], pair[1]
    finally:
        for run in runs.values():               # a second process ends here
            run.close()


def stream_compare(scenario: Any, out: TextIO, as_json: bool = False,
                   counters: tuple[str, ...] = SHOWN, calls: bool = False
                   ) -> list[dict[str, Any]]:
    """Compare ``scenario`` (a path, dict or loaded scenario) under 3.16 and
    3.17 and write the report to ``out``: render_text's text (``counters``
    per memcg, each step's calls if ``calls``) or, ``as_json``, the JSON of
    Comparison.to_dict and a newline. Returns the comparison's kernel_bugs.
    Raises ScenarioError for a file that is not a valid scenario."""
    from ..scenario import load_scenario
    from ..scenario.beside import early

    if not isinstance(scenario, (str, Path)):
        return _compare(load_scenario(scenario), out, as_json, counters, calls, None)
    # the 3.16 run's second process starts while the file is loaded, and
    # runs its first steps while the last are checked
    with early(scenario, DESIGNS[0], **_OPTIONS) as feed:
        return _compare(load_scenario(scenario, watch=feed), out, as_json, counters,
                        calls, feed)


def _compare(sc: Any, out: TextIO, as_json: bool, counters: tuple[str, ...],
             calls: bool, feed: Feed | None) -> list[dict[str, Any]]:
    """stream_compare of a loaded scenario; ``feed``: beside.early's, or None."""
    # the steps make no cyclic garbage (records are freed as they are let
    # go), yet each collection would walk the scenario's steps and both
    # machines' labels again
    with collector_off(), tempfile.SpooledTemporaryFile(
            2**23, "w+", encoding="utf-8") as spool:
        bugs = _write(sc, cast(TextIO, spool), as_json, counters, calls, feed)
        spool.seek(0)                   # both runs are through: nothing is written
        shutil.copyfileobj(spool, out)  # for a step that turns out invalid
    return bugs


def _certain_from(sc: Any) -> int:
    """The first step whose op is as wide as the widest op of the scenario:
    once the comparison reaches it, the op column's width is known
    (op_width of every step's op); -1 when no op is wider than the
    column's head."""
    widths = [len(str(st["op"])) for st in sc.steps]
    widest = op_width(st["op"] for st in sc.steps)
    return widths.index(widest) if widest in widths else -1


def _write(sc: Any, out: TextIO, as_json: bool, counters: tuple[str, ...],
           calls: bool, feed: Feed | None = None) -> list[dict[str, Any]]:
    stopped: dict[str, tuple[int, Any]] = {}
    tallies = {d: CallTally(d) for d in DESIGNS}
    differing: list[int] = []
    names: list[str] | None = None
    table: StepsTable | None = None
    differs: StepDiffers | None = None
    # The op column is as wide as the widest op of the steps compared, and
    # these end early when both designs stop: rows are kept (as tuples of
    # strings, which the garbage collector stops tracking) only until the
    # first step of the scenario's widest op, then written as they come.
    certain = _certain_from(sc)
    kept: list[tuple[int, Any, tuple[str, ...], tuple[str, ...]]] = []
    opw = 0                                     # the width, once known
    last: tuple[int, dict, dict] | None = None
    if as_json:
        head = json.dumps({"format": "memcg-edu-compare/1", "title": sc.title or "",
                           "designs": list(DESIGNS)})
        out.write(head[:-1] + ', "steps": [')
    add_a, add_b = (tallies[d].add for d in DESIGNS)
    for i, (sa, sb) in enumerate(_paired(sc, stopped, feed)):
        if "op" in sa:                               # not a stand-in
            add_a(sa)
        if "op" in sb:
            add_b(sb)
        if names is None:
            names = list(dict.fromkeys([*(sa.get("memcgs") or {}), *(sb.get("memcgs") or {})]))
            table = StepsTable(names, counters, calls)
            differs = StepDiffers(names, ALL)
        assert differs is not None
        if differs(sa, sb):
            differing.append(i)
        last = (i, sa, sb)
        if as_json:
            out.write((", " if i else "") + json.dumps(diff_row(i, sa, sb, DESIGNS, names, ALL)))
            continue
        assert table is not None
        parts, under = table.body(sa, sb)
        if opw:
            out.write(table.text(i, sa.get("op", sb.get("op")), parts, under, opw))
            continue
        kept.append((i, sa.get("op", sb.get("op")), tuple(parts), tuple(under)))
        if i >= certain:
            opw = _flush(out, sc, table, kept, calls)
    end = diff_row(*last, DESIGNS, names or [], ALL)["differs"] if last else []
    bugs = [{"design": d, "step": stopped[d][0], "error": stopped[d][1]}
            for d in DESIGNS if d in stopped]
    summary = {d: tallies[d].result() for d in DESIGNS}
    if as_json:
        tail = json.dumps({"differing_steps": differing, "same_end_state": not end,
                           "end_differences": end, "kernel_bugs": bugs,
                           "summary": summary})
        out.write("], " + tail[1:] + "\n")
        return bugs
    if not opw:                                 # ended before the widest op
        _flush(out, sc, table or StepsTable([], counters, calls), kept, calls)
    lines = [""] + outcome_lines(differing, not end, end, bugs) + [""]
    lines += summary_lines(summary)
    out.write("\n".join(lines) + "\n")
    return bugs


def _flush(out: TextIO, sc: Any, table: StepsTable,
           kept: list[tuple[int, Any, tuple[str, ...], tuple[str, ...]]],
           calls: bool) -> int:
    """Write the title, the table's head and the rows kept so far, with
    the op column as wide as their widest op; that width."""
    opw = op_width(op for _, op, _, _ in kept)
    out.write("\n".join(title_lines(sc.title or "", calls) + table.head(opw)) + "\n")
    for row in kept:
        out.write(table.text(*row, opw))
    kept.clear()
    return opw
