"""Run a workload in scratch cgroups and sample it into a Timeline.

The kernel side it reads is mm/memcontrol.c (v1 files; memcontrol-v1.c on
6.11+); the actions done from outside are limit writes (v1
mem_cgroup_resize_max, which reclaims, mm/vmscan.c), fadvise DONTNEED and
unlink (mm/truncate.c), /proc/sys/vm/compact_memory (mm/compaction.c) and
cgroup.procs writes (kernel/cgroup/cgroup-v1.c).

One step record per phase, plus step 0 ("start", the task in its cgroup
before any phase), in the shape of memcg_edu.timeline; each record also
carries "detail" (what was done, the phase in plain words) and, per memcg,
"kernel" (kmem, shmem, swapcached: figures the model has no counter for).
"""
from __future__ import annotations

import datetime as _dt
import json
import os
import selectors
import struct
import subprocess
import sys
import time
from contextlib import ExitStack
from pathlib import Path
from typing import Any, Callable

from ..timeline import PAGE_SIZE, Timeline
from . import swapfile
from .catalog import CHILD_ACTIONS, Phase, Workload, get_workload
from .detect import Capabilities, detect
from .errors import LiveError
from .runstate import swap_lock
from .scratch import Scratch, cleanup_stale, signals_deferred, sigterm_as_exit

__all__ = ["record", "Recorder"]

_REPLY_TIMEOUT = 120.0


def _vmstat(caps: Capabilities, key: str) -> int | None:
    try:
        for line in (caps.proc / "vmstat").read_text().splitlines():
            k, _, v = line.partition(" ")
            if k == key:
                return int(v)
    except OSError:
        pass
    return None


def _frames(pid: int, addr: int, pages: int) -> list[int]:
    """Page frame numbers behind a mapping of process ``pid`` (-1: none).

    Reads /proc/PID/pagemap (fs/proc/task_mmu.c): one 64-bit entry per
    page, bit 63 "present", bits 0-54 the PFN (zero unless we are root).
    """
    with open(f"/proc/{pid}/pagemap", "rb") as f:
        f.seek(addr // PAGE_SIZE * 8)
        raw = f.read(pages * 8)
    out = []
    for (v,) in struct.iter_unpack("<Q", raw):
        out.append(v & ((1 << 55) - 1) if v >> 63 else -1)
    return out


def _prepare_file(path: Path, pages: int) -> None:
    """Write a file from outside the cgroup, then drop it from the cache.

    Created here and only here (O_EXCL: refused if anything exists at that
    name; O_NOFOLLOW: never through a symlink)."""
    block = b"\xa5" * (64 * PAGE_SIZE)
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL |
                     os.O_NOFOLLOW, 0o600)
    except OSError as e:
        raise LiveError(f"cannot create work file {path}: {e.strerror}",
                        "failed") from None
    with os.fdopen(fd, "wb") as f:
        left = pages
        while left > 0:
            n = min(left, 64)
            f.write(block[:n * PAGE_SIZE])
            left -= n
    _drop_cache(path)


def _drop_cache(path: Path) -> None:
    fd = os.open(path, os.O_RDONLY | os.O_NOFOLLOW)
    try:
        os.fsync(fd)  # DONTNEED skips dirty pages
        os.posix_fadvise(fd, 0, 0, os.POSIX_FADV_DONTNEED)
    finally:
        os.close(fd)


