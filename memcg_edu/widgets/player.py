"""The step player: play and pause, step forward and back, a slider, reset.

Stepping back is a look-up of the recorded step (each step record is the
whole state after that step), never an undo written by hand, so a jump to
any step of a 100,000-step timeline costs the same as one step. Shows the
current step's operation and the kernel functions it called (mm/memcontrol.c
and its mm callers) in plain words; "inside this step" opens the call
stepper and page inspector (memcg_edu.widgets.callview) on the step's
recorded calls.
"""
from __future__ import annotations

import numbers
from typing import Any, Mapping, Sequence

import ipywidgets as widgets
import traitlets

from ..errors import ModelUsageError
from ..safeio import html_text
from ..timeline import Timeline
from ..scenario.explain import explain_step
from .callview import CallStepper
from .kernel_words import describe_op, event_functions, function_items

__all__ = ["StepPlayer", "step_player", "step_words"]


def step_words(timeline: Timeline, step: int,
               scenario_steps: Sequence[Mapping[str, Any]] | None = None) -> str:
    """HTML: the step's operation, outcome, why the counters moved, the functions."""
    rec = timeline[step]
    prev = timeline[step - 1] if step > 0 else None
    op = rec.get("op", "")
    s = dict(scenario_steps[step]) if scenario_steps and step < len(scenario_steps) else {}
    args = ", ".join(f"{k}={v}" for k, v in s.items() if k not in ("op", "expect", "note"))
    head = (f"<b>Step {step} of {len(timeline) - 1}: {html_text(op)}</b>"
            f"{' (' + html_text(args) + ')' if args else ''} - {html_text(describe_op(op))}")
    parts = [head]
    if not rec.get("ok", True):
        parts.append(f"<span style='color:#D55E00'><b>failed:</b> "
                     f"{html_text(str(rec.get('error')))}</span>")
    why = _why(timeline, step, rec, prev, s)
    if why:
        parts.append(html_text(why))
    text = (rec.get("detail") or {}).get("text")
    if text:
        parts.append(html_text(str(text)))
    funcs = event_functions(rec.get("events"))
    if funcs:
        items = "".join(f"<li><code>{html_text(name)}</code>"
                        f"{': ' + html_text(words) if words else ''}"
                        f"{f' (x{n})' if n > 1 else ''}</li>"
                        for name, words, n in function_items(funcs))
        parts.append(f"Kernel functions called:<ul style='margin:0'>{items}</ul>")
    elif timeline.meta.get("source") == "kernel":
        parts.append("(Recorded on a real kernel: its function calls are not recorded.)")
    else:
        parts.append("No memcg function was called at this step.")
    return "<br>".join(parts)


def _why(timeline: Timeline, step: int, rec, prev, s) -> str:
    # Only a model run has the step records the explanations read.
    if timeline.meta.get("source") != "model":
        return ""
    names = [n for n in rec.get("memcgs", {}) if n != "root"]
    moved = [n for n in names if prev is None or
             rec["memcgs"][n] != (prev.get("memcgs") or {}).get(n)]
    return explain_step({**s, "op": rec.get("op", "")}, rec, prev,
                        (moved or names or ["root"])[0],
                        design=timeline.meta.get("design", "3.17"))


