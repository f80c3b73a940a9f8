"""Page labels: which page frame or swap slot a scenario's name stands for.

A label follows the data (design.md): after migrate it names the new frame,
after swap-out the swap entry, after swap-in the frame in memory again. The
tracker also remembers which task maps the label (by a pte to the frame, or
by a swap pte to the slot), the references the scenario took with get_page,
and how the label's page left the stage, so that a bad step gets a message
such as: task "p" does not map page "x" (it was unmapped at step 2).

It stands for no kernel file; the kernel has no names for pages. The facts
it records come from the model (memcg_edu.scenario.ops).
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from ..errors import ScenarioError

__all__ = ["PTE", "SWAP_PTE", "Label", "LabelTracker"]

PTE, SWAP_PTE = "pte", "swap pte"
#: where_live makes its answer whole up to this many live labels (cheaper
#: than a copy and the touched labels looked at again)
_WHERE_WHOLE_MAX = 4


@dataclass(eq=False, slots=True)   # slots: read at every step, one made a page
class Label:
    """What one label names now.

    ``page`` is the model's Page (None once the data left memory), ``entry``
    its SwapEntry while a swap slot holds the data or a swap pte points at
    it. ``maps`` is task -> PTE or SWAP_PTE and ``vaddr`` task -> the
    virtual page of that pte; ``file`` is the (File, offset) of a page-cache
    or tmpfs page.
    """

    name: str
    kind: str                      # "anon", "file" or "shmem"
    created: int
    page: Any = None
    entry: Any = None
    maps: dict[str, str] = field(default_factory=dict)
    vaddr: dict[str, int] = field(default_factory=dict)
    file: Any = None
    pins: int = 0                  # references taken by get_page steps
    in_cache: bool = False         # in its file's page cache (file, shmem)
    unmapped: dict[str, int] = field(default_factory=dict)  # task -> step
    fate: str = ""                 # why it no longer exists
    left_cache: str = ""           # when it left the page cache

    @property
    def where(self) -> str:
        if self.page is not None:
            return "memory"
        return "swap" if self.entry is not None else "gone"


class LabelTracker:
    """Labels and tasks of one run, with the checks that need run-time state."""

    def __init__(self, source: str) -> None:
        self.source = source
        self.labels: dict[str, Label] = {}
        self._live: dict[str, Label] = {}   # labels not retired, in creation order
        # labels a range step made at once, kept as arrays until a step names
        # one of them on its own (scenario/ranges.py)
        self.ranges: list[Any] = []
        self.exited: dict[str, int] = {}    # task -> step of its exit
        self.exit_how: dict[str, str] = {}  # task -> "exited" or "was OOM-killed"
        self.failed: dict[str, int] = {}    # label -> step that failed to create it
        # the step being run and its op, for the errors (set by the runner)
        self.step, self.op = 0, ""
        # where_json's {"pfn": n} and {"swap": n}, one dict per place
        self._at_pfn: dict[int, dict[str, int]] = {}
        self._at_slot: dict[int, dict[str, int]] = {}
        # where_live's last answer
        self._where_live: dict[str, dict[str, int]] | None = None

    def err(self, message: str, field: str) -> ScenarioError:
        return ScenarioError(message, file=self.source, step=self.step,
                             op=self.op, field=field)

    # -- checks before a step -------------------------------------------
    def task(self, name: str, field: str = "task") -> str:
        if name in self.exited:
            raise self.err(f'task "{name}" {self.exit_how[name]} at step '
                           f"{self.exited[name]}",
                           field)
        return name

    def lookup(self, name: str) -> Label | None:
        """The label ``name``, or None if no step created it (yet)."""
        lab = self.labels.get(name)
        if lab is None:
            for r in self.ranges:
                j = r.index_of(name)
                if j is not None:
                    return r.materialize(self, j)
        return lab

    def get(self, name: str, field: str = "page") -> Label:
        lab = self.lookup(name)       # load_scenario checked it was named before
        if lab is None:
            raise self.err(f'page "{name}" does not exist: step '
                           f"{self.failed[name]}, which was to create it, failed",
                           field)
        if lab.page is None and lab.entry is None:     # lab.where == "gone"
            raise self.err(f'page "{name}" no longer exists: {lab.fate}', field)
        return lab

    def in_memory(self, name: str, field: str = "page") -> Label:
        lab = self.get(name, field)
        if lab.page is None:
            raise self.err(f'page "{name}" is swapped out, not in memory; '
                           f"swap_in it first", field)
        return lab

    def mapping(self, task: str, name: str) -> tuple[Label, str]:
        """The label and how ``task`` maps it (PTE or SWAP_PTE)."""
        lab = self.get(name)
        how = lab.maps.get(task)
        if how is None:
            when = lab.unmapped.get(task)
            why = (f"it was unmapped at step {when}" if when is not None
                   else "it never mapped it")
            raise self.err(f'task "{task}" does not map page "{name}" ({why})',
                           "page")
        return lab, how

    def not_mapped(self, task: str, name: str) -> Label:
        lab = self.in_memory(name)
        if task in lab.maps:
            raise self.err(f'task "{task}" already maps page "{name}"', "task")
        return lab

    def pinned(self, name: str) -> Label:
        lab = self.in_memory(name)
        if lab.pins == 0:
            raise self.err(f'page "{name}" holds no reference taken by get_page; '
                           f"put_page drops one taken by an earlier get_page",
                           "page")
        return lab

    def cached(self, name: str, field: str = "page") -> Label:
        lab = self.in_memory(name, field)
        if lab.kind == "anon":
            raise self.err(f'page "{name}" is an anonymous page, not in the '
                           f"page cache", field)
        if not lab.in_cache:
            raise self.err(f'page "{name}" is no longer in the page cache '
                           f"({lab.left_cache})", field)
        return lab

    # -- records after a step -------------------------------------------
    def new(self, name: str, kind: str, page: Any) -> Label:
        lab = Label(name, kind, self.step, page=page, in_cache=kind != "anon")
        self.labels[name] = self._live[name] = lab
        return lab

    def mapped(self, lab: Label, task: str, vaddr: int) -> None:
        lab.maps[task], lab.vaddr[task] = PTE, vaddr
        lab.unmapped.pop(task, None)

    def unmap(self, lab: Label, task: str) -> None:
        lab.maps.pop(task, None)
        lab.vaddr.pop(task, None)
        lab.unmapped[task] = self.step

    def exit(self, task: str, how: str = "exited") -> None:
        self.live()                          # range labels become labels
        self.exited[task] = self.step
        self.exit_how[task] = how
        for lab in self._live.values():
            if task in lab.maps:
                self.unmap(lab, task)

    def retire(self, lab: Label, fate: str) -> None:
        """The label's data is gone for good (freed frame and slot)."""
        lab.page = lab.entry = None
        lab.maps.clear()
        lab.vaddr.clear()
        lab.in_cache = False
        lab.fate = fate
        self._live.pop(lab.name, None)

    def never(self, name: str) -> None:
        """The step creating ``name`` failed (memcg OOM): the page never existed."""
        self.failed[name] = self.step

    def live(self) -> list[Label]:
        """Every label still live (range labels become labels)."""
        for r in self.ranges:
            r.materialize_all(self)
        return list(self._live.values())

    def live_after_reclaim(self) -> list[Label]:
        """The labels reclaim may have moved: every live label, except range
        labels whose page is where it was (checked at once, as arrays)."""
        for r in self.ranges:
            r.materialize_moved(self)
        return list(self._live.values())

    def where_json(self, labels) -> dict[str, dict[str, int]]:
        """{"x": {"pfn": 3} or {"swap": 5}} for those of ``labels`` still live."""
        out = {}
        # (Label.where inlined: with page snapshots this runs for every live
        # label at every step; Page.pfn and SwapEntry.slot are ints already.
        # Each place's dict is made once and shared: records are read-only)
        at_pfn, at_slot = self._at_pfn, self._at_slot
        for lab in labels:
            if lab.page is not None:
                pfn = lab.page.pfn
                out[lab.name] = at_pfn.get(pfn) or at_pfn.setdefault(pfn, {"pfn": pfn})
            elif lab.entry is not None:
                slot = lab.entry.slot
                out[lab.name] = (at_slot.get(slot)
                                 or at_slot.setdefault(slot, {"swap": slot}))
        return out

    def where_live(self, moved: list[Label], whole: bool = False
                   ) -> dict[str, dict[str, int]]:
        """where_json(self.live()), made from the last call's answer (records
        are read-only, so it is copied, not changed): only the labels of
        ``moved`` are looked at again. ``moved`` must hold every label whose
        place changed since the last call, those created and retired
        included: the runner passes a step's touched labels (an op's own,
        and those sync_labels found moved). ``whole``: look at every label
        (a range step, whose labels become Labels without being touched).
        A label new to the answer must be the last live one; otherwise, or
        when the count does not come out as the live labels', it is made
        whole, as it is while there are few live labels (_WHERE_WHOLE_MAX).
        """
        for r in self.ranges:
            r.materialize_all(self)          # (as live() does)
        live, last = self._live, self._where_live
        if whole or last is None or len(live) <= _WHERE_WHOLE_MAX:
            out = self._where_live = self.where_json(live.values())
            return out
        out = dict(last)
        for lab in moved:
            place = self.where_json((lab,)).get(lab.name)
            if place is None:
                out.pop(lab.name, None)
            elif lab.name in out or lab.name == next(reversed(live)):
                out[lab.name] = place        # (where it stood in the answer)
            else:                            # new, but not the last one
                out = self.where_json(live.values())
                break
        if len(out) != len(live):
            out = self.where_json(live.values())
        self._where_live = out
        return out