class Recorder:
    """Runs one workload; use ``run()`` inside the Scratch it was given."""

    def __init__(self, caps: Capabilities, wl: Workload, scratch: Scratch,
                 swap_reason: str | None, interval: float | None,
                 on_step: Callable[[dict[str, Any]], None] | None) -> None:
        self.caps, self.wl, self.scratch = caps, wl, scratch
        self.swap_reason, self.interval, self.on_step = swap_reason, interval, on_step
        self.timeline = Timeline(meta={})
        self.child: subprocess.Popen | None = None
        self.exited = False          # the exit phase ended the task
        self.notes: list[str] = []
        self.mappings: dict[str, tuple[int, int]] = {}  # label -> (addr, pages)
        self._samples: list[dict[str, Any]] = []   # timer samples of a phase
        self._t0 = time.monotonic()

    # -- sampling -------------------------------------------------------------
    def sample(self) -> dict[str, Any]:
        out = {}
        for name in self.wl.memcgs:
            cg = self.scratch.memcg(name)
            rec = cg.read_counters()
            rec["kernel"] = cg.read_extra()
            out[name] = rec
        return out

    def _append(self, op: str, detail: dict[str, Any], ok: bool = True,
                error: str | None = None,
                samples: list[dict[str, Any]] | None = None) -> None:
        rec: dict[str, Any] = {"op": op, "ok": ok, "error": error, "events": [],
                               "memcgs": self.sample(), "detail": detail,
                               "t": round(time.monotonic() - self._t0, 3)}
        if samples:
            rec["samples"] = samples
        self.timeline.append(rec)
        if self.on_step is not None:
            self.on_step(self.timeline.steps[-1])

    # -- the child ------------------------------------------------------------
    def _start_child(self) -> None:
        # started and handed to the scratch (which kills it at cleanup) as
        # one step: no signal comes in between
        with signals_deferred():
            self.child = subprocess.Popen(
                [sys.executable, "-m", "memcg_edu.live.workload"],
                stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                stderr=subprocess.PIPE, text=True, bufsize=1)
            self.scratch.children.append(self.child)
        ready = self._reply("start")
        self.scratch.memcg(self.wl.memcgs[0]).add_pid(ready["ready"])

    def _reply(self, what: str) -> dict[str, Any]:
        """Wait for the child's next line, sampling on the timer meanwhile."""
        assert self.child is not None and self.child.stdout is not None
        sel = selectors.DefaultSelector()
        sel.register(self.child.stdout, selectors.EVENT_READ)
        self._samples = []
        deadline = time.monotonic() + _REPLY_TIMEOUT
        try:
            while not sel.select(self.interval or 1.0):
                if self.interval:
                    self._samples.append({
                        "t": round(time.monotonic() - self._t0, 3),
                        "memcgs": self.sample()})
                if time.monotonic() > deadline:
                    raise LiveError(f"the workload gave no answer to {what} "
                                    f"within {_REPLY_TIMEOUT:.0f} s", "failed")
        finally:
            sel.close()
        line = self.child.stdout.readline()
        if not line:
            raise self._died(what)
        return json.loads(line)

    def _died(self, what: str) -> LiveError:
        """The error for a workload process that ended without being told."""
        assert self.child is not None
        rc = self.child.wait()
        err = (self.child.stderr.read() if self.child.stderr else "").strip()
        how = (f"killed by signal {-rc}" if rc < 0 else f"exit code {rc}")
        hint = (" (SIGKILL: the OOM killer, if the limit left no room)"
                if rc == -9 else "")
        return LiveError(f"the workload process died during {what}: "
                         f"{how}{hint}" + (f"; {err.splitlines()[-1]}"
                                           if err else ""), "failed")

    def _send(self, cmd: dict[str, Any]) -> None:
        assert self.child is not None and self.child.stdin is not None
        try:
            self.child.stdin.write(json.dumps(cmd) + "\n")
            self.child.stdin.flush()
        except BrokenPipeError:     # it died between two phases
            raise self._died(f"the {cmd['action']} command") from None

    # -- phases ---------------------------------------------------------------
    def _path(self, phase: Phase) -> Path:
        if phase.action == "write_tmpfs" or (
                phase.action == "delete" and phase.needs == "tmpfs"):
            assert self.scratch.tmpfs is not None
            return self.scratch.tmpfs / phase.target
        assert self.scratch.work is not None
        return self.scratch.work / phase.target

    def _skip_reason(self, phase: Phase) -> str | None:
        if phase.needs == "swap":
            return self.swap_reason
        if phase.needs == "tmpfs" and self.scratch.tmpfs is None:
            return self.scratch.tmpfs_reason
        if phase.needs == "compact" and not self.caps.compact:
            return "cannot write /proc/sys/vm/compact_memory (needs root)"
        if phase.action in CHILD_ACTIONS and (self.child is None or
                                              self.exited):
            return "the task has already exited"
        return None

    def _run_phase(self, i: int, phase: Phase) -> tuple[dict[str, Any], list]:
        """Do one phase; returns (extra detail, timer samples)."""
        extra: dict[str, Any] = {}
        self._samples = []
        if phase.action in CHILD_ACTIONS and self.child is not None \
                and self.child.poll() is not None:
            # it ended without an exit phase (killed): the run cannot go on
            raise self._died(f"phase {i} ({phase.op}: {phase.text})")
        if phase.action == "exit":
            self._send({"action": "exit"})
            assert self.child is not None
            self.child.wait(timeout=_REPLY_TIMEOUT)
            self.exited = True
        elif phase.action in CHILD_ACTIONS:
            cmd = {"action": phase.action, "target": phase.target,
                   "pages": phase.pages}
            if phase.action in ("read_file", "write_file", "write_tmpfs"):
                cmd["path"] = str(self._path(phase))
            self._send(cmd)
            reply = self._reply(f"phase {i} ({phase.op}: {phase.text})")
            if not reply.get("done"):
                raise LiveError(f"phase {i} ({phase.op}) failed in the "
                                f"workload: {reply.get('error')}", "failed")
            if "addr" in reply.get("detail", {}):
                self.mappings[phase.target] = (reply["detail"]["addr"],
                                               phase.pages)
            elif phase.action == "unmap":
                self.mappings.pop(phase.target, None)
        elif phase.action == "drop_cache":
            _drop_cache(self._path(phase))
        elif phase.action == "delete":
            self._path(phase).unlink()
        elif phase.action == "set_limit":
            self.scratch.memcg(phase.memcg).set_limits(phase.limit,
                                                       phase.memsw_limit)
        elif phase.action == "compact":
            before = _vmstat(self.caps, "pgmigrate_success")
            frames = self._all_frames()
            (self.caps.proc / "sys/vm/compact_memory").write_text("1\n")
            after = _vmstat(self.caps, "pgmigrate_success")
            if before is not None and after is not None:
                extra["pgmigrate_success"] = after - before
            if frames and any(f > 0 for f in frames):
                now = self._all_frames()
                extra["mapped_pages"] = len(frames)
                extra["migrated"] = sum(1 for a, b in zip(frames, now)
                                        if a != b and a > 0 and b > 0)
        elif phase.action == "move":
            assert self.child is not None
            self.scratch.memcg(phase.memcg).add_pid(self.child.pid)
        return extra, self._samples

    def _all_frames(self) -> list[int]:
        """Frames of every mapping the task holds, in label order."""
        assert self.child is not None
        out: list[int] = []
        try:
            for label in sorted(self.mappings):
                out += _frames(self.child.pid, *self.mappings[label])
        except OSError:
            return []
        return out

    def run(self) -> Timeline:
        wl = self.wl
        assert self.scratch.work is not None
        for label, pages in wl.files.items():
            _prepare_file(self.scratch.work / label, pages)
        if wl.move_charge:
            for name in wl.memcgs[1:]:
                why = self.scratch.memcg(name).set_move_charge(3)
                self.notes.append(why or f"memory.move_charge_at_immigrate=3 "
                                         f"accepted on {name}")
        self._start_child()
        assert self.child is not None
        self._append("start", {"text": f"task in {wl.memcgs[0]}, no phase "
                                       f"run yet", "action": "start",
                               "pid": self.child.pid})
        for i, phase in enumerate(wl.phases, start=1):
            detail = {"action": phase.action, "target": phase.target,
                      "pages": phase.pages, "text": phase.text}
            if phase.action in ("set_limit", "move"):
                detail.update(memcg=phase.memcg, limit=phase.limit,
                              memsw_limit=phase.memsw_limit)
            why = self._skip_reason(phase)
            if why is not None:
                self._append(phase.op, {**detail, "skipped": why}, ok=False,
                             error=f"skipped: {why}")
                continue
            try:
                extra, samples = self._run_phase(i, phase)
            except LiveError as e:
                if e.kind != "refused":
                    raise
                self._append(phase.op, detail, ok=False, error=str(e))
                continue
            self._append(phase.op, {**detail, **extra}, samples=samples)
        return self.timeline


