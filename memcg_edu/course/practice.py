"""Practice problems with a topic and seed picker (notebook 07, also under Voila).

Composes the scenario layer's seeded generator (memcg_edu.scenario.
generate_problem) with the widgets' predict-then-reveal view, so a learner
who only sees the dashboard (Voila hides the code) can still pick a topic
and a seed. The kernel paths behind each question are named in the
problem's explanations (mm/memcontrol.c and its callers).
"""
from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    import ipywidgets

__all__ = ["practice"]


def practice(topic: str = "charge", seed: int = 7, steps: int = 5) -> "ipywidgets.VBox":
    """Topic, seed and length pickers, a "new problem" button, and the problem.

    The returned box has ``topic``, ``seed``, ``steps`` (the pickers),
    ``load()`` (what the button does) and ``problem`` (the predict widget).
    """
    import ipywidgets as W

    from ..scenario import TOPICS, generate_problem
    from ..scenario.quiz import MAX_QUIZ_STEPS
    from ..widgets import predict

    topic_w = W.Dropdown(options=list(TOPICS), value=topic, description="topic")
    seed_w = W.BoundedIntText(value=seed, min=0, max=10**9, description="seed",
                              layout=W.Layout(width="180px"))
    steps_w = W.IntSlider(value=steps, min=1, max=min(12, MAX_QUIZ_STEPS),
                          description="steps")
    go = W.Button(description="new problem", icon="refresh", button_style="primary")
    go.add_class("memcg-edu-practice-load")
    holder = W.VBox()
    box = W.VBox([W.HBox([topic_w, seed_w, steps_w, go]), holder])
    box.add_class("memcg-edu-practice")

    def load(_=None) -> None:
        box.problem = predict(generate_problem(int(seed_w.value), topic_w.value,
                                               int(steps_w.value)))
        holder.children = (box.problem,)

    go.on_click(load)
    box.topic, box.seed, box.steps, box.load = topic_w, seed_w, steps_w, load
    load()
    return box
