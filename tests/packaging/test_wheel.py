"""memcg-edu as a pip user gets it: the wheel (built from the sdist) installed
into a fresh venv outside the repository runs the command line with bundled
scenario names, copies the course, and every copied notebook runs.
(The venv is the ``installed`` fixture of conftest.py.)"""
from __future__ import annotations

import json
import subprocess
import tarfile
import zipfile
from pathlib import Path

import pytest

from venv_helpers import ROOT, user_env

# building and installing (the session fixture) takes 1-2 minutes on a busy machine
pytestmark = [pytest.mark.slow, pytest.mark.timeout(600)]

NOTEBOOKS = sorted(p.name for p in (ROOT / "notebooks").glob("[0-9][0-9]-*.ipynb"))


def run(installed, *argv: str, cwd: Path | None = None, **env: str):
    prefix, home = installed[0], installed[1]
    return subprocess.run([str(a) for a in argv], capture_output=True, text=True,
                          timeout=240, cwd=cwd or home,
                          env=user_env(prefix, home, **env))


def test_the_wheel_and_sdist_carry_the_course(installed):
    sdist, wheel = installed[2], installed[3]
    names = zipfile.ZipFile(wheel).namelist()
    for nb in NOTEBOOKS:
        assert f"memcg_edu/_course/notebooks/{nb}" in names
    for p in (ROOT / "data").rglob("*"):     # every file, whatever its kind
        if p.is_file():
            assert f"memcg_edu/_course/{p.relative_to(ROOT).as_posix()}" in names
    assert any(n.endswith(".dist-info/licenses/LICENSE") for n in names)
    meta = zipfile.ZipFile(wheel).read(next(n for n in names if n.endswith("METADATA"))).decode()
    assert "License-Expression: MIT" in meta and "Project-URL: Source" in meta
    members = {m.split("/", 1)[1] for m in tarfile.open(sdist).getnames() if "/" in m}
    assert "data/scenarios/06-swap-out-and-in.json" in members and "LICENSE" in members


def test_the_installed_package_reads_its_own_copy(installed):
    prefix = installed[0]
    out = run(installed, prefix / "bin" / "python", "-c",
              "from memcg_edu import bundled, course; print(bundled.COURSE_ROOT); "
              "r = course.check_install(live=False); print(r.ok); print(r)")
    assert out.returncode == 0, out.stderr
    root, ok = out.stdout.splitlines()[:2]
    assert Path(root).is_relative_to(prefix) and root.endswith("memcg_edu/_course")
    assert ok == "True", out.stdout


def test_the_python_api_finds_bundled_names_and_recordings(installed):
    """What the notebooks call: a dashboard of a bundled scenario by name, and
    the recorded real-kernel timeline when no live run is allowed."""
    prefix = installed[0]
    out = run(installed, prefix / "bin" / "python", "-c",
              "from memcg_edu.widgets import dashboard; from memcg_edu import course; "
              "d = dashboard('06-swap-out-and-in'); print(len(d.timeline)); "
              "k = course.kernel_timeline('swap'); print(k.live, len(k.timeline))",
              MEMCG_EDU_LIVE="0")
    assert out.returncode == 0, out.stderr
    steps, kernel = out.stdout.split("\n")[:2]
    assert int(steps) > 3
    assert kernel.startswith("False ") and int(kernel.split()[1]) > 1


def test_the_cli_runs_bundled_scenarios_by_name(installed):
    prefix = installed[0]
    out = run(installed, prefix / "bin" / "memcg-edu", "run", "06-swap-out-and-in")
    assert out.returncode == 0, out.stderr
    assert "06-swap-out-and-in.json" in out.stdout and "swap_out" in out.stdout
    out = run(installed, prefix / "bin" / "memcg-edu", "compare", "02-final-put-with-a-pinned-page")
    assert out.returncode in (0, 1), out.stderr
    out = run(installed, prefix / "bin" / "memcg-edu", "no-such-command")
    assert out.returncode == 2 and out.stderr.startswith("memcg-edu: argument COMMAND")
    assert "(see memcg-edu --help)" in out.stderr


def test_the_copied_course_runs_every_notebook(installed):
    prefix, home = installed[0], installed[1]
    out = run(installed, prefix / "bin" / "memcg-edu", "notebooks")
    assert out.returncode == 0, out.stderr
    course = home / "memcg-edu-notebooks"
    assert sorted(p.name for p in (course / "notebooks").glob("*.ipynb")) == NOTEBOOKS
    paths = [course / "notebooks" / nb for nb in NOTEBOOKS]
    done = run(installed, prefix / "bin" / "python", ROOT / "tests" / "packaging" / "run_notebooks.py",
               *paths, MEMCG_EDU_LIVE="0")
    assert done.returncode == 0, done.stderr[-3000:]
    results = json.loads(done.stdout)
    failed = {n: r["error"] for n, r in results.items() if r["error"]}
    assert failed == {}
    assert "not live because MEMCG_EDU_LIVE=0" in results["06-your-kernel.ipynb"]["text"]
    check = results["00-start-here.ipynb"]["text"]      # the install check cell
    for what in ("bundled scenarios", "real-kernel recordings (notebook 06)",
                 "course notebooks"):
        assert f"Check(what='{what}', ok=True" in check
