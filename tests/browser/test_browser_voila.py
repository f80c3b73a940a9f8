"""The dashboard under Voila, as the workshop guide runs it for a projector:
the widgets are shown, the step button works and a click on the page grid
picks a frame for the page inspector."""
from __future__ import annotations

import json

import pytest

from browser_support import (COUNTERS, OUTPUT, ROOT, VOILA_CDN_CSS, WIDGET_ERROR,
                             check_dashboard_runs, check_grid_pick, screenshot)

pytestmark = [pytest.mark.browser, pytest.mark.slow, pytest.mark.timeout(280)]

#: Voila runs the whole notebook before the widgets appear
LOAD_TIMEOUT_MS = 150_000
#: what Voila shows in place of a cell that raised (with --show_tracebacks)
CELL_ERRORS = ("Traceback", "There was an error when executing cell")


def check_clean(page) -> None:
    body = page.inner_text("body")
    for text in CELL_ERRORS + (WIDGET_ERROR,):
        assert text not in body, f"Voila shows {text!r}:\n{body[:3000]}"
    assert page.console.errors == [], "\n".join(page.console.errors)
    unexpected = [u for u in page.outside if not u.startswith(VOILA_CDN_CSS)]
    assert unexpected == [], "Voila tried to reach outside this machine"


def test_dashboard_renders_under_voila(voila, page):
    page.set_default_timeout(LOAD_TIMEOUT_MS)
    page.goto(voila.url + "/")
    page.locator(COUNTERS).first.wait_for(state="visible")
    try:
        check_dashboard_runs(page)
    finally:
        screenshot(page, "voila-dashboard")
    # the page grid's anywidget front-end loads under Voila too: click a frame
    check_grid_pick(page, lambda name: screenshot(page, f"voila-{name}"))
    check_clean(page)


def course_dashboard_notebook() -> str:
    """The first course notebook that shows a dashboard (01-charge today)."""
    for path in sorted((ROOT / "notebooks").glob("[0-9]*.ipynb")):
        cells = json.loads(path.read_text())["cells"]
        if any("dashboard(" in "".join(c["source"]) for c in cells
               if c["cell_type"] == "code"):
            return path.name
    pytest.fail("no notebook in notebooks/ shows a dashboard")


def test_course_notebook_dashboard_under_voila(voila_notebooks, page):
    """`voila notebooks/`, then a course notebook: its first dashboard steps."""
    name = course_dashboard_notebook()
    page.set_default_timeout(LOAD_TIMEOUT_MS)
    page.goto(f"{voila_notebooks.url}/voila/render/{name}")
    page.locator(COUNTERS).first.wait_for(state="visible")
    try:
        # Any step changes the panel's "Counters after step N" heading.
        check_dashboard_runs(page, watch=COUNTERS)
    finally:
        screenshot(page, f"voila-{name.removesuffix('.ipynb')}")
    check_clean(page)


def test_predict_retry_and_exercise_forms_under_voila(voila_notebooks, page):
    """Notebook 00 under Voila (no code to edit): the predict widget takes a
    wrong answer with a hint, then a right one; an exercise is answered in
    its form, wrong then right, and show answer gives the solution."""
    page.set_default_timeout(LOAD_TIMEOUT_MS)
    page.goto(f"{voila_notebooks.url}/voila/render/00-start-here.ipynb")
    predict = page.locator(".memcg-edu-predict:not(.memcg-edu-exercise)").first
    predict.wait_for(state="visible")
    feedback = predict.locator(".memcg-edu-predict-feedback")
    boxes = predict.locator("input[type=text]")
    try:
        # A's usage and rss after q's unmap (step 3): both 0; say 1 and 0
        boxes.nth(0).fill("1")
        boxes.nth(1).fill("0")
        predict.locator("button.memcg-edu-predict-check").click()
        feedback.get_by_text("1 of 2 right").wait_for()
        shown = feedback.inner_text()
        assert "Hint" in shown and "not yet" in shown and "The answer" not in shown
        OUTPUT.mkdir(exist_ok=True)
        predict.screenshot(path=str(OUTPUT / "voila-00-predict-hint.png"))
        # try again
        boxes.nth(0).fill("0")
        predict.locator("button.memcg-edu-predict-check").click()
        feedback.get_by_text("All right!").wait_for()
        predict.locator("button.memcg-edu-predict-reveal").click()
        feedback.get_by_text("The answer").wait_for()
        assert predict.locator("button.memcg-edu-predict-reveal").inner_text().strip() == \
            "show answer"

        # exercise 00.1, a multiple choice, in its form
        form = page.locator(".memcg-edu-exercise").first
        form.get_by_text("Exercise 00.1").wait_for()
        form.get_by_text("(a) at the last unmap of the page").click()
        form.locator("button.memcg-edu-predict-check").click()
        out = form.locator(".memcg-edu-predict-feedback")
        out.get_by_text("Not yet").wait_for()
        assert "again" in out.inner_text()
        form.get_by_text("(b) when its last reference goes").click()
        form.locator("button.memcg-edu-predict-check").click()
        out.get_by_text("Right.").wait_for()
        form.locator("button.memcg-edu-predict-reveal").click()
        out.get_by_text("Reference answer").wait_for()
        # exercise 00.3, counters typed into boxes
        form3 = page.locator(".memcg-edu-exercise").nth(2)
        for i, v in enumerate(("2", "1", "1")):
            form3.locator("input[type=text]").nth(i).fill(v)
        form3.locator("button.memcg-edu-predict-check").click()
        form3.get_by_text("Right.").wait_for()
        assert "replace each" not in page.inner_text("body")
    finally:
        screenshot(page, "voila-00-predict-and-exercises")
    check_clean(page)
