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


def _end_state(number: int, seed: int, topic: str, steps: int,
               whys: dict[str, str], reference: dict[str, int]) -> Exercise:
    """Exercise 07.<number>: A's counters after the last step of a problem."""
    return Exercise(
        "07", number, f"Problem {seed} ({topic}, {steps} steps): the end state",
        counters(_problem(seed, topic, steps), -1, "A", whys),
        reference=reference,
        solution=f"Run `generate_problem({seed}, \"{topic}\", {steps})` and "
                 f"step through it, or `python -m memcg_edu quiz --seed {seed} "
                 f"--topic {topic} --steps {steps} --solve` for every step "
                 f"explained.")


EXERCISES = [
    _end_state(1, 11, "swap", 5, {
        "usage": "usage counts A's charged pages in memory.",
        "memsw_usage": "memsw counts them plus A's charged swap slots.",
        "swap": "swap counts the slots that carry A's charge.",
    }, reference={"usage": 3, "memsw_usage": 3, "swap": 0}),
    _end_state(2, 3, "final-put", 6, {
        "usage": "usage counts A's pages that have not had their final put.",
        "rss": "rss counts the anonymous ones among them.",
    }, reference={"usage": 3, "rss": 2}),
]
