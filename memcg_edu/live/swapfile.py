"""A temporary swap file, only when the caller asks for it.

Stands for the user side of mm/swapfile.c: sys_swapon() and sys_swapoff()
on a file whose first page carries the "SWAPSPACE2" header (the layout of
union swap_header in include/linux/swap.h, as mkswap writes it).

``TempSwap(pages)`` creates ``swap`` in a fresh directory
``memcg-edu-<pid>-XXXXXXXX.swapdir`` (mkdtemp, mode 0700) under /var/tmp,
records its identity (device, inode) in this run's record
(memcg_edu.live.runstate), enables it and on leaving disables and deletes
it, whatever happened. ``swapoff_ours()`` does the same for the file of a
run that was killed, only if the file is still the one recorded.
``system_swap_pages()`` is the swap that is not ours.
"""
from __future__ import annotations

import ctypes
import os
import stat
import struct
from pathlib import Path
from types import TracebackType
from typing import Any

from ..timeline import PAGE_SIZE
from . import runstate
from .errors import LiveError
from .scratch import (PREFIX, WORK_BASE, libc, make_work_dir, remove_work_dir,
                      signals_deferred, signals_held, teardown)

__all__ = ["TempSwap", "swapoff_ours", "active_swap_files",
           "system_swap_pages", "is_ours"]

_MAGIC = b"SWAPSPACE2"


def _unescape(field: str) -> str:
    # /proc/swaps escapes blanks, tabs, newlines and backslashes as \ooo
    return (field.replace("\\040", " ").replace("\\011", "\t")
            .replace("\\012", "\n").replace("\\134", "\\"))


def active_swap_files(proc: Path = Path("/proc")) -> list[tuple[str, int]]:
    """(path, size in KiB) of each swap area the kernel uses (/proc/swaps)."""
    out = []
    for line in (proc / "swaps").read_text().splitlines()[1:]:
        parts = line.split()
        if len(parts) >= 3 and parts[2].isdigit():
            out.append((_unescape(parts[0]), int(parts[2])))
    return out


def is_ours(path: str) -> bool:
    """A swap file some run of memcg-edu made (recorded, or named like one
    of ours: an older version's ``memcg-edu-<pid>.swap``)."""
    return (path in runstate.recorded_swap_paths()
            or Path(path).name.startswith(PREFIX)
            or Path(path).parent.name.startswith(PREFIX))


def system_swap_pages(proc: Path = Path("/proc")) -> int:
    """Pages of active swap that no memcg-edu run made."""
    kb = sum(size for path, size in active_swap_files(proc)
             if not is_ours(path))
    return kb * 1024 // PAGE_SIZE


def _write_header(f, pages: int) -> None:
    # version 1, last usable page index, no bad pages; magic at page end
    f.seek(1024)
    f.write(struct.pack("<III", 1, pages - 1, 0))
    f.seek(PAGE_SIZE - len(_MAGIC))
    f.write(_MAGIC)


def swapoff_ours(ident: dict[str, Any]) -> bool:
    """swapoff and delete a recorded swap file, only while ``path`` is still
    the regular file recorded (device and inode, checked by lstat, so a
    symlink or a new file put in its place is left alone). True if it did."""
    path = Path(ident["path"])
    st = runstate.still_same(path, ident)
    if st is None or not stat.S_ISREG(st.st_mode):
        return False
    if str(path) in (p for p, _ in active_swap_files()):
        if libc().swapoff(str(path).encode()) != 0:
            err = ctypes.get_errno()
            raise LiveError(f"swapoff {path} failed: {os.strerror(err)}",
                            "failed")
    path.unlink()
    return True


class TempSwap:
    """Context manager: a swap file of ``pages`` pages, on while inside."""

    def __init__(self, pages: int) -> None:
        if pages < 10:
            raise LiveError(f"a swap file of {pages} pages is too small "
                            f"(at least 10)", "refused")
        self.pages = pages
        self.dir: Path | None = None
        self.path: Path | None = None

    def __enter__(self) -> "TempSwap":
        if os.geteuid() != 0:
            raise LiveError("--swap needs root: swapon(2) requires "
                            "CAP_SYS_ADMIN")
        rec = runstate.current()
        try:
            with signals_deferred():    # kept in self.dir before a signal
                self.dir = make_work_dir(".swapdir", WORK_BASE)
            self.path = self.dir / "swap"
            fd = -1
            try:
                # made and recorded as one step: no signal comes in between
                with signals_deferred():
                    fd = os.open(self.path, os.O_CREAT | os.O_EXCL |
                                 os.O_WRONLY | os.O_NOFOLLOW, 0o600)
                    rec.add("swaps", runstate.ident(self.path))
                # swapon refuses files with holes, so allocate every block
                os.posix_fallocate(fd, 0, self.pages * PAGE_SIZE)
                with os.fdopen(fd, "r+b", closefd=False) as f:
                    _write_header(f, self.pages)
                os.fsync(fd)
            finally:
                if fd >= 0:
                    os.close(fd)
            if libc().swapon(str(self.path).encode(), 0) != 0:
                err = ctypes.get_errno()
                raise LiveError(f"swapon {self.path} was refused: "
                                f"{os.strerror(err)} (the file system may not "
                                f"support swap files)")
        except OSError as e:
            self._remove()
            raise LiveError(f"cannot create swap file {self.path}: "
                            f"{e.strerror}") from None
        except BaseException:
            self._remove()
            raise
        return self

    def _remove(self) -> None:
        rec = runstate.current()
        # a second Ctrl-C or SIGTERM must not stop us between swapoff and
        # the record, or before swapoff (the file would stay swapped on)
        with signals_held():
            try:
                for ident in [i for i in rec.data["swaps"]
                              if i["path"] == str(self.path)]:
                    swapoff_ours(ident)
                    rec.drop("swaps", ident["path"])
            finally:
                if self.dir is not None:
                    remove_work_dir(self.dir)
                    self.dir = None

    @teardown
    def __exit__(self, et: type[BaseException] | None, ev: BaseException | None,
                 tb: TracebackType | None) -> None:
        self._remove()
