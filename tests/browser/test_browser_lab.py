"""The dashboard in JupyterLab, in a real browser: open the notebook, run all
cells from the Run menu, press step and play, and watch the counters move;
then open a step's calls and see the page inspector change, and click a
frame of the page grid to inspect it."""
from __future__ import annotations

import re

import pytest

from browser_support import (WIDGET_ERROR, check_call_view, check_dashboard_runs,
                             check_grid_pick, screenshot)

pytestmark = [pytest.mark.browser, pytest.mark.slow, pytest.mark.timeout(280)]

#: JupyterLab's first load on a busy 2-core machine is slow; bound it anyway
LOAD_TIMEOUT_MS = 120_000


def kernel_idle(page):
    """The status bar once the notebook's kernel is connected and idle.

    (The toolbar's execution indicator says "idle" before any kernel exists,
    and Run All Cells without a kernel silently runs nothing.)
    """
    return page.locator(".jp-StatusBar-TextItem",
                        has_text=re.compile(r"ipykernel\) \| Idle")).first


def run_all_cells(page) -> None:
    """Run > Run All Cells, once JupyterLab has enabled that menu entry.

    The entry stays disabled for a moment after the notebook opens (until the
    notebook panel is current), and a click on it then does nothing.
    """
    item = page.locator("li.lm-Menu-item[data-command='runmenu:run-all']")
    for _ in range(60):
        page.locator("#jp-MainMenu .lm-MenuBar-itemLabel", has_text="Run").first.click()
        item.wait_for(state="visible")
        if "lm-mod-disabled" not in (item.get_attribute("class") or ""):
            item.click()
            break
        page.keyboard.press("Escape")
        page.wait_for_timeout(1000)
    else:
        pytest.fail("Run > Run All Cells stayed disabled for a minute")
    # The first code cell's prompt turns from "[ ]:" into "[*]:" or "[1]:".
    page.locator(".jp-CodeCell .jp-InputPrompt", has_text=re.compile(r"\[[*0-9]+\]")
                 ).first.wait_for(state="attached", timeout=30_000)


def test_dashboard_runs_in_jupyterlab(jupyter_lab, page):
    page.set_default_timeout(LOAD_TIMEOUT_MS)
    page.goto(f"{jupyter_lab.url}/lab/tree/dashboard.ipynb?token={jupyter_lab.token}")
    page.locator(".jp-NotebookPanel .jp-Cell").first.wait_for(state="visible")
    kernel_idle(page).wait_for(state="attached")

    run_all_cells(page)

    try:
        check_dashboard_runs(page)
    finally:
        screenshot(page, "jupyterlab-dashboard")
    # inside a step: the call stepper and the page inspector
    seen = check_call_view(page, lambda name: screenshot(page, f"jupyterlab-{name}"))
    assert seen["next"] != seen["call"]
    # the page grid: a click (and Enter) on a frame picks it for the inspector
    picked = check_grid_pick(page, lambda name: screenshot(page, f"jupyterlab-{name}"))
    assert picked["clicked"] != picked["keyboard"]
    kernel_idle(page).wait_for(state="attached")
    errors = page.locator(".jp-OutputArea-output[data-mime-type='application/vnd.jupyter.stderr']")
    assert errors.count() == 0, "a cell wrote to stderr:\n" + "\n".join(errors.all_inner_texts())
    assert page.get_by_text(WIDGET_ERROR).count() == 0
    assert page.console.errors == [], "\n".join(page.console.errors)
    assert page.outside == [], "JupyterLab tried to reach outside this machine"
