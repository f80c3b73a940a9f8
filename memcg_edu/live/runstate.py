"""Which live run owns what: a record only we (root) can write.

Not a kernel file. The live lab runs as root and creates scratch cgroups, a
work directory, a private tmpfs and sometimes a swap file. Each run keeps a
record of exactly what it made, with identities (device and inode), in a
state directory that must be ours and mode 0700 (``/run/memcg-edu`` for
root). A run is named by its pid *and* its start time from /proc/PID/stat
(field 22), so a reused pid cannot pass for a dead run still alive, nor the
other way round. ``cleanup_stale()`` removes only what the record of a dead
run names, and only while the identity still matches: a file or directory
an attacker made, under any name, is never treated as ours.

``swap_lock()`` is the one lock runs take while they share the machine's
swap: shared for a plain run, exclusive for a run that adds a swap file.
"""
from __future__ import annotations

import ctypes
import fcntl
import json
import os
import re
import shutil
import stat
import tempfile
import threading
import time
from contextlib import contextmanager
from pathlib import Path
from typing import Any, Callable, Iterator

from .errors import LiveError

__all__ = ["state_dir", "open_state_dir", "proc_start", "write_record",
           "RunRecord", "current", "stale_records", "cleanup_stale",
           "state_lock", "swap_lock", "recorded_swap_paths", "check_base_dir",
           "remove_dir", "umount_ours", "umount", "libc", "ident",
           "rmdir_busy", "still_same"]

_MNT_DETACH, _UMOUNT_NOFOLLOW = 2, 8
_RECORD_PREFIX = "run-"
LOCK_TIMEOUT = 600.0


def libc() -> ctypes.CDLL:
    import ctypes.util
    return ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6",
                       use_errno=True)


def state_dir() -> Path:
    """$MEMCG_EDU_STATE_DIR, else /run/memcg-edu (root) or a per-user one."""
    env = os.environ.get("MEMCG_EDU_STATE_DIR")
    if env:
        return Path(env)
    if os.geteuid() == 0:
        return Path("/run/memcg-edu")
    base = os.environ.get("XDG_RUNTIME_DIR") or tempfile.gettempdir()
    return Path(base) / f"memcg-edu-{os.geteuid()}"


def open_state_dir(create: bool = True) -> int:
    """The state directory as an fd, created 0700 if missing (with
    ``create``); refused unless it is a real directory (not a symlink) owned
    by us with no group or other permissions."""
    path = state_dir()
    try:
        if create:
            os.mkdir(path, 0o700)
    except FileExistsError:
        pass
    except OSError as e:
        raise LiveError(f"cannot create the state directory {path}: "
                        f"{e.strerror}") from None
    try:
        fd = os.open(path, os.O_RDONLY | os.O_DIRECTORY | os.O_NOFOLLOW)
    except OSError as e:
        raise LiveError(f"refusing the state directory {path}: "
                        f"{e.strerror} (it must be a directory, not a "
                        f"symlink)") from None
    st = os.fstat(fd)
    if st.st_uid != os.geteuid() or st.st_mode & 0o077:
        os.close(fd)
        raise LiveError(f"refusing the state directory {path}: owned by uid "
                        f"{st.st_uid} with mode {stat.S_IMODE(st.st_mode):04o};"
                        f" it must belong to uid {os.geteuid()} with mode 0700")
    return fd


def proc_start(pid: int, proc: Path = Path("/proc")) -> int | None:
    """Start time of process ``pid`` (clock ticks after boot, field 22 of
    /proc/PID/stat), or None if it does not run (a zombie counts as gone)."""
    try:
        text = (proc / str(pid) / "stat").read_text()
    except (OSError, ValueError):
        return None
    fields = text.rsplit(")", 1)[-1].split()
    # fields[0] is field 3 (state), so field 22 is fields[19]
    if len(fields) < 20 or fields[0] == "Z":
        return None
    return int(fields[19])


def write_record(dirfd: int, name: str, data: dict[str, Any]) -> None:
    """Replace record ``name`` in the state directory ``dirfd`` with
    ``data`` as JSON: a new temp file (O_EXCL|O_NOFOLLOW, 0600) renamed
    over it, so a reader sees the old record or the new one, never half."""
    tmp = f".{name}.{threading.get_ident()}.tmp"
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW,
                 0o600, dir_fd=dirfd)
    try:
        with os.fdopen(fd, "w") as f:
            json.dump(data, f)
        os.replace(tmp, name, src_dir_fd=dirfd, dst_dir_fd=dirfd)
    except BaseException:
        # a full disk or a signal: no temp file stays in the state directory
        try:
            os.unlink(tmp, dir_fd=dirfd)
        except FileNotFoundError:
            pass        # it had been renamed already
        raise


