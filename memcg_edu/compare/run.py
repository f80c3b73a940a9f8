"""Run one scenario file under both designs.

The scenario runner (memcg_edu.scenario) replays the steps on a
memcg_edu.model.Machine built with design="3.16" and again with
design="3.17"; the mm callers are the same, only the memcg hooks differ
(mm/memcontrol.c of Linux 3.16 and of Linux 3.17).
"""
from __future__ import annotations

from pathlib import Path
from typing import Any

from .comparison import DESIGNS, Comparison

__all__ = ["compare_scenario"]


def compare_scenario(scenario: Any, pages: bool | None = False) -> Comparison:
    """Run ``scenario`` (a path, a dict or a loaded scenario) under 3.16 and 3.17.

    Returns a Comparison whose ``timelines`` hold the two runs, ready to be
    overlaid by any plot of memcg_edu.viz. ``pages`` is run_scenario's:
    False (the default) stores no page-state snapshots, None stores them
    for small machines (what the page grid widgets need). Raises
    ScenarioError for a file that is not a valid scenario.
    """
    from ..scenario import load_scenario, run_scenario

    if isinstance(scenario, (str, Path)):
        scenario = load_scenario(scenario)
    # the comparison reads counters, ok, error and events: no labels kept
    timelines = {d: run_scenario(scenario, design=d, pages=pages, calls=False,
                                 detail=bool(pages))
                 for d in DESIGNS}
    return Comparison(timelines)
