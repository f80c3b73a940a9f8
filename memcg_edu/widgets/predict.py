"""Predict, then reveal: the learner types the counters after a step, the widget
checks them and explains the right answer.

Questions come from the scenario layer's practice problems
(memcg_edu.scenario.generate_problem: one quiz entry per step, with blanks,
answers and an explanation naming the kernel path in mm/memcontrol.c and its
callers) or from any timeline and step (usage, memsw usage and swap of each
memcg). Marking is memcg_edu.scenario.check_answers.
"""
from __future__ import annotations

import html
from typing import Any, Mapping, Sequence

import ipywidgets as widgets

from ..errors import ModelUsageError
from ..timeline import Timeline
from .kernel_words import describe_functions, describe_op, event_functions

__all__ = ["PredictWidget", "predict", "entry_for_step", "read_pages"]

_LABELS = {"usage": "usage", "memsw_usage": "memsw usage", "swap": "swap",
           "where": "where is the page"}


def entry_for_step(timeline: Timeline, step: int,
                   memcgs: Sequence[str] | None = None) -> dict[str, Any]:
    """A quiz entry (same shape as the scenario quiz's) for ``step`` of a timeline."""
    if not 0 <= step < len(timeline):
        raise ModelUsageError(f"step {step} is outside this timeline "
                              f"(steps 0 to {len(timeline) - 1})")
    rec = timeline[step]
    prev = timeline[step - 1] if step else None
    names = list(memcgs) if memcgs else [n for n in rec.get("memcgs", {}) if n != "root"]
    answers: dict[str, Any] = {}
    for n in names:
        c = (rec.get("memcgs") or {}).get(n)
        if c is None:
            raise ModelUsageError(f"memcg {n!r} is not in step {step}")
        answers[f"{n}.usage"] = c["usage"]
        answers[f"{n}.memsw_usage"] = c["memsw_usage"]
        answers[f"{n}.swap"] = (c.get("stat") or {}).get("swap", 0)
    return {"step": step, "blanks": list(answers), "answers": answers, "choices": {},
            "explanation": _explain(timeline, rec, prev, names)}


def _explain(timeline: Timeline, rec, prev, names) -> str:
    from ..scenario.explain import counter_moves, explain_step

    funcs = event_functions(rec.get("events"))
    called = ("Kernel functions called: " + "; ".join(describe_functions(funcs)) + "."
              if funcs else "No memcg function was called.")
    if timeline.meta.get("design", "3.17") == "3.17" and timeline.meta.get("source") == "model":
        return explain_step(rec, rec, prev, names[0] if names else "root") + " " + called
    return f"Counters: {counter_moves(rec, prev)}. {called}"


def read_pages(text: str) -> int | str | None:
    """A learner's typed number of pages: an int, None for an empty box, or
    the text itself when it is not a whole number (for the caller to refuse)."""
    t = text.strip()
    return int(t) if t.lstrip("-").isdigit() else (t or None)


def _counters_line(rec: Mapping[str, Any] | None, names: list[str]) -> str:
    if rec is None:
        return "Before the first step every counter is 0."
    parts = []
    for n in names:
        c = (rec.get("memcgs") or {}).get(n) or {}
        parts.append(f"{html.escape(n)}: usage {c.get('usage')}, memsw "
                     f"{c.get('memsw_usage')}, swap {(c.get('stat') or {}).get('swap')}")
    return "Now: " + "; ".join(parts)


