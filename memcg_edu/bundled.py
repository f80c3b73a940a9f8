"""Where the bundled course files are: scenarios, real-kernel recordings, notebooks.

The repository keeps them at its top (data/scenarios, data/real-kernel,
notebooks/). A wheel or sdist install carries copies of those folders inside
the package, under memcg_edu/_course/ (setup.py copies them there at build
time). This is the one module that finds them, through importlib.resources,
so the same calls work from a checkout, an editable install and a wheel:

* installed from a wheel: ``memcg_edu/_course/{data,notebooks}``;
* a checkout or an editable install: the folders beside the package.

Nothing is read here; callers get paths and read the files themselves.
"""
from __future__ import annotations

from importlib.resources import files
from pathlib import Path

__all__ = ["COURSE_ROOT", "SCENARIO_DIR", "RECORDED_DIR", "NOTEBOOK_DIR",
           "BUNDLED_DIRS", "DOCS_DIR", "course_root"]

#: the folder inside the package that the build fills (see setup.py)
PACKAGED = "_course"


def course_root() -> Path:
    """The folder holding ``data/`` and ``notebooks/`` for this install."""
    package = files(__package__)
    # Wheels are installed unpacked, so the package is a real folder; a
    # zipped package (zipimport) has no paths to hand to readers.
    if not isinstance(package, Path):
        raise RuntimeError(f"memcg_edu is imported from {package}, which is not a "
                           f"folder; install it with pip to use its course files")
    packaged = package / PACKAGED
    return packaged if packaged.is_dir() else package.parent


#: the folder holding data/ and notebooks/ (see the module docstring)
COURSE_ROOT = course_root()
#: the bundled scenarios; their names work wherever a scenario path does
SCENARIO_DIR = COURSE_ROOT / "data" / "scenarios"
#: the timelines recorded on a real kernel, for notebook 06 without a live run
RECORDED_DIR = COURSE_ROOT / "data" / "real-kernel"
#: the course notebooks (00-start-here ... 07-practice)
NOTEBOOK_DIR = COURSE_ROOT / "notebooks"
#: folder -> the file pattern it must hold at least one of (checked by
#: memcg_edu.course.check_install, copied by ``memcg-edu notebooks``)
BUNDLED_DIRS = {SCENARIO_DIR: "*.json", RECORDED_DIR: "*.json", NOTEBOOK_DIR: "*.ipynb"}
#: the project's docs/ in a checkout (not in a wheel): ``where --update-doc``
#: keeps the index in docs/kernel-rules.md current there
DOCS_DIR = Path(str(files(__package__))).parent / "docs"
