"""Colours and sizes shared by every figure: readable on a projector and in print.

The palette is Okabe and Ito's colour-blind-safe set; every series also
differs by line style or marker shape, so a figure printed in grey still
reads. Sizes: "screen" (notebook), "projector" (big fonts, thick lines),
"print" (a column of a paper, 300 dpi) and "widget" (small, fast, for the
dashboard). No kernel file: this is presentation only.
"""
from __future__ import annotations

import base64
import io
import warnings
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from matplotlib.artist import Artist
from matplotlib.axes import Axes
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure, SubFigure
from matplotlib.text import Text
from matplotlib.ticker import MaxNLocator, MultipleLocator
import numpy as np

from ..errors import ModelUsageError
from ..safeio import html_text, printable
from ..timeline import LRU_NAMES, PAGE_SIZE

__all__ = ["OKABE_ITO", "COUNTER_COLORS", "STAT_COLORS", "LRU_COLORS", "LRU_NAMES",
           "Style", "SIZES", "get_style", "NotebookFigure", "new_figure",
           "add_bytes_axis", "shared_legend", "step_xy", "DISPLAY_POINTS",
           "set_step_axis", "series_words", "set_alt", "alt_text", "legend_columns",
           "save_figure"]

#: Okabe & Ito (2008), "Color Universal Design": safe for the common colour
#: vision deficiencies.
OKABE_ITO = {
    "black": "#000000", "orange": "#E69F00", "sky": "#56B4E9",
    "green": "#009E73", "yellow": "#F0E442", "blue": "#0072B2",
    "vermillion": "#D55E00", "purple": "#CC79A7", "grey": "#999999",
}
COUNTER_COLORS = {"usage": OKABE_ITO["blue"], "memsw_usage": OKABE_ITO["vermillion"]}
STAT_COLORS = {"rss": OKABE_ITO["orange"], "cache": OKABE_ITO["sky"],
               "swap": OKABE_ITO["purple"]}
#: the five lists of a lruvec, in the kernel's enum lru_list order
LRU_COLORS = dict(zip(LRU_NAMES, (OKABE_ITO["yellow"], OKABE_ITO["orange"],
                                  OKABE_ITO["sky"], OKABE_ITO["blue"],
                                  OKABE_ITO["grey"])))


@dataclass(frozen=True)
class Style:
    """One size preset: figure size per panel (inches), dpi, fonts, lines."""
    width: float
    panel_height: float
    dpi: int
    font: float
    small: float
    linewidth: float
    marker: float


#: Fonts are in points at the figure's own size; a notebook shows a figure at
#: the notebook's width (NotebookFigure), so "screen" is drawn about as wide
#: as JupyterLab's notebook column (9 in at 110 dpi = 990 px) and its tick
#: labels stay at least 11 px high at 100% zoom; "projector" text is about
#: twice that. "print" is a 16 cm column at 300 dpi, nothing under 7 pt.
SIZES = {
    "screen": Style(9.0, 3.4, 110, 12, 11, 2.0, 55),
    "projector": Style(11.0, 5.0, 100, 20, 17, 3.4, 130),
    "print": Style(6.3, 2.6, 300, 8.5, 7, 1.2, 20),
    "widget": Style(8.0, 2.7, 90, 11, 10, 1.8, 40),
}


def get_style(size: str | Style) -> Style:
    """The Style named ``size`` (screen, projector, print, widget)."""
    if isinstance(size, Style):
        return size
    try:
        return SIZES[size]
    except KeyError:
        raise ModelUsageError(f"unknown figure size {size!r}; choose one of "
                              f"{', '.join(SIZES)}") from None


def attach_meta(fig: Figure | SubFigure, meta: dict[str, Any]) -> dict[str, Any]:
    """Make ``meta`` what memcg-edu keeps on ``fig`` (``fig.memcg_edu``: its
    kind, cursors, the artists a step updates, its text alternative)."""
    setattr(fig, "memcg_edu", meta)  # matplotlib declares no such attribute
    return meta


def figure_meta(fig: Figure | SubFigure) -> dict[str, Any]:
    """What memcg-edu keeps on ``fig`` (see attach_meta); empty at first."""
    meta: dict[str, Any] | None = getattr(fig, "memcg_edu", None)
    return attach_meta(fig, {}) if meta is None else meta


