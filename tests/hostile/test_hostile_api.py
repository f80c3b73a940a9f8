"""Hostile calls of the Python API a notebook user makes: each raises the
package's own error with a message naming the argument."""
from __future__ import annotations

import numpy as np
import pytest

from memcg_edu import Timeline
from memcg_edu.errors import ModelUsageError, ScenarioError
from memcg_edu.scenario import FORMAT, load_scenario, run_scenario
from memcg_edu.scenario.quiz import generate_problem
from memcg_edu.timeline import FORMAT as TL_FORMAT

BASE = {"format": FORMAT, "memcgs": {"A": {"limit": 8}}, "tasks": {"p": "A"},
        "steps": [{"op": "fault_anon", "task": "p", "page": "x"}]}


@pytest.fixture(scope="module")
def tl():
    return run_scenario(BASE, pages=True)


def _write(tmp_path, name, data: bytes):
    p = tmp_path / name
    p.write_bytes(data)
    return p


def test_a_numpy_integer_limit_is_a_number_of_pages():
    d = {**BASE, "memcgs": {"A": {"limit": np.int64(5)}}}
    assert load_scenario(d).memcgs["A"]["limit"] == 5
    assert run_scenario(d)[0]["memcgs"]["A"]["limit"] == 5


def test_a_numpy_integer_limit_on_the_model():
    from memcg_edu import Machine
    m = Machine(ram_pages=64)
    m.create_memcg("A", limit=np.int64(5), memsw_limit=np.int32(6))
    assert m.memcgs["A"].res.limit == 5
    with pytest.raises(ModelUsageError, match="limit of A must be a number of pages"):
        m.set_limit("A", limit=np.float64(5))


def test_an_unprintable_value_is_named_not_a_type_error():
    d = {**BASE, "memcgs": {"A": {"limit": {1, 2}}}}
    with pytest.raises(ScenarioError, match=r'field "memcgs.A.limit": must be a '
                                            r"whole number of pages or null"):
        load_scenario(d)


def test_a_step_appended_to_a_loaded_scenario_is_checked():
    sc = load_scenario(BASE)
    sc.steps.append({"op": "fault_anon", "task": "nobody", "page": "y"})
    with pytest.raises(ScenarioError, match=r'step 1 \(fault_anon\), field "task": '
                                            r'no task "nobody"'):
        run_scenario(sc)
    sc.steps[-1] = {"op": "bogus"}
    with pytest.raises(ScenarioError, match=r'step 1, field "op": unknown op "bogus"'):
        run_scenario(sc)
    sc.steps.pop()
    assert len(run_scenario(sc)) == 1


@pytest.mark.parametrize("data,text", [
    (b"\xff\xfe{}", "not UTF-8 text"),
    (b'{"format": "%s", "steps": [], "meta": {"n": %s}}'
     % (TL_FORMAT.encode(), b"7" * 5000), "an integer of 5000 digits"),
    (b"[" * 50000 + b"]" * 50000, "nested too deeply"),
    (b'{"format": "%s", "steps": [], "steps": []}' % TL_FORMAT.encode(),
     'duplicate key "steps"'),
])
def test_timeline_load_refuses_with_one_line(tmp_path, data, text):
    p = _write(tmp_path, "t.json", data)
    with pytest.raises(ModelUsageError) as e:
        Timeline.load(p)
    assert text in str(e.value) and str(e.value).startswith(f"{p}: cannot read timeline")
    assert "\n" not in str(e.value)


@pytest.mark.parametrize("steps,text", [
    ([1], r"steps\[0\] must be an object"),
    ([{"memcgs": []}], r"steps\[0\].memcgs must be an object"),
])
def test_timeline_from_dict_checks_each_step(steps, text):
    with pytest.raises(ModelUsageError, match=text):
        Timeline.from_dict({"format": TL_FORMAT, "steps": steps})


@pytest.mark.parametrize("kw,text", [
    ({"steps": "3"}, "steps must be a whole number from 1 to 40, got '3'"),
    ({"steps": 2.0}, "steps must be a whole number"),
    ({"steps": True}, "steps must be a whole number"),
    ({"topic": ["swap"]}, "unknown topic"),
])
def test_generate_problem_names_the_argument(kw, text):
    with pytest.raises(ScenarioError) as e:
        generate_problem(1, **kw)
    assert text in str(e.value)


def test_widgets_on_an_empty_timeline_say_so():
    from memcg_edu.widgets import counters_panel, page_grid_view
    for make in (counters_panel, page_grid_view):
        with pytest.raises(ModelUsageError, match="the timeline has no steps"):
            make(Timeline())


def test_player_go_needs_a_whole_number(tl):
    from memcg_edu.widgets.player import StepPlayer
    p = StepPlayer(tl)
    for bad in ("x", 1.5, None, True):
        with pytest.raises(ModelUsageError, match="step must be a whole number"):
            p.go(bad)
    p.go(np.int64(0))
    assert p.step == 0


def test_plot_counters_checks_step_like_plot_lru(tl):
    from memcg_edu.viz import plot_counters, plot_lru
    for plot in (lambda s: plot_counters(tl, step=s), lambda s: plot_lru(tl, s)):
        with pytest.raises(ModelUsageError, match=r"step 999 is outside this "
                                                  r"timeline \(steps 0 to 0\)"):
            plot(999)
        with pytest.raises(ModelUsageError, match="step must be a whole number"):
            plot("1")


def test_empty_timeline_never_says_steps_0_to_minus_1():
    for step in (0, -1, 5):
        with pytest.raises(ModelUsageError) as e:
            Timeline().step_index(step)
        assert "no steps" in str(e.value) and "-1)" not in str(e.value)


def test_memcg_none_is_named_as_a_wrong_name(tl):
    from memcg_edu.viz import plot_counters
    with pytest.raises(ModelUsageError, match="memcg must be a name .*got None; "
                                              "this timeline has A"):
        tl.counter(None, "usage")
    with pytest.raises(ModelUsageError, match="a memcg is named by a string, got None"):
        plot_counters(tl, [None])


def test_live_record_refuses_a_bad_interval_before_any_work():
    from memcg_edu.live import LiveError, record
    for bad in (float("nan"), 0, -1.0, float("inf"), "1", True):
        with pytest.raises(LiveError, match="interval must be a number of seconds"):
            record("charge", 64, interval=bad)

