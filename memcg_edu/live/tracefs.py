"""A private tracefs instance for one traced run, always removed.

Stands for the tracefs interface of kernel/trace/trace.c and
kernel/trace/trace_events.c: ``instances/`` (mkdir creates a ring buffer of
its own, rmdir removes it), ``events/<system>/<event>/{enable,filter,format}``, ``buffer_size_kb``, ``tracing_on``, ``trace_marker``,
``trace`` and ``per_cpu/cpuN/stats`` (overrun and dropped events).

What this module does to the machine, and only this:

* tracefs is mounted at /sys/kernel/tracing only if no tracefs is mounted
  anywhere, and unmounted at the end by the run that mounted it;
* one instance ``instances/memcg-edu-<pid>-<random>`` is created with mkdir
  and removed with rmdir (its events are switched off first); the global
  buffer and every other instance are never written;
* a root-only record (``trace-<pid>-<start>.json`` in the live lab's state
  directory, memcg_edu.live.runstate: /run/memcg-edu for root, mode 0700,
  beside but apart from its ``run-*.json`` records) names the instance and
  the mount, so that ``cleanup_stale()`` at the next start removes what a
  run killed with SIGKILL left, and nothing else: an instance is removed
  only when its name has our prefix AND a record of a dead run names it.

One traced run at a time (``trace.lock`` in the state directory, apart
from runstate's ``swap.lock``): runs share the mount, and a run that
mounted tracefs must be able to unmount it.
"""
from __future__ import annotations

import ctypes
import os
import re
import secrets
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Callable, Generator, Iterator

from .errors import LiveError
from .runstate import (LOCK_TIMEOUT, libc, open_state_dir, proc_start,
                       rmdir_busy, stale_records, state_lock, umount,
                       write_record)
from .scratch import signals_deferred, signals_held, teardown

__all__ = ["TRACE_PREFIX", "DEFAULT_MOUNT", "find_tracefs", "TraceInstance",
           "cleanup_stale", "lost_events", "trace_lock"]

TRACE_PREFIX = "memcg-edu-"
DEFAULT_MOUNT = Path("/sys/kernel/tracing")
_INSTANCE = re.compile(r"^memcg-edu-(\d+)-[0-9a-f]{8}$")
_RECORD_PREFIX = "trace-"


def find_tracefs(mounts: Path = Path("/proc/self/mounts")) -> Path | None:
    """Where tracefs is mounted (the first tracefs line), or None."""
    try:
        text = mounts.read_text()
    except OSError:
        return None
    for line in text.splitlines():
        parts = line.split()
        if len(parts) > 2 and parts[2] == "tracefs":
            return Path(parts[1].replace("\\040", " "))
    return None


@contextmanager
def trace_lock(timeout: float = LOCK_TIMEOUT,
               on_wait: Callable[[], None] | None = None) -> Iterator[None]:
    """Exclusive: one traced run of ours at a time (``trace.lock`` in the
    state directory, see runstate.state_lock; waits up to ``timeout``,
    calling ``on_wait`` once if it has to wait)."""
    busy = LiveError(f"another traced run held the trace lock for "
                     f"{timeout:.0f} s", "failed")
    with state_lock("trace.lock", True, busy, timeout, on_wait):
        yield


def lost_events(inst: Path) -> dict[int, dict[str, int]]:
    """Per CPU: {"overrun", "dropped", "entries"} from per_cpu/cpuN/stats.

    overrun: events overwritten because the buffer was full (overwrite
    mode, the default); dropped: events refused because it was full
    (no-overwrite mode). Both are events the run lost.
    """
    out: dict[int, dict[str, int]] = {}
    per_cpu = inst / "per_cpu"
    if not per_cpu.is_dir():
        return out
    for d in sorted(per_cpu.iterdir()):
        m = re.match(r"^cpu(\d+)$", d.name)
        if not m:
            continue
        vals: dict[str, int] = {"overrun": 0, "dropped": 0, "entries": 0}
        try:
            text = (d / "stats").read_text()
        except OSError:
            continue
        for line in text.splitlines():
            key, _, val = line.partition(":")
            name = {"overrun": "overrun", "dropped events": "dropped",
                    "entries": "entries"}.get(key.strip())
            if name is not None:
                vals[name] = int(val.split()[0])
        out[int(m.group(1))] = vals
    return out


