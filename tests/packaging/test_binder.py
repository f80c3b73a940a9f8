"""Binder and conda: the environment files parse, name only packages the
indexes have, the Binder badge opens 00-start-here in JupyterLab, and the
Binder environment (pip-installed into a fresh venv) runs notebook 00."""
from __future__ import annotations

import json
import os
import re
import subprocess
import sys

import pytest
import yaml
from packaging.requirements import Requirement
from packaging.utils import canonicalize_name

from index_names import (CONDA_FORGE_PACKAGES, CONDA_FORGE_TO_PYPI, conda_names,
                         conda_requirements, pypi_names)
from venv_helpers import ROOT, binder_environment, binder_pip_requirements, user_env

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover - pytest brings tomli on Python 3.10
    import tomli as tomllib

PROJECT = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
ENV_FILES = [ROOT / "environment.yml", ROOT / "binder" / "environment.yml"]


def declared(*extras: str) -> dict[str, str]:
    reqs = PROJECT["dependencies"] + [r for e in extras
                                      for r in PROJECT["optional-dependencies"][e]]
    return {canonicalize_name(Requirement(r).name): str(Requirement(r).specifier)
            for r in reqs}


@pytest.mark.parametrize("path", ENV_FILES, ids=lambda p: p.relative_to(ROOT).as_posix())
def test_environment_files_parse_and_use_conda_forge_names(path):
    env = yaml.safe_load(path.read_text())
    assert env["channels"] == ["conda-forge"]
    unknown = sorted(set(conda_names(env)) - CONDA_FORGE_PACKAGES)
    assert unknown == [], (f"{path.name}: {unknown} are not known conda-forge "
                           f"packages (check conda-forge, then add them to "
                           f"tests/packaging/index_names.py)")


def test_binder_is_the_runtime_and_dashboard_without_the_test_stack():
    env = binder_environment()
    assert conda_requirements(env) == {"python": PROJECT["requires-python"], "pip": "",
                                       **declared("dashboard")}
    assert not any(isinstance(i, dict) for i in env["dependencies"])   # no pip section
    test_only = set(declared("test")) - set(declared("dashboard"))
    assert test_only.isdisjoint(conda_requirements(env))
    post = ROOT / "binder" / "postBuild"
    assert os.access(post, os.X_OK)
    assert "pip install --no-deps" in post.read_text()


def test_every_package_name_is_on_the_index():
    names = pypi_names()
    if names is None:
        pytest.skip("no local list of PyPI names (set MEMCG_EDU_PYPI_NAMES to a "
                    "TSV whose first column is the name)")
    wanted = set(declared(*PROJECT["optional-dependencies"]))
    for path in ENV_FILES:
        wanted |= set(conda_requirements(yaml.safe_load(path.read_text())))
    wanted -= {"python", "pip"}
    assert sorted(wanted - names) == []
    assert set(CONDA_FORGE_TO_PYPI.values()) <= names


def test_the_binder_badge_opens_start_here_in_jupyterlab():
    head = (ROOT / "README.md").read_text().split("\n## ")[0]
    links = re.findall(r"\(https://mybinder\.org/v2/gh/([^/]+/[^/]+)/([^?)]+)\?([^)]*)\)", head)
    assert len(links) == 1, "the README's first lines need one Binder badge"
    repo, ref, query = links[0]
    assert query == "urlpath=lab/tree/notebooks/00-start-here.ipynb"
    assert (ROOT / "notebooks" / "00-start-here.ipynb").is_file()
    assert PROJECT["urls"]["Source"] == f"https://github.com/{repo}"


@pytest.mark.slow
@pytest.mark.timeout(600)   # may be the first to build the venv (conftest.py)
def test_the_binder_environment_runs_notebook_00(installed):
    prefix, home = installed[0], installed[1]
    listed = subprocess.run([str(prefix / "bin" / "python"), "-m", "pip", "list",
                             "--format=json"], capture_output=True, text=True,
                            env=user_env(prefix, home), check=True, timeout=120).stdout
    have = {canonicalize_name(d["name"]) for d in json.loads(listed)}
    assert {canonicalize_name(Requirement(r).name) for r in binder_pip_requirements()} <= have
    # Binder starts in the repository and opens notebooks/00-start-here.ipynb
    done = subprocess.run([str(prefix / "bin" / "python"),
                           str(ROOT / "tests" / "packaging" / "run_notebooks.py"),
                           str(ROOT / "notebooks" / "00-start-here.ipynb")],
                          capture_output=True, text=True, timeout=240, cwd=home,
                          env=user_env(prefix, home))
    assert done.returncode == 0, done.stderr[-3000:]
    result = json.loads(done.stdout)["00-start-here.ipynb"]
    assert result["error"] is None
    assert "Check(what='voila', ok=True" in result["text"]
