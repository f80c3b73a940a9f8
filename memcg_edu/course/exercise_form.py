"""An exercise's answer form: inputs, *check* and *show answer*.

A notebook's exercise cell is ``course.check("02", 1, {...: ...})``; until
the ``...`` are replaced it shows this form, so the exercise also works
where the code cannot be edited (Voila hides it). The form behaves like the
predict-then-reveal widget (memcg_edu.widgets.predict), with the same button
labels: a wrong answer gets a hint that does not give the answer away
(Verdict.hint), the learner tries again, and *show answer* shows the worked
solution (Exercise.worked). The checks are the exercise's own, run on the
model (mm/memcontrol.c as of Linux 3.17).
"""
from __future__ import annotations

from typing import Any

import ipywidgets as W

from ..safeio import html_text
from ..widgets.predict import BUTTONS, read_pages
from .exercise import Exercise, Verdict, markdown_html

__all__ = ["ExerciseForm", "exercise_form"]


class ExerciseForm(W.VBox):
    """``inputs`` ({name: widget}; "answer" for a one-value exercise),
    ``check()``, ``show_answer()``, ``feedback`` (what it shows), ``verdict``
    (the last check's), ``tries``."""

    def __init__(self, ex: Exercise) -> None:
        self.verdict: Verdict | None
        self.exercise, self.verdict, self.tries, self.revealed = ex, None, 0, False
        form = ex.form
        self.inputs: dict[str, W.Widget] = {}
        if form["kind"] == "choice":
            self.inputs["answer"] = W.RadioButtons(
                options=[(f"({k}) {text}", k) for k, text in form["options"].items()],
                value=None, layout=W.Layout(width="auto"))
        elif form["kind"] == "counters":
            for name in form["names"]:
                self.inputs[name] = W.Text(placeholder="pages", description=name,
                                           style={"description_width": "initial"},
                                           layout=W.Layout(width="auto", min_width="150px"))
        else:
            self.inputs["answer"] = W.Text(placeholder="a whole number",
                                           description="answer",
                                           layout=W.Layout(width="auto", min_width="200px"))
        self.check_button = W.Button(description=BUTTONS["check"], icon="check",
                                     button_style="primary", tooltip="check my answer")
        self.reveal_button = W.Button(description=BUTTONS["answer"], icon="eye",
                                      tooltip="show the worked solution")
        self.check_button.add_class("memcg-edu-predict-check")
        self.reveal_button.add_class("memcg-edu-predict-reveal")
        self.check_button.on_click(lambda _: self.check())
        self.reveal_button.on_click(lambda _: self.show_answer())
        self.feedback = W.HTML()
        self.feedback.add_class("memcg-edu-predict-feedback")
        title = W.HTML(f"<b>{html_text(str(ex))}</b> &mdash; answer here, then press "
                       f"<i>{BUTTONS['check']}</i>.")
        fields = W.HBox(list(self.inputs.values()), layout=W.Layout(flex_flow="row wrap"))
        super().__init__([title, fields, W.HBox([self.check_button, self.reveal_button]),
                          self.feedback])
        self.add_class("memcg-edu-exercise")
        self.add_class("memcg-edu-predict")

    def answer(self, **values: Any) -> None:
        """Fill the inputs from Python: ``answer(answer="b")``, ``answer(usage=2)``."""
        for k, v in values.items():
            w = self.inputs[k]
            w.value = v if isinstance(w, W.RadioButtons) else str(v)

    def _answer(self) -> tuple[Any, list[str]]:
        """The typed answer in the form the exercise's check takes, and problems."""
        values, bad = {}, []
        for k, w in self.inputs.items():
            v = w.value if isinstance(w, W.RadioButtons) else read_pages(w.value)
            if isinstance(v, str) and isinstance(w, W.Text):
                bad.append(f"{k}: {v!r} is not a whole number")
            values[k] = ... if v is None else v
        return (values["answer"] if list(values) == ["answer"] else values), bad

    def check(self) -> Verdict | None:
        """Check the answer; a wrong one gets a hint, not the answer."""
        answer, bad = self._answer()
        if bad:
            self.feedback.value = ("<b style='color:#D55E00'>Please fix:</b> "
                                   + html_text("; ".join(bad)))
            return None
        v = self.verdict = self.exercise.check(answer)
        if v.pending:
            self.feedback.value = ("&#9998; <b>Your turn:</b> "
                                   + ("choose one answer." if "answer" in self.inputs
                                      and isinstance(self.inputs["answer"], W.RadioButtons)
                                      else "fill in every box."))
            return v
        self.tries += 1
        if v.ok:
            self.revealed = True
            self.feedback.value = v.to_html()
        else:
            self.feedback.value = (v.to_html(v.hint or v.message)
                                   + f"<div>Change your answer and press <i>{BUTTONS['check']}"
                                   f"</i> again, or press <i>{BUTTONS['answer']}</i>.</div>")
        return v

    def show_answer(self) -> None:
        """Show the worked solution."""
        self.revealed = True
        sol = self.exercise.worked()
        self.feedback.value = (f"<div class='memcg-edu-solution'><b>{html_text(sol.title)}</b>"
                               f"<br>{markdown_html(sol.text)}</div>")


def exercise_form(ex: Exercise) -> ExerciseForm:
    """The answer form of an exercise (``course.exercise("02", 1)``)."""
    return ExerciseForm(ex)
