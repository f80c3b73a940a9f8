"""Every practice problem gives what is needed to answer it: each memcg, its
limits and the memcg of every task, in the widget and in the CLI, over many
seeds and every topic."""
import io
import re
from contextlib import redirect_stdout

import pytest

from memcg_edu import course
from memcg_edu.cli import main as cli_main
from memcg_edu.scenario import TOPICS, generate_problem
from memcg_edu.widgets import predict

SEEDS = range(40)


def _text(html: str) -> str:
    return re.sub(r"<[^>]+>", "", html)


def _needs(sc) -> list[str]:
    """The facts a learner needs, as the lines the setup must show."""
    lines = []
    for m in sc.memcgs:
        tasks = sorted(t for t, mm in sc.tasks.items() if mm == m)
        assert tasks, f"memcg {m} with no task"
        lines.append((m, tasks))
    return lines


@pytest.mark.parametrize("topic", list(TOPICS))
def test_every_question_names_memcgs_limits_and_tasks(topic):
    two_memcgs = 0
    for seed in SEEDS:
        sc = generate_problem(seed, topic, 4)
        two_memcgs += len(sc.memcgs) > 1
        w = predict(sc)
        for i in range(len(sc.quiz)):
            shown = _text(w.question.value)
            for m, tasks in _needs(sc):
                limits = "no limits" if sc.memcgs[m]["limit"] is None else "limit"
                who = f"task{'s' if len(tasks) > 1 else ''} {', '.join(tasks)}"
                assert f"memcg {m}: {limits}; {who}" in shown, (seed, i, shown)
            # every blank reads as words, the place of a page too
            for blank, box in w.inputs.items():
                if blank.endswith(".where"):
                    assert box.description == f"where is page {blank[:-6]}"
                else:
                    assert box.description.split()[0] in sc.memcgs
            w.next()
    if topic == "mixed":
        assert two_memcgs >= 10        # the case the setup line is for


@pytest.mark.parametrize("topic", list(TOPICS))
def test_cli_problem_names_memcgs_limits_and_tasks(topic):
    for seed in range(0, 40, 3):
        sc = generate_problem(seed, topic, 3)
        out = io.StringIO()
        with redirect_stdout(out):
            assert cli_main(["quiz", "--seed", str(seed), "--topic", topic,
                             "--steps", "3"]) == 0
        text = out.getvalue()
        for m, tasks in _needs(sc):
            who = f"task{'s' if len(tasks) > 1 else ''} {', '.join(tasks)}"
            assert f"memcg {m}: no limits; {who}" in text


def test_setup_line_states_limits_when_there_are_some():
    from memcg_edu.scenario.quiz import describe_setup
    lines = describe_setup({"root": {"limit": None, "memsw_limit": None},
                            "A": {"limit": 4, "memsw_limit": 1},
                            "B": {"limit": None, "memsw_limit": None}},
                           {"p": "A", "q": "A"})
    assert lines == ["memcg A: limit 4 pages, memsw limit 1 page; tasks p, q",
                     "memcg B: no limits; no tasks"]


def test_practice_picker_loads_a_new_problem_with_its_setup():
    box = course.practice("mixed", 0, 3)
    seen = set()
    for seed in range(12):
        box.seed.value = seed
        box.load()
        shown = _text(box.problem.question.value)
        assert "memcg A:" in shown
        seen.add("memcg B:" in shown)
    assert seen == {True, False}
