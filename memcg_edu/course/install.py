"""Install check for the notebooks: what is there, what is missing, how to fix it.

Reads the requirements from the installed memcg-edu package metadata (the
same lower bounds pyproject.toml declares), so the check never drifts from
the packaging. It also checks the course files the package carries (the bundled
scenarios, the real-kernel recordings and the notebooks, found by
memcg_edu.bundled). No kernel files are involved; whether the real kernel
can be used (notebook 06) is asked of memcg_edu.live.
"""
from __future__ import annotations

import importlib
import importlib.metadata as md
import platform
import sys
from dataclasses import dataclass, field
from pathlib import Path

from .. import bundled
from ..safeio import html_text

__all__ = ["Check", "InstallReport", "check_install"]

#: The package parts the notebooks use, and which notebooks need each.
PARTS = {
    "memcg_edu.model": "every notebook (the simulated kernel)",
    "memcg_edu.scenario": "every notebook (scenarios and practice problems)",
    "memcg_edu.viz": "plots in every notebook",
    "memcg_edu.widgets": "step player and dashboards in every notebook",
    "memcg_edu.compare": "notebook 05 (3.16 beside 3.17)",
    "memcg_edu.explore": "notebook 05 (race explorer)",
    "memcg_edu.live": "notebook 06 (your kernel)",
}


@dataclass(frozen=True)
class Check:
    """One line of the report: ``what`` was checked, ``ok``, and ``detail``
    (the version found, or what to do about it). ``required`` is False for
    things only some notebooks or the tests need."""
    what: str
    ok: bool
    detail: str
    required: bool = True


@dataclass
class InstallReport:
    """The result of :func:`check_install`; shows as a table in a notebook."""
    checks: list[Check] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        """True when everything the notebooks need is there."""
        return all(c.ok for c in self.checks if c.required)

    @property
    def missing(self) -> list[Check]:
        return [c for c in self.checks if not c.ok]

    def __bool__(self) -> bool:
        return self.ok

    def summary(self) -> str:
        if self.ok and not self.missing:
            return "Everything is installed. You are ready."
        if self.ok:
            return ("Everything the notebooks need is installed; "
                    f"{len(self.missing)} optional item(s) missing (see below).")
        need = [c for c in self.missing if c.required]
        return (f"{len(need)} required item(s) missing. Run the command in the "
                "last column, then restart the kernel (Kernel > Restart) and "
                "run this cell again.")

    def __str__(self) -> str:
        width = max((len(c.what) for c in self.checks), default=10)
        lines = [self.summary(), ""]
        for c in self.checks:
            mark = "ok  " if c.ok else ("MISSING" if c.required else "optional")
            lines.append(f"{mark:8} {c.what:<{width}}  {c.detail}")
        return "\n".join(lines)

    def _repr_html_(self) -> str:
        rows = []
        for c in self.checks:
            mark = "&#10004;" if c.ok else ("&#10008; missing" if c.required
                                            else "&#8211; optional")
            colour = "#1b7837" if c.ok else ("#b2182b" if c.required else "#767676")
            rows.append(f"<tr><td style='color:{colour}'>{mark}</td>"
                        f"<td>{html_text(c.what)}</td>"
                        f"<td style='text-align:left'>{html_text(c.detail)}</td></tr>")
        return (f"<p><b>{html_text(self.summary())}</b></p>"
                "<table><tr><th></th><th>what</th><th>version or what to do</th></tr>"
                + "".join(rows) + "</table>")


def _requirements() -> tuple[list[str], list[str], str]:
    """(runtime requirement strings, test ones, requires-python) of memcg-edu."""
    try:
        reqs = md.requires("memcg-edu") or []
        # an email Message; PackageMetadata declares get() only from Python 3.12
        python = md.metadata("memcg-edu").get("Requires-Python") or ""  # type: ignore[attr-defined]
    except md.PackageNotFoundError:
        return [], [], ""
    runtime = [r for r in reqs if "extra ==" not in r]
    test = [r.split(";")[0].strip() for r in reqs if 'extra == "test"' in r]
    return runtime, test, python


def _check_requirement(req: str, required: bool) -> Check:
    from packaging.requirements import Requirement
    r = Requirement(req)
    fix = f'python -m pip install "{r.name}{r.specifier}"'
    try:
        found = md.version(r.name)
    except md.PackageNotFoundError:
        return Check(r.name, False, f"not installed: {fix}", required)
    if r.specifier and not r.specifier.contains(found, prereleases=True):
        return Check(r.name, False, f"{found} is too old, need {r.specifier}: {fix}",
                     required)
    return Check(r.name, True, found, required)


