"""Text that stays inside its grid cell, fitted when the figure is drawn.

A page-grid cell (viz/pagegrid.py) shows up to three lines: a scenario's
label, which a learner's file may make as long as it likes, counts and
flags, a memcg's name. Drawn as they are, the lines of a dense grid (256
frames) or of a large font (--size projector) run over the cells around
them. The cell's size is known only once the figure is laid out, so the
text is fitted at each draw, against the renderer's own measure of it:
smaller, down to a limit; then only the lines that fit; then each line
cut with an ellipsis. The text itself (``get_text``) stays whole, and the
figure's text alternative names every label whole.
"""
from __future__ import annotations

from typing import Any

from matplotlib.axes import Axes
from matplotlib.font_manager import FontProperties
from matplotlib.text import Text

__all__ = ["CellText", "ELLIPSIS", "MARGIN", "SHRINK_MIN"]

ELLIPSIS = "\u2026"
#: the share of a cell's width and height its text may take (a gap to
#: the next cell's)
MARGIN = 0.92
#: the smallest share of its own size a cell's text is shrunk to
SHRINK_MIN = 0.6


class CellText(Text):
    """A cell's text, centred at (x, y) of ``ax``'s data, for a cell one data
    unit wide and high, that shows up to ``rows`` lines. Drawn literally: a
    "$" in a label is not mathtext.

    At each draw the text is fitted to its cell: its size shrunk so that
    ``rows`` lines fit the cell's height (the same size in every cell of a
    grid: they are the same size), down to SHRINK_MIN of its own; the
    lines that still do not fit left out, the first kept; each line too
    wide cut with an ellipsis."""

    def __init__(self, ax: Axes, x: float, y: float, rows: int = 1, **kwargs: Any) -> None:
        super().__init__(x, y, "", ha="center", va="center", parse_math=False, **kwargs)
        ax.add_artist(self)
        self.set_clip_on(False)
        # fitted to the cell once the figure is laid out: its whole lines
        # must not make the layout shrink the grid to make room for them
        self.set_in_layout(False)
        self._rows = rows

    def draw(self, renderer: Any) -> None:
        whole = self.get_text()
        if not whole or not self.get_visible() or self.axes is None:
            super().draw(renderer)
            return
        x, y = self.get_position()
        (x0, y0), (x1, y1) = self.axes.transData.transform([(x - 0.5, y - 0.5),
                                                            (x + 0.5, y + 0.5)])
        # display pixels, as the renderer measures text
        width, height = abs(x1 - x0) * MARGIN, abs(y1 - y0) * MARGIN
        lines = whole.split("\n")
        prop = self.get_fontproperties()
        spacing = self.get_linespacing()          # "normal": about 1.2 (the font's)
        line = _size(renderer, "lp", prop)[1] * (
            spacing if isinstance(spacing, (int, float)) else 1.2)
        scale = max(SHRINK_MIN, min(1.0, height / (max(self._rows, len(lines)) * line)))
        shown = prop
        if scale < 1.0:
            shown = prop.copy()
            shown.set_size(prop.get_size_in_points() * scale)
        # (3 rows that fit exactly are 3, not 2.999...)
        lines = lines[:max(1, int(height / (line * scale) + 1e-6))]
        fitted = "\n".join(_fit(one, width, renderer, shown) for one in lines)
        if fitted == whole and shown is prop:
            super().draw(renderer)
            return
        # drawn fitted, then put back as it was without marking the figure
        # stale (set_text would, and an interactive canvas would draw again)
        self._text, self._fontproperties = fitted, shown
        try:
            super().draw(renderer)
        finally:
            self._text, self._fontproperties = whole, prop


#: _size's answers, by renderer kind and dpi, font and text: a grid's
#: cells measure the same few lines (a figure drawn again, the same)
_MEASURED: dict[tuple[str, float, int, str], tuple[float, float]] = {}
_MEASURED_MAX = 10_000


def _size(renderer: Any, s: str, prop: FontProperties) -> tuple[float, float]:
    """Width and height of ``s`` in ``prop``, in display pixels."""
    key = (type(renderer).__name__, getattr(renderer, "dpi", 0.0), hash(prop), s)
    got = _MEASURED.get(key)
    if got is None:
        if len(_MEASURED) >= _MEASURED_MAX:
            _MEASURED.clear()
        w, h, _ = renderer.get_text_width_height_descent(s, prop, ismath=False)
        got = _MEASURED[key] = (w, h)
    return got


def _fit(line: str, room: float, renderer: Any, prop: FontProperties) -> str:
    """``line``, or its longest start that fits ``room`` with an ellipsis
    (the ellipsis alone if none does)."""
    if _size(renderer, line, prop)[0] <= room:
        return line
    lo, hi = 0, len(line) - 1                  # the kept start's length, searched
    while lo < hi:
        mid = (lo + hi + 1) // 2
        if _size(renderer, line[:mid] + ELLIPSIS, prop)[0] <= room:
            lo = mid
        else:
            hi = mid - 1
    return line[:lo].rstrip() + ELLIPSIS
