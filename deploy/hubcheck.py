"""Drive a memcg-edu JupyterHub as a room of learners would, through its APIs.

Used by the hub test (tests/hub) and benchmark (benchmarks/bench_hub.py),
and by a teacher the day before a workshop::

    python deploy/hubcheck.py --learners 5      # starts a throw-away hub on
                                                # 127.0.0.1, in sandbox mode

``Hub`` starts deploy/jupyterhub_config.py on loopback with its own state
folder and free ports, logs learners in with the room password (the login
form, as a browser does), starts their servers through the hub's REST API,
and stops everything it started. ``run_notebook`` executes a notebook of a
learner's course copy in a kernel of that learner's server, over the
Jupyter server's sessions API and kernel websocket: the code runs where the
learner's would, not in this process.
"""
from __future__ import annotations

import argparse
import asyncio
import concurrent.futures
import json
import os
import secrets
import signal
import socket
import subprocess
import sys
import time
import uuid
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path

import requests

HERE = Path(__file__).resolve().parent
CONFIG = HERE / "jupyterhub_config.py"
PROXY = HERE / "node_modules" / ".bin" / "configurable-http-proxy"
COURSE = "memcg-edu-notebooks"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def ensure_proxy() -> Path:
    """configurable-http-proxy from the npm registry, in deploy/node_modules
    (npm ci, pinned by deploy/package-lock.json); installed when missing."""
    if not PROXY.exists():
        import fcntl
        with open(HERE / ".npm-install.lock", "w") as lock:   # two runs at once
            fcntl.flock(lock, fcntl.LOCK_EX)
            if not PROXY.exists():
                subprocess.run(["npm", "ci", "--no-audit", "--no-fund", "--prefix",
                                str(HERE)], check=True, timeout=300,
                               stdout=subprocess.DEVNULL)
    return PROXY


def processes_in(folder: Path) -> list[int]:
    """Pids of processes whose working folder is ``folder`` or below it: the
    hub, proxy, culler, learners' servers and kernels all start there."""
    out = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                cwd = Path(os.readlink(entry / "cwd"))
            except OSError:
                continue
            if cwd == folder or folder in cwd.parents:
                out.append(int(entry.name))
    return out


def rss_and_cpu(pids: list[int]) -> tuple[int, float]:
    """(resident bytes, CPU seconds used so far) summed over ``pids``."""
    rss, cpu = 0, 0.0
    tick = os.sysconf("SC_CLK_TCK")
    page = os.sysconf("SC_PAGE_SIZE")
    for pid in pids:
        try:
            stat = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
            rss += int(Path(f"/proc/{pid}/statm").read_text().split()[1]) * page
        except (OSError, IndexError, ValueError):
            continue
        cpu += (int(stat[11]) + int(stat[12])) / tick    # utime + stime
    return rss, cpu


