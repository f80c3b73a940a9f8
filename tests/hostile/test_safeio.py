"""memcg_edu.safeio on its own: what it writes and what it refuses."""
from __future__ import annotations

import os
from pathlib import Path

import pytest

from memcg_edu.errors import ModelUsageError
from memcg_edu.safeio import (capped_names, check_output, html_text, parse_json,
                              printable, write_atomic)


def test_write_replaces_a_symlink_instead_of_following_it(tmp_path):
    victim = tmp_path / "victim"
    victim.write_text("precious")
    link = tmp_path / "out.json"
    link.symlink_to(victim)
    write_atomic(link, "new")
    assert victim.read_text() == "precious"
    assert not link.is_symlink() and link.read_text() == "new"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["out.json", "victim"]


def test_without_overwrite_a_file_that_appeared_is_kept(tmp_path):
    f = tmp_path / "out.json"
    check_output(f)                     # free when checked...
    f.write_text("someone else's")      # ... taken before the write
    with pytest.raises(ModelUsageError, match="appeared while we worked"):
        write_atomic(f, "mine", overwrite=False)
    assert f.read_text() == "someone else's"
    assert [p.name for p in tmp_path.iterdir()] == ["out.json"]


def test_a_failed_write_leaves_no_temp_file(tmp_path):
    def boom(f):
        f.write(b"half")
        raise RuntimeError("renderer failed")
    with pytest.raises(RuntimeError):
        write_atomic(tmp_path / "x.png", boom)
    assert list(tmp_path.iterdir()) == []


def test_written_files_get_the_usual_mode(tmp_path):
    old = os.umask(0o022)
    try:
        write_atomic(tmp_path / "x", b"1")
    finally:
        os.umask(old)
    assert (tmp_path / "x").stat().st_mode & 0o777 == 0o644


@pytest.mark.parametrize("where,text", [
    ("/proc/self/x", "holds kernel files"), ("/dev/x", "holds kernel files"),
    ("{tmp}/", "give a file name"), ("{tmp}/ro/x", "is not writable"),
])
def test_check_output_refuses(tmp_path, where, text):
    ro = tmp_path / "ro"
    ro.mkdir(mode=0o500)
    if text == "is not writable" and os.geteuid() == 0:
        pytest.skip("root may write anywhere")
    with pytest.raises(ModelUsageError, match=text):
        check_output(where.replace("{tmp}", str(tmp_path)))


def test_printable_escapes_controls_and_keeps_text():
    assert printable("a\tb\nc") == "a\tb\nc"
    assert printable("\x1b[2J\x07\x9b\u202e\ud800é😀") == \
        "\\x1b[2J\\x07\\x9b\\u202e\\ud800é😀"


@pytest.mark.parametrize("c", [chr(i) for i in range(0x100)])
def test_printable_escapes_each_character_inside_ascii_text(c):
    # plain ASCII text takes a short cut: every character, alone and
    # inside a long ASCII text, is shown as the full check shows it
    want = {"\t": "\t", "\n": "\n"}.get(c, c if 0x20 <= ord(c) < 0x7f or ord(c) > 0x9f
                                      else f"\\x{ord(c):02x}")
    assert printable(c) == want
    assert printable("step 1: ok\n" * 50 + c + "  usage") == "step 1: ok\n" * 50 + want + "  usage"


def test_capped_names():
    assert capped_names(["a", "b"]) == '"a", "b"'
    assert capped_names([]) == "none"
    long = capped_names(range(1000))
    assert long.endswith("(and 960 more)") and len(long) < 400


def test_integer_cap_is_on_digits_not_value():
    fail = ModelUsageError
    assert parse_json("[" + "9" * 40 + ", -" + "9" * 40 + "]", fail)[0] == 10**40 - 1
    with pytest.raises(ModelUsageError, match="41 digits"):
        parse_json("-" + "9" * 41, fail)


def test_check_output_behind_a_folder_we_may_not_search_is_one_line(tmp_path):
    """An output path behind a folder we may not search (EACCES on stat)
    is refused in one line naming the folder, not with a traceback."""
    import shutil
    import subprocess
    import sys
    locked = tmp_path / "locked"
    (locked / "sub").mkdir(parents=True)
    target = locked / "sub" / "x.json"
    locked.chmod(0)
    try:
        if os.geteuid() != 0:
            with pytest.raises(ModelUsageError,
                               match=f"folder {target.parent}: Permission denied"):
                check_output(target)
            return
        if shutil.which("setpriv") is None:
            pytest.skip("needs setpriv to drop to an unprivileged user")
        root = Path(__file__).resolve().parents[2]
        r = subprocess.run(
            ["setpriv", "--reuid=65534", "--regid=65534", "--clear-groups",
             sys.executable, "-m", "memcg_edu", "live", "run", "charge",
             "--out", str(target)],
            env=dict(os.environ, PYTHONPATH=str(root)), cwd="/",
            capture_output=True, text=True, timeout=120)
        assert r.returncode == 2 and r.stdout == ""
        assert r.stderr.endswith(f"--out {target}: folder {target.parent}: "
                                 f"Permission denied\n"), r.stderr
        assert r.stderr.count("\n") == 1
    finally:
        locked.chmod(0o700)


def test_check_output_in_a_folder_we_may_not_enter_is_one_error(tmp_path, monkeypatch):
    """A user who cannot enter the folder (EACCES from stat) gets the
    package's error, not a PermissionError traceback."""
    from pathlib import Path

    real = Path.is_dir

    def denied(self):
        if self == tmp_path / "private":
            raise PermissionError(13, "Permission denied", str(self))
        return real(self)

    monkeypatch.setattr(Path, "is_dir", denied)
    with pytest.raises(ModelUsageError, match="folder .*private: Permission denied"):
        check_output(tmp_path / "private" / "x.json")


def test_html_text_escapes_for_the_page_and_shows_what_a_browser_would_hide():
    assert html_text("<b a='1'>&\x1b[2J\u202eA\n") == (
        "&lt;b a=&#x27;1&#x27;&gt;&amp;\\x1b[2J\\u202eA\n")
    assert html_text("a'b", quote=False) == "a'b" and html_text("été") == "été"