def ident(path: Path) -> dict[str, Any]:
    st = os.lstat(path)
    return {"path": str(path), "dev": st.st_dev, "ino": st.st_ino}


def still_same(path: Path, ident: dict[str, Any]) -> os.stat_result | None:
    """lstat of ``path`` if it is still the object recorded, else None."""
    try:
        st = os.lstat(path)
    except FileNotFoundError:
        return None
    if (st.st_dev, st.st_ino) != (ident.get("dev"), ident.get("ino")):
        return None
    return st


class RunRecord:
    """What this process made, kept in ``run-<pid>-<start>.json``.

    One per process (see ``current()``); each kind ("cgroups", "dirs",
    "mounts", "swaps") is a list of identities. The file goes when the
    last entry is dropped.
    """

    KINDS = ("swaps", "mounts", "cgroups", "dirs")

    def __init__(self) -> None:
        self.pid = os.getpid()
        start = proc_start(self.pid)
        if start is None:
            raise LiveError("cannot read our own start time from "
                            "/proc/self/stat")
        self.start = start
        self.name = f"{_RECORD_PREFIX}{self.pid}-{start}.json"
        self.data: dict[str, Any] = {"pid": self.pid, "start": start,
                                     **{k: [] for k in self.KINDS}}
        self._lock = threading.Lock()
        self._dirfd: int | None = None

    def _write(self) -> None:
        """Write the record (``write_record``), creating it the first time
        (O_EXCL: a record of that name is never taken over)."""
        if self._dirfd is None:
            self._dirfd = open_state_dir()
            fd = os.open(self.name, os.O_WRONLY | os.O_CREAT | os.O_EXCL |
                         os.O_NOFOLLOW, 0o600, dir_fd=self._dirfd)
            os.close(fd)
        write_record(self._dirfd, self.name, self.data)

    def add(self, kind: str, entry: dict[str, Any]) -> None:
        with self._lock:
            self.data[kind].append(entry)
            try:
                self._write()
            except BaseException:
                # not in the record on disk, so not in ours either
                self.data[kind].remove(entry)
                raise

    def drop(self, kind: str, path: str | Path) -> None:
        """Forget an entry (it was removed); the file goes with the last."""
        global _CURRENT
        with self._lock:
            self.data[kind] = [e for e in self.data[kind]
                               if e["path"] != str(path)]
            if self._dirfd is None:
                return
            if any(self.data[k] for k in self.KINDS):
                self._write()
                return
            os.unlink(self.name, dir_fd=self._dirfd)
            os.close(self._dirfd)
            self._dirfd = None
            _CURRENT = None


_CURRENT: RunRecord | None = None
_CURRENT_LOCK = threading.Lock()


def current() -> RunRecord:
    """This process's record (made on first use)."""
    global _CURRENT
    with _CURRENT_LOCK:
        if _CURRENT is None or _CURRENT.pid != os.getpid():
            _CURRENT = RunRecord()
        return _CURRENT


def _read_record(dirfd: int, name: str) -> tuple[int, dict[str, Any]] | None:
    """(locked fd, data) of one record, or None if it is not one of ours
    (not a regular 0600 file of our uid) or another run is cleaning it."""
    try:
        fd = os.open(name, os.O_RDWR | os.O_NOFOLLOW | os.O_NONBLOCK,
                     dir_fd=dirfd)
    except OSError:
        return None
    st = os.fstat(fd)
    if (not stat.S_ISREG(st.st_mode) or st.st_uid != os.geteuid()
            or st.st_mode & 0o077 or st.st_size > 1 << 20):
        os.close(fd)
        return None
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        data = json.loads(os.read(fd, 1 << 20))
    except (OSError, ValueError):
        os.close(fd)
        return None
    if not isinstance(data, dict):
        os.close(fd)
        return None
    return fd, data


