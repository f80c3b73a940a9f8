"""The light step player of the notebooks: player and counters panel only.

memcg_edu.widgets.dashboard adds plots, the LRU view and the page grid,
which the notebooks use where those teach something (limits, LRU lists,
swap, migration); elsewhere this lighter view keeps a notebook quick to run.
It only composes the widgets' StepPlayer and CountersPanel.
"""
from __future__ import annotations

from typing import TYPE_CHECKING, Any, Sequence

if TYPE_CHECKING:
    import ipywidgets

__all__ = ["stepper"]


def stepper(source: Any, memcgs: Sequence[str] | None = None,
            design: str = "3.17") -> "ipywidgets.VBox":
    """A step player with the counters panel following it.

    ``source``: a scenario (dict, file, Scenario) or a Timeline, as for the
    dashboard. The returned box has ``player``, ``counters`` and ``timeline``.
    """
    import ipywidgets as W

    from ..safeio import html_text
    from ..viz.source import load_source
    from ..widgets import CountersPanel, StepPlayer

    src = load_source(source, design)
    player = StepPlayer(src.timeline, scenario_steps=src.steps)
    panel = CountersPanel(src.timeline, list(memcgs) if memcgs else None)
    player.observe(lambda ch: panel.show(ch["new"]), names="step")
    heading = W.HTML(f"<h3 style='margin:2px'>{html_text(src.name)}</h3>"
                     if src.name else "")
    box = W.VBox([heading, player, panel])
    box.add_class("memcg-edu-stepper")
    box.player, box.counters, box.timeline = player, panel, src.timeline
    return box
