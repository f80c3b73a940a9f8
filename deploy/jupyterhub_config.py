"""JupyterHub for a memcg-edu workshop on one teaching machine.

Start it (deploy/README.md has the whole recipe)::

    MEMCG_EDU_HUB_PASSWORD='the room password' jupyterhub -f deploy/jupyterhub_config.py

Learners open http://MACHINE:8000, log in with a name of their choice and the
room password, and land in 00-start-here. Each learner gets

* their own Unix account (``learners = "unix"``, the default; the hub runs as
  root and creates the account at first login) or their own folder under
  ``MEMCG_EDU_HUB_STATE/learners/`` (``"sandbox"``: no root needed, but every
  server runs as the hub's user, so learners are kept apart only by the hub's
  authentication; fine for a trusted room, never for the open internet);
* their own copy of the course in ``~/memcg-edu-notebooks``, made at first
  login with ``memcg-edu notebooks`` and never overwritten afterwards;
* a server that the idle culler stops after ``MEMCG_EDU_HUB_IDLE`` seconds
  without activity (their files stay).

Settings come from the environment, so the same file serves a room and the
test (tests/hub): MEMCG_EDU_HUB_PASSWORD (required, 8 characters or more),
MEMCG_EDU_HUB_LEARNERS (unix | sandbox), MEMCG_EDU_HUB_STATE (database,
cookie secret, sandbox homes; default /srv/memcg-edu-hub), MEMCG_EDU_HUB_IP
(default all interfaces), MEMCG_EDU_HUB_PORT (8000), MEMCG_EDU_HUB_INTERNAL_PORT
(8081, the hub's own API) and MEMCG_EDU_HUB_PROXY_API_PORT (8001),
MEMCG_EDU_HUB_IDLE (3600), MEMCG_EDU_HUB_ADMINS (comma-separated names that
log in with MEMCG_EDU_HUB_ADMIN_PASSWORD, 32+ characters),
MEMCG_EDU_HUB_SERVICE_TOKEN (an API token for scripts, with admin rights).
"""
from __future__ import annotations

import os
import pwd
import shutil
import subprocess
import sys
from pathlib import Path

from jupyterhub.spawner import LocalProcessSpawner, SimpleLocalProcessSpawner

c = get_config()  # noqa: F821 - JupyterHub provides it when it loads this file

HERE = Path(__file__).resolve().parent
env = os.environ.get
STATE = Path(env("MEMCG_EDU_HUB_STATE", "/srv/memcg-edu-hub"))
LEARNERS = env("MEMCG_EDU_HUB_LEARNERS", "unix")
#: where each learner's course copy goes, inside their home
COURSE = "memcg-edu-notebooks"
#: a Unix account the hub creates is recognisable by this comment
ACCOUNT_COMMENT = "memcg-edu learner"

if LEARNERS not in ("unix", "sandbox"):
    sys.exit(f"MEMCG_EDU_HUB_LEARNERS must be unix or sandbox, not {LEARNERS!r}")
if len(env("MEMCG_EDU_HUB_PASSWORD", "")) < 8:
    sys.exit("set MEMCG_EDU_HUB_PASSWORD to the room password (8 characters or more)")
STATE.mkdir(parents=True, exist_ok=True, mode=0o700)

# --- network: the public proxy port, the hub's API and the proxy's API
c.JupyterHub.ip = env("MEMCG_EDU_HUB_IP", "")
c.JupyterHub.port = int(env("MEMCG_EDU_HUB_PORT", "8000"))
c.JupyterHub.hub_ip = "127.0.0.1"
c.JupyterHub.hub_port = int(env("MEMCG_EDU_HUB_INTERNAL_PORT", "8081"))
c.ConfigurableHTTPProxy.api_url = \
    f"http://127.0.0.1:{int(env('MEMCG_EDU_HUB_PROXY_API_PORT', '8001'))}"
# configurable-http-proxy from the npm registry, installed next to this file
# (npm ci --prefix deploy); one on PATH is used otherwise
_local_proxy = HERE / "node_modules" / ".bin" / "configurable-http-proxy"
if _local_proxy.exists():
    c.ConfigurableHTTPProxy.command = [str(_local_proxy)]

# --- state: the database and the cookie secret, kept with the hub
c.JupyterHub.db_url = f"sqlite:///{STATE / 'jupyterhub.sqlite'}"
c.JupyterHub.cookie_secret_file = str(STATE / "jupyterhub_cookie_secret")
c.JupyterHub.pid_file = str(STATE / "jupyterhub.pid")
c.ConfigurableHTTPProxy.pid_file = str(STATE / "jupyterhub-proxy.pid")
# stopping the hub stops every learner's server and the proxy
c.JupyterHub.cleanup_servers = True
c.JupyterHub.cleanup_proxy = True

