"""Predict, then reveal: the one widget every notebook uses to ask for numbers.

The learner sees the memcgs (limits, tasks), the counters before a step and
the step's operation, and types what the counters will be after it. **check**
marks each blank; a wrong answer gets a hint that explains (what the counter
counts, which kernel functions the step called) without giving the number
away, and the learner tries again; **show answer** reveals the numbers and
the explanation; **next question** moves on.

Questions come from the scenario layer's practice problems
(memcg_edu.scenario.generate_problem: one quiz entry per step, with blanks,
answers and an explanation naming the kernel path in mm/memcontrol.c and its
callers) or from any timeline and step (:func:`entry_for_step`: usage, memsw
usage and swap of each memcg, or any counters the notebook names). Marking
is memcg_edu.scenario.check_answers.
"""
from __future__ import annotations

import re
from typing import Any, Mapping, Sequence

import ipywidgets as widgets

from ..errors import ModelUsageError
from ..safeio import html_text
from ..scenario.quiz import COUNTER_HINTS
from ..timeline import COUNTERS, PAGE_SIZE, STATS, Timeline
from .kernel_words import describe_functions, describe_op, event_functions

__all__ = ["PredictWidget", "predict", "entry_for_step", "read_pages", "BUTTONS",
           "blank_label"]

#: the button labels, the same in every notebook
BUTTONS = {"check": "check", "answer": "show answer", "next": "next question"}

_LABELS = {"usage": "usage", "memsw_usage": "memsw usage", "swap": "swap",
           "max_usage": "max usage", "memsw_max_usage": "memsw max usage",
           "memsw_failcnt": "memsw failcnt"}

def blank_label(blank: str) -> str:
    """What a learner reads beside a blank: "A usage", "where is page x"."""
    who, what = blank.rsplit(".", 1)
    if what == "where":
        return f"where is page {who}"
    return f"{who} {_LABELS.get(what, what)}"


def _value(rec: Mapping[str, Any], memcg: str, name: str) -> int | None:
    c = (rec.get("memcgs") or {}).get(memcg)
    if c is None:
        raise ModelUsageError(f"memcg {memcg!r} is not in step {rec.get('step')}")
    v = c[name] if name in c else (c.get("stat") or {}).get(name, 0 if name == "swap" else None)
    if v is None and name not in ("limit", "memsw_limit"):
        raise ModelUsageError(f"no counter {name!r}; counters: "
                              + ", ".join((*COUNTERS, *STATS)))
    return v


def entry_for_step(timeline: Timeline, step: int, memcgs: Sequence[str] | None = None,
                   names: Sequence[str] = ("usage", "memsw_usage", "swap"),
                   why: str = "") -> dict[str, Any]:
    """A quiz entry (same shape as the scenario quiz's) for ``step`` of a timeline.

    Asks ``names`` (counters or memory.stat names) of each of ``memcgs``
    (default all but root); ``why`` (the notebook's reason) leads the
    explanation shown with the answer.
    """
    if isinstance(step, int) and step < 0:   # a quiz counts from the start
        raise ModelUsageError(f"step {step} is outside this timeline "
                              f"(steps 0 to {len(timeline) - 1})")
    step = timeline.step_index(step)
    rec = timeline[step]
    prev = timeline[step - 1] if step else None
    who = list(memcgs) if memcgs else [n for n in rec.get("memcgs", {}) if n != "root"]
    answers = {f"{m}.{n}": _value(rec, m, n) for m in who for n in names}
    explanation = _explain(timeline, rec, prev, who)
    return {"step": step, "blanks": list(answers), "answers": answers, "choices": {},
            "explanation": f"{why} {explanation}" if why else explanation}


def _explain(timeline: Timeline, rec, prev, names) -> str:
    from ..scenario.explain import counter_moves, explain_step

    funcs = event_functions(rec.get("events"))
    called = ("Kernel functions called: " + "; ".join(describe_functions(funcs)) + "."
              if funcs else "No memcg function was called.")
    # The op stories are a scenario's (a workload's model run names its phases otherwise).
    if timeline.meta.get("design", "3.17") == "3.17" and "scenario" in timeline.meta:
        return explain_step(rec, rec, prev, names[0] if names else "root") + " " + called
    return f"Counters: {counter_moves(rec, prev)}. {called}"


def read_pages(text: str) -> int | str | None:
    """A learner's typed number of pages: an int, None for an empty box, or
    the text itself when it is not a whole number (for the caller to refuse)."""
    t = text.strip()
    return int(t) if t.lstrip("-").isdigit() else (t or None)


def _pages(v: Any) -> str:
    return "no limit" if v is None else str(v)


def _before_line(rec: Mapping[str, Any] | None, blanks: Sequence[str]) -> str:
    """The asked counters before the step, grouped by memcg."""
    if rec is None:
        return "Before the first step every counter is 0."
    by_memcg: dict[str, list[str]] = {}
    for b in blanks:
        who, what = b.rsplit(".", 1)
        if what == "where":
            continue
        c = (rec.get("memcgs") or {}).get(who)
        v = None if c is None else (c[what] if what in c else (c.get("stat") or {}).get(what))
        by_memcg.setdefault(who, []).append(
            f"{_LABELS.get(what, what)} {'-' if c is None else _pages(v)}")
    return "Before this step: " + "; ".join(
        f"<b>{html_text(m)}</b> {html_text(', '.join(v))}" for m, v in by_memcg.items())