def stale_records(prefix: str = _RECORD_PREFIX
                  ) -> Iterator[tuple[int, dict[str, Any], Callable[[], None]]]:
    """(pid, record, forget) for each record ``<prefix><pid>-<start>.json``
    of a run that no longer runs (no process ``pid`` with that start time),
    locked while the caller cleans up after it: run records ("run-") here,
    trace records ("trace-") in memcg_edu.live.tracefs."""
    name_re = re.compile(re.escape(prefix) + r"(\d+)-(\d+)\.json")
    dirfd = open_state_dir()
    try:
        for name in sorted(os.listdir(dirfd)):
            m = name_re.fullmatch(name)
            if m is None or proc_start(int(m[1])) == int(m[2]):
                continue   # not such a record, or that run is alive
            got = _read_record(dirfd, name)
            if got is None:
                continue

            def forget(name: str = name) -> None:
                os.unlink(name, dir_fd=dirfd)
            fd, data = got
            try:
                yield int(m[1]), data, forget
            finally:
                os.close(fd)
    finally:
        os.close(dirfd)


def recorded_swap_paths() -> set[str]:
    """Swap files named by any record (live or dead run) of ours."""
    if not state_dir().exists():
        return set()
    try:
        dirfd = open_state_dir(create=False)
    except LiveError:
        return set()
    out: set[str] = set()
    try:
        for name in os.listdir(dirfd):
            if name.startswith(_RECORD_PREFIX) and name.endswith(".json"):
                try:
                    fd = os.open(name, os.O_RDONLY | os.O_NOFOLLOW |
                                 os.O_NONBLOCK, dir_fd=dirfd)
                except OSError:
                    continue
                try:
                    if stat.S_ISREG(os.fstat(fd).st_mode):
                        data = json.loads(os.read(fd, 1 << 20))
                        out.update(e["path"] for e in data.get("swaps", []))
                except (OSError, ValueError, TypeError, KeyError,
                        AttributeError):
                    pass
                finally:
                    os.close(fd)
    finally:
        os.close(dirfd)
    return out


def check_base_dir(base: Path) -> None:
    """Refuse a base directory others could rename our entries in: it must
    belong to root or us, and be sticky if group or others may write."""
    try:
        st = os.stat(base)
    except OSError as e:
        raise LiveError(f"work base {base}: {e.strerror}") from None
    if not stat.S_ISDIR(st.st_mode):
        raise LiveError(f"work base {base} is not a directory")
    if st.st_uid not in (0, os.geteuid()) or (
            st.st_mode & 0o022 and not st.st_mode & stat.S_ISVTX):
        raise LiveError(f"refusing work base {base}: owned by uid "
                        f"{st.st_uid}, mode {stat.S_IMODE(st.st_mode):04o} "
                        f"(others could replace what we create there)")


def umount_ours(mount: dict[str, Any]) -> bool:
    """Unmount ``mount["path"]`` if its directory ``mount["parent"]`` is
    still the one we made and something is mounted there (its device
    differs from the parent's); never follows a symlink. True if it was
    unmounted."""
    path, parent = mount["path"], mount["parent"]
    if still_same(Path(parent["path"]), parent) is None:
        return False
    try:
        st = os.lstat(path)
    except FileNotFoundError:
        return False
    if not stat.S_ISDIR(st.st_mode) or st.st_dev == parent["dev"]:
        return False
    umount(Path(path), "tmpfs", detach=True)
    return True


def umount(path: Path, what: str, detach: bool = False) -> None:
    """umount2(2) ``path`` (``what`` names it in the error), never following
    a symlink (UMOUNT_NOFOLLOW); ``detach`` (MNT_DETACH) lets a busy one go
    lazily."""
    flags = _UMOUNT_NOFOLLOW | (_MNT_DETACH if detach else 0)
    if libc().umount2(str(path).encode(), flags) != 0:
        err = ctypes.get_errno()
        raise LiveError(f"cannot unmount {what} at {path}: "
                        f"{os.strerror(err)}", "failed")


def remove_dir(ident: dict[str, Any]) -> bool:
    """Delete a directory tree we made, if it is still that directory.

    The top is checked by lstat (device and inode as recorded); the tree is
    removed by shutil.rmtree, which on Linux works through directory file
    descriptors and never follows a symlink. Returns False when the path
    is something else now (left alone).
    """
    path = Path(ident["path"])
    st = still_same(path, ident)
    if st is None or not stat.S_ISDIR(st.st_mode):
        return False
    if not shutil.rmtree.avoids_symlink_attacks:  # Linux always has it
        raise LiveError(f"not removing {path}: this platform's rmtree could "
                        f"follow a symlink", "failed")
    try:
        shutil.rmtree(path)
    except OSError as e:
        raise LiveError(f"cannot remove {path}: {e.strerror}", "failed") from None
    return True


