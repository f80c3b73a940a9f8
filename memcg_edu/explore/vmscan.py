"""Step builders for the frame of mm/vmscan.c:shrink_page_list around one page.

Reclaim isolates the page from its LRU (isolate_lru_pages, a reference),
trylocks it (a page locked by someone else is put back untouched), and
after the race's own work either frees it (``free_it``: the lock is
dropped with __clear_page_locked and the frame goes to the allocator) or
unlocks it and puts it back on an LRU (putback_inactive_pages). The races
supply the isolation test and the middle steps; these are the rest.
"""
from __future__ import annotations

from typing import Callable

from .kernel import free_page, putback_lru_page, trylock_page
from .paths import END, Next, Step
from .state import World

__all__ = ["isolate_and_trylock", "free_or_putback"]

_SPL = "mm/vmscan.c:shrink_page_list"


def isolate_and_trylock(page: str, isolate: Callable[[World, object], Next]) -> list[Step]:
    """isolate_lru_pages (``isolate`` decides) and trylock_page; a page
    locked elsewhere goes to the ``putback_lru_page`` label."""
    return [
        Step("isolate_lru_page", "mm/vmscan.c:isolate_lru_pages", isolate,
             takes=("lru_lock",), releases=("lru_lock",)),
        Step("trylock_page", _SPL,
             lambda w, ctx: None if trylock_page(w, page, ctx.path) else "putback_lru_page"),
    ]


def free_or_putback(page: str, unlock: str) -> list[Step]:
    """Labels ``free_it`` (unlock and free, ends the path), ``unlock``
    (unlock_page, keep the page) and ``putback_lru_page``."""
    def freed(w: World, ctx) -> str:
        free_page(w, page)
        w.drop(f"page:{page}", ctx.path)
        return END

    return [
        Step("free_it", _SPL, freed, takes=("lru_lock",), releases=("lru_lock",)),
        Step(unlock, _SPL, lambda w, ctx: None, releases=(f"page:{page}",)),
        Step("putback_lru_page", "mm/vmscan.c:putback_inactive_pages",
             lambda w, ctx: putback_lru_page(w, page),
             takes=("lru_lock",), releases=("lru_lock",)),
    ]
