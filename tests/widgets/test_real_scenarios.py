"""The widgets on the model's own timelines (bundled scenarios, quiz problems)."""
import re
from pathlib import Path

import pytest

from memcg_edu.widgets import dashboard, predict

SCENARIO = Path(__file__).resolve().parents[2] / "data" / "scenarios" / "06-swap-out-and-in.json"


@pytest.fixture(scope="module")
def swap_dashboard():
    return dashboard(str(SCENARIO))


def test_every_step_shows_the_recorded_counters(swap_dashboard):
    d = swap_dashboard
    d.player.reset()
    for step, rec in enumerate(d.timeline):
        d.player.go(step)
        row = re.search(r"data-memcg='A'>(.*?)</tr>", d.counters.html.value).group(1)
        a = rec["memcgs"]["A"]
        # usage and memsw cells start with the number (maybe bold, with an arrow)
        nums = re.findall(r"</div> (?:<b>)?(\d+)", row)
        assert nums[:2] == [str(a["usage"]), str(a["memsw_usage"])], step
        assert d.pages.view["step"] == step
    assert d.player.forward_button.disabled


def test_swap_out_step_names_mem_cgroup_swapout(swap_dashboard):
    d = swap_dashboard
    step = next(i for i, r in enumerate(d.timeline) if r["op"] == "swap_out")
    d.player.go(step)
    assert "mem_cgroup_swapout" in d.player.words.value
    assert "memsw" in d.player.words.value
    assert d.pages.view["touched"]          # the grid outlines the page swapped


def test_practice_problem_question_by_question():
    from memcg_edu.scenario import generate_problem

    problem = generate_problem(seed=7, topic="swap", steps=4)
    w = predict(problem)
    assert len(w.entries) == 4
    seen = 0
    while True:
        w.answer(**w.entry["answers"])
        assert all(r["right"] for r in w.check())
        assert "All right!" in w.feedback.value and "Why:" in w.feedback.value
        seen += 1
        if w.next_button.disabled:
            break
        w.next_button.click()
    assert seen == 4
