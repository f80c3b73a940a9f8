"""How long each notebook takes to run top to bottom in a fresh kernel.

The target (formerly a timed assert in tests/notebooks): every notebook in
well under a minute, aim below 15 s; ``over budget`` names those above
BUDGET_S. Notebook 06 runs with MEMCG_EDU_LIVE=0 (the recorded timelines),
as the test does.
"""
from __future__ import annotations

import os
import time
from pathlib import Path

import nbformat

ROOT = Path(__file__).resolve().parents[1]
NOTEBOOKS = ROOT / "notebooks"
#: seconds a notebook may take before it counts as over budget
BUDGET_S = 45


def _execute(path: Path) -> float:
    from nbclient import NotebookClient

    nb = nbformat.read(path, as_version=4)
    env = {"MEMCG_EDU_LIVE": "0"} if path.name.startswith("06") else {}
    old = {k: os.environ.get(k) for k in env}
    os.environ.update(env)
    t0 = time.perf_counter()
    try:
        NotebookClient(nb, timeout=600, kernel_name="python3",
                       resources={"metadata": {"path": str(NOTEBOOKS)}}).execute()
    finally:
        for k, v in old.items():
            if v is None:
                os.environ.pop(k, None)
            else:
                os.environ[k] = v
    return time.perf_counter() - t0


def run() -> dict:
    out: dict = {}
    slow = []
    for path in sorted(NOTEBOOKS.glob("[0-9][0-9]-*.ipynb")):
        took = _execute(path)
        out[f"{path.stem} s"] = round(took, 1)
        if took >= BUDGET_S:
            slow.append(path.stem)
    out["over budget"] = ", ".join(slow) or "none"
    return out