_DELTA = re.compile(r"\s*\([^()]*[+-]\d+[^()]*\)")


def _kernel_hint(rec: Mapping[str, Any]) -> str:
    """The memcg functions the step called, in words, without their counter deltas."""
    funcs = [f for f in event_functions(rec.get("events")) if "mem_cgroup" in f
             or f.startswith(("try_charge", "commit_charge", "cancel_charge"))]
    words = [_DELTA.sub("", w) for w in describe_functions(funcs)]
    return ("In this step the kernel called: " + "; ".join(words) + "."
            if words else "In this step no memcg function was called.")


class PredictWidget(widgets.VBox):
    """One question at a time; ``check``, ``show_answer`` and ``next`` drive it.

    ``inputs`` maps each blank ("A.usage", "x.where") to its input widget;
    ``results`` holds the last marking (check_answers rows), ``tries`` the
    number of checks of this question, ``revealed`` whether the answer shows.
    ``tasks`` ({task: memcg}) and ``limits`` ({memcg: {limit, memsw_limit}},
    the settings before step 0) let the question name each memcg's limits
    and tasks.
    """

    def __init__(self, timeline: Timeline, entries: Sequence[Mapping[str, Any]],
                 steps: Sequence[Mapping[str, Any]] | None = None, title: str = "",
                 tasks: Mapping[str, str] | None = None,
                 limits: Mapping[str, Mapping[str, Any]] | None = None) -> None:
        if not entries:
            raise ModelUsageError("no questions: the problem has no quiz entries")
        self.timeline, self.entries, self.steps = timeline, list(entries), steps
        self.tasks, self.limits = dict(tasks or {}), limits
        self.index = 0
        self.results: list[dict[str, Any]] = []
        self.tries = 0
        self.revealed = False
        self.question = widgets.HTML()
        self.fields = widgets.HBox(layout=widgets.Layout(flex_flow="row wrap"))
        self.check_button = widgets.Button(description=BUTTONS["check"], icon="check",
                                           button_style="primary", tooltip="check my answers")
        self.reveal_button = widgets.Button(description=BUTTONS["answer"], icon="eye",
                                            tooltip="show the right answers")
        self.next_button = widgets.Button(description=BUTTONS["next"], icon="arrow-right",
                                          tooltip="go to the next step")
        for b, cls in ((self.check_button, "check"), (self.reveal_button, "reveal"),
                       (self.next_button, "next")):
            b.add_class("memcg-edu-predict-" + cls)
        self.feedback = widgets.HTML()
        self.feedback.add_class("memcg-edu-predict-feedback")
        self.check_button.on_click(lambda _: self.check())
        self.reveal_button.on_click(lambda _: self.show_answer())
        self.next_button.on_click(lambda _: self.next())
        heading = widgets.HTML(f"<b>{html_text(title)}</b>" if title else "")
        buttons = [self.check_button, self.reveal_button]
        if len(self.entries) > 1:
            buttons.append(self.next_button)
        super().__init__([heading, self.question, self.fields,
                          widgets.HBox(buttons), self.feedback])
        self.add_class("memcg-edu-predict")
        self._ask()

    @property
    def entry(self) -> Mapping[str, Any]:
        return self.entries[self.index]

    def _setup(self, step: int) -> str:
        """Each memcg's limits and tasks, as they are before the step."""
        from ..scenario.quiz import describe_setup

        if step:
            limits = (self.timeline[step - 1].get("memcgs") or {})
        else:
            limits = self.limits or (self.timeline[0].get("memcgs") or {})
        if not self.tasks:
            return ""
        lines = describe_setup(limits, self.tasks)
        return "".join(f"{html_text(line)}<br>" for line in lines)

    def _ask(self) -> None:
        e = self.entry
        step = int(e["step"])
        rec = self.timeline[step]
        s = self.steps[step] if self.steps and step < len(self.steps) else {}
        args = ", ".join(f"{k}={v}" for k, v in s.items() if k not in ("op", "note"))
        op = rec.get("op", "")
        self.question.value = (
            f"<div style='line-height:1.5'>"
            f"<b>Question {self.index + 1} of {len(self.entries)}</b><br>"
            f"{self._setup(step)}"
            f"{_before_line(self.timeline[step - 1] if step else None, e['blanks'])}<br>"
            f"Step {step}: <code>{html_text(op)}</code>"
            f"{' (' + html_text(args) + ')' if args else ''}: {html_text(describe_op(op))}."
            f"<br>What will these be after the step (in pages)?</div>")
        self.inputs: dict[str, widgets.Widget] = {}
        for blank in e["blanks"]:
            desc = blank_label(blank)
            if blank in e.get("choices", {}):
                w = widgets.Dropdown(options=[("(choose)", None)] +
                                     [(c, c) for c in e["choices"][blank]],
                                     value=None, description=desc,
                                     style={"description_width": "initial"})
            else:
                # Text, not IntText: an empty box must read "no answer", not 0
                w = widgets.Text(value="", placeholder="pages", description=desc,
                                 style={"description_width": "initial"},
                                 layout=widgets.Layout(width="auto", min_width="170px"))
            self.inputs[blank] = w
        self.fields.children = tuple(self.inputs.values())
        self.results, self.revealed, self.tries = [], False, 0
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
        """Mark the typed answers; a wrong one gets a hint, not the number."""
        from ..scenario import check_answers

        given: dict[str, Any] = {}
        unreadable = []
        for k, w in self.inputs.items():
            v = read_pages(w.value) if isinstance(w, widgets.Text) else w.value
            if v is None:
                continue
            if isinstance(v, str) and isinstance(w, widgets.Text):
                unreadable.append(f"{blank_label(k)}: {v!r} is not a whole number of pages")
                continue
            given[k] = v
        if unreadable:
            self.feedback.value = ("<b style='color:#D55E00'>Please fix:</b> "
                                   + html_text("; ".join(unreadable)))
            self.results = []
            return self.results
        if not given:
            self.feedback.value = "&#9998; <b>Your turn:</b> type a number in each box first."
            self.results = check_answers(self.entry, {})
            return self.results
        self.tries += 1
        self.results = check_answers(self.entry, given)
        right = sum(r["right"] for r in self.results)
        rows = "".join(self._row(r) for r in self.results)
        if right == len(self.results):
            verdict = "<b style='color:#009E73'>&#10004; All right!</b>"
            self.revealed = True
            extra = self._explanation()
        else:
            verdict = (f"<b style='color:#D55E00'>&#10008; {right} of {len(self.results)} "
                       f"right.</b> Read the hints, change your answers and press "
                       f"<i>{BUTTONS['check']}</i> again, or press "
                       f"<i>{BUTTONS['answer']}</i>.")
            extra = (f"<p style='margin:4px 0'><b>Hint:</b> "
                     f"{html_text(_kernel_hint(self.timeline[int(self.entry['step'])]))}</p>")
        self.feedback.value = f"{verdict}<ul style='margin:2px 0'>{rows}</ul>{extra}"
        return self.results

    def _row(self, r: Mapping[str, Any]) -> str:
        label = html_text(blank_label(r["blank"]))
        if r["right"]:
            return f"<li>{label}: {html_text(str(r['given']))} &#10004; right</li>"
        if r["given"] is None:
            return f"<li>{label}: <i>no answer</i></li>"
        what = r["blank"].rsplit(".", 1)[1]
        hint = COUNTER_HINTS.get(what, "")
        if isinstance(r["answer"], int) and r["answer"] and r["given"] == r["answer"] * PAGE_SIZE:
            hint = f"Give sizes in pages, not bytes (one page is {PAGE_SIZE} bytes). {hint}"
        return (f"<li>{label}: {html_text(str(r['given']))} &#10008; not yet. "
                f"{html_text(hint)}</li>")

    def show_answer(self) -> None:
        """Show every right answer and the explanation."""
        self.revealed = True
        rows = "".join(f"<li>{html_text(blank_label(k))} = <b>{html_text(_pages(v))}</b></li>"
                       for k, v in self.entry["answers"].items())
        self.feedback.value = (f"<b>The answer</b><ul style='margin:2px 0'>{rows}</ul>"
                               + self._explanation())

    #: the old name, kept for code written against it
    reveal = show_answer

    def _explanation(self) -> str:
        return f"<p style='margin:4px 0'><b>Why:</b> {html_text(str(self.entry['explanation']))}</p>"

    def next(self) -> None:
        """Go to the next question (if any)."""
        if self.index < len(self.entries) - 1:
            self.index += 1
            self._ask()


