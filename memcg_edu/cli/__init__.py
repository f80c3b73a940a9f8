"""The command line: ``memcg-edu SUBCOMMAND`` (or ``python -m memcg_edu SUBCOMMAND``).

Each subcommand lives in its own module of this package, which offers
``add_parser(subparsers)`` and ``main(args) -> int``. This module only
dispatches and turns user mistakes into one-line messages:

* exit 0: every step ran (a recorded memcg OOM is a normal outcome);
* exit 1: an ``expect`` failed or a kernel precondition was broken;
* exit 2: a file that is not valid, or a wrong command line.
"""
from __future__ import annotations

import argparse
import importlib
import sys
from typing import Any, NoReturn, Sequence

from ..ctrl_c import ctrl_c_recorded
from ..errors import KernelBugError, ModelUsageError, ScenarioError
from ..quick_exit import INTERRUPTED, exit_process, process_ends as _process_ends
from ..safeio import printable

__all__ = ["main", "console_main", "SUBCOMMANDS", "PROG", "add_force_argument"]

#: what usage lines call the command when it is run as ``python -m memcg_edu``
PROG = "python -m memcg_edu"

#: subcommand -> module in this package that implements it
SUBCOMMANDS = {
    "run": "run",          # run a scenario, print counters per step
    "check": "check",      # report every expect that does not hold
    "quiz": "quiz",        # seeded practice problems
    "compare": "compare",  # 3.16 beside 3.17
    "explore": "explore",  # race explorer
    "plot": "plot",        # figures for a scenario
    "live": "live",        # the real kernel of this machine
    "notebooks": "notebooks",  # copy the course into a folder of the learner's
    "where": "where",      # kernel function -> model function
}


class _Printable:
    """A text stream that shows terminal escape sequences, invisible
    controls and lone surrogates escaped (\\x1b, \\u202e, \\udc80): a
    scenario's title, names, labels or notes cannot clear the screen, set
    the window title or make a line unprintable."""

    def __init__(self, stream: Any) -> None:
        self._stream = stream

    def write(self, text: str) -> int:
        self._stream.write(printable(text))
        return len(text)

    def write_control(self, text: str) -> int:
        """Write the command line's own control characters (a progress
        line's carriage return) as they are; never text from a file."""
        return self._stream.write(text)

    def __getattr__(self, name: str) -> Any:
        return getattr(self._stream, name)


def add_force_argument(p: argparse.ArgumentParser) -> None:
    p.add_argument("--force", action="store_true",
                   help="overwrite an existing output file")


class _Parser(argparse.ArgumentParser):
    """argparse that exits 2 with one line, as for any invalid input."""

    def error(self, message: str) -> NoReturn:
        self.exit(2, f"{self.prog}: {message}\n(see {self.prog} --help)\n")


def build_parser(prog: str = PROG) -> argparse.ArgumentParser:
    parser = _Parser(prog=prog,
                     description="Teach and explore memcg page accounting "
                                 "(Linux 3.17 and the 3.16 design it replaced).")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND",
                                parser_class=_Parser)
    sub.required = True
    for name, module in SUBCOMMANDS.items():
        importlib.import_module(f".{module}", __name__).add_parser(sub)
    return parser


def main(argv: Sequence[str] | None = None, prog: str = PROG,
         process_ends: bool = False) -> int:
    """Run the command line; its exit code. ``process_ends``: the process
    exits when this returns (``python -m memcg_edu``, the console script),
    so a late Ctrl-C is ignored rather than handed back (ctrl_c_recorded),
    and what a command hands to the exit is kept for it (quick_exit.keep)."""
    _process_ends(process_ends)
    with ctrl_c_recorded(process_ends) as ctrl_c_seen:
        out, err = sys.stdout, sys.stderr
        sys.stdout, sys.stderr = _Printable(out), _Printable(err)
        try:
            return _main(argv, prog)
        except KeyboardInterrupt:   # Ctrl-C while importing or parsing
            print("interrupted", file=sys.stderr)
            return INTERRUPTED
        except Exception:
            # a Ctrl-C that an import turned into another error (numpy's C
            # extension reports it as an ImportError): still one line
            if not ctrl_c_seen():
                raise
            print("interrupted", file=sys.stderr)
            return INTERRUPTED
        finally:
            sys.stdout, sys.stderr = out, err


def _main(argv: Sequence[str] | None, prog: str) -> int:
    args = build_parser(prog).parse_args(argv)
    try:
        return int(args.func(args) or 0)
    except (ScenarioError, ModelUsageError) as e:
        print(f"error: {e}", file=sys.stderr)
        return 2
    except KernelBugError as e:
        print(f"kernel precondition broken: {e}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        print("interrupted", file=sys.stderr)
        return INTERRUPTED
    except BrokenPipeError:
        return 0


def console_main() -> NoReturn:
    """The ``memcg-edu`` console script: the same, named as the learner
    typed it; the process ends here (quick_exit.exit_process)."""
    exit_process(main(prog="memcg-edu", process_ends=True))