class StepPlayer(widgets.VBox):
    """Player for one timeline. ``step`` (a traitlet) is the step shown; other
    views ``observe`` it. Drive it from Python with ``go``, ``forward``,
    ``back``, ``reset`` or through its buttons and slider. ``calls`` is the
    call stepper ("inside this step"), shown and kept at the step while
    ``calls_toggle`` is down (``open_calls()``; ``calls_open=True`` opens it
    at once)."""

    step = traitlets.Int(0)

    def __init__(self, timeline: Timeline, interval_ms: int = 700,
                 scenario_steps: Sequence[Mapping[str, Any]] | None = None,
                 calls_open: bool = False) -> None:
        if not len(timeline):
            raise ModelUsageError("the timeline has no steps to play")
        self.timeline = timeline
        self.scenario_steps = scenario_steps
        last = len(timeline) - 1
        self.play = widgets.Play(value=0, min=0, max=last, interval=interval_ms,
                                 show_repeat=False, description="play",
                                 tooltip="play / pause", disabled=last == 0)
        self.play.add_class("memcg-edu-play")
        self.reset_button = self._button("reset", "fast-backward", "back to step 0")
        self.back_button = self._button("step back", "step-backward", "previous step")
        self.forward_button = self._button("step forward", "step-forward", "next step")
        self.forward_button.add_class("memcg-edu-step")   # the browser tests' step button
        self.slider = widgets.IntSlider(value=0, min=0, max=last, description="step",
                                        continuous_update=False,
                                        layout=widgets.Layout(width="420px"))
        self.slider.add_class("memcg-edu-slider")
        self.words = widgets.HTML()
        self.words.add_class("memcg-edu-step-words")
        widgets.link((self.play, "value"), (self.slider, "value"))
        self.slider.observe(lambda ch: self.go(ch["new"]), names="value")
        self.reset_button.on_click(lambda _: self.reset())
        self.back_button.on_click(lambda _: self.back())
        self.forward_button.on_click(lambda _: self.forward())
        self.calls = CallStepper(timeline)
        self.calls.layout.display = "none"
        self.calls_toggle = widgets.ToggleButton(
            value=False, description="inside this step", icon="list",
            tooltip="walk through the kernel calls of this step",
            layout=widgets.Layout(width="auto", align_self="flex-start"))
        self.calls_toggle.add_class("memcg-edu-calls-toggle")
        if not any(r.get("calls") for r in timeline.steps):   # a real kernel's, an old file
            self.calls_toggle.layout.display = "none"
        self.calls_toggle.observe(lambda ch: self._calls_shown(), names="value")
        controls = widgets.HBox([self.play, self.reset_button, self.back_button,
                                 self.forward_button, self.slider])
        super().__init__([controls, self.words, self.calls_toggle, self.calls])
        self.add_class("memcg-edu-player")
        self._show()
        self.calls_toggle.value = calls_open

    @staticmethod
    def _button(description: str, icon: str, tooltip: str) -> widgets.Button:
        b = widgets.Button(description=description, icon=icon, tooltip=tooltip,
                           layout=widgets.Layout(width="auto"))
        b.add_class("memcg-edu-" + description.replace(" ", "-"))
        return b

    @property
    def last(self) -> int:
        return len(self.timeline) - 1

    def go(self, step: int) -> None:
        """Show ``step`` (clipped to the timeline); every view follows."""
        if isinstance(step, bool) or not isinstance(step, numbers.Integral):
            raise ModelUsageError(f"step must be a whole number, got {step!r}")
        step = max(0, min(int(step), self.last))
        self.slider.value = step   # re-enters go() once through the observer
        self.play.value = step
        if step != self.step:
            self.step = step
            self._show()

    def forward(self) -> None:
        self.go(self.step + 1)

    def back(self) -> None:
        self.go(self.step - 1)

    def open_calls(self, open_: bool = True) -> None:
        """Open (or close) "inside this step"."""
        self.calls_toggle.value = open_

    def _calls_shown(self) -> None:
        shown = self.calls_toggle.value
        self.calls.layout.display = None if shown else "none"
        if shown:
            self.calls.show(self.step)

    def reset(self) -> None:
        self.play.playing = False
        self.go(0)

    def _show(self) -> None:
        at_start, at_end = self.step == 0, self.step == self.last
        self.reset_button.disabled = self.back_button.disabled = at_start
        self.forward_button.disabled = at_end
        self.words.value = step_words(self.timeline, self.step, self.scenario_steps)
        if self.calls_toggle.value:   # closed, the call view is not rebuilt
            self.calls.show(self.step)
        else:   # but its frame list (also under the page grid) follows the step
            self.calls.inspector.frames_at(self.step)


def step_player(timeline: Timeline, **kw) -> StepPlayer:
    """A StepPlayer for ``timeline`` (see StepPlayer for the options)."""
    return StepPlayer(timeline, **kw)
