"""Your kernel page by page, beside the model: a page grid, each page's two
stories, and the kernel calls of a step.

Reads only a traced run (memcg_edu.live.trace.TraceRecording, live or
recorded) and its comparison with the model
(memcg_edu.live.trace_compare): the grid has one cell per page of the
workload (x[k], f[i], ...), green where the page had the same life on the
kernel and in the model, coloured by the cause where it did not; picking
a page shows its kernel story and the model's side by side; picking a step
lists the kernel functions the traced events stand for at that step (the
calls of ``run --json``, docs/scenario-format.md), the page's own marked,
with previous / next call buttons to step through them.
"""
from __future__ import annotations

from typing import Any

import ipywidgets as widgets

from ..live.trace import TraceRecording
from ..live.trace_compare import TraceComparison, compare_trace
from ..safeio import html_text

__all__ = ["TraceView", "trace_view", "CAUSE_COLORS"]

SAME = "#b7e1a1"
#: cell colour per named difference
CAUSE_COLORS = {"large folio": "#9ecae1", "swap cache": "#fdd0a2",
                "reclaim order": "#fdae6b", "not migrated": "#dadaeb",
                "still in memory": "#fcbba1", "per-CPU LRU batch": "#c6dbef",
                "never touched": "#d9d9d9", "different": "#fb6a4a"}


def _story_rows(events: list[list[Any]], ops: list[str]) -> str:
    rows = []
    for step, what, pfn, detail in events:
        op = ops[step] if 0 <= step < len(ops) else "cleanup"
        extra = ""
        if detail:
            extra = ", ".join(f"{k} {v}" for k, v in detail.items()
                              if k not in ("gfp",))
        rows.append(f"<tr><td>{step}</td><td>{html_text(op)}</td>"
                    f"<td>{html_text(what)}</td><td>{pfn}</td>"
                    f"<td>{html_text(extra)}</td></tr>")
    return "".join(rows) or "<tr><td colspan=5>(no page)</td></tr>"


