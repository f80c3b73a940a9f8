"""One fresh venv outside the repository for the slow packaging tests.

It holds the wheel built from the sdist plus binder/environment.yml's
packages under their PyPI names, which is what Binder ends up with (its
postBuild installs the package with --no-deps); binder's packages are the
runtime ones plus voila (test_binder.py), so the venv is memcg-edu[dashboard].
"""
from __future__ import annotations

from pathlib import Path

import pytest

from venv_helpers import binder_pip_requirements, build, copy_source, fresh_venv


@pytest.fixture(scope="session")
def installed(tmp_path_factory) -> tuple[Path, Path, Path, Path]:
    """(venv prefix, home folder, sdist, wheel) of the fresh install."""
    tmp = tmp_path_factory.mktemp("wheel")
    sdist, wheel = build(copy_source(tmp / "src"), tmp / "dist")
    home = tmp / "home"
    home.mkdir()
    fresh_venv(tmp / "venv", str(wheel), *binder_pip_requirements(), home=home)
    return tmp / "venv", home, sdist, wheel
