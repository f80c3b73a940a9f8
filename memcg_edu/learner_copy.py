"""Copy the course (notebooks and the files they open) into a learner's folder.

``copy_course(dest)`` writes, with the repository's layout::

    dest/notebooks/00-start-here.ipynb ... 07-practice.ipynb
    dest/data/scenarios/*.json        (the bundled scenarios, to read and edit)
    dest/data/real-kernel/*           (the recordings notebook 06 falls back to)
    dest/.memcg-edu-course.json       (what was copied: file -> sha256)

so that ``jupyter lab`` started in ``dest`` opens the course, and commands the
docs give (``memcg-edu run data/scenarios/06-swap-out-and-in.json``) work there.
Copying again updates the files the learner has not changed since the last
copy (their hash is still the one in the manifest) and refuses, naming them,
when any would overwrite the learner's own work, unless ``force=True``.
"""
from __future__ import annotations

import hashlib
import json
import os
from dataclasses import dataclass, field
from importlib.metadata import PackageNotFoundError, version
from pathlib import Path

from .bundled import BUNDLED_DIRS, COURSE_ROOT
from .errors import ModelUsageError
from .safeio import read_json, write_atomic

__all__ = ["MANIFEST", "DEFAULT_DIR", "CopyResult", "copy_course", "course_files"]

#: the record of a copy, kept in the copied folder
MANIFEST = ".memcg-edu-course.json"
MANIFEST_FORMAT = "memcg-edu-course/1"
#: where ``memcg-edu notebooks`` copies to when given no folder
DEFAULT_DIR = "memcg-edu-notebooks"


@dataclass
class CopyResult:
    """What a copy did, as paths relative to ``dest``."""
    dest: Path
    written: list[str] = field(default_factory=list)    # new or updated
    unchanged: list[str] = field(default_factory=list)  # already the same bytes
    overwritten: list[str] = field(default_factory=list)  # learner edits replaced (force)

    def __str__(self) -> str:
        notebooks = sum(1 for f in self.written + self.unchanged
                        if f.endswith(".ipynb"))
        lines = [f"{len(self.written)} file(s) written, {len(self.unchanged)} "
                 f"already up to date, in {self.dest} ({notebooks} notebooks)"]
        if self.overwritten:
            lines.append("replaced your edited copies (--force): "
                         + ", ".join(self.overwritten))
        lines.append(f"start with:  cd {self.dest} && jupyter lab "
                     f"notebooks/00-start-here.ipynb")
        return "\n".join(lines)


def _sha256(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def course_files() -> dict[str, bytes]:
    """{relative path: content} of every file a copy of the course holds."""
    out: dict[str, bytes] = {}
    for folder in BUNDLED_DIRS:
        if not folder.is_dir():
            raise ModelUsageError(f"the bundled folder {folder} is missing, so this "
                                  f"memcg-edu install is incomplete; reinstall it "
                                  f"(pip install --force-reinstall memcg-edu)")
        for path in sorted(folder.rglob("*")):
            rel = path.relative_to(COURSE_ROOT)
            if path.is_file() and ".ipynb_checkpoints" not in rel.parts:
                out[rel.as_posix()] = path.read_bytes()
    return out


def _manifest(dest: Path) -> dict[str, str]:
    """{relative path: sha256 as copied} from an earlier copy, or {}."""
    path = dest / MANIFEST
    if path.is_symlink():
        return {}
    try:    # a regular file of bounded size only: not a FIFO, not /dev/zero
        data = read_json(path, 1 << 20)
    except ModelUsageError:
        return {}       # unreadable: every differing file counts as the learner's
    files = data.get("files") if isinstance(data, dict) else None
    return {k: v for k, v in files.items() if isinstance(v, str)} \
        if isinstance(files, dict) else {}


def _folders_in_the_way(dest: Path, rel: str) -> str | None:
    """Why the folders between ``dest`` and file ``rel`` cannot be written
    into (a symlink, which would carry the copy out of ``dest``, or
    something not a folder), or None. Missing folders are fine."""
    folder = dest
    for part in Path(rel).parts[:-1]:
        folder = folder / part
        if folder.is_symlink():
            return f"{folder} is a symlink; not writing through it"
        if not folder.exists():
            return None
        if not folder.is_dir():
            return f"{folder} is in the way (not a folder)"
    return None


def _write(dest: Path, rel: str, data: bytes) -> None:
    """Write through a temporary file of a unique name, so a symlink in its
    place is replaced, never followed, an interrupted copy leaves no
    half-written notebook nor a temporary file, and two copies at once do
    not trip over each other's temporary files."""
    path = dest / rel
    why = _folders_in_the_way(dest, rel)   # checked again: a folder made since
    if why:
        raise OSError(0, why)
    path.parent.mkdir(parents=True, exist_ok=True)
    write_atomic(path, data, fail=lambda msg: OSError(0, msg))


def copy_course(dest: str | Path = DEFAULT_DIR, force: bool = False) -> CopyResult:
    """Copy the course into ``dest`` (see the module docstring).

    Raises ModelUsageError, changing nothing, when ``dest`` is not a folder or
    when a file there differs from both the course and the last copy (the
    learner edited it) and ``force`` is False.
    """
    dest = Path(dest)
    if dest.exists() and not dest.is_dir():
        raise ModelUsageError(f"{dest} exists and is not a folder; give a folder "
                              f"to copy the course into")
    files = course_files()
    copied = _manifest(dest)
    result = CopyResult(dest)
    plan: list[tuple[str, bytes]] = []
    edited: list[str] = []
    for rel, data in files.items():
        target = dest / rel
        why = _folders_in_the_way(dest, rel)
        if why:
            raise ModelUsageError(f"{why}; nothing was copied. Move it elsewhere, "
                                  f"or give another folder")
        if target.is_symlink():
            edited.append(rel)       # not ours to write through
            plan.append((rel, data))
            continue
        if not target.exists():
            plan.append((rel, data))
            continue
        if not target.is_file():
            raise ModelUsageError(f"{target} is in the way (not a file); move it "
                                  f"elsewhere, or give another folder")
        have = _sha256(target.read_bytes())
        if have == _sha256(data):
            result.unchanged.append(rel)
            continue
        if copied.get(rel) != have:
            edited.append(rel)       # changed since our copy, or never ours
        plan.append((rel, data))
    if edited and not force:
        more = f" and {len(edited) - 1} more" if len(edited) > 1 else ""
        raise ModelUsageError(
            f"{dest / edited[0]}{more}: changed since memcg-edu copied the course there (your "
            f"edits); nothing was copied. Give another folder, or add --force to "
            f"replace them with the course's versions (your edits are lost)")
    for rel, data in plan:
        try:
            _write(dest, rel, data)
        except OSError as e:          # a read-only folder, a file where a folder goes
            raise ModelUsageError(f"cannot write {dest / rel}: {e.strerror}; "
                                  f"{len(result.written)} file(s) were copied "
                                  f"before it") from None
        result.written.append(rel)
        if rel in edited:
            result.overwritten.append(rel)
    try:
        release = version("memcg-edu")
    except PackageNotFoundError:
        release = "unknown"
    manifest = {"format": MANIFEST_FORMAT, "memcg-edu": release,
                "files": {rel: _sha256(data) for rel, data in files.items()}}
    try:
        _write(dest, MANIFEST, (json.dumps(manifest, indent=1, sort_keys=True)
                                + "\n").encode())
    except OSError as e:
        raise ModelUsageError(f"cannot write {dest / MANIFEST}: {e.strerror}; "
                              f"the {len(result.written)} file(s) were copied "
                              f"without it") from None
    return result
