"""The same bulk workload on the model and on the kernel, side by side.

The model (memcg_edu.model.Machine, Linux 3.17 design, without the per-CPU
charge stock) runs the phases of a recorded kernel workload as a scenario
(workload_scenario) whose steps are its mm callers (fault_anon,
fault_shmem, add_to_page_cache, unmap, truncate, swap_out, swap_in,
migrate, move_task, exit), one range step where a phase repeats one of
them page after page; the two
timelines are then compared counter by counter, within the tolerances
below, and every difference a modern kernel is known to add is named at the
step where it shows, with its size in pages:

* kernel memory (page tables, slab) charged to usage (memory.kmem.*);
* the per-CPU charge stock: usage runs up to 64 pages per CPU ahead
  (MEMCG_CHARGE_BATCH; 32 in 3.17, which the model leaves out);
* swap slots kept in the swap cache after a read-fault swap-in;
* shared anonymous memory counted as cache and, separately, as shmem;
* no charge moving with a task (move_charge_at_immigrate refused);
* pgpgin / pgpgout counted per folio (large page-cache folios);
* reclaim stopping below a lowered limit (batches of SWAP_CLUSTER_MAX).
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np

from ..timeline import Timeline
from .catalog import Phase, Workload, get_workload
from .errors import LiveError

__all__ = ["counter_tolerance", "stat_tolerance", "Difference", "Comparison",
           "model_timeline", "workload_scenario", "compare", "render", "SHOWN"]

#: MEMCG_CHARGE_BATCH of modern kernels (include/linux/memcontrol.h)
CHARGE_BATCH = 64
#: counters shown side by side by render()
SHOWN = ("usage", "memsw_usage", "rss", "cache", "swap")
_RES = ("usage", "memsw_usage", "max_usage", "memsw_max_usage")
_STATS_COMPARED = ("rss", "cache", "swap")
#: which named differences may account for a counter outside the tolerance
EXPLAINS = {"usage": ("no charge moving", "swap cache"),
            "memsw_usage": ("no charge moving",),
            "rss": ("no charge moving", "swap cache"),
            "cache": (), "swap": ("swap cache",)}


def counter_tolerance(pages: int, cpus: int, kmem: int) -> int:
    """Allowed |kernel - model| for usage / memsw_usage, in pages.

    The charge stock (64 pages per CPU), the kernel memory the kernel itself
    reports (memory.kmem.usage_in_bytes) and 1/32 of the workload for the
    rest (the workload process's own heap, reclaim batches).
    """
    return CHARGE_BATCH * cpus + kmem + pages // 32


def stat_tolerance(pages: int, cpus: int) -> int:
    """Allowed |kernel - model| for rss / cache / swap / LRU sizes, in pages.

    memory.stat is flushed lazily on modern kernels (up to 64 pending
    updates per CPU before a read flushes), plus 1/32 of the workload.
    """
    return CHARGE_BATCH * cpus + pages // 32


@dataclass(frozen=True)
class Difference:
    """A named way the kernel differs from the model at one step."""

    step: int
    op: str
    memcg: str
    name: str
    pages: int
    text: str
    new: bool = True


@dataclass
class Comparison:
    """Both timelines, per-counter rows and the named differences."""

    kernel: Timeline
    model: Timeline
    rows: list[dict[str, Any]] = field(default_factory=list)
    differences: list[Difference] = field(default_factory=list)

    @property
    def outside(self) -> list[dict[str, Any]]:
        """Rows where the kernel is outside the stated tolerance."""
        return [r for r in self.rows if not r["within"]]

    @property
    def unexplained(self) -> list[dict[str, Any]]:
        """Rows outside the tolerance that no named difference accounts for."""
        return [r for r in self.outside if not r["explained_by"]]


# -- the model side -----------------------------------------------------------
def _model_classes():
    """(Machine, SwapEntry), or LiveError if the model cannot be imported."""
    try:
        from ..model import Machine
        from ..model import SwapEntry
    except ImportError as e:
        raise LiveError(f"the model is not available, so there is nothing to "
                        f"compare with: memcg_edu.model.Machine cannot be "
                        f"imported ({e})", "unsupported") from None
    return Machine, SwapEntry


class _ModelRun:
    """Runs a workload's phases on a Machine with loops of its mm callers,
    keeping each phase's pages (the page stories of live/trace_compare.py
    follow them; model_timeline runs workload_scenario instead, with the
    same counters)."""

    def __init__(self, wl: Workload, skipped: set[int]) -> None:
        Machine, self._entry_type = _model_classes()
        n_total = sum(p.pages for p in wl.phases) + sum(wl.files.values())
        self.m = Machine(ram_pages=n_total + 256, swap_slots=n_total + 256,
                         swap_account=True, charge_stock=False, design="3.17",
                         record_events=False)
        self.wl, self.skipped = wl, skipped
        self.memcgs = {name: self.m.create_memcg(name) for name in wl.memcgs}
        self.task = self.m.create_task("task", self.memcgs[wl.memcgs[0]])
        self.regions: dict[str, list] = {}   # mapping label -> pages / entries
        self.files: dict[str, list] = {}     # file label -> cached pages
        self.shared: set[str] = set()        # labels of shared mappings
        self.tl = Timeline(meta={"source": "model", "design": "3.17",
                                 "workload": wl.name, "pages": wl.phases[0].pages
                                 if wl.phases else 0})

    def _sample(self, op: str, detail: dict[str, Any]) -> None:
        counters = self.m.counters()
        self.tl.append({"op": op, "ok": True, "error": None, "events": [],
                        "memcgs": {n: counters[n] for n in self.wl.memcgs},
                        "detail": detail})

    def run(self) -> Timeline:
        self._sample("start", {"action": "start"})
        for i, ph in enumerate(self.wl.phases, start=1):
            if i in self.skipped:
                self._sample(ph.op, {"action": ph.action,
                                     "skipped": "skipped on the kernel"})
                continue
            self._phase(ph)
            self._sample(ph.op, {"action": ph.action, "target": ph.target,
                                 "pages": ph.pages})
        return self.tl

    def _phase(self, ph: Phase) -> None:
        m, t = self.m, self.task
        if ph.action == "touch_anon":
            self.regions[ph.target] = [m.page(int(pfn)) for pfn in
                                       m.fault_anon_range(t, ph.pages)]
        elif ph.action == "touch_shared":
            self.regions[ph.target] = [m.fault_shmem(t, file=ph.target)
                                       for _ in range(ph.pages)]
            self.shared.add(ph.target)
        elif ph.action in ("read_file", "write_file"):
            self.files[ph.target] = [m.add_to_page_cache(t, file=ph.target,
                                                         mapped=False)
                                     for _ in range(ph.pages)]
        elif ph.action == "write_tmpfs":
            # a tmpfs write is a shmem page the task does not keep mapped
            pages = [m.fault_shmem(t, file=ph.target) for _ in range(ph.pages)]
            for p in pages:
                m.unmap(t, p)
            self.files[ph.target] = pages
        elif ph.action == "unmap":
            pages = self.regions.pop(ph.target)
            if any(self._is_entry(p) for p in pages):
                for p in pages:
                    m.unmap(t, p)
            else:  # one zap of the whole range, as munmap does
                m.unmap_range(t, np.array([p.pfn for p in pages], np.int64))
            if ph.target in self.shared:
                # the last mapping of a shared anonymous region goes: its
                # shmem object is freed (shmem_evict_inode truncates it)
                for p in pages:
                    m.truncate(p)
        elif ph.action == "retouch":
            self.regions[ph.target] = [
                m.swap_in(t, p) if self._is_entry(p) else p
                for p in self.regions[ph.target]]
        elif ph.action == "exit":
            m.exit_task(t)
            self.regions.clear()
        elif ph.action in ("drop_cache", "delete"):
            # a file the task never read has no page in the cache
            for p in self.files.pop(ph.target, []):
                m.truncate(p)
        elif ph.action == "set_limit":
            self._set_limit(ph)
        elif ph.action == "compact":
            for pages in [*self.regions.values(), *self.files.values()]:
                pages[:] = [p if self._is_entry(p) else m.migrate(p)
                            for p in pages]
        elif ph.action == "move":
            m.move_task(t, self.memcgs[ph.memcg], move_charge=self.wl.move_charge)

    def _set_limit(self, ph: Phase) -> None:
        """Lower a limit as mem_cgroup_resize_limit does: reclaim (here:
        swap out anonymous pages, oldest first) until usage fits."""
        m, cg = self.m, self.memcgs[ph.memcg]
        if ph.limit is not None:
            excess = cg.usage - ph.limit
            for pages in self.regions.values():
                for i, p in enumerate(pages):
                    if excess <= 0:
                        break
                    if not self._is_entry(p):
                        pages[i] = m.swap_out(p)
                        excess -= 1
        m.set_limit(cg, limit=ph.limit, memsw_limit=ph.memsw_limit)

    def _is_entry(self, p: Any) -> bool:
        return isinstance(p, self._entry_type)


class _Steps:
    """The scenario steps of a workload's phases on the model: a phase that
    repeats one operation N times is one range step (``"count": N``, labels
    "x{i}"), as docs/scenario-format.md describes; its result is that of the
    N steps written out. ``ends[k]`` is the index of sample k's last step
    (sample 0 is the start; None: nothing ran, the counters stay)."""

    def __init__(self, wl: Workload, skipped: set[int]) -> None:
        n_total = sum(p.pages for p in wl.phases) + sum(wl.files.values())
        self.wl = wl
        self.head = {"format": "memcg-edu-scenario/1", "title": f"workload {wl.name}",
                     "machine": {"ram_pages": n_total + 256, "swap_slots": n_total + 256,
                                 "swap_account": True, "charge_stock": False},
                     "memcgs": {name: {} for name in wl.memcgs},
                     "tasks": {"task": wl.memcgs[0]}}
        # the counters at the start, read by a check that changes nothing
        self.steps: list[dict[str, Any]] = [{"op": "expect", "memcg": wl.memcgs[0],
                                             "usage": 0}]
        self.ends: list[int | None] = [0]
        self.regions: dict[str, tuple[int, set[int]]] = {}   # label -> (pages, swapped)
        self.files: dict[str, int] = {}                       # file label -> cached pages
        self.shared: set[str] = set()
        for k, ph in enumerate(wl.phases, start=1):
            before = len(self.steps)
            if k not in skipped:
                self._phase(ph)
            self.ends.append(len(self.steps) - 1 if len(self.steps) > before else None)

    def scenario(self) -> dict[str, Any]:
        return {**self.head, "steps": list(self.steps)}

    def _range(self, op: str, label: str, n: int, **fields: Any) -> None:
        """op on label{i} for i < n: one range step (a plain one for n = 1)."""
        if n == 1:
            self.steps.append({"op": op, "page": f"{label}0", **fields})
        elif n > 1:
            self.steps.append({"op": op, "page": label + "{i}", "count": n, **fields})

    def _each(self, op: str, label: str, which: list[int], **fields: Any) -> None:
        """op on label{j} for each j of ``which`` (0, 1, ..., k-1: one range step)."""
        if which == list(range(len(which))):
            self._range(op, label, len(which), **fields)
        else:
            self.steps += [{"op": op, "page": f"{label}{j}", **fields} for j in which]

    def _phase(self, ph: Phase) -> None:
        t, n = "task", ph.pages
        if ph.action == "touch_anon":
            self._range("fault_anon", ph.target, n, task=t)
            self.regions[ph.target] = (n, set())
        elif ph.action == "touch_shared":
            self._range("fault_shmem", ph.target, n, task=t, file=ph.target)
            self.regions[ph.target] = (n, set())
            self.shared.add(ph.target)
        elif ph.action in ("read_file", "write_file"):
            self._range("add_to_page_cache", ph.target, n, task=t, file=ph.target,
                        mapped=False)
            self.files[ph.target] = n
        elif ph.action == "write_tmpfs":
            # a tmpfs write is a shmem page the task does not keep mapped
            self._range("fault_shmem", ph.target, n, task=t, file=ph.target)
            self._range("unmap", ph.target, n, task=t)
            self.files[ph.target] = n
        elif ph.action == "unmap":
            size, _ = self.regions.pop(ph.target)
            self._range("unmap", ph.target, size, task=t)   # one zap, as munmap does
            if ph.target in self.shared:
                # the last mapping of a shared anonymous region goes: its
                # shmem object is freed (shmem_evict_inode truncates it)
                self._range("truncate", ph.target, size)
        elif ph.action == "retouch":
            _, swapped = self.regions[ph.target]
            self._each("swap_in", ph.target, sorted(swapped), task=t)
            swapped.clear()
        elif ph.action == "exit":
            self.steps.append({"op": "exit", "task": t})
            self.regions.clear()
        elif ph.action in ("drop_cache", "delete"):
            # a file the task never read has no page in the cache
            self._range("truncate", ph.target, self.files.pop(ph.target, 0))
        elif ph.action == "set_limit":
            self._set_limit(ph)
        elif ph.action == "compact":
            for label, (size, swapped) in self.regions.items():
                self._each("migrate", label, [j for j in range(size) if j not in swapped])
            for label, size in self.files.items():
                self._range("migrate", label, size)
        elif ph.action == "move":
            self.steps.append({"op": "move_task", "task": t, "to": ph.memcg,
                               "move_charge": self.wl.move_charge})

    def _set_limit(self, ph: Phase) -> None:
        """Lower a limit as mem_cgroup_resize_limit does: reclaim (here:
        swap out anonymous pages, oldest first) until usage fits. The usage
        to reclaim from is read off a run of the steps so far."""
        from ..scenario import run_scenario

        if ph.limit is not None:
            tl = run_scenario(self.scenario(), pages=False, calls=False, detail=False)
            excess = tl[-1]["memcgs"][ph.memcg]["usage"] - ph.limit
            for label, (size, swapped) in self.regions.items():
                which = [j for j in range(size) if j not in swapped][:max(excess, 0)]
                self._each("swap_out", label, which)
                swapped.update(which)
                excess -= len(which)
        self.steps.append({"op": "set_limit", "memcg": ph.memcg, "limit_pages": ph.limit,
                           "memsw_limit_pages": ph.memsw_limit})


def workload_scenario(wl: Workload, skipped: set[int] | None = None
                      ) -> tuple[dict[str, Any], list[int | None]]:
    """The model's scenario for a workload (phases in ``skipped`` left out),
    with range steps where a phase repeats an operation, and for each
    sample (the start, then each phase) the index of the step it follows
    (None: nothing ran for it)."""
    steps = _Steps(wl, skipped or set())
    return steps.scenario(), steps.ends


def model_timeline(workload: str | Workload, pages: int = 4096,
                   skipped: set[int] | None = None) -> Timeline:
    """The model's timeline for a workload (phases skipped in ``skipped``):
    its scenario (workload_scenario) run on the 3.17 design, one record
    for the start and one after each phase."""
    from ..scenario import iter_scenario

    wl = workload if isinstance(workload, Workload) else get_workload(workload, pages)
    skipped = skipped or set()
    sc, ends = workload_scenario(wl, skipped)
    at = {i: k for k, i in enumerate(ends) if i is not None}
    counters: dict[int, dict[str, Any]] = {}
    for rec, _ in iter_scenario(sc, "3.17", pages=False, calls=False):
        if rec["step"] in at:
            counters[at[rec["step"]]] = {n: rec["memcgs"][n] for n in wl.memcgs}
    tl = Timeline(meta={"source": "model", "design": "3.17", "workload": wl.name,
                        "pages": wl.phases[0].pages if wl.phases else 0})
    now: dict[str, Any] = {}
    for k in range(len(ends)):
        now = counters.get(k, now)
        detail: dict[str, Any]
        if k == 0:
            op, detail = "start", {"action": "start"}
        else:
            ph = wl.phases[k - 1]
            op = ph.op
            detail = ({"action": ph.action, "skipped": "skipped on the kernel"}
                      if k in skipped else
                      {"action": ph.action, "target": ph.target, "pages": ph.pages})
        tl.append({"op": op, "ok": True, "error": None, "events": [],
                   "memcgs": now, "detail": detail})
    return tl


# -- the comparison -------------------------------------------------------------
def _value(rec: dict[str, Any], name: str) -> int | None:
    return rec["stat"].get(name) if name in _STATS_COMPARED else rec.get(name)


def compare(kernel: Timeline) -> Comparison:
    """Run the kernel timeline's workload on the model and compare them."""
    meta = kernel.meta
    if meta.get("source") != "kernel" or "workload" not in meta:
        raise LiveError("compare() takes a kernel timeline recorded by "
                        "memcg_edu.live (meta source 'kernel' with a "
                        "workload)", "refused")
    pages, cpus = int(meta["pages"]), int(meta.get("cpus") or 1)
    wl = get_workload(meta["workload"], pages)
    skipped = {s["step"] for s in kernel if not s.get("ok", True)}
    model = model_timeline(wl, skipped=skipped)
    cmp = Comparison(kernel, model)
    for ks, ms in zip(kernel.steps, model.steps):
        for name in wl.memcgs:
            k, m = ks["memcgs"][name], ms["memcgs"][name]
            kmem = (k.get("kernel") or {}).get("kmem") or 0
            for c in _RES[:2] + _STATS_COMPARED:
                kv, mv = _value(k, c), _value(m, c)
                if kv is None or mv is None:
                    continue
                tol = (counter_tolerance(pages, cpus, kmem) if c in _RES
                       else stat_tolerance(pages, cpus))
                cmp.rows.append({"step": ks["step"], "op": ks["op"],
                                 "memcg": name, "counter": c, "model": mv,
                                 "kernel": kv, "diff": kv - mv,
                                 "tolerance": tol, "within": abs(kv - mv) <= tol})
    cmp.differences = _name_differences(kernel, model, wl, cpus)
    for r in cmp.rows:
        r["explained_by"] = None
        if r["within"]:
            continue
        gap = abs(r["diff"]) - r["tolerance"]
        for d in cmp.differences:
            if (d.step, d.memcg) == (r["step"], r["memcg"]) and \
                    d.name in EXPLAINS.get(r["counter"], ()) and d.pages >= gap:
                r["explained_by"] = d.name
                break
    return cmp


