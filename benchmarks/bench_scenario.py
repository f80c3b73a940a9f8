"""Scenario layer speed: steps per second of run_scenario, and load time.

Loading the largest scenario a file may hold (100,000 steps of fault /
migrate / unmap cycles), running 20,000 of those steps without page
snapshots or call records (what `run` and `check` do), 2,000 with
snapshots of a 64-page machine, without and with the step's kernel calls
(what widgets get), and 5,000 with the kernel calls but no snapshots, the
calls kept as recorded (a step's call dicts are built when it is read),
then 5,000 more with every step's calls written as JSON (what `run --json`
does), beside the real kernel's lifecycles/s. Issue 10's budget: with
calls, at least 80% of the figures without them when it was filed
(11,900 steps/s without snapshots, 5,500 with them).
"""
from __future__ import annotations

import json
import time

from memcg_edu.scenario import FORMAT, iter_scenario, load_scenario, run_scenario
from memcg_edu.timeline import json_default


def _cycles(n_steps: int) -> dict:
    steps, i = [], 0
    while len(steps) < n_steps:
        x = f"x{i}"
        steps += [{"op": "fault_anon", "task": "p", "page": x},
                  {"op": "migrate", "page": x},
                  {"op": "unmap", "task": "p", "page": x}]
        i += 1
    return {"format": FORMAT, "title": "bench",
            "machine": {"ram_pages": 64, "swap_slots": 0},
            "memcgs": {"A": {"limit": 32}}, "tasks": {"p": "A"},
            "steps": steps[:n_steps]}


def run() -> dict:
    from kernel_rate import kernel_rate
    big = _cycles(100_000)
    t0 = time.perf_counter()
    load_scenario(big)
    t1 = time.perf_counter()
    run_scenario(_cycles(20_000), pages=False, calls=False)
    t2 = time.perf_counter()
    small = load_scenario(_cycles(2_000))
    t3 = time.perf_counter()
    run_scenario(small, pages=True, calls=False)
    t4 = time.perf_counter()
    run_scenario(small, pages=True, calls=True)
    t5 = time.perf_counter()
    run_scenario(_cycles(5_000), pages=False, calls=True)
    t6 = time.perf_counter()
    for rec, _ in iter_scenario(_cycles(5_000), pages=False, calls=True):
        json.dumps(rec["calls"], default=json_default)
    t7 = time.perf_counter()
    out = {"load 100k steps (s)": round(t1 - t0, 3),
           "run steps/s (no snapshots) [target 50,000]": round(20_000 / (t2 - t1)),
           "run steps/s (page snapshots, 64 pages) [target 25,000]": round(2_000 / (t4 - t3)),
           "run steps/s (page snapshots and kernel calls, 64 pages)": round(2_000 / (t5 - t4)),
           "run steps/s (page snapshots and kernel calls, 64 pages) target": 4_400,
           "run steps/s (kernel calls, no snapshots)": round(5_000 / (t6 - t5)),
           "run steps/s (kernel calls, no snapshots) target": 9_520,
           "run --json steps/s (kernel calls written)": round(5_000 / (t7 - t6))}
    krate, note = kernel_rate()
    if krate:
        out["kernel lifecycles/s"] = round(krate)
        out["steps/s (no snapshots) / kernel lifecycles/s"] = round(20_000 / (t2 - t1) / krate, 3)
    return out
