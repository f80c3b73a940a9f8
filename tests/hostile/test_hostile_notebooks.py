"""``memcg-edu notebooks DIR``: a symlinked folder inside DIR is not written
through, copies at once do not trip over each other's temporary files, and
Ctrl-C mid-copy leaves no temporary file behind."""
from __future__ import annotations

import multiprocessing
import os

import pytest

from memcg_edu import learner_copy
from memcg_edu.cli import main
from memcg_edu.errors import ModelUsageError
from memcg_edu.learner_copy import MANIFEST, copy_course


@pytest.mark.parametrize("folder", ["notebooks", "data", "data/scenarios"])
def test_a_symlinked_folder_inside_dir_is_not_written_through(tmp_path, capsys, folder):
    victim = tmp_path / "victim"
    victim.mkdir()
    dest = tmp_path / "course"
    (dest / folder).parent.mkdir(parents=True, exist_ok=True)
    (dest / folder).symlink_to(victim)
    assert main(["notebooks", str(dest)]) == 2
    err = capsys.readouterr().err.strip()
    assert "\n" not in err and f"{dest / folder} is a symlink" in err
    assert list(victim.iterdir()) == []
    assert not (dest / MANIFEST).exists()


def _copy(barrier, dest, out):
    barrier.wait()
    try:
        copy_course(dest)
        out.put("ok")
    except ModelUsageError as e:
        out.put(f"error: {e}")
    except BaseException as e:  # a traceback is the bug this test looks for
        out.put(f"crash: {type(e).__name__}: {e}")


def test_copies_at_once_all_succeed_and_leave_no_temporary_file(tmp_path):
    ctx = multiprocessing.get_context("fork")
    for attempt in range(3):
        dest = tmp_path / f"course{attempt}"
        barrier, out = ctx.Barrier(4), ctx.Queue()
        procs = [ctx.Process(target=_copy, args=(barrier, dest, out)) for _ in range(4)]
        for p in procs:
            p.start()
        for p in procs:
            p.join(60)
        assert sorted(out.get(timeout=5) for _ in procs) == ["ok"] * 4
        assert [p for p in dest.rglob(".*") if p.name != MANIFEST] == []
        assert copy_course(dest).written == []   # complete and as copied


def test_ctrl_c_mid_copy_leaves_no_temporary_file(tmp_path, monkeypatch, capsys):
    dest = tmp_path / "course"
    written = []
    real = os.replace

    def interrupted(src, dst, *a, **kw):
        if len(written) == 3:
            raise KeyboardInterrupt
        written.append(dst)
        return real(src, dst, *a, **kw)

    monkeypatch.setattr(os, "replace", interrupted)
    assert main(["notebooks", str(dest)]) == 130
    assert capsys.readouterr().err.strip() == "interrupted"
    assert len(written) == 3
    assert [p for p in dest.rglob("*") if p.is_file() and p.name.startswith(".")] == []
    monkeypatch.setattr(os, "replace", real)
    # the next copy finishes the job; the three copied files count as ours
    assert len(copy_course(dest).unchanged) == 3


def test_a_file_where_a_folder_goes_is_one_line(tmp_path, capsys):
    dest = tmp_path / "course"
    dest.mkdir()
    (dest / "notebooks").write_text("mine")
    assert main(["notebooks", str(dest)]) == 2
    err = capsys.readouterr().err.strip()
    assert "\n" not in err and "is in the way (not a folder)" in err
    assert (dest / "notebooks").read_text() == "mine"
    assert not (dest / "data").exists()     # refused before copying anything


def test_folder_checks_are_repeated_at_write_time(tmp_path):
    """A folder swapped for a symlink after the plan is still refused."""
    dest, victim = tmp_path / "course", tmp_path / "victim"
    victim.mkdir()
    dest.mkdir()
    (dest / "notebooks").symlink_to(victim)
    with pytest.raises(OSError, match="is a symlink"):
        learner_copy._write(dest, "notebooks/x.ipynb", b"{}")
    assert list(victim.iterdir()) == []


def test_a_huge_manifest_is_not_read_into_memory(tmp_path):
    """A sparse 4 GiB manifest (or one that grows) counts as no manifest:
    refused by its size, not read whole."""
    dest = tmp_path / "course"
    dest.mkdir()
    with open(dest / MANIFEST, "wb") as f:
        f.truncate(4 << 30)
    assert len(copy_course(dest).written) > 0
    assert (dest / MANIFEST).stat().st_size < 1 << 20
