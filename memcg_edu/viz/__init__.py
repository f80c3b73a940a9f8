"""Figures of a memcg_edu.timeline.Timeline (matplotlib only, no pyplot).

Every function takes a timeline (optionally a step and an ``ax``) and
returns the matplotlib Figure, so notebooks, widgets, tests and
``python -m memcg_edu plot`` draw the same pictures. Figures carry a
``memcg_edu`` dict of the artists a step changes; each module's
``set_step(fig, timeline, step)`` updates them in place.
"""
from .counters import plot_counters
from .lru import plot_lru
from .overlay import plot_overlay
from .pagegrid import plot_pagegrid
from .stats import plot_stats
from .style import SIZES

__all__ = ["plot_counters", "plot_stats", "plot_lru", "plot_pagegrid",
           "plot_overlay", "SIZES"]
