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
from contextlib import contextmanager
from typing import Iterator

__all__ = ["collector_off"]


@contextmanager
def collector_off() -> Iterator[None]:
    """The cycle collector off within the block; on again after it if it
    was on before (a block inside another leaves it off)."""
    collecting = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if collecting:
            gc.enable()
