"""The race explorer view: pick a race, toggle protections, step through the
first broken interleaving.

Front-end of memcg_edu.explore (interleavings of short kernel paths of
mm/memcontrol.c, mm/migrate.c, mm/swapfile.c ... in the 3.16 and 3.17
designs): the protections are the locks and checks the kernel relies on
(lock_page_cgroup, PCG_MIGRATION, the page lock ...); dropping one shows the
interleaving that breaks an invariant, step by step, with the state after
each step.
"""
from __future__ import annotations

from typing import TYPE_CHECKING, Any, Mapping

import ipywidgets as widgets

from ..errors import ModelUsageError
from ..safeio import html_text

if TYPE_CHECKING:
    from ..explore.result import ExploreResult

__all__ = ["ExplorerView", "explorer"]


#: one style for every state table: left-aligned columns, no wrapping inside a cell
_STYLE = ("<style>.memcg-edu-state{border-collapse:collapse;margin:4px 0;font-size:90%}"
          ".memcg-edu-state th,.memcg-edu-state td{text-align:left;padding:1px 12px 1px 0;"
          "white-space:nowrap}.memcg-edu-state th{border-bottom:1px solid #888}</style>")


def _words(v: Any) -> str:
    """A state value as a learner reads it: lists joined, nothing for None."""
    if v is None:
        return "-"
    if isinstance(v, bool):
        return "yes" if v else "no"
    if isinstance(v, (list, tuple)):
        return " ".join(map(str, v)) if v else "-"
    if isinstance(v, Mapping):
        return "; ".join(f"{k} {_words(x)}" for k, x in v.items()) or "-"
    return str(v)


def _state_html(state: Mapping[str, Any], before: Mapping[str, Any] | None) -> str:
    """The snapshot of one step: one aligned table per part of the state
    (pages, memcgs, swap slots, ptes, locks ...); changes in bold with *."""
    parts = []
    for section, rows in state.items():
        if not rows:
            continue
        old_rows = (before or {}).get(section) or {}
        if not all(isinstance(r, Mapping) for r in rows.values()):
            # a flat part (ptes, locks): one row per entry, "name: value"
            rows = {k: {"": v} for k, v in rows.items()}
            old_rows = {k: {"": v} for k, v in old_rows.items()}
        cols = list(dict.fromkeys(k for r in rows.values() for k in r))
        head = "".join(f"<th>{html_text(c.replace('_', ' '))}</th>" for c in cols)
        body = []
        for name, r in rows.items():
            old = old_rows.get(name) or {}
            cells = []
            for c in cols:
                text = html_text(_words(r.get(c)))
                changed = before is not None and old.get(c) != r.get(c)
                cells.append(f"<td>{'<b>' + text + ' *</b>' if changed else text}</td>")
            body.append(f"<tr><td><b>{html_text(str(name))}</b></td>{''.join(cells)}</tr>")
        parts.append(f"<table class='memcg-edu-state'><tr><th>{html_text(section)}</th>"
                     f"{head}</tr>{''.join(body)}</table>")
    return _STYLE + "".join(parts) if parts else ""


