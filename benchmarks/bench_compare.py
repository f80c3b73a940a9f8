"""The 3.16 design beside the 3.17 one: model speed, and what each design costs per page.

Per design: anonymous page lifecycles per second in the model (fault,
migrate, unmap to the final put, one page at a time: the path where 3.16
takes the most locks), and per lifecycle the memcg entry point calls and
page_cgroup lock acquisitions the event log saw. Then the time of
``compare`` on a 3,000-step scenario (both runs plus the side-by-side table).
"""
from __future__ import annotations

import time

from memcg_edu.compare import ENTRY_POINTS, LOCK_EVENT, compare_scenario, render_text
from memcg_edu.model import Machine

N = 2_000


def _lifecycles(design: str) -> dict:
    m = Machine(ram_pages=64, swap_slots=0, design=design)
    a = m.create_memcg("A")
    p = m.create_task("p", a)
    start = len(m.events)
    t0 = time.perf_counter()
    for _ in range(N):
        x = m.migrate(m.fault_anon(p))
        m.unmap(p, x)
    dt = time.perf_counter() - t0
    kinds = m.events.kinds(start)
    api = set(ENTRY_POINTS[design])
    return {f"{design} lifecycles/s (fault, migrate, unmap)": round(N / dt),
            f"{design} memcg entry point calls per lifecycle":
                round(sum(k in api for k in kinds) / N, 2),
            f"{design} page_cgroup locks per lifecycle":
                round(kinds.count(LOCK_EVENT) / N, 2)}


def _scenario(n_cycles: int) -> dict:
    steps = []
    for i in range(n_cycles):
        x = f"x{i}"
        steps += [{"op": "fault_anon", "task": "p", "page": x},
                  {"op": "get_page", "page": x},
                  {"op": "unmap", "task": "p", "page": x},
                  {"op": "put_page", "page": x}]
    return {"format": "memcg-edu-scenario/1", "title": "bench",
            "machine": {"ram_pages": 1024, "swap_slots": 0},
            "memcgs": {"A": {}}, "tasks": {"p": "A"}, "steps": steps}


def run() -> dict:
    out: dict = {}
    for design in ("3.17", "3.16"):
        out.update(_lifecycles(design))
    t0 = time.perf_counter()
    cmp = compare_scenario(_scenario(750))
    text = render_text(cmp)
    out["compare, 3,000 steps (s)"] = round(time.perf_counter() - t0, 2)
    out["compare, differing steps of 3,000"] = len(cmp.differing_steps)
    out["compare, table lines"] = text.count("\n")
    return out
