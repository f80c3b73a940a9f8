"""Helpers for the real-browser tests: Jupyter servers on loopback ports,
Debian's Chromium flags, and what the tests look for on the dashboard page.

The fixtures that use them are in conftest.py beside this file.
"""
from __future__ import annotations

import json
import os
import re
import signal
import socket
import subprocess
import time
import urllib.parse
import urllib.request
from pathlib import Path

import pytest

__all__ = ["ROOT", "OUTPUT", "CHROMIUM", "CHROMIUM_FLAGS", "VOILA_CDN_CSS",
           "COUNTERS", "COUNTER_ROW", "STEP_BUTTON", "PLAY_BUTTON", "WIDGET_ERROR", "Server",
           "ConsoleLog", "free_port", "jupyter_env", "lab_settings", "root_flag",
           "is_outside", "screenshot", "wait_for_change", "check_dashboard_runs",
           "check_call_view", "check_grid_pick"]

ROOT = Path(__file__).resolve().parents[2]
OUTPUT = ROOT / "test-output"
CHROMIUM = Path(os.environ.get("MEMCG_EDU_CHROMIUM", "/usr/bin/chromium"))
#: Debian's Chromium as root on a machine with no network but loopback:
#: no sandbox (root), no GPU, and nothing that phones home at start.
CHROMIUM_FLAGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic",
                  "--no-first-run", "--disable-background-networking",
                  "--disable-component-update", "--disable-sync"]
#: the first start of a server on a busy 2-core machine can take a while
SERVER_START_TIMEOUT = 90.0

def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _children(pid: int) -> list[int]:
    """Every live descendant of pid (kernels run in sessions of their own)."""
    parent: dict[int, int] = {}
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
            parent[int(stat.parent.name)] = int(fields[1])
        except (OSError, IndexError, ValueError):
            continue
    found, todo = [], [pid]
    while todo:
        p = todo.pop()
        kids = [c for c, pp in parent.items() if pp == p]
        found += kids
        todo += kids
    return found


