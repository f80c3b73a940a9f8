"""The 3.17 model: page lifecycles per second, bytes per page, and the real kernel.

Figures:
* model lifecycles/s: anonymous fault to final put of 1,000,000 pages on a
  Machine of 1,000,000 page frames with the event log on, through the bulk
  paths (fault_anon_range / unmap_range: the kernel's own batching,
  release_pages -> mem_cgroup_uncharge_list); best of three rounds;
* the same through the page-at-a-time path (fault_anon / unmap), for scale;
* bytes of model state per simulated page at the peak (mem_map,
  page_cgroup, swap map, page tables; the kernel spends 16 bytes of
  page_cgroup per page);
* the real kernel's rate for the same lifecycle, where a memory cgroup can
  be made: a child process in a scratch cgroup under this process's own
  memory cgroup (cgroup v1) mmaps anonymous memory without THP, touches
  every page and munmaps it; the scratch cgroup is removed afterwards.
Targets: >= 200,000 lifecycles/s, <= 32 bytes per page (issue 13).
"""
from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path

from memcg_edu.model import Machine

__all__ = ["run", "model_rate", "per_page_rate", "kernel_rate"]

PAGES = 1_000_000
KERNEL_PAGES = int(os.environ.get("MEMCG_EDU_BENCH_KERNEL_PAGES", 262_144))
V1_ROOT = Path("/sys/fs/cgroup/memory")

_CHILD = r"""
import mmap, os, sys, time
import numpy as np
cg, n = sys.argv[1], int(sys.argv[2])
with open(os.path.join(cg, "cgroup.procs"), "w") as f:
    f.write(str(os.getpid()))
t0 = time.perf_counter()
m = mmap.mmap(-1, n * 4096, flags=mmap.MAP_PRIVATE | mmap.MAP_ANONYMOUS)
m.madvise(mmap.MADV_NOHUGEPAGE)
a = np.frombuffer(m, dtype=np.uint8)
a[::4096] = 1
del a
m.close()
print(time.perf_counter() - t0)
"""


def model_rate(pages: int = PAGES, rounds: int = 3) -> tuple[float, float, int]:
    """(best lifecycles/s, bytes per page at the peak, events recorded)."""
    m = Machine(ram_pages=pages, swap_slots=0, record_events=True)
    t = m.create_task("bench", m.create_memcg("A"))
    best, peak = 0.0, 0
    for _ in range(rounds):
        t0 = time.perf_counter()
        pfns = m.fault_anon_range(t, pages)
        peak = max(peak, m.nbytes())
        m.unmap_range(t, pfns)
        best = max(best, pages / (time.perf_counter() - t0))
    a = m.memcgs["A"]
    assert a.usage == a.memsw_usage == a.stat["rss"] == 0
    assert a.stat["pgpgin"] == a.stat["pgpgout"] == rounds * pages
    return best, peak / pages, len(m.events)


def per_page_rate(pages: int = 20_000, calls: bool = False) -> tuple[float, float]:
    """(lifecycles/s through fault_anon + unmap one page at a time, event-log
    bytes per event); ``calls``: with the kernel call log on as well."""
    m = Machine(ram_pages=pages, swap_slots=0, record_events=True)
    m.calls.enabled = calls
    t = m.create_task("bench", m.create_memcg("A"))
    t0 = time.perf_counter()
    for _ in range(pages):
        m.unmap(t, m.fault_anon(t))
    rate = pages / (time.perf_counter() - t0)
    return rate, m.events.nbytes() / len(m.events)


def _own_memcg() -> Path | None:
    for line in Path("/proc/self/cgroup").read_text().splitlines():
        _, controllers, path = line.split(":", 2)
        if "memory" in controllers.split(","):
            d = V1_ROOT / path.lstrip("/")
            return d if d.is_dir() else None
    return None


def kernel_rate(pages: int = KERNEL_PAGES) -> tuple[float | None, str]:
    """(pages/s of the real kernel or None, a note saying what was measured or why not)."""
    own = _own_memcg()
    if own is None:
        return None, "no cgroup v1 memory controller for this process"
    scratch = own / f"memcg-edu-bench-{os.getpid()}"
    try:
        scratch.mkdir()
    except OSError as e:
        return None, f"cannot create a memory cgroup: {e.strerror}"
    try:
        (scratch / "memory.limit_in_bytes").write_text(str(2 * pages * 4096))
        out = subprocess.run([sys.executable, "-c", _CHILD, str(scratch), str(pages)],
                             capture_output=True, text=True, timeout=300)
        if out.returncode:
            return None, f"child failed: {out.stderr.strip().splitlines()[-1:]}"
        seconds = float(out.stdout.strip())
        peak = int((scratch / "memory.max_usage_in_bytes").read_text()) // 4096
        if peak < pages:
            return None, f"only {peak} of {pages} pages were charged to the cgroup"
        kernel = os.uname().release
        return pages / seconds, f"{pages} pages, Linux {kernel}, cgroup v1, THP off"
    finally:
        for _ in range(50):                    # the child may still be exiting
            try:
                scratch.rmdir()
                break
            except OSError:
                time.sleep(0.1)


def run() -> dict:
    rate, per_page_bytes, events = model_rate()
    out: dict = {
        "model lifecycles/s (1M pages, bulk, events on)": round(rate),
        "model lifecycles/s target": 200_000,
        "model bytes per page": round(per_page_bytes, 1),
        "model bytes per page target": 32,
        "kernel page_cgroup bytes per page": 16,
        "model events recorded": events,
    }
    slow, per_event = per_page_rate()
    out["model lifecycles/s (page at a time, events on) [target 60,000]"] = round(slow)
    out["model lifecycles/s (page at a time, events and kernel call log on)"] = round(
        per_page_rate(5_000, calls=True)[0])
    out["event log bytes per event (page at a time)"] = round(per_event, 1)
    from kernel_rate import kernel_rate as shared_rate   # one measurement per run
    krate, note = shared_rate()
    out["kernel lifecycles/s"] = round(krate) if krate else f"skipped: {note}"
    if krate:
        out["kernel measured"] = note
        out["model/kernel ratio"] = round(rate / krate, 3)
        out["model/kernel ratio (page at a time)"] = round(slow / krate, 3)
    return out
