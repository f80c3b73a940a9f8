"""A run's step records made in a second process while this one uses them.

The command line's long runs split in two: on a machine with a second CPU,
a child Python runs the model (``iter_scenario``) and sends its step
records back in pickled batches, while this process does the rest:
``compare`` runs the other design and writes the report, ``run`` writes
each step's text. The records are iter_scenario's, in the same order, so
the output is byte for byte the same.

The child is only a helper, never a second source of truth: if it cannot
start, dies, or stops before the run's end (a step found invalid half way
raises in the child too), this process runs the scenario itself from the
start, skips the records it already has, and goes on; an error is raised
here, from the same step, as an in-process run raises it. The child is
killed and reaped whatever ends the run (its end, an error, Ctrl-C), and a
child whose parent died stops at its next write to the closed pipe (or at
the end of its input, if it was still waiting for the scenario).

A command that loads a long scenario file starts the child first
(``early``), so that its start-up (an interpreter and the imports) runs
while this process reads and checks the file, rather than after. No
kernel file behind it.
"""
from __future__ import annotations

import os
import pickle
import subprocess
import sys
from contextlib import contextmanager
from dataclasses import replace
from importlib.resources import files
from pathlib import Path
from typing import Any, BinaryIO, Generator, Iterator

__all__ = ["records", "early", "BESIDE_FROM", "EARLY_FROM_BYTES", "serve", "cpus"]

#: Page steps from which a second process pays: it costs about 0.3 s to
#: start (an interpreter and the imports), what this process gains on a
#: run of some 20,000 steps (compare: a whole run; run: the text).
BESIDE_FROM = 20_000
#: A scenario file from this size on may hold BESIDE_FROM steps (a short
#: step is some 30 bytes of JSON): ``early`` starts the second process
#: before the file is loaded (a smaller file long by its range steps gets
#: one once loaded, from ``records``).
EARLY_FROM_BYTES = 30 * BESIDE_FROM
#: records per pickled batch (one pickle shares the strings of its records)
_BATCH = 1024
#: bytes the pipe from the child holds (Linux's default pipe-max-size)
_PIPE = 1 << 20

#: the child: read (scenario, design, options), send batches of records,
#: then None; with the cycle collector off, as run_scenario has it (records
#: hold no cycle). Then it leaves by os._exit, all sent and flushed: its
#: parent waits for its end, and a normal exit would first free the run
#: object by object (a few tenths of a second after 100,000 steps)
_CHILD = ("import gc, os, sys; gc.disable(); sys.path.insert(0, sys.argv[1]); "
          "from memcg_edu.scenario.beside import serve; serve(); os._exit(0)")
#: the directory holding this copy of memcg_edu: the child runs the same code
_ROOT = str(Path(str(files("memcg_edu"))).resolve().parent)

Record = tuple[dict[str, Any], bool]
Child = subprocess.Popen[bytes]


def cpus() -> int:
    """CPUs this process may run on."""
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:                      # not Linux
        return os.cpu_count() or 1


def _steps(sc: Any) -> int:
    """Page steps of a scenario: a range step counts its ``count``."""
    return sum(int(st.get("count", 1)) for st in sc.steps)


@contextmanager
def early(src: str | Path) -> Iterator[Child | None]:
    """The second process for ``records``, started now when the scenario
    file ``src`` (a path or a bundled name) is long (EARLY_FROM_BYTES) and
    a second CPU is there, else None: its start-up then overlaps this
    process's loading of the file. It waits for its scenario until
    ``records`` feeds it; killed and reaped at the block's end whatever
    ends it (an invalid file, Ctrl-C) unless it ran to its end."""
    from .load import find_scenario

    try:
        long = os.stat(find_scenario(src)).st_size >= EARLY_FROM_BYTES
    except (OSError, ValueError):               # loading the file says why
        long = False
    child = _spawn() if long and cpus() >= 2 else None
    try:
        yield child
    finally:
        _end(child, False)


def records(sc: Any, design: str, child: Child | None = None,
            **options: Any) -> Generator[Record, None, None]:
    """iter_scenario(sc, design, **options), from a second process when the
    scenario is long and a second CPU is there, else from this one. ``sc``
    is a loaded Scenario; ``options`` are iter_scenario's (pages, calls,
    check_invariants, detail); ``child``: the one ``early`` started, used
    whatever the scenario's length (its start-up is paid)."""
    from .load import load_scenario
    from .run import iter_scenario

    if child is None and (_steps(sc) < BESIDE_FROM or cpus() < 2):
        yield from iter_scenario(sc, design, **options)
        return
    sc = load_scenario(sc)                      # checked here: the child trusts it
    done, whole = 0, False
    child = (_start(sc, design, options) if child is None
             else _feed(child, sc, design, options))
    try:
        for rec in _received(child):
            done += 1
            yield rec
            if rec[1]:                          # the run stopped here
                return
        whole = done == len(sc.steps)           # its end marker came
        if whole:
            return
    finally:
        _end(child, whole)
    # the child did not finish: the rest from this process, the same run
    for i, rec in enumerate(iter_scenario(sc, design, **options)):
        if i >= done:
            yield rec


