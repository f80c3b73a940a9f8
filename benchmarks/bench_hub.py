"""A workshop hub on this machine: what one active learner costs, and how
many learners a 2-core 24 GiB teaching machine holds.

Starts deploy/jupyterhub_config.py on 127.0.0.1 (sandbox mode, with
deploy/hubcheck.py), logs LEARNERS learners in one after another, starts
their servers and runs notebook 01 in each, leaving each kernel open as a
learner does. Figures:

* hub start (s): until the hub's API answers through the proxy;
* first notebook ready (s): from the login form until the learner's server
  is ready to open 00-start-here in JupyterLab, median over the learners
  (starting the notebook's kernel, about a second, is in the run time);
* notebook 01 run (s) and CPU (s): one learner running it top to bottom,
  median; CPU counts the learner's server and kernel (user + system);
* memory per learner (MiB): proportional set size (PSS, shared library
  pages split between the processes sharing them) of one learner's server
  and kernel with notebook 01 run, median; hub overhead (MiB): hub, proxy
  and idle culler together;
* idle CPU per learner (%): of one core, learners' processes over
  IDLE_WINDOW seconds after their notebooks ran;
* learners on 2 cores / 24 GiB: the smaller of a memory bound
  (24 GiB - RESERVE_GIB for the system - hub overhead) / memory per learner
  and a CPU bound (2 cores x 60 s: the whole room pressing "run all" on
  notebook 01 at the same moment finishes within a minute), each also given.

Extrapolation, not a measurement of a full room: learners are independent
processes, so memory adds up linearly; CPU is from the measured runs.
"""
from __future__ import annotations

import shutil
import statistics
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "deploy"))

__all__ = ["run"]

LEARNERS = 4
IDLE_WINDOW = 10.0
RESERVE_GIB = 2.0
MACHINE_GIB = 24
MACHINE_CORES = 2
BURST_S = 60


def _pss(pids: list[int]) -> int:
    """Bytes of proportional set size (resident size where PSS is unreadable)."""
    from hubcheck import rss_and_cpu
    total = 0
    for pid in pids:
        try:
            for line in Path(f"/proc/{pid}/smaps_rollup").read_text().splitlines():
                if line.startswith("Pss:"):
                    total += int(line.split()[1]) * 1024
                    break
        except OSError:
            total += rss_and_cpu([pid])[0]
    return total


def run() -> dict:
    if not (shutil.which("node") and shutil.which("npm")):
        return {"hub": "skipped: node and npm are needed for configurable-http-proxy"}
    from hubcheck import Hub, processes_in, rss_and_cpu, run_notebook

    out: dict = {}
    with tempfile.TemporaryDirectory(prefix="memcg-edu-bench-hub-") as tmp:
        hub = Hub(Path(tmp).resolve())
        try:
            out["hub start (s)"] = round(hub.start(), 2)
            ready, runs, cpus, mems = [], [], [], []
            for i in range(LEARNERS):
                name = f"learner{i}"
                home = hub.state / "learners" / name
                t0 = time.monotonic()
                hub.login(name)
                hub.start_server(name)
                token = hub.user_token(name)
                cpu0 = rss_and_cpu(processes_in(home))[1]
                took, errors = run_notebook(hub, name, token, keep=True)
                if errors:
                    raise RuntimeError(f"notebook 01 failed for {name}: {errors}")
                ready.append(time.monotonic() - t0 - took)
                runs.append(took)
                pids = processes_in(home)
                cpus.append(rss_and_cpu(pids)[1] - cpu0)
                mems.append(_pss(pids))
            learner_pids = [p for i in range(LEARNERS)
                            for p in processes_in(hub.state / "learners" / f"learner{i}")]
            idle0 = rss_and_cpu(learner_pids)[1]
            time.sleep(IDLE_WINDOW)
            idle = (rss_and_cpu(learner_pids)[1] - idle0) / IDLE_WINDOW / LEARNERS
            overhead = _pss([p for p in processes_in(hub.state)
                             if p not in learner_pids])
        finally:
            left = hub.stop()
        if left:
            raise RuntimeError(f"processes left after the hub stopped: {left}")
    mib = 2 ** 20
    per_learner = statistics.median(mems)
    cpu = statistics.median(cpus)
    by_memory = int(((MACHINE_GIB - RESERVE_GIB) * 2 ** 30 - overhead) // per_learner)
    by_cpu = int(MACHINE_CORES * BURST_S // cpu)
    out.update({
        "first notebook ready (s)": round(statistics.median(ready), 2),
        "notebook 01 run (s)": round(statistics.median(runs), 2),
        "notebook 01 CPU per learner (s)": round(cpu, 2),
        "memory per learner (MiB)": round(per_learner / mib, 1),
        "hub overhead (MiB)": round(overhead / mib, 1),
        "idle CPU per learner (% of a core)": round(100 * idle, 2),
        "learners by memory (24 GiB)": by_memory,
        "learners by CPU (2 cores, all run 01 within 60 s)": by_cpu,
        "learners on 2 cores / 24 GiB": min(by_memory, by_cpu),
    })
    return out


if __name__ == "__main__":
    for key, value in run().items():
        print(f"{key:52} {value}")