def cleanup_stale(kill: Callable[[Path], None],
                  swapoff: Callable[[dict[str, Any]], bool]) -> list[str]:
    """Remove what dead runs recorded; returns what was removed, in words.

    ``kill(cgroup)`` empties a cgroup, ``swapoff(ident)`` disables and
    deletes one swap file. Order: swap, processes, mounts, files, cgroups
    (files before cgroups, so no page stays charged to a dying cgroup).
    """
    removed: list[str] = []
    for pid, data, forget in stale_records():
        try:
            for ident in data.get("swaps", []):
                if swapoff(ident):
                    removed.append(f"swap file {ident['path']} (run {pid})")
            cgroups = [c for c in data.get("cgroups", [])
                       if still_same(Path(c["path"]), c) is not None]
            for c in cgroups:
                kill(Path(c["path"]))
            for m in data.get("mounts", []):
                if umount_ours(m):
                    removed.append(f"mount {m['path']} (run {pid})")
            for d in data.get("dirs", []):
                if remove_dir(d):
                    removed.append(f"work directory {d['path']} (run {pid})")
            for c in cgroups:
                rmdir_busy(Path(c["path"]), "scratch cgroup")
                removed.append(f"cgroup {c['path']} (run {pid})")
        except (LiveError, OSError, KeyError, TypeError) as e:
            raise LiveError(f"cleaning up after run {pid} failed: {e}; its "
                            f"record in {state_dir()} is kept", "failed") from None
        forget()
    return removed


def rmdir_busy(path: Path, what: str, timeout: float = 5.0) -> None:
    """rmdir ``path`` (``what`` names it in the error), retrying while the
    kernel says it is busy: a cgroup until its last task is gone, a trace
    instance while a reader has it open. Gone already is fine."""
    deadline = time.monotonic() + timeout
    while True:
        try:
            os.rmdir(path)
            return
        except FileNotFoundError:
            return
        except OSError as e:
            if time.monotonic() > deadline:
                raise LiveError(f"cannot remove {what} {path}: {e.strerror}",
                                "failed") from None
            time.sleep(0.05)


@contextmanager
def state_lock(name: str, exclusive: bool, busy: LiveError,
               timeout: float | None = None,
               on_wait: Callable[[], None] | None = None) -> Iterator[None]:
    """Hold the flock on ``name`` in the state directory (created 0600,
    never through a symlink, refused unless a regular file of ours):
    shared, or ``exclusive``. Waits up to ``timeout`` seconds (Ctrl-C still
    works), calling ``on_wait`` once; then raises ``busy``."""
    dirfd = open_state_dir()
    try:
        fd = os.open(name, os.O_RDWR | os.O_CREAT | os.O_NOFOLLOW |
                     os.O_NONBLOCK, 0o600, dir_fd=dirfd)
    except OSError as e:
        raise LiveError(f"cannot open the lock {name} in {state_dir()}: "
                        f"{e.strerror}") from None
    finally:
        os.close(dirfd)
    try:
        st = os.fstat(fd)
        if not stat.S_ISREG(st.st_mode) or st.st_uid != os.geteuid():
            raise LiveError(f"refusing the lock {state_dir()}/{name}: "
                            f"not a regular file of uid {os.geteuid()}")
        op = fcntl.LOCK_EX if exclusive else fcntl.LOCK_SH
        deadline = time.monotonic() + (LOCK_TIMEOUT if timeout is None
                                       else timeout)
        while True:
            try:
                fcntl.flock(fd, op | fcntl.LOCK_NB)
                break
            except BlockingIOError:
                if time.monotonic() > deadline:
                    raise busy from None
                if on_wait is not None:
                    on_wait()
                    on_wait = None
                time.sleep(0.1)
        yield
    finally:
        os.close(fd)   # releases the lock


@contextmanager
def swap_lock(exclusive: bool, timeout: float | None = None,
              on_wait: Callable[[], None] | None = None) -> Iterator[None]:
    """Hold the swap lock (``swap.lock``, see ``state_lock``): shared by
    plain runs, exclusive by a run that adds a swap file, so no run's swap
    phases see another run's swap file come and go."""
    busy = LiveError(f"another live run holds the swap lock ({state_dir()}/"
                     f"swap.lock); try again when it has finished")
    with state_lock("swap.lock", exclusive, busy, timeout, on_wait):
        yield
