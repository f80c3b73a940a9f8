"""A real-kernel timeline for notebook 06: recorded live where allowed, else shipped.

Live runs go through memcg_edu.live (a scratch memory cgroup under this
process's own cgroup, removed afterwards); the fallback reads the recorded
timelines in data/real-kernel/. ``MEMCG_EDU_LIVE=0`` in the environment
forces the fallback (workshops, tests).
"""
from __future__ import annotations

import os
from dataclasses import dataclass

from ..bundled import RECORDED_DIR
from ..errors import MemcgEduError, ModelUsageError
from ..timeline import Timeline

__all__ = ["RECORDED_DIR", "KernelRun", "kernel_timeline", "live_allowed"]



@dataclass(frozen=True)
class KernelRun:
    """A kernel timeline and how it was obtained (``live`` and ``how``)."""
    timeline: Timeline
    live: bool
    how: str

    def __str__(self) -> str:
        return self.how


def live_allowed() -> tuple[bool, str]:
    """(True, "") when a live run may be tried here, else (False, why not)."""
    if os.environ.get("MEMCG_EDU_LIVE", "").strip() == "0":
        return False, "MEMCG_EDU_LIVE=0 asks for the recorded timelines"
    from ..live import detect
    caps = detect()
    if caps.cgroup is None or not caps.can_create:
        return False, "; ".join(caps.reasons) or "no memory cgroup can be created here"
    return True, ""


def kernel_timeline(workload: str = "pagecache", pages: int = 256) -> KernelRun:
    """Record ``workload`` on this kernel if allowed, else load its recording.

    A live run that fails (no permission after all, a busy machine) falls
    back to the recording and says why.
    """
    ok, why = live_allowed()
    if ok:
        from ..live import record
        try:
            tl = record(workload, pages)
            return KernelRun(tl, True, f"recorded just now on this machine: Linux "
                             f"{tl.meta.get('kernel')}, cgroup {tl.meta.get('cgroup')}, "
                             f"{pages} pages per phase")
        except (MemcgEduError, OSError) as e:   # e.g. refused by a busy or locked-down machine
            why = f"the live run failed ({e})"
    path = RECORDED_DIR / f"{workload}.json"
    if not path.exists():
        have = sorted(p.stem for p in RECORDED_DIR.glob("*.json"))
        raise ModelUsageError(f"no live run possible ({why}) and no recording "
                              f"{path.name} in {RECORDED_DIR}; recordings: "
                              + (", ".join(have) or "none"))
    tl = Timeline.load(path)
    m = tl.meta
    return KernelRun(tl, False, f"recorded on Linux {m.get('kernel')} (cgroup "
                     f"{m.get('cgroup')}, {m.get('date', 'date unknown')}), "
                     f"{m.get('pages')} pages per phase; not live because {why}")
