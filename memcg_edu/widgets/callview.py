""""Inside this step": the kernel calls of one step, one at a time.

A call stepper (previous / next call, and the list of the step's calls,
indented by depth with what each changed, across the whole width) over a
step record's "calls" (docs/scenario-format.md), the current call's
function and file linked to the Linux v3.17 source (v3.16 for a 3.16 model
run), and the page inspector (memcg_edu.widgets.inspector) showing the page
as that call leaves it.
"""
from __future__ import annotations

import math
import numbers
import operator
from typing import Any, Optional

import ipywidgets as widgets
import traitlets

from ..errors import ModelUsageError
from ..safeio import html_text
from ..timeline import Timeline
from .call_fields import call_changes, call_line, own_call, step_calls
from .inspector import PageInspector
from .kernel_words import function_words
from .links import ident_url, source_url

__all__ = ["CallStepper"]

_LINK = "color:#0072B2;text-decoration:underline"   # Okabe-Ito blue: a link in any theme
#: characters of a call list line: the list is as wide as the output area
#: (about 130 characters in a 1280-pixel window with JupyterLab's file
#: browser open); a longer line ends in "…" and is shown whole below the list
LIST_LINE = 120


def _fit(line: str) -> str:
    """``line`` cut to at most LIST_LINE characters after its last whole
    change, ending in "…" (a <select> would cut it at its edge, mid-word,
    without saying so)."""
    if len(line) <= LIST_LINE:
        return line
    head = line[:LIST_LINE - 2]
    if ", " in head:
        head = head[:head.rindex(", ") + 1]
    return head + " …"


