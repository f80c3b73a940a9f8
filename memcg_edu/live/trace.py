"""Trace a live workload page by page: tracepoints in a private instance.

Runs a workload of the live lab (memcg_edu.live.record, in its scratch
memory cgroup) with a private tracefs instance (memcg_edu.live.tracefs)
recording the tracepoints of the page's life: kmem (mm_page_alloc,
mm_page_free), pagemap (mm_lru_insertion, mm_lru_activate), filemap (page
cache insertion and removal), vmscan (memcg reclaim, LRU isolation,
pageout), migrate (migration ptes) and memcg (statistics changes). Events
are kept only for the workload's threads and the recorder (a common_pid
filter; frees of any task, as a page's last put may happen anywhere), and
the memcg events only for the scratch cgroups (a
filter on the cgroup id the tracepoint carries, which is the cgroup
directory's inode number). Afterwards the buffer is read, the per-CPU
overrun is counted, and the events become a TraceRecording: the live
timeline (counters per phase) whose steps carry "calls" in the shape of
``run --json``, plus one story per page the workload touched.

What the filter leaves out, the recording says: LRU and reclaim events of
kernel threads (kswapd, kworkers draining per-CPU LRU batches) are not in
it.
"""
from __future__ import annotations

import datetime as _dt
import gzip
import json
import os
import threading
import zlib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable

from ..safeio import parse_json, read_bytes, write_atomic
from ..timeline import MAX_TIMELINE_BYTES, PAGE_SIZE, Timeline
from .catalog import RECORDED_DIR, Phase, get_workload
from .detect import Capabilities, detect
from .errors import LiveError
from .record import Recorder, _frames, record
from .scratch import sigterm_as_exit
from .trace_parse import MARK, item_names, parse_lines
from .trace_story import END, TraceContext, build
from . import tracefs
from .tracefs import TraceInstance, trace_lock

__all__ = ["EVENTS", "TraceRecording", "trace", "load_trace",
           "recorded_trace", "buffer_kb_for", "FORMAT", "TraceRun",
           "trace_or_recorded", "can_trace", "require_root", "print_waiting"]

FORMAT = "memcg-edu-trace/1"
#: (system, event names, filter): "pid" keeps the workload's and the
#: recorder's events, "memcg" the scratch cgroups' (any task), None all.
#: The first name the kernel has is used (pageout's tracepoint was renamed).
#: Frees are not filtered: a page's last reference may be dropped in any
#: context (an interrupt ending its writeback, a kworker, kswapd), and the
#: parser keeps only the frees of the workload's frames.
EVENTS: tuple[tuple[str, tuple[str, ...], str | None], ...] = (
    ("kmem", ("mm_page_alloc",), "pid"),
    ("kmem", ("mm_page_free",), None),
    ("kmem", ("mm_page_free_batched",), None),
    ("pagemap", ("mm_lru_insertion",), "pid"),
    ("pagemap", ("mm_lru_activate",), "pid"),
    ("filemap", ("mm_filemap_add_to_page_cache",), "pid"),
    ("filemap", ("mm_filemap_delete_from_page_cache",), "pid"),
    ("migrate", ("mm_migrate_pages",), "pid"),
    ("migrate", ("remove_migration_pte",), "pid"),
    ("vmscan", ("mm_vmscan_lru_isolate",), "pid"),
    ("vmscan", ("mm_vmscan_write_folio", "mm_vmscan_writepage"), "pid"),
    ("vmscan", ("mm_vmscan_memcg_reclaim_begin",), "pid"),
    ("vmscan", ("mm_vmscan_memcg_reclaim_end",), "pid"),
    ("memcg", ("mod_memcg_state",), "memcg"),
    ("memcg", ("mod_memcg_lruvec_state",), "memcg"),
    ("memcg", ("count_memcg_events",), "memcg"),
)
#: ring buffer KiB per page the workload handles (on 6.18 about 12 events
#: of 30-60 bytes per page, plus the machine's other frees meanwhile), and
#: the per-CPU floor and ceiling
_KB_PER_PAGE = 2
_MIN_KB, _MAX_KB = 16384, 256 * 1024


