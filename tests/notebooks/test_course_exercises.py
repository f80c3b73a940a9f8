"""Every exercise: the reference answer passes, a wrong one is explained.

The counter exercises are checked against the model itself, so these tests
also pin the model's behaviour on each exercise's scenario to the answer
the course teaches (docs/kernel-rules.md, "Kernel rules").
"""
from __future__ import annotations

import pytest

from memcg_edu import course
from memcg_edu.errors import ModelUsageError

ALL = [(k, ex.number) for k in course.NOTEBOOKS for ex in course.exercises(k)]

#: (notebook, number) -> (a tempting wrong answer, words its explanation must use)
WRONG = {
    ("00", 1): ("a", "3.16"),
    ("00", 2): ("a", "3 pages are in memory"),
    ("00", 3): ({"usage": 1, "rss": 1, "cache": 1}, "usage: you said 1, it is 2"),
    ("01", 1): ({"usage": 5, "cache": 1, "rss": 4, "failcnt": 0}, "reclaim"),
    ("01", 2): ({"usage": 3, "failcnt": 1}, "rolled C's part back"),
    ("01", 3): (32, "stock's spare pages"),
    ("02", 1): ({"usage": 0, "rss": 0}, "first"),
    ("02", 2): ({"usage": 0, "cache": 0}, "not the page"),
    ("02", 3): ({"usage": 0, "cache": 0}, "pin"),
    ("03", 1): ({"usage": 0, "rss": 0, "pgpgout": 2}, "pgpgout: you said 2, it is 1"),
    ("03", 2): ("a", "no longer charged"),
    ("03", 3): ({"usage": 1, "cache": 1}, "already charged"),
    ("04", 1): ({"usage": 1, "memsw_usage": 2, "swap": 1}, "duplicate"),
    ("04", 2): ({"usage": 2, "memsw_usage": 4, "swap": 1}, "SWAP_CLUSTER_MAX"),
    ("04", 3): ({"usage": 0, "memsw_usage": 0, "swap": 0}, "still points at it"),
    ("05", 1): ({"usage": 1, "cache": 1}, "delete_from_page_cache"),
    ("05", 2): ("b", "PCG_USED"),
    ("05", 3): ("c", "RCU"),
    ("06", 1): ("c", "memsw"),
    ("06", 2): ("b", "nothing leaks"),
    ("07", 1): ({"usage": 2, "memsw_usage": 3, "swap": 1}, "usage: you said 2, it is 3"),
    ("07", 2): ({"usage": 3, "rss": 3}, "rss: you said 3, it is 2"),
}


def _reference(nb: str, n: int):
    ex = course.exercise(nb, n)
    assert ex.reference is not None, f"exercise {nb}.{n} has no reference answer"
    return ex.reference


@pytest.mark.parametrize("nb,n", ALL)
def test_reference_answer_passes(nb, n):
    v = course.check(nb, n, _reference(nb, n))
    assert v.ok, v.message
    assert v.message  # a right answer is explained too


@pytest.mark.parametrize("nb,n", ALL)
def test_wrong_answer_is_rejected_with_its_explanation(nb, n):
    wrong, needle = WRONG[(nb, n)]
    v = course.check(nb, n, wrong)
    assert not v.ok and not v.pending
    assert needle in v.message, v.message
    assert "Not yet" in str(v) and needle in v._repr_markdown_().replace("  \n", "\n")


@pytest.mark.parametrize("nb,n", ALL)
def test_blank_answer_asks_for_one(nb, n):
    ref = _reference(nb, n)
    blank = {k: ... for k in ref} if isinstance(ref, dict) else ...
    v = course.check(nb, n, blank)
    assert not v.ok and v.pending and "Not answered yet" in v.message
    assert "Your turn" in v._repr_markdown_() and "Not yet" not in v.to_html()


@pytest.mark.parametrize("nb,n", ALL)
def test_reveal_shows_the_solution(nb, n):
    sol = course.reveal(nb, n)
    ex = course.exercise(nb, n)
    assert ex.solution in str(sol)
    assert f"Exercise {nb}.{n}" in sol._repr_markdown_()


def test_every_exercise_has_a_wrong_case():
    assert set(ALL) == set(WRONG)


def test_bytes_instead_of_pages_is_pointed_out():
    v = course.check("04", 1, {"usage": 4096, "memsw_usage": 4096, "swap": 0})
    assert not v.ok and "pages, not bytes" in v.message


def test_answers_of_the_wrong_shape_are_explained():
    assert "one letter" in course.check("00", 1, "z").message
    assert "leave out" in course.check("02", 1, {"usage": 1, "rss": 1, "cache": 0}).message
    assert "Write a dict" in course.check("02", 1, 3).message
    assert "whole number" in course.check("01", 3, "lots").message


def test_unknown_notebook_or_exercise_is_a_clear_error():
    with pytest.raises(ModelUsageError, match="no notebook"):
        course.check("09", 1, "a")
    with pytest.raises(ModelUsageError, match="exercises 1 to 3"):
        course.reveal("00", 4)
