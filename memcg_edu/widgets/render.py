"""Show a matplotlib figure, or an HTML view, in a widget and update it per step.

Inline mode (default): the figure is drawn once with its step-dependent
artists left out; each step restores that background, draws only those
artists (the cursor, the LRU bars) and puts the picture into an ipywidgets
Output as a display_data bundle. The background goes as one PNG, encoded
once; what a step changed goes as small PNGs of the changed strips, laid
over it at their pixel places (a step that moves a cursor re-encodes a few
columns, not the figure). The pixels shown are the canvas's, exactly. Smooth mode
uses ipympl's canvas widget where ipympl is installed and falls back to
inline (with a note) where it is not. HtmlStepView: an HTML widget whose
text a subclass writes for each step. Presentation only.
"""
from __future__ import annotations

import base64
import html
import importlib.util
import re
import struct
import zlib
from typing import Callable, Sequence, cast

import ipywidgets as widgets
from matplotlib.artist import Artist
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure
import numpy as np

from ..errors import ModelUsageError
from ..safeio import html_text
from ..timeline import Timeline
from ..viz.style import alt_text

__all__ = ["HAVE_IPYMPL", "FigureView", "HtmlStepView", "png_bytes", "png_pixels"]

HAVE_IPYMPL = importlib.util.find_spec("ipympl") is not None


def _chunk(kind: bytes, data: bytes) -> bytes:
    return (struct.pack(">I", len(data)) + kind + data
            + struct.pack(">I", zlib.crc32(kind + data)))


def png_bytes(pixels: bytes, w: int, h: int) -> bytes:
    """A PNG of ``w`` x ``h`` RGBA pixels (Agg's buffer), made for speed: a
    widget sends one at every step. Every row unfiltered and zlib at its
    fastest level (Pillow tries a filter per row, three times slower);
    RGB where every pixel is opaque (a quarter less to compress and send).
    The pixels are the same."""
    rgba = np.frombuffer(pixels, np.uint8).reshape(h, w, 4)
    opaque = bool((rgba[:, :, 3] == 255).all())
    depth = 3 if opaque else 4
    rows = np.zeros((h, 1 + w * depth), np.uint8)     # filter byte 0: none
    body = np.lib.stride_tricks.as_strided(rows[:, 1:], (h, w, depth),
                                           (1 + w * depth, depth, 1))
    body[...] = rgba[:, :, :depth]                  # one pass, no copy between
    head = struct.pack(">IIBBBBB", w, h, 8, 2 if opaque else 6, 0, 0, 0)
    return (b"\x89PNG\r\n\x1a\n" + _chunk(b"IHDR", head)
            + _chunk(b"IDAT", zlib.compress(rows.tobytes(), 1)) + _chunk(b"IEND", b""))


def png_pixels(png: bytes) -> np.ndarray:
    """The RGBA pixels (h, w, 4) of a PNG made by ``png_bytes``."""
    w, h, _, colour = struct.unpack(">IIBB", png[16:26])
    depth = 3 if colour == 2 else 4
    data, pos = b"", 8
    while pos < len(png):
        n, kind = struct.unpack(">I4s", png[pos:pos + 8])
        if kind == b"IDAT":
            data += png[pos + 8:pos + 8 + n]
        pos += 12 + n
    rows = np.frombuffer(zlib.decompress(data), np.uint8).reshape(h, 1 + w * depth)
    out = np.full((h, w, 4), 255, np.uint8)
    out[:, :, :depth] = rows[:, 1:].reshape(h, w, depth)
    return out