@dataclass
class _Record:
    """The root-only record of one traced run (what it created)."""

    name: str

    def write(self, data: dict) -> None:
        dfd = open_state_dir()
        try:
            write_record(dfd, self.name, data)
        finally:
            os.close(dfd)

    def remove(self) -> None:
        dfd = open_state_dir()
        try:
            os.unlink(self.name, dir_fd=dfd)
        except FileNotFoundError:
            pass
        finally:
            os.close(dfd)


def _switch_off(inst: Path) -> None:
    """tracing_on 0 and every event of the instance off (best effort)."""
    for name, value in (("tracing_on", "0"), ("events/enable", "0")):
        try:
            _write(inst / name, value)
        except OSError:
            pass


def _write(path: Path, value: str) -> None:
    """Write one tracefs control file (never through a symlink)."""
    fd = os.open(path, os.O_WRONLY | os.O_TRUNC | os.O_NOFOLLOW)
    try:
        os.write(fd, value.encode() + b"\n")
    finally:
        os.close(fd)


def _rmdir_instance(inst: Path, timeout: float = 5.0) -> None:
    """Switch an instance off and rmdir it (runstate.rmdir_busy: the kernel
    says EBUSY while a reader has it open)."""
    _switch_off(inst)
    rmdir_busy(inst, "trace instance", timeout)


def cleanup_stale(mounts: Path = Path("/proc/self/mounts")) -> list[str]:
    """Remove what traced runs killed with SIGKILL left: their instance
    (prefix AND record), and tracefs if they had mounted it. Returns what
    was removed (or kept because busy), in words."""
    removed: list[str] = []
    for _pid, data, forget in stale_records(_RECORD_PREFIX):
        inst = data.get("instance")
        where = find_tracefs(mounts)
        try:
            if inst and where is not None and _INSTANCE.match(Path(inst).name):
                path = where / "instances" / Path(inst).name
                if path.is_dir():
                    _rmdir_instance(path)
                    removed.append(f"removed stale trace instance {path}")
            mounted = data.get("mounted")
            if mounted and where is not None and str(where) == mounted:
                umount(where, "tracefs")
                removed.append(f"removed stale tracefs mount {where}")
        except LiveError as e:
            # busy (someone else uses it now): kept, with its record, for
            # the next start to try again
            removed.append(f"kept a stale run's leftovers for now: {e}")
            continue
        forget()
    return removed


