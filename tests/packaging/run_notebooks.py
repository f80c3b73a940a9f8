"""Run notebooks top to bottom with nbclient, inside an installed memcg-edu.

    python run_notebooks.py NOTEBOOK...     (each runs in its own folder)

Prints one JSON object: {notebook name: {"error": text or
null, "text": all text output}}. Used by tests/packaging against a venv
that is not the test runner's, so it imports nothing from the tests.
"""
from __future__ import annotations

import json
import sys
from pathlib import Path

import nbformat
from nbclient import NotebookClient

CELL_TIMEOUT = 120


def text_of(nb) -> str:
    parts = []
    for cell in nb.cells:
        for out in cell.get("outputs", []):
            parts.append(out.get("text", ""))
            parts.append(out.get("data", {}).get("text/plain", ""))
            parts.append("".join(out.get("traceback", [])))
    return "\n".join(parts)


def main(paths: list[str]) -> None:
    results = {}
    for name in paths:
        path = Path(name)
        nb = nbformat.read(path, as_version=4)
        error = None
        try:
            NotebookClient(nb, timeout=CELL_TIMEOUT, kernel_name="python3",
                           resources={"metadata": {"path": str(path.parent)}}).execute()
        except Exception as e:  # the test reports which notebook and why
            error = f"{type(e).__name__}: {str(e)[-2000:]}"
        results[path.name] = {"error": error, "text": text_of(nb)}
    print(json.dumps(results))


if __name__ == "__main__":
    main(sys.argv[1:])
