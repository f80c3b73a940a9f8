"""One scenario under two designs (3.17 and 3.16), call by call, stepping together.

Two step players with "inside this step" open (memcg_edu.widgets.callview),
one per design of mm/memcontrol.c, their steps linked: a step taken in one
is taken in the other, so the learner sees where each design charges and
uncharges the same page.
"""
from __future__ import annotations

from typing import Any, Sequence

import ipywidgets as widgets

from ..safeio import html_text
from ..viz.source import load_source
from .player import StepPlayer

__all__ = ["DesignCalls", "calls_by_design"]


class DesignCalls(widgets.VBox):
    """Players of one scenario per design; ``players[design]``, steps linked."""

    def __init__(self, source: Any, designs: Sequence[str] = ("3.17", "3.16")) -> None:
        self.players: dict[str, StepPlayer] = {}
        parts: list[widgets.Widget] = []
        title = ""
        for design in designs:
            src = load_source(source, design)
            title = title or src.name
            player = StepPlayer(src.timeline, scenario_steps=src.steps, calls_open=True)
            player.add_class(f"memcg-edu-design-{design.replace('.', '-')}")
            self.players[design] = player
            parts += [widgets.HTML(f"<h4 style='margin:6px 0 2px'>Linux {html_text(design)} "
                                   f"(model)</h4>"), player]
        players = list(self.players.values())
        for a in players:   # go() is a no-op at the step shown, so this ends
            for b in players:
                if a is not b:
                    a.observe(lambda ch, b=b: b.go(ch["new"]), names="step")
        heading = widgets.HTML(f"<h3 style='margin:2px'>{html_text(title)}</h3>"
                               if title else "")
        super().__init__([heading, *parts])
        self.add_class("memcg-edu-design-calls")

    def go(self, step: int) -> None:
        """Show ``step`` in every design."""
        next(iter(self.players.values())).go(step)


def calls_by_design(source: Any, designs: Sequence[str] = ("3.17", "3.16")) -> DesignCalls:
    """A scenario's steps and calls under each design, stepping together."""
    return DesignCalls(source, designs)
