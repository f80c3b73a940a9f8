"""An editable install (pip install -e, what dev.py does) reads data/ and
notebooks/ in place, as a checkout does: nothing is copied into the package."""
from __future__ import annotations

import subprocess
from pathlib import Path

import pytest

from venv_helpers import PIP_TIMEOUT, copy_source, fresh_venv, user_env

pytestmark = [pytest.mark.slow, pytest.mark.timeout(600)]


def test_an_editable_install_reads_the_checkouts_folders(tmp_path):
    src = copy_source(tmp_path / "src")
    home = tmp_path / "home"
    home.mkdir()
    # numpy alone: importing memcg_edu.bundled needs only the package's top
    python = fresh_venv(tmp_path / "venv", "numpy>=1.24", home=home)
    env = user_env(tmp_path / "venv", home)
    done = subprocess.run([str(python), "-m", "pip", "install", "--quiet", "--no-deps",
                           "-e", str(src)], capture_output=True, text=True, env=env,
                          cwd=home, timeout=PIP_TIMEOUT)
    assert done.returncode == 0, done.stderr[-3000:]
    out = subprocess.run([str(python), "-c", "from memcg_edu import bundled; "
                          "print(bundled.COURSE_ROOT); print(bundled.SCENARIO_DIR)"],
                         capture_output=True, text=True, env=env, cwd=home, timeout=120)
    assert out.returncode == 0, out.stderr
    root, scenarios = map(Path, out.stdout.split())
    assert root == src and scenarios == src / "data" / "scenarios"
    assert not (src / "memcg_edu" / "_course").exists()
