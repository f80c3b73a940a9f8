"""The type hints are checked: mypy passes on memcg_edu/ with the project's
configuration ([tool.mypy] in pyproject.toml), which holds memcg_edu.model to
mypy's strict flags."""
from __future__ import annotations

import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
CONFIG = ROOT / "pyproject.toml"


def _mypy(cwd: Path, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "mypy", "--config-file", str(CONFIG),
                           *args], cwd=cwd, capture_output=True, text=True, timeout=600)


def _errors(run: subprocess.CompletedProcess[str]) -> list[str]:
    return [line for line in run.stdout.splitlines() if ": error:" in line]


def test_mypy_passes_on_the_package():
    run = _mypy(ROOT)
    errors = _errors(run)
    assert run.returncode == 0 and not errors, (
        f"mypy found {len(errors)} errors in memcg_edu/:\n" + "\n".join(errors)
        if errors else run.stdout + run.stderr)


def test_the_model_alone_is_held_to_the_strict_flags(tmp_path):
    """An unannotated function is an error in memcg_edu.model, not elsewhere
    (the override reaches the model and does not leak to other packages)."""
    model = tmp_path / "memcg_edu" / "model"
    model.mkdir(parents=True)
    for init in (tmp_path / "memcg_edu" / "__init__.py", model / "__init__.py"):
        init.write_text("")
    untyped = "def double(x):\n    return 2 * x\n"
    (model / "probe.py").write_text(untyped)
    (tmp_path / "memcg_edu" / "probe.py").write_text(untyped)
    errors = _errors(_mypy(tmp_path, "--cache-dir", str(tmp_path / ".mypy_cache")))
    assert [e.split(":")[0] for e in errors] == ["memcg_edu/model/probe.py"], errors
    assert "[no-untyped-def]" in errors[0]
