"""The cycle collector held off while a long run makes objects that hold no cycle.

A scenario run, a comparison, a plot's timelines, a parsed trace: each
makes hundreds of thousands of records (dicts and lists) that hold no
reference cycle, so reference counting frees every one of them as it is
let go. Python's cyclic garbage collector would still walk the live ones
at each of its collections, which come the more often the more is made:
a fifth of a scenario run with page snapshots, a tenth of the `run`
command's own process while it writes a long run's text. Not a kernel
structure.
"""
from __future__ import annotations

import gc
from types import TracebackType
from typing import Optional

__all__ = ["collector_off"]


class collector_off:
    """``with collector_off():`` the cycle collector off within the block;
    on again after it if it was on before (a block inside another leaves
    it off).

    A class: written as a contextlib.contextmanager (the collector turned
    off in its generator), the scenario run inside its block took a tenth
    more instructions on CPython 3.11 (callgrind: 27,000 a step); neither
    a class nor a plain generator doing the same costs anything a step."""

    def __enter__(self) -> None:
        self._was = gc.isenabled()
        gc.disable()

    def __exit__(self, kind: Optional[type[BaseException]],
                 error: Optional[BaseException],
                 tb: Optional[TracebackType]) -> None:
        if self._was:
            gc.enable()
