"""Turn what a user hands a figure or widget into a Timeline.

Accepts a Timeline, a saved timeline (file or dict with "format":
"memcg-edu-timeline/1"), a scenario (file, dict or memcg_edu.scenario.Scenario,
run on the model) or the name of a bundled scenario in data/scenarios.
The scenario layer is imported only when a scenario has to be run.
"""
from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, Mapping, Sequence

from ..errors import ModelUsageError
from ..safeio import exists, read_json
from ..timeline import FORMAT, MAX_TIMELINE_BYTES, Timeline

if TYPE_CHECKING:
    from ..scenario.ahead import Ahead

__all__ = ["Source", "load_source"]


@dataclass
class Source:
    """A timeline and, when it came from a scenario, the scenario's steps."""
    timeline: Timeline
    steps: Sequence[Mapping[str, Any]] | None = None
    name: str = ""

    @property
    def tasks(self) -> dict[str, str]:
        """{task: memcg} of the scenario behind the timeline ({} if unknown)."""
        return dict(self.timeline.meta.get("tasks") or {})


def _run(scenario: Any, design: str | None, name: str, calls: bool | None = None,
         detail: bool | None = True, parsed: Any = None) -> Source:
    """``parsed``: the JSON of the scenario file ``scenario``, already read."""
    from ..scenario import DESIGNS, load_scenario, run_scenario
    from ..scenario.format import MAX_FILE_BYTES

    if parsed is not None and os.stat(scenario).st_size <= MAX_FILE_BYTES:
        # not parsed twice (a long file's JSON takes a tenth of a second);
        # a file over a scenario's size is read again, for load_scenario to
        # say so
        sc = load_scenario(parsed, scenario.name)
    else:
        sc = load_scenario(scenario)
    # None: the design the file says it is for (quiz --save writes it)
    design = design or sc.design or DESIGNS[0]
    return Source(run_scenario(sc, design=design, calls=calls, detail=detail),
                  list(sc.steps), name or sc.title)


def load_source(source: Any, design: str | None = "3.17", *,
                calls: bool | None = None, detail: bool | None = True,
                ahead: Ahead | None = None) -> Source:
    """A Source for ``source`` (see the module docstring); scenarios run on
    ``design`` (None: the file's own "design", else 3.17), recording each
    step's kernel calls as run_scenario's ``calls`` says (None: with the
    page state; False: none, for figures, which never show them), and
    each step's labels and touched pfns as its ``detail`` says (None:
    only with the page state, all a page grid reads them from).
    ``ahead``: the file ``source`` names, being loaded by a second process
    (scenario/ahead.py); what it could not load is loaded here."""
    if isinstance(source, Source):
        return source
    if isinstance(source, Timeline):
        return Source(source, source.meta.get("steps"), str(source.meta.get("title", "")))
    if isinstance(source, Mapping):
        if source.get("format") == FORMAT:
            tl = Timeline.from_dict(source)
            return Source(tl, None, str(tl.meta.get("title", "")))
        return _run(source, design, str(source.get("title", "")), calls, detail)
    if isinstance(source, (str, Path)):
        done = None if ahead is None else ahead.run(design, calls=calls, detail=detail)
        if done is not None:
            tl, sc = done
            return Source(tl, list(sc.steps), sc.title)
        from ..scenario.load import SCENARIO_DIR, find_scenario
        path = find_scenario(source)
        if not exists(path):
            raise ModelUsageError(
                f"{source}: no such file, and no bundled scenario of that name "
                f"in {SCENARIO_DIR}")
        # a regular file only, size capped while reading (memcg_edu.safeio)
        data = read_json(path, MAX_TIMELINE_BYTES,
                         lambda msg: ModelUsageError(
                             f"{path}: cannot read it as JSON: {msg}"))
        if isinstance(data, Mapping) and data.get("format") == FORMAT:
            tl = Timeline.from_dict(data, str(path))
            return Source(tl, None, str(tl.meta.get("title", path.stem)))
        return _run(path, design, "", calls, detail, data)
    if hasattr(source, "steps") and hasattr(source, "memcgs"):  # a Scenario
        return _run(source, design, str(getattr(source, "title", "")), calls, detail)
    raise ModelUsageError(f"cannot show {type(source).__name__}: give a Timeline, a "
                          f"timeline or scenario file, or a scenario")