class CallStepper(widgets.VBox):
    """The calls of one step; ``call`` (a traitlet) is the index shown, None
    when the step has no recorded calls. ``show(step)`` moves to a step (at
    its first call); ``next_call``, ``previous_call``, ``go_call(i)``,
    ``go_function(name)`` or the buttons and the list move through the calls."""

    call = traitlets.Int(None, allow_none=True)

    def __init__(self, timeline: Timeline) -> None:
        if not len(timeline):
            raise ModelUsageError("the timeline has no steps to show")
        self.timeline = timeline
        self.prev_button = widgets.Button(description="previous call", icon="arrow-up",
                                          tooltip="the call before this one",
                                          layout=widgets.Layout(width="auto"))
        self.next_button = widgets.Button(description="next call", icon="arrow-down",
                                          tooltip="the next call",
                                          layout=widgets.Layout(width="auto"))
        self.prev_button.add_class("memcg-edu-prev-call")
        self.next_button.add_class("memcg-edu-next-call")
        self.position = widgets.HTML()
        self.list = widgets.Select(options=[], rows=10,
                                   layout=widgets.Layout(width="100%"))
        self.list.add_class("memcg-edu-call-list")
        self.detail = widgets.HTML()
        self.detail.add_class("memcg-edu-call")
        self.inspector = PageInspector(timeline)
        self.prev_button.on_click(lambda _: self.previous_call())
        self.next_button.on_click(lambda _: self.next_call())
        self.list.observe(self._listed, names="index")
        controls = widgets.HBox([self.prev_button, self.next_button, self.position])
        # the list has the whole width: a line of a deep call with all it
        # changed is over 120 characters, and a <select> cuts, never wraps
        left = widgets.VBox([self.detail], layout=widgets.Layout(width="55%"))
        right = widgets.VBox([widgets.HTML("<b>Page inspector</b>"), self.inspector],
                             layout=widgets.Layout(width="45%"))
        super().__init__([controls, self.list, widgets.HBox([left, right])])
        self.add_class("memcg-edu-calls")
        self.step = -1
        self.calls: list = []

    # -- moving ---------------------------------------------------------------
    def show(self, step: int) -> None:
        """Show ``step``'s calls, at its first call."""
        self.step = step = self.timeline.step_index(step)
        self.calls = step_calls(self.timeline, step)
        # a step on two frames (migration, replace_page_cache) names the pfn too
        two = len({c.get("pfn") for c in self.calls if c.get("pfn") is not None}) > 1
        lines = [_fit(f"{k + 1:>2}. {call_line(own_call(self.calls, k), pfn=two)}")
                 for k in range(len(self.calls))]
        self.list.unobserve(self._listed, names="index")
        self.list.options = lines
        self.list.observe(self._listed, names="index")
        self._set(0 if self.calls else None)

    def go_call(self, index: int) -> None:
        """Show call ``index`` (clipped to the step's calls)."""
        if isinstance(index, bool) or not isinstance(index, numbers.Real) \
                or math.isnan(index):
            raise ModelUsageError(f"call index must be a number, got {index!r}")
        if self.calls:
            last = len(self.calls) - 1
            self._set(0 if index < 0 else last if index > last else int(index))

    def go_function(self, fn: str, nth: int = 0) -> None:
        """Show the ``nth`` call (from 0) of kernel function ``fn`` in this step."""
        try:
            if isinstance(nth, bool) or operator.index(nth) < 0:
                raise TypeError
        except TypeError:
            raise ModelUsageError(f"nth must be a whole number from 0, got "
                                  f"{nth!r}") from None
        hits = [k for k, c in enumerate(self.calls) if c.get("fn") == fn]
        if len(hits) <= nth:
            have = ", ".join(dict.fromkeys(str(c.get("fn")) for c in self.calls)) or "none"
            raise ModelUsageError(f"step {self.step} calls {fn} {len(hits)} time(s), so "
                                  f"there is no call number {nth} of it; its calls: {have}")
        self._set(hits[nth])

    def next_call(self) -> None:
        if self.call is not None:
            self.go_call(self.call + 1)

    def previous_call(self) -> None:
        if self.call is not None:
            self.go_call(self.call - 1)

    def _listed(self, change: dict) -> None:
        if change["new"] is not None:
            self.go_call(change["new"])

    def _set(self, index: Optional[int]) -> None:
        self.call = index
        n = len(self.calls)
        self.prev_button.disabled = index is None or index == 0
        self.next_button.disabled = index is None or index == n - 1
        if self.list.index != index:
            self.list.unobserve(self._listed, names="index")
            self.list.index = index
            self.list.observe(self._listed, names="index")
        self.position.value = (f"&nbsp;call {index + 1} of {n}" if index is not None
                               else "")
        self.detail.value = self._detail(index)
        self.inspector.show(self.step, index, self.calls)

    # -- what it shows ----------------------------------------------------------
    def describe(self) -> str:
        """The current call in one line of words, for a notebook's print:
        "commit_charge on x: PCG none->USED|MEM|MEMSW, pc->mem_cgroup root->A"."""
        if self.call is None:
            return "no call recorded"
        call = own_call(self.calls, self.call)
        page = f" on {call['page']}" if call.get("page") else ""
        # a step on two frames (migration) names the frame too, as the list does
        if page and len({c.get("pfn") for c in self.calls if c.get("pfn") is not None}) > 1:
            page += f" (pfn {call['pfn']})"
        return f"{call.get('fn')}{page}: {', '.join(call_changes(call)) or 'no change'}"

    def _detail(self, index: Optional[int]) -> str:
        if index is None:
            meta = self.timeline.meta
            if meta.get("source") == "kernel":
                return "<i>Recorded on a real kernel: its function calls are not recorded.</i>"
            return "<i>No kernel call was recorded at this step.</i>"
        c = self.calls[index]
        fn, path = str(c.get("fn", "?")), str(c.get("file", ""))
        words = function_words(fn)
        parent = next((self.calls[k]["fn"] for k in range(index - 1, -1, -1)
                       if self.calls[k].get("depth", 0) < c.get("depth", 0)), None)
        page = " ".join(str(v) for v in (c.get("page"), c.get("pfn") is not None
                                         and f"(pfn {c['pfn']})") if v) or None
        own = call_changes(own_call(self.calls, index))
        total = call_changes(c)
        # a 3.16 model run links the 3.16 source, everything else 3.17
        release = "3.16" if self.timeline.meta.get("design") == "3.16" else "3.17"
        version = "v" + release
        parts = [f"<b><a href='{ident_url(fn, version)}' target='_blank' rel='noopener' "
                 f"class='memcg-edu-call-fn' style='{_LINK}' title='where {html_text(fn)} "
                 f"is defined and used in Linux {release}'><code>{html_text(fn)}</code>"
                 f"</a></b>"
                 + (f" in <a href='{source_url(path, version)}' target='_blank' "
                    f"rel='noopener' class='memcg-edu-call-file' style='{_LINK}'>"
                    f"{html_text(path)}</a> (Linux {release})" if path else ""),
                 (f"called by <code>{html_text(parent)}</code>" if parent else
                  "called by the operation itself")
                 + (f", on page {html_text(str(page))}" if page else "")
                 + (f", on swap slot {c['swap']}" if c.get("swap") is not None else "")]
        if words:
            parts.append(html_text(words))
        parts.append("changed: " + (html_text("; ".join(own)) if own
                                    else "nothing the model keeps"))
        if total != own:
            parts.append("with the calls it made: " + html_text("; ".join(total)))
        return "<br>".join(parts)