def _check_part(module: str, used_by: str) -> Check:
    try:
        importlib.import_module(module)
    except Exception as e:  # any import failure is what the learner must see
        return Check(module, False, f"cannot import ({type(e).__name__}: {e}); "
                     f"needed by {used_by}")
    return Check(module, True, f"for {used_by}")


#: how to get the course files back, for a checkout and for a pip install
_REINSTALL = ("reinstall memcg-edu (python -m pip install --force-reinstall "
              "memcg-edu), or in a git checkout restore them (git checkout -- "
              "data notebooks)")


def _check_folder(what: str, folder: Path, names: list[str], load) -> Check:
    """One bundled folder: present, holding ``names`` (stems), each loadable."""
    if not folder.is_dir():
        return Check(what, False, f"{folder} is missing: {_REINSTALL}")
    have = {p.stem: p for p in folder.iterdir() if p.is_file()}
    lost = [n for n in names if n not in have]
    if lost:
        return Check(what, False, f"{len(lost)} missing from {folder} "
                     f"({', '.join(lost)}): {_REINSTALL}")
    for name in names:
        try:
            load(have[name])
        except Exception as e:  # any unreadable file is what the learner must see
            return Check(what, False, f"{have[name]} cannot be read ({e}): {_REINSTALL}")
    return Check(what, True, f"{len(names)} in {folder}")


def _check_bundled() -> list[Check]:
    """The course files: every bundled scenario loads, every live workload has
    its loadable recording (notebook 06's fallback), every notebook is there."""
    from ..live.catalog import WORKLOADS
    from ..scenario import load_scenario
    from ..timeline import Timeline
    from . import NOTEBOOKS

    scenarios = (sorted(p.stem for p in bundled.SCENARIO_DIR.glob("*.json"))
                 if bundled.SCENARIO_DIR.is_dir() else []) or ["06-swap-out-and-in"]
    recordings = sorted(WORKLOADS)
    return [
        _check_folder("bundled scenarios", bundled.SCENARIO_DIR, scenarios,
                      load_scenario),
        _check_folder("real-kernel recordings (notebook 06)", bundled.RECORDED_DIR,
                      recordings, Timeline.load),
        _check_folder("course notebooks", bundled.NOTEBOOK_DIR,
                      sorted(NOTEBOOKS.values()), lambda p: p.read_bytes()),
    ]


def _check_live() -> Check:
    """Whether notebook 06 can use this machine's kernel (optional)."""
    what = "real kernel (notebook 06)"
    try:
        from ..live import detect
        caps = detect()
    except Exception as e:  # no live module or an unreadable /proc
        return Check(what, False, f"cannot ask memcg_edu.live ({e}); notebook 06 "
                     "will use the recorded timelines", required=False)
    if caps.cgroup and caps.can_create:
        return Check(what, True, f"Linux {caps.kernel}, cgroup {caps.cgroup}, "
                     "may create a scratch memory cgroup", required=False)
    why = "; ".join(caps.reasons) or "no memory cgroup can be created here"
    return Check(what, False, f"{why} - notebook 06 will use the recorded "
                 "timelines", required=False)


def check_install(live: bool = True) -> InstallReport:
    """Check Python, the packages memcg-edu needs and the parts of memcg_edu.

    Required: Python and the runtime requirements in memcg-edu's metadata,
    the memcg_edu modules the notebooks import, and the course files it
    carries (scenarios, real-kernel recordings, notebooks). Optional: the test
    requirements (voila for dashboards), and (``live=True``) whether this
    machine's kernel can run notebook 06 live.
    """
    runtime, test, python = _requirements()
    report = InstallReport()
    py = platform.python_version()
    if python:
        from packaging.specifiers import SpecifierSet
        ok = SpecifierSet(python).contains(py)
        report.checks.append(Check("Python", ok, py if ok else
                                   f"{py} is too old, need {python}"))
    else:
        report.checks.append(Check(
            "memcg-edu", False, "memcg-edu is not installed in this Python "
            f"({sys.executable}): run the README's set-up command"))
    report.checks += [_check_requirement(r, True) for r in runtime]
    report.checks += [_check_part(m, u) for m, u in PARTS.items()]
    report.checks += _check_bundled()
    from packaging.requirements import Requirement
    report.checks += [_check_requirement(r, False) for r in test
                      if Requirement(r).name == "voila"]
    if live:
        report.checks.append(_check_live())
    return report
