"""A helper child forked with a pipe back to this process, and its end.

The command line forks two kinds of helper: one that loads a long
scenario file while `plot` imports what it draws with
(scenario/ahead.py), one that renders `plot`'s later figures while this
process renders the first (viz/render.py). Both fork under the same
condition (``can_fork``: a second CPU, a process of one thread) and the
same way: a pipe, the fork, the child writing into the pipe's write end
and ending by `os._exit`, never returning into the caller's code. Not a
kernel structure.
"""
from __future__ import annotations

import os
import signal
import threading
from typing import Callable, NoReturn

__all__ = ["cpus", "can_fork", "fork_piped", "reap"]


def cpus() -> int:
    """CPUs this process may run on."""
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:                      # not Linux
        return os.cpu_count() or 1


def can_fork() -> bool:
    """Whether a helper child pays and is safe: a second CPU is there, the
    system can fork (POSIX), and this process runs one thread (a fork
    copies only the calling thread: a lock another thread held, a notebook
    kernel's say, would stay held in the child)."""
    return cpus() >= 2 and hasattr(os, "fork") and threading.active_count() == 1


def fork_piped(child: Callable[[int, int], NoReturn]) -> tuple[int, int] | None:
    """A forked child running ``child(read, write)`` on a new pipe's ends
    (it closes ``read``, writes into ``write`` and ends by os._exit): its
    pid and the pipe's read end, or None if no pipe or fork can be made."""
    try:
        read, write = os.pipe()
    except OSError:
        return None
    me, pid = os.getpid(), 0
    try:
        pid = os.fork()
        if not pid:
            child(read, write)
    except BaseException as e:
        if os.getpid() != me:                   # the child, stopped (Ctrl-C) before it began
            os._exit(1)
        os.close(write)
        os.close(read)
        if pid:                                 # Ctrl-C here, just after the fork
            reap(pid)
            raise
        if isinstance(e, OSError):              # no fork: the caller does the work
            return None
        raise
    os.close(write)
    return pid, read


def reap(pid: int) -> None:
    """Kill the child ``pid`` if it is still there, and reap it."""
    try:
        os.kill(pid, signal.SIGKILL)           # not yet reaped: at worst a zombie
    except ProcessLookupError:
        pass
    os.waitpid(pid, 0)
