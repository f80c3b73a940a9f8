"""``python -m memcg_edu explore RACE [--without PROTECTION ...] [--fix FIX ...] [--json]``.

Enumerates every interleaving of the race's kernel paths that the locks
allow and checks the invariants after each step and each complete
interleaving; prints how many were explored and broke an invariant, and
the first broken one as a step table. ``explore --list`` names the races
and the protections each can drop; ``explore RACE --paths`` prints the
race's steps without exploring. Exit 0 when no interleaving broke an
invariant, 1 when one did, 2 for an unknown race, protection or fix.
"""
from __future__ import annotations

import argparse
import json
import sys

from ..errors import ModelUsageError

__all__ = ["add_parser", "main"]


def add_parser(sub) -> None:
    p = sub.add_parser("explore", help="enumerate the interleavings of a race "
                                       "between kernel paths",
                       description=__doc__.split("\n\n")[1])
    p.add_argument("race", nargs="?", help="race name (see --list)")
    p.add_argument("--list", action="store_true",
                   help="list the races and the protections each can drop")
    p.add_argument("--without", action="append", default=[], metavar="PROTECTION",
                   help="drop this protection (repeatable)")
    p.add_argument("--fix", action="append", default=[], metavar="FIX",
                   help="apply this later-kernel fix (repeatable)")
    p.add_argument("--json", action="store_true", help="print the result as JSON")
    p.add_argument("--paths", action="store_true",
                   help="print the race's paths (steps, locks, protections) and stop")
    p.add_argument("--state", action="store_true",
                   help="print the whole state after every step of the table")
    p.add_argument("--verbose", action="store_true",
                   help="with --list: say what each protection and fix is")
    p.set_defaults(func=main)


def _progress(race: str):
    """A one-line progress counter on stderr, only on a terminal."""
    if not sys.stderr.isatty():
        return None

    # our own carriage return, not escaped as one from a file would be
    write = getattr(sys.stderr, "write_control", sys.stderr.write)

    def show(done: int, total: int | None) -> None:
        end = "\n" if total is not None else ""
        write(f"\rexploring {race}: {done} states{end}")
        sys.stderr.flush()
    return show


def main(args: argparse.Namespace) -> int:
    # the race explorer loads only for explore: every other command starts
    # without it (a fifth of the command line's imports)
    from ..explore import FIXES, PROTECTIONS, explore, list_races, race_paths
    from ..explore.races import RACES
    from ..explore.report import format_list, format_paths, format_result

    if args.list:
        if args.json:
            print(json.dumps({"races": list_races(), "protections": PROTECTIONS,
                              "fixes": FIXES}, indent=1))
        else:
            print(format_list(verbose=args.verbose))
        return 0
    if not args.race:
        raise ModelUsageError("explore needs a race name, or --list to see them")
    if args.paths:
        paths = race_paths(args.race, fixes=args.fix)
        print(json.dumps(paths, indent=1) if args.json else format_paths(paths))
        return 0
    result = explore(args.race, without=args.without, fixes=args.fix,
                     progress=None if args.json else _progress(args.race))
    if args.json:
        print(json.dumps(result.to_dict(), indent=1))
    else:
        world, _ = RACES[args.race].build(frozenset(args.fix))
        print(format_result(result, initial=world.snapshot(), full_state=args.state))
    return 0 if result.ok else 1
