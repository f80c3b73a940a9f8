"""Text that stays inside its grid cell: each line too wide for the cell
is cut, with an ellipsis, when the figure is drawn.

A page-grid cell (viz/pagegrid.py) shows a scenario's label and a memcg's
name, which a learner's file may make as long as it likes: drawn whole,
such a line runs over its neighbours' cells. The cell's width is known only
once the figure is laid out, so the line is fitted at each draw, against
the renderer's own measure of the text; the text itself (``get_text``)
stays whole, and the figure's text alternative names the whole label.
"""
from __future__ import annotations

from typing import Any

from matplotlib.axes import Axes
from matplotlib.text import Text

__all__ = ["CellText", "ELLIPSIS", "MARGIN"]

ELLIPSIS = "\u2026"
#: the share of a cell's width a line may take (a gap to the next cell's text)
MARGIN = 0.92


class CellText(Text):
    """A cell's text, centred at (x, y) of ``ax``'s data, for a cell one data
    unit wide. Drawn literally: a "$" in a label is not mathtext."""

    def __init__(self, ax: Axes, x: float, y: float, **kwargs: Any) -> None:
        super().__init__(x, y, "", ha="center", va="center", parse_math=False, **kwargs)
        ax.add_artist(self)
        self.set_clip_on(False)

    def draw(self, renderer: Any) -> None:
        whole = self.get_text()
        if not whole or not self.get_visible() or self.axes is None:
            super().draw(renderer)
            return
        x = self.get_position()[0]
        left, right = self.axes.transData.transform([(x - 0.5, 0), (x + 0.5, 0)])[:, 0]
        room = abs(right - left) * MARGIN          # display pixels, as the renderer measures
        fitted = "\n".join(_fit(line, room, renderer, self) for line in whole.split("\n"))
        if fitted == whole:
            super().draw(renderer)
            return
        # drawn fitted, then the whole text back without marking the figure
        # stale (set_text would, and an interactive canvas would draw again)
        self._text = fitted
        try:
            super().draw(renderer)
        finally:
            self._text = whole


def _width(s: str, renderer: Any, text: Text) -> float:
    return renderer.get_text_width_height_descent(s, text.get_fontproperties(),
                                                  ismath=False)[0]


def _fit(line: str, room: float, renderer: Any, text: Text) -> str:
    """``line``, or its longest start that fits ``room`` with an ellipsis
    (the ellipsis alone if none does)."""
    if _width(line, renderer, text) <= room:
        return line
    lo, hi = 0, len(line) - 1                  # the kept start's length, searched
    while lo < hi:
        mid = (lo + hi + 1) // 2
        if _width(line[:mid] + ELLIPSIS, renderer, text) <= room:
            lo = mid
        else:
            hi = mid - 1
    return line[:lo].rstrip() + ELLIPSIS
