"""Colours and sizes shared by every figure: readable on a projector and in print.

The palette is Okabe and Ito's colour-blind-safe set; every series also
differs by line style or marker shape, so a figure printed in grey still
reads. Sizes: "screen" (notebook), "projector" (big fonts, thick lines),
"print" (a column of a paper, 300 dpi) and "widget" (small, fast, for the
dashboard). No kernel file: this is presentation only.
"""
from __future__ import annotations

import io
import warnings
from dataclasses import dataclass

from matplotlib.axes import Axes
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure
from matplotlib.ticker import MaxNLocator
import numpy as np

from ..errors import ModelUsageError
from ..timeline import LRU_NAMES, PAGE_SIZE

__all__ = ["OKABE_ITO", "COUNTER_COLORS", "STAT_COLORS", "LRU_COLORS", "LRU_NAMES",
           "Style", "SIZES", "get_style", "NotebookFigure", "new_figure",
           "add_bytes_axis", "shared_legend", "step_xy", "DISPLAY_POINTS"]

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


SIZES = {
    "screen": Style(7.0, 3.0, 100, 10, 8, 1.8, 40),
    "projector": Style(10.0, 4.6, 100, 16, 13, 3.0, 90),
    "print": Style(6.3, 2.6, 300, 8, 6.5, 1.2, 18),
    "widget": Style(7.0, 2.5, 80, 9, 7.5, 1.6, 30),
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


class NotebookFigure(Figure):
    """A Figure that shows itself as a PNG when it is a notebook cell's result,
    whether or not pyplot or ``%matplotlib inline`` was ever activated."""

    def _repr_png_(self) -> bytes:
        buf = io.BytesIO()
        self.savefig(buf, format="png")
        return buf.getvalue()


def new_figure(size: str | Style, nrows: int = 1, ncols: int = 1,
               ax: Axes | None = None, width_ratios=None,
               sharex: bool = True) -> tuple[Figure, list[Axes]]:
    """A figure with ``nrows`` x ``ncols`` axes, or the figure of ``ax``.

    Figures are made without pyplot, so building many (widgets, tests) leaks
    nothing and shows nothing until displayed (then as a PNG, NotebookFigure).
    """
    if ax is not None:
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
    sec = ax.secondary_yaxis("right", functions=(lambda p: p * per_page,
                                                 lambda b: b / per_page))
    sec.set_ylabel(unit, fontsize=st.font)
    sec.tick_params(labelsize=st.small)
    sec.yaxis.set_major_locator(MaxNLocator(integer=True, steps=[1, 2, 4, 5, 10]))


def shared_legend(fig: Figure, axes: list[Axes], st: Style, inside: bool) -> None:
    """One legend for all panels: in the axes (``inside``) or below the figure."""
    seen: dict[str, object] = {}
    for a in axes:
        for h, lab in zip(*a.get_legend_handles_labels()):
            seen.setdefault(lab, h)
    if inside:
        axes[0].legend(seen.values(), seen.keys(), fontsize=st.small, loc="upper left")
    else:
        fig.legend(seen.values(), seen.keys(), fontsize=st.small, loc="outside lower center",
                   ncols=4 if st.width >= 7 else 3)


#: a series longer than this is drawn at display resolution (see step_xy)
DISPLAY_POINTS = 4000


def step_xy(values: np.ndarray, envelope: bool = True,
            max_points: int = DISPLAY_POINTS) -> tuple[np.ndarray, np.ndarray]:
    """x, y for drawstyle "steps-post" so that step i's state spans [i-0.5, i+0.5).

    A series longer than ``max_points`` is cut into buckets of k steps: with
    ``envelope`` each bucket is drawn from its maximum down to its minimum
    (what the full line looks like at screen resolution), without it (for
    filled areas) at its maximum. This keeps 100,000-step figures fast and small.
    """
    n = len(values)
    if n <= max_points:
        return np.arange(n + 1) - 0.5, np.append(values, values[-1:] if n else [np.nan])
    k = -(-n // (max_points // 2))
    grid = np.concatenate([values, np.full(-n % k, np.nan)]).reshape(-1, k)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)   # an all-nan bucket stays nan
        hi, lo = np.nanmax(grid, axis=1), np.nanmin(grid, axis=1)
    starts = np.arange(len(hi)) * k - 0.5
    if not envelope:
        return np.append(starts, n - 0.5), np.append(hi, hi[-1])
    x, y = np.empty(2 * len(hi) + 1), np.empty(2 * len(hi) + 1)
    x[0:-1:2], x[1:-1:2], x[-1] = starts, starts + k / 2, n - 0.5
    y[0:-1:2], y[1:-1:2], y[-1] = hi, lo, lo[-1]
    return x, y
