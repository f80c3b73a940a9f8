"""Compare an ``expect`` step with a memcg's counters in a step record.

The names are the cgroup v1 files of mm/memcontrol.c in pages:
memory.usage_in_bytes -> "usage", memory.memsw.* -> "memsw_*",
memory.stat -> the statistics ("cache", "rss", "swap", ...).
"""
from __future__ import annotations

from typing import Any, Mapping

from ..timeline import STATS
from .format import EXPECT_NAMES

__all__ = ["failed_checks", "expected_counters"]


def expected_counters(step: Mapping[str, Any]) -> dict[str, Any]:
    """The counter -> value pairs an expect step asserts, in file order."""
    return {k: v for k, v in step.items() if k in EXPECT_NAMES}


def failed_checks(step: Mapping[str, Any], memcg: Mapping[str, Any]) -> list[str]:
    """One "usage is 1, expected 2" line per counter that does not hold."""
    out = []
    for name, want in expected_counters(step).items():
        got = (memcg.get("stat") or {}).get(name) if name in STATS else memcg.get(name)
        if got != want:
            out.append(f"{name} is {_show(got)}, expected {_show(want)}")
    return out


def _show(v: Any) -> str:
    return "unlimited" if v is None else str(v)