def predict(problem: Any, step: int | None = None, memcgs: Sequence[str] | None = None,
            design: str = "3.17", names: Sequence[str] = ("usage", "memsw_usage", "swap"),
            why: str = "") -> PredictWidget:
    """A predict-then-reveal widget.

    ``problem``: a practice problem from generate_problem (one question per
    step, or only ``step``), or a Timeline / scenario with a ``step`` (the
    ``names`` counters of ``memcgs``, default all but root; ``why`` leads
    the explanation shown with the answer).
    """
    quiz = getattr(problem, "quiz", None)
    if quiz:
        from ..scenario import run_scenario

        tl = run_scenario(problem, design=design, pages=True)
        entries = [e for e in quiz if step is None or e["step"] == step]
        if not entries:
            raise ModelUsageError(f"the problem has no question for step {step}")
        return PredictWidget(tl, entries, list(problem.steps), getattr(problem, "title", ""),
                             tasks=problem.tasks, limits=problem.memcgs)
    from ..viz.source import load_source

    src = load_source(problem, design)
    if step is None:
        raise ModelUsageError("give the step to predict: predict(timeline, step=3)")
    return PredictWidget(src.timeline, [entry_for_step(src.timeline, step, memcgs, names, why)],
                         src.steps, src.name, tasks=src.tasks)
