"""``memcg-edu notebooks [DIR]``: copies the course, updates what the learner
did not touch, and never overwrites an edited notebook without --force."""
from __future__ import annotations

import json
import signal
import sys
import pytest

from memcg_edu import bundled, cli
from memcg_edu.errors import ModelUsageError
from memcg_edu.learner_copy import DEFAULT_DIR, MANIFEST, copy_course, course_files


def run(argv, capsys, prog=cli.PROG):
    code = cli.main(argv, prog=prog)
    out = capsys.readouterr()
    return code, out.out, out.err


def test_copies_notebooks_and_what_they_open(tmp_path, capsys):
    dest = tmp_path / "course"
    code, out, err = run(["notebooks", str(dest)], capsys)
    assert code == 0 and err == ""
    notebooks = sorted(p.name for p in (dest / "notebooks").glob("*.ipynb"))
    assert notebooks == sorted(p.name for p in bundled.NOTEBOOK_DIR.glob("*.ipynb"))
    assert len(notebooks) == 8
    assert (dest / "data" / "scenarios" / "06-swap-out-and-in.json").read_bytes() == \
        (bundled.SCENARIO_DIR / "06-swap-out-and-in.json").read_bytes()
    assert (dest / "data" / "real-kernel" / "pagecache.json").is_file()
    manifest = json.loads((dest / MANIFEST).read_text())
    assert set(manifest["files"]) == set(course_files())
    assert f"cd {dest} && jupyter lab notebooks/00-start-here.ipynb" in out


def test_default_folder_is_memcg_edu_notebooks(tmp_path, monkeypatch, capsys):
    monkeypatch.chdir(tmp_path)
    assert run(["notebooks"], capsys)[0] == 0
    assert DEFAULT_DIR == "memcg-edu-notebooks"
    assert (tmp_path / "memcg-edu-notebooks" / "notebooks" / "00-start-here.ipynb").is_file()


def test_an_edited_notebook_is_kept_unless_forced(tmp_path, capsys):
    dest = tmp_path / "course"
    copy_course(dest)
    mine = dest / "notebooks" / "01-charge.ipynb"
    mine.write_text(mine.read_text() + " ")                  # the learner saved it
    edited = mine.read_bytes()
    (dest / "notebooks" / "02-final-put.ipynb").unlink()     # and deleted another
    code, out, err = run(["notebooks", str(dest)], capsys)
    assert code == 2 and out == ""
    assert err.count("\n") == 1 and "01-charge.ipynb" in err and "--force" in err
    assert "nothing was copied" in err
    assert mine.read_bytes() == edited
    assert not (dest / "notebooks" / "02-final-put.ipynb").exists()   # nothing at all
    code, out, err = run(["notebooks", str(dest), "--force"], capsys)
    assert code == 0
    assert mine.read_bytes() == (bundled.NOTEBOOK_DIR / "01-charge.ipynb").read_bytes()
    assert "notebooks/01-charge.ipynb" in out and "--force" in out
    assert (dest / "notebooks" / "02-final-put.ipynb").is_file()


def test_copying_again_updates_untouched_files_only(tmp_path):
    dest = tmp_path / "course"
    copy_course(dest)
    # an older release wrote this file; the learner never touched it
    old = dest / "data" / "scenarios" / "08-hierarchy.json"
    old.write_text('{"older": true}\n')
    manifest = json.loads((dest / MANIFEST).read_text())
    manifest["files"]["data/scenarios/08-hierarchy.json"] = \
        __import__("hashlib").sha256(old.read_bytes()).hexdigest()
    (dest / MANIFEST).write_text(json.dumps(manifest))
    result = copy_course(dest)
    assert result.written == ["data/scenarios/08-hierarchy.json"] and not result.overwritten
    assert old.read_bytes() == (bundled.SCENARIO_DIR / "08-hierarchy.json").read_bytes()


def test_a_file_that_was_never_ours_counts_as_the_learners(tmp_path):
    dest = tmp_path / "course"
    (dest / "notebooks").mkdir(parents=True)
    (dest / "notebooks" / "00-start-here.ipynb").write_text("my own notes")
    (dest / "notes.txt").write_text("kept")
    with pytest.raises(ModelUsageError, match="00-start-here.ipynb: changed since"):
        copy_course(dest)
    assert (dest / "notebooks" / "00-start-here.ipynb").read_text() == "my own notes"
    copy_course(dest, force=True)
    assert (dest / "notes.txt").read_text() == "kept"       # not the course's: untouched


def test_a_symlink_in_the_copy_is_replaced_not_followed(tmp_path):
    dest = tmp_path / "course"
    copy_course(dest)
    outside = tmp_path / "outside.txt"
    outside.write_text("precious")
    nb = dest / "notebooks" / "03-migration-and-lru.ipynb"
    nb.unlink()
    nb.symlink_to(outside)
    with pytest.raises(ModelUsageError):
        copy_course(dest)
    copy_course(dest, force=True)
    assert outside.read_text() == "precious" and not nb.is_symlink()


def test_refuses_a_file_as_the_folder(tmp_path, capsys):
    target = tmp_path / "a-file"
    target.write_text("x")
    code, out, err = run(["notebooks", str(target)], capsys)
    assert code == 2 and "is not a folder" in err and target.read_text() == "x"


@pytest.fixture
def sigint_given_back():
    """The console script ignores Ctrl-C once it is done (its process ends
    then): pytest gets its own handler back afterwards."""
    handler = signal.getsignal(signal.SIGINT)
    yield
    signal.signal(signal.SIGINT, handler)


def test_the_console_script_names_itself_memcg_edu(capsys, monkeypatch,
                                                   sigint_given_back):
    tomllib = pytest.importorskip("tomllib" if sys.version_info >= (3, 11) else "tomli")
    scripts = tomllib.loads((bundled.COURSE_ROOT / "pyproject.toml").read_text())["project"]["scripts"]
    assert scripts == {"memcg-edu": "memcg_edu.cli:console_main"}
    monkeypatch.setattr("sys.argv", ["/venv/bin/memcg-edu", "notebooks", "--help"])
    with pytest.raises(SystemExit) as e:
        cli.console_main()
    assert e.value.code == 0
    assert capsys.readouterr().out.startswith("usage: memcg-edu notebooks [-h] [--force] [DIR]")
    monkeypatch.setattr("sys.argv", ["/venv/bin/memcg-edu", "no-such-command"])
    with pytest.raises(SystemExit) as e:
        cli.console_main()
    assert e.value.code == 2
    assert capsys.readouterr().err.startswith("memcg-edu: argument COMMAND: invalid choice")


def test_something_in_the_way_is_named_not_a_traceback(tmp_path, capsys):
    dest = tmp_path / "course"
    (dest / "notebooks" / "01-charge.ipynb").mkdir(parents=True)     # a folder
    code, out, err = run(["notebooks", str(dest)], capsys)
    assert code == 2 and "01-charge.ipynb is in the way (not a file)" in err
    other = tmp_path / "other"
    other.mkdir()
    (other / "data").write_text("a file where a folder goes")
    code, out, err = run(["notebooks", str(other)], capsys)
    assert code == 2 and "data is in the way (not a folder)" in err and "Traceback" not in err
