"""``memcg-edu notebooks [DIR] [--force]``: copy the course into DIR.

Copies the notebooks and the files they open (the bundled scenarios and the
real-kernel recordings) into DIR (default ./memcg-edu-notebooks), then says
how to open them. Copying again updates what you have not edited; a
notebook you changed is never overwritten unless you add --force.
"""
from __future__ import annotations

import argparse

from ..learner_copy import DEFAULT_DIR, copy_course

__all__ = ["add_parser", "main"]


def add_parser(sub) -> None:
    p = sub.add_parser("notebooks", help="copy the course notebooks into a folder "
                                         "of yours, to open with jupyter lab",
                       description=__doc__.split("\n\n")[1])
    p.add_argument("dir", nargs="?", default=DEFAULT_DIR, metavar="DIR",
                   help=f"where to copy them (default ./{DEFAULT_DIR})")
    p.add_argument("--force", action="store_true",
                   help="replace notebooks you edited with the course's versions "
                        "(your edits are lost)")
    p.set_defaults(func=main)


def main(args: argparse.Namespace) -> int:
    print(copy_course(args.dir, force=args.force))
    return 0
