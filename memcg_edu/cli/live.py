"""``python -m memcg_edu live``: the memory cgroup of this machine's kernel.

* ``live status``: what the machine offers, in plain words;
* ``live list``: the workloads, one per teaching topic, and the recorded
  timelines in data/real-kernel;
* ``live run WORKLOAD --out FILE.json [--swap] [--compare] [--force]``:
  run a workload in a scratch cgroup, print the counters per phase, save
  the timeline; ``--compare`` also runs it on the model and names the
  differences;
* ``live trace WORKLOAD --out FILE.json [--pages N] [--swap] [--force]``:
  the same with a private tracefs instance, every page's story and each
  step's kernel calls saved (memcg_edu.live.trace), compared page by page
  with the model.

Both check ``--out`` before any work, as every output is checked
(memcg_edu.safeio): never through a symlink, an existing file kept
without ``--force``.

Exit status: 0 done; 1 the workload failed on the machine; 2 a wrong
command line or a value the kernel refused; 3 this machine cannot do it
(no memory controller, no rights, no tracefs, no swap where it was
required); 130 after Ctrl-C, 143 after SIGTERM and 129 after SIGHUP (the
terminal closed), once cleaned up.
"""
from __future__ import annotations

import argparse
import math
import sys
from pathlib import Path
from typing import Any, Callable

from ..errors import ModelUsageError
from ..live import WORKLOADS, LiveError, describe, detect, get_workload
from ..live.catalog import RECORDED_DIR
from ..safeio import check_output
from ..timeline import Timeline
from . import add_force_argument

__all__ = ["add_parser", "main", "format_step"]

_EXIT = {"failed": 1, "refused": 2, "unsupported": 3}
#: --interval bounds: 0 or less would sample nothing (or spin); above the
#: reply timeout of a phase it would never sample
MIN_INTERVAL, MAX_INTERVAL = 0.0001, 120.0


def _interval(text: str) -> float:
    try:
        v = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a number of seconds: "
                                         f"{text!r}") from None
    if not math.isfinite(v) or not MIN_INTERVAL <= v <= MAX_INTERVAL:
        raise argparse.ArgumentTypeError(
            f"must be {MIN_INTERVAL} to {MAX_INTERVAL:.0f} seconds, got {text}")
    return v


def add_parser(subparsers: argparse._SubParsersAction) -> None:
    p = subparsers.add_parser(
        "live", help="run workloads in a scratch memory cgroup of this machine",
        description="Record the real kernel's memory cgroup counters for a "
                    "bulk workload and compare them with the model.")
    sub = p.add_subparsers(dest="live_command", metavar="ACTION")
    sub.required = True
    s = sub.add_parser("status", help="what this machine offers")
    s.set_defaults(func=_status)
    ls = sub.add_parser("list", help="the workloads and recorded timelines")
    ls.set_defaults(func=_list)
    r = sub.add_parser("run", help="run one workload and save its timeline")
    r.add_argument("workload", metavar="WORKLOAD",
                   help="one of: " + ", ".join(WORKLOADS))
    r.add_argument("--out", metavar="FILE.json", required=True,
                   help="where to save the timeline")
    r.add_argument("--pages", type=int, default=4096,
                   help="pages per bulk operation (default 4096 = 16 MiB)")
    r.add_argument("--swap", action="store_true",
                   help="add a temporary swap file if none is active (root)")
    r.add_argument("--interval", type=_interval, default=None,
                   metavar="SECONDS",
                   help=f"also sample on this timer while a phase runs "
                        f"({MIN_INTERVAL} to {MAX_INTERVAL:.0f} s)")
    add_force_argument(r)
    r.add_argument("--compare", action="store_true",
                   help="run the same workload on the model, side by side")
    r.set_defaults(func=_run)
    t = sub.add_parser("trace", help="trace one workload page by page",
                       description="Run a workload with a private tracefs "
                                   "instance and save every page's story "
                                   "and each step's kernel calls; then "
                                   "compare each page's life with the model.")
    t.add_argument("workload", metavar="WORKLOAD",
                   help="one of: " + ", ".join(WORKLOADS))
    t.add_argument("--out", metavar="FILE.json", required=True,
                   help="where to save the trace (gzip-compressed if the "
                        "name ends in .gz)")
    t.add_argument("--pages", type=int, default=1024,
                   help="pages per bulk operation (default 1024 = 4 MiB)")
    t.add_argument("--swap", action="store_true",
                   help="add a temporary swap file if none is active (root)")
    add_force_argument(t)
    t.set_defaults(func=_trace)


def main(args: argparse.Namespace) -> int:
    return int(args.func(args) or 0)


def _guard(fn):
    def wrapped(args: argparse.Namespace) -> int:
        try:
            return fn(args)
        except LiveError as e:
            print(f"error: {e}", file=sys.stderr)
            return _EXIT.get(e.kind, 1)
    return wrapped


@_guard
def _status(args: argparse.Namespace) -> int:
    print(describe(detect()))
    return 0


