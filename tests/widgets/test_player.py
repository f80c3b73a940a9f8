import pytest

from memcg_edu.errors import ModelUsageError
from memcg_edu.timeline import Timeline
from memcg_edu.widgets import step_player


def test_buttons_step_and_disable_at_the_ends(tl):
    p = step_player(tl)
    assert p.step == 0
    assert p.back_button.disabled and p.reset_button.disabled
    assert not p.forward_button.disabled
    p.forward_button.click()
    p.forward_button.click()
    assert p.step == 2 and p.slider.value == 2 and p.play.value == 2
    assert not p.back_button.disabled
    p.slider.value = 9
    assert p.step == 9 and p.forward_button.disabled
    p.forward_button.click()          # a click at the end changes nothing
    assert p.step == 9
    p.back_button.click()
    assert p.step == 8
    p.reset_button.click()
    assert p.step == 0 and p.back_button.disabled


def test_play_widget_drives_the_step(tl):
    p = step_player(tl)
    assert p.play.max == 9
    p.play.value = 4                  # what the browser's play loop does
    assert p.step == 4 and p.slider.value == 4


def test_words_say_the_op_outcome_and_functions(tl):
    p = step_player(tl)
    assert "Step 0 of 9: fault_anon" in p.words.value
    assert "mem_cgroup_commit_charge" in p.words.value
    assert "binds the reserved charge" in p.words.value
    p.go(4)
    assert "failed" in p.words.value and "memcg OOM" in p.words.value
    p.go(5)
    assert "hands the page&#x27;s memsw charge to its swap slot" in p.words.value


def test_scenario_steps_give_the_arguments(tl):
    steps = [{"op": "fault_anon", "task": "p", "page": f"x{i}"} for i in range(10)]
    p = step_player(tl, scenario_steps=steps)
    assert "(task=p, page=x0)" in p.words.value


def test_empty_timeline_is_refused():
    with pytest.raises(ModelUsageError, match="no steps"):
        step_player(Timeline())


def test_stable_classes_for_browser_tests(tl):
    p = step_player(tl)
    assert "memcg-edu-step-forward" in p.forward_button._dom_classes
    assert p.forward_button.tooltip == "next step"
    assert p.forward_button.description == "step forward"
    assert "memcg-edu-play" in p.play._dom_classes


def test_single_step_timeline_has_nothing_to_press(tl):
    p = step_player(Timeline(tl.steps[:1]))
    assert p.forward_button.disabled and p.back_button.disabled and p.play.disabled


@pytest.mark.parametrize("design, words", [
    ("3.16", "swapcache_free calls mem_cgroup_uncharge_swapcache (SWAPOUT)"),
    ("3.17", "__remove_mapping calls"),
])
def test_a_model_timeline_of_either_design_gets_its_explanation(design, words):
    from pathlib import Path

    from memcg_edu.scenario import run_scenario
    sc = Path(__file__).resolve().parents[2] / "data" / "scenarios" / "06-swap-out-and-in.json"
    tl = run_scenario(str(sc), design=design)
    assert tl.meta["design"] == design
    p = step_player(tl)
    p.go(next(i for i, r in enumerate(tl) if r["op"] == "swap_out"))
    assert words in p.words.value and "Counters: A: usage" in p.words.value
