"""The 3.16 design beside the 3.17 one, on the same scenario.

>>> from memcg_edu.compare import compare_scenario
>>> cmp = compare_scenario("data/scenarios/final-put-pinned.json")
>>> cmp.timelines["3.16"].counter("A", "usage")   # overlay with "3.17"
>>> print(render_text(cmp))

Modules: comparison (the Comparison object), diff (per-step counters side
by side), calls (entry points, page_cgroup locks and special cases per
design), report (text), run (runs a scenario file under both designs), stream
(both designs step by step, the report written as it goes: the command line's;
the 3.16 run of a long scenario in a second process, scenario/beside.py).
"""
from .calls import CATEGORIES, ENTRY_POINTS, LOCK_EVENT, SPECIAL_CASES, summarize_calls
from .comparison import DESIGNS, Comparison, compare_timelines
from .diff import SHOWN, diff_steps
from .report import render_text
from .run import compare_scenario

__all__ = ["DESIGNS", "Comparison", "compare_timelines", "compare_scenario",
           "diff_steps", "summarize_calls", "render_text", "SHOWN",
           "ENTRY_POINTS", "LOCK_EVENT", "SPECIAL_CASES", "CATEGORIES"]