class ExplorerView(widgets.VBox):
    """Race picker, protection and fix toggles, explore button with a progress
    bar, the result, and a stepper over the first broken interleaving."""

    def __init__(self, race: str | None = None) -> None:
        from ..explore import list_races

        self.races = {r["name"]: r for r in list_races()}
        if not self.races:
            raise ModelUsageError("the race explorer has no races")
        if race is not None and race not in self.races:
            raise ModelUsageError(f"unknown race {race!r} (known: {', '.join(self.races)})")
        self.picker = widgets.Dropdown(
            options=[(f"{r['title']} ({r['design']})", n) for n, r in self.races.items()],
            value=race or next(iter(self.races)), description="race",
            layout=widgets.Layout(width="640px"))
        self.toggles = widgets.VBox()
        self.explore_button = widgets.Button(description="explore", icon="search",
                                             button_style="primary",
                                             tooltip="try every interleaving")
        self.explore_button.add_class("memcg-edu-explore")
        self.progress = widgets.IntProgress(value=0, min=0, max=1, description="states")
        self.progress_label = widgets.Label("")
        self.summary = widgets.HTML()
        self.summary.add_class("memcg-edu-explore-summary")
        self.back_button = widgets.Button(description="step back", icon="step-backward",
                                          tooltip="previous step of the interleaving")
        self.forward_button = widgets.Button(description="step forward", icon="step-forward",
                                             tooltip="next step of the interleaving")
        # numbered from 1, as "Step k of n" says
        self.slider = widgets.IntSlider(min=1, max=1, value=1, description="step")
        self.step_view = widgets.HTML()
        self.step_view.add_class("memcg-edu-explore-step")
        self.back_button.on_click(lambda _: self.go(self.index - 1))
        self.forward_button.on_click(lambda _: self.go(self.index + 1))
        self.slider.observe(lambda ch: self._show_step(), names="value")
        self.explore_button.on_click(lambda _: self.run())
        self.picker.observe(lambda ch: self._pick(), names="value")
        self.stepper = widgets.VBox([widgets.HBox([self.back_button, self.forward_button,
                                                   self.slider]), self.step_view])
        super().__init__([self.picker, self.toggles,
                          widgets.HBox([self.explore_button, self.progress,
                                        self.progress_label]),
                          self.summary, self.stepper])
        self.add_class("memcg-edu-explorer")
        self.result: ExploreResult | None = None
        self._pick()

    def _pick(self) -> None:
        r = self.races[self.picker.value]
        self.protections = {p: widgets.Checkbox(value=True, description=f"keep {p}",
                                                indent=False) for p in r["protections"]}
        self.fixes = {f: widgets.Checkbox(value=False, description=f"apply fix {f}",
                                          indent=False) for f in r.get("fixes", ())}
        note = widgets.HTML("<small>Untick a protection to see what it prevents.</small>"
                            if self.protections else "<small>No protection to drop.</small>")
        self.toggles.children = (note, *self.protections.values(), *self.fixes.values())
        self.result = None
        self.summary.value = f"<i>{html_text(r['title'])}</i>: press explore."
        self._set_rows([])

    def run(self):
        """Explore the picked race with the ticked protections; returns the result."""
        from ..explore import explore
        from ..explore.invariants import invariant_words

        without = [p for p, box in self.protections.items() if not box.value]
        fixes = [f for f, box in self.fixes.items() if box.value]
        self.progress.value, self.progress.max = 0, 1
        self.explore_button.disabled = True
        try:
            self.result = res = explore(self.picker.value, without=without, fixes=fixes,
                                        progress=self._on_progress)
        finally:
            self.explore_button.disabled = False
        dropped = ", ".join(without) or "none"
        why = "; ".join(f"{invariant_words(k)}: {v}" for k, v in res.by_invariant.items())
        verdict = (f"<b style='color:#D55E00'>{res.broken} of {res.explored} "
                   f"interleavings break an invariant</b> ({html_text(why)})"
                   if res.broken else
                   f"<b style='color:#009E73'>all {res.explored} interleavings are "
                   f"safe</b>")
        self.summary.value = (f"{verdict}; {res.states} search states; protections "
                              f"dropped: {html_text(dropped)}.")
        self._set_rows(res.first_broken or [])
        return res

    def _on_progress(self, visited: int, total: int | None) -> None:
        self.progress.max = max(total or visited * 2, 1)
        self.progress.value = min(visited, self.progress.max)
        self.progress_label.value = f"{visited} states" + (f" of {total}" if total else "")

    def _set_rows(self, rows: list[dict[str, Any]]) -> None:
        self.rows = rows
        self.stepper.layout.display = None if rows else "none"
        self.slider.max = max(len(rows), 1)
        self.slider.value = 1
        self._show_step()

    @property
    def index(self) -> int:
        """The row shown, from 0 (the slider and "Step k of n" count from 1)."""
        return self.slider.value - 1

    def go(self, i: int) -> None:
        """Show row ``i`` (from 0) of the broken interleaving (clipped)."""
        self.slider.value = (max(0, min(i, len(self.rows) - 1)) if self.rows else 0) + 1

    def _show_step(self) -> None:
        from ..explore.invariants import invariant_words

        i = self.index
        self.back_button.disabled = i == 0
        self.forward_button.disabled = not self.rows or i >= len(self.rows) - 1
        if not self.rows:
            self.step_view.value = ""
            return
        row = self.rows[i]
        prev = self.rows[i - 1]["state"] if i else None
        bad = row.get("invariant")
        broke = (f"<div style='color:#D55E00'><b>invariant broken: "
                 f"{html_text(invariant_words(bad['id']))}</b>: "
                 f"{html_text(bad['message'])}</div>" if bad else "")
        order = " &rarr; ".join(
            (f"<b><u>{html_text(r['path'])}</u></b>" if j == i else html_text(r["path"]))
            for j, r in enumerate(self.rows))
        self.step_view.value = (
            f"<div>Interleaving: {order}</div>"
            f"<div><b>Step {i + 1} of {len(self.rows)}</b>, path <b>"
            f"{html_text(row['path'])}</b>: {html_text(row['step'])}<br>"
            f"<small>kernel: <code>{html_text(row.get('kernel', ''))}</code>; locks held "
            f"by this path: {html_text(', '.join(row.get('locks') or []) or 'none')}"
            f"</small></div>{broke}{_state_html(row.get('state') or {}, prev)}")


def explorer(race: str | None = None) -> ExplorerView:
    """The race explorer view, on ``race`` (default: the first race)."""
    return ExplorerView(race)
