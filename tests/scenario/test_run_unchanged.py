"""Every shipped scenario runs as it did when the digests were recorded.

A speed-up of the engine (memcg_edu.scenario.run, memcg_edu.model) or of
the call log (memcg_edu.model.calls and the recording at the call sites)
must not change what a run shows. For each scenario of data/scenarios,
under both designs, two digests per step are kept:

* run_digests.json: the step's record without its kernel calls (ok,
  error, events, counters of every memcg, the labels and pfns it touched,
  OOM outcomes, design notes and the page state snapshot);
* calls_digests.json: the step's kernel calls (the dicts of `run --json`:
  function, depth, page, state at return, counters changed, and what each
  changed from).

When a change of behaviour is intended, record the digests again:

    PYTHONPATH=. python tests/scenario/test_run_unchanged.py --update
"""
from __future__ import annotations

import hashlib
import json
import sys
from pathlib import Path

import pytest

from memcg_edu.bundled import SCENARIO_DIR
from memcg_edu.scenario import DESIGNS, run_scenario
from memcg_edu.timeline import json_default

SCENARIOS = sorted(SCENARIO_DIR.glob("*.json"))
#: what is pinned -> (its digest file, what a differing step records otherwise)
PARTS = {"records": (Path(__file__).parent / "run_digests.json",
                     "events, counters, labels or page states"),
         "calls": (Path(__file__).parent / "calls_digests.json",
                   "kernel calls (a call, its state or the counters it changed)")}


def _hash(value: object) -> str:
    text = json.dumps(value, sort_keys=True, default=json_default)
    return hashlib.sha256(text.encode()).hexdigest()[:16]


def step_digests(path: Path, design: str, part: str) -> list[str]:
    """A short hash of each step's record without its calls ("records"),
    or of its calls ("calls")."""
    if part == "calls":
        return [_hash(rec["calls"])
                for rec in run_scenario(path, design, pages=False, calls=True)]
    return [_hash({k: v for k, v in rec.items() if k != "calls"})
            for rec in run_scenario(path, design, pages=True, calls=False)]


def _recorded(part: str) -> dict[str, dict[str, list[str]]]:
    return json.loads(PARTS[part][0].read_text())


@pytest.mark.parametrize("part", PARTS)
def test_every_shipped_scenario_has_digests(part):
    assert sorted(_recorded(part)) == [p.name for p in SCENARIOS]


@pytest.mark.parametrize("part", PARTS)
@pytest.mark.parametrize("design", DESIGNS)
@pytest.mark.parametrize("path", SCENARIOS, ids=lambda p: p.stem)
def test_a_run_shows_what_it_showed(path, design, part):
    want = _recorded(part)[path.name][design]
    got = step_digests(path, design, part)
    assert len(got) == len(want), f"{path.name} ({design}): {len(got)} steps, recorded {len(want)}"
    for i, (g, w) in enumerate(zip(got, want)):
        assert g == w, (f"{path.name} ({design}): step {i} records other "
                        f"{PARTS[part][1]} than it did; if that is intended, run "
                        f"{Path(__file__).name} --update")


if __name__ == "__main__" and sys.argv[1:] == ["--update"]:
    for part, (digests, _) in PARTS.items():
        digests.write_text(json.dumps(
            {p.name: {d: step_digests(p, d, part) for d in DESIGNS} for p in SCENARIOS},
            indent=1) + "\n")
        print(f"wrote {digests}")
