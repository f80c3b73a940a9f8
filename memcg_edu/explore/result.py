"""ExploreResult: what one exploration found, as data."""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

__all__ = ["ExploreResult"]


@dataclass
class ExploreResult:
    """Outcome of exploring one race.

    ``explored``: complete interleavings the locks allow; ``broken``: how
    many of them broke an invariant; ``states``: distinct search states;
    ``by_invariant``: broken interleavings per invariant id;
    ``first_broken``: the first broken interleaving as step-table rows
    (``path``, ``step``, ``kernel``, ``locks`` held by that path after the
    step, ``state`` snapshot dict, ``invariant`` None or
    {"id", "message", "after"}), or None.
    """

    race: str
    design: str
    title: str
    without: list[str]
    fixes: list[str]
    explored: int
    broken: int
    states: int
    by_invariant: dict[str, int] = field(default_factory=dict)
    first_broken: list[dict[str, Any]] | None = None
    expect_broken: bool = False

    @property
    def ok(self) -> bool:
        """True when no interleaving broke an invariant."""
        return self.broken == 0

    def to_dict(self) -> dict[str, Any]:
        return {"race": self.race, "design": self.design, "title": self.title,
                "without": list(self.without), "fixes": list(self.fixes),
                "explored": self.explored, "broken": self.broken,
                "states": self.states, "by_invariant": dict(self.by_invariant),
                "expect_broken": self.expect_broken,
                "first_broken": self.first_broken}
