"""The dashboard under Voila, as the workshop guide runs it for a projector:
the widgets are shown and the step button works."""
from __future__ import annotations

import json

import pytest

from browser_support import (COUNTERS, ROOT, VOILA_CDN_CSS, WIDGET_ERROR,
                             check_dashboard_runs, screenshot)

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
