"""Reading and writing one memory cgroup's files, in pages.

cgroup v1: the files of mm/memcontrol.c (mm/memcontrol-v1.c on 6.11+):
memory.usage_in_bytes, memory.max_usage_in_bytes, memory.failcnt,
memory.limit_in_bytes and their memory.memsw.* twins, memory.stat,
memory.move_charge_at_immigrate, cgroup.procs.
cgroup v2: memory.current, memory.peak, memory.max, memory.events,
memory.swap.current, memory.swap.max, memory.stat.

``read_counters()`` returns the step-record shape of memcg_edu.timeline
(COUNTERS plus a "stat" dict of STATS), so a kernel sample and a model step
read the same way. Bytes become pages; an unlimited limit becomes None.
"""
from __future__ import annotations

import errno
from pathlib import Path
from typing import Any

from ..timeline import COUNTERS, LRU_NAMES, PAGE_SIZE, STATS
from .errors import LiveError

__all__ = ["MemcgFiles", "UNLIMITED_BYTES"]

#: A byte value at or above this is "no limit" (v1 prints PAGE_COUNTER_MAX
#: times the page size, 9223372036854771712 on x86-64).
UNLIMITED_BYTES = 1 << 62

# memory.stat fields given in bytes (v1); the event counts are raw numbers.
_V1_BYTE_STATS = {"cache", "rss", "rss_huge", "mapped_file", "swap", "shmem",
                  "swapcached", *LRU_NAMES}
# v2 memory.stat name for each STATS name (None: v2 has no such field).
_V2_STATS = {"cache": "file", "rss": "anon", "rss_huge": "anon_thp",
             "mapped_file": "file_mapped", "swap": None, "pgpgin": None,
             "pgpgout": None, "inactive_anon": "inactive_anon",
             "active_anon": "active_anon", "inactive_file": "inactive_file",
             "active_file": "active_file", "unevictable": "unevictable"}


def _pages(nbytes: int) -> int:
    return nbytes // PAGE_SIZE


