"""Every exercise has an answer form (inputs, check, show answer), shown by an
unanswered ``course.check`` cell, so the exercises work under Voila: the
reference answer typed in passes, a wrong one gets a hint without the right
numbers, and show answer gives the worked solution."""
from __future__ import annotations

import re

import ipywidgets as W
import pytest

from memcg_edu import course
from memcg_edu.widgets.predict import BUTTONS

from test_course_exercises import ALL, WRONG


def _text(h: str) -> str:
    return re.sub(r"<[^>]+>", " ", h)


def _fill(form, answer) -> None:
    if isinstance(answer, dict):
        form.answer(**answer)
    else:
        form.answer(answer=answer)


@pytest.mark.parametrize("nb,n", ALL)
def test_form_checks_hints_and_shows_the_answer(nb, n):
    ex = course.exercise(nb, n)
    form = course.exercise_form(ex)
    assert [b.description for b in (form.check_button, form.reveal_button)] == [
        BUTTONS["check"], BUTTONS["answer"]]
    kind = ex.form["kind"]
    if kind == "choice":
        assert isinstance(form.inputs["answer"], W.RadioButtons)
        assert [v for _, v in form.inputs["answer"].options] == list(ex.form["options"])
    elif kind == "counters":
        assert list(form.inputs) == list(ex.reference)
    # nothing typed: the learner's turn, not a wrong answer
    form.check_button.click()
    assert "Your turn" in form.feedback.value and form.tries == 0
    # a wrong answer: a hint, and no "it is N" / "the model says N"
    wrong, _ = WRONG[(nb, n)]
    _fill(form, wrong)
    form.check_button.click()
    shown = _text(form.feedback.value)
    assert "Not yet" in shown and "again" in shown and not form.revealed
    assert "it is" not in shown and "model says" not in shown
    if kind == "counters":
        for name, right in ex.reference.items():
            if wrong[name] != right:
                assert re.search(rf"{name}: {wrong[name]} is not it", shown), shown
    # try again with the right answer
    _fill(form, ex.reference)
    form.check_button.click()
    assert "Right" in form.feedback.value and form.tries == 2 and form.revealed
    form.reveal_button.click()
    assert f"Exercise {nb}.{n}" in form.feedback.value and "Reference answer" in form.feedback.value
    # in words, not a Python dict or string
    assert not re.search(r"Reference answer:\s*[`{'\"&]", _text(form.feedback.value)), form.feedback.value


def test_unanswered_cell_displays_the_form(monkeypatch):
    shown = []
    monkeypatch.setattr("IPython.display.display", lambda *a, **k: shown.append(a[0]))
    course.check("00", 3, {"usage": ..., "rss": ..., "cache": ...})._ipython_display_()
    assert isinstance(shown[-1], course.ExerciseForm)
    assert list(shown[-1].inputs) == ["usage", "rss", "cache"]
    # an answered cell shows the verdict as text
    course.check("00", 1, "b")._ipython_display_()
    assert "Right" in shown[-1]["text/html"] and "Right" in shown[-1]["text/plain"]


def test_unreadable_number_is_refused_in_the_form():
    form = course.exercise_form(course.exercise("00", 3))
    form.answer(usage="two", rss=1, cache=1)
    form.check()
    assert "not a whole number" in form.feedback.value and form.tries == 0