@dataclass
class Hub:
    """A hub of our own on 127.0.0.1 (see the module docstring)."""
    state: Path
    learners: str = "sandbox"
    idle: int = 3600
    password: str = field(default_factory=lambda: secrets.token_urlsafe(12))
    token: str = field(default_factory=lambda: secrets.token_hex(24))
    port: int = field(default_factory=free_port)
    process: subprocess.Popen | None = None
    started_in: float = 0.0

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def start(self, timeout: float = 90) -> float:
        """Start the hub; return seconds until its API answers through the proxy."""
        ensure_proxy()
        self.state.mkdir(parents=True, exist_ok=True)
        env = dict(os.environ, MEMCG_EDU_HUB_PASSWORD=self.password,
                   MEMCG_EDU_HUB_LEARNERS=self.learners,
                   MEMCG_EDU_HUB_STATE=str(self.state), MEMCG_EDU_HUB_IP="127.0.0.1",
                   MEMCG_EDU_HUB_PORT=str(self.port),
                   MEMCG_EDU_HUB_INTERNAL_PORT=str(free_port()),
                   MEMCG_EDU_HUB_PROXY_API_PORT=str(free_port()),
                   MEMCG_EDU_HUB_IDLE=str(self.idle),
                   MEMCG_EDU_HUB_SERVICE_TOKEN=self.token,
                   PATH=f"{Path(sys.executable).parent}{os.pathsep}{os.environ.get('PATH', '')}")
        t0 = time.monotonic()
        with open(self.state / "hub.log", "ab") as log:   # the hub keeps its own copy
            self.process = subprocess.Popen(
                [sys.executable, "-m", "jupyterhub", "-f", str(CONFIG)], cwd=self.state,
                env=env, stdout=log, stderr=subprocess.STDOUT, start_new_session=True)
        while time.monotonic() - t0 < timeout:
            if self.process.poll() is not None:
                raise RuntimeError(f"the hub exited ({self.process.returncode}); "
                                   f"see {self.state / 'hub.log'}:\n{self.log()[-2000:]}")
            try:
                if requests.get(f"{self.url}/hub/api", timeout=2).status_code == 200:
                    self.started_in = time.monotonic() - t0
                    return self.started_in
            except requests.ConnectionError:
                pass
            time.sleep(0.2)
        raise TimeoutError(f"the hub did not answer in {timeout} s:\n{self.log()[-2000:]}")

    def log(self) -> str:
        path = self.state / "hub.log"
        return path.read_text(errors="replace") if path.exists() else ""

    def api(self, method: str, path: str, **kwargs) -> requests.Response:
        """The hub's REST API with the admin service token."""
        return requests.request(method, f"{self.url}/hub/api{path}", timeout=30,
                                headers={"Authorization": f"token {self.token}"}, **kwargs)

    def login(self, name: str) -> requests.Session:
        """Log ``name`` in through the login form; the session holds the cookies."""
        s = requests.Session()
        s.get(f"{self.url}/hub/login", timeout=30)
        r = s.post(f"{self.url}/hub/login?next=", timeout=30, allow_redirects=False,
                   data={"username": name, "password": self.password,
                         "_xsrf": s.cookies.get("_xsrf", "")})
        if r.status_code != 302:
            raise RuntimeError(f"login of {name} failed: HTTP {r.status_code}")
        return s

    def start_server(self, name: str, timeout: float = 120) -> float:
        """Start ``name``'s server; return seconds until the hub says it is ready."""
        t0 = time.monotonic()
        r = self.api("POST", f"/users/{name}/server")
        if r.status_code not in (201, 202):
            raise RuntimeError(f"starting {name}'s server: HTTP {r.status_code} {r.text}")
        while time.monotonic() - t0 < timeout:
            server = self.api("GET", f"/users/{name}").json()["servers"].get("", {})
            if server.get("ready"):
                return time.monotonic() - t0
            time.sleep(0.25)
        raise TimeoutError(f"{name}'s server was not ready in {timeout} s")

    def user_token(self, name: str) -> str:
        r = self.api("POST", f"/users/{name}/tokens", json={"note": "hubcheck",
                                                            "expires_in": 3600})
        r.raise_for_status()
        return r.json()["token"]

    def stop(self, timeout: float = 60) -> list[int]:
        """Stop every server and the hub (which stops the proxy and culler);
        return the pids of any process left in the state folder, killed."""
        if self.process and self.process.poll() is None:
            for user in self.api("GET", "/users").json():
                if user.get("servers"):
                    self.api("DELETE", f"/users/{user['name']}/server")
            self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(timeout)
            except subprocess.TimeoutExpired:
                os.killpg(self.process.pid, signal.SIGKILL)
                self.process.wait(10)
        deadline = time.monotonic() + 10
        while (left := processes_in(self.state)) and time.monotonic() < deadline:
            time.sleep(0.2)
        for pid in left:
            try:
                os.kill(pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
        return left


def _message(msg_type: str, content: dict, session: str, channel: str = "shell") -> dict:
    return {"header": {"msg_id": uuid.uuid4().hex, "msg_type": msg_type,
                       "username": "hubcheck", "session": session, "version": "5.3",
                       "date": datetime.now(timezone.utc).isoformat()},
            "parent_header": {}, "metadata": {}, "content": content,
            "channel": channel, "buffers": []}


async def _execute(ws_url: str, token: str, cells: list[str], timeout: float) -> list[str]:
    """Run ``cells`` in order on the kernel at ``ws_url``; the errors they raised."""
    from tornado.httpclient import HTTPRequest
    from tornado.websocket import websocket_connect

    conn = await websocket_connect(HTTPRequest(
        ws_url, headers={"Authorization": f"token {token}"}, request_timeout=timeout))
    session, errors = uuid.uuid4().hex, []
    try:
        for code in cells:
            msg = _message("execute_request", {
                "code": code, "silent": False, "store_history": True,
                "user_expressions": {}, "allow_stdin": False, "stop_on_error": True},
                session)
            await conn.write_message(json.dumps(msg))
            while True:
                raw = await asyncio.wait_for(conn.read_message(), timeout)
                if raw is None:
                    raise ConnectionError("the kernel websocket closed")
                reply = json.loads(raw)
                if reply.get("parent_header", {}).get("msg_id") != msg["header"]["msg_id"]:
                    continue
                kind = reply["header"]["msg_type"]
                if kind == "error":
                    errors.append(f"{reply['content']['ename']}: {reply['content']['evalue']}")
                if kind == "execute_reply" and reply["channel"] == "shell":
                    break
            if errors:
                break
    finally:
        conn.close()
    return errors


def _run_coroutine(coro: "Coroutine[Any, Any, T]") -> T:
    """asyncio.run(coro), also from a thread whose event loop is running
    (a test session where another library left one running): then in a
    thread of its own."""
    try:
        asyncio.get_running_loop()
    except RuntimeError:
        return asyncio.run(coro)
    with concurrent.futures.ThreadPoolExecutor(1) as pool:
        return pool.submit(asyncio.run, coro).result()


def run_notebook(hub: Hub, name: str, token: str,
                 path: str = f"{COURSE}/notebooks/01-charge.ipynb",
                 timeout: float = 120, keep: bool = False) -> tuple[float, list[str]]:
    """Run ``path`` of ``name``'s home in a kernel of ``name``'s server, as
    ``name`` (their token); return (seconds, errors). The kernel is shut
    down afterwards unless ``keep`` (a learner who leaves the notebook open)."""
    base = f"{hub.url}/user/{name}/api"
    head = {"Authorization": f"token {token}"}
    t0 = time.monotonic()
    nb = requests.get(f"{base}/contents/{path}", headers=head, timeout=30)
    nb.raise_for_status()
    cells = ["".join(c["source"]) if isinstance(c["source"], list) else c["source"]
             for c in nb.json()["content"]["cells"] if c["cell_type"] == "code"]
    for attempt in (1, 2):
        r = requests.post(f"{base}/sessions", headers=head, timeout=60, json={
            "path": path, "type": "notebook", "name": "", "kernel": {"name": "python3"}})
        r.raise_for_status()
        sess = r.json()
        dropped = False
        try:
            ws = (f"ws://127.0.0.1:{hub.port}/user/{name}/api/kernels/"
                  f"{sess['kernel']['id']}/channels")
            errors = _run_coroutine(_execute(ws, token, cells, timeout))
        except ConnectionError:
            # the websocket dropped under a busy room (a transport failure,
            # not the notebook's): once more in a fresh kernel, as a learner
            # would restart it
            if attempt == 2:
                raise
            dropped = True
        finally:
            if not keep or dropped:
                requests.delete(f"{base}/sessions/{sess['id']}", headers=head,
                                timeout=30)
        if not dropped:
            break
    return time.monotonic() - t0, errors


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python deploy/hubcheck.py",
                                     description=__doc__.split("\n\n")[0])
    parser.add_argument("--learners", type=int, default=5)
    parser.add_argument("--state", default=None,
                        help="state folder (default: a new temporary one, removed after)")
    args = parser.parse_args(argv)
    import tempfile
    with tempfile.TemporaryDirectory(prefix="memcg-edu-hub-") as tmp:
        hub = Hub(Path(args.state or tmp).resolve())
        try:
            print(f"hub ready in {hub.start():.1f} s at {hub.url}")
            for i in range(args.learners):
                name = f"learner{i}"
                hub.login(name)
                ready = hub.start_server(name)
                took, errors = run_notebook(hub, name, hub.user_token(name))
                print(f"{name}: server ready in {ready:.1f} s, notebook 01 ran in "
                      f"{took:.1f} s, {'errors: ' + '; '.join(errors) if errors else 'no error'}")
        finally:
            left = hub.stop()
            print("stopped" + (f"; killed leftover processes {left}" if left else ""))
    return 0


if __name__ == "__main__":
    sys.exit(main())