@_guard
def _list(args: argparse.Namespace) -> int:
    print("workloads (python -m memcg_edu live run NAME --out FILE.json):")
    for name in WORKLOADS:
        wl = get_workload(name, 4096)
        print(f"  {name:10s} topic {wl.topic:10s} {wl.title}")
        for ph in wl.phases:
            need = f" [needs {ph.needs}]" if ph.needs else ""
            print(f"      {ph.op:24s} {ph.text}{need}")
    files = sorted(RECORDED_DIR.glob("*.json")) if RECORDED_DIR.is_dir() else []
    if files:
        print(f"recorded timelines in {RECORDED_DIR}:")
        for f in files:
            meta = Timeline.load(f).meta
            print(f"  {f.name:24s} {meta.get('workload', '?'):10s} Linux "
                  f"{meta.get('kernel', '?')}, cgroup {meta.get('cgroup', '?')}"
                  f", {meta.get('date', '?')}")
    traces = (sorted(RECORDED_DIR.glob("trace-*.json.gz"))
              if RECORDED_DIR.is_dir() else [])
    if traces:
        from ..live.trace import load_trace
        print(f"recorded page-by-page traces (live trace) in {RECORDED_DIR}:")
        for f in traces:
            meta = load_trace(f).meta
            print(f"  {f.name:24s} {meta.get('workload', '?'):10s} Linux "
                  f"{meta.get('kernel', '?')}, {meta.get('pages', '?')} pages, "
                  f"{meta.get('date', '?')}")
    return 0


def _cell(v: Any) -> str:
    return "-" if v is None else str(v)


def format_step(step: dict[str, Any]) -> str:
    """One line per memcg of a kernel step record, for the terminal."""
    out = []
    for name, m in step["memcgs"].items():
        st, k = m.get("stat") or {}, m.get("kernel") or {}
        line = (f"{step['step']:>3} {step['op']:24s} {name:2s} "
                f"usage {_cell(m['usage']):>6} memsw {_cell(m['memsw_usage']):>6} "
                f"rss {_cell(st.get('rss')):>6} cache {_cell(st.get('cache')):>6} "
                f"swap {_cell(st.get('swap')):>6} kmem {_cell(k.get('kmem')):>4}")
        if not step.get("ok", True):
            line += f"  ({step.get('error')})"
        out.append(line)
    return "\n".join(out)


def _checked_out(args: argparse.Namespace) -> Path:
    """--out, checked before any work: a run is never lost to an
    unwritable, existing (without --force) or symlinked output path."""
    try:
        return check_output(args.out, args.force, "--out")
    except ModelUsageError as e:
        raise LiveError(str(e), "refused") from None


def _save(save: Callable[..., None], out: Path, force: bool) -> None:
    try:
        save(out, overwrite=force)
    except ModelUsageError as e:
        raise LiveError(str(e), "failed") from None


@_guard
def _run(args: argparse.Namespace) -> int:
    from ..live import record
    get_workload(args.workload, args.pages)  # bad name or size: before any work
    out = _checked_out(args)
    print(f"recording workload {args.workload!r} ({args.pages} pages per "
          f"operation); counters in pages")
    tl = record(args.workload, args.pages, swap=args.swap,
                interval=args.interval,
                on_step=lambda s: print(format_step(s), flush=True),
                on_wait=lambda: print("waiting: another live run is using "
                                      "the machine's swap", flush=True))
    _save(tl.save, out, args.force)
    for note in tl.meta.get("notes", []):
        print(f"note: {note}")
    print(f"saved {len(tl)} steps to {out} (Linux {tl.meta['kernel']}, "
          f"cgroup {tl.meta['cgroup']}, swap: {tl.meta['swap']})")
    if args.compare:
        from ..live.compare import compare, render
        print()
        print(render(compare(tl)))
    return 0


@_guard
def _trace(args: argparse.Namespace) -> int:
    from ..live.trace import print_waiting, require_root, trace
    from ..live.trace_compare import compare_trace, render_summary
    get_workload(args.workload, args.pages)  # bad name or size: before any work
    require_root()
    out = _checked_out(args)
    print(f"tracing workload {args.workload!r} ({args.pages} pages per "
          f"operation); counters in pages")
    tr = trace(args.workload, args.pages, swap=args.swap,
               on_step=lambda s: print(format_step(s), flush=True),
               on_wait=print_waiting)
    _save(tr.save, out, args.force)
    meta = tr.meta
    for note in meta.get("notes", []):
        print(f"note: {note}")
    if meta["events_missing"]:
        print(f"note: this kernel has no {', '.join(meta['events_missing'])}"
              f"; those steps of a page's life are not in the trace")
    lost = meta["lost"]
    print(f"traced {meta['events']} events in a {meta['buffer_kb']} KiB "
          f"per-CPU buffer; lost: {lost['total']}" +
          ("" if not lost["total"] else " (per CPU: " + ", ".join(
              f"cpu{c} {v['overrun'] + v['dropped']}"
              for c, v in lost["per_cpu"].items()) + "; stories may be "
              "incomplete)"))
    done = sum(1 for st in tr.pages if st["complete"])
    print(f"{len(tr.pages)} page stories, {done} complete (from the allocation "
          f"to the free, or to the end of the trace)")
    print(render_summary(compare_trace(tr)))
    print(f"saved {len(tr.timeline)} steps and {len(tr.pages)} page stories "
          f"to {out} (Linux {meta['kernel']}, swap: {meta['swap']})")
    return 0
