"""``python -m memcg_edu where NAME``: the model function that mirrors a kernel function.

Prints, for each design that has it, the model function, its module and
line, and the kernel source file with a link to the v3.17 (or v3.16)
source. ``--list`` prints every kernel function the model mirrors;
``--markdown`` prints the index table of docs/kernel-rules.md and
``--update-doc`` rewrites that table in place.
"""
from __future__ import annotations

import argparse
import difflib

from ..bundled import DOCS_DIR
from ..errors import ModelUsageError
from ..model.index import build_index, lookup, markdown

__all__ = ["add_parser", "main", "RULES", "update_doc"]

RULES = DOCS_DIR / "kernel-rules.md"
START, END = "<!-- index start -->\n", "<!-- index end -->"


def add_parser(sub) -> None:
    p = sub.add_parser("where", help="find the model function that mirrors a "
                                     "kernel function",
                       description=__doc__.split("\n\n")[1])
    p.add_argument("name", nargs="?", help="kernel function, e.g. mem_cgroup_migrate")
    g = p.add_mutually_exclusive_group()
    g.add_argument("--list", action="store_true", help="every kernel function indexed")
    g.add_argument("--markdown", action="store_true",
                   help="the index as the Markdown table of docs/kernel-rules.md")
    g.add_argument("--update-doc", action="store_true",
                   help="rewrite the index table in docs/kernel-rules.md")
    p.set_defaults(func=main)


def doc_with_index(text: str) -> str:
    """``text`` (docs/kernel-rules.md) with its index table regenerated."""
    head, sep, rest = text.partition(START)
    _, sep2, tail = rest.partition(END)
    if not sep or not sep2:
        raise ModelUsageError(f"{RULES} has no {START.strip()} ... {END} section")
    return head + START + markdown() + END + tail


def update_doc() -> bool:
    """Rewrite the index table of docs/kernel-rules.md; True if it changed."""
    text = RULES.read_text(encoding="utf-8")
    new = doc_with_index(text)
    if new != text:
        RULES.write_text(new, encoding="utf-8")
    return new != text


def main(args: argparse.Namespace) -> int:
    if args.markdown:
        print(markdown(), end="")
        return 0
    if args.update_doc:
        print("updated" if update_doc() else "already current", RULES)
        return 0
    if args.list or not args.name:
        for name in sorted({e.kernel for e in build_index()}):
            print(name)
        return 0
    found = lookup(args.name)
    if not found:
        names = sorted({e.kernel for e in build_index()})
        near = difflib.get_close_matches(args.name, names, n=3)
        hint = f"; did you mean {', '.join(near)}?" if near else ""
        raise ModelUsageError(f"the model mirrors no kernel function named "
                              f"{args.name!r}{hint} (--list shows them all)")
    for e in found:
        print(e.describe())
    return 0
