"""Build step that puts the course files into the wheel.

data/ (scenarios, real-kernel recordings) and notebooks/ stay at the top of
the repository. Building a wheel (pip install ., python -m build) copies them
into the package as memcg_edu/_course/{data,notebooks}; memcg_edu.bundled
finds them there through importlib.resources. An editable install
(pip install -e .) copies nothing: it reads the folders in place, as a
checkout does. MANIFEST.in puts the same folders into the sdist, so a wheel
built from the sdist carries them too. Everything else is in pyproject.toml.
"""
from __future__ import annotations

import shutil
from pathlib import Path

from setuptools import setup
from setuptools.command.build_py import build_py

ROOT = Path(__file__).resolve().parent
#: the top-level folders the wheel carries, every file in them
COURSE = ("data", "notebooks")
#: what is never course content (editor and interpreter leftovers)
SKIP = (".ipynb_checkpoints", "__pycache__")


class BuildWithCourse(build_py):
    """build_py, then copy the course folders under memcg_edu/_course."""

    def run(self) -> None:
        super().run()
        if self.editable_mode:      # the checkout's own folders are read in place
            return
        target = Path(self.build_lib, "memcg_edu", "_course")
        shutil.rmtree(target, ignore_errors=True)
        for folder in COURSE:
            source = ROOT / folder
            if not source.is_dir():
                raise SystemExit(f"setup.py: {source} is missing; build from a "
                                 f"checkout or an sdist of memcg-edu")
            for path in sorted(source.rglob("*")):
                rel = path.relative_to(ROOT)
                if (path.is_file() and not path.is_symlink()
                        and not any(part in SKIP for part in rel.parts)):
                    out = target / rel
                    out.parent.mkdir(parents=True, exist_ok=True)
                    shutil.copyfile(path, out)


setup(cmdclass={"build_py": BuildWithCourse})
