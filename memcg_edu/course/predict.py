"""Predict any counters after a step, then check and explain.

``predict`` is the notebooks' entry to the one predict-then-reveal widget
(memcg_edu.widgets.predict) for any counters (usage, memsw, swap, rss,
cache, failcnt ...) with the notebook's own one-sentence reason;
``check_prediction`` is its check in code: for each wrong number it says
what it is, how the step moved it, and which kernel functions
(mm/memcontrol.c and its callers) the step called.
"""
from __future__ import annotations

from typing import TYPE_CHECKING, Any, Mapping, Sequence

from ..timeline import Timeline
from .exercise import Verdict, explain_wrong, not_answered

if TYPE_CHECKING:
    from ..widgets.predict import PredictWidget

__all__ = ["check_prediction", "predict"]

def check_prediction(timeline: Timeline, step: int, guess: Mapping[str, Any],
                     memcg: str, why: str = "") -> Verdict:
    """Compare ``guess`` ({counter: pages}) with ``memcg`` after ``step``.

    ``why`` is the notebook's one-sentence reason for this step, shown with
    the right answer whether the guess was right or not.
    """
    if not_answered(guess):
        return Verdict(False, "Type a number in each box first.", pending=True)
    rec = timeline[step]
    notes = [why] if why else []
    if rec.get("ok") is False and rec.get("error"):
        notes.append(f"This step failed: {rec['error']}")
    wrong = explain_wrong(timeline, step, memcg, guess, moves=True, notes=notes)
    if wrong is None:
        return Verdict(True, why or f"That is what step {step} ({rec.get('op', '?')}) does.")
    return wrong


def predict(timeline: Timeline, step: int, memcg: str, names: Sequence[str],
            why: str = "") -> "PredictWidget":
    """The predict-then-reveal widget for ``names`` of ``memcg`` after ``step``.

    The same widget (memcg_edu.widgets.predict) as the practice problems':
    a wrong answer gets a hint, the learner tries again, and *show answer*
    reveals the numbers with ``why`` (the notebook's reason). Works the same
    in JupyterLab and under Voila.
    """
    from ..widgets.predict import predict as predict_widget

    return predict_widget(timeline, step=step, memcgs=[memcg], names=names, why=why)
