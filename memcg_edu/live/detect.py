"""What this machine offers for live memory cgroup experiments.

Reads what the kernel publishes about itself: /proc/self/cgroup (which
cgroup we are in, kernel/cgroup/cgroup.c proc_cgroup_show), /proc/self/mounts
(where the memory controller is mounted), /proc/swaps (mm/swapfile.c) and
/proc/sys/kernel/osrelease. Every path is relative to a ``proc`` root so the
tests can point it at a fake tree.
"""
from __future__ import annotations

import os
import platform
from dataclasses import dataclass, field
from pathlib import Path

from ..timeline import PAGE_SIZE
from .errors import LiveError

__all__ = ["Capabilities", "detect", "describe"]


@dataclass(frozen=True)
class Capabilities:
    """The answer of ``detect()``; ``reasons`` says why something is missing."""

    kernel: str
    cgroup: str | None            # "v1", "v2" or None (no memory controller)
    mount: Path | None            # where the memory hierarchy is mounted
    own_path: str | None          # our cgroup, relative to ``mount``
    memsw: bool                   # swap accounting (memsw / swap.current files)
    can_create: bool              # may create a child cgroup under our own
    swap_pages: int               # active swap space, in pages
    is_root: bool
    compact: bool                 # /proc/sys/vm/compact_memory is writable
    proc: Path = Path("/proc")
    reasons: tuple[str, ...] = field(default=())       # everything missing
    scratch_reasons: tuple[str, ...] = field(default=())  # why no cgroup

    @property
    def own_dir(self) -> Path | None:
        """Our own memory cgroup's directory (scratch cgroups go under it)."""
        if self.mount is None or self.own_path is None:
            return None
        return self.mount / self.own_path.lstrip("/")

    def require_scratch(self) -> Path:
        """Our cgroup directory, or LiveError saying why none can be made."""
        if self.cgroup is None or self.own_dir is None:
            raise LiveError("no memory cgroup controller found: "
                            + "; ".join(self.scratch_reasons))
        if not self.can_create:
            raise LiveError(f"no right to create a memory cgroup under "
                            f"{self.own_dir}: " + "; ".join(self.scratch_reasons))
        return self.own_dir


def _read(path: Path) -> str | None:
    try:
        return path.read_text()
    except OSError:
        return None


def _memory_mounts(mounts: str) -> tuple[Path | None, Path | None]:
    """(v1 memory mount, v2 mount) from /proc/self/mounts text."""
    v1 = v2 = None
    for line in mounts.splitlines():
        parts = line.split()
        if len(parts) < 4:
            continue
        where, fstype, opts = parts[1], parts[2], parts[3].split(",")
        if fstype == "cgroup" and "memory" in opts and v1 is None:
            v1 = Path(where)
        elif fstype == "cgroup2" and v2 is None:
            v2 = Path(where)
    return v1, v2


def _own_paths(text: str) -> tuple[str | None, str | None]:
    """(v1 memory path, v2 path) from /proc/self/cgroup text."""
    v1 = v2 = None
    for line in text.splitlines():
        parts = line.split(":", 2)
        if len(parts) != 3:
            continue
        if "memory" in parts[1].split(","):
            v1 = parts[2]
        elif parts[0] == "0" and parts[1] == "":
            v2 = parts[2]
    return v1, v2


def _swap_pages(proc: Path) -> int:
    """Active swap that is not a memcg-edu run's own temporary file."""
    from .swapfile import system_swap_pages  # swapfile imports this module
    try:
        return system_swap_pages(proc)
    except OSError:
        return 0


