"""The one predict-then-reveal widget: check, hint without the number, try
again, show answer; driven by clicks and read from what it shows."""
import re

import pytest

from memcg_edu import course
from memcg_edu.errors import ModelUsageError
from memcg_edu.widgets.predict import BUTTONS, entry_for_step, predict

SWAP_OUT_RIGHT = {"A.usage": 3, "A.memsw_usage": 4, "A.swap": 1,
                  "B.usage": 0, "B.memsw_usage": 0, "B.swap": 0}


def _text(html: str) -> str:
    return re.sub(r"<[^>]+>", "", html)


def test_question_shows_state_before_and_the_op(tl):
    w = predict(tl, step=5)
    assert "<b>A</b> usage 4, memsw usage 4, swap 0" in w.question.value
    assert "Step 5: <code>swap_out</code>" in w.question.value
    assert list(w.inputs) == list(SWAP_OUT_RIGHT)
    assert w.next_button not in w.children[3].children      # a single question


def test_right_answers_are_praised_and_explained(tl):
    w = predict(tl, step=5)
    w.answer(**SWAP_OUT_RIGHT)
    w.check_button.click()
    assert all(r["right"] for r in w.results)
    assert "All right!" in w.feedback.value
    assert "mem_cgroup_swapout" in w.feedback.value and w.revealed


def test_wrong_answer_gets_a_hint_without_the_number_then_retry_then_answer(tl):
    w = predict(tl, step=5)
    # the classic mistake: thinking swap-out also lowers memsw
    w.answer(**{**SWAP_OUT_RIGHT, "A.memsw_usage": 3})
    w.check_button.click()
    assert [r["blank"] for r in w.results if not r["right"]] == ["A.memsw_usage"]
    shown = _text(w.feedback.value)
    assert "5 of 6 right" in shown and "Why" not in shown and not w.revealed
    # the hint explains memsw, and the right value (4) is nowhere in it
    row = next(li for li in re.findall(r"<li>(.*?)</li>", w.feedback.value)
               if "A memsw usage" in li)
    assert "not yet" in row and "swap slot" in row and "4" not in row
    assert "Hint:" in shown and "mem_cgroup_swapout" in shown
    assert "4" not in shown.split("Hint:")[1]
    # try again: the inputs are still there, and a right answer is praised
    assert not w.check_button.disabled
    w.answer(**{"A.memsw_usage": 4})
    w.check_button.click()
    assert "All right!" in w.feedback.value and w.tries == 2
    # show answer reveals every number and the explanation
    w.reveal_button.click()
    assert "A memsw usage = <b>4</b>" in w.feedback.value and "Why" in w.feedback.value


def test_button_labels_are_the_same_everywhere(tl):
    from memcg_edu.scenario import generate_problem
    tl_widget = predict(tl, step=5)
    course_widget = course.predict(tl, 5, "A", ("usage", "rss"), why="x")
    practice = course.practice("swap", 5, 3).problem
    problem = predict(generate_problem(seed=2, topic="charge", steps=2))
    for w in (tl_widget, course_widget, practice, problem):
        assert (w.check_button.description, w.reveal_button.description) == (
            BUTTONS["check"], BUTTONS["answer"]) == ("check", "show answer")
    assert problem.next_button.description == "next question"


def test_empty_and_unreadable_boxes(tl):
    w = predict(tl, step=0)
    w.check()
    assert all(not r["right"] and r["given"] is None for r in w.results)
    assert "type a number" in w.feedback.value and w.tries == 0
    w.inputs["A.usage"].value = "three"
    w.check()
    assert "is not a whole number" in w.feedback.value and w.results == []


def test_course_predict_asks_any_counters_with_the_notebooks_reason(tl):
    w = course.predict(tl, 5, "A", names=("usage", "rss"), why="Swap-out moves it.")
    assert list(w.inputs) == ["A.usage", "A.rss"]
    assert [i.description for i in w.inputs.values()] == ["A usage", "A rss"]
    w.answer(**{"A.usage": 99, "A.rss": 99})
    w.check()
    assert "0 of 2 right" in _text(w.feedback.value)
    assert "Swap-out moves it." not in w.feedback.value     # the reason is the answer's
    w.show_answer()
    assert "Swap-out moves it." in w.feedback.value


def test_entry_and_errors(tl):
    e = entry_for_step(tl, 4, ["A"])
    assert e["answers"] == {"A.usage": 4, "A.memsw_usage": 4, "A.swap": 0}
    with pytest.raises(ModelUsageError, match="step 10 is outside"):
        entry_for_step(tl, 10)
    with pytest.raises(ModelUsageError, match="give the step"):
        predict(tl)
    with pytest.raises(ModelUsageError, match="no counter 'bogus'"):
        entry_for_step(tl, 4, ["A"], names=("bogus",))
    w = predict(tl, step=1)
    with pytest.raises(ModelUsageError, match="no blank 'Z.usage'"):
        w.answer(**{"Z.usage": 1})


def test_predict_on_a_workloads_model_run_as_notebook_06():
    """06 asks about the exit_task phase of a workload's model run, whose ops
    are the workload's phases, not scenario steps: the answer still explains."""
    from memcg_edu.live.catalog import get_workload
    from memcg_edu.live.compare import model_timeline
    tl = model_timeline(get_workload("pagecache", 16))
    step = next(i for i, s in enumerate(tl) if s["op"] == "exit_task")
    w = course.predict(tl, step, "A", names=("usage", "cache"), why="The files stay cached.")
    w.show_answer()
    shown = _text(w.feedback.value)
    assert "The files stay cached." in shown and "Counters:" in shown
