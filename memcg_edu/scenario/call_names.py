"""The labels and earlier states a step's kernel calls are read with.

A step's "calls" (memcg_edu.model.calls.CallRecords) name each page by the
label it has after the step, else the one it had before, and give a
labelled page's fields before the step to its first call. Looked up over
every live label at every step, that made a run with the calls recorded
quadratic once a range step had made thousands of labels. Here the pfn ->
label map is kept from step to step and changed only for the labels a step
touched (scenario/run.py passes them: every label whose place changed, as
for LabelTracker.where_live), and the states before a step are kept in the
cheaper of two forms: per labelled page while labels are few beside the
frames, else a copy of the page-state arrays (a memcpy). After the step,
only the pages its calls act on are looked up. No kernel file behind it.
"""
from __future__ import annotations

from typing import TYPE_CHECKING, Any, Iterable, Optional

if TYPE_CHECKING:
    from .labels import Label
    from .ops import Context

__all__ = ["CallNames"]

#: the states before a step are a copy of the page-state arrays once there
#: is a labelled page for every this many frames (copying a frame's fields
#: costs about a hundredth of reading one page's in Python)
_FRAMES_PER_LABEL = 64


class CallNames:
    """pfn -> label of every live label's page, kept across the steps of
    one run, and the labelled pages' states before the current step."""

    def __init__(self, ctx: "Context") -> None:
        self._ctx = ctx
        self._at: Optional[dict[int, str]] = None   # pfn -> label (None: to build)
        self._of: dict[str, int] = {}               # label -> its pfn in _at
        self._states: Any = None                    # the states before the step

    def forget(self) -> None:
        """A step ran with its calls unrecorded: build the map again next time."""
        self._at = None

    def before_step(self) -> None:
        """Take the labelled pages' states now, before the step."""
        at = self._built()
        log, nr = self._ctx.m.calls, self._ctx.m.mem.nr
        self._states = (log.raw_states(at.keys()) if len(at) * _FRAMES_PER_LABEL < nr
                        else log.state_arrays_copy())

    def after_step(self, start: int, touched: Iterable["Label"], whole: bool
                   ) -> tuple[dict[int, str], dict[int, tuple[int, ...]]]:
        """(pfn -> label, pfn -> state before the step) of the pages the
        calls from ``start`` on act on. ``touched``: the labels whose place
        the step may have changed; ``whole``: look at every live label (a
        range step makes labels without touching them)."""
        log = self._ctx.m.calls
        pfns = log.pfns(start, len(log))
        at = self._built()
        states = self._states
        if isinstance(states, dict):
            before = {p: states[p] for p in pfns if p in states}
        else:                                       # the arrays' copies
            before = {p: tuple(int(a[p]) for a in states) for p in pfns if p in at}
        self._states = None
        if whole:
            self._at = None
            gone, at = at, self._built()
        else:
            gone = self._moved(at, touched)
        # the label after the step, else the one before
        labels = {}
        for p in pfns:
            name = at.get(p) or gone.get(p)
            if name is not None:
                labels[p] = name
        return labels, before

    def _built(self) -> dict[int, str]:
        """The map, built from every live label if it is not kept."""
        if self._at is None:
            at = self._at = {}
            for lab in self._ctx.tr.live():
                if lab.page is not None:
                    at[lab.page.pfn] = lab.name
            self._of = {name: pfn for pfn, name in at.items()}
        return self._at

    def _moved(self, at: dict[int, str], touched: Iterable["Label"]) -> dict[int, str]:
        """Move the touched labels in the map; the entries that went (pfn ->
        the label it had before, its page now no label's)."""
        touched = list(touched)
        of, gone = self._of, {}
        for lab in touched:                         # every old place first:
            old = of.pop(lab.name, None)            # two labels may swap pages
            if old is not None and at.get(old) == lab.name:
                del at[old]
                gone[old] = lab.name
        for lab in touched:
            if lab.page is not None:
                at[lab.page.pfn] = lab.name
                of[lab.name] = lab.page.pfn
        return gone
