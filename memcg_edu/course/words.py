"""Links to the Linux v3.17 source (widgets.links), and a step's kernel calls in words.

The words for each kernel function (mm/memcontrol.c and its mm callers)
are the widgets' (memcg_edu.widgets.kernel_words, which also reads the
names out of a step's ``events``); this module only keeps the functions
that have words, for the course's checks.
"""
from __future__ import annotations

from typing import Any, Iterable

from ..widgets.links import ident_url, source_url

__all__ = ["source_url", "ident_url", "explain_events"]


def explain_events(events: Iterable[Any]) -> list[str]:
    """One line per distinct kernel function a step called, in call order.

    Names without words (the mm operation itself, a ``function:case``
    marker) are left out.
    """
    from ..widgets.kernel_words import FUNCTION_WORDS, describe_functions, event_functions
    return describe_functions(n for n in event_functions(events) if n in FUNCTION_WORDS)