def _changed_strips(before: np.ndarray, after: np.ndarray, gap: int = 24,
                   pad: int = 2) -> list[tuple[int, int, int, int]]:
    """The boxes (x0, y0, x1, y1) outside which ``after`` equals ``before``
    (two (h, w) arrays of packed pixels): runs of changed columns (runs
    closer than ``gap`` merged), each cut to its changed rows, ``pad``
    unchanged pixels round it so a browser scaling it blends no edge."""
    h, w = before.shape
    diff = before != after
    cols = np.flatnonzero(diff.any(axis=0))
    if not cols.size:
        return []
    cut = np.flatnonzero(np.diff(cols) > gap)
    boxes = []
    for x0, x1 in zip(np.r_[cols[0], cols[cut + 1]], np.r_[cols[cut], cols[-1]] + 1):
        rows = np.flatnonzero(diff[:, x0:x1].any(axis=1))
        boxes.append((max(0, int(x0) - pad), max(0, int(rows[0]) - pad),
                      min(w, int(x1) + pad), min(h, int(rows[-1]) + 1 + pad)))
    return boxes


class HtmlStepView(widgets.VBox):
    """One HTML widget (CSS class ``css_class``, stable for browser tests)
    rewritten by ``show(step)`` from the subclass's ``html_at(step)``;
    shows step 0 at once, so set what ``html_at`` needs first."""

    def __init__(self, timeline: Timeline, css_class: str) -> None:
        if not len(timeline):
            raise ModelUsageError("the timeline has no steps to show")
        self.timeline = timeline
        self.html = widgets.HTML()
        self.html.add_class(css_class)
        super().__init__([self.html])
        self.step = -1
        self.show(0)

    def show(self, step: int) -> None:
        step = self.timeline.step_index(step)
        self.step = step
        self.html.value = self.html_at(step)

    def html_at(self, step: int) -> str:
        raise NotImplementedError


