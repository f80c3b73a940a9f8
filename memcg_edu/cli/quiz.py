"""``python -m memcg_edu quiz --seed N [--topic T] [--steps K] [--solve] [--save FILE]``.

Prints a seeded practice problem: the steps of a random but valid
scenario, with blanks for usage, memsw usage and swap of each memcg and for
where the page sits. --solve prints the answers, step by step, explained.
--save FILE writes the problem as a scenario file (with its answers).
"""
from __future__ import annotations

import argparse

from ..errors import ScenarioError
from ..safeio import check_output
from ..scenario import DESIGNS
from ..scenario.quiz import MAX_QUIZ_STEPS, TOPICS, describe_setup, generate_problem
from ..scenario.text import describe_step
from . import add_force_argument
from .run import add_design_argument

__all__ = ["add_parser", "main"]


def _steps(text: str) -> int:
    try:
        k = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a whole number: {text!r}") from None
    if not 1 <= k <= MAX_QUIZ_STEPS:
        raise argparse.ArgumentTypeError(f"must be 1 to {MAX_QUIZ_STEPS}, got {k}")
    return k


def add_parser(sub) -> None:
    p = sub.add_parser("quiz", help="seeded practice problems: predict the "
                                    "counters after each step",
                       description=__doc__.split("\n\n")[1])
    p.add_argument("--seed", type=int, required=True,
                   help="the same seed gives the same problem everywhere")
    p.add_argument("--topic", choices=list(TOPICS), default="mixed")
    p.add_argument("--steps", type=_steps, default=6,
                   help=f"number of steps (1 to {MAX_QUIZ_STEPS}, default 6)")
    p.add_argument("--solve", action="store_true",
                   help="show the answers, explained")
    p.add_argument("--save", metavar="FILE",
                   help="also write the problem as a scenario file")
    add_force_argument(p)
    add_design_argument(p)
    p.set_defaults(func=main)


def main(args: argparse.Namespace) -> int:
    args.design = args.design or DESIGNS[0]
    # the output path first, so that one that cannot be written (or would
    # overwrite a file without --force) fails before any work or output
    if args.save:
        check_output(args.save, args.force, "--save")
    sc = generate_problem(args.seed, args.topic, args.steps, design=args.design)
    mach = sc.machine
    if args.save:
        # the design it was made for, so that run and check use it
        sc.design = args.design
        sc.save(args.save, overwrite=args.force)
    print(f"Practice problem: seed {args.seed}, topic {args.topic}, "
          f"{len(sc.steps)} steps (design {args.design})")
    print(f"Machine: {mach['ram_pages']} pages of RAM, {mach['swap_slots']} "
          f"swap slots, swap accounting {'on' if mach['swap_account'] else 'off'}.")
    for line in describe_setup(sc.memcgs, sc.tasks):
        print(line)
    if not args.solve:
        print("After each step, predict (in pages) usage, memsw usage and swap "
              "of each memcg, and where the page sits.")
    for st, q in zip(sc.steps, sc.quiz or []):
        print(f"\nstep {q['step']}: {describe_step(st)}")
        for line in _blanks(q, args.solve):
            print("    " + line)
        if args.solve:
            print("    why: " + q["explanation"])
    if args.save:
        print(f"\nsaved to {args.save}")
    return 0


def _blanks(q: dict, solve: bool) -> list[str]:
    ans = q["answers"]
    show = (lambda k: str(ans[k])) if solve else (lambda k: "___")
    lines, memcgs = [], []
    for k in q["blanks"]:
        name, _, what = k.rpartition(".")
        if what == "usage":
            memcgs.append(name)
    for m in memcgs:
        lines.append(f"{m}: usage {show(m + '.usage')}  memsw "
                     f"{show(m + '.memsw_usage')}  swap {show(m + '.swap')}")
    for k in q["blanks"]:
        if k.endswith(".where"):
            label = k[:-len(".where")]
            opts = "" if solve else f"   ({' | '.join(q['choices'][k])})"
            lines.append(f"page {label} sits: {show(k)}{opts}")
    return lines
