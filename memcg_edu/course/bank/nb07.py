"""Exercises of notebook 07 (practice): two seeded problems, last step."""
from __future__ import annotations

from typing import Any

from ..exercise import Exercise, counters

__all__ = ["EXERCISES"]


def _problem(seed: int, topic: str, steps: int) -> Any:
    def build() -> dict[str, Any]:
        from ...scenario import generate_problem
        data = generate_problem(seed, topic, steps).to_dict()
        data.pop("quiz", None)   # the answers are the model's, checked fresh
        return data
    return build


EXERCISES = [
    Exercise(
        "07", 1, "Problem 11 (swap, 5 steps): the end state",
        counters(_problem(11, "swap", 5), -1, "A", {
            "usage": "usage counts A's charged pages in memory.",
            "memsw_usage": "memsw counts them plus A's charged swap slots.",
            "swap": "swap counts the slots that carry A's charge.",
        }),
        reference={"usage": 3, "memsw_usage": 3, "swap": 0},
        solution="Run `generate_problem(11, \"swap\", 5)` and step through it, "
                 "or `python -m memcg_edu quiz --seed 11 --topic swap --steps 5 "
                 "--solve` for every step explained."),
    Exercise(
        "07", 2, "Problem 3 (final-put, 6 steps): the end state",
        counters(_problem(3, "final-put", 6), -1, "A", {
            "usage": "usage counts A's pages that have not had their final put.",
            "rss": "rss counts the anonymous ones among them.",
        }),
        reference={"usage": 3, "rss": 2},
        solution="Run `generate_problem(3, \"final-put\", 6)` and step through "
                 "it, or `python -m memcg_edu quiz --seed 3 --topic final-put "
                 "--steps 6 --solve` for every step explained."),
]
