#!/usr/bin/env python3
"""Set up and run memcg-edu with nothing but Python 3 and pip.

    python3 dev.py lab [ARGS]     open the notebooks in JupyterLab
    python3 dev.py test [ARGS]    run the whole test suite (ARGS go to pytest)
    python3 dev.py bench          run the benchmarks and print a table
    python3 dev.py voila [PATH]   show a notebook as a dashboard with Voila

Every command first makes sure that .venv/ (next to this file) exists and
holds the package with its test dependencies (pip install -e ".[test]").
That happens on first use and again whenever pyproject.toml or setup.py
changes: their hashes are kept in .venv/memcg-edu-installed.
Only the standard library is used here, so that it runs before .venv exists.
"""
from __future__ import annotations

import hashlib
import os
import shutil
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent
VENV = ROOT / ".venv"
STAMP = VENV / "memcg-edu-installed"
#: where the browser tests look for Chromium (Debian's package puts it here)
CHROMIUM = Path(os.environ.get("MEMCG_EDU_CHROMIUM", "/usr/bin/chromium"))
#: per-test limit in seconds; a hung kernel or browser fails its test, not the run
TEST_TIMEOUT = 300
PYTEST_NO_TESTS = 5


def say(message: str) -> None:
    print(f"[dev.py] {message}", flush=True)


def venv_python() -> Path:
    return VENV / ("Scripts/python.exe" if os.name == "nt" else "bin/python")


#: the files that decide what an install holds (setup.py: the build step)
BUILD_FILES = ("pyproject.toml", "setup.py")


def wanted_stamp() -> str:
    """What the environment must have been installed from."""
    lines = [f"{name} sha256 {hashlib.sha256((ROOT / name).read_bytes()).hexdigest()}"
             for name in BUILD_FILES]
    return "\n".join(lines) + f"\npython {sys.version.split()[0]}\n"


def run(cmd: list[str | Path], **kwargs) -> int:
    return subprocess.call([str(c) for c in cmd], cwd=ROOT, **kwargs)


def ensure_env() -> Path:
    """Create .venv and (re)install the package when needed; return its python."""
    if sys.version_info < (3, 10):
        sys.exit(f"memcg-edu needs Python 3.10 or newer; this is {sys.version.split()[0]}.")
    python = venv_python()
    if not python.exists():
        say(f"creating the virtual environment {VENV.relative_to(ROOT)}/ (first use)")
        if run([sys.executable, "-m", "venv", VENV]) != 0:
            sys.exit("could not create .venv: on Debian or Ubuntu install the "
                     "python3-venv package first (apt-get install python3-venv).")
        # A pip too old for editable installs from pyproject.toml (PEP 660) fails
        # later with a confusing message; this is a no-op when pip is recent.
        if run([python, "-m", "pip", "install", "--quiet", "pip>=23"]) != 0:
            sys.exit("could not update pip inside .venv (see the message above).")
    stamp = wanted_stamp()
    if STAMP.exists() and STAMP.read_text() == stamp:
        return python
    say("installing memcg-edu and its dependencies into .venv (pip install -e \".[test]\")")
    STAMP.unlink(missing_ok=True)
    if run([python, "-m", "pip", "install", "--quiet", "-e", ".[test]"]) != 0:
        sys.exit("pip could not install the dependencies (see the message above); "
                 "run the same command again once the problem is fixed.")
    STAMP.write_text(stamp)
    return python


def ensure_chromium() -> None:
    """Install Debian's Chromium for the browser tests when it is missing.

    Only as root on a machine with apt-get; anywhere else the browser tests
    skip and say why. Playwright's own browser download is never used.
    """
    if CHROMIUM.exists():
        return
    if shutil.which("apt-get") is None or os.geteuid() != 0:
        say(f"{CHROMIUM} is missing and cannot be installed here (needs root and "
            "apt-get): the browser tests will be skipped")
        return
    say("installing Debian's chromium for the browser tests (apt-get, first run only)")
    env = dict(os.environ, DEBIAN_FRONTEND="noninteractive")
    if (run(["apt-get", "update", "-q"], env=env) != 0
            or run(["apt-get", "install", "-y", "-q", "chromium"], env=env) != 0):
        say("apt-get could not install chromium: the browser tests will be skipped")


def cmd_lab(python: Path, args: list[str]) -> int:
    start = ROOT / "notebooks" / "00-start-here.ipynb"
    own_target = any(not a.startswith("-") for a in args)
    target = [str(start.relative_to(ROOT))] if start.exists() and not own_target else []
    # JupyterLab refuses to start as root unless told that is intended.
    root = ["--allow-root"] if os.name != "nt" and os.geteuid() == 0 else []
    return run([python, "-m", "jupyter", "lab", *root, *target, *args])


def cmd_test(python: Path, args: list[str]) -> int:
    ensure_chromium()
    code = run([python, "-m", "pytest", f"--timeout={TEST_TIMEOUT}", *args])
    if code == PYTEST_NO_TESTS:
        # An empty run checks nothing: report it as a failure, not a pass.
        what = f"matched {' '.join(args)!r}" if args else "was collected from tests/"
        say(f"no test {what}: nothing was checked, so this run counts as failed")
        return 1
    return code


def cmd_bench(python: Path, args: list[str]) -> int:
    return run([python, ROOT / "benchmarks" / "run.py", *args])


def cmd_voila(python: Path, args: list[str]) -> int:
    return run([python, "-m", "voila", *(args or ["notebooks"])])


COMMANDS = {"lab": cmd_lab, "test": cmd_test, "bench": cmd_bench, "voila": cmd_voila}


def main(argv: list[str]) -> int:
    if not argv or argv[0] not in COMMANDS:
        print(__doc__.split("\n\n")[1], file=sys.stderr)
        return 2
    python = ensure_env()
    return COMMANDS[argv[0]](python, argv[1:])


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
