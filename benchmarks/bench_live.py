"""Live recorder and model comparison: how long one workload takes.

Figures: seconds to record the ``charge`` workload (4096 pages per
operation) on this machine's kernel, the kernel's overhead over the pages
(kernel memory and charge stock, in pages, at the first fault), and seconds
for the model to run the same workload for the comparison. Where no scratch
memory cgroup can be made the kernel figures say why.
"""
from __future__ import annotations

import time

from memcg_edu.live import LiveError, detect, record
from memcg_edu.live.compare import model_timeline

__all__ = ["run"]

PAGES = 4096


def run() -> dict:
    out: dict = {}
    caps = detect()
    try:
        t0 = time.perf_counter()
        tl = record("charge", PAGES, caps=caps)
        out["kernel record charge (s)"] = round(time.perf_counter() - t0, 3)
        a = tl[1]["memcgs"]["A"]
        out["kernel usage over pages at fault (pages)"] = a["usage"] - PAGES
        out["kernel memory at fault (pages)"] = a["kernel"]["kmem"]
    except LiveError as e:
        out["kernel record charge (s)"] = f"skipped: {e}"[:60]
    t0 = time.perf_counter()
    model_timeline("charge", PAGES)
    out["model run charge (s)"] = round(time.perf_counter() - t0, 3)
    return out
