"""How long each notebook takes to run top to bottom in a fresh kernel.

The target (formerly a timed assert in tests/notebooks): every notebook in
well under a minute, aim below 15 s; ``over budget`` names those above
BUDGET_S. Notebook 06 runs with MEMCG_EDU_LIVE=0 (the recorded timelines),
as the notebook test does; the runner is the test's own
(tests/notebooks/nb_helpers.py).
"""
from __future__ import annotations

import importlib.util
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
#: seconds a notebook may take before it counts as over budget
BUDGET_S = 45


def _helpers():
    path = ROOT / "tests" / "notebooks" / "nb_helpers.py"
    spec = importlib.util.spec_from_file_location("nb_helpers", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def run() -> dict:
    nb = _helpers()
    out: dict = {}
    slow = []
    for path in nb.notebook_paths():
        env = {"MEMCG_EDU_LIVE": "0"} if path.name.startswith("06") else {}
        t0 = time.perf_counter()
        nb.execute(path, env)
        took = time.perf_counter() - t0
        out[f"{path.stem} s"] = round(took, 1)
        if took >= BUDGET_S:
            slow.append(path.stem)
    out["over budget"] = ", ".join(slow) or "none"
    return out
