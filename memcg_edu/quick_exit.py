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

A run that a Ctrl-C ended (exit status ``INTERRUPTED``) always leaves the
quick way, whether something was kept or not, and without waiting for
other threads. The Ctrl-C may have landed in the middle of an import, and
a normal exit after that can abort the process: matplotlib's ft2font keeps
Python objects in a C++ static, whose destructor runs after the
interpreter has finished (``Fatal Python error: PyThreadState_Get``,
SIGABRT: 8 of 150 Ctrl-Cs sent 0.17-0.19 s into a ``plot``, as it
imports matplotlib, on a two-CPU machine). ``os._exit`` runs no such
destructors.
"""
from __future__ import annotations

import atexit
import os
import signal
import sys
import threading
from typing import Any, NoReturn

__all__ = ["INTERRUPTED", "keep", "exit_process", "process_ends"]

#: the exit status of a run that a Ctrl-C ended (128 + SIGINT, as a shell says)
INTERRUPTED = 128 + signal.SIGINT

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
    quick = _ends and (code == INTERRUPTED
                       or (bool(_KEPT) and threading.active_count() == 1))
    if not quick:
        sys.exit(code)
    atexit._run_exitfuncs()     # they run once (the call clears them)
    try:
        for stream in (sys.stdout, sys.stderr):
            if stream is not None:
                stream.flush()
    except BaseException:
        sys.exit(code)          # the exit Python always makes, and what it says
    os._exit(code)
