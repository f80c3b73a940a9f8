import argparse
from pathlib import Path

import pytest

from memcg_edu import forked as forked_mod
from memcg_edu.cli import plot
from memcg_edu.errors import ModelUsageError
from memcg_synth import small_timeline


def _run(*argv):
    p = argparse.ArgumentParser()
    plot.add_parser(p.add_subparsers())
    args = p.parse_args(["plot", *argv])
    return args.func(args)


@pytest.fixture
def saved(tmp_path):
    path = tmp_path / "tl.json"
    small_timeline().save(path)
    return path


def test_writes_every_figure(saved, tmp_path, capsys):
    out = tmp_path / "fig.png"
    assert _run(str(saved), "--out", str(out), "--step", "5", "--overlay", str(saved)) == 0
    for name in ("fig.png", "fig-stats.png", "fig-lru.png", "fig-pages.png",
                 "fig-overlay.png"):
        assert (tmp_path / name).read_bytes()[:4] == b"\x89PNG", name
    assert "wrote" in capsys.readouterr().out


def test_only_and_pdf(saved, tmp_path):
    out = tmp_path / "f.pdf"
    assert _run(str(saved), "--out", str(out), "--only", "lru", "--size", "print") == 0
    assert (tmp_path / "f-lru.pdf").read_bytes()[:4] == b"%PDF"
    assert not out.exists()


def test_no_page_state_is_reported_not_fatal(tmp_path, capsys):
    path = tmp_path / "bare.json"
    small_timeline(with_pages=False).save(path)
    assert _run(str(path), "--out", str(tmp_path / "g.png"), "--only", "pages") == 0
    assert "page grid skipped" in capsys.readouterr().out
    assert list(tmp_path.glob("g*.png")) == []


@pytest.mark.parametrize("argv, message", [
    (["--out", "{tmp}/x.bogus"], "unknown image format 'bogus'"),
    (["--out", "{tmp}/missing/x.png"], "does not exist"),
    (["--out", "{tmp}/x.png", "--step", "99"], "--step 99 is outside this timeline \\(steps 0 to 9\\)"),
    (["--out", "{tmp}/x.png", "--memcg", "Q"], "no memcg 'Q'"),
])
def test_bad_arguments_are_clear(saved, tmp_path, argv, message):
    argv = [a.format(tmp=tmp_path) for a in argv]
    with pytest.raises(ModelUsageError, match=message):
        _run(str(saved), *argv)


def test_missing_file(tmp_path):
    with pytest.raises(ModelUsageError, match="no such file"):
        _run(str(tmp_path / "nope.json"), "--out", str(tmp_path / "x.png"))


@pytest.mark.parametrize("content", [b"\x7fELF\x02\x01\xd0\x00", b'{"format": "\xff"}'])
def test_binary_or_non_utf8_file_is_one_clear_line(tmp_path, capsys, content):
    from memcg_edu.cli import main

    path = tmp_path / "bin.json"
    path.write_bytes(content)
    assert main(["plot", str(path), "--out", str(tmp_path / "x.png")]) == 2
    err = capsys.readouterr().err
    assert "bin.json: cannot read it as JSON: not UTF-8 text" in err and "Traceback" not in err


def test_through_the_dispatcher(tmp_path, capsys):
    from memcg_edu.cli import main

    assert main(["plot", str(tmp_path / "nope.json"), "--out", str(tmp_path / "x.png")]) == 2
    assert "no such file" in capsys.readouterr().err
    scenario = Path(__file__).resolve().parents[2] / "data" / "scenarios" / \
        "06-swap-out-and-in.json"
    out = tmp_path / "s.png"
    assert main(["plot", str(scenario), "--out", str(out), "--only", "overlay",
                 "--overlay-design", "3.16"]) == 0
    assert (tmp_path / "s-overlay.png").read_bytes()[:4] == b"\x89PNG"


def test_saved_figures_carry_their_text_alternative(tmp_path):
    from PIL import Image
    from memcg_edu.cli import main
    out = tmp_path / "fig.png"
    assert main(["plot", "06-swap-out-and-in", "--out", str(out),
                 "--only", "counters"]) == 0
    desc = Image.open(out).text.get("Description", "")
    assert desc.startswith("Step chart of usage and memsw usage") and "memcg A" in desc
    svg = tmp_path / "fig.svg"
    assert main(["plot", "06-swap-out-and-in", "--out", str(svg),
                 "--only", "counters"]) == 0
    assert "Step chart of usage" in svg.read_text()


def _long_scenario(steps: int) -> dict:
    """A scenario too long for per-step page state on its machine."""
    from memcg_edu.scenario import FORMAT
    return {"format": FORMAT, "title": "long", "machine": {"ram_pages": 512, "swap_slots": 0},
            "memcgs": {"A": {}}, "tasks": {"p": "A"},
            "steps": [{"op": "fault_anon" if i % 2 == 0 else "unmap", "task": "p",
                       "page": f"x{i // 2}"} for i in range(steps)]}


