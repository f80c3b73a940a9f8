"""memcg_edu.bundled finds the course files in a checkout and in a wheel's
layout, every reader goes through it, and check_install reports them."""
from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

from memcg_edu import bundled, course
from memcg_edu.course import install

ROOT = Path(__file__).resolve().parents[2]


def test_a_checkout_reads_the_top_level_folders():
    assert bundled.COURSE_ROOT == ROOT
    assert bundled.SCENARIO_DIR == ROOT / "data" / "scenarios"
    assert bundled.RECORDED_DIR == ROOT / "data" / "real-kernel"
    assert bundled.NOTEBOOK_DIR == ROOT / "notebooks"


def test_a_wheel_layout_reads_the_packaged_copy(tmp_path):
    """memcg_edu/_course present (as setup.py builds it) wins over the checkout."""
    pkg = tmp_path / "memcg_edu"
    subprocess.run(["cp", "-r", str(ROOT / "memcg_edu"), str(pkg)], check=True)
    (pkg / "_course" / "data" / "scenarios").mkdir(parents=True)
    out = subprocess.run(
        [sys.executable, "-c", "from memcg_edu import bundled; print(bundled.SCENARIO_DIR)"],
        capture_output=True, text=True, check=True, cwd=tmp_path,
        env={"PYTHONPATH": str(tmp_path), "PATH": "/usr/bin:/bin"}).stdout
    assert Path(out.strip()) == pkg / "_course" / "data" / "scenarios"


def test_no_module_but_bundled_locates_data_or_notebooks():
    """One place for the fact: no other module builds a path to data/ or notebooks/."""
    # a path joined from a folder name, or one found from the module's own file
    pattern = re.compile(r"""/ *["'](data|notebooks|real-kernel|scenarios)["']|__file__""")
    offenders = [str(p.relative_to(ROOT)) for p in (ROOT / "memcg_edu").rglob("*.py")
                 if p.name != "bundled.py" and pattern.search(p.read_text())]
    assert offenders == []
    probe = "\n".join(l for l in (ROOT / "memcg_edu" / "scenario" / "load.py")
                      .read_text().splitlines() if "SCENARIO_DIR" in l)
    assert "from ..bundled import SCENARIO_DIR" in probe


def test_readers_use_the_bundled_folders():
    from memcg_edu.course import kernel
    from memcg_edu.live import catalog
    from memcg_edu.scenario import load
    assert load.SCENARIO_DIR is bundled.SCENARIO_DIR
    assert catalog.RECORDED_DIR is bundled.RECORDED_DIR
    assert kernel.RECORDED_DIR is bundled.RECORDED_DIR
    assert load.find_scenario("06-swap-out-and-in") == bundled.SCENARIO_DIR / "06-swap-out-and-in.json"


def test_install_check_lists_the_course_files():
    r = course.check_install(live=False)
    checks = {c.what: c for c in r.checks}
    assert checks["bundled scenarios"].ok and checks["course notebooks"].ok
    n = len(list(bundled.SCENARIO_DIR.glob("*.json")))
    assert checks["bundled scenarios"].detail == f"{n} in {bundled.SCENARIO_DIR}"
    assert checks["real-kernel recordings (notebook 06)"].ok


def test_install_check_says_what_is_wrong_with_the_course_files(tmp_path, monkeypatch):
    missing = tmp_path / "gone"
    monkeypatch.setattr(bundled, "SCENARIO_DIR", missing)
    broken = tmp_path / "rec"
    broken.mkdir()
    for rec in bundled.RECORDED_DIR.glob("*.json"):     # all there, one spoiled
        (broken / rec.name).write_bytes(rec.read_bytes())
    (broken / "swap.json").write_text("{not json")
    monkeypatch.setattr(bundled, "RECORDED_DIR", broken)
    nbs = tmp_path / "nb"
    nbs.mkdir()
    (nbs / "00-start-here.ipynb").write_text("{}")
    monkeypatch.setattr(bundled, "NOTEBOOK_DIR", nbs)
    r = course.check_install(live=False)
    checks = {c.what: c for c in r.checks}
    assert not r.ok
    sc = checks["bundled scenarios"]
    assert not sc.ok and f"{missing} is missing" in sc.detail
    assert "pip install --force-reinstall memcg-edu" in sc.detail
    rec = checks["real-kernel recordings (notebook 06)"]
    assert not rec.ok and "swap.json cannot be read" in rec.detail
    nb = checks["course notebooks"]
    assert not nb.ok and "7 missing" in nb.detail and "01-charge" in nb.detail
    assert "git checkout -- data notebooks" in nb.detail
    assert "MISSING" in str(r)


def test_install_check_names_a_workload_without_its_recording(tmp_path, monkeypatch):
    partial = tmp_path / "rec"
    partial.mkdir()
    (partial / "charge.json").write_bytes((bundled.RECORDED_DIR / "charge.json").read_bytes())
    monkeypatch.setattr(bundled, "RECORDED_DIR", partial)
    rec = next(c for c in course.check_install(live=False).checks
               if c.what == "real-kernel recordings (notebook 06)")
    assert not rec.ok
    assert "4 missing" in rec.detail and "pagecache, swap" in rec.detail
