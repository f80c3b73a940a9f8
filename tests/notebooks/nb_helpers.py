"""Helpers of the notebook tests: where the notebooks are, how to run one."""
from __future__ import annotations

import os
from pathlib import Path

import nbformat

ROOT = Path(__file__).resolve().parents[2]
NOTEBOOK_DIR = ROOT / "notebooks"
#: per-cell timeout (s) when a test executes a notebook
CELL_TIMEOUT = 90


def notebook_paths() -> list[Path]:
    return sorted(NOTEBOOK_DIR.glob("[0-9][0-9]-*.ipynb"))


def execute(path: Path, env: dict[str, str] | None = None) -> nbformat.NotebookNode:
    """Run a notebook top to bottom in a fresh kernel; raise on any cell error."""
    from nbclient import NotebookClient

    nb = nbformat.read(path, as_version=4)
    old = {k: os.environ.get(k) for k in (env or {})}
    os.environ.update(env or {})    # the kernel process inherits this environment
    try:
        NotebookClient(nb, timeout=CELL_TIMEOUT, kernel_name="python3",
                       resources={"metadata": {"path": str(NOTEBOOK_DIR)}}).execute()
    finally:
        for k, v in old.items():
            if v is None:
                os.environ.pop(k, None)
            else:
                os.environ[k] = v
    return nb


def outputs_text(nb: nbformat.NotebookNode) -> str:
    """All text a run produced (stdout, reprs, errors), for assertions."""
    parts = []
    for cell in nb.cells:
        for out in cell.get("outputs", []):
            if "text" in out:
                parts.append(out["text"])
            for key in ("text/plain", "text/markdown", "text/html"):
                if key in out.get("data", {}):
                    parts.append(out["data"][key])
    return "\n".join(parts)
