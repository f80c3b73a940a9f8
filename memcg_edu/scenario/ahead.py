"""A long scenario file loaded in a forked child while this process goes on.

``plot`` of a long scenario file loads it (reads and checks every step),
runs it, then draws: one process, one CPU. On a machine with a second CPU,
where the system can fork (POSIX), ``ahead`` forks a child of the command
line's one thread before the figure modules are imported: the child loads
the file with load_scenario, which tells it (a LoadWatch) of the machine,
memcgs and tasks once checked and of the steps as they are checked; the
child sends them down a pipe. This process imports what it draws with
meanwhile, then runs the steps as they arrive: the same checked steps, in
the same order, run by the same code, so the timeline is the one an
in-process load and run make.

The child is only a helper, as scenario/beside.py's is: if it cannot
start, dies, or the file is not a scenario it can load (a saved timeline,
an invalid step), the pipe ends early and ``Ahead.run`` returns None: the
caller loads the file itself, which raises the error it raises without a
child, with the same words. A step that fails in this process's run is
raised only once the child has loaded the whole file: a wrong step later
in the file is what an in-process load would have said first. The child
is killed and reaped whatever ends the block (its end, an error, Ctrl-C);
it never returns into the caller's code (os._exit).
"""
from __future__ import annotations

import gc
import os
import pickle
import signal
from contextlib import contextmanager
from pathlib import Path
from typing import Any, BinaryIO, Callable, Iterator, NoReturn

from ..forked import can_fork, fork_piped, reap
from ..timeline import Timeline
from .beside import EARLY_FROM_BYTES, arriving
from .load import Scenario, find_scenario, load_scenario
from .run import design_for, iter_checked, run_timeline

__all__ = ["ahead", "Ahead"]

#: bytes the pipe holds: the child checks ahead of the run by that much
_PIPE = 1 << 20
#: what the child sends of a loaded scenario besides its head and steps
_TAIL = ("title", "description", "source", "quiz", "design", "meta")


class _Lost(Exception):
    """The child's stream ended before its end (it failed or died)."""


@contextmanager
def ahead(src: str | Path) -> Iterator[Ahead | None]:
    """An Ahead loading the scenario file ``src`` (a path or a bundled
    name) in a forked child, when the file is long (EARLY_FROM_BYTES), a
    helper child can be forked (forked.can_fork: a second CPU, one
    thread); else None. Killed and reaped at the block's end."""
    try:
        path = find_scenario(src)
        long = os.stat(path).st_size >= EARLY_FROM_BYTES
    except (OSError, ValueError):               # loading the file says why
        long = False
    started = None
    if long and can_fork():
        started = _fork(path)
    got = None if started is None else Ahead(*started)
    try:
        yield got
    finally:
        if got is not None:
            got.end()


def _fork(path: Path) -> tuple[int, int] | None:
    """A child loading ``path`` into a pipe: (its pid, the pipe's read
    end), or None if it cannot be made."""
    return fork_piped(lambda read, write: _child(path, read, write))


def _child(path: Path, read: int, write: int) -> NoReturn:
    """The child's side: the head, the steps in batches as they are
    checked, None, then the tail (_TAIL) of the loaded scenario. Whatever
    happens (an invalid file, Ctrl-C, a parent gone), it ends here, never
    in the caller's code, and flushes none of the caller's files."""
    code = 1
    try:
        os.close(read)
        signal.signal(signal.SIGINT, signal.SIG_DFL)   # Ctrl-C: gone, no traceback
        gc.disable()                            # the steps hold no cycle
        try:
            import fcntl
            fcntl.fcntl(write, fcntl.F_SETPIPE_SZ, _PIPE)
        except (ImportError, AttributeError, OSError):
            pass                                # not Linux, or above pipe-max-size
        with os.fdopen(write, "wb") as out:
            sender = _Sender(out)
            sc = load_scenario(path, watch=sender)
            sender.checked(sc.steps)            # (none left: the load told all)
            sender.send(None)
            sender.send({k: getattr(sc, k) for k in _TAIL})
        code = 0
    finally:
        os._exit(code)