def buffer_kb_for(wl_pages: int, avail_kb: int | None = None,
                  cpus: int | None = None) -> int:
    """Per-CPU buffer_size_kb for a run touching ``wl_pages`` pages.

    One CPU may see every event (the workload runs on one at a time), so
    each CPU's buffer is sized for the whole run; capped at 256 MiB and at
    an eighth of the available memory over all CPUs.
    """
    kb = _KB_PER_PAGE * wl_pages + _MIN_KB
    kb = min(kb, _MAX_KB)
    if avail_kb:
        kb = min(kb, max(_MIN_KB, avail_kb // 8 // max(1, cpus or 1)))
    return kb


def _mem_available_kb(proc: Path) -> int | None:
    try:
        for line in (proc / "meminfo").read_text().splitlines():
            if line.startswith("MemAvailable:"):
                return int(line.split()[1])
    except (OSError, ValueError):
        pass
    return None


@dataclass
class TraceRecording:
    """A traced run: the timeline (steps with "calls") and the page stories.

    ``pages``: one story per page the workload touched ({"role", "kind",
    "pfns", "events", "complete"}); ``changes``: the memcg statistics
    changes in order ([step, memcg, item, delta]); ``kernel_pages``: pages
    of kernel memory (page tables, slab) the workload allocated, per step;
    ``meta``: kernel, date, events enabled and missing, lost events.
    """

    meta: dict[str, Any]
    timeline: Timeline
    pages: list[dict[str, Any]] = field(default_factory=list)
    changes: list[list[Any]] = field(default_factory=list)
    kernel_pages: dict[int, int] = field(default_factory=dict)

    @property
    def lost(self) -> int:
        """Events lost by the ring buffer over all CPUs (0 means none)."""
        return int(self.meta.get("lost", {}).get("total", 0))

    def story(self, role: str) -> dict[str, Any]:
        for st in self.pages:
            if st["role"] == role:
                return st
        raise LiveError(f"no page {role!r} in this trace", "refused")

    def to_dict(self) -> dict[str, Any]:
        return {"format": FORMAT, "meta": self.meta,
                "timeline": self.timeline.to_dict(), "pages": self.pages,
                "changes": self.changes,
                "kernel_pages": {str(k): v for k, v in self.kernel_pages.items()}}

    def save(self, path: str | Path, overwrite: bool = True) -> None:
        """Compact JSON, gzip-compressed when the name ends in .gz, written
        by safeio.write_atomic as Timeline.save is: a new file renamed into
        place, so a symlink at ``path`` is replaced, not followed
        (``overwrite`` False: refused if a file is there)."""
        data = (json.dumps(self.to_dict(), separators=(",", ":")) + "\n"
                ).encode()
        if str(path).endswith(".gz"):
            # mtime 0: the same trace gives the same bytes
            data = gzip.compress(data, mtime=0)
        write_atomic(path, data, overwrite=overwrite)

    @classmethod
    def from_dict(cls, data: Any, where: str = "trace") -> "TraceRecording":
        if not isinstance(data, dict) or data.get("format") != FORMAT:
            raise LiveError(f"{where}: not a memcg-edu trace (expected "
                            f"\"format\": \"{FORMAT}\")", "refused")
        for key, kind in (("meta", dict), ("timeline", dict), ("pages", list),
                          ("changes", list)):
            if not isinstance(data.get(key), kind):
                raise LiveError(f"{where}: \"{key}\" must be a "
                                f"{kind.__name__.replace('dict', 'object')}",
                                "refused")
        for i, st in enumerate(data["pages"]):
            if not isinstance(st, dict) or not isinstance(st.get("events"), list):
                raise LiveError(f"{where}: pages[{i}] must be an object with "
                                f"an \"events\" list", "refused")
        try:
            tl = Timeline.from_dict(data["timeline"], f"{where}: timeline")
        except Exception as e:  # ModelUsageError: say it in the live words
            raise LiveError(str(e), "refused") from None
        kp = {int(k): int(v) for k, v in (data.get("kernel_pages") or {}).items()}
        return cls(data["meta"], tl, data["pages"], data["changes"], kp)


def load_trace(path: str | Path) -> TraceRecording:
    """A saved trace (``live trace --out``), with one-line errors. Read as
    every user file is (memcg_edu.safeio: a regular file only, at most
    MAX_TIMELINE_BYTES, plain JSON); a gzip-compressed one is inflated to
    at most that size too, so a small file cannot expand without bound."""
    p = Path(path)

    def fail(msg: str) -> LiveError:
        return LiveError(f"{p}: {msg}", "refused")

    raw = read_bytes(p, MAX_TIMELINE_BYTES, fail)
    if raw[:2] == b"\x1f\x8b":
        inflate = zlib.decompressobj(wbits=31)     # gzip framing
        try:
            raw = inflate.decompress(raw, MAX_TIMELINE_BYTES + 1)
        except zlib.error:
            raise fail("not JSON (nor gzip-compressed JSON)") from None
        if len(raw) > MAX_TIMELINE_BYTES or inflate.unconsumed_tail:
            raise fail(f"uncompressed it is more than {MAX_TIMELINE_BYTES} "
                       f"bytes, the limit for a trace")
        if not inflate.eof:
            raise fail("not JSON (nor gzip-compressed JSON): the gzip "
                       "data is cut short")
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError:
        raise fail("not JSON (nor gzip-compressed JSON)") from None
    return TraceRecording.from_dict(parse_json(text, fail), str(p))


def recorded_trace(name: str) -> TraceRecording:
    """The trace of workload ``name`` recorded on this project's machine
    (data/real-kernel/trace-NAME.json), for machines that cannot trace."""
    path = RECORDED_DIR / f"trace-{name}.json.gz"
    if not path.is_file():
        have = sorted(p.name[6:-8] for p in RECORDED_DIR.glob("trace-*.json.gz"))
        raise LiveError(f"no recorded trace {path}; recorded are "
                        f"{', '.join(have) or 'none'}", "refused")
    return load_trace(path)


class _TracingRecorder(Recorder):
    """The live Recorder, plus: markers between phases, pid filter, page
    frames and file inodes noted after every phase."""

    def __init__(self, inst: TraceInstance, caps: Capabilities, wl, scratch,
                 swap_reason, interval, on_step) -> None:
        super().__init__(caps, wl, scratch, swap_reason, interval, on_step)
        self.inst = inst
        self.frames: dict[int, dict[str, list[int]]] = {}
        self.seen_maps: dict[str, tuple[int, int]] = {}
        self.inodes: dict[int, str] = {}
        self.targets: dict[int, tuple[str, str]] = {}
        self.task_memcg: dict[int, str] = {0: wl.memcgs[0]}
        self.memcg_ids = {os.stat(scratch.dirs[n]).st_ino: n for n in wl.memcgs}

    def _enable_events(self, pids: list[int]) -> None:
        """Every EVENTS entry this kernel has: memcg events filtered on
        the scratch cgroups' ids (whoever changes them), the others on the
        pids of the workload and the recorder.

        An event filter on common_pid rather than set_event_pid: the kernel
        drops an exiting task from set_event_pid before exit_mmap frees its
        pages, and those frees are part of the story."""
        inst = self.inst
        ids = " || ".join(f"id == {i}" for i in self.memcg_ids)
        by_pid = " || ".join(f"common_pid == {p}" for p in pids)
        for system, names, on in EVENTS:
            name = next((n for n in names if inst.has_event(system, n)), names[0])
            filt = by_pid if on == "pid" else None
            if on == "memcg" and inst.has_event(system, name) and \
                    "field:u64 id;" in inst.event_format(system, name):
                filt = ids
            inst.enable(system, name, filt)

    def _note_files(self) -> None:
        phases = [Phase("x", "read_file", label) for label in self.wl.files]
        phases += [p for p in self.wl.phases if p.action in
                   ("read_file", "write_file", "write_tmpfs")]
        for ph in phases:
            try:
                self.inodes[os.lstat(self._path(ph)).st_ino] = ph.target
            except (OSError, AssertionError):
                pass

    def _start_child(self) -> None:
        super()._start_child()
        assert self.child is not None
        # every thread of the workload (numpy's import starts BLAS threads,
        # and the last thread to exit is the one that frees the memory) and
        # the recorder's own thread
        self.child_tids = _threads(self.child.pid)
        self._enable_events([threading.get_native_id(), *self.child_tids])
        self._note_files()
        self.inst.on()  # the marker file refuses writes while tracing is off
        self.inst.mark(f"{MARK}0 start")

    def _run_phase(self, i: int, phase: Phase):
        self._note_files()
        self.inst.mark(f"{MARK}{i} {phase.op}")
        self.targets[i] = (phase.action, phase.target)
        if phase.action == "move":
            self.task_memcg[i] = phase.memcg
        out = super()._run_phase(i, phase)
        self.seen_maps.update(self.mappings)
        self._note_files()
        snap = {}
        if self.child is not None and self.child.poll() is None:
            for label, (addr, pages) in self.mappings.items():
                try:
                    snap[label] = _frames(self.child.pid, addr, pages)
                except OSError:
                    pass
        self.frames[i] = snap
        return out

    def run(self) -> Timeline:
        tl = super().run()
        # what the lab's cleanup frees is traced too, as one more step
        self.inst.mark(f"{MARK}{len(tl)} cleanup")
        return tl


def require_root() -> None:
    """LiveError (exit 3) unless we are root: tracefs is root-only."""
    if os.geteuid() != 0:
        raise LiveError("tracing needs root (tracefs control files are "
                        "root-only); use recorded_trace() instead")


def _threads(pid: int) -> list[int]:
    """The thread ids of process ``pid`` (/proc/PID/task)."""
    try:
        return sorted(int(t) for t in os.listdir(f"/proc/{pid}/task"))
    except OSError:
        return [pid]


def _wl_pages(wl) -> int:
    return sum(p.pages for p in wl.phases) + sum(wl.files.values())


def trace(workload: str, pages: int = 1024, *, swap: bool = False,
          caps: Capabilities | None = None,
          on_step: Callable[[dict[str, Any]], None] | None = None,
          buffer_kb: int | None = None,
          on_wait: Callable[[str], None] | None = None) -> TraceRecording:
    """Run ``workload`` traced, page by page; everything removed on return,
    error, Ctrl-C, SIGTERM (and at the next start after a SIGKILL).
    ``on_wait(what)`` is called once for each lock (another traced run,
    another run's swap) this run has to wait for."""
    caps = caps or detect()
    wl = get_workload(workload, pages)
    require_root()
    caps.require_scratch()
    kb = buffer_kb or buffer_kb_for(_wl_pages(wl), _mem_available_kb(caps.proc),
                                    os.cpu_count())
    holder: dict[str, _TracingRecorder] = {}
    def waiting(what: str) -> Callable[[], None] | None:
        return None if on_wait is None else (lambda: on_wait(what))

    with sigterm_as_exit(), trace_lock(on_wait=waiting("another traced run")):
        removed = tracefs.cleanup_stale()
        with TraceInstance(buffer_kb=kb) as inst:
            def make(*args: Any) -> _TracingRecorder:
                holder["r"] = _TracingRecorder(inst, *args)
                return holder["r"]

            tl = record(workload, pages, swap=swap, caps=caps, on_step=on_step,
                        recorder=make,
                        on_wait=waiting("another live run using the machine's swap"))
            inst.off()
            rec = holder["r"]
            lost = inst.lost()
            ctx = TraceContext(
                child_pids=set(getattr(rec, "child_tids", [])),
                ops=tl.ops + ["cleanup"], files=rec.inodes,
                mappings=rec.seen_maps, frames=rec.frames,
                memcgs=rec.memcg_ids, items=item_names(caps.proc / "vmstat"),
                task_memcg=rec.task_memcg, targets=rec.targets,
                page_shift=PAGE_SIZE.bit_length() - 1)
            lines = inst.read()
            try:
                out = build(parse_lines(lines), ctx)
            finally:
                lines.close()  # an open trace file keeps rmdir busy
            enabled, missing, mounted = inst.enabled, inst.missing, inst.mounted
    for step in tl.steps:
        step["calls"] = out["calls"].get(step["step"], [])
        step["trace"] = {"events": out["events_by_step"].get(step["step"], 0),
                         "kernel_pages": out["kernel_pages"].get(step["step"], 0)}
    over = {str(c): v for c, v in lost.items()}
    total = sum(v["overrun"] + v["dropped"] for v in lost.values())
    if total:   # a missing free may be a lost event: no open story is complete
        for st in out["pages"]:
            if st["events"] and st["events"][-1][1] == END:
                st["complete"] = False
    meta = {**tl.meta, "traced": True, "buffer_kb": kb,
            "events_enabled": enabled, "events_missing": missing,
            "filters": {"pids": "common_pid of the workload's threads and "
                                "of the recorder (frees: any task)",
                        "memcg": {n: i for i, n in rec.memcg_ids.items()}},
            "tracefs_mounted_by_run": mounted,
            "events": out["events"],
            "lost": {"total": total, "per_cpu": over,
                     "lost_lines": out["lost_lines"]},
            "cleanup_calls": out["calls"].get(len(tl), []),
            "untraced": ["reference count and mapcount (null in each call's "
                         "state)", "which page an LRU isolation took "
                         "(inferred inside memcg reclaim)", "LRU events of "
                         "kernel threads (kswapd, kworkers)"],
            "traced_date": _dt.datetime.now(_dt.timezone.utc).isoformat(
                timespec="seconds")}
    meta["notes"] = meta.get("notes", []) + removed
    return TraceRecording(meta, tl, out["pages"], out["changes"],
                          out["kernel_pages"])


def print_waiting(what: str) -> None:
    """The ``on_wait`` of trace() for a terminal or a notebook: one line."""
    print(f"waiting: {what} holds the lock", flush=True)


def can_trace(caps: Capabilities | None = None) -> tuple[bool, str]:
    """(True, "") where a live trace may be tried, else (False, why not).

    ``MEMCG_EDU_LIVE=0`` in the environment asks for the recordings.
    """
    if os.environ.get("MEMCG_EDU_LIVE", "").strip() == "0":
        return False, "MEMCG_EDU_LIVE=0 asks for the recorded traces"
    if os.geteuid() != 0:
        return False, "tracing needs root"
    if tracefs.find_tracefs() is None and not tracefs.DEFAULT_MOUNT.is_dir():
        return False, f"no tracefs mounted and no {tracefs.DEFAULT_MOUNT}"
    caps = caps or detect()
    if caps.cgroup is None or not caps.can_create:
        return False, "; ".join(caps.scratch_reasons) or "no memory cgroup here"
    return True, ""


@dataclass(frozen=True)
class TraceRun:
    """A trace and how it was obtained (``live`` and ``how``)."""

    trace: TraceRecording
    live: bool
    how: str

    def __str__(self) -> str:
        return self.how


def trace_or_recorded(workload: str, pages: int = 256, *,
                      swap: bool = True) -> TraceRun:
    """Trace ``workload`` on this kernel where allowed, else load its
    recording (data/real-kernel/trace-NAME.json.gz); says which, and why."""
    ok, why = can_trace()
    if ok:
        try:
            tr = trace(workload, pages, swap=swap, on_wait=print_waiting)
            return TraceRun(tr, True, f"traced just now on this machine: Linux "
                                      f"{tr.meta.get('kernel')}, {pages} pages "
                                      f"per phase, {tr.lost} events lost")
        except (LiveError, OSError) as e:  # a busy or locked-down machine
            why = f"the live trace failed ({e})"
    tr = recorded_trace(workload)
    m = tr.meta
    return TraceRun(tr, False, f"recorded on Linux {m.get('kernel')} "
                               f"({m.get('date', 'date unknown')}), "
                               f"{m.get('pages')} pages per phase; not live "
                               f"because {why}")