def _start(sc: Any, design: str, options: dict[str, Any]) -> Child | None:
    """A child fed (sc, design, options); None if it cannot be started or
    dies before it has read them."""
    child = _spawn()
    return child if child is None else _feed(child, sc, design, options)


def _spawn() -> Child | None:
    """A child Python running serve(), waiting for its input; None if
    there is no interpreter to start."""
    try:
        # -I: the child reads no PYTHON* variable, user site or working
        # directory; it imports this copy of memcg_edu (_ROOT) and the
        # environment's packages. Its errors are this process's to raise.
        child = subprocess.Popen([sys.executable, "-I", "-c", _CHILD, _ROOT],
                                 stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                                 stderr=subprocess.DEVNULL)
    except (OSError, ValueError):
        return None                             # no interpreter
    _widen(child)
    return child


def _feed(child: Child, sc: Any, design: str, options: dict[str, Any]) -> Child | None:
    """``child`` once it has been sent (sc, design, options); None if it
    died first. ``sc`` goes without the copy of itself that load_scenario
    keeps to tell an edit (as much again to pickle and unpickle): serve
    marks it checked."""
    try:
        # the child started first, so that its imports overlap the loading
        # or the pickling, and its unpickling the writing: it reads all of
        # it before it writes anything back, so neither waits on a full
        # pipe of the other's
        assert child.stdin is not None
        with child.stdin as feed:
            pickle.dump((replace(sc, _checked=None), design, options), feed,
                        pickle.HIGHEST_PROTOCOL)
    except (OSError, ValueError, TypeError, pickle.PicklingError):
        _end(child, False)                      # it died, or sc cannot be sent
        return None
    except BaseException:                       # Ctrl-C: no child left behind
        _end(child, False)
        raise
    return child


def _widen(child: Child) -> None:
    """Let the child run up to _PIPE bytes of records ahead of this
    process: a pipe holds 64 KiB (less than a batch) unless told more
    (Linux), and the two processes would then wait on each other at each
    hiccup of either."""
    try:
        import fcntl
        fcntl.fcntl(child.stdout.fileno(), fcntl.F_SETPIPE_SZ, _PIPE)  # type: ignore[union-attr]
    except (ImportError, AttributeError, OSError):
        pass                                    # not Linux, or above pipe-max-size


def _received(child: Child | None) -> Iterator[Record]:
    """The child's records until its end marker, or until it fails."""
    if child is None or child.stdout is None:
        return
    while True:
        try:
            batch = pickle.load(child.stdout)
        except Exception:                       # died, or stopped with an error
            return
        if batch is None:
            return
        yield from batch


def _end(child: Child | None, whole: bool) -> None:
    """Reap the child, killed first unless it sent ``whole`` run (then it
    is exiting by itself); close its pipes. Once more is harmless."""
    if child is None:
        return
    if child.stdin is not None:
        child.stdin.close()                     # never fed (early)
    try:
        child.wait(timeout=5 if whole else 0)
    except subprocess.TimeoutExpired:           # still running: not needed now
        child.kill()
        child.wait()
    if child.stdout is not None:
        child.stdout.close()


def serve(feed: BinaryIO | None = None, out: BinaryIO | None = None) -> None:
    """The child's side: the records of (scenario, design, options) read
    from ``feed`` (stdin), in batches to ``out`` (stdout), then None."""
    from .run import iter_scenario

    feed = feed or sys.stdin.buffer
    out = out or sys.stdout.buffer
    sc, design, options = pickle.load(feed)
    # checked by the parent (records), as load_scenario marks it; its steps
    # are shared, not copied (nothing here edits them): iter_scenario's
    # check that they did not change is then one comparison of a list with
    # itself
    sc._checked = sc._with_steps(sc.steps)
    batch: list[Record] = []
    for rec in iter_scenario(sc, design, **options):
        batch.append(rec)
        if len(batch) == _BATCH:
            pickle.dump(batch, out, pickle.HIGHEST_PROTOCOL)
            out.flush()
            batch = []
    pickle.dump(batch, out, pickle.HIGHEST_PROTOCOL)
    pickle.dump(None, out, pickle.HIGHEST_PROTOCOL)
    out.flush()
