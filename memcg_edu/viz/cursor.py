"""The step cursor: a vertical line on the step axis that follows the player.

Drawn once per axes and moved afterwards (set_xdata), so a widget updates a
time-series figure without redrawing its lines. Presentation only.
"""
from __future__ import annotations

from matplotlib.axes import Axes
from matplotlib.figure import Figure
from matplotlib.lines import Line2D

from ..timeline import Timeline
from .style import (OKABE_ITO, Style, add_bytes_axis, figure_meta, get_style, set_alt, set_step_axis,
                    shared_legend)

__all__ = ["add_cursor", "move_cursor", "finish_step_panels"]


def add_cursor(ax: Axes, step: int | None, size: str | Style) -> Line2D:
    """Add the cursor to ``ax`` (hidden when ``step`` is None) and register it."""
    st = get_style(size)
    line = ax.axvline(step if step is not None else 0, color=OKABE_ITO["black"],
                      linewidth=st.linewidth * 0.8, linestyle=":", zorder=5,
                      visible=step is not None)
    figure_meta(ax.figure).setdefault("cursors", []).append(line)
    return line


def move_cursor(fig: Figure, step: int) -> list[Line2D]:
    """Put every cursor of ``fig`` on ``step``; returns the moved artists."""
    lines = getattr(fig, "memcg_edu", {}).get("cursors", [])
    for line in lines:
        line.set_xdata([step, step])
        line.set_visible(True)
    return lines


def finish_step_panels(fig: Figure, axes: list[Axes], st: Style, step: int | None,
                       bytes_axis: bool, inside: bool, kind: str, timeline: Timeline,
                       alt: str) -> None:
    """The common end of a figure of per-memcg panels over the steps: the
    step axis (whole-number ticks), a cursor (and optionally a bytes axis)
    on each panel, the step label on the last, one legend (``inside`` the
    caller's own axes), ``kind`` and the text alternative ``alt``."""
    n_steps = len(timeline)
    for a in axes:
        set_step_axis(a, n_steps, st, label=a is axes[-1])
        add_cursor(a, step, st)
        if bytes_axis:
            add_bytes_axis(a, st)
    shared_legend(fig, axes, st, inside)
    figure_meta(fig)["kind"] = kind
    set_alt(fig, alt)