class PredictWidget(widgets.VBox):
    """One question at a time; ``check``, ``reveal`` and ``next`` drive it.

    ``inputs`` maps each blank ("A.usage", "x.where") to its input widget;
    ``results`` holds the last marking (check_answers rows).
    """

    def __init__(self, timeline: Timeline, entries: Sequence[Mapping[str, Any]],
                 steps: Sequence[Mapping[str, Any]] | None = None, title: str = "") -> None:
        if not entries:
            raise ModelUsageError("no questions: the problem has no quiz entries")
        self.timeline, self.entries, self.steps = timeline, list(entries), steps
        self.index = 0
        self.results: list[dict[str, Any]] = []
        self.revealed = False
        self.question = widgets.HTML()
        self.fields = widgets.HBox(layout=widgets.Layout(flex_flow="row wrap"))
        self.check_button = widgets.Button(description="check", icon="check",
                                           button_style="primary", tooltip="check my answers")
        self.reveal_button = widgets.Button(description="reveal", icon="eye",
                                            tooltip="show the right answers")
        self.next_button = widgets.Button(description="next question", icon="arrow-right",
                                          tooltip="go to the next step")
        for b in (self.check_button, self.reveal_button, self.next_button):
            b.add_class("memcg-edu-predict-" + b.description.split()[0])
        self.feedback = widgets.HTML()
        self.feedback.add_class("memcg-edu-predict-feedback")
        self.check_button.on_click(lambda _: self.check())
        self.reveal_button.on_click(lambda _: self.reveal())
        self.next_button.on_click(lambda _: self.next())
        heading = widgets.HTML(f"<b>{html.escape(title)}</b>" if title else "")
        super().__init__([heading, self.question, self.fields,
                          widgets.HBox([self.check_button, self.reveal_button,
                                        self.next_button]), self.feedback])
        self.add_class("memcg-edu-predict")
        self._ask()

    @property
    def entry(self) -> Mapping[str, Any]:
        return self.entries[self.index]

    def _ask(self) -> None:
        e = self.entry
        step = int(e["step"])
        rec = self.timeline[step]
        names = list(dict.fromkeys(b.split(".")[0] for b in e["blanks"]
                                   if not b.endswith(".where")))
        s = self.steps[step] if self.steps and step < len(self.steps) else {}
        args = ", ".join(f"{k}={v}" for k, v in s.items() if k not in ("op", "note"))
        op = rec.get("op", "")
        self.question.value = (
            f"<b>Question {self.index + 1} of {len(self.entries)}</b><br>"
            f"{_counters_line(self.timeline[step - 1] if step else None, names)}<br>"
            f"Step {step}: <code>{html.escape(op)}</code>"
            f"{' (' + html.escape(args) + ')' if args else ''}: {html.escape(describe_op(op))}."
            f"<br>What will these be after the step (pages)?")
        self.inputs: dict[str, widgets.Widget] = {}
        for blank in e["blanks"]:
            who, what = blank.rsplit(".", 1)
            desc = f"{who} {_LABELS.get(what, what)}"
            if blank in e.get("choices", {}):
                w = widgets.Dropdown(options=[("(choose)", None)] +
                                     [(c, c) for c in e["choices"][blank]],
                                     value=None, description=desc,
                                     style={"description_width": "initial"})
            else:
                # Text, not IntText: an empty box must read "no answer", not 0
                w = widgets.Text(value="", placeholder="pages", description=desc,
                                 style={"description_width": "initial"},
                                 layout=widgets.Layout(width="190px"))
            self.inputs[blank] = w
        self.fields.children = tuple(self.inputs.values())
        self.results, self.revealed = [], False
        self.feedback.value = ""
        self.check_button.disabled = self.reveal_button.disabled = False
        self.next_button.disabled = self.index >= len(self.entries) - 1

    def answer(self, **values: Any) -> None:
        """Fill the inputs from Python: ``answer(**{"A.usage": 1})``."""
        for k, v in values.items():
            if k not in self.inputs:
                raise ModelUsageError(f"no blank {k!r}; blanks: {', '.join(self.inputs)}")
            self.inputs[k].value = v if isinstance(self.inputs[k], widgets.Dropdown) else str(v)

    def check(self) -> list[dict[str, Any]]:
        """Mark the typed answers, say which are wrong, and explain."""
        from ..scenario import check_answers

        given: dict[str, Any] = {}
        unreadable = []
        for k, w in self.inputs.items():
            v = read_pages(w.value) if isinstance(w, widgets.Text) else w.value
            if v is None:
                continue
            if isinstance(v, str) and isinstance(w, widgets.Text):
                unreadable.append(f"{k}: {v!r} is not a whole number of pages")
                continue
            given[k] = v
        if unreadable:
            self.feedback.value = ("<b style='color:#D55E00'>Please fix:</b> "
                                   + html.escape("; ".join(unreadable)))
            self.results = []
            return self.results
        self.results = check_answers(self.entry, given)
        right = sum(r["right"] for r in self.results)
        rows = "".join(
            f"<li>{html.escape(r['blank'])}: "
            + ("<i>no answer</i>" if r["given"] is None else html.escape(str(r["given"])))
            + (" &#10004; right" if r["right"] else " &#10008; not right") + "</li>"
            for r in self.results)
        if right == len(self.results):
            verdict = "<b style='color:#009E73'>All right!</b>"
            self.revealed = True
        else:
            verdict = (f"<b style='color:#D55E00'>{right} of {len(self.results)} right.</b> "
                       f"Try again, or press reveal.")
        self.feedback.value = f"{verdict}<ul style='margin:0'>{rows}</ul>" + (
            self._explanation() if self.revealed else "")
        return self.results

    def reveal(self) -> None:
        """Show every right answer and the explanation."""
        self.revealed = True
        rows = "".join(f"<li>{html.escape(k)} = <b>{html.escape(str(v))}</b></li>"
                       for k, v in self.entry["answers"].items())
        self.feedback.value = (f"<b>The answer</b><ul style='margin:0'>{rows}</ul>"
                               + self._explanation())

    def _explanation(self) -> str:
        return f"<p><b>Why:</b> {html.escape(str(self.entry['explanation']))}</p>"

    def next(self) -> None:
        """Go to the next question (if any)."""
        if self.index < len(self.entries) - 1:
            self.index += 1
            self._ask()


def predict(problem: Any, step: int | None = None, memcgs: Sequence[str] | None = None,
            design: str = "3.17") -> PredictWidget:
    """A predict-then-reveal widget.

    ``problem``: a practice problem from generate_problem (one question per
    step, or only ``step``), or a Timeline / scenario with a ``step`` (the
    usage, memsw usage and swap of ``memcgs``, default all but root).
    """
    quiz = getattr(problem, "quiz", None)
    if quiz:
        from ..scenario import run_scenario

        tl = run_scenario(problem, design=design, pages=True)
        entries = [e for e in quiz if step is None or e["step"] == step]
        if not entries:
            raise ModelUsageError(f"the problem has no question for step {step}")
        return PredictWidget(tl, entries, list(problem.steps), getattr(problem, "title", ""))
    from ..viz.source import load_source

    src = load_source(problem, design)
    if step is None:
        raise ModelUsageError("give the step to predict: predict(timeline, step=3)")
    return PredictWidget(src.timeline, [entry_for_step(src.timeline, step, memcgs)],
                         src.steps, src.name)