def set_alt(fig: Figure, text: str) -> None:
    """Give ``fig`` its short text alternative (what the figure shows, in words)."""
    figure_meta(fig)["alt"] = text


def alt_text(fig: Figure) -> str:
    """The figure's text alternative (set by each plot function)."""
    return str(getattr(fig, "memcg_edu", {}).get("alt") or "a memcg-edu figure")


#: where each file format keeps a text description (savefig metadata keys)
_ALT_KEY = {".png": "Description", ".svg": "Description", ".pdf": "Subject"}


def save_figure(fig: Figure, path, format: str | None = None) -> None:
    """``fig.savefig(path)``, with the figure's text alternative stored in
    the file (PNG and SVG Description, PDF Subject) where the format can.
    ``path`` may be a binary file object, with ``format`` ("png", ...)."""
    key = _ALT_KEY.get(f".{format}" if format else Path(path).suffix.lower())
    fig.savefig(path, format=format, metadata={key: alt_text(fig)} if key else None)


class NotebookFigure(Figure):
    """A Figure that shows itself when it is a notebook cell's result, whether
    or not pyplot or ``%matplotlib inline`` was ever activated: as an image
    that fills the notebook's width (HTML ``<img>`` with its alt text), a
    PNG, and its text alternative as text/plain. Text from a file (a
    title, a memcg name, a label) is drawn as the terminal shows it: an
    escape sequence or an invisible control as \\x1b, \\u202e (no font has
    a glyph for one)."""

    def draw(self, renderer: Any) -> None:
        for text in self.findobj(Text):
            shown = text.get_text()
            if not shown.isprintable():         # (a newline is not, and stays)
                text.set_text(printable(shown))
        super().draw(renderer)

    def _repr_png_(self) -> bytes:
        buf = io.BytesIO()
        self.savefig(buf, format="png")
        return buf.getvalue()

    def _repr_mimebundle_(self, include=None, exclude=None) -> dict:
        png = base64.b64encode(self._repr_png_()).decode("ascii")
        alt = alt_text(self)
        return {"text/html": f"<img src='data:image/png;base64,{png}' "
                             f"alt='{html_text(alt, quote=True)}' "
                             f"title='{html_text(alt, quote=True)}' "
                             "style='width:100%;max-width:1400px;height:auto'>",
                "image/png": png, "text/plain": alt}


def new_figure(size: str | Style, nrows: int = 1, ncols: int = 1,
               ax: Axes | None = None, width_ratios=None,
               sharex: bool = True) -> tuple[Figure, list[Axes]]:
    """A figure with ``nrows`` x ``ncols`` axes, or the figure of ``ax``.

    Figures are made without pyplot, so building many (widgets, tests) leaks
    nothing and shows nothing until displayed (then as a PNG, NotebookFigure).
    """
    if ax is not None:
        if not isinstance(ax.figure, Figure):
            raise ModelUsageError("ax must be axes of a whole Figure, not of a SubFigure")
        return ax.figure, [ax]
    st = get_style(size)
    fig = NotebookFigure(figsize=(st.width, st.panel_height * nrows), dpi=st.dpi,
                         layout="constrained")
    FigureCanvasAgg(fig)
    axes = fig.subplots(nrows, ncols, squeeze=False, sharex=sharex if nrows > 1 else False,
                        width_ratios=width_ratios)
    out = [a for row in axes for a in row]
    for a in out:
        a.tick_params(labelsize=st.small)
    return fig, out


def add_bytes_axis(ax: Axes, size: str | Style) -> None:
    """A right-hand y axis giving the left axis' pages in KiB, or MiB when large.

    Call it after the y limits are set: they pick the unit.
    """
    st = get_style(size)
    kib = PAGE_SIZE / 1024
    unit, per_page = ("MiB", kib / 1024) if ax.get_ylim()[1] * kib >= 10240 else ("KiB", kib)
    sec = ax.secondary_yaxis("right", functions=(lambda p: np.multiply(p, per_page),
                                                 lambda b: np.divide(b, per_page)))
    sec.set_ylabel(unit, fontsize=st.font)
    sec.tick_params(labelsize=st.small)
    # "auto": as many ticks as the axis' height holds at this font, no crowding
    sec.yaxis.set_major_locator(MaxNLocator(nbins="auto", integer=True,
                                            steps=[1, 2, 4, 5, 10]))


