"""``live trace WORKLOAD --out F.json``: a wrong command line or output
path is one line, exit 2, before anything is traced; the saved trace is
written through a new file (a symlink is replaced, never followed) and an
existing file is kept without --force."""
from __future__ import annotations

import pytest

from memcg_edu.cli import main
from memcg_edu.live import trace as trace_mod
from memcg_edu.live.trace import recorded_trace

#: (arguments after "live trace", text in the one line on stderr)
REFUSED = [
    (["nosuch", "--out", "{tmp}/x.json"], "unknown workload 'nosuch'"),
    (["charge", "--pages", "0", "--out", "{tmp}/x.json"], "pages must be between"),
    (["charge", "--pages", "-5", "--out", "{tmp}/x.json"], "pages must be between"),
    (["charge", "--out", "/proc/x.json"], "/proc holds kernel files"),
    (["charge", "--out", "/sys/kernel/x.json"], "holds kernel files"),
    (["charge", "--out", "{tmp}/no/x.json"], "folder {tmp}/no does not exist"),
    (["charge", "--out", "{tmp}"], "is a directory"),
    (["charge", "--out", "{tmp}/exists.json"], "exists; add --force to overwrite it"),
    (["charge", "--out", "{tmp}/link.json"], "is a symlink"),
    (["charge", "--out", "{tmp}/link.json", "--force"], "is a symlink"),
    (["charge", "--out", "{tmp}/a\0b.json"], "not a possible file name"),
]


@pytest.fixture
def tmp(tmp_path, monkeypatch):
    (tmp_path / "exists.json").write_text("keep\n")
    (tmp_path / "target.json").write_text("target\n")
    (tmp_path / "link.json").symlink_to(tmp_path / "target.json")

    def no_work(*a, **kw):
        raise AssertionError("traced although the command line was refused")

    monkeypatch.setattr(trace_mod, "trace", no_work)
    return tmp_path


@pytest.mark.parametrize("argv,text", REFUSED, ids=[" ".join(a)[:50] for a, _ in REFUSED])
def test_refused_with_one_line_before_any_work(capsys, tmp, argv, text):
    argv = [a.replace("{tmp}", str(tmp)) for a in argv]
    assert main(["live", "trace", *argv]) == 2
    out, err = capsys.readouterr()
    assert err.count("\n") == 1 and text.replace("{tmp}", str(tmp)) in err, err
    assert "Traceback" not in err and out == ""
    assert (tmp / "exists.json").read_text() == "keep\n"
    assert (tmp / "target.json").read_text() == "target\n"


@pytest.mark.parametrize("name", ["t.json", "t.json.gz"])
def test_save_replaces_a_symlink_and_keeps_a_file_without_overwrite(tmp_path, name):
    tr = recorded_trace("charge")
    target = tmp_path / "target"
    target.write_text("target\n")
    link = tmp_path / name
    link.symlink_to(target)
    tr.save(link)
    assert target.read_text() == "target\n" and not link.is_symlink()
    assert trace_mod.load_trace(link).meta == tr.meta
    with pytest.raises(Exception, match="appeared while we worked"):
        tr.save(link, overwrite=False)
    assert [p.name for p in tmp_path.iterdir() if p.name.startswith(".")] == []


def test_a_run_waiting_for_the_trace_lock_says_so_once(tmp_path, monkeypatch):
    import os
    from memcg_edu.live.errors import LiveError
    from memcg_edu.live.tracefs import trace_lock
    state = tmp_path / "state"
    state.mkdir(mode=0o700)
    monkeypatch.setenv("MEMCG_EDU_STATE_DIR", str(state))
    said = []
    with trace_lock():
        with pytest.raises(LiveError, match="another traced run held the trace lock"):
            with trace_lock(timeout=0.6, on_wait=lambda: said.append(os.getpid())):
                pass
    assert said == [os.getpid()]
    with trace_lock(timeout=0.6, on_wait=lambda: said.append("again")):
        pass                      # free now: no waiting, nothing said
    assert said == [os.getpid()]


def _gzip(data: bytes) -> bytes:
    import gzip
    return gzip.compress(data, mtime=0)


@pytest.mark.parametrize("make,text", [
    (lambda p: p.write_bytes(_gzip(b"[" * 10 ** 6)),
     "nested too deeply"),
    (lambda p: p.write_bytes(_gzip(b"{") [:-9]), "cut short"),
    (lambda p: p.write_bytes(b'{"format": 1, "format": 2}'), 'duplicate key "format"'),
    (lambda p: p.write_bytes(b'{"a": ' + b"9" * 5000 + b"}"), "digits"),
    (lambda p: p.write_bytes(b"\xff\xfe{}"), "not JSON (nor gzip-compressed JSON)"),
    (lambda p: p.mkdir(), "is a directory"),
    (lambda p: __import__("os").mkfifo(p), "not a regular file"),
    (lambda p: p.symlink_to("/dev/zero"), "not a regular file"),
])
def test_load_trace_reads_only_plain_bounded_files(tmp_path, make, text):
    """A trace file someone hands a learner: no FIFO that blocks, no
    /dev/zero, no RecursionError or ValueError traceback."""
    from memcg_edu.live.errors import LiveError
    p = tmp_path / "t.json.gz"
    make(p)
    with pytest.raises(LiveError, match=__import__("re").escape(text)) as e:
        trace_mod.load_trace(p)
    assert str(p) in str(e.value) and "\n" not in str(e.value)


def test_load_trace_refuses_a_gzip_bomb_without_inflating_it(tmp_path, monkeypatch):
    from memcg_edu.live.errors import LiveError
    monkeypatch.setattr(trace_mod, "MAX_TIMELINE_BYTES", 1 << 20)
    p = tmp_path / "bomb.json.gz"
    p.write_bytes(_gzip(b" " * (64 << 20)))      # 64 KiB that inflates to 64 MiB
    assert p.stat().st_size < 1 << 20
    with pytest.raises(LiveError, match="uncompressed it is more than 1048576 bytes"):
        trace_mod.load_trace(p)