class FigureView(widgets.VBox):
    """A figure plus the artists a step changes; ``update()`` shows the new step.

    ``animated`` are the artists ``update_fn(step)`` changes (it returns the
    changed ones; they must all be in ``animated``). ``smooth`` asks for the
    ipympl canvas. ``self.mode`` says what was used: "inline" or "ipympl".
    """

    #: inline pictures kept for revisited steps (about 100 KB each)
    CACHE_STEPS = 512

    def __init__(self, figure: Figure, animated: Sequence[Artist],
                 update_fn: Callable[[int], Sequence[Artist]], smooth: bool = False) -> None:
        self.figure = figure
        self.animated = list(animated)
        self._update_fn = update_fn
        self._background = None
        self._bg_packed = np.zeros((0, 0), np.uint32)  # what the background image shows
        self._bg_png = ""                            # and that image, base64
        self._cache: dict[int, dict] = {}
        self._last_pixels: bytes | None = None
        self.renders = 0
        self.step: int | None = None
        self.shown = True
        self._stale = False
        note = None
        if smooth and HAVE_IPYMPL:
            self.mode = "ipympl"
            self.output = self._ipympl_canvas(figure)
        else:
            self.mode = "inline"
            self.output = widgets.Output()
            if smooth:
                note = widgets.HTML("<small>Smooth mode needs ipympl, which is not "
                                    "installed here; showing inline images.</small>")
        for a in self.animated:
            a.set_animated(self.mode == "inline")
        super().__init__([c for c in (note, self.output) if c is not None])

    @staticmethod
    def _ipympl_canvas(figure: Figure):
        from ipympl.backend_nbagg import new_figure_manager_given_figure

        canvas = new_figure_manager_given_figure(id(figure), figure).canvas
        canvas.header_visible = False
        return canvas

    def update(self, step: int) -> None:
        """Show ``step``: update the artists, then blit (inline) or redraw (ipympl).

        Inline images are kept per step (up to CACHE_STEPS of them), so going
        back to a step already shown re-sends its image without drawing. While
        the view is hidden (``set_shown(False)``, e.g. a tab not selected) the
        artists follow but the image is only made when it is shown again.
        """
        self._update_fn(step)
        self.step = step
        if not self.shown:
            self._stale = True
            return
        self._stale = False
        if self.mode == "ipympl":
            self.output.draw_idle()
        elif step in self._cache:
            self.output.outputs = (self._cache[step],)
            self._last_pixels = None   # the screen no longer shows the last drawing
        else:
            self._blit()
            if len(self._cache) >= self.CACHE_STEPS:
                self._cache.pop(next(iter(self._cache)))
            self._cache[step] = self.output.outputs[0]
        self.renders += 1

    def set_shown(self, shown: bool) -> None:
        """Say whether the view is on screen; a view shown again catches up."""
        self.shown = shown
        if shown and self._stale and self.step is not None:
            self.update(self.step)

    @property
    def png(self) -> bytes:
        """The PNG of the picture shown now (inline mode), put together from
        the images sent as a browser lays them: the background with each
        strip at its place."""
        parts = re.findall(r"src='data:image/png;base64,([^']+)'(?: data-x='(\d+)' "
                           r"data-y='(\d+)')?", self.output.outputs[0]["data"]["text/html"])
        shown = png_pixels(base64.b64decode(parts[0][0]))
        for data, x, y in parts[1:]:
            strip = png_pixels(base64.b64decode(data))
            shown[int(y):int(y) + strip.shape[0], int(x):int(x) + strip.shape[1]] = strip
        return png_bytes(shown.tobytes(), shown.shape[1], shown.shape[0])

    def _blit(self) -> None:
        # inline mode: new_figure gave the figure an Agg canvas
        canvas = cast(FigureCanvasAgg, self.figure.canvas)
        if self._background is None:
            canvas.draw()  # animated artists are left out of this drawing
            self._background = canvas.copy_from_bbox(self.figure.bbox)
            w, h = canvas.get_width_height()
            background = bytes(canvas.buffer_rgba())
            self._bg_packed = np.frombuffer(background, np.uint32).reshape(h, w)
            self._bg_png = base64.b64encode(png_bytes(background, w, h)).decode("ascii")
        else:
            canvas.restore_region(self._background)
        for a in self.animated:
            if not a.get_visible():
                continue
            if a.axes is not None:
                a.axes.draw_artist(a)
            else:
                self.figure.draw_artist(a)
        pixels = bytes(canvas.buffer_rgba())
        if pixels != self._last_pixels:   # e.g. LRU bars that did not move: no new image
            self._last_pixels = pixels
            self.output.outputs = (self._bundle(pixels),)

    def _bundle(self, pixels: bytes) -> dict:
        w, h = self.figure.canvas.get_width_height()
        packed = np.frombuffer(pixels, np.uint32).reshape(h, w)
        strips = _changed_strips(self._bg_packed, packed)
        if sum((x1 - x0) * (y1 - y0) for x0, y0, x1, y1 in strips) > w * h // 2:
            # most of the figure changed: one image of it all
            self._bg_packed = packed
            self._bg_png = base64.b64encode(png_bytes(pixels, w, h)).decode("ascii")
            strips = []
        rgba = packed.view(np.uint8).reshape(h, w, 4)
        over = "".join(
            f"<img src='data:image/png;base64,"
            f"{base64.b64encode(png_bytes(rgba[y0:y1, x0:x1].tobytes(), x1 - x0, y1 - y0)).decode('ascii')}' "
            f"data-x='{x0}' data-y='{y0}' alt='' style='position:absolute;"
            f"left:{100 * x0 / w:.4f}%;top:{100 * y0 / h:.4f}%;width:{100 * (x1 - x0) / w:.4f}%;"
            f"height:{100 * (y1 - y0) / h:.4f}%'>" for x0, y0, x1, y1 in strips)
        alt = html_text(alt_text(self.figure), quote=True)
        # the picture fills the notebook's width; text/plain is the text alternative
        return {"output_type": "display_data",
                "data": {"text/html": f"<div style='position:relative;width:100%;"
                                      f"max-width:{int(w * 1.6)}px;line-height:0'>"
                                      f"<img src='data:image/png;base64,{self._bg_png}' "
                                      f"alt='{alt}' style='width:100%;height:auto'>{over}</div>",
                         "text/plain": alt_text(self.figure)},
                "metadata": {}}
