"""A workshop hub on 127.0.0.1: deploy/jupyterhub_config.py serves N learners,
each with their own course copy and server, none able to reach another's;
idle servers are culled, and stopping it leaves nothing behind.

Runs where node and npm are available (configurable-http-proxy comes from
the npm registry into deploy/node_modules, see deploy/hubcheck.py); skipped
with the reason elsewhere. Learners are sandboxed folders (the mode that
needs no root); deploy/README.md describes the Unix-account mode.
"""
from __future__ import annotations

import json
import os
import pwd
import shutil
import subprocess
import sys
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest
import requests

pytestmark = [pytest.mark.hub, pytest.mark.slow]

if not (shutil.which("node") and shutil.which("npm")):
    pytest.skip("node and npm are needed for configurable-http-proxy (the hub's "
                "proxy, from the npm registry); install Node.js to run this test",
                allow_module_level=True)

from hubcheck import COURSE, Hub, processes_in, run_notebook  # noqa: E402

LEARNERS = [f"learner{i}" for i in range(5)]


@pytest.fixture(scope="module")
def hub(tmp_path_factory):
    state = tmp_path_factory.mktemp("hub")
    h = Hub(state)
    h.start()
    yield h
    left = h.stop()
    shutil.rmtree(state)
    assert left == [], f"processes left running after the hub stopped: {left}"


@pytest.fixture(scope="module")
def learners(hub):
    """{name: (logged-in browser session, API token)}, servers started."""
    sessions = {name: hub.login(name) for name in LEARNERS}
    with ThreadPoolExecutor(len(LEARNERS)) as pool:
        list(pool.map(hub.start_server, LEARNERS))
    return {name: (sessions[name], hub.user_token(name)) for name in LEARNERS}


def contents(hub, owner, token, path=""):
    return requests.get(f"{hub.url}/user/{owner}/api/contents/{path}", timeout=30,
                        headers={"Authorization": f"token {token}"})


def test_every_learner_has_a_server_and_their_own_course_copy(hub, learners):
    users = {u["name"]: u for u in hub.api("GET", "/users").json()}
    assert set(LEARNERS) <= set(users)
    for name, (_, token) in learners.items():
        assert users[name]["servers"][""]["ready"]
        home = hub.state / "learners" / name
        copy = home / COURSE
        manifest = json.loads((copy / ".memcg-edu-course.json").read_text())
        assert "notebooks/01-charge.ipynb" in manifest["files"]
        listed = contents(hub, name, token, f"{COURSE}/notebooks").json()["content"]
        assert "01-charge.ipynb" in {item["name"] for item in listed}
    # a file one learner saves is in their copy only
    first, second = LEARNERS[0], LEARNERS[1]
    r = requests.put(f"{hub.url}/user/{first}/api/contents/{COURSE}/mine.txt", timeout=30,
                     headers={"Authorization": f"token {learners[first][1]}"},
                     json={"type": "file", "format": "text", "content": first})
    assert r.status_code in (200, 201)
    assert (hub.state / "learners" / first / COURSE / "mine.txt").read_text() == first
    theirs = contents(hub, second, learners[second][1], COURSE).json()["content"]
    assert "mine.txt" not in {item["name"] for item in theirs}


def test_notebook_01_runs_in_every_learners_server(hub, learners):
    def run(name):
        return name, run_notebook(hub, name, learners[name][1])
    with ThreadPoolExecutor(len(LEARNERS)) as pool:
        results = dict(pool.map(run, LEARNERS))
    failed = {name: errors for name, (_, errors) in results.items() if errors}
    assert failed == {}
    assert all(seconds > 0 for seconds, _ in results.values())


def test_a_failing_cell_is_reported(hub, learners):
    """The runner would see a broken notebook: the check above can fail."""
    name, token = LEARNERS[2], learners[LEARNERS[2]][1]
    nb = {"nbformat": 4, "nbformat_minor": 5, "metadata": {}, "cells": [
        {"cell_type": "code", "id": "a", "metadata": {}, "outputs": [],
         "execution_count": None, "source": "x = 1"},
        {"cell_type": "code", "id": "b", "metadata": {}, "outputs": [],
         "execution_count": None, "source": "x / 0"}]}
    r = requests.put(f"{hub.url}/user/{name}/api/contents/broken.ipynb", timeout=30,
                     headers={"Authorization": f"token {token}"},
                     json={"type": "notebook", "content": nb})
    assert r.status_code in (200, 201)
    _, errors = run_notebook(hub, name, token, "broken.ipynb")
    assert errors == ["ZeroDivisionError: division by zero"]


def test_one_learner_cannot_reach_another_learners_server(hub, learners):
    me, other = LEARNERS[0], LEARNERS[3]
    session, token = learners[me]
    # my token on their server's API
    assert contents(hub, other, token).status_code == 403
    # my logged-in browser on their server: the hub refuses (no redirect into it)
    r = session.get(f"{hub.url}/user/{other}/lab", timeout=30)
    assert r.status_code == 403
    r = session.get(f"{hub.url}/user/{other}/api/contents/", timeout=30)
    assert r.status_code == 403
    # and the hub API refuses to start, stop or read their server for me
    head = {"Authorization": f"token {token}"}
    assert requests.delete(f"{hub.url}/hub/api/users/{other}/server", headers=head,
                           timeout=30).status_code in (403, 404)
    assert requests.get(f"{hub.url}/hub/api/users/{other}", headers=head,
                        timeout=30).status_code in (403, 404)
    # my own server, by contrast, answers me
    assert contents(hub, me, token).status_code == 200


def test_the_idle_culler_runs_as_a_service(hub):
    services = hub.api("GET", "/services").json()
    culler = services["idle-culler"]
    assert "jupyterhub_idle_culler" in " ".join(culler["command"])
    assert "--timeout=3600" in culler["command"]
    cmdlines = []
    for pid in processes_in(hub.state):
        try:
            cmdlines.append(Path(f"/proc/{pid}/cmdline").read_bytes().replace(b"\0", b" "))
        except OSError:
            pass
    assert any(b"jupyterhub_idle_culler" in c for c in cmdlines)


def test_sandbox_mode_creates_no_unix_account(hub, learners):
    for name in LEARNERS:
        with pytest.raises(KeyError):
            pwd.getpwnam(name)


def test_idle_servers_are_culled(hub, learners):
    """Last: jupyterhub-idle-culler against this hub, with a 1 s timeout (the
    hub's own culler waits an hour), stops the servers nobody is using."""
    culler = subprocess.Popen(
        [sys.executable, "-m", "jupyterhub_idle_culler", "--timeout=1", "--cull-every=2",
         f"--url={hub.url}/hub/api"], cwd=hub.state, stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL, env=dict(os.environ, JUPYTERHUB_API_TOKEN=hub.token))
    try:
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            users = hub.api("GET", "/users").json()
            running = [u["name"] for u in users if u["name"] in LEARNERS and u["servers"]]
            if not running:
                break
            time.sleep(1)
    finally:
        culler.terminate()
        culler.wait(10)
    assert running == []
    # their files stay
    assert all((hub.state / "learners" / n / COURSE / "notebooks").is_dir() for n in LEARNERS)