# --- who may log in: any name the room picks, with the room password
c.JupyterHub.authenticator_class = "shared-password"
c.SharedPasswordAuthenticator.user_password = env("MEMCG_EDU_HUB_PASSWORD")
c.Authenticator.allow_all = True
# names safe as Unix accounts and folder names
c.Authenticator.username_pattern = r"^[a-z][a-z0-9_-]{0,30}$"
_admins = {a for a in env("MEMCG_EDU_HUB_ADMINS", "").split(",") if a}
if _admins:
    c.Authenticator.admin_users = _admins
    c.SharedPasswordAuthenticator.admin_password = env("MEMCG_EDU_HUB_ADMIN_PASSWORD")


def copy_course_once(home: Path, as_user: str | None) -> None:
    """memcg-edu notebooks ~/memcg-edu-notebooks, unless a copy is there
    already (the learner's work is never touched after the first login)."""
    if (home / COURSE).exists():
        return
    account = pwd.getpwnam(as_user) if as_user else None
    # as the learner, with none of root's groups, so the files are theirs
    as_account = {"user": account.pw_uid, "group": account.pw_gid,
                  "extra_groups": []} if account else {}
    subprocess.run([sys.executable, "-m", "memcg_edu", "notebooks", str(home / COURSE)],
                   check=True, cwd=home, timeout=120, **as_account,
                   env={k: v for k, v in os.environ.items() if k in ("PATH", "PYTHONPATH", "LANG")}
                   | {"HOME": str(home)})


class LearnerAccountSpawner(LocalProcessSpawner):
    """One Unix account per learner, created at first login (the hub runs as root)."""

    def ensure_account(self) -> Path:
        name = self.user.name
        try:
            return Path(pwd.getpwnam(name).pw_dir)
        except KeyError:
            pass
        useradd = shutil.which("useradd") or "/usr/sbin/useradd"
        subprocess.run([useradd, "--create-home", "--shell", "/bin/bash",
                        "--comment", ACCOUNT_COMMENT, name], check=True, timeout=60)
        return Path(pwd.getpwnam(name).pw_dir)

    async def start(self):
        copy_course_once(self.ensure_account(), self.user.name)
        return await super().start()


class LearnerFolderSpawner(SimpleLocalProcessSpawner):
    """One folder per learner under MEMCG_EDU_HUB_STATE/learners, all servers
    running as the hub's own user (see the module docstring)."""

    home_dir_template = str(STATE / "learners" / "{username}")

    async def start(self):
        home = Path(self.home_dir)
        home.mkdir(parents=True, exist_ok=True, mode=0o700)
        copy_course_once(home, None)
        return await super().start()


if LEARNERS == "unix":
    c.JupyterHub.spawner_class = LearnerAccountSpawner
else:
    c.JupyterHub.spawner_class = LearnerFolderSpawner
    if os.geteuid() == 0:   # jupyter server refuses root unless told
        c.Spawner.args = ["--allow-root"]

# --- what a learner's server is: JupyterLab opening the first notebook
c.Spawner.default_url = f"/lab/tree/{COURSE}/notebooks/00-start-here.ipynb"
c.Spawner.notebook_dir = "~"
# a room shares one kernel: notebook 06 uses the recorded timelines
c.Spawner.environment = {"MEMCG_EDU_LIVE": "0"}
c.Spawner.start_timeout = 120
c.Spawner.http_timeout = 90
c.JupyterHub.concurrent_spawn_limit = 20

# --- idle culling: stop servers nobody used for MEMCG_EDU_HUB_IDLE seconds
_idle = int(env("MEMCG_EDU_HUB_IDLE", "3600"))
c.JupyterHub.services = [{
    "name": "idle-culler",
    "command": [sys.executable, "-m", "jupyterhub_idle_culler",
                f"--timeout={_idle}", f"--cull-every={max(30, _idle // 10)}"],
}]
c.JupyterHub.load_roles = [{
    "name": "idle-culler",
    "scopes": ["list:users", "read:users:activity", "read:servers", "delete:servers"],
    "services": ["idle-culler"],
}]
if env("MEMCG_EDU_HUB_SERVICE_TOKEN"):
    c.JupyterHub.services.append({"name": "workshop-admin",
                                  "api_token": env("MEMCG_EDU_HUB_SERVICE_TOKEN")})
    c.JupyterHub.load_roles.append({"name": "workshop-admin", "scopes": ["admin:users",
                                    "admin:servers", "tokens", "list:users",
                                    "list:services", "read:services"],
                                    "services": ["workshop-admin"]})
