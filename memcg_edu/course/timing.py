"""How long a notebook takes a learner: reading plus doing, estimated.

The estimate each notebook states ("**Time:** about N minutes") and the
README's claim are checked against this (tests/notebooks/test_timing.py),
so they stay honest as notebooks grow. No kernel file: course logistics.

Reading: prose at 200 words a minute (a technical text read once, carefully),
code at 60 "words" a minute (a learner reads a cell before running it).
Doing: each predict-then-reveal widget, exercise, step player or dashboard,
explorer and practice set costs the minutes in ``ACTIVITY_MINUTES`` (a
learner thinks, types, checks, maybe tries again, reads the explanation).
"""
from __future__ import annotations

import json
import math
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

__all__ = ["ACTIVITY_MINUTES", "PROSE_WPM", "CODE_WPM", "Estimate", "estimate",
           "stated_minutes", "round_minutes"]

PROSE_WPM = 200
CODE_WPM = 60
#: activity (a code pattern in a cell) -> minutes a learner spends on it
ACTIVITY_MINUTES: dict[str, tuple[str, float]] = {
    "predict": (r"\bpredict\(", 2.0),                  # think, type, check, retry
    "exercise": (r"\bcourse\.check\(", 3.0),            # read, work out, check
    "player": (r"\b(stepper|dashboard)\(", 1.5),        # step through, look
    "explorer": (r"\bexplorer\(", 5.0),                 # toggle, explore, step
    "practice": (r"\bcourse\.practice\(", 10.0),        # a few generated problems
    "problem": (r"\bgenerate_problem\(", 0.0),          # counted per question below
}
#: one question of a generated problem (one step): predict 3 counters + a place
QUESTION_MINUTES = 1.5
_WORD = re.compile(r"[A-Za-z0-9_]+")


@dataclass(frozen=True)
class Estimate:
    """Minutes of reading and of activities, and what they add up to."""
    reading: float
    doing: float
    activities: dict[str, int]

    @property
    def total(self) -> float:
        return self.reading + self.doing

    @property
    def rounded(self) -> int:
        """The total to the nearest 5 minutes (at least 5)."""
        return round_minutes(self.total)


def round_minutes(m: float) -> int:
    """Minutes to the nearest 5, at least 5."""
    return max(5, int(5 * math.floor(m / 5 + 0.5)))


def _cells(path: Path) -> list[dict[str, Any]]:
    return json.loads(path.read_text(encoding="utf-8"))["cells"]


def estimate(path: str | Path) -> Estimate:
    """Reading and doing time of one notebook file."""
    prose = code = 0
    counts = {k: 0 for k in ACTIVITY_MINUTES}
    doing = 0.0
    for cell in _cells(Path(path)):
        src = "".join(cell["source"])
        if cell["cell_type"] == "markdown":
            prose += len(_WORD.findall(re.sub(r"\(https?://[^)]*\)", "", src)))
            continue
        if cell["cell_type"] != "code":
            continue
        lines = [ln for ln in src.splitlines() if not ln.lstrip().startswith("#")]
        code += len(_WORD.findall("\n".join(lines)))
        problem = "generate_problem(" in src    # its questions are counted by step
        for name, (pattern, minutes) in ACTIVITY_MINUTES.items():
            n = 0 if problem and name == "predict" else len(re.findall(pattern, "\n".join(lines)))
            counts[name] += n
            doing += n * minutes
        for m in re.finditer(r"generate_problem\([^)]*steps=(\d+)", src):
            doing += int(m.group(1)) * QUESTION_MINUTES
    return Estimate(prose / PROSE_WPM + code / CODE_WPM, doing,
                    {k: v for k, v in counts.items() if v})


def stated_minutes(path: str | Path) -> int | None:
    """The N of the notebook's "**Time:** about N minutes" line (None if absent)."""
    for cell in _cells(Path(path)):
        m = re.search(r"\*\*Time:\*\*\s*about\s+(\d+)\s+minutes", "".join(cell["source"]))
        if m:
            return int(m.group(1))
    return None
