"""Links to the Linux v3.17 source, and a step's kernel calls in words.

The words for each kernel function (mm/memcontrol.c and its mm callers)
are the widgets' (memcg_edu.widgets.kernel_words); this module only picks
the function names out of a step's ``events`` for the course's checks.
"""
from __future__ import annotations

from typing import Any, Iterable

__all__ = ["source_url", "explain_events"]


def source_url(path: str, version: str = "v3.17") -> str:
    """Link to ``path`` (e.g. "mm/memcontrol.c") in that Linux release."""
    return f"https://elixir.bootlin.com/linux/{version}/source/{path.lstrip('/')}"


def explain_events(events: Iterable[Any]) -> list[str]:
    """One line per distinct kernel function a step called, in call order.

    Names without words (the mm operation itself, a ``function:case``
    marker) are left out.
    """
    from ..widgets.kernel_words import FUNCTION_WORDS, describe_functions
    names = [str(e.get("function", "")) if isinstance(e, dict) else str(e)
             for e in events or ()]
    return describe_functions(n for n in names if n in FUNCTION_WORDS)
