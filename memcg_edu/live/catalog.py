"""The named live workloads, one per teaching topic.

Each workload is a list of phases of bulk operations, each phase one step of
the timeline, named with the scenario vocabulary (fault_anon, fault_shmem,
add_to_page_cache, unmap, exit_task, remove_from_page_cache, swap_out,
swap_in, migrate, move_task, set_limit) so that the kernel timeline lines up
with the model's. The mm paths they exercise: mm/memory.c (anonymous and
shared faults, zap on munmap, do_swap_page), mm/filemap.c (read and write
into the page cache), mm/shmem.c (tmpfs), mm/truncate.c (unlink, fadvise
DONTNEED), mm/vmscan.c (reclaim when a limit is lowered), mm/compaction.c
and mm/migrate.c (compaction), kernel/cgroup (moving a task).
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Callable

from ..bundled import RECORDED_DIR
from ..timeline import Timeline
from .errors import LiveError

__all__ = ["Phase", "Workload", "WORKLOADS", "get_workload", "CHILD_ACTIONS",
           "PARENT_ACTIONS", "RECORDED_DIR", "recorded"]


#: Actions the workload process performs itself, inside the cgroup.
CHILD_ACTIONS = ("touch_anon", "touch_shared", "read_file", "write_file",
                 "write_tmpfs", "retouch", "unmap", "exit")
#: Actions the recorder performs from outside (files, limits, compaction).
PARENT_ACTIONS = ("drop_cache", "delete", "set_limit", "compact", "move")


@dataclass(frozen=True)
class Phase:
    """One bulk operation, one timeline step.

    ``op`` is the scenario-vocabulary name, ``action`` what is done on the
    machine, ``target`` the label of the mapping or file, ``memcg`` the cgroup
    a limit or a move refers to, ``needs`` "swap" / "tmpfs" / "compact" when
    the phase can only run with that, and ``text`` says it in plain words.
    """

    op: str
    action: str
    target: str = ""
    pages: int = 0
    memcg: str = "A"
    limit: int | None = None
    memsw_limit: int | None = None
    needs: str | None = None
    text: str = ""

    def __post_init__(self) -> None:
        if self.action not in CHILD_ACTIONS + PARENT_ACTIONS:
            raise LiveError(f"unknown workload action {self.action!r}",
                            "refused")


@dataclass(frozen=True)
class Workload:
    """A named list of phases; ``memcgs`` are the scratch cgroups it needs.

    The task starts in the first memcg. ``files`` are files the recorder
    prepares (written, then dropped from the page cache) before the task
    starts, as {label: pages}. ``move_charge`` asks for
    memory.move_charge_at_immigrate on the destination cgroups.
    """

    name: str
    topic: str
    title: str
    phases: tuple[Phase, ...]
    memcgs: tuple[str, ...] = ("A",)
    files: dict[str, int] = field(default_factory=dict)
    move_charge: bool = False

    @property
    def tmpfs_pages(self) -> int:
        return sum(p.pages for p in self.phases if p.action == "write_tmpfs")


# phases several workloads share
_EXIT = Phase("exit_task", "exit", text="the task exits")


def _touch_anon(n: int) -> Phase:
    return Phase("fault_anon", "touch_anon", "x", n, text=f"touch {n} private anonymous pages")


def _read_file_f(n: int) -> Phase:
    return Phase("add_to_page_cache", "read_file", "f", n,
                 text=f"read {n} pages of file f into the page cache")


def _charge(n: int) -> Workload:
    return Workload("charge", "charge",
                    "Anonymous pages charge at fault and uncharge at unmap", (
        _touch_anon(n),
        Phase("fault_shmem", "touch_shared", "shm", n,
              text=f"touch {n} shared anonymous pages (shmem)"),
        Phase("unmap", "unmap", "x", n, text="munmap the private pages"),
        Phase("unmap", "unmap", "shm", n,
              text="munmap the shared pages (last mapping: shmem freed)"),
        _EXIT,
    ))


def _pagecache(n: int) -> Workload:
    return Workload("pagecache", "final-put",
                    "Page cache outlives its reader; tmpfs stays until deleted", (
        _read_file_f(n),
        Phase("add_to_page_cache", "write_file", "g", n,
              text=f"write {n} pages of file g (dirty page cache)"),
        Phase("fault_shmem", "write_tmpfs", "t", n, needs="tmpfs",
              text=f"write {n} pages to tmpfs file t"),
        Phase("exit_task", "exit", text="the task exits; its files stay cached"),
        Phase("remove_from_page_cache", "drop_cache", "g", n,
              text="fsync g and drop it from the page cache (fadvise DONTNEED)"),
        Phase("remove_from_page_cache", "delete", "f", n,
              text="unlink f: its cached pages are freed"),
        Phase("remove_from_page_cache", "delete", "t", n, needs="tmpfs",
              text="unlink tmpfs file t: its pages are freed"),
    ), files={"f": n})


def _swap(n: int) -> Workload:
    half = n // 2
    return Workload("swap", "swap",
                    "A limit half the workload pushes pages to swap", (
        _touch_anon(n),
        Phase("swap_out", "set_limit", limit=half, needs="swap",
              text=f"lower the limit to {half} pages: reclaim swaps out the rest"),
        Phase("set_limit", "set_limit", limit=None, needs="swap",
              text="raise the limit again (unlimited)"),
        Phase("swap_in", "retouch", "x", n, needs="swap",
              text=f"read all {n} pages again: the swapped ones come back"),
        Phase("unmap", "unmap", "x", n, text="munmap: pages and swap slots freed"),
        _EXIT,
    ))


def _migrate(n: int) -> Workload:
    return Workload("migrate", "migration",
                    "Compaction migrates pages; the charge moves with them", (
        _touch_anon(n),
        _read_file_f(n),
        Phase("migrate", "compact", needs="compact",
              text="trigger compaction (/proc/sys/vm/compact_memory)"),
        Phase("unmap", "unmap", "x", n, text="munmap the anonymous pages"),
        _EXIT,
        Phase("remove_from_page_cache", "delete", "f", n, text="unlink f"),
    ), files={"f": n})


def _move(n: int) -> Workload:
    return Workload("move", "move",
                    "Moving a task to a sibling cgroup: old charges stay", (
        Phase("fault_anon", "touch_anon", "x", n,
              text=f"touch {n} private anonymous pages in A"),
        Phase("move_task", "move", memcg="B",
              text="move the task to the sibling cgroup B"),
        Phase("fault_anon", "touch_anon", "y", n,
              text=f"touch {n} more anonymous pages, now in B"),
        Phase("unmap", "unmap", "x", n, text="munmap the pages touched in A"),
        _EXIT,
    ), memcgs=("A", "B"), move_charge=True)


#: name -> builder(pages) of the workload
WORKLOADS: dict[str, Callable[[int], Workload]] = {
    "charge": _charge, "pagecache": _pagecache, "swap": _swap,
    "migrate": _migrate, "move": _move,
}


def get_workload(name: str, pages: int = 4096) -> Workload:
    """The named workload at ``pages`` pages per bulk operation."""
    if name not in WORKLOADS:
        raise LiveError(f"unknown workload {name!r}; the workloads are "
                        f"{', '.join(WORKLOADS)}", "refused")
    if not 16 <= pages <= 1 << 20:
        raise LiveError(f"pages must be between 16 and {1 << 20}, "
                        f"got {pages}", "refused")
    return WORKLOADS[name](pages)


def recorded(name: str) -> Timeline:
    """The timeline of workload ``name`` recorded on a real kernel
    (data/real-kernel), for machines where no cgroup can be created."""
    path = RECORDED_DIR / f"{name}.json"
    if not path.is_file():
        have = sorted(p.stem for p in RECORDED_DIR.glob("*.json"))
        raise LiveError(f"no recorded timeline {path}; recorded are "
                        f"{', '.join(have) or 'none'}", "refused")
    return Timeline.load(path)
