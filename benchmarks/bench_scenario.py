"""Scenario layer speed: steps per second of run_scenario, and load time.

Loading the largest scenario a file may hold (100,000 steps of fault /
migrate / unmap cycles), running 20,000 of those steps without page
snapshots or call records (what `run` and `check` do), 2,000 with
snapshots of a 64-page machine, without and with the step's kernel calls
(what widgets get), and 5,000 with the kernel calls but no snapshots (what
`run --json` and `run --calls` do), beside the real kernel's lifecycles/s.
"""
from __future__ import annotations

import time

from memcg_edu.scenario import FORMAT, load_scenario, run_scenario


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
    out = {"load 100k steps (s)": round(t1 - t0, 3),
           "run steps/s (no snapshots) [target 50,000]": round(20_000 / (t2 - t1)),
           "run steps/s (page snapshots, 64 pages) [target 25,000]": round(2_000 / (t4 - t3)),
           "run steps/s (page snapshots and kernel calls, 64 pages)": round(2_000 / (t5 - t4)),
           "run steps/s (kernel calls, no snapshots)": round(5_000 / (t6 - t5))}
    krate, note = kernel_rate()
    if krate:
        out["kernel lifecycles/s"] = round(krate)
        out["steps/s (no snapshots) / kernel lifecycles/s"] = round(20_000 / (t2 - t1) / krate, 3)
    return out
