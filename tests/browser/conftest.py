"""Fixtures for the real-browser tests: JupyterLab and Voila on loopback,
driven by Debian's Chromium through Playwright for Python.

Nothing is downloaded: the browser is /usr/bin/chromium (installed by
``python3 dev.py test`` where it can be), never ``playwright install``.
Each server gets a free 127.0.0.1 port and its own temporary config, data,
runtime, settings and workspace folders, and serves a temporary copy of the
notebook so that nothing it saves can touch the committed file. Screenshots
and server logs go to test-output/ at the top of the repository.
"""
from __future__ import annotations

import secrets
import shutil
import sys
from pathlib import Path
from typing import Iterator

import pytest

from browser_support import (CHROMIUM, CHROMIUM_FLAGS, ROOT, VOILA_CDN_CSS,
                             ConsoleLog, Server, free_port, is_outside,
                             jupyter_env, lab_settings, root_flag)

HERE = Path(__file__).resolve().parent


@pytest.fixture(scope="session")
def chromium_path() -> Path:
    if not CHROMIUM.exists():
        pytest.skip(f"no Chromium at {CHROMIUM}: `python3 dev.py test` installs Debian's "
                    "chromium when run as root with apt-get; elsewhere install it by hand "
                    "or set MEMCG_EDU_CHROMIUM to a Chromium binary")
    return CHROMIUM


@pytest.fixture(scope="session")
def browser_context(chromium_path: Path, tmp_path_factory):
    """One headless Chromium with an empty profile for the whole session."""
    sync_api = pytest.importorskip("playwright.sync_api")
    with sync_api.sync_playwright() as pw:
        context = pw.chromium.launch_persistent_context(
            str(tmp_path_factory.mktemp("chromium-profile")),
            executable_path=str(chromium_path), headless=True, args=CHROMIUM_FLAGS,
            viewport={"width": 1400, "height": 1000})
        yield context
        context.close()


@pytest.fixture
def page(browser_context):
    """A fresh tab with its console errors collected in ``page.console`` and
    the requests it tried to send off this machine in ``page.outside``."""
    tab = browser_context.new_page()
    tab.console = ConsoleLog(tab)
    tab.outside = []

    def answer(route):
        url = route.request.url
        tab.outside.append(url)
        if url.startswith(VOILA_CDN_CSS):
            route.fulfill(status=200, content_type="text/css", body="/* offline */")
        else:
            route.abort()

    tab.route(is_outside, answer)
    yield tab
    tab.close()


@pytest.fixture
def notebook_dir(tmp_path: Path) -> Path:
    """A temporary folder holding a copy of the browser-test notebook."""
    served = tmp_path / "served"
    served.mkdir()
    shutil.copy(HERE / "dashboard.ipynb", served / "dashboard.ipynb")
    return served


@pytest.fixture
def jupyter_lab(notebook_dir: Path, tmp_path: Path) -> Iterator[Server]:
    """JupyterLab serving notebook_dir on a free loopback port."""
    env = jupyter_env(tmp_path / "jupyter")
    lab_settings(Path(env["JUPYTERLAB_SETTINGS_DIR"]))
    port, token = free_port(), secrets.token_hex(16)
    argv = [sys.executable, "-m", "jupyter", "lab", "--no-browser", *root_flag(),
            "--ip=127.0.0.1", f"--port={port}", "--ServerApp.port_retries=0",
            f"--IdentityProvider.token={token}",
            f"--ServerApp.root_dir={notebook_dir}",
            f"--LabApp.user_settings_dir={env['JUPYTERLAB_SETTINGS_DIR']}",
            f"--LabApp.workspaces_dir={env['JUPYTERLAB_WORKSPACES_DIR']}",
            "--LabApp.extension_manager=readonly"]
    server = Server("jupyterlab", argv, port, token, notebook_dir, env)
    try:
        server.wait_until_up(f"/api/status?token={token}")
        yield server
    finally:
        server.stop()


def _start_voila(name: str, target: str, workdir: Path, tmp_path: Path) -> Server:
    """Voila on a free loopback port, as a teacher runs it: ``voila TARGET``."""
    env = jupyter_env(tmp_path / "jupyter")
    port = free_port()
    argv = [sys.executable, "-m", "voila", target, "--no-browser", f"--port={port}",
            "--Voila.ip=127.0.0.1", "--Voila.port_retries=0", "--show_tracebacks=True"]
    server = Server(name, argv, port, "", workdir, env)
    try:
        # voila/static answers without running a notebook, unlike "/".
        server.wait_until_up("/voila/static/voila.js")
    except BaseException:
        server.stop()
        raise
    return server


@pytest.fixture
def voila(notebook_dir: Path, tmp_path: Path) -> Iterator[Server]:
    """Voila serving (a copy of) the browser-test notebook as a dashboard."""
    server = _start_voila("voila", "dashboard.ipynb", notebook_dir, tmp_path)
    yield server
    server.stop()


@pytest.fixture
def voila_notebooks(tmp_path: Path) -> Iterator[Server]:
    """Voila serving the course folder in place, as docs/workshop.md says
    (``voila notebooks/``); Voila only reads the notebooks, it never saves."""
    server = _start_voila("voila-notebooks", "notebooks", ROOT, tmp_path)
    yield server
    server.stop()
