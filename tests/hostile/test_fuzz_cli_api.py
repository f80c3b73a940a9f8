"""Random hostile command lines and API calls: only the package's own
errors (or argparse's one-line exit 2) ever come out, never a traceback."""
from __future__ import annotations

import io
from contextlib import redirect_stderr, redirect_stdout
from pathlib import Path

import hypothesis.strategies as st
import pytest
from hypothesis import HealthCheck, given, settings

from memcg_edu import Timeline
from memcg_edu.cli import main
from memcg_edu.errors import MemcgEduError
from memcg_edu.scenario import load_scenario, run_scenario
from memcg_edu.scenario.quiz import generate_problem

FILES = Path(__file__).parent / "files"
HOSTILE = ["\x1b[2J", "\ud800", "9" * 5000, "nan", "-1", "0", "inf", "", "/proc/x.png",
           "/dev/zero", "/nonexistent/x.json", "A" * 300, "3.16", "-3", "1e999"]
SOURCES = [str(p) for p in sorted(FILES.glob("*.json"))] + [
    "01-charge-and-cancel", "/dev/zero", "/nonexistent.json", "."]


@st.composite
def argv(draw, out_dir: str):
    cmd = draw(st.sampled_from(["run", "check", "quiz", "plot", "compare",
                                "live", "bogus"]))
    args = [cmd]
    if cmd in ("run", "check", "plot", "compare"):
        args.append(draw(st.sampled_from(SOURCES + HOSTILE)))
    if cmd == "live":
        args.append(draw(st.sampled_from(["status", "list", "run", "nope"])))
        if args[-1] == "run":     # never a valid run: no workload, or no --out
            args.append(draw(st.sampled_from(["nope", "charge"])))
            args += draw(st.sampled_from([["--interval", "nan"], ["--pages", "3"],
                                          ["--out", "/proc/x.json"], []]))
    opts = {"run": ["--json", "--design"], "check": ["--design"],
            "quiz": ["--seed", "--steps", "--topic", "--solve", "--save",
                     "--design", "--force"],
            "plot": ["--out", "--step", "--only", "--overlay", "--memcg",
                     "--force", "--size"],
            "compare": ["--json"]}.get(cmd, [])
    for _ in range(draw(st.integers(0, 4))):
        if not opts:
            break
        o = draw(st.sampled_from(opts))
        args.append(o)
        if o in ("--json", "--solve", "--force"):
            continue
        if o in ("--out", "--save"):
            args.append(draw(st.sampled_from([f"{out_dir}/f.png", f"{out_dir}/q.json",
                                              "/proc/x.png", out_dir, "/dev/null"])))
        elif o == "--overlay":
            args.append(draw(st.sampled_from(SOURCES)))
        elif o == "--seed":
            args.append(draw(st.sampled_from(["1", "7"] + HOSTILE)))
        else:
            args.append(draw(st.sampled_from(HOSTILE + ["1", "A", "counters"])))
    return args


def _call(args):
    out, err = io.StringIO(), io.StringIO()
    with redirect_stdout(out), redirect_stderr(err):
        try:
            code = main(args)
        except SystemExit as e:      # argparse: one line and exit 2
            code = e.code
    return code, out.getvalue(), err.getvalue()


@pytest.mark.slow
@settings(max_examples=120, deadline=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture,
                                 HealthCheck.too_slow])
@given(data=st.data())
def test_random_command_lines(tmp_path, data):
    args = data.draw(argv(str(tmp_path)))
    code, out, err = _call(args)
    assert code in (0, 1, 2, 3), (args, code, err)
    assert "Traceback" not in err and "\x1b" not in out + err, (args, err)
    if code == 2:
        assert 1 <= err.count("\n") <= 2, (args, err)   # argparse adds "(see --help)"
    assert Path("/proc/x.png").exists() is False


JSON = st.recursive(
    st.none() | st.booleans() | st.integers(-2, 10) | st.floats(allow_nan=True)
    | st.sampled_from(["A", "p", "x", "fault_anon", "\x1b", "\ud800", "root"]),
    lambda inner: st.lists(inner, max_size=4)
    | st.dictionaries(st.sampled_from(["op", "task", "page", "memcg", "steps",
                                       "memcgs", "tasks", "format", "limit",
                                       "meta", "usage"]), inner, max_size=4),
    max_leaves=20)


@settings(max_examples=200, deadline=None)
@given(data=JSON, step=JSON)
def test_random_api_calls_raise_only_our_errors(data, step):
    calls = [
        lambda: Timeline.from_dict({"format": "memcg-edu-timeline/1",
                                    "steps": data}),
        lambda: Timeline.from_dict(data),
        lambda: load_scenario({"format": "memcg-edu-scenario/1", "memcgs": {"A": {}},
                               "tasks": {"p": "A"}, "steps": [step]}),
        lambda: Timeline([{"memcgs": {"A": {"usage": 1}}}]).step_index(step),
        lambda: Timeline([{"memcgs": {"A": {"usage": 1}}}]).counter(step, "usage"),
        lambda: generate_problem(1, steps=step),
    ]
    for call in calls:
        try:
            call()
        except MemcgEduError as e:
            assert "\n" not in str(e)


@settings(max_examples=60, deadline=None)
@given(steps=st.lists(JSON, max_size=3))
def test_random_steps_appended_to_a_loaded_scenario(steps):
    sc = load_scenario({"format": "memcg-edu-scenario/1", "memcgs": {"A": {}},
                        "tasks": {"p": "A"},
                        "steps": [{"op": "fault_anon", "task": "p", "page": "x"}]})
    sc.steps.extend(steps)
    try:
        run_scenario(sc)
    except MemcgEduError:
        pass

