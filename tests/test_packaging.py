"""The two install routes (pip with pyproject.toml, conda with environment.yml)
must ask for the same dependencies with the same lower bounds."""
from __future__ import annotations

import importlib.metadata
import sys
from pathlib import Path

import pytest
import yaml
from packaging.requirements import Requirement
from packaging.utils import canonicalize_name
from packaging.version import Version

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover - pytest brings tomli on Python 3.10
    import tomli as tomllib

ROOT = Path(__file__).resolve().parents[1]


def pyproject() -> dict:
    return tomllib.loads((ROOT / "pyproject.toml").read_text())


def environment() -> dict:
    return yaml.safe_load((ROOT / "environment.yml").read_text())


def pip_requirements() -> dict[str, str]:
    """{canonical name: specifier} of the runtime and test dependencies."""
    project = pyproject()["project"]
    reqs = project["dependencies"] + project["optional-dependencies"]["test"]
    out: dict[str, str] = {}
    for text in reqs:
        req = Requirement(text)
        out[canonicalize_name(req.name)] = str(req.specifier)
    return out


def conda_requirements(env: dict) -> dict[str, str]:
    """{canonical name: specifier} of environment.yml's conda packages."""
    out: dict[str, str] = {}
    for item in env["dependencies"]:
        if isinstance(item, str):
            req = Requirement(item)
            out[canonicalize_name(req.name)] = str(req.specifier)
    return out


def drift(pip: dict[str, str], conda: dict[str, str]) -> list[str]:
    """Every way the two lists disagree, in words (python and pip aside)."""
    conda = {k: v for k, v in conda.items() if k not in ("python", "pip")}
    problems = [f"{n} is in pyproject.toml but not in environment.yml"
                for n in sorted(pip.keys() - conda.keys())]
    problems += [f"{n} is in environment.yml but not in pyproject.toml"
                 for n in sorted(conda.keys() - pip.keys())]
    problems += [f"{n}: pyproject.toml asks {pip[n]!r}, environment.yml {conda[n]!r}"
                 for n in sorted(pip.keys() & conda.keys()) if pip[n] != conda[n]]
    return problems


def test_environment_yml_lists_the_same_dependencies_as_pyproject():
    assert drift(pip_requirements(), conda_requirements(environment())) == []


def test_drift_is_detected():
    pip = {"numpy": ">=1.24", "voila": ">=0.5", "pytest": ">=7.4"}
    conda = {"python": ">=3.10", "numpy": ">=1.20", "voila": ">=0.5", "extra": ""}
    assert drift(pip, conda) == [
        "pytest is in pyproject.toml but not in environment.yml",
        "extra is in environment.yml but not in pyproject.toml",
        "numpy: pyproject.toml asks '>=1.24', environment.yml '>=1.20'",
    ]


def test_environment_yml_uses_conda_forge_and_installs_the_package():
    env = environment()
    assert env["channels"] == ["conda-forge"]
    pip_sections = [item["pip"] for item in env["dependencies"] if isinstance(item, dict)]
    assert pip_sections == [["-e ."]]


def test_same_python_bound():
    python = conda_requirements(environment())["python"]
    assert python == pyproject()["project"]["requires-python"]


@pytest.mark.parametrize("name,spec", sorted(pip_requirements().items()))
def test_installed_versions_meet_the_lower_bounds(name, spec):
    version = Version(importlib.metadata.version(name))
    assert version in Requirement(f"{name}{spec}").specifier, (
        f"{name} {version} is installed but pyproject.toml asks {spec}")


def test_every_test_helper_folder_is_on_pytests_path():
    """Tests import their folder's helper modules by name (--import-mode=importlib
    does not add test folders to sys.path), so pyproject.toml must list them."""
    listed = set(pyproject()["tool"]["pytest"]["ini_options"]["pythonpath"])
    helpers = {p.parent.relative_to(ROOT).as_posix()
               for p in (ROOT / "tests").rglob("*.py")
               if not p.name.startswith("test_") and p.name not in ("conftest.py", "__init__.py")}
    missing = sorted(helpers - listed)
    assert missing == [], f"add {missing} to [tool.pytest.ini_options] pythonpath"
