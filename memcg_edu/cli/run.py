"""``python -m memcg_edu run FILE [--json] [--calls] [--design 3.17|3.16]``.

Runs a scenario on the model and prints, per step, the counters of every
memcg (readable table, or one JSON object per step with --json); --calls
also lists the kernel functions each step ran, indented by depth, with
what each changed.
Exit 0 when every step ran, 1 when an expect failed or a kernel
precondition broke, 2 for an invalid file (see memcg_edu.cli).
"""
from __future__ import annotations

import argparse
import sys

from ..collector import collector_off
from ..quick_exit import keep
from ..scenario import DESIGNS, iter_scenario, load_scenario
from ..scenario.beside import Feed, early, records
from ..scenario.load import Scenario
from ..scenario.run import design_for, step_json
from ..scenario.text import format_calls, format_step

__all__ = ["add_parser", "main", "add_design_argument", "design_of",
           "add_invariants_argument", "exit_status"]


def add_design_argument(p: argparse.ArgumentParser) -> None:
    p.add_argument("--design", choices=DESIGNS, default=None,
                   help="which kernel design to model (default: the file's "
                        "\"design\", else 3.17)")


def design_of(args: argparse.Namespace, sc) -> str:
    """--design if given, else the design the file says it is for."""
    args.design = design_for(sc, args.design)
    return args.design


def add_invariants_argument(p: argparse.ArgumentParser) -> None:
    p.add_argument("--check-invariants", action="store_true",
                   help="check the accounting invariants after every "
                        "operation (slower); a violation ends the run, exit 1")


def add_parser(sub) -> None:
    p = sub.add_parser("run", help="run a scenario and print the counters "
                                   "after every step",
                       description=__doc__.split("\n\n")[1])
    p.add_argument("file", help="scenario file (docs/scenario-format.md)")
    p.add_argument("--json", action="store_true",
                   help="print one JSON object per step and nothing else "
                        "(with the step's kernel calls under \"calls\")")
    p.add_argument("--calls", action="store_true",
                   help="list each step's kernel calls, indented by depth, "
                        "with the page fields and counters each changed")
    add_design_argument(p)
    add_invariants_argument(p)
    p.set_defaults(func=main)


def exit_status(records, stopped: bool | None = None) -> int:
    """1 if an expect failed or the run stopped at a kernel check, else 0.

    ``records``: a Timeline (``stopped`` then read from its meta) or step
    records with "ok" and "op".
    """
    if stopped is None:
        stopped = "stopped_at" in records.meta
    failed = any(not r["ok"] and r["op"] == "expect" for r in records)
    return 1 if failed or stopped else 0


def main(args: argparse.Namespace) -> int:
    # neither the text nor JSON_KEYS show a step's "detail": not built. A
    # long run without its kernel calls is made in a second process while
    # this one writes the text (scenario/beside.py), started before the file
    # is loaded; the calls are read from the machine's call log, so a run
    # that prints them stays here.
    # The records hold no cycle and are let go as they are printed, yet each
    # collection would walk the scenario's steps again: a tenth of this
    # process's time while a long run's text is written
    calls = args.json or args.calls
    options = {"pages": False, "calls": calls,
               "check_invariants": args.check_invariants, "detail": False}
    with collector_off():
        if calls:
            return _run(args, load_scenario(args.file), options, None)
        # the second process is sent the steps as the file's are checked
        with early(args.file, args.design, **options) as feed:
            return _run(args, load_scenario(args.file, watch=feed), options, feed)


def _run(args: argparse.Namespace, sc: Scenario, options: dict,
         feed: Feed | None) -> int:
    """Run ``sc`` with iter_scenario's ``options`` and print it; ``feed``:
    the second process, started early."""
    keep(sc)     # let go by the process's end if it ends with this command
    calls = args.json or args.calls
    design = design_of(args, sc)
    steps = (iter_scenario(sc, design, **options) if calls
             else records(sc, design, feed, **options))
    # each record is printed and let go; only what the exit status needs stays
    outcome: list[dict] = []
    stopped = None
    if not args.json:
        print(f"{sc.title} ({sc.source}, design {args.design})")
    prev = None
    # the lines of up to _BATCH steps, written at once: one write, not two
    # per step (each write is escaped for the terminal, cli._Printable)
    out: list[str] = []
    try:
        for rec, stop in steps:
            if not rec["ok"]:            # all the exit status reads
                outcome.append({"ok": False, "op": rec["op"]})
            if stop:
                stopped = rec
            if args.json:
                out.append(step_json(rec))
            else:
                out.append("\n" + format_step(rec, sc.steps[rec["step"]], prev))  # blank line first
                if args.calls:
                    out.append(format_calls(rec["calls"]))
                prev = rec
            if len(out) >= _BATCH:
                _write(out)
    finally:
        _write(out)                      # what ran, also when a step was found invalid
    if stopped is not None and not args.json:
        print(f"\nstopped at step {stopped['step']}: {stopped['error']}")
    return exit_status(outcome, stopped is not None)


#: step blocks written at once
_BATCH = 256


def _write(lines: list[str]) -> None:
    """Print ``lines`` (each with its newline) in one write, and forget them."""
    if lines:
        lines.append("")
        sys.stdout.write("\n".join(lines))
        lines.clear()
