"""The step cursor: a vertical line on the step axis that follows the player.

Drawn once per axes and moved afterwards (set_xdata), so a widget updates a
time-series figure without redrawing its lines. Presentation only.
"""
from __future__ import annotations

from matplotlib.axes import Axes
from matplotlib.figure import Figure
from matplotlib.lines import Line2D

from .style import OKABE_ITO, Style, get_style

__all__ = ["add_cursor", "move_cursor"]


def add_cursor(ax: Axes, step: int | None, size: str | Style) -> Line2D:
    """Add the cursor to ``ax`` (hidden when ``step`` is None) and register it."""
    st = get_style(size)
    line = ax.axvline(step if step is not None else 0, color=OKABE_ITO["black"],
                      linewidth=st.linewidth * 0.8, linestyle=":", zorder=5,
                      visible=step is not None)
    fig = ax.figure
    meta = getattr(fig, "memcg_edu", None)
    if meta is None:
        meta = fig.memcg_edu = {}
    meta.setdefault("cursors", []).append(line)
    return line


def move_cursor(fig: Figure, step: int) -> list[Line2D]:
    """Put every cursor of ``fig`` on ``step``; returns the moved artists."""
    lines = getattr(fig, "memcg_edu", {}).get("cursors", [])
    for line in lines:
        line.set_xdata([step, step])
        line.set_visible(True)
    return lines
