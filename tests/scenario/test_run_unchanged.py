"""Every shipped scenario runs as it did when the digests were recorded.

A speed-up of the engine (memcg_edu.scenario.run, memcg_edu.model) must not
change what a run shows: for each scenario of data/scenarios, under both
designs, each step's record (ok, error, events, counters of every memcg,
the labels and pfns it touched, OOM outcomes, design notes and the page
state snapshot) hashes to the digest kept in run_digests.json. The kernel
call log ("calls") is left out: it has its own tests
(test_scenario_calls.py, tests/model/test_calls.py).

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

DIGESTS = Path(__file__).parent / "run_digests.json"
SCENARIOS = sorted(SCENARIO_DIR.glob("*.json"))


def step_digests(path: Path, design: str) -> list[str]:
    """A short hash of each step's record, without its kernel calls."""
    tl = run_scenario(path, design, pages=True, calls=False)
    out = []
    for rec in tl:
        kept = {k: v for k, v in rec.items() if k != "calls"}
        text = json.dumps(kept, sort_keys=True)
        out.append(hashlib.sha256(text.encode()).hexdigest()[:16])
    return out


def _recorded() -> dict[str, dict[str, list[str]]]:
    return json.loads(DIGESTS.read_text())


def test_every_shipped_scenario_has_digests():
    assert sorted(_recorded()) == [p.name for p in SCENARIOS]


@pytest.mark.parametrize("design", DESIGNS)
@pytest.mark.parametrize("path", SCENARIOS, ids=lambda p: p.stem)
def test_a_run_shows_what_it_showed(path, design):
    want = _recorded()[path.name][design]
    got = step_digests(path, design)
    assert len(got) == len(want), f"{path.name} ({design}): {len(got)} steps, recorded {len(want)}"
    for i, (g, w) in enumerate(zip(got, want)):
        assert g == w, (f"{path.name} ({design}): step {i} records something else than "
                        f"it did (events, counters, labels or page states); if that is "
                        f"intended, run {Path(__file__).name} --update")


if __name__ == "__main__" and sys.argv[1:] == ["--update"]:
    DIGESTS.write_text(json.dumps(
        {p.name: {d: step_digests(p, d) for d in DESIGNS} for p in SCENARIOS},
        indent=1) + "\n")
    print(f"wrote {DIGESTS}")
