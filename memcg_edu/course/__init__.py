"""Helpers the notebooks call: install check, exercises, predictions.

* ``check_install()`` says what is installed and what is missing;
* ``check("02", 1, answer)`` checks exercise 1 of notebook 02 and explains
  a wrong answer; ``reveal("02", 1)`` shows its worked solution, which lives
  here (memcg_edu/course/bank) and not in the learner's notebook; an
  unanswered ``check`` shows ``exercise_form`` (inputs, check, show answer),
  so the exercises work under Voila;
* ``stepper(scenario)`` is the light step player (player and counters panel);
* ``predict(timeline, step, memcg, names)`` is the predict-then-reveal widget
  for any counters of a step, ``check_prediction`` its check in code;
* ``practice(topic, seed, steps)`` picks and shows seeded practice problems;
* ``steps_table``, ``designs_table``, ``kernel_table``, ``differences_list``:
  the notebooks' tables as HTML (course.tables), never wrapped mid-word;
* ``kernel_timeline(workload)`` records a workload on this kernel, or loads
  its recording from data/real-kernel (``MEMCG_EDU_LIVE=0`` forces that);
* ``scenario(steps, memcgs=..., tasks=...)`` builds a small scenario dict;
* ``source_url("mm/memcontrol.c")`` links the Linux v3.17 source;
* ``which_call(timeline, step, "put_page", memcg="A", counter="usage")``
  checks a guess of which kernel call makes a change.

No kernel file of its own: the exercises run the model (memcg_edu.model).
"""
from __future__ import annotations

import dataclasses
import importlib
from typing import Any

from ..errors import ModelUsageError
from .exercise import Exercise, Solution, Verdict, run_timeline
from .exercise_form import ExerciseForm, exercise_form
from .install import InstallReport, check_install
from .kernel import KernelRun, kernel_timeline
from .practice import practice
from .predict import check_prediction, predict
from .stepper import stepper
from .tables import designs_table, differences_list, kernel_table, steps_table
from .bank import scenario
from .words import explain_events, source_url
from .calls import which_call

__all__ = ["NOTEBOOKS", "check_install", "InstallReport", "exercises",
           "exercise", "check", "reveal", "predict", "check_prediction",
           "run_timeline", "scenario", "source_url", "explain_events", "Exercise",
           "Verdict", "Solution", "kernel_timeline", "KernelRun", "stepper",
           "practice", "which_call", "exercise_form", "ExerciseForm",
           "steps_table", "designs_table", "kernel_table", "differences_list"]

#: notebook number -> notebook file name (without .ipynb)
NOTEBOOKS = {
    "00": "00-start-here", "01": "01-charge", "02": "02-final-put",
    "03": "03-migration-and-lru", "04": "04-swap-transfer",
    "05": "05-old-vs-new", "06": "06-your-kernel", "07": "07-practice",
}


def _key(notebook: str | int) -> str:
    key = f"{int(notebook):02d}" if str(notebook).isdigit() else str(notebook)[:2]
    if key not in NOTEBOOKS:
        raise ModelUsageError(f"no notebook {notebook!r}; notebooks are "
                              + ", ".join(f'"{k}"' for k in NOTEBOOKS))
    return key


def exercises(notebook: str | int) -> list[Exercise]:
    """The exercises of a notebook ("02" or 2), in order."""
    key = _key(notebook)
    return list(importlib.import_module(f".bank.nb{key}", __name__).EXERCISES)


def exercise(notebook: str | int, number: int) -> Exercise:
    """Exercise ``number`` (from 1) of ``notebook``."""
    exs = exercises(notebook)
    if not isinstance(number, int) or not 1 <= number <= len(exs):
        raise ModelUsageError(f"notebook {_key(notebook)} has exercises "
                              f"1 to {len(exs)}; there is no exercise {number!r}")
    return exs[number - 1]


def check(notebook: str | int, number: int, answer: Any) -> Verdict:
    """Check an answer; a wrong one comes back with the reason.

    Not answered yet (the notebook's ``...``), the verdict shows as an answer
    form (:func:`exercise_form`): the learner can answer there, as under
    Voila, where the cell's code cannot be edited.
    """
    ex = exercise(notebook, number)
    v = ex.check(answer)
    return dataclasses.replace(v, exercise=ex) if v.pending else v


def reveal(notebook: str | int, number: int) -> Solution:
    """The worked solution of an exercise (try it first!)."""
    return exercise(notebook, number).worked()
