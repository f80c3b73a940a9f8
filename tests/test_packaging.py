"""The two install routes (pip with pyproject.toml, conda with environment.yml)
must ask for the same dependencies with the same lower bounds, under the
names each index spells them; and every import of memcg_edu is declared."""
from __future__ import annotations

import ast
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

from index_names import CONDA_FORGE_TO_PYPI, conda_requirements

ROOT = Path(__file__).resolve().parents[1]


def pyproject() -> dict:
    return tomllib.loads((ROOT / "pyproject.toml").read_text())


def environment() -> dict:
    return yaml.safe_load((ROOT / "environment.yml").read_text())


def pip_requirements(extras: tuple[str, ...] | None = None) -> dict[str, str]:
    """{canonical name: specifier} of the runtime dependencies and ``extras``
    (default: every extra)."""
    project = pyproject()["project"]
    optional = project["optional-dependencies"]
    reqs = list(project["dependencies"])
    for extra in optional if extras is None else extras:
        reqs += optional[extra]
    out: dict[str, str] = {}
    for text in reqs:
        req = Requirement(text)
        name = canonicalize_name(req.name)
        assert out.get(name, str(req.specifier)) == str(req.specifier), (
            f"{name} is asked with two different bounds in pyproject.toml")
        out[name] = str(req.specifier)
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


def test_environment_yml_spells_names_as_conda_forge_does():
    """build is python-build and playwright playwright-python on conda-forge:
    environment.yml must use the conda-forge names."""
    names = {canonicalize_name(Requirement(i).name)
             for i in environment()["dependencies"] if isinstance(i, str)}
    assert names.isdisjoint(CONDA_FORGE_TO_PYPI.values())
    assert conda_requirements({"dependencies": ["python-build>=1.0"]}) == {"build": ">=1.0"}


def _imported_top_level(package: Path) -> set[str]:
    """Top-level names memcg_edu imports (absolute imports only)."""
    names: set[str] = set()
    for path in package.rglob("*.py"):
        for node in ast.walk(ast.parse(path.read_text(), str(path))):
            if isinstance(node, ast.Import):
                names |= {a.name.split(".")[0] for a in node.names}
            elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
                names.add(node.module.split(".")[0])
    return names - set(sys.stdlib_module_names) - {"memcg_edu", "__future__"}


def test_every_import_is_declared():
    """An import of a package pip would not install is a bug on a clean machine.
    ipympl is optional (the [smooth] extra; memcg_edu.widgets.render checks for it)."""
    dists = importlib.metadata.packages_distributions()
    declared = set(pip_requirements(("smooth",)))
    undeclared = {}
    for module in _imported_top_level(ROOT / "memcg_edu"):
        names = {canonicalize_name(d) for d in dists.get(module, [module])}
        if names.isdisjoint(declared):
            undeclared[module] = sorted(names)
    assert undeclared == {}, f"declare these in pyproject.toml: {undeclared}"


def test_extras_offer_what_users_choose():
    optional = pyproject()["project"]["optional-dependencies"]
    assert {"dashboard", "smooth", "test"} <= set(optional)
    assert [Requirement(r).name for r in optional["dashboard"]] == ["voila"]
    assert [Requirement(r).name for r in optional["smooth"]] == ["ipympl"]
    test = set(pip_requirements(("test",)))
    for extra in ("dashboard", "hub"):   # the test command exercises them both
        assert set(pip_requirements((extra,))) <= test, extra


def test_licence_and_project_metadata():
    project = pyproject()["project"]
    assert project["license"] == "MIT" and project["license-files"] == ["LICENSE"]
    assert (ROOT / "LICENSE").read_text().startswith("MIT License")
    assert {"Homepage", "Source", "Issues"} <= set(project["urls"])
    assert "Framework :: Jupyter :: JupyterLab" in project["classifiers"]
    # SPDX `license` strings need setuptools 77 or newer to build
    backend = [Requirement(r) for r in pyproject()["build-system"]["requires"]]
    assert Version("77") in next(r for r in backend if r.name == "setuptools").specifier
    assert Version("76") not in next(r for r in backend if r.name == "setuptools").specifier


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


@pytest.mark.parametrize("name,spec", sorted(pip_requirements(("test",)).items()))
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
