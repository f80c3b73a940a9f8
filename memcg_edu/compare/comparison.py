"""One scenario under the 3.16 and the 3.17 design: the two timelines and what differs.

The 3.16 design uncharges at type-specific events (mm/rmap.c
page_remove_rmap, mm/filemap.c delete_from_page_cache, mm/swapfile.c
swapcache_free, mm/migrate.c end of migration) under lock_page_cgroup; the
3.17 design uncharges once, at the final put (mm/swap.c, mm/vmscan.c).
A Comparison holds both timelines so a plot can overlay them, the per-step
counters side by side, and per design the calls, locks and special cases.
"""
from __future__ import annotations

import functools
from typing import Any, Mapping

from ..errors import ModelUsageError
from ..timeline import Timeline
from .calls import summarize_calls
from .diff import diff_steps

__all__ = ["DESIGNS", "Comparison", "compare_timelines"]

#: The two designs, old first (the column order of every table).
DESIGNS = ("3.16", "3.17")


class Comparison:
    """Two timelines of one scenario and their differences.

    ``timelines`` maps "3.16" and "3.17" to memcg_edu.timeline.Timeline
    objects; ``rows`` is the per-step side-by-side table (see
    memcg_edu.compare.diff.diff_steps); ``summary`` maps each design to
    its calls (memcg_edu.compare.calls.summarize_calls).
    """

    def __init__(self, timelines: Mapping[str, Timeline],
                 title: str | None = None) -> None:
        missing = [d for d in DESIGNS if d not in timelines]
        if missing:
            raise ModelUsageError(f"a comparison needs a timeline for each of "
                                  f"{', '.join(DESIGNS)}; missing {', '.join(missing)}")
        self.timelines: dict[str, Timeline] = {d: timelines[d] for d in DESIGNS}
        self.title = title or self.timelines["3.17"].meta.get("title") or ""
        self.rows = diff_steps(self.timelines["3.16"], self.timelines["3.17"], DESIGNS)
        self.summary = {d: summarize_calls(self.timelines[d], d) for d in DESIGNS}

    @functools.cached_property
    def differing_steps(self) -> list[int]:
        """Step numbers where some counter differs between the designs."""
        return [i for i in range(len(self.rows)) if self.rows.differs(i)]

    @property
    def kernel_bugs(self) -> list[dict[str, Any]]:
        """Where a design's run stopped at a broken kernel precondition."""
        out = []
        for d in DESIGNS:
            at = self.timelines[d].meta.get("stopped_at")
            if at is not None:
                out.append({"design": d, "step": int(at),
                            "error": self.timelines[d][int(at)].get("error")})
        return out

    @property
    def end_differences(self) -> list[list[str]]:
        """[memcg, counter] pairs that still differ after the last step."""
        return self.rows[-1]["differs"] if self.rows else []

    @property
    def same_end_state(self) -> bool:
        """True if every counter agrees after the last step."""
        return not self.end_differences

    def to_dict(self) -> dict[str, Any]:
        """The comparison as JSON-able data (what ``compare --json`` prints)."""
        return {"format": "memcg-edu-compare/1", "title": self.title,
                "designs": list(DESIGNS), "steps": list(self.rows),
                "differing_steps": self.differing_steps,
                "same_end_state": self.same_end_state,
                "end_differences": self.end_differences,
                "kernel_bugs": self.kernel_bugs,
                "summary": self.summary}


def compare_timelines(old: Timeline, new: Timeline,
                      title: str | None = None) -> Comparison:
    """Compare a 3.16 timeline with a 3.17 timeline of the same scenario."""
    return Comparison({"3.16": old, "3.17": new}, title)
