"""The step/lock vocabulary of the race explorer.

A kernel path (mm/memcontrol.c, mm/migrate.c, mm/vmscan.c, mm/memory.c,
mm/filemap.c, mm/shmem.c, mm/swapfile.c callers) is modelled as a short
program of atomic Steps. A Step names the kernel function it stands for,
the locks it takes (it cannot run while another path holds one of them),
the locks it releases, the references it relies on, and, when the step
*is* a protection (a lock, a flag test, an isolation), the name of that
protection: removing the protection removes the step.

A step's ``run(world, ctx)`` mutates a copy of the World and returns
None (go on with the next step), a label (jump there), "END", or a list
of labels (the kernel can go either way, for example migration success
or failure: the explorer follows every branch).
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Callable, Iterable, Union

from .state import World

__all__ = ["Step", "Path", "Ctx", "END", "Next"]

#: label that ends a path
END = "END"
#: what a step's run returns
Next = Union[None, str, list]


@dataclass
class Ctx:
    """What a running step may look at besides the World: its path's name,
    its local variables (part of the explored state), the protections in
    force and the later-kernel fixes applied."""

    path: str
    local: dict[str, Any]
    protections: frozenset[str]
    fixes: frozenset[str]

    def on(self, protection: str) -> bool:
        """Is this protection in force (not dropped with --without)?"""
        return protection in self.protections

    def fixed(self, fix: str) -> bool:
        """Is this later-kernel fix applied (--fix)?"""
        return fix in self.fixes


@dataclass(frozen=True)
class Step:
    """One atomic step of a kernel path.

    ``takes``: locks acquired before ``run`` (the step waits while another
    path holds one); ``releases``: locks dropped after ``run``; ``refs``:
    the references or lock-held facts the step relies on (shown by
    ``explore RACE --paths`` and ``race_paths()``);
    ``protection``: the step exists only while that protection is in force.
    """

    label: str
    kernel: str
    run: Callable[[World, Ctx], Next] = field(compare=False)
    takes: tuple[str, ...] = ()
    releases: tuple[str, ...] = ()
    refs: str = ""
    protection: str | None = None


@dataclass(frozen=True)
class Path:
    """A named kernel path: its steps and its initial local variables."""

    name: str
    steps: tuple[Step, ...]
    local: tuple[tuple[str, Any], ...] = ()

    def compile(self, protections: Iterable[str]) -> "CompiledPath":
        """Drop the steps of removed protections and resolve labels."""
        prot = frozenset(protections)
        labels = [s.label for s in self.steps]
        if len(set(labels)) != len(labels) or END in labels:
            raise ValueError(f"path {self.name}: step labels must be unique and not {END}")
        kept = [s for s in self.steps if s.protection is None or s.protection in prot]
        index: dict[str, int] = {END: len(kept)}
        # a label of a dropped step resolves to the next kept step
        k = len(kept)
        for s in reversed(self.steps):
            if s.protection is None or s.protection in prot:
                k -= 1
            index.setdefault(s.label, k)
        return CompiledPath(self.name, tuple(kept), index, dict(self.local))


@dataclass(frozen=True)
class CompiledPath:
    """A Path with its dropped steps removed: what the search runs."""

    name: str
    steps: tuple[Step, ...]
    index: dict[str, int]
    local: dict[str, Any]

    @property
    def end(self) -> int:
        return len(self.steps)
