"""The workload process: runs phases inside the scratch cgroup, one at a time.

Run as ``python -m memcg_edu.live.workload``. It talks JSON lines: it says
``{"ready": pid}``, the recorder moves it into the cgroup, then sends one
command per phase and samples the counters after each ``{"done": ...}``
reply, while this process waits doing nothing. The mm paths it drives:
do_anonymous_page / shmem_fault (mm/memory.c, mm/shmem.c) by touching
mappings, filemap_read / generic_perform_write (mm/filemap.c) by file IO,
zap_page_range via munmap, do_swap_page on re-reading swapped pages.

Everything it needs is allocated before it joins the cgroup, so that what
is charged there is the workload (plus its page tables).
"""
from __future__ import annotations

import ctypes
import json
import mmap
import os
import signal
import sys
from typing import Any

from ..timeline import PAGE_SIZE

__all__ = ["main", "perform"]

_BUF_PAGES = 64
_PR_SET_PDEATHSIG = 1


def _die_with_parent() -> None:
    """SIGKILL this process if the recorder dies (so nothing is left)."""
    libc = ctypes.CDLL(None, use_errno=True)
    libc.prctl(_PR_SET_PDEATHSIG, signal.SIGKILL, 0, 0, 0)
    if os.getppid() == 1:  # the recorder died before prctl took effect
        os._exit(1)


def _map(pages: int, shared: bool) -> mmap.mmap:
    flags = (mmap.MAP_SHARED if shared else mmap.MAP_PRIVATE) | mmap.MAP_ANONYMOUS
    mm = mmap.mmap(-1, pages * PAGE_SIZE, flags=flags)
    # base pages only: a THP would charge 512 pages at once
    mm.madvise(mmap.MADV_NOHUGEPAGE)
    return mm


def _touch(mm: mmap.mmap, write: bool) -> int:
    total = 0
    for off in range(0, len(mm), PAGE_SIZE):
        if write:
            mm[off] = 1
        else:
            total += mm[off]
    return total


def perform(cmd: dict[str, Any], regions: dict[str, mmap.mmap],
            buf: bytearray) -> dict[str, Any]:
    """Carry out one child action; returns the detail for the step record."""
    action, target, pages = cmd["action"], cmd.get("target", ""), cmd.get("pages", 0)
    if action in ("touch_anon", "touch_shared"):
        mm = _map(pages, shared=action == "touch_shared")
        _touch(mm, write=True)
        regions[target] = mm
        # the address lets the recorder read our frames from /proc/PID/pagemap
        view = ctypes.c_char.from_buffer(mm)
        addr = ctypes.addressof(view)
        del view  # an exported buffer would keep munmap from happening
        return {"addr": addr}
    elif action == "retouch":
        _touch(regions[target], write=False)
    elif action == "unmap":
        regions.pop(target).close()
    elif action == "read_file":
        fd = os.open(cmd["path"], os.O_RDONLY | os.O_NOFOLLOW)
        try:
            into = memoryview(buf)
            while os.readv(fd, [into]) > 0:
                pass
        finally:
            os.close(fd)
    elif action in ("write_file", "write_tmpfs"):
        # a new file in our own 0700 work directory: never an existing one,
        # never through a symlink
        fd = os.open(cmd["path"], os.O_CREAT | os.O_EXCL | os.O_WRONLY |
                     os.O_NOFOLLOW, 0o600)
        try:
            left = pages
            while left > 0:
                n = min(left, _BUF_PAGES)
                os.write(fd, memoryview(buf)[:n * PAGE_SIZE])
                left -= n
        finally:
            os.close(fd)
    else:
        raise ValueError(f"unknown child action {action!r}")
    return {}


def main() -> None:
    _die_with_parent()
    # allocate and touch everything before the recorder moves us
    buf = bytearray(b"\x5a" * (_BUF_PAGES * PAGE_SIZE))
    regions: dict[str, mmap.mmap] = {}
    json.loads(json.dumps({"warm": [1, "x", 0.5]}))
    out = sys.stdout
    out.write(json.dumps({"ready": os.getpid()}) + "\n")
    out.flush()
    for line in sys.stdin:
        cmd = json.loads(line)
        if cmd["action"] == "exit":
            os._exit(0)
        try:
            detail = perform(cmd, regions, buf)
            reply = {"done": True, "detail": detail}
        except (OSError, ValueError, KeyError) as e:
            reply = {"done": False, "error": f"{type(e).__name__}: {e}"}
        out.write(json.dumps(reply) + "\n")
        out.flush()


if __name__ == "__main__":
    main()
