"""The command line's own process ends without freeing a long run's objects one by one.

A plot of 100,000 steps holds every step's record until it returns.
Freeing them one by one, and then tearing down every module, takes a few
tenths of a second (a fifteenth of such a plot) in a process that is about
to end anyway, when the operating system takes its memory back at once.

A command hands what it built to the exit with :func:`keep`; this does
something only while the command line is the whole process (``main(...,
process_ends=True)``: ``python -m memcg_edu``, the console script), never
when a test or a notebook calls it. The process then ends through
:func:`exit_process`, which runs what a normal exit runs for the program
(the atexit handlers: logging's flush, the finalizers of temporary files),
flushes stdout and stderr, and leaves with ``os._exit``. When nothing was
kept, another thread still runs (a normal exit waits for it), or a flush
fails (a closed pipe: a normal exit says so as it always did), it is a
normal exit, ``sys.exit``.
"""
from __future__ import annotations

import atexit
import os
import sys
import threading
from typing import Any, NoReturn

__all__ = ["keep", "exit_process", "process_ends"]

#: what commands handed to the exit (freed by the process's end, not one by one)
_KEPT: list[Any] = []
#: does the process end when the command returns (set by the command line's main)
_ends = False


def process_ends(ends: bool) -> None:
    """Say whether the process ends when the running command returns."""
    global _ends
    _ends = ends


def keep(*objects: Any) -> None:
    """Hold ``objects`` until the process ends, if it ends with this
    command (else nothing: a caller in the same process frees them)."""
    if _ends:
        _KEPT.extend(objects)


def exit_process(code: int) -> NoReturn:
    """End the process with exit status ``code`` (see the module docstring)."""
    if not _KEPT or threading.active_count() > 1:
        sys.exit(code)
    atexit._run_exitfuncs()     # they run once (the call clears them)
    try:
        for stream in (sys.stdout, sys.stderr):
            if stream is not None:
                stream.flush()
    except BaseException:
        sys.exit(code)          # the exit Python always makes, and what it says
    os._exit(code)
