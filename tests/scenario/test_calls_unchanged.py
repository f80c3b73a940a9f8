"""Every shipped scenario records the kernel calls it recorded when the digests were taken.

test_run_unchanged.py pins each step's record without its "calls"; this
pins the calls: for each scenario of data/scenarios, under both designs,
each step's calls (the dicts of `run --json`: function, depth, page, state
at return, counters changed, and what each changed from) hash to the digest
kept in calls_digests.json. A speed-up of the call log
(memcg_edu.model.calls and the recording at the call sites) must keep them.

When a change of what the calls show is intended, record the digests again:

    PYTHONPATH=. python tests/scenario/test_calls_unchanged.py --update
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

DIGESTS = Path(__file__).parent / "calls_digests.json"
SCENARIOS = sorted(SCENARIO_DIR.glob("*.json"))


def call_digests(path: Path, design: str) -> list[str]:
    """A short hash of each step's kernel calls."""
    out = []
    for rec in run_scenario(path, design, pages=False, calls=True):
        text = json.dumps(rec["calls"], sort_keys=True, default=json_default)
        out.append(hashlib.sha256(text.encode()).hexdigest()[:16])
    return out


def _recorded() -> dict[str, dict[str, list[str]]]:
    return json.loads(DIGESTS.read_text())


def test_every_shipped_scenario_has_call_digests():
    assert sorted(_recorded()) == [p.name for p in SCENARIOS]


@pytest.mark.parametrize("design", DESIGNS)
@pytest.mark.parametrize("path", SCENARIOS, ids=lambda p: p.stem)
def test_a_run_records_the_calls_it_recorded(path, design):
    want = _recorded()[path.name][design]
    got = call_digests(path, design)
    assert len(got) == len(want), f"{path.name} ({design}): {len(got)} steps, recorded {len(want)}"
    for i, (g, w) in enumerate(zip(got, want)):
        assert g == w, (f"{path.name} ({design}): step {i} records other kernel calls "
                        f"than it did (a call, its state or the counters it changed); "
                        f"if that is intended, run {Path(__file__).name} --update")


if __name__ == "__main__" and sys.argv[1:] == ["--update"]:
    DIGESTS.write_text(json.dumps(
        {p.name: {d: call_digests(p, d) for d in DESIGNS} for p in SCENARIOS},
        indent=1) + "\n")
    print(f"wrote {DIGESTS}")
