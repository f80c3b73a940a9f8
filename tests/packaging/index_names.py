"""Package names as the two indexes spell them (tests/packaging, tests/test_packaging.py).

conda-forge packages most PyPI distributions under the same name; the
exceptions memcg-edu needs are in CONDA_FORGE_TO_PYPI. CONDA_FORGE_PACKAGES
lists every conda-forge package the environment files may name, each checked
to exist on conda-forge when it was added here: a name missing from it is
a typo or an unchecked package.
"""
from __future__ import annotations

import os
from pathlib import Path

from packaging.requirements import Requirement
from packaging.utils import canonicalize_name

#: conda-forge package -> the PyPI distribution it packages, where they differ
CONDA_FORGE_TO_PYPI = {
    "python-build": "build",
    "playwright-python": "playwright",
}
#: conda-forge packages the environment files may name (see the module docstring)
CONDA_FORGE_PACKAGES = frozenset({
    "python", "pip", "numpy", "matplotlib", "pillow", "ipywidgets", "traitlets",
    "packaging", "jupyterlab", "ipykernel", "ipython", "voila", "ipympl", "jupyterhub",
    "jupyterhub-idle-culler", "pytest", "pytest-timeout", "hypothesis", "nbclient",
    "nbformat", "playwright-python", "pyyaml", "python-build",
    "mypy", "anywidget",
})
#: a local list of the names on PyPI (a TSV, the name first on each line):
#: MEMCG_EDU_PYPI_NAMES, else this machine's copy where it has one
PYPI_NAME_LISTS = [os.environ.get("MEMCG_EDU_PYPI_NAMES", ""),
                   "/work/.library/env/packages/pypi.tsv"]


def conda_names(env: dict) -> list[str]:
    """The canonical conda package names of an environment file."""
    return [canonicalize_name(Requirement(i).name)
            for i in env["dependencies"] if isinstance(i, str)]


def conda_requirements(env: dict) -> dict[str, str]:
    """{canonical PyPI name: specifier} of an environment file's conda
    packages (conda-forge names translated with CONDA_FORGE_TO_PYPI)."""
    out: dict[str, str] = {}
    for item in env["dependencies"]:
        if isinstance(item, str):
            req = Requirement(item)
            name = canonicalize_name(req.name)
            out[CONDA_FORGE_TO_PYPI.get(name, name)] = str(req.specifier)
    return out


def pypi_names() -> set[str] | None:
    """Every canonical name on PyPI per the first list found, or None."""
    for candidate in PYPI_NAME_LISTS:
        if candidate and Path(candidate).is_file():
            with open(candidate, encoding="utf-8", errors="replace") as f:
                return {canonicalize_name(line.split("\t", 1)[0]) for line in f}
    return None
