"""``python -m memcg_edu run FILE [--json] [--design 3.17|3.16]``.

Runs a scenario on the model and prints, per step, the counters of every
memcg (readable table, or one JSON object per step with --json).
Exit 0 when every step ran, 1 when an expect failed or a kernel
precondition broke, 2 for an invalid file (see memcg_edu.cli).
"""
from __future__ import annotations

import argparse
import json

from ..scenario import DESIGNS, JSON_KEYS, load_scenario, run_scenario
from ..scenario.text import format_step

__all__ = ["add_parser", "main", "add_design_argument", "design_of",
           "add_invariants_argument", "exit_status"]


def add_design_argument(p: argparse.ArgumentParser) -> None:
    p.add_argument("--design", choices=DESIGNS, default=None,
                   help="which kernel design to model (default: the file's "
                        "\"design\", else 3.17)")


def design_of(args: argparse.Namespace, sc) -> str:
    """--design if given, else the design the file says it is for."""
    args.design = args.design or sc.design or DESIGNS[0]
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
                   help="print one JSON object per step and nothing else")
    add_design_argument(p)
    add_invariants_argument(p)
    p.set_defaults(func=main)


def exit_status(tl) -> int:
    """1 if an expect failed or the run stopped at a kernel check, else 0."""
    failed = any(not r["ok"] and r["op"] == "expect" for r in tl)
    return 1 if failed or "stopped_at" in tl.meta else 0


def main(args: argparse.Namespace) -> int:
    sc = load_scenario(args.file)
    tl = run_scenario(sc, design=design_of(args, sc), pages=False,
                      check_invariants=args.check_invariants)
    if args.json:
        for rec in tl:
            print(json.dumps({k: rec[k] for k in JSON_KEYS}))
        return exit_status(tl)
    print(f"{sc.title} ({sc.source}, design {args.design})")
    prev = None
    for rec in tl:
        print()
        print(format_step(rec, sc.steps[rec["step"]], prev))
        prev = rec
    if "stopped_at" in tl.meta:
        print(f"\nstopped at step {tl.meta['stopped_at']}: "
              f"{tl[tl.meta['stopped_at']]['error']}")
    return exit_status(tl)
