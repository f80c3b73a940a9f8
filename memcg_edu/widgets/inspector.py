"""The page inspector: one page frame's struct page and page_cgroup fields.

Shows the fields a step record keeps for a frame (include/linux/mm_types.h
struct page: _count, _mapcount, flags, mapping, lru; and
include/linux/page_cgroup.h struct page_cgroup: flags, mem_cgroup) as a
small table, as they are when the current kernel call returns, with the
fields that call changed highlighted. The frame is picked from a list (or
a click in the dashboard's page grid, memcg_edu.widgets.page_grid) or
follows the current call's page (else the page the step touched).
"""
from __future__ import annotations

import operator
from typing import Any, Mapping, Optional

import ipywidgets as widgets
import traitlets

from ..errors import ModelUsageError
from ..safeio import capped_names, html_text
from ..timeline import Timeline
from ..viz.pagegrid import labels_at, touched
from .call_fields import STATE_ROWS, changed_fields, checked_record, state_at, step_calls

__all__ = ["PageInspector", "FOLLOW", "mapping_kind"]

#: the frame list's value for "follow the current call's page"
FOLLOW = -1
_CHANGED = "background:#F0E442"   # Okabe-Ito yellow


def mapping_kind(flags: list[str]) -> str:
    """What page->mapping points at, as far as the PG_ flags tell."""
    if "free" in flags:
        return "none (free frame)"
    if "anon" in flags:
        return "anon_vma (PageAnon)" + (", in the swap cache" if "swapcache" in flags else "")
    if "swapcache" in flags:
        return "swap cache (swapper_space)"
    return "file or shmem address_space, or none"


def _cell(key: str, state: Mapping[str, Any]) -> str:
    if key == "mapping":
        return mapping_kind(state.get("flags") or [])
    value = state.get(key)
    if key == "pcg" and not value:
        return "none (not charged)"
    if isinstance(value, list):
        return " | ".join(value) if value else "none"
    return "none" if value is None else str(value)