class MemcgFiles:
    """The files of one memory cgroup directory (``version`` "v1" or "v2")."""

    def __init__(self, path: str | Path, version: str = "v1") -> None:
        if version not in ("v1", "v2"):
            raise LiveError(f"unknown cgroup version {version!r}")
        self.path, self.version = Path(path), version

    # -- low level --------------------------------------------------------
    def read(self, name: str) -> str | None:
        """Text of one file, or None if the kernel does not offer it."""
        try:
            return (self.path / name).read_text()
        except FileNotFoundError:
            return None
        except OSError as e:
            raise LiveError(f"cannot read {self.path / name}: "
                            f"{e.strerror}", "failed") from None

    def write(self, name: str, value: str) -> None:
        """Write one file; refusals become LiveError("refused") in words."""
        target = self.path / name
        try:
            with open(target, "w") as f:
                f.write(value)
        except OSError as e:
            why = {errno.EBUSY: "the usage cannot be pushed below it "
                                "(EBUSY: reclaim found nothing more to free)",
                   errno.EINVAL: "the kernel rejects this value (EINVAL)",
                   errno.EACCES: "permission denied (EACCES)",
                   errno.EPERM: "operation not permitted (EPERM)",
                   errno.ENOENT: "no such file: this kernel does not offer "
                                 "it (ENOENT)"}.get(e.errno or 0, e.strerror or str(e))
            kind = "unsupported" if e.errno in (errno.EACCES, errno.EPERM,
                                                errno.ENOENT) else "refused"
            raise LiveError(f"writing {value.strip()!r} to {target} was "
                            f"refused: {why}", kind) from None

    def _int(self, name: str) -> int | None:
        text = self.read(name)
        if text is None:
            return None
        text = text.strip()
        return None if text == "max" else int(text)

    def stat(self) -> dict[str, int]:
        """memory.stat as raw numbers (bytes and counts as the kernel prints)."""
        out: dict[str, int] = {}
        for line in (self.read("memory.stat") or "").splitlines():
            key, _, val = line.partition(" ")
            if val.strip().lstrip("-").isdigit():
                out[key] = int(val)
        return out

    # -- counters -----------------------------------------------------------
    def read_counters(self) -> dict[str, Any]:
        """One memcg entry of a step record: COUNTERS and "stat", in pages."""
        raw = self.stat()
        if self.version == "v1":
            rec = self._v1_counters()
            stat = {k: (_pages(raw[k]) if k in _V1_BYTE_STATS else raw[k])
                    if k in raw else None for k in STATS}
        else:
            rec = self._v2_counters()
            stat = {k: (_pages(raw[v]) if v in raw else None) if v else None
                    for k, v in _V2_STATS.items()}
            stat["swap"] = rec["memsw_usage"] - rec["usage"] \
                if rec["memsw_usage"] is not None else None
        rec["stat"] = stat
        return rec

    def _v1_counters(self) -> dict[str, Any]:
        files = {"usage": "memory.usage_in_bytes",
                 "memsw_usage": "memory.memsw.usage_in_bytes",
                 "max_usage": "memory.max_usage_in_bytes",
                 "memsw_max_usage": "memory.memsw.max_usage_in_bytes",
                 "limit": "memory.limit_in_bytes",
                 "memsw_limit": "memory.memsw.limit_in_bytes"}
        rec: dict[str, Any] = {}
        for key in COUNTERS:
            if key in ("failcnt", "memsw_failcnt"):
                name = "memory.failcnt" if key == "failcnt" else "memory.memsw.failcnt"
                rec[key] = self._int(name)
                continue
            v = self._int(files[key])
            if v is not None and key.endswith("limit") and v >= UNLIMITED_BYTES:
                v = None
            rec[key] = None if v is None else _pages(v)
        return rec

    def _v2_counters(self) -> dict[str, Any]:
        usage = self._int("memory.current")
        swap = self._int("memory.swap.current")
        limit, swap_max = self._int("memory.max"), self._int("memory.swap.max")
        events = {}
        for line in (self.read("memory.events") or "").splitlines():
            k, _, v = line.partition(" ")
            events[k] = int(v)
        peak = self._int("memory.peak")
        return {"usage": _pages(usage or 0),
                "memsw_usage": None if swap is None else _pages((usage or 0) + swap),
                "max_usage": None if peak is None else _pages(peak),
                "memsw_max_usage": None,
                "failcnt": events.get("max"),
                "memsw_failcnt": None,
                "limit": None if limit is None else _pages(limit),
                "memsw_limit": (None if limit is None or swap_max is None
                                else _pages(limit + swap_max))}

    def read_extra(self) -> dict[str, int | None]:
        """Kernel-only figures the model has no counter for (pages)."""
        raw = self.stat()
        if self.version == "v1":
            kmem = self._int("memory.kmem.usage_in_bytes")
            shmem, swapcached = raw.get("shmem"), raw.get("swapcached")
        else:
            kmem = raw.get("kernel")
            shmem, swapcached = raw.get("shmem"), raw.get("swapcached")
        return {k: (None if v is None else _pages(v)) for k, v in
                (("kmem", kmem), ("shmem", shmem), ("swapcached", swapcached))}

    # -- settings -----------------------------------------------------------
    def set_limits(self, limit: int | None, memsw_limit: int | None = None) -> None:
        """Set the memory (and memory+swap) limit in pages; None = unlimited.

        cgroup v1 insists that limit <= memsw limit at every moment, so the
        order of the two writes depends on the direction of the change.
        """
        def v1(pages: int | None) -> str:
            return "-1" if pages is None else str(pages * PAGE_SIZE)

        def v2(pages: int | None) -> str:
            return "max" if pages is None else str(pages * PAGE_SIZE)

        if self.version == "v2":
            self.write("memory.max", v2(limit))
            if memsw_limit is not None or (self.path / "memory.swap.max").exists():
                swap = None if memsw_limit is None or limit is None \
                    else max(memsw_limit - limit, 0)
                self.write("memory.swap.max", v2(swap))
            return
        if memsw_limit is not None and limit is not None and memsw_limit < limit:
            raise LiveError(f"memsw limit {memsw_limit} pages is below the "
                            f"memory limit {limit} pages: cgroup v1 requires "
                            f"limit <= memsw limit", "refused")
        has_memsw = (self.path / "memory.memsw.limit_in_bytes").exists()
        if memsw_limit is not None and not has_memsw:
            raise LiveError("a memsw limit needs swap accounting "
                            "(memory.memsw.limit_in_bytes is missing)")
        cur = self._int("memory.memsw.limit_in_bytes") if has_memsw else None
        lowering_memsw = (memsw_limit is not None and
                          (cur is None or cur >= UNLIMITED_BYTES or
                           memsw_limit * PAGE_SIZE < cur))
        if has_memsw and not lowering_memsw:
            self.write("memory.memsw.limit_in_bytes", v1(memsw_limit))
        self.write("memory.limit_in_bytes", v1(limit))
        if has_memsw and lowering_memsw:
            self.write("memory.memsw.limit_in_bytes", v1(memsw_limit))

    def set_move_charge(self, mask: int) -> str | None:
        """Try memory.move_charge_at_immigrate; None if taken, else why not.

        Charge moving is deprecated since Linux 6.0 and refused (EINVAL) by
        the kernels that dropped it; v2 never had it.
        """
        if self.version == "v2":
            return "cgroup v2 never moves charges with a task"
        try:
            with open(self.path / "memory.move_charge_at_immigrate", "w") as f:
                f.write(str(mask))
        except OSError as e:
            return (f"memory.move_charge_at_immigrate={mask} refused by this "
                    f"kernel ({errno.errorcode.get(e.errno or 0, e.errno)}: "
                    f"{e.strerror}); charge moving is deprecated since Linux "
                    f"6.0, so a moved task leaves its charges behind")
        if (self._int("memory.move_charge_at_immigrate") or 0) != mask:
            return f"memory.move_charge_at_immigrate did not keep {mask}"
        return None

    # -- tasks --------------------------------------------------------------
    def add_pid(self, pid: int) -> None:
        """Move a process (all its threads) into this cgroup."""
        self.write("cgroup.procs", str(pid))

    def pids(self) -> list[int]:
        return [int(x) for x in (self.read("cgroup.procs") or "").split()]
