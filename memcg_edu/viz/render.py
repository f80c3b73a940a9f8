"""Figures made into file bytes, the later ones made and rendered in a forked child meanwhile.

A figure of a long timeline takes a good part of a second to render (the
counters' hundred thousand event markers, the stats' hatched areas). On a
machine with a second CPU, where the system can fork (POSIX), a process of
one thread (the command line) makes the first figure, then forks once: the
child makes and renders every other figure and sends their bytes back
through a pipe while this process renders the first. The first figure is
made before the fork, so what it reads (every memcg's arrays over the
steps, viz/series.py) the child finds read; a fork is this process as it
is (its timelines, matplotlib's state), so the child's bytes are the ones
this process would make.

The child is only a helper, as scenario/beside.py's is: if it cannot
start, fails, dies, or sends less than it should, this process makes the
figures it is missing itself (so an error is raised here, as without it);
so it does those whose making or rendering warns or logs (shown here, as
in one process). The child is killed and reaped whatever ends the
rendering (its end, an error, Ctrl-C); it never returns into the caller's
code (os._exit).
"""
from __future__ import annotations

import io
import logging
import os
import pickle
import warnings
from typing import Callable, Iterator, Mapping, NoReturn

from matplotlib.figure import Figure

from ..forked import can_fork, fork_piped, reap
from .style import save_figure

__all__ = ["render", "FORK_FROM"]

#: Timeline steps from which a second process pays for the fork (copying
#: the page tables of a large process); a short timeline renders in a
#: tenth of a second anyway.
FORK_FROM = 20_000


def _bytes(fig: Figure, fmt: str) -> bytes:
    """The file ``fig`` saves as in format ``fmt``, with its text alternative."""
    buf = io.BytesIO()
    save_figure(fig, buf, fmt)
    return buf.getvalue()


def render(makers: Mapping[str, Callable[[], Figure]], fmt: str,
           steps: int) -> dict[str, bytes]:
    """{kind: the file, in format ``fmt``, of the figure makers[kind]()
    makes}, in makers' order. The first is made and rendered here; the
    others are made and rendered in a forked child meanwhile when the
    timeline has FORK_FROM ``steps`` or more, a second CPU is there and
    this process runs one thread."""
    kinds = list(makers)
    if not kinds:
        return {}
    # made before the fork: the arrays it reads are read once, for both
    first = makers[kinds[0]]()
    later = kinds[1:]
    # (only a process of one thread forks: the command line's)
    fork = later and steps >= FORK_FROM and can_fork()
    child = _fork(makers, later, fmt) if fork else None
    done: dict[str, bytes] = {}
    try:
        done[kinds[0]] = _bytes(first, fmt)
        if child is not None:
            done.update(_received(child[1]))
    finally:
        if child is not None:
            _end(*child)
    # what the child did not send (it failed, or died): made here
    return {k: done[k] if k in done else _bytes(makers[k](), fmt) for k in kinds}


def _fork(makers: Mapping[str, Callable[[], Figure]], kinds: list[str], fmt: str
          ) -> tuple[int, int] | None:
    """A child making and rendering ``kinds`` into a pipe: (its pid, the
    pipe's read end), or None if it cannot be made."""
    return fork_piped(lambda read, write: _child(makers, kinds, fmt, read, write))


def _child(makers: Mapping[str, Callable[[], Figure]], kinds: list[str], fmt: str,
           read: int, write: int) -> NoReturn:
    """The child's side: ``kinds`` made and rendered in turn, then sent,
    pickled, up to the first that fails. Whatever happens (an error,
    Ctrl-C), it ends here, never in the caller's code, and flushes none of
    the caller's files."""
    code = 1
    try:
        os.close(read)
        # a figure whose making or rendering warns or logs is made by the
        # parent instead (the child stops there): what it says is the
        # parent's, shown as and where a render in one process shows it
        warnings.simplefilter("error")
        setattr(logging.Logger, "handle", _refuse)   # this process only: it ends here
        with os.fdopen(write, "wb") as out:
            made: list[tuple[str, bytes]] = []
            try:
                # all rendered before any is sent: a file is larger than
                # the pipe holds, and the parent reads only once its own
                # figure is rendered
                for kind in kinds:
                    made.append((kind, _bytes(makers[kind](), fmt)))
            finally:
                for item in made:
                    pickle.dump(item, out, pickle.HIGHEST_PROTOCOL)
        code = 0
    finally:
        os._exit(code)


def _refuse(logger: logging.Logger, record: logging.LogRecord) -> None:
    """Logger.handle in the child: a record it would show stops it."""
    raise RuntimeError(f"{record.name} logged: left to the parent")


def _received(read: int) -> Iterator[tuple[str, bytes]]:
    """The child's (kind, bytes) from the pipe ``read``, until its end or
    until it fails."""
    with os.fdopen(read, "rb", closefd=False) as pipe:
        while True:
            try:
                yield pickle.load(pipe)
            except Exception:                   # its end (EOF), or it died
                return


def _end(pid: int, read: int) -> None:
    """Close the pipe, kill the child if still there (it has nothing left
    to give) and reap it."""
    os.close(read)
    reap(pid)
