"""Honest durations: each notebook states how long it takes a learner, the
statement matches the estimate of reading plus doing, and the README and the
workshop guide say the same."""
from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

from memcg_edu.course.timing import estimate, round_minutes, stated_minutes

ROOT = Path(__file__).resolve().parents[2]
NOTEBOOKS = sorted((ROOT / "notebooks").glob("[0-9][0-9]-*.ipynb"))


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.stem)
def test_each_notebook_states_its_estimated_time(path):
    stated = stated_minutes(path)
    assert stated is not None, f"{path.name} has no '**Time:** about N minutes' line"
    est = estimate(path)
    # what it says is the estimate, to the nearest 5 minutes (5 minutes of slack,
    # so that a small edit does not make it wrong; a new section does)
    assert abs(stated - est.total) <= 5, (path.name, stated, est)
    assert est.reading > 0 and est.doing > 0


def test_estimate_counts_reading_and_activities(tmp_path):
    import json
    nb = {"cells": [
        {"cell_type": "markdown", "source": ["word " * 400]},                   # 2 min
        {"cell_type": "code", "source": ["course.check('00', 1, ...)\n"]},       # 3 min
        {"cell_type": "code", "source": ["course.predict(tl, 1, 'A', ('usage',))"]},  # 2 min
        {"cell_type": "code", "source": ["p = generate_problem(seed=1, steps=4)\npredict(p)"]},
    ]}
    f = tmp_path / "x.ipynb"
    f.write_text(json.dumps(nb))
    e = estimate(f)
    assert e.activities == {"exercise": 1, "predict": 1, "problem": 1}
    assert e.doing == 3 + 2 + 4 * 1.5
    assert 2 < e.reading < 2.5
    assert round_minutes(12.4) == 10 and round_minutes(12.6) == 15 and round_minutes(1) == 5


def test_readme_and_workshop_guide_match_the_notebooks():
    stated = {p.stem: stated_minutes(p) for p in NOTEBOOKS}
    lo, hi, total = min(stated.values()), max(stated.values()), sum(stated.values())
    readme = " ".join((ROOT / "README.md").read_text().split())
    m = re.search(r"Eight notebooks of (\d+) to (\d+) minutes each.*?about ([\d.]+) hours", readme)
    assert m, "README: 'Eight notebooks of N to M minutes each ... about H hours'"
    assert (int(m.group(1)), int(m.group(2))) == (lo, hi)
    assert abs(float(m.group(3)) * 60 - total) <= 15
    guide = (ROOT / "docs" / "workshop.md").read_text()
    for stem, minutes in stated.items():
        row = re.search(rf"\| `{stem}` \|[^\n]*\| (\d+)\+? \|", guide)
        assert row and int(row.group(1)) == minutes, stem


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.stem)
def test_the_stated_reading_and_doing_minutes_are_the_estimates(path):
    """"about R of reading and D of predicting ..." : R and D are the estimate's
    two parts in whole minutes (notebook 06 once said 5 of reading for 9)."""
    first = json.loads(path.read_text())["cells"][0]
    text = " ".join("".join(first["source"]).split())
    m = re.search(r"about (\d+) of reading,? (?:and )?(\d+) of predicting", text)
    assert m, f"{path.name}: no 'about R of reading and D of predicting' in its first cell"
    est = estimate(path)
    assert abs(int(m.group(1)) - est.reading) <= 1, (path.name, m.group(0), est)
    assert abs(int(m.group(2)) - est.doing) <= 1, (path.name, m.group(0), est)
