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
while this process reads the file, and hands it to load_scenario as its
watch: the child is sent the machine, memcgs and tasks once they are
checked, then the steps in batches as they are, and runs the first steps
while this process checks the last. An error in the file is raised here
as ever, and the child, which ran only steps that were checked, is
killed. No kernel file behind it.
"""
from __future__ import annotations

import os
import pickle
import queue
import subprocess
import sys
import threading
from contextlib import contextmanager
from dataclasses import dataclass, field, fields
from importlib.resources import files
from pathlib import Path
from typing import Any, BinaryIO, Generator, Iterator

from ..forked import cpus                     # the CPUs this process may run on
from .load import Scenario, find_scenario, load_scenario, memcg_names
from .run import design_for, iter_checked, iter_scenario

__all__ = ["records", "early", "BESIDE_FROM", "EARLY_FROM_BYTES", "serve", "arriving"]

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

#: the child: read the run (Feed's order), send batches of records, then
#: None; with the cycle collector off, as run_scenario has it (records
#: hold no cycle). Then it leaves by os._exit, all sent and flushed: its
#: parent waits for its end, and a normal exit would first free the run
#: object by object (a few tenths of a second after 100,000 steps)
_CHILD = ("import gc, os, sys; gc.disable(); sys.path.insert(0, sys.argv[1]); "
          "from memcg_edu.scenario.beside import serve; serve(); os._exit(0)")
#: the directory holding this copy of memcg_edu: the child runs the same code
_ROOT = str(Path(str(files("memcg_edu"))).resolve().parent)

Record = tuple[dict[str, Any], bool]
Child = subprocess.Popen[bytes]


def _steps(sc: Any) -> int:
    """Page steps of a scenario: a range step counts its ``count``."""
    return sum(int(st.get("count", 1)) for st in sc.steps)


@contextmanager
def early(src: str | Path, design: str | None = None,
          **options: Any) -> Iterator[Feed | None]:
    """The second process for ``records``, started now when the scenario
    file ``src`` (a path or a bundled name) is long (EARLY_FROM_BYTES) and
    a second CPU is there, else None: its start-up then overlaps this
    process's loading of the file. Given to load_scenario as its ``watch``,
    it is sent the run of ``design`` (None: the file's, as design_for
    picks) with ``options`` (iter_scenario's) and the steps as they are
    checked, and runs the first while the last are checked. Killed and
    reaped at the block's end whatever ends it (an invalid file, Ctrl-C)
    unless it ran to its end."""
    try:
        long = os.stat(find_scenario(src)).st_size >= EARLY_FROM_BYTES
    except (OSError, ValueError):               # loading the file says why
        long = False
    child = _spawn() if long and cpus() >= 2 else None
    feed = None if child is None else Feed(child, design, options)
    try:
        yield feed
    finally:
        if feed is not None:
            feed.end(False)


def records(sc: Any, design: str, feed: Feed | None = None,
            **options: Any) -> Generator[Record, None, None]:
    """iter_scenario(sc, design, **options), from a second process when the
    scenario is long and a second CPU is there, else from this one. ``sc``
    is a loaded Scenario; ``options`` are iter_scenario's (pages, calls,
    check_invariants, detail); ``feed``: the one ``early`` started, used
    whatever the scenario's length (its start-up is paid), and what it
    was sent while the scenario loaded if that is this run."""
    if feed is None and (_steps(sc) < BESIDE_FROM or cpus() < 2):
        yield from iter_scenario(sc, design, **options)
        return
    sc = load_scenario(sc)                      # checked here: the child trusts it
    if feed is not None and not feed.claim(sc, design, options):
        feed.end(False)                         # it was sent another run
        feed = None
    feed = _start(sc, design, options) if feed is None else feed
    done, whole = 0, False
    try:
        if feed is not None:
            feed.send(sc)                       # what the load did not send
        for rec in _received(None if feed is None else feed.child):
            done += 1
            yield rec
            if rec[1]:                          # the run stopped here
                return
        whole = done == len(sc.steps)           # its end marker came
        if whole:
            return
    finally:
        if feed is not None:
            feed.end(whole)
    # the child did not finish: the rest from this process, the same run
    for i, rec in enumerate(iter_scenario(sc, design, **options)):
        if i >= done:
            yield rec


def _start(sc: Any, design: str, options: dict[str, Any]) -> Feed | None:
    """A child for the run of ``sc`` (sent by Feed.send); None if there is
    no interpreter to start."""
    child = _spawn()
    return None if child is None else Feed(child, design, options)


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


class Feed:
    """A child and the run it is sent: the scenario's head (machine,
    memcgs, tasks), the design and options, then its steps in batches as
    they are checked (a LoadWatch: load_scenario tells it), then None.

    A thread of this process writes them into the child's stdin, so that
    neither the loading nor the reading of the records ever waits on a
    child that is busy running: the child reads a batch when its run
    reaches it, and may meanwhile wait on its own full pipe of records,
    which this process reads only once the load is done. A child that
    died makes the writing stop (``broken``); what it sent is still read,
    and ``records`` runs the rest."""

    def __init__(self, child: Child, design: str | None, options: dict[str, Any]) -> None:
        self.child = child
        self._design = design                   # None: the file's (begin)
        self._options = options
        #: (design, options) of the run sent, once its head is
        self._run: tuple[str, dict[str, Any]] | None = None
        self._steps: list[dict[str, Any]] | None = None   # the list being sent
        self._sent = 0                          # ... how many of them so far
        self._out: queue.SimpleQueue[bytes | None] = queue.SimpleQueue()
        self._writer: threading.Thread | None = None
        self.broken = False

    def begin(self, head: Any, steps: list[Any]) -> None:
        """LoadWatch.begin: the head of the run, and the memcg names its
        records show (read from the unchecked ``steps``: when a step is
        wrong the load fails and the run is not used)."""
        design = design_for(head, self._design)
        self._run = (design, self._options)
        self._put((arriving(head, steps), design, self._options, len(steps)))

    def checked(self, steps: list[dict[str, Any]]) -> None:
        """LoadWatch.checked: the steps checked since the last call."""
        if self._steps is None:
            self._steps = steps
        self._put(steps[self._sent:])
        self._sent = len(steps)

    def claim(self, sc: Any, design: str, options: dict[str, Any]) -> bool:
        """Make it the child of this run of ``sc``: True when it was sent
        nothing yet (it is now the run's) or the start of this run."""
        if self._run is None:
            self._design, self._options = design, options
            return True
        return self._run == (design, options) and self._steps is sc.steps

    def send(self, sc: Any) -> None:
        """Send what the run of the loaded ``sc`` still lacks, then the end."""
        if self._run is None:                   # fed now, not while loading
            self.begin(sc, sc.steps)
        self.checked(sc.steps)                  # none left if the load sent them
        self._put(None)                         # the end of the steps
        self._out.put(None)                     # the end of the writing

    def _put(self, obj: Any) -> None:
        """Pickle ``obj`` here and hand it to the writing thread."""
        if self.broken:
            return
        try:
            data = pickle.dumps(obj, pickle.HIGHEST_PROTOCOL)
        except (TypeError, ValueError, AttributeError, pickle.PicklingError):
            self._break()                       # not to be sent: the run is here
            return
        if self._writer is None:
            self._writer = threading.Thread(target=self._write, daemon=True,
                                            name="memcg-edu beside feed")
            self._writer.start()
        self._out.put(data)

    def _write(self) -> None:
        """The writing thread: each piece whole into the child's stdin."""
        assert self.child.stdin is not None
        fd = self.child.stdin.fileno()
        try:
            while (data := self._out.get()) is not None:
                view = memoryview(data)
                while view:
                    view = view[os.write(fd, view):]
        except OSError:                         # the child died
            self.broken = True

    def _break(self) -> None:
        """Nothing more can be sent: the child is stopped (it would wait)."""
        self.broken = True
        self._out.put(None)
        self.child.kill()

    def end(self, whole: bool) -> None:
        """Reap the child, killed first unless it sent the ``whole`` run
        (then it is exiting by itself); stop the writing; close its pipes.
        Once more is harmless."""
        child = self.child
        if not whole and child.poll() is None:
            child.kill()                        # a write blocked on it fails now
        if self._writer is not None:
            self._out.put(None)
            self._writer.join()
        if child.stdin is not None:
            child.stdin.close()                 # never fed (early), or fed
        try:
            child.wait(timeout=5)
        except subprocess.TimeoutExpired:       # still running: not needed now
            child.kill()
            child.wait()
        if child.stdout is not None:
            child.stdout.close()


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


def serve(feed: BinaryIO | None = None, out: BinaryIO | None = None) -> None:
    """The child's side: the run read from ``feed`` (stdin; Feed's order),
    its records in batches to ``out`` (stdout), then None."""
    feed = feed or sys.stdin.buffer
    out = out or sys.stdout.buffer
    sc, design, options, count = pickle.load(feed)
    # checked by the parent; its steps come as the run reaches them
    sc.steps = _Steps(feed, count)
    batch: list[Record] = []
    for rec in iter_checked(sc, design, **options):
        batch.append(rec)
        if len(batch) == _BATCH:
            pickle.dump(batch, out, pickle.HIGHEST_PROTOCOL)
            out.flush()
            batch = []
    pickle.dump(batch, out, pickle.HIGHEST_PROTOCOL)
    pickle.dump(None, out, pickle.HIGHEST_PROTOCOL)
    out.flush()


class _Steps:
    """The child's steps, read from ``feed`` a batch at a time as the run
    reaches them (iterated once); ``count`` of them in all. A feed that
    ends before its None (the parent died or stopped it) ends the child."""

    def __init__(self, feed: BinaryIO, count: int) -> None:
        self._feed, self._count = feed, count

    def __len__(self) -> int:
        return self._count

    def __iter__(self) -> Iterator[dict[str, Any]]:
        while (batch := pickle.load(self._feed)) is not None:
            yield from batch


def arriving(head: Scenario, steps: list[Any]) -> Scenario:
    """A LoadWatch's ``head`` (machine, memcgs, tasks) as the Scenario of a
    run whose steps come later: no steps yet, not load_scenario's copy of
    it all, and the memcg names its records show, read from the unchecked
    ``steps`` (when a step is wrong the load fails and the run is not used)."""
    parts = {f.name: getattr(head, f.name) for f in fields(Scenario)}
    return _Arriving(**{**parts, "steps": [], "_checked": None},
                     names=memcg_names(head.memcgs, head.tasks, steps))


@dataclass
class _Arriving(Scenario):
    """The Scenario of a run whose steps arrive as it runs (this module's
    child, scenario/ahead.py's parent): its memcg names come with its
    head, since its steps are not there yet to be read for them."""

    names: list[str] = field(default_factory=list)

    @property
    def memcg_names(self) -> list[str]:
        return self.names
