import pytest

from memcg_edu.errors import ModelUsageError
from memcg_edu.widgets.predict import entry_for_step, predict

SWAP_OUT_RIGHT = {"A.usage": 3, "A.memsw_usage": 4, "A.swap": 1,
                  "B.usage": 0, "B.memsw_usage": 0, "B.swap": 0}


def test_question_shows_state_before_and_the_op(tl):
    w = predict(tl, step=5)
    assert "Now: A: usage 4, memsw 4, swap 0" in w.question.value
    assert "Step 5: <code>swap_out</code>" in w.question.value
    assert list(w.inputs) == list(SWAP_OUT_RIGHT)
    assert w.next_button.disabled      # a single question


def test_right_answers_are_praised_and_explained(tl):
    w = predict(tl, step=5)
    w.answer(**SWAP_OUT_RIGHT)
    w.check_button.click()
    assert all(r["right"] for r in w.results)
    assert "All right!" in w.feedback.value
    assert "mem_cgroup_swapout" in w.feedback.value


def test_wrong_answer_is_marked_then_revealed(tl):
    w = predict(tl, step=5)
    # the classic mistake: thinking swap-out also lowers memsw
    w.answer(**{**SWAP_OUT_RIGHT, "A.memsw_usage": 3})
    w.check_button.click()
    wrong = [r["blank"] for r in w.results if not r["right"]]
    assert wrong == ["A.memsw_usage"]
    assert "5 of 6 right" in w.feedback.value and "Why" not in w.feedback.value
    w.reveal_button.click()
    assert "A.memsw_usage = <b>4</b>" in w.feedback.value and "Why" in w.feedback.value


def test_empty_and_unreadable_boxes(tl):
    w = predict(tl, step=0)
    w.check()
    assert all(not r["right"] and r["given"] is None for r in w.results)
    assert "no answer" in w.feedback.value
    w.inputs["A.usage"].value = "three"
    w.check()
    assert "is not a whole number" in w.feedback.value and w.results == []


def test_entry_and_errors(tl):
    e = entry_for_step(tl, 4, ["A"])
    assert e["answers"] == {"A.usage": 4, "A.memsw_usage": 4, "A.swap": 0}
    with pytest.raises(ModelUsageError, match="step 10 is outside"):
        entry_for_step(tl, 10)
    with pytest.raises(ModelUsageError, match="give the step"):
        predict(tl)
    w = predict(tl, step=1)
    with pytest.raises(ModelUsageError, match="no blank 'Z.usage'"):
        w.answer(**{"Z.usage": 1})
