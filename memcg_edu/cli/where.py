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
import os
import stat
from pathlib import Path

from ..bundled import DOCS_DIR
from ..errors import ModelUsageError
from ..model.index import build_index, lookup, markdown
from ..safeio import read_text, write_atomic

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


def _checked_doc(rules: Path) -> Path:
    """``rules`` if it is docs/kernel-rules.md of a checkout: its folder and
    the file are real (no symlink to follow out of docs/) and pyproject.toml
    sits beside docs/. An installed copy has no docs/ of its own (its
    parent folder is site-packages), so it is refused, not written to."""
    checkout = rules.parent.parent
    if not (checkout / "pyproject.toml").is_file():
        raise ModelUsageError(f"--update-doc: {checkout} is not a checkout of "
                              f"memcg-edu (no pyproject.toml beside docs/); "
                              f"run it from a clone of the repository")
    for path in (rules.parent, rules):
        try:
            mode = os.lstat(path).st_mode
        except OSError as e:
            raise ModelUsageError(f"--update-doc: {path}: {e.strerror}") from None
        want = stat.S_ISDIR if path == rules.parent else stat.S_ISREG
        if stat.S_ISLNK(mode) or not want(mode):
            raise ModelUsageError(f"--update-doc: {path} is a symlink or not a "
                                  f"{'folder' if want is stat.S_ISDIR else 'regular file'}; "
                                  f"not writing through it")
    return rules


def update_doc(rules: Path = RULES) -> bool:
    """Rewrite the index table of docs/kernel-rules.md; True if it changed."""
    rules = _checked_doc(rules)
    text = read_text(rules, 4 << 20)
    new = doc_with_index(text)
    if new != text:
        write_atomic(rules, new)
    return new != text


def main(args: argparse.Namespace) -> int:
    if args.name and (args.list or args.markdown or args.update_doc):
        raise ModelUsageError("give a kernel function name, or --list, --markdown "
                              "or --update-doc, not both")
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
        shown = args.name if len(args.name) <= 80 else args.name[:80] + "..."
        raise ModelUsageError(f"the model mirrors no kernel function named "
                              f"{shown!r}{hint} (--list shows them all)")
    for e in found:
        print(e.describe())
    return 0
