"""Knowing that Ctrl-C was pressed, even when Python turned it into another error.

A SIGINT raises KeyboardInterrupt wherever the main thread happens to be.
When that is inside a C extension's import (numpy's ``PyCapsule_Import`` of
datetime, for one), the extension reports the failed import as an
ImportError chained to it, and the KeyboardInterrupt itself is gone. The
command line's own handler therefore records every Ctrl-C before raising,
so that whatever error a Ctrl-C turned into still ends the run as
"interrupted", exit 130, in one line.

Standard library only: ``python -m memcg_edu`` installs it before anything
else is imported.
"""
from __future__ import annotations

import signal
import threading
from contextlib import contextmanager
from types import FrameType
from typing import Callable, Iterator

__all__ = ["on_sigint", "record_ctrl_c", "ctrl_c_recorded", "ctrl_c_seen",
           "note_ctrl_c"]

_seen: list[int] = []


def note_ctrl_c() -> None:
    """Remember that a Ctrl-C arrived (for handlers of the live lab's own)."""
    _seen.append(signal.SIGINT)


def on_sigint(signum: int, frame: FrameType | None) -> None:
    """Python's own Ctrl-C behaviour (raise KeyboardInterrupt), remembered."""
    note_ctrl_c()
    raise KeyboardInterrupt


def record_ctrl_c() -> bool:
    """Replace Python's default SIGINT handler with :func:`on_sigint`;
    whether it did.

    Only Python's default is replaced: a handler of someone else's (a
    notebook kernel's) is left alone, and outside the main thread, where
    handlers cannot be set, nothing changes.
    """
    if (threading.current_thread() is threading.main_thread()
            and signal.getsignal(signal.SIGINT) is signal.default_int_handler):
        signal.signal(signal.SIGINT, on_sigint)
        return True
    return False


@contextmanager
def ctrl_c_recorded(process_ends: bool = False) -> Iterator[Callable[[], bool]]:
    """Inside, Ctrl-C is recorded (:func:`record_ctrl_c`); yields a function
    that says whether one arrived since entry.

    On exit Python's default handler is put back if it was replaced here,
    so that a caller in the same process (a test, a notebook calling the
    command line) keeps it. With ``process_ends`` (the command line's own
    process, which exits right after) Ctrl-C is ignored from then on
    instead: the run is over and its output written or its error told, and
    a Ctrl-C during the interpreter's shutdown (tens of milliseconds, when
    Python has already put the operating system's default back) would kill
    the process by SIGINT, saying nothing, after a run that succeeded."""
    before = len(_seen)
    installed = record_ctrl_c()
    try:
        yield lambda: len(_seen) > before
    finally:
        if process_ends and threading.current_thread() is threading.main_thread():
            signal.signal(signal.SIGINT, signal.SIG_IGN)
        elif installed and signal.getsignal(signal.SIGINT) is on_sigint:
            signal.signal(signal.SIGINT, signal.default_int_handler)


def ctrl_c_seen() -> bool:
    """True once a Ctrl-C has arrived in this process."""
    return bool(_seen)