def detect(proc: str | Path | None = None) -> Capabilities:
    """Look at the machine (through ``proc``) and say what it offers.

    ``proc`` defaults to $MEMCG_EDU_PROC, else /proc (the variable lets the
    tests and a demo point the command line at a fake tree).
    """
    proc = Path(proc or os.environ.get("MEMCG_EDU_PROC") or "/proc")
    reasons: list[str] = []
    kernel = (_read(proc / "sys/kernel/osrelease") or platform.release()).strip()
    is_root = os.geteuid() == 0
    v1_mount, v2_mount = _memory_mounts(_read(proc / "self/mounts") or "")
    v1_path, v2_path = _own_paths(_read(proc / "self/cgroup") or "")

    cgroup = mount = own = None
    memsw = False
    if v1_mount is not None and v1_path is not None:
        cgroup, mount, own = "v1", v1_mount, v1_path
        memsw = (mount / own.lstrip("/") / "memory.memsw.usage_in_bytes").exists()
        if not memsw:
            reasons.append("swap accounting is off (no memory.memsw.* files; "
                           "boot with swapaccount=1 to see memsw)")
    elif v2_mount is not None and v2_path is not None:
        ctrl = _read(v2_mount / v2_path.lstrip("/") / "cgroup.controllers") or ""
        if "memory" in ctrl.split():
            cgroup, mount, own = "v2", v2_mount, v2_path
            memsw = (mount / own.lstrip("/") / "memory.swap.current").exists()
        else:
            reasons.append(f"cgroup v2 is mounted at {v2_mount} but the memory "
                           f"controller is not enabled for {v2_path}")
    else:
        reasons.append("no cgroup v1 memory controller and no cgroup v2 "
                       "mount in /proc/self/mounts (not Linux, or a container "
                       "without cgroups)")

    can_create = False
    if cgroup is not None:
        assert mount is not None and own is not None   # set together with cgroup
        own_dir = mount / own.lstrip("/")
        if not own_dir.is_dir():
            reasons.append(f"our cgroup directory {own_dir} is not visible "
                           f"(cgroup namespace or container?)")
        elif not os.access(own_dir, os.W_OK):
            reasons.append(f"{own_dir} is not writable: run as root, or in a "
                           f"delegated cgroup v2 subtree")
        elif cgroup == "v2" and "memory" not in (
                _read(own_dir / "cgroup.subtree_control") or "").split():
            reasons.append(f"the memory controller is not delegated below "
                           f"{own_dir} (not in its cgroup.subtree_control)")
        else:
            can_create = True

    scratch_reasons = tuple(r for r in reasons if "swapaccount" not in r)
    swap_pages = _swap_pages(proc)
    if swap_pages == 0:
        reasons.append("no swap is active (the swap phases need --swap, "
                       "which adds a temporary swap file as root)")
    compact_path = proc / "sys/vm/compact_memory"
    compact = compact_path.exists() and os.access(compact_path, os.W_OK)
    if not compact:
        reasons.append("cannot write /proc/sys/vm/compact_memory (compaction "
                       "needs root and CONFIG_COMPACTION)")
    return Capabilities(kernel=kernel, cgroup=cgroup, mount=mount, own_path=own,
                        memsw=memsw, can_create=can_create,
                        swap_pages=swap_pages, is_root=is_root,
                        compact=compact, proc=proc, reasons=tuple(reasons),
                        scratch_reasons=scratch_reasons)


def describe(caps: Capabilities) -> str:
    """Plain-words summary, as ``python -m memcg_edu live status`` prints it."""
    yes = {True: "yes", False: "no"}
    lines = [f"kernel:              Linux {caps.kernel}"]
    if caps.cgroup == "v1":
        lines.append(f"memory controller:   cgroup v1 at {caps.mount}")
    elif caps.cgroup == "v2":
        lines.append(f"memory controller:   cgroup v2 at {caps.mount}")
    else:
        lines.append("memory controller:   none found")
    if caps.own_dir is not None:
        lines.append(f"our memory cgroup:   {caps.own_path} ({caps.own_dir})")
    lines.append(f"swap accounting:     {yes[caps.memsw]}")
    lines.append(f"may create a cgroup: {yes[caps.can_create]}")
    swap_mib = caps.swap_pages * PAGE_SIZE // (1 << 20)
    lines.append(f"swap active:         "
                 + (f"yes, {swap_mib} MiB" if caps.swap_pages else "no"))
    lines.append(f"running as root:     {yes[caps.is_root]}")
    lines.append(f"compaction trigger:  {yes[caps.compact]}")
    if caps.reasons:
        lines.append("notes:")
        lines.extend(f"  - {r}" for r in caps.reasons)
    return "\n".join(lines)
