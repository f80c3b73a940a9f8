"""Scratch memory cgroups, their work files and private tmpfs, always removed.

Stands for the cgroup filesystem side of kernel/cgroup/cgroup-v1.c
(mkdir/rmdir of a cgroup, cgroup.procs) and the tmpfs of mm/shmem.c.

A ``Scratch`` creates ``memcg-edu-<pid>-<name>`` directories only under our
own memory cgroup (refusing any that exist), a fresh work directory
``memcg-edu-<pid>-XXXXXXXX.work`` (mkdtemp: unpredictable, mode 0700) under
/var/tmp for the page-cache files and (as root) a private tmpfs mounted
inside it. Each is written to this run's record (memcg_edu.live.runstate)
with its identity as soon as it exists. Leaving the ``with`` block, by
success, exception, Ctrl-C or SIGTERM, kills every process still in the
scratch cgroups, unmounts, deletes the files (so no page stays charged to a
dying cgroup) and removes the cgroups, never following a symlink.
``cleanup_stale()`` removes what a run killed with SIGKILL left behind, as
its record names it.
"""
from __future__ import annotations

import ctypes
import functools
import os
import signal
import sys
import tempfile
import threading
import time
from contextlib import contextmanager
from pathlib import Path
from types import CodeType, FrameType, TracebackType
from typing import Any, Callable, Iterator, TypeVar, cast

from ..ctrl_c import note_ctrl_c, on_sigint
from ..timeline import PAGE_SIZE
from .cgroupfs import MemcgFiles
from .detect import Capabilities
from .errors import LiveError
from . import runstate
from .runstate import libc

__all__ = ["Scratch", "cleanup_stale", "sigterm_as_exit", "signals_ignored",
           "teardown",
           "pid_alive", "libc",
           "PREFIX", "WORK_BASE", "make_work_dir"]

PREFIX = "memcg-edu-"
_MS_SAFE = 0x2 | 0x4 | 0x8   # MS_NOSUID | MS_NODEV | MS_NOEXEC
WORK_BASE = Path(os.environ.get("MEMCG_EDU_WORK_BASE", "/var/tmp"))


#: signals that end a run the way Ctrl-C does, with its cleanup: SIGTERM
#: (kill, a service manager) and SIGHUP (the terminal or SSH session closed)
_EXIT_SIGNALS = (signal.SIGTERM, signal.SIGHUP)


def _ignore_further_signals() -> None:
    """From the first signal on, the run is ending: a second one (Ctrl-C
    pressed again, SIGTERM repeated) must not cut the cleanup short, even
    in the few instructions before a cleanup holds signals itself."""
    for sig in (signal.SIGINT, *_EXIT_SIGNALS):
        signal.signal(sig, signal.SIG_IGN)


F = TypeVar("F", bound=Callable[..., Any])

#: the code every teardown runs (teardown's wrapper), by identity: code
#: objects that are equal are not the same code
_TEARDOWNS: dict[int, CodeType] = {}
#: the exit a first signal asked for while a teardown ran: raised at its end
_deferred: list[BaseException] = []


def teardown(method: F) -> F:
    """``method``, an ``__exit__`` that removes what a run made, as a
    teardown.

    A first signal ends a run by raising where it lands. Landing in a
    teardown before its ``signals_held`` has taken effect (the call, the
    few instructions up to signal.signal), it would skip the removal.
    Landing anywhere in a teardown or what it calls, it is kept instead,
    the removal goes on (every later signal ignored), and the teardown
    raises it as it ends (``_raise_deferred``).
    """
    def run_teardown(*args: Any, **kwargs: Any) -> Any:
        try:
            return method(*args, **kwargs)
        finally:
            _raise_deferred()
    # every teardown runs this one code: a frame of it is a teardown's
    _TEARDOWNS[id(run_teardown.__code__)] = run_teardown.__code__   # held: its id is never reused
    return cast(F, functools.update_wrapper(run_teardown, method))


def _in_teardown(frame: FrameType | None) -> bool:
    """Is ``frame`` or a caller of it a teardown's?"""
    while frame is not None:
        if id(frame.f_code) in _TEARDOWNS:
            return True
        frame = frame.f_back
    return False


def _raise_deferred() -> None:
    """A teardown's last call: the exit a signal asked for while it ran,
    unless it was called by another teardown (which raises it at its end)."""
    if _deferred and not _in_teardown(sys._getframe(2)):   # the teardown's caller
        raise _deferred.pop()


def _end_run(exit: BaseException, frame: FrameType | None) -> None:
    """A first signal: later ones ignored, and ``exit`` raised here, or
    at the end of the teardown it landed in."""
    _ignore_further_signals()
    if _in_teardown(frame):
        _deferred.append(exit)
        return
    raise exit


def _on_term(signum: int, frame: FrameType | None) -> None:
    _end_run(SystemExit(128 + signum), frame)


def _on_int(signum: int, frame: FrameType | None) -> None:
    note_ctrl_c()
    _end_run(KeyboardInterrupt(), frame)


