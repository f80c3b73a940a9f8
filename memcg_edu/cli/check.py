"""``python -m memcg_edu check FILE [--design 3.17|3.16]``.

Runs a scenario and reports every ``expect`` step that does not hold (and
a broken kernel precondition, which ends the run). Exit 0 when all hold,
1 otherwise, 2 for an invalid file.
"""
from __future__ import annotations

import argparse

from ..quick_exit import keep
from ..scenario import iter_scenario, load_scenario
from .run import (add_design_argument, add_invariants_argument, design_of,
                  exit_status)

__all__ = ["add_parser", "main"]


def add_parser(sub) -> None:
    p = sub.add_parser("check", help="run a scenario and report each expect "
                                     "that does not hold",
                       description=__doc__.split("\n\n")[1])
    p.add_argument("file", help="scenario file (docs/scenario-format.md)")
    add_design_argument(p)
    add_invariants_argument(p)
    p.set_defaults(func=main)


def main(args: argparse.Namespace) -> int:
    sc = load_scenario(args.file)
    keep(sc)     # let go by the process's end if it ends with this command
    design = design_of(args, sc)
    # each record read as it comes and let go (no "detail": nothing here
    # reads it); only the expects and the failed steps stay
    ran: list[dict] = []
    stopped = None
    steps = 0
    for rec, stop in iter_scenario(sc, design=design, pages=False, calls=False,
                                   check_invariants=args.check_invariants, detail=False):
        steps += 1
        if rec["op"] == "expect" or not rec["ok"] or stop:
            ran.append({"step": rec["step"], "op": rec["op"], "ok": rec["ok"],
                        "error": rec["error"]})
        if stop:
            stopped = ran[-1]
    expects = [r for r in ran if r["op"] == "expect"]
    mine = [r for r in expects
            if sc.steps[r["step"]].get("design", args.design) == args.design]
    bad = [r for r in mine if not r["ok"]]
    for r in bad:
        print(f"{sc.source}, step {r['step']} (expect): {r['error']}")
    if stopped is not None:
        r = stopped
        print(f"{sc.source}, step {r['step']} ({r['op']}): {r['error']}")
    failed = sum(1 for r in ran if not r["ok"] and r["op"] != "expect" and r is not stopped)
    summary = (f"{sc.source}: {steps} of {len(sc.steps)} steps ran "
               f"(design {args.design}), {len(mine) - len(bad)} of "
               f"{len(mine)} expects hold")
    if len(expects) > len(mine):
        summary += f" ({len(expects) - len(mine)} for the other design skipped)"
    if failed:
        summary += f", {failed} step(s) failed as the kernel would"
    print(summary)
    return exit_status(ran, stopped is not None)