class PageInspector(widgets.VBox):
    """A frame's fields at a step and call; ``show(step, call)`` follows the player.

    ``frame`` (a traitlet) is the picked pfn, or None while following;
    ``shown_pfn`` the frame shown, ``state`` its fields (the keys of a
    call's "state", None when not recorded); ``changed`` the rows highlighted.
    """

    frame = traitlets.Int(None, allow_none=True)
    shown_pfn = traitlets.Int(None, allow_none=True)

    def __init__(self, timeline: Timeline) -> None:
        if not len(timeline):
            raise ModelUsageError("the timeline has no steps to show")
        self.timeline = timeline
        self.pick = widgets.Dropdown(description="inspect", options=[
            ("follow the call's page", FOLLOW)], value=FOLLOW,
            layout=widgets.Layout(width="280px"))
        self.pick.add_class("memcg-edu-inspector-pick")
        self.table = widgets.HTML()
        self.table.add_class("memcg-edu-inspector")
        super().__init__([self.pick, self.table])
        self.call: Optional[int]
        self.step, self.call = 0, None
        self.state: Optional[dict[str, Any]] = None
        self.changed: list[str] = []
        self._options_key: tuple = ()
        self.pick.observe(self._picked, names="value")
        self.frames_at(0)

    def _picked(self, change: dict) -> None:
        self.frame = None if change["new"] == FOLLOW else int(change["new"])
        self.show(self.step, self.call)

    def pick_frame(self, pfn: Optional[int]) -> None:
        """Inspect frame ``pfn``; None follows the current call's page."""
        if pfn is None:
            self.pick.value = FOLLOW
            return
        offered = [v for _, v in self.pick.options if v != FOLLOW]
        try:
            if isinstance(pfn, bool):
                raise TypeError
            value = operator.index(pfn)
        except TypeError:
            value = None
        if value not in offered:
            raise ModelUsageError(f"pfn {pfn!r} is not a frame of step {self.step} "
                                  f"(its frames: {capped_names(offered)})")
        self.pick.value = value

    def _frames(self, rec: Mapping[str, Any]) -> list[tuple[str, int]]:
        by_pfn, _ = labels_at(rec)
        pages = rec.get("pages")
        pfns = set(range(len(pages["free"]))) if pages else set()
        pfns |= {int(c["pfn"]) for c in rec.get("calls") or () if c.get("pfn") is not None}
        pfns |= set(by_pfn)
        if self.frame is not None:
            pfns.add(self.frame)
        return [(f"pfn {p}" + (f" ({by_pfn[p]})" if p in by_pfn else ""), p)
                for p in sorted(pfns)]

    def frames_at(self, step: int) -> None:
        """Offer the frames of ``step`` (labelled) in the frame list."""
        frames = self._frames(checked_record(self.timeline, self.timeline.step_index(step)))
        key = tuple(frames)
        if key != self._options_key:   # rebuilt only when the labels change
            self._options_key = key
            self.pick.unobserve(self._picked, names="value")
            self.pick.options = [("follow the call's page", FOLLOW)] + frames
            self.pick.value = FOLLOW if self.frame is None else self.frame
            self.pick.observe(self._picked, names="value")

    @staticmethod
    def _followed(rec: Mapping[str, Any], calls: list, call: Optional[int]) -> Optional[int]:
        if call is not None and calls[call].get("pfn") is not None:
            return int(calls[call]["pfn"])
        hit = touched(rec) or [int(c["pfn"]) for c in calls if c.get("pfn") is not None]
        return hit[0] if hit else None

    def show(self, step: int, call: Optional[int], calls: Optional[list] = None) -> None:
        """Show the inspected frame as it is when call ``call`` of ``step`` returns
        (``calls``: the step's calls, when the caller has them already)."""
        step = self.timeline.step_index(step)
        calls = step_calls(self.timeline, step) if calls is None else calls
        if call is not None:
            try:
                if isinstance(call, bool) or not 0 <= operator.index(call) < len(calls):
                    raise TypeError
            except TypeError:
                raise ModelUsageError(
                    f"call {call!r} is not a call of step {step} (it has "
                    f"{len(calls)} recorded call(s){': 0 to ' + str(len(calls) - 1) if calls else ''}"
                    f"; None shows the step)") from None
        self.step, self.call = step, call
        rec = self.timeline[step]
        self.frames_at(step)
        pfn = self.frame if self.frame is not None else self._followed(rec, calls, call)
        self.shown_pfn = pfn
        if pfn is None:
            self.changed, self.state = [], None
            self.table.value = "<i>This step touches no page frame.</i>"
            return
        state, when = state_at(self.timeline, step, call, pfn)
        self.state = state
        current = calls[call] if call is not None else None
        self.changed = sorted(changed_fields(current)) if (
            current is not None and current.get("pfn") == pfn) else []
        self.table.value = self._html(pfn, rec, state, when, current)

    def _html(self, pfn: int, rec: Mapping[str, Any], state: Optional[Mapping[str, Any]],
              when: str, current: Optional[Mapping[str, Any]]) -> str:
        by_pfn, _ = labels_at(rec)
        # the label after the step, else the one the step's calls knew it by
        label = by_pfn.get(pfn) or next((c["page"] for c in rec.get("calls") or ()
                                         if c.get("pfn") == pfn and c.get("page")), None)
        name = f"pfn {pfn}" + (f" ({html_text(str(label))})" if label else "")
        if state is None:
            return f"<b>{name}</b>: <i>{html_text(when)}</i>"
        changed = set(self.changed)
        if "lru" in changed or "lruvec" in changed:
            changed |= {"lru", "lruvec"}
        rows, struct = [], ""
        for key, label, owner in STATE_ROWS:
            if owner != struct:
                struct = owner
                rows.append(f"<tr><th colspan=2 style='text-align:left;padding-top:4px'>"
                            f"{owner}</th></tr>")
            hit = key in changed
            rows.append(f"<tr class='memcg-edu-field{' memcg-edu-changed' if hit else ''}'"
                        f" data-field='{key}' style='{_CHANGED if hit else ''}'>"
                        f"<td style='padding:1px 8px'><code>{label}</code></td>"
                        f"<td style='padding:1px 8px'>{html_text(_cell(key, state))}</td></tr>")
        note = ""
        if "free" in (state.get("flags") or ()):
            note = ("<br><small>A free frame: no page lives in it at this point (it is "
                    "on the page allocator's free lists: _count 0, no PCG_ flags).</small>")
        if current is not None and current.get("pfn") == pfn:
            note += (f"<br><small>highlighted: what <code>{html_text(current['fn'])}</code> "
                     f"changed</small>" if changed else
                     f"<br><small><code>{html_text(current['fn'])}</code> changed no field "
                     f"of this page</small>")
        elif current is not None:
            note += (f"<br><small>the current call, <code>{html_text(current['fn'])}</code>, "
                     f"acts on another page</small>")
        return (f"<b>{name}</b> <small>{html_text(when)}</small>"
                f"<table style='border-collapse:collapse;font-size:12px'>{''.join(rows)}"
                f"</table>{note}")
