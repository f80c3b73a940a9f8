"""deploy/: the hub configuration loads in both learner modes and refuses to
start without a room password; the Zero to JupyterHub values agree with it.
(No hub is started here: tests/hub/test_hub.py does that.)"""
from __future__ import annotations

import json
import os
import runpy
import subprocess
from pathlib import Path
from types import SimpleNamespace

import pytest
import yaml
from traitlets.config import Config

DEPLOY = Path(__file__).resolve().parents[2] / "deploy"


def run_config(monkeypatch, tmp_path, **env) -> tuple[Config, dict]:
    """(the Config the file builds, the file's own globals) under ``env``."""
    for key in list(os.environ):
        if key.startswith("MEMCG_EDU_HUB"):
            monkeypatch.delenv(key)
    monkeypatch.setenv("MEMCG_EDU_HUB_STATE", str(tmp_path / "state"))
    for key, value in env.items():
        monkeypatch.setenv(key, value)
    config = Config()
    module = runpy.run_path(str(DEPLOY / "jupyterhub_config.py"),
                            init_globals={"get_config": lambda: config})
    return config, module


def load(monkeypatch, tmp_path, **env) -> Config:
    return run_config(monkeypatch, tmp_path, **env)[0]


def test_unix_accounts_are_the_default(monkeypatch, tmp_path):
    c = load(monkeypatch, tmp_path, MEMCG_EDU_HUB_PASSWORD="room-password")
    assert c.JupyterHub.spawner_class.__name__ == "LearnerAccountSpawner"
    assert c.JupyterHub.authenticator_class == "shared-password"
    assert c.SharedPasswordAuthenticator.user_password == "room-password"
    assert c.JupyterHub.port == 8000
    assert c.Spawner.environment == {"MEMCG_EDU_LIVE": "0"}
    assert (tmp_path / "state").is_dir()
    culler = c.JupyterHub.services[0]
    assert culler["name"] == "idle-culler" and "--timeout=3600" in culler["command"]


def test_sandbox_mode_and_ports_from_the_environment(monkeypatch, tmp_path):
    c = load(monkeypatch, tmp_path, MEMCG_EDU_HUB_PASSWORD="room-password",
             MEMCG_EDU_HUB_LEARNERS="sandbox", MEMCG_EDU_HUB_PORT="9000",
             MEMCG_EDU_HUB_IDLE="600")
    spawner = c.JupyterHub.spawner_class
    assert spawner.__name__ == "LearnerFolderSpawner"
    assert spawner.home_dir_template == str(tmp_path / "state" / "learners" / "{username}")
    assert c.JupyterHub.port == 9000
    assert "--timeout=600" in c.JupyterHub.services[0]["command"]


@pytest.mark.parametrize("env,message", [
    ({}, "set MEMCG_EDU_HUB_PASSWORD"),
    ({"MEMCG_EDU_HUB_PASSWORD": "short"}, "8 characters or more"),
    ({"MEMCG_EDU_HUB_PASSWORD": "room-password", "MEMCG_EDU_HUB_LEARNERS": "docker"},
     "must be unix or sandbox"),
])
def test_refuses_a_room_it_cannot_serve(monkeypatch, tmp_path, env, message):
    with pytest.raises(SystemExit) as e:
        load(monkeypatch, tmp_path, **env)
    assert message in str(e.value)


def test_helm_values_match_the_one_machine_hub(monkeypatch, tmp_path):
    values = yaml.safe_load((DEPLOY / "helm" / "values.yaml").read_text())
    c = load(monkeypatch, tmp_path, MEMCG_EDU_HUB_PASSWORD="room-password")
    single = values["singleuser"]
    assert single["defaultUrl"] == c.Spawner.default_url
    assert single["extraEnv"] == c.Spawner.environment
    assert "memcg-edu notebooks" in " ".join(single["lifecycleHooks"]["postStart"]["exec"]["command"])
    hub = values["hub"]["config"]
    assert hub["JupyterHub"]["authenticator_class"] == c.JupyterHub.authenticator_class
    assert hub["Authenticator"]["username_pattern"] == c.Authenticator.username_pattern
    assert hub["SharedPasswordAuthenticator"]["user_password"] == ""   # never a real one
    assert values["cull"]["enabled"] and values["cull"]["timeout"] == 3600


def test_the_proxy_comes_pinned_from_npm():
    package = json.loads((DEPLOY / "package.json").read_text())
    lock = json.loads((DEPLOY / "package-lock.json").read_text())
    assert set(package["dependencies"]) == {"configurable-http-proxy"}
    assert "node_modules/configurable-http-proxy" in lock["packages"]


def test_a_learner_account_is_created_once(monkeypatch, tmp_path):
    """Unix mode's glue (the hub test runs sandbox mode: creating accounts
    needs root and an interpreter every user can read)."""
    c = load(monkeypatch, tmp_path, MEMCG_EDU_HUB_PASSWORD="room-password")
    accounts: dict[str, SimpleNamespace] = {}
    calls: list[list[str]] = []

    def getpwnam(name):
        if name not in accounts:
            raise KeyError(name)
        return accounts[name]

    def fake_run(cmd, **kw):
        calls.append(cmd)
        accounts[cmd[-1]] = SimpleNamespace(pw_dir=str(tmp_path / "home" / cmd[-1]))

    import pwd
    monkeypatch.setattr(pwd, "getpwnam", getpwnam)
    monkeypatch.setattr(subprocess, "run", fake_run)
    spawner = SimpleNamespace(user=SimpleNamespace(name="ann"))
    ensure = c.JupyterHub.spawner_class.ensure_account
    assert ensure(spawner) == tmp_path / "home" / "ann"
    assert ensure(spawner) == tmp_path / "home" / "ann"
    assert len(calls) == 1
    assert calls[0][1:] == ["--create-home", "--shell", "/bin/bash", "--comment",
                            "memcg-edu learner", "ann"]


def test_the_course_is_copied_at_first_login_only(monkeypatch, tmp_path):
    _, module = run_config(monkeypatch, tmp_path, MEMCG_EDU_HUB_PASSWORD="room-password",
                           MEMCG_EDU_HUB_LEARNERS="sandbox")
    copy_once = module["copy_course_once"]
    home = tmp_path / "ann"
    home.mkdir()
    copy_once(home, None)
    nb = home / "memcg-edu-notebooks" / "notebooks" / "01-charge.ipynb"
    assert nb.is_file()
    nb.write_text("my work")
    (home / "memcg-edu-notebooks" / "notebooks" / "00-start-here.ipynb").unlink()
    copy_once(home, None)            # the next login: nothing touched
    assert nb.read_text() == "my work"
    assert not (home / "memcg-edu-notebooks" / "notebooks" / "00-start-here.ipynb").exists()
