"""``python -m memcg_edu compare FILE``: one scenario under the 3.16 and the 3.17 design.

Prints per step the counters of both designs side by side (``*`` marks the
cells that differ), then per design how many memcg entry points were
called, how often a page_cgroup lock was taken, which special cases fired
and where the 3.16 design broke an invariant of 3.17. ``--json`` prints the
same as one JSON object.

Exit status: 0 when both designs ran every step (differences are the point
of the comparison, and a failed ``expect`` is one of them); 1 when a kernel
precondition was broken in either design; 2 for an invalid file or command
line.
"""
from __future__ import annotations

import argparse
import sys

from ..compare import SHOWN
from ..compare.stream import stream_compare
from ..timeline import COUNTERS, STATS

__all__ = ["add_parser", "main"]


def add_parser(subparsers: argparse._SubParsersAction) -> None:
    p = subparsers.add_parser(
        "compare", help="run a scenario under 3.16 and 3.17, side by side",
        description="Run one scenario under the Linux 3.16 memcg design and "
                    "the Linux 3.17 one and show where the counters differ, "
                    "then what each design called (memcg entry points, "
                    "page_cgroup locks, special cases) and where 3.16 broke "
                    "an invariant of 3.17.",
        epilog="exit status: 0 both designs ran every step, 1 a kernel "
               "precondition broke in one of them, 2 invalid file or command line")
    p.add_argument("file", metavar="FILE", help="scenario file (JSON)")
    p.add_argument("--json", action="store_true",
                   help="print the comparison as one JSON object")
    p.add_argument("--all-counters", action="store_true",
                   help="show every counter and statistic, not only "
                        + ", ".join(SHOWN))
    p.add_argument("--calls", action="store_true",
                   help="under each step, the kernel functions each design called")
    p.set_defaults(func=main)


def main(args: argparse.Namespace) -> int:
    # both designs step by step, each step written as it is compared: a long
    # scenario never holds two timelines of records (memcg_edu.compare.stream)
    counters = COUNTERS + STATS if args.all_counters else SHOWN
    bugs = stream_compare(args.file, sys.stdout, as_json=args.json, counters=counters,
                          calls=args.calls)
    return 1 if bugs else 0