class _Sender:
    """The child's LoadWatch: each part pickled down the pipe as it is checked."""

    def __init__(self, out: BinaryIO) -> None:
        self._out = out
        self._sent = 0

    def send(self, obj: Any) -> None:
        pickle.dump(obj, self._out, pickle.HIGHEST_PROTOCOL)
        self._out.flush()                       # the run waits for it

    def begin(self, head: Scenario, steps: list[Any]) -> None:
        self.send((arriving(head, steps), len(steps)))

    def checked(self, steps: list[dict[str, Any]]) -> None:
        if len(steps) > self._sent:
            self.send(steps[self._sent:])
            self._sent = len(steps)


class Ahead:
    """The child loading a scenario file (``pid``) and the read end of its
    pipe (``read``): ``run`` runs what it sends."""

    def __init__(self, pid: int, read: int) -> None:
        self._pid = pid
        self._pipe = os.fdopen(read, "rb")
        self._ended = False

    def _next(self) -> Any:
        """The child's next piece; _Lost if its stream ended first."""
        try:
            return pickle.load(self._pipe)
        except Exception:                       # EOF: failed or died
            raise _Lost from None

    def run(self, design: str | None, **options: Any) -> tuple[Timeline, Scenario] | None:
        """The run of the file's scenario on ``design`` (None: the file's,
        as design_for picks) with iter_scenario's ``options``, and the
        loaded scenario; None if the child did not load it all (the caller
        loads the file itself, and raises what it raises)."""
        head: Scenario
        try:
            head, count = self._next()
        except (_Lost, TypeError, ValueError):  # no head: nothing run yet
            return None
        steps = _Arrivals(self._next, count)
        head.steps = steps                      # type: ignore[assignment]
        design = design_for(head, design)

        def then_the_rest() -> Iterator[tuple[dict[str, Any], bool]]:
            yield from iter_checked(head, design, keep_calls=True, **options)
            steps.finish(head)                  # all of it: the meta names it

        try:
            return run_timeline(head, design, then_the_rest()), head
        except _Lost:
            return None
        except Exception:
            # a step failed here: what the load says of the rest comes first
            try:
                steps.finish(head)
            except _Lost:
                return None
            raise

    def end(self) -> None:
        """Close the pipe, kill the child if still there, reap it. Once
        more is harmless."""
        if self._ended:
            return
        self._ended = True
        self._pipe.close()
        reap(self._pid)


class _Arrivals:
    """A scenario's steps, read from the child as a run reaches them and
    kept; ``count`` of them. Iterated again, they are given again (and
    the ones not read yet are read)."""

    def __init__(self, receive: Callable[[], Any], count: int) -> None:
        self._receive = receive
        self._count = count
        self._got: list[dict[str, Any]] = []
        self._tail: dict[str, Any] | None = None

    def __len__(self) -> int:
        return self._count

    def __iter__(self) -> Iterator[dict[str, Any]]:
        i = 0
        while True:
            if i < len(self._got):
                part = self._got[i:]
                i += len(part)
                yield from part
            elif self._tail is not None:
                return
            else:
                self._more()

    def _more(self) -> None:
        batch = self._receive()
        if batch is None:
            tail = self._receive()
            if not isinstance(tail, dict) or len(self._got) != self._count:
                raise _Lost
            self._tail = tail
        elif isinstance(batch, list):
            self._got.extend(batch)
        else:
            raise _Lost

    def finish(self, head: Scenario) -> None:
        """Read the rest, and make ``head`` the loaded scenario: its steps
        all here, its title and the rest as the load checked them."""
        while self._tail is None:
            self._more()
        head.steps = self._got
        for k, v in self._tail.items():
            setattr(head, k, v)
