"""The call view and the page inspector from Python: a bad step, call or
frame is the package's ModelUsageError naming the argument (never an
IndexError, TypeError, ValueError or traitlets' TraitError), an empty
timeline is refused at construction, and a timeline without calls shows
that it has none."""
from __future__ import annotations

import re

import numpy as np
import pytest

from memcg_edu.errors import ModelUsageError
from memcg_edu.scenario import load_scenario, run_scenario
from memcg_edu.timeline import FORMAT, Timeline
from memcg_edu.widgets.callview import CallStepper
from memcg_edu.widgets.inspector import PageInspector


@pytest.fixture(scope="module")
def tl():
    return run_scenario(load_scenario("01-charge-and-cancel"), calls=True)


@pytest.fixture(scope="module")
def tl_no_calls():
    return run_scenario(load_scenario("01-charge-and-cancel"), calls=False)


@pytest.mark.parametrize("cls", [CallStepper, PageInspector])
def test_an_empty_timeline_is_refused_at_construction(cls):
    empty = Timeline.from_dict({"format": FORMAT, "steps": [], "meta": {}})
    with pytest.raises(ModelUsageError, match="no steps to show"):
        cls(empty)


@pytest.mark.parametrize("step,text", [
    (999, "step 999 is outside this timeline"), ("x", "step must be a whole number"),
    (None, "step must be a whole number"), (1.5, "step must be a whole number"),
    (True, "step must be a whole number")])
def test_call_stepper_bad_step(tl, step, text):
    cs = CallStepper(tl)
    with pytest.raises(ModelUsageError, match=text):
        cs.show(step)


def test_call_stepper_negative_and_numpy_steps_are_indexes(tl):
    cs = CallStepper(tl)
    cs.show(-1)
    assert cs.step == len(tl) - 1
    cs.show(np.int64(0))
    assert cs.step == 0 and cs.call == 0 and cs.calls


@pytest.mark.parametrize("index", ["x", None, float("nan"), True])
def test_go_call_bad_index(tl, index):
    cs = CallStepper(tl)
    cs.show(0)
    with pytest.raises(ModelUsageError, match="call index must be a number"):
        cs.go_call(index)
    assert cs.call == 0


def test_go_call_clips_out_of_range_numbers(tl):
    cs = CallStepper(tl)
    cs.show(0)
    cs.go_call(10 ** 9)
    assert cs.call == len(cs.calls) - 1
    cs.go_call(float("-inf"))
    assert cs.call == 0


@pytest.mark.parametrize("nth", [-1, "a", 1.0, True])
def test_go_function_bad_nth(tl, nth):
    cs = CallStepper(tl)
    cs.show(0)
    with pytest.raises(ModelUsageError, match="nth must be a whole number from 0"):
        cs.go_function(cs.calls[0]["fn"], nth)


def test_a_timeline_without_calls(tl_no_calls):
    cs = CallStepper(tl_no_calls)
    cs.show(0)
    cs.next_call()
    assert cs.call is None and "No kernel call was recorded" in cs.detail.value
    with pytest.raises(ModelUsageError, match="its calls: none"):
        cs.go_function("try_charge")
    pi = PageInspector(tl_no_calls)
    pi.show(0, None)
    assert pi.shown_pfn == 0 and "pfn 0 (x)" in pi.table.value
    with pytest.raises(ModelUsageError, match=r"has 0 recorded call\(s\)"):
        pi.show(0, 0)


@pytest.mark.parametrize("step,call,text", [
    (999, 0, "step 999 is outside"), ("a", None, "step must be a whole number"),
    (0, 999, "call 999 is not a call of step 0"), (0, -1, "call -1 is not a call"),
    (0, "1", "call '1' is not a call")])
def test_inspector_bad_step_or_call(tl, step, call, text):
    pi = PageInspector(tl)
    with pytest.raises(ModelUsageError, match=text):
        pi.show(step, call)


@pytest.mark.parametrize("pfn", [99999, "x", -1, 1.5])
def test_inspector_pick_a_frame_it_does_not_offer(tl, pfn):
    pi = PageInspector(tl)
    pi.show(0, None)
    with pytest.raises(ModelUsageError, match=f"pfn {pfn!r} is not a frame of step 0"):
        pi.pick_frame(pfn)
    pi.pick_frame(np.int64(0))
    assert pi.frame == 0 and pi.shown_pfn == 0


def _broken(tl, change):
    import copy
    data = copy.deepcopy(tl.to_dict())
    change(data["steps"][0])
    return Timeline.from_dict(data)


@pytest.mark.parametrize("change,text", [
    (lambda s: s.update(calls="abc"), '"calls" must be a list of call objects'),
    (lambda s: s.update(calls=[1, 2]), "calls[0] must be an object"),
    (lambda s: s["calls"][0].update(pfn="x"), "calls[0].pfn must be a whole number or null"),
    (lambda s: s["calls"][0].update(pfn=-3), "calls[0].pfn must be a whole number or null"),
    (lambda s: s["calls"][1].update(depth="x"), "calls[1].depth must be a whole number"),
    (lambda s: s["calls"][0].update(state=[1]), "calls[0].state must be an object or null"),
    (lambda s: s["calls"][0].update(memcgs=[1]), "calls[0].memcgs must be an object"),
    (lambda s: s["calls"][0].update(was="x"), "calls[0].was must be an object"),
    (lambda s: s["calls"][0].update(fn=5), "calls[0].fn must be a function name"),
    (lambda s: s.update(detail="x"), '"detail" must be an object'),
    (lambda s: s["detail"].update(touched=["x"]), '"detail" must be an object'),
    (lambda s: s.update(pages="x"), '"pages" must be an object of per-frame lists')])
def test_a_loaded_timeline_with_malformed_calls_is_one_error(tl, change, text):
    """A saved timeline may hold anything: the call view and the inspector
    name the step and the key instead of an AttributeError or ValueError."""
    bad = _broken(tl, change)
    with pytest.raises(ModelUsageError, match=r"timeline step 0: " + re.escape(text)):
        CallStepper(bad).show(0)
    with pytest.raises(ModelUsageError, match=r"timeline step 0: "):
        PageInspector(bad).show(0, None)
