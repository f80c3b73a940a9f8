"""The dashboard under Voila, as the workshop guide runs it for a projector:
the widgets are shown and the step button works."""
from __future__ import annotations

import pytest

from browser_support import COUNTERS, VOILA_CDN_CSS, WIDGET_ERROR, check_dashboard_runs, screenshot

pytestmark = [pytest.mark.browser, pytest.mark.slow, pytest.mark.timeout(280)]

#: Voila runs the whole notebook before the widgets appear
LOAD_TIMEOUT_MS = 120_000


def test_dashboard_renders_under_voila(voila, page):
    page.set_default_timeout(LOAD_TIMEOUT_MS)
    page.goto(voila.url + "/")
    page.locator(COUNTERS).first.wait_for(state="visible")
    try:
        check_dashboard_runs(page)
    finally:
        screenshot(page, "voila-dashboard")
    assert page.get_by_text("Traceback").count() == 0, "a cell raised under Voila"
    assert page.get_by_text(WIDGET_ERROR).count() == 0
    assert page.console.errors == [], "\n".join(page.console.errors)
    unexpected = [u for u in page.outside if not u.startswith(VOILA_CDN_CSS)]
    assert unexpected == [], "Voila tried to reach outside this machine"
