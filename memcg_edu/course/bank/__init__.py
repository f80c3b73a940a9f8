"""The exercises of each notebook, with their checks and solutions.

One module per notebook (nb00 ... nb07), each offering ``EXERCISES``. The
solutions are here, not in the notebooks, so a learner sees one only by
calling ``course.reveal(notebook, number)``.
"""
from __future__ import annotations

from typing import Any, Mapping, Sequence

from ...scenario.format import FORMAT

__all__ = ["scenario"]


def scenario(steps: Sequence[Mapping[str, Any]], *, title: str = "exercise",
             memcgs: Mapping[str, Any] | None = None,
             tasks: Mapping[str, str] | None = None,
             machine: Mapping[str, Any] | None = None) -> dict[str, Any]:
    """A small scenario dict: memcg A and task p in A unless told otherwise."""
    return {"format": FORMAT, "title": title,
            "machine": dict(machine or {}),
            "memcgs": dict(memcgs if memcgs is not None else {"A": {}}),
            "tasks": dict(tasks if tasks is not None else {"p": "A"}),
            "steps": [dict(s) for s in steps]}
