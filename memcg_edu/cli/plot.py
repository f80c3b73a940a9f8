"""``python -m memcg_edu plot FILE --out fig.png``: the figures of a scenario.

FILE is a scenario (run on the model) or a saved timeline. Writes
fig.png (usage and memsw vs limits), fig-stats.png (rss, cache, swap),
fig-lru.png (LRU lists at --step), fig-pages.png (page grid at --step, when
the timeline has page state) and, with --overlay or --overlay-design,
fig-overlay.png. The extension picks the format (png, pdf, svg).
"""
from __future__ import annotations

import argparse
import gc
from pathlib import Path
from typing import TYPE_CHECKING, Callable

from ..collector import collector_off
from ..errors import ModelUsageError
from ..quick_exit import keep
from ..safeio import check_output, write_atomic
from ..scenario import DESIGNS
from ..scenario.ahead import Ahead, ahead
from ..timeline import Timeline
from . import add_force_argument

if TYPE_CHECKING:
    from matplotlib.figure import Figure

__all__ = ["add_parser", "main", "FIGURES"]

FIGURES = ("counters", "stats", "lru", "pages", "overlay")


def add_parser(sub) -> None:
    p = sub.add_parser("plot", help="write the figures of a scenario or timeline",
                       description=__doc__.split("\n\n")[1])
    p.add_argument("file", help="scenario file, bundled scenario name, or saved timeline")
    p.add_argument("--out", required=True,
                   help="output file; the other figures get -stats, -lru, ... suffixes")
    p.add_argument("--design", choices=DESIGNS, default=None,
                   help="design to run a scenario on (default: the file's "
                        "\"design\", else 3.17)")
    p.add_argument("--step", type=int, default=-1,
                   help="step for the LRU and page-grid figures (default: the last)")
    p.add_argument("--size", choices=("screen", "projector", "print"), default="screen",
                   help="fonts and lines for a screen, a projector or print")
    p.add_argument("--memcg", action="append",
                   help="only this memcg (repeat for more; default: all)")
    p.add_argument("--only", action="append", choices=FIGURES,
                   help="write only this figure (repeatable)")
    add_force_argument(p)
    group = p.add_mutually_exclusive_group()
    group.add_argument("--overlay", metavar="FILE2",
                       help="second scenario or timeline to overlay (model vs kernel)")
    group.add_argument("--overlay-design", choices=DESIGNS,
                       help="run the scenario on this design too and overlay it")
    p.set_defaults(func=main)


def _paths(out: Path) -> dict[str, Path]:
    # matplotlib only when plotting: it costs every other command ~0.7 s to load
    from matplotlib.backend_bases import FigureCanvasBase

    ext = out.suffix.lstrip(".").lower()
    formats = FigureCanvasBase.get_supported_filetypes()
    if ext not in formats:
        raise ModelUsageError(f"--out {out}: unknown image format {ext or '(none)'!r}; "
                              f"use one of {', '.join(sorted(formats))}")
    stem = out.with_suffix("")
    return {"counters": out, **{k: Path(f"{stem}-{k}{out.suffix}")
                                for k in FIGURES[1:]}}


def main(args: argparse.Namespace) -> int:
    # a long scenario file is loaded by a second process while this one
    # imports what it draws with, then runs its steps as they come
    # (scenario/ahead.py)
    with ahead(args.file) as early:
        return _plot(args, early)


def _plot(args: argparse.Namespace, early: Ahead | None) -> int:
    paths = _paths(Path(args.out))
    want = set(args.only or FIGURES)
    overlay = args.overlay or args.overlay_design
    if args.only and "overlay" in want and not overlay:
        raise ModelUsageError("--only overlay needs --overlay FILE2 or "
                              "--overlay-design DESIGN (what to overlay)")
    if not overlay:
        want.discard("overlay")
    # every output checked before any work: folder, kernel files, symlinks,
    # existing files (--force)
    for kind in sorted(want):
        check_output(paths[kind], args.force, "--out")
    # The timelines hold no cycles and outlive the drawing. The collector is
    # off while they are made (each collection would walk every record made
    # so far: the one that followed a long run took a twentieth of a plot),
    # and they are out of its sight (frozen) while the figures are drawn
    with collector_off():
        tl, step, other = _timelines(args, early)
        # let go by the process's end if it ends with this command, not
        # record by record on return (memcg_edu/quick_exit.py)
        keep(tl, other)
        gc.freeze()
    try:
        return _draw(args, paths, want, tl, step, other)
    finally:
        gc.unfreeze()


def _timelines(args: argparse.Namespace, early: Ahead | None
               ) -> tuple[Timeline, int, Timeline | None]:
    """The timeline to draw, its step for --step, and the one to overlay
    (``early``: the file's loading, begun)."""
    from ..viz.source import load_source

    # no figure shows a step's kernel calls: none recorded; a step's labels
    # only the page grid shows, drawn from a step's page state: kept with it
    tl = load_source(args.file, args.design, calls=False, detail=None,
                     ahead=early).timeline
    if not len(tl):
        raise ModelUsageError(f"{args.file}: the timeline has no steps")
    step = tl.step_index(args.step, "--step")
    other = None
    if args.overlay:
        other = load_source(args.overlay, args.design, calls=False, detail=None).timeline
    elif args.overlay_design:
        other = load_source(args.file, args.overlay_design, calls=False,
                            detail=None).timeline
    return tl, step, other


def _draw(args: argparse.Namespace, paths: dict[str, Path], want: set[str],
          tl: Timeline, step: int, other: Timeline | None) -> int:
    """Make the figures ``want`` names, then write them."""
    from ..viz import plot_counters, plot_lru, plot_overlay, plot_pagegrid, plot_stats
    from ..viz.render import render

    # each figure made where it is rendered (viz/render.py: the first
    # here, on two CPUs the others in a child meanwhile)
    makers: dict[str, Callable[[], Figure]] = {}
    if "counters" in want:
        makers["counters"] = lambda: plot_counters(tl, args.memcg, size=args.size)
    if "stats" in want:
        makers["stats"] = lambda: plot_stats(tl, args.memcg, size=args.size)
    if "lru" in want:
        makers["lru"] = lambda: plot_lru(tl, step, size=args.size)
    if "pages" in want:
        if tl[step].get("pages"):
            makers["pages"] = lambda: plot_pagegrid(tl, step, size=args.size)
        else:
            print(f"page grid skipped: step {step} has no page state "
                  f"(recorded only for small machines)")
    if "overlay" in want and other is not None:
        name = (args.memcg or [None])[0]
        # the scenario run on --overlay-design is the one drawn first
        first, second = (other, tl) if args.overlay_design else (tl, other)
        makers["overlay"] = lambda: plot_overlay(first, second, name, size=args.size)
    # every figure made and rendered before any is written, so a failure
    # writes nothing
    rendered = render(makers, paths["counters"].suffix.lstrip(".").lower(), len(tl))
    for kind, data in rendered.items():
        write_atomic(paths[kind], data, overwrite=args.force)
        print(f"wrote {paths[kind]} ({kind})")
    return 0
