"""Hostile files: each one gives a one-line error (or, if valid, a run whose
terminal output carries no raw escape), never a traceback, never a hang."""
from __future__ import annotations

import json
import os
import subprocess
import sys
import threading
from pathlib import Path

import pytest

from memcg_edu.cli import main
from memcg_edu.errors import ModelUsageError, ScenarioError
from memcg_edu.safeio import read_bytes, read_json
from memcg_edu.scenario import FORMAT, load_scenario
from memcg_edu.timeline import Timeline

FILES = Path(__file__).parent / "files"
ROOT = Path(__file__).parents[2]

#: file -> the one line `check` prints on stderr (exit 2)
ERRORS = {
    "duplicate-key.json": 'duplicate-key.json: duplicate key "A" in one object '
                          "(JSON would keep only the last)",
    "duplicate-top-key.json": 'duplicate-top-key.json: duplicate key "steps" in '
                              "one object (JSON would keep only the last)",
    "integer-5000-digits.json": 'integer-5000-digits.json: an integer of 5000 '
                                'digits ("999999999999..."); at most 40 digits '
                                "are accepted",
    "lone-surrogate-label.json": "lone-surrogate-label.json: steps[0].page: a "
                                 "lone surrogate escape (\\ud800-\\udfff) is not text",
    "lone-surrogate-title.json": "lone-surrogate-title.json: title: a lone "
                                 "surrogate escape (\\ud800-\\udfff) is not text",
    "not-utf8.json": "not-utf8.json: not UTF-8 text (byte 0xff at offset 12)",
    "nan-limit.json": 'nan-limit.json, field "memcgs.A.limit": must be a whole '
                      "number of pages, got nan",
}


def run_main(capsys, *argv: str) -> tuple[int, str, str]:
    try:
        code = main(list(argv))
    except SystemExit as e:
        code = e.code
    out, err = capsys.readouterr()
    return code, out, err


@pytest.mark.parametrize("name", sorted(ERRORS))
@pytest.mark.parametrize("command", ["run", "check"])
def test_bad_file_is_one_line_exit_2(capsys, name, command):
    code, out, err = run_main(capsys, command, str(FILES / name))
    assert (code, out, err) == (2, "", f"error: {ERRORS[name]}\n")


@pytest.mark.parametrize("name", ["lone-surrogate-label.json",
                                  "integer-5000-digits.json"])
def test_plot_refuses_before_writing_any_figure(capsys, tmp_path, name):
    code, out, err = run_main(capsys, "plot", str(FILES / name), "--out",
                              str(tmp_path / "f.png"))
    assert code == 2 and err.count("\n") == 1 and "Traceback" not in err
    assert list(tmp_path.iterdir()) == []


def test_a_surrogate_pair_is_text():
    assert load_scenario(FILES / "surrogate-pair-ok.json").title == "smile \U0001F600"


@pytest.mark.parametrize("command", ["run", "check"])
def test_escape_sequences_are_shown_escaped(capsys, command):
    code, out, err = run_main(capsys, command, str(FILES / "escapes-everywhere.json"))
    assert code == 0, err
    assert "\x1b" not in out + err and "\x07" not in out and "\u202e" not in out
    if command == "run":
        assert out.startswith("clear\\x1b[2J\\x1b]0;pwned\\x07 (")
        assert "note: note \\x1b[31mred\\u202e" in out
        assert "A\\x1b[2J" in out


def test_run_json_output_is_escaped_by_json(capsys):
    code, out, _ = run_main(capsys, "run", "--json",
                            str(FILES / "escapes-everywhere.json"))
    assert code == 0 and "\x1b" not in out and "\\u001b" in out


def test_timeline_steps_must_be_objects():
    with pytest.raises(ModelUsageError, match=r"steps\[0\] must be an object"):
        Timeline.load(FILES / "timeline-steps-not-objects.json")


def test_a_timeline_label_with_escapes_plots_and_prints_escaped(capsys, tmp_path):
    code, out, err = run_main(capsys, "plot", str(FILES / "timeline-with-escapes.json"),
                              "--out", str(tmp_path / "t.png"), "--only", "counters")
    assert code == 0, err
    assert "\x1b" not in out and (tmp_path / "t.png").stat().st_size > 0


@pytest.mark.parametrize("name", ["escapes-everywhere.json", "timeline-with-escapes.json"])
def test_every_figure_shows_a_files_escapes_escaped(tmp_path, name):
    """Titles, memcg names (an axis' tick labels too), labels: drawn as the
    terminal shows them, with no missing glyph (a warning, and a box in
    the figure)."""
    import warnings
    from matplotlib.text import Text
    from memcg_edu.viz import plot_counters, plot_lru, plot_pagegrid, plot_stats
    from memcg_edu.viz.source import load_source
    tl = load_source(FILES / name, detail=None).timeline
    figures = [plot_counters(tl), plot_stats(tl), plot_lru(tl)]
    if tl[0].get("pages"):
        figures.append(plot_pagegrid(tl, 0))
    for fig in figures:
        with warnings.catch_warnings():
            warnings.simplefilter("error")
            fig.canvas.draw()
        drawn = [t.get_text() for t in fig.findobj(Text) if t.get_visible()]
        assert not any(c in text for text in drawn for c in "\x1b\x07\u202e")
    shown = " ".join(t.get_text() for fig in figures for t in fig.findobj(Text))
    assert "\\x1b" in shown