def _pages(n: int) -> str:
    """'1 page', '5 pages' (difference texts are read by learners)."""
    return f"{n} page{'' if n == 1 else 's'}"


def _name_differences(kernel: Timeline, model: Timeline, wl: Workload,
                      cpus: int) -> list[Difference]:
    """Every named difference at every step where it holds.

    ``Difference.new`` is False when the same difference with the same size
    was already named at the previous step (render() shows only new ones).
    """
    out: list[Difference] = []
    pages = int(kernel.meta["pages"])
    last: dict[tuple[str, str], int] = {}
    prev: dict[str, tuple[dict, dict]] = {}
    for ks, ms in zip(kernel.steps, model.steps):
        step, op = ks["step"], ks["op"]
        moved = wl.move_charge and "move_task" in kernel.ops[:step + 1]
        for name in wl.memcgs:
            k, m = ks["memcgs"][name], ms["memcgs"][name]
            pk, pm = prev.get(name, (None, None))
            ex = k.get("kernel") or {}

            def add(what: str, size: int, text: str) -> None:
                new = last.get((name, what)) != size
                last[(name, what)] = size
                out.append(Difference(step, op, name, what, size, text, new))

            kmem = ex.get("kmem") or 0
            d = k["usage"] - m["usage"]
            if moved and abs(d) > counter_tolerance(pages, cpus, kmem):
                add("no charge moving", abs(d),
                    f"{name} holds {d:+d} pages against the model: 3.17 with "
                    f"move_charge_at_immigrate=3 moved the task's charges "
                    f"with it; this kernel refused charge moving, so old "
                    f"charges stay where they were made")
            elif d:
                if kmem:
                    add("kernel memory", kmem,
                        f"{_pages(kmem)} of kernel memory (page tables, slab) "
                        f"are charged to usage; the model charges user pages "
                        f"only")
                rest = d - kmem
                if 0 < rest <= CHARGE_BATCH * cpus:
                    add("charge batching", rest,
                        f"usage runs {_pages(rest)} ahead: the per-CPU charge "
                        f"stock precharges {CHARGE_BATCH} pages per CPU "
                        f"(3.17: 32; the model leaves the stock out)")
                elif rest < 0 and "swap_out" in kernel.ops[:step + 1]:
                    add("reclaim batch", -rest,
                        f"reclaim stopped {_pages(-rest)} below the limit (it "
                        f"frees in batches of SWAP_CLUSTER_MAX = 32 pages)")
                elif rest:
                    add("other", abs(rest),
                        f"{rest:+d} pages of usage beyond kernel memory and "
                        f"the charge stock (the workload's own heap)")
            sc = ex.get("swapcached") or 0
            if sc and "swap_in" in kernel.ops[:step + 1]:
                add("swap cache", sc,
                    f"{_pages(sc)} {'keeps its' if sc == 1 else 'keep their'} "
                    f"swap slot in the swap cache after swap-in (a read "
                    f"fault leaves the slot allocated while swap is less "
                    f"than half full)")
            elif sc:
                add("swap cache", sc,
                    f"{_pages(sc)} {'is' if sc == 1 else 'are'} written out "
                    f"but still in the swap cache: unmapped, so not in rss, "
                    f"yet charged to usage until reclaim frees them; the "
                    f"model completes each swap-out at once")
            sh = ex.get("shmem") or 0
            if sh:
                add("shmem", sh,
                    f"shared anonymous / tmpfs pages count as cache on both; "
                    f"the kernel also reports them as shmem ({_pages(sh)}), a "
                    f"statistic 3.17 did not have")
            if op in ("add_to_page_cache", "remove_from_page_cache") and pk and pm:
                for ev in ("pgpgin", "pgpgout"):
                    kd = (k["stat"].get(ev) or 0) - (pk["stat"].get(ev) or 0)
                    md = (m["stat"].get(ev) or 0) - (pm["stat"].get(ev) or 0)
                    if md > 0 and kd < md * 0.9:
                        add("folio events", md - kd,
                            f"{ev}: {kd} events on the kernel for the model's "
                            f"{md}: page-cache pages come in large folios and "
                            f"the kernel counts one event per folio")
            det = ks.get("detail") or {}
            if op == "migrate" and name == wl.memcgs[0] and \
                    det.get("pgmigrate_success") is not None:
                n = det.get("migrated")
                ours = (f"; {n} of the workload's {det['mapped_pages']} mapped "
                        f"pages changed frame" if n is not None else "")
                add("migration", n or 0,
                    f"compaction migrated {det['pgmigrate_success']} pages "
                    f"machine-wide{ours}; the model migrated every page of "
                    f"the workload; on both the charge moved with each page "
                    f"and the counters stayed")
            prev[name] = (k, m)
    return out


