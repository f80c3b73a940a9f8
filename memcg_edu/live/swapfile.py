"""A temporary swap file, only when the caller asks for it.

Stands for the user side of mm/swapfile.c: sys_swapon() and sys_swapoff()
on a file whose first page carries the "SWAPSPACE2" header (the layout of
union swap_header in include/linux/swap.h, as mkswap writes it).

``TempSwap(pages)`` creates ``/var/tmp/memcg-edu-<pid>.swap``, enables it and
on leaving disables and deletes it, whatever happened. ``cleanup_stale()``
does the same for a file left by a run that was killed.
"""
from __future__ import annotations

import ctypes
import os
import re
import struct
from pathlib import Path
from types import TracebackType

from ..timeline import PAGE_SIZE
from .errors import LiveError
from .scratch import PREFIX, WORK_BASE, pid_alive, libc

__all__ = ["TempSwap", "cleanup_stale", "active_swap_files"]

_MAGIC = b"SWAPSPACE2"


def active_swap_files(proc: Path = Path("/proc")) -> list[str]:
    """Paths of the swap areas the kernel is using (from /proc/swaps)."""
    lines = (proc / "swaps").read_text().splitlines()[1:]
    return [line.split()[0] for line in lines if line.strip()]


def _write_header(f, pages: int) -> None:
    # version 1, last usable page index, no bad pages; magic at page end
    f.seek(1024)
    f.write(struct.pack("<III", 1, pages - 1, 0))
    f.seek(PAGE_SIZE - len(_MAGIC))
    f.write(_MAGIC)


def _swapoff(path: Path) -> None:
    if str(path) in active_swap_files():
        if libc().swapoff(str(path).encode()) != 0:
            err = ctypes.get_errno()
            raise LiveError(f"swapoff {path} failed: {os.strerror(err)}",
                            "failed")


class TempSwap:
    """Context manager: a swap file of ``pages`` pages, on while inside."""

    def __init__(self, pages: int) -> None:
        if pages < 10:
            raise LiveError(f"a swap file of {pages} pages is too small "
                            f"(at least 10)", "refused")
        self.pages = pages
        self.path = WORK_BASE / f"{PREFIX}{os.getpid()}.swap"

    def __enter__(self) -> "TempSwap":
        if os.geteuid() != 0:
            raise LiveError("--swap needs root: swapon(2) requires "
                            "CAP_SYS_ADMIN")
        try:
            fd = os.open(self.path, os.O_CREAT | os.O_EXCL | os.O_WRONLY, 0o600)
        except OSError as e:
            raise LiveError(f"cannot create swap file {self.path}: "
                            f"{e.strerror}") from None
        try:
            # swapon refuses files with holes, so allocate every block
            os.posix_fallocate(fd, 0, self.pages * PAGE_SIZE)
            with os.fdopen(fd, "r+b", closefd=False) as f:
                _write_header(f, self.pages)
            os.fsync(fd)
            os.close(fd)
            if libc().swapon(str(self.path).encode(), 0) != 0:
                err = ctypes.get_errno()
                raise LiveError(f"swapon {self.path} was refused: "
                                f"{os.strerror(err)} (the file system may not "
                                f"support swap files)")
        except BaseException:
            try:
                os.close(fd)
            except OSError:
                pass
            self.path.unlink(missing_ok=True)
            raise
        return self

    def __exit__(self, et: type[BaseException] | None, ev: BaseException | None,
                 tb: TracebackType | None) -> None:
        try:
            _swapoff(self.path)
        finally:
            self.path.unlink(missing_ok=True)


def cleanup_stale() -> list[str]:
    """Disable and delete swap files of runs that are no longer alive."""
    removed = []
    for path in sorted(WORK_BASE.glob(f"{PREFIX}*.swap")):
        m = re.match(r"^memcg-edu-(\d+)\.swap$", path.name)
        if m and not pid_alive(int(m.group(1))):
            _swapoff(path)
            path.unlink(missing_ok=True)
            removed.append(f"swap file {path}")
    return removed