@pytest.mark.parametrize("name", ["escapes-everywhere.json", "timeline-with-escapes.json"])
def test_the_dashboard_shows_a_hostile_file_on_every_tab(name):
    """A saved timeline whose op this version has no story for and whose
    counters are partial, names full of escapes: every tab drawn at each
    step, with no error or warning; the words escaped for the page."""
    import warnings
    from memcg_edu.widgets import dashboard
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        d = dashboard(FILES / name)
        d.displayed()
        for tab in range(len(d.tabs.children)):
            d.tabs.selected_index = tab
            d.show(len(d.timeline) - 1)
            d.show(0)
    words = d.player.words.value
    assert "\x1b" not in words and "\u202e" not in words
    counters = words.split("Counters: ")[1]
    assert counters.startswith("A") and ": usage 1" in counters


# -- not regular files, growing files, huge files -----------------------------

@pytest.mark.parametrize("command", ["run", "check", "plot"])
def test_symlink_to_dev_zero_is_refused(capsys, tmp_path, command):
    link = tmp_path / "zero.json"
    link.symlink_to("/dev/zero")
    extra = ["--out", str(tmp_path / "o.png")] if command == "plot" else []
    # refused before any byte is read (a read would never end: the test's
    # timeout in pyproject.toml would fail it)
    code, out, err = run_main(capsys, command, str(link), *extra)
    assert code == 2 and err.count("\n") == 1
    assert "not a regular file" in err


def test_fifo_without_writer_does_not_block(capsys, tmp_path):
    fifo = tmp_path / "fifo.json"
    os.mkfifo(fifo)
    code, out, err = run_main(capsys, "check", str(fifo))
    assert code == 2 and "not a regular file" in err


def test_fifo_fed_by_a_writer_is_refused(capsys, tmp_path):
    fifo = tmp_path / "fifo.json"
    os.mkfifo(fifo)
    stop = threading.Event()

    def feed():
        try:
            fd = os.open(fifo, os.O_WRONLY)
        except OSError:
            return
        try:
            while not stop.is_set():
                os.write(fd, b" " * 65536)
        except OSError:
            pass
        finally:
            os.close(fd)
    t = threading.Thread(target=feed, daemon=True)
    t.start()
    code, out, err = run_main(capsys, "plot", str(FILES / "surrogate-pair-ok.json"),
                              "--overlay", str(fifo), "--out",
                              str(tmp_path / "o.png"))
    stop.set()
    assert code == 2 and "fifo.json: cannot read it as JSON: is not a regular " \
                         "file" in err and err.count("\n") == 1
    assert list(tmp_path.iterdir()) == [fifo]
    with pytest.raises(ModelUsageError, match="not a regular file"):
        read_json(fifo, 1 << 20)


def test_a_file_that_grows_while_read_is_cut_at_the_limit(tmp_path, monkeypatch):
    f = tmp_path / "big.json"
    f.write_bytes(b" " * 5000)
    real_fstat = os.fstat

    def small_fstat(fd):            # the size said at open: 10 bytes
        st = real_fstat(fd)
        return os.stat_result((st.st_mode, st.st_ino, st.st_dev, st.st_nlink,
                               st.st_uid, st.st_gid, 10, 0, 0, 0))
    monkeypatch.setattr(os, "fstat", small_fstat)
    with pytest.raises(ModelUsageError, match="grew past the limit of 1000"):
        read_bytes(f, 1000)


def test_a_scenario_over_the_limit_is_refused_by_size(tmp_path):
    from memcg_edu.scenario.format import MAX_FILE_BYTES
    f = tmp_path / "huge.json"
    with open(f, "wb") as fh:
        fh.truncate(MAX_FILE_BYTES + 1)
    with pytest.raises(ScenarioError, match="more than a scenario may be"):
        load_scenario(f)


def test_deep_nesting_is_one_line(tmp_path):
    f = tmp_path / "deep.json"
    f.write_text('{"format": "%s", "steps": %s%s}' % (FORMAT, "[" * 100000,
                                                      "]" * 100000))
    with pytest.raises(ScenarioError, match="nested too deeply"):
        load_scenario(f)
    with pytest.raises(ModelUsageError, match="nested too deeply"):
        Timeline.load(f)


# -- sizes that make long messages ---------------------------------------------

def test_error_lists_of_names_are_capped(tmp_path):
    memcgs = {f"m{i}": {} for i in range(100_000)}
    f = tmp_path / "many.json"
    f.write_text(json.dumps({"format": FORMAT, "memcgs": dict(list(memcgs.items())[:30000]),
                             "tasks": {"p": "nope"}, "steps": []}))
    with pytest.raises(ScenarioError) as e:
        load_scenario(f)
    msg = str(e.value)
    assert len(msg) < 2000 and "(and 29961 more)" in msg
    assert 'field "tasks.p"' in msg


def test_too_many_tasks_names_file_and_field(tmp_path):
    f = tmp_path / "tasks.json"
    f.write_text(json.dumps({"format": FORMAT, "memcgs": {"A": {}},
                             "tasks": {f"t{i}": "A" for i in range(40000)},
                             "steps": []}))
    with pytest.raises(ScenarioError) as e:
        load_scenario(f)
    assert str(e.value) == ('tasks.json, field "tasks": 40,000 tasks is more '
                            "than the model numbers (32,767)")


def test_check_output_refuses_before_any_work_in_a_subprocess(tmp_path):
    """The whole command line, as a user runs it: no traceback, exit 2."""
    r = subprocess.run([sys.executable, "-m", "memcg_edu", "plot",
                        "01-charge-and-cancel", "--out", "/proc/x.png"],
                       capture_output=True, text=True, cwd=ROOT, timeout=120)
    assert r.returncode == 2 and r.stderr.count("\n") == 1
    assert "holds kernel files" in r.stderr
