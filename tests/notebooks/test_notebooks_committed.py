"""The committed notebooks: cleared, and built the way the course promises.

Checks what the issue asks of every notebook without running it: no
outputs or execution counts; an opening that says what the learner will be
able to do and how long it takes (test_timing.py checks the number); a predict-then-reveal
moment; links to the Linux v3.17 source; a summary; two or three exercises
that match the exercise bank, with no solution text in the notebook.
"""
from __future__ import annotations

import re

import nbformat
import pytest

from memcg_edu import course
from memcg_edu.course.timing import stated_minutes

from nb_helpers import NOTEBOOK_DIR, notebook_paths

EXPECTED = [f"{name}.ipynb" for name in course.NOTEBOOKS.values()]


def test_the_eight_notebooks_exist():
    assert [p.name for p in notebook_paths()] == EXPECTED


@pytest.mark.parametrize("name", EXPECTED)
def test_committed_without_outputs(name):
    nb = nbformat.read(NOTEBOOK_DIR / name, as_version=4)
    dirty = [i for i, c in enumerate(nb.cells) if c.cell_type == "code"
             and (c.get("outputs") or c.get("execution_count") is not None)]
    assert not dirty, (f"{name}: cells {dirty} have outputs or execution counts; "
                       f"clear them (jupyter nbconvert --clear-output --inplace)")


def _text(name: str) -> tuple[str, str, list[str]]:
    nb = nbformat.read(NOTEBOOK_DIR / name, as_version=4)
    md = "\n".join(c.source for c in nb.cells if c.cell_type == "markdown")
    code = [c.source for c in nb.cells if c.cell_type == "code"]
    return nb.cells[0].source, md, code


@pytest.mark.parametrize("name", EXPECTED)
def test_opens_with_goals_and_time(name):
    first, _, _ = _text(name)
    assert "After this notebook you can" in first
    m = re.search(r"\*\*Time:\*\*[^0-9]*(\d+)", first)
    assert m, f"{name}: the first cell does not say how long it takes"
    # the number is the honest estimate of reading plus doing (test_timing.py)
    assert stated_minutes(NOTEBOOK_DIR / name) == int(m.group(1))


@pytest.mark.parametrize("name", EXPECTED)
def test_has_prediction_kernel_link_and_summary(name):
    _, md, code = _text(name)
    # course.predict (any counters) or the widgets' predict (usage, memsw, swap)
    assert any(re.search(r"^(course\.)?predict\(", c, re.M) for c in code), \
        f"{name}: no predict moment"
    assert "https://elixir.bootlin.com/linux/v3.17/source/" in md
    assert "## Summary" in md


@pytest.mark.parametrize("name", EXPECTED)
def test_exercises_match_the_bank(name):
    key = name[:2]
    _, md, code = _text(name)
    asked = sorted({int(n) for c in code
                    for n in re.findall(rf'course\.check\("{key}", (\d+),', c)})
    bank = course.exercises(key)
    assert 2 <= len(bank) <= 3
    assert asked == list(range(1, len(bank) + 1))
    # the notebook ships blanks, never an answer, in the shape the check wants
    for c in code:
        for line in c.splitlines():
            m = re.match(rf'course\.check\("{key}", (\d+), (.*)\)$', line)
            if not m:
                continue
            assert "..." in line, f"{name}: {line} gives the answer away"
            v = course.check(key, int(m.group(1)), eval(m.group(2)))
            assert v.pending, f"{name}: {line} is not a blank answer: {v.message}"
    # the solutions stay outside the learner's notebook
    for ex in bank:
        assert ex.solution[:60] not in md + "\n".join(code)


def test_07s_command_line_problem_is_the_one_its_first_cell_shows():
    """07 says the same problems are on the command line: the command it
    quotes must print the problem its first practice cell shows."""
    nb = nbformat.read(NOTEBOOK_DIR / "07-practice.ipynb", as_version=4)
    text = "\n".join(c.source for c in nb.cells)
    cli = re.search(r"quiz --seed (\d+) --topic ([\w-]+) --steps (\d+)", text)
    call = re.search(r'generate_problem\(seed=(\d+), topic="([\w-]+)", steps=(\d+)\)', text)
    assert cli and call and cli.groups() == call.groups(), (cli, call)


@pytest.mark.parametrize("name", notebook_paths())
def test_text_that_introduces_the_next_cell_comes_right_before_it(name):
    """A paragraph that ends a markdown cell with "Below ..." or "The next
    cell ..." describes the code cell that follows, so no other cell may
    come between (notebook 03 once had section 4's "Below: p reads f ..."
    before a migration subsection)."""
    cells = nbformat.read(name, 4).cells
    for i, cell in enumerate(cells):
        last = cell.source.strip().split("\n\n")[-1]
        if cell.cell_type == "markdown" and re.match(r"(Below|The next cell)", last):
            following = cells[i + 1] if i + 1 < len(cells) else None
            assert following is not None and following.cell_type == "code", \
                f"{name.name} cell {i}: {last[:60]!r} is not followed by its code"


def test_03s_fuse_splice_section_comes_right_before_its_scenario():
    cells = nbformat.read(NOTEBOOK_DIR / "03-migration-and-lru.ipynb", 4).cells
    i = next(i for i, c in enumerate(cells) if c.source.startswith("## 4."))
    assert cells[i + 1].cell_type == "code" and cells[i + 1].source.startswith("splice = ")
    # the migration's own call-by-call part stays inside sections 2-3
    assert all("### Inside the migration" not in c.source for c in cells[i:])


@pytest.mark.parametrize("name", notebook_paths(), ids=lambda p: p.stem)
def test_sections_are_numbered_in_order_and_end_with_summary_and_exercises(name):
    """A learner reads sections 1, 2, 3 ... then the summary and the exercises
    (notebook 06 once had two sections "3", the second after its exercises)."""
    headings = [line for c in nbformat.read(name, 4).cells if c.cell_type == "markdown"
                for line in c.source.splitlines() if line.startswith("## ")]
    numbers = [int(m.group(1)) for h in headings if (m := re.match(r"## (\d+)\.", h))]
    assert numbers == list(range(1, len(numbers) + 1)), (name.name, headings)
    tail = [h for h in headings if not re.match(r"## \d+\.", h)]
    last_numbered = max((i for i, h in enumerate(headings) if re.match(r"## \d+\.", h)), default=-1)
    assert headings.index("## Summary") > last_numbered, (name.name, headings)
    assert "## Exercises" in tail and headings.index("## Exercises") > headings.index("## Summary")


def test_05_says_what_each_race_of_the_explorer_shows():
    """Notebook 05 opens the explorer on one race and then lists "the other
    races in the list", one bullet each: a race added to the explorer needs
    its bullet (two once had none: a learner picking them found no word)."""
    from memcg_edu.explore import list_races

    cells = nbformat.read(NOTEBOOK_DIR / "05-old-vs-new.ipynb", 4).cells
    opened = next(re.search(r'explorer\("(\w+)"\)', c.source).group(1) for c in cells
                  if c.cell_type == "code" and "explorer(" in c.source)
    intro = re.compile(r"pick the other races\s+in the list:")
    text = next(c.source for c in cells if intro.search(c.source))
    listed = intro.split(text)[1].split("\n\n")[1]
    bullets = [ln for ln in listed.splitlines() if ln.startswith("- **")]
    others = [r["name"] for r in list_races() if r["name"] != opened]
    assert len(bullets) == len(others), (bullets, others)
