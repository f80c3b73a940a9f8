"""Scratch memory cgroups, their work files and private tmpfs, always removed.

Stands for the cgroup filesystem side of kernel/cgroup/cgroup-v1.c
(mkdir/rmdir of a cgroup, cgroup.procs) and the tmpfs of mm/shmem.c.

A ``Scratch`` creates ``memcg-edu-<pid>-<name>`` directories only under our
own memory cgroup, a work directory ``/var/tmp/memcg-edu-<pid>-work`` for the
page-cache files and (as root) a private tmpfs mounted inside it. Leaving
the ``with`` block, by success, exception, Ctrl-C or SIGTERM, kills every
process still in the scratch cgroups, unmounts, deletes the files (so no
page stays charged to a dying cgroup) and removes the cgroups.
``cleanup_stale()`` removes what a run killed with SIGKILL left behind.
"""
from __future__ import annotations

import ctypes
import ctypes.util
import os
import re
import shutil
import signal
import threading
import time
from contextlib import contextmanager
from pathlib import Path
from types import FrameType, TracebackType
from typing import Iterator

from ..timeline import PAGE_SIZE
from .cgroupfs import MemcgFiles
from .detect import Capabilities
from .errors import LiveError

__all__ = ["Scratch", "cleanup_stale", "sigterm_as_exit", "pid_alive", "libc",
           "PREFIX", "WORK_BASE"]

PREFIX = "memcg-edu-"
WORK_BASE = Path(os.environ.get("MEMCG_EDU_WORK_BASE", "/var/tmp"))
_NAME = re.compile(r"^memcg-edu-(\d+)-(.+)$")
_MNT_DETACH = 2


def libc() -> ctypes.CDLL:
    return ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6",
                       use_errno=True)


def _on_term(signum: int, frame: FrameType | None) -> None:
    raise SystemExit(128 + signum)


@contextmanager
def sigterm_as_exit() -> Iterator[None]:
    """Inside: SIGTERM raises SystemExit(143), so cleanup code runs.

    Signal handlers can only be set from the main thread; elsewhere (a
    thread of a notebook kernel) this does nothing.
    """
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    old = signal.signal(signal.SIGTERM, _on_term)
    try:
        yield
    finally:
        signal.signal(signal.SIGTERM, old)


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


def _rmdir(path: Path, timeout: float = 5.0) -> None:
    """rmdir a cgroup; the kernel says EBUSY until its last task is gone."""
    deadline = time.monotonic() + timeout
    while True:
        try:
            path.rmdir()
            return
        except FileNotFoundError:
            return
        except OSError:
            if time.monotonic() > deadline:
                raise LiveError(f"cannot remove scratch cgroup {path}",
                                "failed") from None
            time.sleep(0.05)


def _mounts_under(path: Path, proc: Path = Path("/proc")) -> list[Path]:
    out = []
    for line in (proc / "self/mounts").read_text().splitlines():
        where = Path(line.split()[1])
        if where == path or path in where.parents:
            out.append(where)
    return out


def _remove_work(work: Path) -> None:
    """Unmount whatever is mounted under ``work``, then delete it."""
    for mnt in sorted(_mounts_under(work), key=lambda p: -len(p.parts)):
        if libc().umount2(str(mnt).encode(), _MNT_DETACH) != 0:
            err = ctypes.get_errno()
            raise LiveError(f"cannot unmount {mnt}: {os.strerror(err)}",
                            "failed")
    shutil.rmtree(work, ignore_errors=True)


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
        self.work = WORK_BASE / f"{PREFIX}{self.pid}-work"
        self.tmpfs: Path | None = None
        self.tmpfs_reason: str | None = None
        self.dirs: dict[str, Path] = {}
        self.children: list = []  # subprocess.Popen objects to kill
        self._old_handler = None

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
                try:
                    path.mkdir()
                except PermissionError:
                    raise LiveError(f"permission denied creating the scratch "
                                    f"cgroup {path}: run as root, or in a "
                                    f"delegated cgroup v2 subtree") from None
                except FileExistsError:
                    raise LiveError(f"{path} already exists: another run of "
                                    f"this process is still active") from None
                except OSError as e:
                    raise LiveError(f"cannot create the scratch cgroup "
                                    f"{path}: {e.strerror}") from None
                self.dirs[name] = path
            self.work.mkdir(parents=True, exist_ok=True)
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
        where = self.work / "tmpfs"
        where.mkdir()
        # room for the workload and a little more; a cap so a runaway
        # workload cannot fill memory through it
        size = (self.tmpfs_pages + 256) * PAGE_SIZE
        rc = libc().mount(b"tmpfs", str(where).encode(), b"tmpfs", 0,
                           f"size={size},mode=0700".encode())
        if rc != 0:
            self.tmpfs_reason = (f"mounting a private tmpfs failed: "
                                 f"{os.strerror(ctypes.get_errno())}")
            return
        self.tmpfs = where

    # -- teardown -----------------------------------------------------------
    def __exit__(self, et: type[BaseException] | None, ev: BaseException | None,
                 tb: TracebackType | None) -> None:
        self._cleanup()

    def _cleanup(self) -> None:
        # Ignore a second SIGTERM / Ctrl-C until everything is removed.
        if threading.current_thread() is threading.main_thread():
            prev_int = signal.signal(signal.SIGINT, signal.SIG_IGN)
            signal.signal(signal.SIGTERM, signal.SIG_IGN)
        try:
            for child in self.children:
                if child.poll() is None:
                    child.kill()
                child.wait()
            for name in self.dirs:
                _kill_all(self.memcg(name))
            _remove_work(self.work)
            for path in self.dirs.values():
                _rmdir(path)
            self.dirs.clear()
        finally:
            if threading.current_thread() is threading.main_thread():
                signal.signal(signal.SIGINT, prev_int)
                signal.signal(signal.SIGTERM, self._old_handler
                              if self._old_handler is not None
                              else signal.SIG_DFL)


def cleanup_stale(caps: Capabilities) -> list[str]:
    """Remove scratch cgroups and work dirs of runs that are no longer alive.

    Returns what was removed, in words. Only ``memcg-edu-<pid>-*`` entries
    under our own cgroup and under the work base are looked at.
    """
    removed: list[str] = []
    stale: list[Path] = []
    own = caps.own_dir
    if own is not None and caps.can_create and own.is_dir():
        for path in sorted(own.iterdir()):
            m = _NAME.match(path.name)
            if m and path.is_dir() and not pid_alive(int(m.group(1))):
                _kill_all(MemcgFiles(path, caps.cgroup or "v1"))
                stale.append(path)
    # files first, so no page stays charged to a cgroup being removed
    if WORK_BASE.is_dir():
        for path in sorted(WORK_BASE.glob(f"{PREFIX}*-work")):
            m = re.match(r"^memcg-edu-(\d+)-work$", path.name)
            if m and not pid_alive(int(m.group(1))):
                _remove_work(path)
                removed.append(f"work directory {path}")
    for path in stale:
        _rmdir(path)
        removed.append(f"cgroup {path}")
    return removed