class TraceInstance:
    """A private tracefs instance; use as a context manager.

    ``enable(system, event, filter)`` switches one tracepoint on (returns
    False if this kernel has no such event; the filter may name
    common_pid), ``on()`` / ``off()`` start and stop recording,
    ``mark(text)`` writes a marker line, ``read()`` gives the text of the
    buffer, ``lost()`` the per-CPU overrun and dropped counts.
    """

    def __init__(self, buffer_kb: int = 4096,
                 mounts: Path = Path("/proc/self/mounts"),
                 mount_at: Path = DEFAULT_MOUNT) -> None:
        self.buffer_kb = buffer_kb
        self._mounts, self._mount_at = mounts, mount_at
        self.root: Path | None = None
        self.path: Path | None = None
        self.mounted = False          # we mounted tracefs
        self.enabled: list[str] = []
        self.missing: list[str] = []
        start = proc_start(os.getpid())
        self._record = _Record(
            f"{_RECORD_PREFIX}{os.getpid()}-{start or 0}.json")
        self._data: dict = {"pid": os.getpid()}

    # -- setup --------------------------------------------------------------
    def __enter__(self) -> "TraceInstance":
        if os.geteuid() != 0:
            raise LiveError("tracing needs root (tracefs control files are "
                            "root-only)")
        try:
            # inside the try: a Ctrl-C just after the record is written
            # still removes it (_cleanup)
            self._record.write(self._data)
            self._setup()
        except BaseException:
            self._cleanup()
            raise
        return self

    def _setup(self) -> None:
        root = find_tracefs(self._mounts)
        if root is None:
            if not self._mount_at.is_dir():
                raise LiveError(f"no tracefs mounted and no {self._mount_at} "
                                f"to mount it on (kernel without "
                                f"CONFIG_TRACING?)")
            # recorded before mounting, so a SIGKILL in between is cleaned
            self._data["mounted"] = str(self._mount_at)
            self._record.write(self._data)
            # mounted and remembered as one step, so _cleanup unmounts it
            with signals_deferred():
                if libc().mount(b"nodev", str(self._mount_at).encode(),
                                b"tracefs", 0, None) != 0:
                    err = ctypes.get_errno()
                    self._data["mounted"] = None
                    self._record.write(self._data)
                    raise LiveError(f"cannot mount tracefs at "
                                    f"{self._mount_at}: {os.strerror(err)}")
                self.mounted = True
            root = self._mount_at
        self.root = root
        if not (root / "instances").is_dir():
            raise LiveError(f"tracefs at {root} has no instances/ directory "
                            f"(kernel too old for private trace buffers)")
        name = f"{TRACE_PREFIX}{os.getpid()}-{secrets.token_hex(4)}"
        self._data["instance"] = name
        self._record.write(self._data)
        path = root / "instances" / name
        # made and remembered as one step, so _cleanup removes it
        with signals_deferred():
            try:
                os.mkdir(path)
            except OSError as e:
                raise LiveError(f"cannot create trace instance {path}: "
                                f"{e.strerror}") from None
            self.path = path
        _write(path / "tracing_on", "0")
        _write(path / "buffer_size_kb", str(self.buffer_kb))

    # -- events ---------------------------------------------------------------
    def has_event(self, system: str, event: str) -> bool:
        assert self.path is not None
        return (self.path / "events" / system / event / "format").is_file()

    def event_format(self, system: str, event: str) -> str:
        assert self.path is not None
        return (self.path / "events" / system / event / "format").read_text()

    def enable(self, system: str, event: str, filt: str | None = None) -> bool:
        """Switch one event on (with a filter); False if the kernel lacks it."""
        assert self.path is not None
        if not self.has_event(system, event):
            self.missing.append(f"{system}:{event}")
            return False
        d = self.path / "events" / system / event
        if filt:
            try:
                _write(d / "filter", filt)
            except OSError as e:
                raise LiveError(f"the kernel refused the filter {filt!r} on "
                                f"{system}:{event}: {e.strerror}") from None
        _write(d / "enable", "1")
        self.enabled.append(f"{system}:{event}")
        return True

    def on(self) -> None:
        assert self.path is not None
        _write(self.path / "tracing_on", "1")

    def off(self) -> None:
        assert self.path is not None
        _write(self.path / "tracing_on", "0")

    def mark(self, text: str) -> None:
        """A line in the buffer (trace_marker), to cut it into steps."""
        assert self.path is not None
        _write(self.path / "trace_marker", text)

    def read(self) -> Generator[str, None, None]:
        """The buffer as text lines (the ``trace`` file), oldest first."""
        assert self.path is not None
        with open(self.path / "trace", errors="replace") as f:
            yield from f

    def lost(self) -> dict[int, dict[str, int]]:
        assert self.path is not None
        return lost_events(self.path)

    # -- teardown -------------------------------------------------------------
    @teardown
    def __exit__(self, *exc: object) -> None:
        self._cleanup()

    def _cleanup(self) -> None:
        # a second Ctrl-C, SIGTERM or SIGHUP waits until everything is removed
        with signals_held():
            if self.path is not None:
                _rmdir_instance(self.path)
                self.path = None
            if self.mounted and self.root is not None:
                umount(self.root, "tracefs")
                self.mounted = False
            self._record.remove()