@contextmanager
def sigterm_as_exit() -> Iterator[None]:
    """Inside: SIGTERM raises SystemExit(143) and SIGHUP SystemExit(129),
    so cleanup code runs.

    After the first signal the others are ignored until the outermost
    ``sigterm_as_exit`` ends (a traced run holds a run), so that no later
    signal cuts an enclosing cleanup short. Signal handlers can only be
    set from the main thread; elsewhere (a thread of a notebook kernel)
    this does nothing.
    """
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    old = [signal.signal(sig, _on_term) for sig in _EXIT_SIGNALS]
    # Ctrl-C as Python handles it (KeyboardInterrupt), but once only; a
    # handler of someone else's (a notebook kernel's) is left alone
    old_int = signal.getsignal(signal.SIGINT)
    if old_int in (signal.default_int_handler, on_sigint):
        signal.signal(signal.SIGINT, _on_int)
    try:
        yield
    finally:
        # nested (a traced run around a run): when a signal has ended the
        # run, the outer one's cleanup is still to come, and putting its
        # handlers back would let the next signal of a storm cut that
        # cleanup short (a trace instance and its record were left)
        ending = signal.getsignal(signal.SIGTERM) is signal.SIG_IGN
        if not (ending and _on_term in old):
            for sig, handler in zip(_EXIT_SIGNALS, old):
                signal.signal(sig, handler)
            signal.signal(signal.SIGINT, old_int)
            if _deferred:
                # kept by a teardown that then did not raise it (it
                # landed after its last call): the run ends here
                raise _deferred.pop()


@contextmanager
def signals_held() -> Iterator[None]:
    """Inside: Ctrl-C, SIGTERM and SIGHUP are ignored, so a cleanup that has
    begun (swapoff, rmdir of a trace instance) is not cut short by a second
    signal and leaves nothing half-removed. Main thread only (elsewhere
    signal handlers cannot be set, and signals go to the main thread)."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    held = (signal.SIGINT, *_EXIT_SIGNALS)
    old = [signal.signal(sig, signal.SIG_IGN) for sig in held]
    try:
        yield
    finally:
        for sig, handler in zip(held, old):
            signal.signal(sig, handler)



@contextmanager
def signals_deferred() -> Iterator[None]:
    """Inside: Ctrl-C, SIGTERM and SIGHUP wait until the block has ended.

    For a step that makes something and writes it in the run's record
    (memcg_edu.live.runstate): a signal between the two would leave a
    directory, cgroup or swap file that no record names, or a record of
    something never made, and the cleanup would leave it behind. The
    first signal noted is raised again once the handlers from before are
    back, so it ends the run as it would have, a moment later. Main
    thread only, like ``signals_held``."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    held = (signal.SIGINT, *_EXIT_SIGNALS)
    came: list[int] = []

    def note(signum: int, frame: FrameType | None) -> None:
        came.append(signum)
    old = [signal.signal(sig, note) for sig in held]
    try:
        yield
    finally:
        for sig, handler in zip(held, old):
            signal.signal(sig, handler)
        if came:
            # the handler from before acts on it now (an outer deferral
            # notes it again; an ignoring cleanup drops it)
            signal.raise_signal(came[0])