def legend_columns(labels: list[str], st: Style) -> int:
    """As many legend columns as fit the figure's width at the legend's font
    (a character is about 0.6 em; each entry also has its marker and gaps)."""
    longest = max((len(lab) for lab in labels), default=1)
    column = longest * 0.6 * st.small + 3.5 * st.small
    return max(1, min(len(labels), int(st.width * 72 // column)))


def shared_legend(fig: Figure, axes: list[Axes], st: Style, inside: bool) -> None:
    """One legend for all panels: in the axes (``inside``) or below the figure."""
    seen: dict[str, Artist] = {}
    for a in axes:
        for h, lab in zip(*a.get_legend_handles_labels()):
            seen.setdefault(lab, h)
    if inside:
        axes[0].legend(seen.values(), seen.keys(), fontsize=st.small, loc="upper left")
    else:
        fig.legend(seen.values(), seen.keys(), fontsize=st.small, loc="outside lower center",
                   ncols=legend_columns(list(seen), st))


#: a series longer than this is drawn at display resolution (see step_xy)
DISPLAY_POINTS = 4000


def step_xy(values: np.ndarray, envelope: bool = True,
            max_points: int = DISPLAY_POINTS) -> tuple[np.ndarray, np.ndarray]:
    """x, y for drawstyle "steps-post" so that step i's state spans [i, i+1):
    the change a step makes is drawn at the step's own (integer) tick.

    A series longer than ``max_points`` is cut into buckets of k steps: with
    ``envelope`` each bucket is drawn from its maximum down to its minimum
    (what the full line looks like at screen resolution), without it (for
    filled areas) at its maximum. This keeps 100,000-step figures fast and small.
    """
    n = len(values)
    if n <= max_points:
        return np.arange(n + 1, dtype=float), np.append(values, values[-1:] if n else [np.nan])
    k = -(-n // (max_points // 2))
    grid = np.concatenate([values, np.full(-n % k, np.nan)]).reshape(-1, k)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)   # an all-nan bucket stays nan
        hi, lo = np.nanmax(grid, axis=1), np.nanmin(grid, axis=1)
    starts = np.arange(len(hi), dtype=float) * k
    if not envelope:
        return np.append(starts, n), np.append(hi, hi[-1])
    x, y = np.empty(2 * len(hi) + 1), np.empty(2 * len(hi) + 1)
    x[0:-1:2], x[1:-1:2], x[-1] = starts, starts + k / 2, n
    y[0:-1:2], y[1:-1:2], y[-1] = hi, lo, lo[-1]
    return x, y


def set_step_axis(ax: Axes, n_steps: int, st: Style, label: bool = True) -> None:
    """The step axis: whole-number ticks only (steps 0 to n-1), the last
    step's state shown over most of its span, the label under the axis."""
    last = max(n_steps - 1, 0)
    ax.set_xlim(-0.5, last + 0.85)
    # every step up to 20 steps, else whole numbers spaced 1, 2 or 5 x 10^k
    ax.xaxis.set_major_locator(MultipleLocator(1) if n_steps <= 20 else
                               MaxNLocator(integer=True, steps=[1, 2, 5, 10]))
    if label:
        ax.set_xlabel("step (each step's change is drawn at its tick)", fontsize=st.font)


def series_words(label: str, values: np.ndarray, unit: str = "pages",
                 max_steps: int = 8) -> str:
    """One memcg series in words: where it starts and ends, its top and
    the steps where it changes ("usage: 0 at step 0 ... changes at steps 1, 3")."""
    v = np.asarray(values, dtype=float)
    ok = np.isfinite(v)
    if not ok.any():
        return f"{label}: none"
    first = int(np.argmax(ok))
    top = int(np.nanargmax(v))
    moved = np.flatnonzero(np.diff(np.where(ok, v, -1.0)) != 0) + 1
    where = ", ".join(str(i) for i in moved[:max_steps])
    if len(moved) > max_steps:
        where += f" and {len(moved) - max_steps} more"
    one = unit[:-1] if unit.endswith("s") and v[first] == 1 else unit
    return (f"{label}: {v[first]:g} {one} at step {first}, highest {v[top]:g} at step {top}, "
            f"{v[ok][-1]:g} at the end"
            + (f"; changes at step{'s' if len(moved) > 1 else ''} {where}" if len(moved)
               else "; never changes"))