def test_labels_are_kept_only_with_the_page_state():
    """plot runs a scenario with detail=None: a step's labels (read by the
    page grid alone) are recorded only where its page state is."""
    from memcg_edu.scenario.run import PAGES_MAX_CELLS
    from memcg_edu.viz.source import load_source
    long = _long_scenario(PAGES_MAX_CELLS // 512 + 2)
    tl = load_source(long, calls=False, detail=None).timeline
    assert not any("detail" in r or "pages" in r for r in tl.steps)
    assert all("detail" in r for r in load_source(long, calls=False).timeline.steps)
    shipped = Path(__file__).parents[2] / "data/scenarios/02-final-put-with-a-pinned-page.json"
    small = load_source(shipped, calls=False, detail=None).timeline
    assert all("detail" in r and "pages" in r for r in small.steps)
    assert small.steps == load_source(shipped, calls=False).timeline.steps


def test_plot_leaves_the_collector_as_it_found_it(saved, tmp_path, monkeypatch):
    """The timelines are frozen out of the collector's sight only while
    the figures are drawn, also when drawing fails."""
    import gc
    seen = []
    real = plot._draw

    def draw(*a):
        seen.append(gc.get_freeze_count())
        return real(*a)
    monkeypatch.setattr(plot, "_draw", draw)
    assert _run(str(saved), "--out", str(tmp_path / "f.png"), "--only", "lru") == 0
    assert seen[0] > 0 and gc.get_freeze_count() == 0

    def broken(*a):
        raise ModelUsageError("drawing failed")
    monkeypatch.setattr(plot, "_draw", broken)
    with pytest.raises(ModelUsageError):
        _run(str(saved), "--out", str(tmp_path / "g.png"), "--only", "lru", "--force")
    assert gc.get_freeze_count() == 0


def test_a_long_timeline_renders_on_two_cpus_with_the_same_files(saved, tmp_path,
                                                                  monkeypatch,
                                                                  only_new_threads):
    """plot renders through viz/render.py: with its child forced, the same files."""
    from memcg_edu.viz import render
    argv = ("--step", "5", "--overlay", str(saved))
    assert _run(str(saved), "--out", str(tmp_path / "one.png"), *argv) == 0
    forked = []
    real = render._fork
    monkeypatch.setattr(render, "_fork", lambda *a: forked.append(a) or real(*a))
    monkeypatch.setattr(render, "FORK_FROM", 0)
    monkeypatch.setattr(forked_mod, "cpus", lambda: 2)
    assert _run(str(saved), "--out", str(tmp_path / "two.png"), *argv) == 0
    assert len(forked) == 1 and list(forked[0][1]) == ["stats", "lru", "pages", "overlay"]
    for suffix in ("", "-stats", "-lru", "-pages", "-overlay"):
        assert (tmp_path / f"one{suffix}.png").read_bytes() == \
            (tmp_path / f"two{suffix}.png").read_bytes(), suffix


def test_the_collector_is_off_while_the_timelines_are_made(saved, tmp_path, monkeypatch):
    """No collection walks the records while they are made (a long run's
    would walk them all); the collector is on again after, also when
    loading fails."""
    import gc
    from memcg_edu.viz import source
    seen = []
    real = source.load_source

    def load(*a, **k):
        seen.append(gc.isenabled())
        return real(*a, **k)
    monkeypatch.setattr(source, "load_source", load)
    assert gc.isenabled()
    assert _run(str(saved), "--out", str(tmp_path / "f.png"), "--only", "lru",
                "--overlay", str(saved)) == 0
    assert seen == [False, False] and gc.isenabled()
    with pytest.raises(ModelUsageError, match="no such file"):
        _run(str(tmp_path / "nope.json"), "--out", str(tmp_path / "g.png"))
    assert gc.isenabled() and gc.get_freeze_count() == 0


def test_a_scenario_file_is_parsed_once(tmp_path, monkeypatch):
    """load_source reads the file to tell a timeline from a scenario; the
    scenario is loaded from that JSON, not parsed again."""
    import json
    from memcg_edu import safeio
    from memcg_edu.scenario import load
    from memcg_edu.viz.source import load_source
    f = tmp_path / "two.json"
    f.write_text(json.dumps({"format": "memcg-edu-scenario/1", "memcgs": {"A": {}},
                             "tasks": {"p": "A"},
                             "steps": [{"op": "fault_anon", "task": "p", "page": "x"}]}))
    parsed = []
    real = safeio.parse_json

    def counted(*args, **kwargs):
        parsed.append(1)
        return real(*args, **kwargs)
    monkeypatch.setattr(safeio, "parse_json", counted)
    monkeypatch.setattr(load, "parse_json", counted)
    src = load_source(f, None)
    assert len(parsed) == 1
    assert (src.name, src.timeline.meta["scenario"], len(src.timeline)) == ("two", "two.json", 1)


def test_a_scenario_file_over_the_size_limit_is_refused_as_by_load_scenario(tmp_path,
                                                                           monkeypatch):
    import json
    from memcg_edu.errors import ScenarioError
    from memcg_edu.scenario import format as fmt
    from memcg_edu.viz.source import load_source
    f = tmp_path / "big.json"
    f.write_text(json.dumps({"format": "memcg-edu-scenario/1", "memcgs": {}, "tasks": {},
                             "steps": [], "description": "x" * 100}))
    monkeypatch.setattr(fmt, "MAX_FILE_BYTES", 50)
    monkeypatch.setattr("memcg_edu.scenario.load.MAX_FILE_BYTES", 50)
    with pytest.raises(ScenarioError, match="more than a scenario may be"):
        load_source(f, None)