def record(workload: str, pages: int = 4096, *, swap: bool = False,
           interval: float | None = None, caps: Capabilities | None = None,
           on_step: Callable[[dict[str, Any]], None] | None = None,
           recorder: Callable[..., Recorder] = Recorder,
           on_wait: Callable[[], None] | None = None) -> Timeline:
    """Run ``workload`` on this machine's kernel and return its timeline.

    ``swap`` adds a temporary swap file (root only) when the machine has no
    swap active; ``interval`` (seconds) also samples while a phase runs,
    into each step's "samples"; ``recorder`` builds the Recorder (the
    tracer passes one that also traces); ``on_wait`` is called once if
    another run holds the swap lock and this one waits. Everything created
    is removed on return, on error, on Ctrl-C and on SIGTERM.
    """
    if interval is not None and (isinstance(interval, bool) or
                                 not isinstance(interval, (int, float)) or
                                 not 0 < interval <= _REPLY_TIMEOUT):
        # nan fails every comparison, so it is refused here too
        raise LiveError(f"interval must be a number of seconds above 0 and "
                        f"at most {_REPLY_TIMEOUT:.0f}, got {interval!r}",
                        "refused")
    caps = caps or detect()
    wl = get_workload(workload, pages)
    caps.require_scratch()
    swap_desc = "none"
    swap_reason: str | None = None
    needs_swap = any(p.needs == "swap" for p in wl.phases)
    with ExitStack() as stack:
        stack.enter_context(sigterm_as_exit())
        # swap another run of ours added is not the system's: never count it
        system_swap = swapfile.system_swap_pages(caps.proc)
        add_swap = swap and needs_swap and not system_swap
        # runs share the machine's swap: one that adds a file runs alone
        stack.enter_context(swap_lock(exclusive=add_swap, on_wait=on_wait))
        removed = cleanup_stale(caps)
        if system_swap:
            swap_desc = f"system swap, {system_swap} pages"
        elif add_swap:
            tmp = stack.enter_context(swapfile.TempSwap(2 * pages + 256))
            swap_desc = f"temporary swap file of {tmp.pages} pages"
        else:
            swap_reason = ("no swap is active: run with --swap (root) to add a "
                           "temporary swap file")
        scratch = stack.enter_context(Scratch(caps, wl.memcgs, wl.tmpfs_pages))
        rec = recorder(caps, wl, scratch, swap_reason, interval, on_step)
        tl = rec.run()
    tl.meta = {"source": "kernel", "kernel": caps.kernel, "cgroup": caps.cgroup,
               "date": _dt.datetime.now(_dt.timezone.utc).isoformat(
                   timespec="seconds"),
               "workload": wl.name, "topic": wl.topic, "title": wl.title,
               "pages": pages, "page_size": PAGE_SIZE, "cpus": os.cpu_count(),
               "swap": swap_desc, "swap_account": caps.memsw,
               "notes": rec.notes + [f"removed stale {r}" for r in removed]}
    return tl