class TraceView(widgets.VBox):
    """The side-by-side view; ``select(role)`` and ``show_step(n)`` drive it."""

    def __init__(self, trace: TraceRecording,
                 comparison: TraceComparison | None = None) -> None:
        self.trace = trace
        self.cmp = comparison or compare_trace(trace)
        self.ops = trace.timeline.ops
        self.kernel = {st["role"]: st for st in trace.pages if st["role"]}
        roles = self.cmp.roles
        self.page = widgets.Dropdown(options=roles, value=roles[0] if roles else None,
                                     description="page")
        self.step = widgets.IntSlider(min=0, max=max(0, len(self.ops) - 1),
                                      value=1 if len(self.ops) > 1 else 0,
                                      description="step")
        self.summary = widgets.HTML()
        self.grid = widgets.HTML()
        self.story = widgets.HTML()
        self.calls = widgets.Select(options=[], rows=12,
                                    layout=widgets.Layout(width="100%"))
        self.call_detail = widgets.HTML()
        # the call stepper: previous / next call of the step
        self.prev_call = widgets.Button(description="previous call",
                                        layout=widgets.Layout(width="auto"))
        self.next_call = widgets.Button(description="next call",
                                        layout=widgets.Layout(width="auto"))
        self.prev_call.on_click(lambda _: self.step_call(-1))
        self.next_call.on_click(lambda _: self.step_call(+1))
        self.page.observe(lambda ch: self.select(ch["new"]), names="value")
        self.step.observe(lambda ch: self.show_step(ch["new"]), names="value")
        self.calls.observe(lambda ch: self._show_call(ch["new"]), names="value")
        s = self.cmp.summary
        causes = ", ".join(f"{n} {c}" for c, n in s["causes"].items()) or "none"
        meta = trace.meta
        self.summary.value = (
            f"<b>{s['same_life']} of {s['pages']}</b> pages had the same life "
            f"on Linux {html_text(str(meta.get('kernel')))} and in the model "
            f"(3.17). Differences: {html_text(causes)}. Kernel memory: "
            f"{s['kernel_memory_pages']} pages. Events lost: "
            f"{trace.lost}.")
        left = widgets.VBox([self.page, self.grid], layout=widgets.Layout(width="45%"))
        right = widgets.VBox([self.story, self.step,
                              widgets.HBox([self.prev_call, self.next_call]),
                              self.calls, self.call_detail],
                             layout=widgets.Layout(width="55%"))
        super().__init__([self.summary, widgets.HBox([left, right])])
        self.add_class("memcg-edu-trace-view")
        self.select(self.page.value)
        self.show_step(self.step.value)

    # -- the grid and the page ---------------------------------------------------
    def _color(self, role: str) -> str:
        d = self.cmp.diff(role)
        return SAME if d is None else CAUSE_COLORS.get(d.cause, "#fb6a4a")

    def _grid_html(self, selected: str | None) -> str:
        cells = []
        for role in self.cmp.roles:
            border = "2px solid #000" if role == selected else "1px solid #fff"
            d = self.cmp.diff(role)
            tip = "same life" if d is None else f"{d.cause}: {d.text}"
            cells.append(f'<span title="{html_text(role)}: {html_text(tip)}" '
                         f'data-role="{html_text(role)}" style="display:'
                         f'inline-block;width:9px;height:9px;background:'
                         f'{self._color(role)};border:{border}"></span>')
        legend = " ".join(f'<span style="background:{c};padding:0 4px">'
                          f'{html_text(n)}</span>'
                          for n, c in [("same life", SAME), *CAUSE_COLORS.items()])
        return (f'<div style="line-height:9px;max-width:100%">{"".join(cells)}'
                f'</div><div style="font-size:80%">{legend}</div>')

    def select(self, role: str | None) -> None:
        """Show ``role``'s kernel story beside the model's."""
        if role is None:
            return
        if self.page.value != role:
            self.page.value = role   # observes back into select
            return
        self.grid.value = self._grid_html(role)
        k = self.kernel.get(role)
        m = self.cmp.model.get(role, [])
        d = self.cmp.diff(role)
        verdict = ("<b>same life</b> on both" if d is None else
                   f"<b>{html_text(d.cause)}</b>: {html_text(d.text)}")
        head = "<tr><th>step</th><th>op</th><th>event</th><th>pfn</th><th></th></tr>"
        self.story.value = (
            f"<div><b>{html_text(role)}</b> - {verdict}</div>"
            f'<div style="display:flex;gap:1em"><div><i>kernel (traced)</i>'
            f"<table>{head}{_story_rows(k['events'] if k else [], self.ops)}</table>"
            f"</div><div><i>model (3.17)</i><table>{head}"
            f"{_story_rows(m, self.ops)}</table></div></div>")
        self.show_step(self.step.value)

    # -- the calls of a step -----------------------------------------------------
    def _step_calls(self, n: int) -> list[dict[str, Any]]:
        steps = self.trace.timeline.steps
        if n < len(steps):
            return steps[n].get("calls", [])
        return []

    def show_step(self, n: int) -> None:
        """List step ``n``'s kernel calls; the selected page's are marked."""
        if self.step.value != n:
            self.step.value = n
            return
        role = self.page.value
        opts = []
        for i, c in enumerate(self._step_calls(n)):
            mark = "*" if role is not None and c.get("page") == role else " "
            who = c.get("page") or ""
            memcgs = " ".join(f"{m} {k} {v}" for m, kv in c.get("memcgs", {}).items()
                              for k, v in kv.items())
            opts.append((f"{mark} {'  ' * c['depth']}{c['fn']}  {who}  {memcgs}"
                         .rstrip(), i))
        self.calls.options = opts
        mine = [i for label, i in opts if label.startswith("*")]
        self.calls.value = mine[0] if mine else (opts[0][1] if opts else None)
        self._show_call(self.calls.value)

    def step_call(self, delta: int) -> None:
        """Move to the previous (-1) or next (+1) call of the step."""
        n = len(self.calls.options)
        if n:
            i = self.calls.value if self.calls.value is not None else 0
            self.calls.value = min(n - 1, max(0, i + delta))

    def _show_call(self, i: int | None) -> None:
        calls = self._step_calls(self.step.value)
        if i is None or not 0 <= i < len(calls):
            self.call_detail.value = "<i>no traced call at this step</i>"
            return
        c = calls[i]
        st = c.get("state") or {}
        rows = [("function", f"{c['fn']} ({c['file']})"),
                ("tracepoint", c.get("tracepoint", "")),
                ("page", f"{c.get('page')} pfn {c.get('pfn')}"),
                ("flags", " ".join(st.get("flags", [])) or "-"),
                ("lru", st.get("lru") or "-"),
                ("mem_cgroup", st.get("mem_cgroup") or "-"),
                ("count / mapcount", "not traced"),
                ("memcg counters", ", ".join(f"{m}: {kv}" for m, kv in
                                             c.get("memcgs", {}).items()) or "-")]
        self.call_detail.value = "<table>" + "".join(
            f"<tr><th style='text-align:left'>{html_text(k)}</th>"
            f"<td>{html_text(str(v))}</td></tr>" for k, v in rows) + "</table>"


def trace_view(trace: TraceRecording,
               comparison: TraceComparison | None = None) -> TraceView:
    """The page-by-page view of a traced run (live or recorded)."""
    return TraceView(trace, comparison)
