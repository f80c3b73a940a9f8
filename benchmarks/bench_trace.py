"""Live tracer: what tracing costs the workload, and what it records.

Figures, on this machine's kernel (skipped, saying why, where it cannot
trace): the ``charge`` workload's phases timed without and with tracing
(the same workload run twice, the phase time read from the timeline's
"t"), the time to read and parse the buffer, events per page, and the
events lost at 8,192 and 65,536 pages per operation with the buffer sized
by ``buffer_kb_for`` (and, at 65,536, with a deliberately small 4 MiB
buffer, to show the loss is counted).
"""
from __future__ import annotations

import time

from memcg_edu.live import LiveError, detect, record
from memcg_edu.live.trace import can_trace, trace

__all__ = ["run"]

WORKLOAD = "charge"


def _phase_seconds(tl) -> float:
    """From the start step to the last phase, as the recorder timed it."""
    return tl.steps[-1]["t"] - tl.steps[0]["t"]


def run() -> dict:
    out: dict = {}
    ok, why = can_trace()
    if not ok:
        return {"trace": f"skipped: {why}"[:60]}
    caps = detect()
    try:
        for pages in (8192, 65536):
            tl = record(WORKLOAD, pages, caps=caps)
            plain = _phase_seconds(tl)
            t0 = time.perf_counter()
            tr = trace(WORKLOAD, pages, caps=caps)
            total = time.perf_counter() - t0
            traced = _phase_seconds(tr.timeline)
            touched = len(tr.pages)
            out[f"{pages} pages: phases untraced (s)"] = round(plain, 3)
            out[f"{pages} pages: phases traced (s)"] = round(traced, 3)
            out[f"{pages} pages: tracing overhead (%)"] = round(
                100 * (traced - plain) / plain, 1)
            out[f"{pages} pages: trace run incl. parse (s)"] = round(total, 3)
            out[f"{pages} pages: events"] = tr.meta["events"]
            out[f"{pages} pages: events per page"] = round(
                tr.meta["events"] / max(1, touched), 2)
            out[f"{pages} pages: buffer per CPU (KiB)"] = tr.meta["buffer_kb"]
            out[f"{pages} pages: events lost"] = tr.lost
            out[f"{pages} pages: complete stories"] = (
                f"{sum(st['complete'] for st in tr.pages)}/{touched}")
        small = trace(WORKLOAD, 65536, caps=caps, buffer_kb=4096)
        out["65536 pages, 4 MiB buffer: events lost"] = small.lost
        out["65536 pages, 4 MiB buffer: complete stories"] = (
            f"{sum(st['complete'] for st in small.pages)}/{len(small.pages)}")
    except LiveError as e:
        out["trace"] = f"failed: {e}"[:60]
    return out


if __name__ == "__main__":
    for k, v in run().items():
        print(f"{k:50s} {v}")
