"""Predict any counters after a step, then check and explain.

memcg_edu.widgets.predict asks for usage, memsw usage and swap; the
notebooks also ask about rss, cache, failcnt, pgpgin/pgpgout and the LRU
list sizes, with the notebook's own one-sentence reason. This module covers
those: for each wrong number it says what it is, how the step moved it, and
which kernel functions (mm/memcontrol.c and its callers) the step called.
"""
from __future__ import annotations

from typing import TYPE_CHECKING, Any, Mapping, Sequence

from ..timeline import Timeline
from .exercise import Verdict, explain_wrong, not_answered, value_at

if TYPE_CHECKING:
    import ipywidgets

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
            why: str = "") -> "ipywidgets.VBox":
    """A widget: one box per counter, a Check button and a Reveal button.

    Check explains a wrong guess (:func:`check_prediction`); Reveal shows
    the answer. Works the same in JupyterLab and under Voila.
    """
    import ipywidgets as W

    from ..widgets.predict import read_pages

    rec = timeline[step]
    boxes = {n: W.Text(placeholder="pages", description=n,
                       layout=W.Layout(width="220px"),
                       style={"description_width": "110px"}) for n in names}
    check_b = W.Button(description="Check", button_style="primary",
                       icon="check")
    reveal_b = W.Button(description="Reveal", icon="eye")
    out = W.HTML()
    out.add_class("memcg-edu-predict-answer")
    title = W.HTML(f"<b>Predict:</b> after step {step} "
                   f"(<code>{rec.get('op', '?')}</code>), what are these "
                   f"counters of <b>{memcg}</b>, in pages?")

    def guess() -> dict[str, Any]:
        return {n: read_pages(b.value) for n, b in boxes.items()}

    def show(v) -> None:
        out.value = v.to_html()

    def on_check(_=None) -> None:
        show(check_prediction(timeline, step, guess(), memcg, why))

    def on_reveal(_=None) -> None:
        answer = {n: value_at(timeline, step, memcg, n) for n in names}
        show(check_prediction(timeline, step, answer, memcg, why))

    check_b.add_class("memcg-edu-predict-check")
    reveal_b.add_class("memcg-edu-predict-reveal")
    check_b.on_click(on_check)
    reveal_b.on_click(on_reveal)
    box = W.VBox([title, W.HBox(list(boxes.values())),
                  W.HBox([check_b, reveal_b]), out])
    box.add_class("memcg-edu-predict")
    # kept for tests and for driving the widget without a browser
    box.boxes, box.check, box.reveal, box.output = boxes, on_check, on_reveal, out
    return box
