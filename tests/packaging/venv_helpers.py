"""Build memcg-edu as a user would get it and install it into a fresh venv
outside the repository (tests/packaging)."""
from __future__ import annotations

import os
import shutil
import subprocess
import sys
import venv
from pathlib import Path

import yaml

from index_names import conda_requirements

ROOT = Path(__file__).resolve().parents[2]
#: what an sdist is built from (MANIFEST.in and setup.py decide what it holds)
SOURCE = ("pyproject.toml", "setup.py", "MANIFEST.in", "LICENSE", "README.md",
          "memcg_edu", "data", "notebooks")
#: limit for one pip or build run (s); pip reuses its cache after the first run
PIP_TIMEOUT = 240


def copy_source(dest: Path) -> Path:
    """The files a build reads, copied to ``dest`` so the build leaves no
    build/ or *.egg-info in the checkout."""
    ignore = shutil.ignore_patterns("__pycache__", ".ipynb_checkpoints", "*.egg-info")
    for name in SOURCE:
        src = ROOT / name
        if src.is_dir():
            shutil.copytree(src, dest / name, ignore=ignore)
        else:
            dest.mkdir(parents=True, exist_ok=True)
            shutil.copy2(src, dest / name)
    return dest


def build(src: Path, out: Path) -> tuple[Path, Path]:
    """(sdist, wheel) of ``src``; the wheel is built from the sdist, as pip does."""
    subprocess.run([sys.executable, "-m", "build", "--outdir", str(out), str(src)],
                   check=True, capture_output=True, text=True, timeout=PIP_TIMEOUT)
    return next(out.glob("*.tar.gz")), next(out.glob("*.whl"))


def user_env(prefix: Path, home: Path, **extra: str) -> dict[str, str]:
    """The environment of a user of ``prefix`` (a venv): its bin first on PATH,
    nothing of this checkout importable, a home of its own."""
    env = {k: v for k, v in os.environ.items()
           if k not in ("PYTHONPATH", "VIRTUAL_ENV", "PYTHONHOME")
           and not k.startswith(("JUPYTER", "MEMCG_EDU", "PYTEST"))}
    env.update(PATH=f"{prefix / 'bin'}{os.pathsep}{env.get('PATH', '/usr/bin:/bin')}",
               HOME=str(home), VIRTUAL_ENV=str(prefix), **extra)
    return env


def fresh_venv(prefix: Path, *requirements: str, home: Path) -> Path:
    """A new venv at ``prefix`` with ``requirements`` pip-installed; its python."""
    venv.create(prefix, with_pip=True, clear=True)
    python = prefix / "bin" / "python"
    done = subprocess.run([str(python), "-m", "pip", "install", "--quiet",
                           "--disable-pip-version-check", *requirements],
                          capture_output=True, text=True, timeout=PIP_TIMEOUT,
                          env=user_env(prefix, home), cwd=home)
    assert done.returncode == 0, f"pip install {' '.join(requirements)} failed:\n{done.stderr[-3000:]}"
    return python


def binder_environment() -> dict:
    return yaml.safe_load((ROOT / "binder" / "environment.yml").read_text())


def binder_pip_requirements() -> list[str]:
    """binder/environment.yml's packages as pip requirements (python, pip aside)."""
    return [f"{name}{spec}" for name, spec in
            conda_requirements(binder_environment()).items()
            if name not in ("python", "pip")]