class Server:
    """A Jupyter server process (JupyterLab or Voila) on a loopback port."""

    def __init__(self, name: str, argv: list[str], port: int, token: str,
                 workdir: Path, env: dict[str, str]):
        self.name, self.port, self.token = name, port, token
        self.url = f"http://127.0.0.1:{port}"
        self.log_path = OUTPUT / f"{name}-server.log"
        OUTPUT.mkdir(exist_ok=True)
        self._log = self.log_path.open("w")
        self.proc = subprocess.Popen(argv, cwd=workdir, env=env, stdout=self._log,
                                     stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
                                     start_new_session=True)

    def log(self) -> str:
        self._log.flush()
        return self.log_path.read_text(errors="replace")[-4000:]

    def wait_until_up(self, path: str) -> None:
        deadline = time.monotonic() + SERVER_START_TIMEOUT
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                pytest.fail(f"{self.name} exited with {self.proc.returncode} at start:\n{self.log()}")
            try:
                with urllib.request.urlopen(self.url + path, timeout=5) as r:
                    if r.status == 200:
                        return
            except OSError:
                pass
            time.sleep(0.5)
        pytest.fail(f"{self.name} did not answer on {self.url} within "
                    f"{SERVER_START_TIMEOUT:.0f} s:\n{self.log()}")

    def stop(self) -> None:
        kids = _children(self.proc.pid)
        # Jupyter Server and Voila both shut their kernels down on SIGTERM.
        self.proc.terminate()
        try:
            self.proc.wait(timeout=20)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()
        for pid in kids:  # kernels the server could not shut down itself
            try:
                os.kill(pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
        self._log.close()


def jupyter_env(base: Path) -> dict[str, str]:
    """Environment that keeps the server away from the user's own Jupyter files."""
    env = dict(os.environ)
    for var, sub in [("JUPYTER_CONFIG_DIR", "config"), ("JUPYTER_DATA_DIR", "data"),
                     ("JUPYTER_RUNTIME_DIR", "runtime"), ("IPYTHONDIR", "ipython"),
                     ("JUPYTERLAB_SETTINGS_DIR", "settings"),
                     ("JUPYTERLAB_WORKSPACES_DIR", "workspaces")]:
        (base / sub).mkdir(parents=True, exist_ok=True)
        env[var] = str(base / sub)
    # The kernels must draw inline, whatever backend the test run uses.
    env.pop("MPLBACKEND", None)
    env["MEMCG_EDU_ROOT"] = str(ROOT)
    return env


def root_flag() -> list[str]:
    return ["--allow-root"] if os.geteuid() == 0 else []


class ConsoleLog:
    """Errors the page reported: console.error messages and uncaught exceptions."""

    def __init__(self, page):
        self.errors: list[str] = []
        page.on("console", lambda m: m.type == "error" and self.errors.append(
            f"console.error: {m.text} ({m.location.get('url', '')})"))
        page.on("pageerror", lambda e: self.errors.append(f"uncaught: {e}"))


#: Voila's lab template links Font Awesome from a CDN
#: (share/jupyter/voila/templates/lab/index.html.j2). There is no network
#: here, so those two stylesheets are answered with an empty one; any other
#: request that leaves the machine is refused and listed.
VOILA_CDN_CSS = "https://cdn.jsdelivr.net/npm/@fortawesome/fontawesome-free@"


def is_outside(url: str) -> bool:
    host = urllib.parse.urlsplit(url).hostname or ""
    return url.startswith(("http:", "https:", "ws:", "wss:")) and host not in (
        "127.0.0.1", "localhost", "::1")


def lab_settings(settings: Path) -> None:
    """Turn off the news and update checks: no pop-up, no outside request."""
    target = settings / "@jupyterlab" / "apputils-extension"
    target.mkdir(parents=True, exist_ok=True)
    (target / "notification.jupyterlab-settings").write_text(
        json.dumps({"fetchNews": "false", "checkForUpdates": False}))


def screenshot(page, name: str) -> Path:
    OUTPUT.mkdir(exist_ok=True)
    path = OUTPUT / f"{name}.png"
    page.screenshot(path=str(path), full_page=True)
    return path


#: how the tests find the dashboard's parts on the page (CSS classes that
#: memcg_edu.widgets puts on them: counters panel, its memcg rows, player)
COUNTERS = ".memcg-edu-counters"
COUNTER_ROW = ".memcg-edu-counters .memcg-edu-row"
STEP_BUTTON = "button.memcg-edu-step"
PLAY_BUTTON = ".memcg-edu-play button >> nth=0"  # play, then pause, stop
WIDGET_ERROR = "Error displaying widget"
#: a step or a tick of play must show on the page within this many ms
CHANGE_TIMEOUT_MS = 20_000


def wait_for_change(locator, before: str, what: str) -> str:
    """Wait until the text of locator differs from before; return it."""
    deadline = time.monotonic() + CHANGE_TIMEOUT_MS / 1000
    while time.monotonic() < deadline:
        now = locator.inner_text()
        if now != before:
            return now
        locator.page.wait_for_timeout(200)
    pytest.fail(f"{what}: the counters still read {before!r} after "
                f"{CHANGE_TIMEOUT_MS // 1000} s")


def check_dashboard_runs(page, watch: str = COUNTER_ROW) -> None:
    """Press step, then play, and see the counters on the page move.

    ``watch`` is the part whose text must change: by default the first memcg
    row of the counters panel (the browser-test notebook's scenario,
    06-swap-out-and-in, changes memcg A's usage at its first step and again
    while it plays).
    """
    page.locator(COUNTERS).first.wait_for(state="visible")
    watched = page.locator(watch).first
    start = watched.inner_text()
    page.locator(STEP_BUTTON).first.click()
    stepped = wait_for_change(watched, start, "after pressing step")
    page.locator(PLAY_BUTTON).first.click()
    wait_for_change(watched, stepped, "after pressing play")
    assert page.get_by_text(WIDGET_ERROR).count() == 0, \
        f"the page shows {WIDGET_ERROR!r}"


#: the call view's parts (memcg_edu.widgets.callview and .inspector)
CALLS_TOGGLE = "button.memcg-edu-calls-toggle"
CALL_LIST = ".memcg-edu-call-list select"
CALL = ".memcg-edu-call"
INSPECTOR = ".memcg-edu-inspector"
CHANGED_ROW = ".memcg-edu-inspector tr.memcg-edu-changed"
FRAME_PICK = ".memcg-edu-inspector-pick select"
#: ipywidgets 8's Play: a play/pause toggle, then stop (which goes back to step 0)
STOP_BUTTON = ".memcg-edu-play button >> nth=1"


def check_call_view(page, shot=None) -> dict[str, str]:
    """Open "inside this step" and drive it as a learner would.

    Stops the player (back at step 0), steps forward to step 1, opens the
    call view, clicks "next call", picks in the call list the first call
    that changed a field of its page and checks the inspector highlights a
    field, then picks another frame in the inspector's list and sees the
    table change to it. ``shot(name)`` is called at each stage (screenshots).
    Returns what the inspector showed at each stage.
    """
    page.locator(STOP_BUTTON).first.click()
    # stopped at step 0: reset is then disabled (clicking it would wait forever)
    from playwright.sync_api import expect
    expect(page.locator("button.memcg-edu-reset").first).to_be_disabled(
        timeout=CHANGE_TIMEOUT_MS)
    page.locator(STEP_BUTTON).first.click()
    page.locator(CALLS_TOGGLE).first.click()
    listed = page.locator(CALL_LIST).first
    listed.wait_for(state="visible")
    inspector = page.locator(INSPECTOR).first
    seen = {"open": inspector.inner_text(), "call": page.locator(CALL).first.inner_text()}
    if shot:
        shot("calls-open")
    page.locator("button.memcg-edu-next-call").first.click()
    seen["next"] = wait_for_change(page.locator(CALL).first, seen["call"],
                                   "after pressing next call")
    options = listed.locator("option").evaluate_all("os => os.map(o => o.textContent)")
    assert options, "the call list is empty"
    # every line fits: a <select> cuts a long option at its edge, unwrapped
    cut = listed.evaluate("""s => {
        const c = document.createElement("canvas").getContext("2d");
        const st = getComputedStyle(s);
        c.font = st.font;
        const room = s.clientWidth - parseFloat(st.paddingLeft)
                     - parseFloat(st.paddingRight);
        return Array.from(s.options).map(o => o.textContent)
                    .filter(t => c.measureText(t).width > room);
    }""")
    assert cut == [], f"call lines cut at the list's edge: {cut}"
    # a line "fn  page  <page field> old->new ..." (memcg_edu.widgets.call_fields)
    changing = next((i for i, o in enumerate(options) if re.search(
        r"\s\s(count|mapcount|PG|PCG|pc->mem_cgroup|lru|lruvec)\s", o)), None)
    assert changing is not None, f"no call in the list changed a page field: {options}"
    before = inspector.inner_text()
    listed.select_option(index=changing)
    seen["picked_call"] = options[changing]
    deadline = time.monotonic() + CHANGE_TIMEOUT_MS / 1000
    while page.locator(CHANGED_ROW).count() == 0 and time.monotonic() < deadline:
        page.wait_for_timeout(200)
    assert page.locator(CHANGED_ROW).count() >= 1, \
        f"no highlighted field after choosing {options[changing]!r}:\n{inspector.inner_text()}"
    seen["changed_field"] = page.locator(CHANGED_ROW).first.inner_text()
    seen["inspector_at_call"] = inspector.inner_text()
    if shot:
        shot("calls-inspector")
    frames = page.locator(FRAME_PICK).first.locator("option").all_inner_texts()
    shown = seen["inspector_at_call"].split()[:2]          # "pfn N"
    other = next(f for f in frames if f.split()[:1] == ["pfn"] and f.split()[:2] != shown)
    page.locator(FRAME_PICK).first.select_option(label=other)
    seen["frame"] = wait_for_change(inspector, seen["inspector_at_call"],
                                    "after picking another frame")
    words = " ".join(other.split()).split(" (")[0]          # "pfn N", without the label
    assert " ".join(seen["frame"].split()).startswith(words), (other, seen["frame"])
    if before == seen["inspector_at_call"] and seen["open"] == before:
        pytest.fail("the inspector never changed")
    return seen


#: the page grid (memcg_edu.widgets.page_grid): a dashboard tab of buttons
GRID_TAB = ".lm-TabBar-tab"
GRID_CELL = ".memcg-edu-pagegrid button.memcg-edu-page"
GRID_FOLLOW = ".memcg-edu-pagegrid button.memcg-edu-grid-follow"


def _inspected_pfn(inspector) -> str:
    """The "pfn N" the inspector's table is about (its first two words)."""
    return " ".join(inspector.inner_text().split()[:2])


def check_grid_pick(page, shot=None) -> dict[str, str]:
    """Open the page grid tab, click a frame and see the page inspector show
    it (and open "inside this step"); then pick another frame with the
    keyboard (Tab to it, Enter), and go back to following the call's page.
    ``shot(name)`` is called after the click (a screenshot). Returns what the
    inspector showed at each stage."""
    from playwright.sync_api import expect
    # stopped at step 0 (the browser-test scenario's x is charged there), not playing
    page.locator(STOP_BUTTON).first.click()
    expect(page.locator("button.memcg-edu-reset").first).to_be_disabled(
        timeout=CHANGE_TIMEOUT_MS)
    page.locator(GRID_TAB, has_text="page grid").first.click()
    cells = page.locator(GRID_CELL)
    expect(page.locator(".memcg-edu-pagegrid").first).to_contain_text(
        "after step 0", timeout=CHANGE_TIMEOUT_MS)
    _check_long_line_stays_in_its_cell(cells.first)
    inspector = page.locator(INSPECTOR).first
    shown = _inspected_pfn(inspector)
    words = cells.evaluate_all("bs => bs.map(b => [b.dataset.pfn, b.getAttribute('aria-label')])")
    others = [(pfn, ": free;" in w) for pfn, w in words if f"pfn {pfn}" != shown]
    # a frame in use (its words do not say "free") first, then a free one
    used = [pfn for pfn, free in others if not free] + [pfn for pfn, free in others if free]
    assert len(used) >= 2, f"too few frames to click on the grid: {words}"
    cell = page.locator(f"{GRID_CELL}[data-pfn='{used[0]}']")
    cell.click()
    expect(cell).to_have_attribute("aria-pressed", "true", timeout=CHANGE_TIMEOUT_MS)
    expect(inspector).to_be_visible(timeout=CHANGE_TIMEOUT_MS)   # "inside this step" opened
    seen = {"before": shown,
            "clicked": wait_for_change_to(inspector, f"pfn {used[0]}", "after a click")}
    expect(cell).to_have_class(re.compile(r"\bmemcg-edu-picked\b"), timeout=CHANGE_TIMEOUT_MS)
    if shot:
        shot("grid-pick")
    target, free = used[-1], dict(others)[used[-1]]
    page.locator(f"{GRID_CELL}[data-pfn='{target}']").focus()
    page.keyboard.press("Enter")
    seen["keyboard"] = wait_for_change_to(inspector, f"pfn {target}", "after Enter on a frame")
    assert ("A free frame" in seen["keyboard"]) == free, seen["keyboard"]
    page.locator(GRID_FOLLOW).first.click()
    expect(page.locator(f"{GRID_CELL}[aria-pressed='true']")).to_have_count(
        0, timeout=CHANGE_TIMEOUT_MS)
    return seen


def _check_long_line_stays_in_its_cell(cell) -> None:
    """A frame's first line made as long as a file's label may be: the
    browser draws it inside its cell, cut with an ellipsis, not over its
    neighbours (its start, the pfn, in view). The line is put back after."""
    box = cell.evaluate("""b => {
        const s = b.querySelector("span"), was = s.textContent;
        s.textContent = was + " " + "a-label-as-long-as-a-file-likes-".repeat(4);
        const c = b.getBoundingClientRect(), r = s.getBoundingClientRect();
        const out = {left: r.left - c.left, right: c.right - r.right,
                     cut: s.scrollWidth > s.clientWidth,
                     overflow: getComputedStyle(s).textOverflow};
        s.textContent = was;
        return out;
    }""")
    assert box["left"] >= -0.5 and box["right"] >= -0.5, box
    assert box["cut"] and box["overflow"] == "ellipsis", box


def wait_for_change_to(locator, start: str, what: str) -> str:
    """Wait until the text of locator starts with ``start`` (spaces folded); return it."""
    deadline = time.monotonic() + CHANGE_TIMEOUT_MS / 1000
    now = ""
    while time.monotonic() < deadline:
        now = " ".join(locator.inner_text().split())
        if now.startswith(start + " "):
            return now
        locator.page.wait_for_timeout(200)
    pytest.fail(f"{what}: the inspector still reads {now[:200]!r}, not {start!r}")