def pid_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def _kill_all(cg: MemcgFiles, timeout: float = 5.0) -> None:
    """SIGKILL every process in ``cg`` and wait until it is empty."""
    deadline = time.monotonic() + timeout
    while True:
        pids = cg.pids()
        if not pids:
            return
        for pid in pids:
            try:
                os.kill(pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
            try:  # reap our own children so they do not linger as zombies
                os.waitpid(pid, os.WNOHANG)
            except ChildProcessError:
                pass
        if time.monotonic() > deadline:
            raise LiveError(f"processes {pids} would not leave {cg.path}",
                            "failed")
        time.sleep(0.02)


def make_work_dir(suffix: str, base: Path | None = None) -> Path:
    """A new directory ``memcg-edu-<pid>-XXXXXXXX<suffix>`` (mkdtemp: a
    name nobody can guess, mode 0700, created only if absent), recorded in
    this run's record before anything is put in it."""
    base = WORK_BASE if base is None else base
    runstate.check_base_dir(base)
    # made and recorded as one step: no signal comes in between
    with signals_deferred():
        try:
            path = Path(tempfile.mkdtemp(prefix=f"{PREFIX}{os.getpid()}-",
                                         suffix=suffix, dir=base))
        except OSError as e:
            raise LiveError(f"cannot create a work directory in {base}: "
                            f"{e.strerror}") from None
        rec = runstate.current()
        try:
            rec.add("dirs", runstate.ident(path))
        except BaseException:
            path.rmdir()
            # a record file begun for this entry goes with it
            rec.drop("dirs", path)
            raise
    return path


def remove_work_dir(path: Path) -> None:
    """Delete a work directory of this run (checked against the record)."""
    rec = runstate.current()
    for ident in list(rec.data["dirs"]):
        if ident["path"] == str(path):
            runstate.remove_dir(ident)
            rec.drop("dirs", path)


class Scratch:
    """Scratch memcgs ``names`` under our own cgroup, plus work files.

    Use as a context manager; ``memcg(name)`` gives a MemcgFiles,
    ``work`` the directory for page-cache files, ``tmpfs`` the private
    tmpfs (None, with ``tmpfs_reason``, where it cannot be had).
    """

    def __init__(self, caps: Capabilities, names: tuple[str, ...] = ("A",),
                 tmpfs_pages: int = 0) -> None:
        self.caps, self.names, self.tmpfs_pages = caps, names, tmpfs_pages
        self.pid = os.getpid()
        self.work: Path | None = None
        self.tmpfs: Path | None = None
        self.tmpfs_reason: str | None = None
        self.dirs: dict[str, Path] = {}
        self.children: list = []  # subprocess.Popen objects to kill
        self._old_handler: Callable[[int, FrameType | None], Any] | int | None = None

    def memcg(self, name: str) -> MemcgFiles:
        return MemcgFiles(self.dirs[name], self.caps.cgroup or "v1")

    # -- setup --------------------------------------------------------------
    def __enter__(self) -> "Scratch":
        own = self.caps.require_scratch()
        if threading.current_thread() is threading.main_thread():
            self._old_handler = signal.signal(signal.SIGTERM, _on_term)
        try:
            for name in self.names:
                path = own / f"{PREFIX}{self.pid}-{name}"
                # made, remembered and recorded as one step (no signal in
                # between), so the cleanup below knows it is ours
                with signals_deferred():
                    try:
                        path.mkdir()
                    except PermissionError:
                        raise LiveError(
                            f"permission denied creating the scratch cgroup "
                            f"{path}: run as root, or in a delegated cgroup "
                            f"v2 subtree") from None
                    except FileExistsError:
                        raise LiveError(
                            f"{path} already exists and this run did not "
                            f"make it: refusing to use it") from None
                    except OSError as e:
                        raise LiveError(f"cannot create the scratch cgroup "
                                        f"{path}: {e.strerror}") from None
                    self.dirs[name] = path
                    runstate.current().add("cgroups", runstate.ident(path))
            with signals_deferred():    # kept in self.work before a signal
                self.work = make_work_dir(".work")
            if self.tmpfs_pages:
                self._mount_tmpfs()
        except BaseException:
            self._cleanup()
            raise
        return self

    def _mount_tmpfs(self) -> None:
        if not self.caps.is_root:
            self.tmpfs_reason = "a private tmpfs needs root (mount)"
            return
        assert self.work is not None
        where = self.work / "tmpfs"
        where.mkdir(mode=0o700)
        # recorded before mounting: a SIGKILL right after still gets unmounted
        runstate.current().add("mounts", {
            "path": str(where), "parent": runstate.ident(self.work)})
        # room for the workload and a little more; a cap so a runaway
        # workload cannot fill memory through it
        size = (self.tmpfs_pages + 256) * PAGE_SIZE
        # nosuid, nodev, noexec: it holds workload data, nothing to run
        rc = libc().mount(b"tmpfs", str(where).encode(), b"tmpfs", _MS_SAFE,
                           f"size={size},mode=0700".encode())
        if rc != 0:
            self.tmpfs_reason = (f"mounting a private tmpfs failed: "
                                 f"{os.strerror(ctypes.get_errno())}")
            return
        self.tmpfs = where

    # -- teardown -----------------------------------------------------------
    @teardown
    def __exit__(self, et: type[BaseException] | None, ev: BaseException | None,
                 tb: TracebackType | None) -> None:
        self._cleanup()

    def _cleanup(self) -> None:
        # a second SIGTERM / SIGHUP / Ctrl-C waits until everything is removed
        try:
            with signals_held():
                self._remove_all()
        finally:
            # back to the handler from before __enter__, unless a signal has
            # come (then signals stay ignored until the run has unwound)
            if threading.current_thread() is threading.main_thread() and \
                    signal.getsignal(signal.SIGTERM) is _on_term:
                signal.signal(signal.SIGTERM, self._old_handler
                              if self._old_handler is not None
                              else signal.SIG_DFL)

    def _remove_all(self) -> None:
        for child in self.children:
            if child.poll() is None:
                child.kill()
            child.wait()
        for name in self.dirs:
            _kill_all(self.memcg(name))
        rec = runstate.current()
        if self.work is not None:
            for m in [m for m in rec.data["mounts"]
                      if Path(m["path"]).parent == self.work]:
                runstate.umount_ours(m)
                rec.drop("mounts", m["path"])
            self.tmpfs = None
            remove_work_dir(self.work)
            self.work = None
        for path in self.dirs.values():
            runstate.rmdir_busy(path, "scratch cgroup")
            rec.drop("cgroups", path)
        self.dirs.clear()


def cleanup_stale(caps: Capabilities) -> list[str]:
    """Remove what runs that no longer run left behind (swap files,
    processes, mounts, work directories, cgroups), as their records name
    them; returns what was removed, in words. Nothing unrecorded is touched."""
    from .swapfile import swapoff_ours

    def kill(path: Path) -> None:
        _kill_all(MemcgFiles(path, caps.cgroup or "v1"))
    return runstate.cleanup_stale(kill, swapoff_ours)
