"""The helpers the notebooks call: predictions, the install check, kernel timelines."""
from __future__ import annotations

import json

import pytest

from memcg_edu import course
from memcg_edu.course import install, kernel
from memcg_edu.errors import ModelUsageError
from memcg_edu.timeline import FORMAT, Timeline


def _rec(step, op, usage, memsw, swap, events=()):
    return {"step": step, "op": op, "ok": True, "error": None, "events": list(events),
            "memcgs": {"A": {"usage": usage, "memsw_usage": memsw, "max_usage": 1,
                             "memsw_max_usage": 1, "failcnt": 0, "memsw_failcnt": 0,
                             "limit": None, "memsw_limit": None,
                             "stat": {"swap": swap, "rss": usage, "cache": 0}}}}


@pytest.fixture
def swap_tl() -> Timeline:
    # the counters of "fault x, swap it out", as a timeline a runner records
    return Timeline([_rec(0, "fault_anon", 1, 1, 0,
                          ["mem_cgroup_try_charge", "mem_cgroup_commit_charge"]),
                     _rec(1, "swap_out", 0, 1, 1,
                          ["mem_cgroup_swapout", "mem_cgroup_uncharge"])])


def test_right_prediction(swap_tl):
    v = course.check_prediction(swap_tl, 1, {"usage": 0, "memsw_usage": 1, "swap": 1},
                                "A", why="memsw stays with the slot")
    assert v.ok and "memsw stays with the slot" in v.message


def test_wrong_prediction_names_counter_move_and_kernel_calls(swap_tl):
    v = course.check_prediction(swap_tl, 1, {"usage": 0, "memsw_usage": 0, "swap": 1}, "A")
    assert not v.ok
    assert "memsw_usage: you said 0, it is 1 (unchanged by this step)" in v.message
    assert "usage:" not in v.message.replace("memsw_usage:", "")
    assert "mem_cgroup_swapout" in v.message
    v = course.check_prediction(swap_tl, 1, {"usage": 1}, "A")
    assert "usage: you said 1, it is 0 (-1 in this step, from 1)" in v.message


def test_empty_prediction_asks_for_numbers(swap_tl):
    v = course.check_prediction(swap_tl, 1, {"usage": None}, "A")
    assert not v.ok and "Type a number" in v.message


def test_predict_widget_hints_then_shows_the_answer(swap_tl):
    w = course.predict(swap_tl, 1, "A", ("usage", "memsw_usage", "swap"))
    assert list(w.inputs) == ["A.usage", "A.memsw_usage", "A.swap"]
    w.answer(**{"A.usage": 0, "A.memsw_usage": 0, "A.swap": 1})
    w.check()
    assert "2 of 3 right" in w.feedback.value and "memsw" in w.feedback.value
    assert "= <b>" not in w.feedback.value
    w.inputs["A.swap"].value = "one"
    w.check()
    assert "one&#x27; is not a whole number" in w.feedback.value
    w.show_answer()
    assert "A memsw usage = <b>1</b>" in w.feedback.value


def test_install_check_reports_and_explains_missing(monkeypatch):
    report = course.check_install(live=False)
    names = [c.what for c in report.checks]
    assert names[0] == "Python" and "numpy" in names and "memcg_edu.model" in names
    # a missing requirement says what to run
    monkeypatch.setattr(install, "_requirements",
                        lambda: (["numpy>=999"], [], ">=3.10"))
    r = course.check_install(live=False)
    numpy = next(c for c in r.checks if c.what == "numpy")
    assert not numpy.ok and not r.ok
    assert 'python -m pip install "numpy>=999"' in numpy.detail
    assert "too old" in numpy.detail
    assert "missing" in str(r) and "MISSING" in str(r)
    assert "&#10008;" in r._repr_html_()


def test_install_check_names_a_part_that_does_not_import(monkeypatch):
    monkeypatch.setitem(install.PARTS, "memcg_edu.no_such_part", "notebook 99")
    r = course.check_install(live=False)
    bad = next(c for c in r.checks if c.what == "memcg_edu.no_such_part")
    assert not bad.ok and "notebook 99" in bad.detail and not r.ok


def _recording(path, **meta):
    path.write_text(json.dumps({"format": FORMAT, "meta": {
        "source": "kernel", "kernel": "6.1.0", "cgroup": "v1", "date": "2026-01-01",
        "pages": 256, "workload": "pagecache", **meta}, "steps": []}))


def test_kernel_timeline_falls_back_to_the_recording(tmp_path, monkeypatch):
    monkeypatch.setattr(kernel, "RECORDED_DIR", tmp_path)
    _recording(tmp_path / "pagecache.json")
    monkeypatch.setenv("MEMCG_EDU_LIVE", "0")
    run = course.kernel_timeline("pagecache")
    assert not run.live
    assert "Linux 6.1.0" in run.how and "MEMCG_EDU_LIVE=0" in run.how
    assert run.timeline.meta["workload"] == "pagecache"


def test_kernel_timeline_without_recording_says_what_exists(tmp_path, monkeypatch):
    monkeypatch.setattr(kernel, "RECORDED_DIR", tmp_path)
    _recording(tmp_path / "swap.json")
    monkeypatch.setenv("MEMCG_EDU_LIVE", "0")
    with pytest.raises(ModelUsageError, match="recordings: swap"):
        course.kernel_timeline("pagecache")


def test_source_url_points_at_v317():
    assert (course.source_url("mm/memcontrol.c")
            == "https://elixir.bootlin.com/linux/v3.17/source/mm/memcontrol.c")


def test_stepper_follows_the_player():
    story = course.scenario([{"op": "fault_anon", "task": "p", "page": "x"},
                             {"op": "unmap", "task": "p", "page": "x"}])
    view = course.stepper(story)
    assert len(view.timeline) == 2
    assert "Counters after step 0" in view.counters.html.value
    view.player.forward()
    assert view.counters.step == 1
    assert "Counters after step 1" in view.counters.html.value


def test_install_check_says_whether_notebook_06_can_run_live():
    r = course.check_install()
    live = next(c for c in r.checks if c.what == "real kernel (notebook 06)")
    assert not live.required        # never blocks the course
    ok, why = kernel.live_allowed()
    assert live.ok == ok or "MEMCG_EDU_LIVE" in why
    if not live.ok:
        assert "recorded timelines" in live.detail


def test_a_failed_live_run_falls_back_and_says_why(tmp_path, monkeypatch):
    from memcg_edu import live
    from memcg_edu.live import LiveError

    monkeypatch.setattr(kernel, "RECORDED_DIR", tmp_path)
    _recording(tmp_path / "pagecache.json")
    monkeypatch.setattr(kernel, "live_allowed", lambda: (True, ""))

    def refuse(*a, **k):
        raise LiveError("no right to create a memory cgroup", "refused")
    monkeypatch.setattr(live, "record", refuse)
    run = course.kernel_timeline("pagecache", pages=64)
    assert not run.live
    assert "the live run failed (no right to create a memory cgroup)" in run.how


def test_practice_picker_loads_the_problem_asked_for():
    box = course.practice(topic="swap", seed=5, steps=3)
    assert "Practice problem 5 (swap, 3 steps)" in box.problem.children[0].value
    assert len(box.problem.entries) == 3
    box.topic.value, box.seed.value, box.steps.value = "migration", 11, 4
    box.load()
    assert "Practice problem 11 (migration, 4 steps)" in box.problem.children[0].value
    assert box.children[1].children == (box.problem,)