def render(cmp: Comparison, counters: tuple[str, ...] = SHOWN) -> str:
    """Model and kernel side by side, differences named under their step."""
    meta = cmp.kernel.meta
    lines = [f"workload {meta.get('workload')} ({meta.get('pages')} pages per "
             f"operation): model (Linux 3.17 design) vs kernel (Linux "
             f"{meta.get('kernel')}, cgroup {meta.get('cgroup')}); pages",
             f"{'step':>4} {'op':24s} cg " + " ".join(
                 f"{c:>20s}" for c in counters)]
    by_step: dict[tuple[int, str], dict[str, dict]] = {}
    for row in cmp.rows:
        by_step.setdefault((row["step"], row["memcg"]), {})[row["counter"]] = row
    diffs: dict[int, list[Difference]] = {}
    for d in cmp.differences:
        diffs.setdefault(d.step, []).append(d)
    for (step, memcg), rows in by_step.items():
        op = cmp.kernel[step]["op"]
        cells = []
        for c in counters:
            r = rows.get(c)
            if r is None:
                cells.append(f"{'-':>20s}")
                continue
            mark = " " if r["within"] else "~" if r["explained_by"] else "!"
            cells.append(f"{r['model']:>6}|{r['kernel']:>6}{mark}{r['diff']:+6d}")
        lines.append(f"{step:>4} {op:24s} {memcg:2s} " + " ".join(cells))
        if not cmp.kernel[step].get("ok", True):
            lines.append(f"       ({cmp.kernel[step].get('error')})")
        for d in diffs.get(step, []):
            if d.memcg == memcg and d.new:
                lines.append(f"       - {d.name} ({_pages(d.pages)}): {d.text}")
    lines.append("cells: model | kernel, then kernel - model; '~' = outside "
                 "the tolerance of docs/live.md but accounted for by a named "
                 "difference, '!' = unexplained")
    return "\n".join(lines) + "\n"
