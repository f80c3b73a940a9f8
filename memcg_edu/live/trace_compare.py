"""A traced kernel run beside the model, page by page.

The same workload is replayed on the model (memcg_edu.live.compare's model
run, Linux 3.17 design), and the model's pages are followed phase by phase:
the k-th page of mapping x is ``x[k]`` on both sides, the page at index i
of file f is ``f[i]``. Each page's life is reduced to its milestones
(allocated, swapped out, migrated, freed, with the step of each), and the
two lives are compared. Where they differ, the difference is named with
its cause:

* **large folio**: the kernel put a run of file pages in one folio
  (mm_filemap_add_to_page_cache with order > 0): one frame, one story, for
  pages the model keeps as separate pages;
* **swap cache**: the kernel wrote the page to swap but kept it in the swap
  cache (not freed at the step the model frees it), or a swap-in found it
  there (no new frame);
* **reclaim order**: both reclaims swap out about the same number of
  pages, but not the same ones (the kernel scans the LRU tails in batches
  and by activity; the model takes the oldest pages);
* **not migrated**: compaction moves only the pages in the blocks it scans;
  the model migrates every page it is asked to;
* **per-CPU LRU batch**: the page was still in a per-CPU batch of pages
  waiting to go on an LRU list (a pagevec in 3.17, not modelled) when it
  was last unmapped, and the batch's reference kept it;
* **freed later**: the same life, but the kernel freed the page at a later
  step than the model (its final put came later: a per-CPU batch still
  held a reference, or the exiting task's last thread freed it after the
  step ended);
* **still in memory**: the kernel had not freed the page when tracing
  stopped (an unmapped page left in the swap cache is freed by reclaim
  later), the model had;
* **never touched**: a page on one side only (a page the workload never
  touched, such as readahead, or a page the kernel did not give it);
* **kernel memory**: pages the workload made the kernel allocate for itself
  (page tables, slab), which the 3.17 model does not charge: counted per
  step, not per page.
"""
from __future__ import annotations

import textwrap
from dataclasses import dataclass, field
from typing import Any

from .catalog import get_workload
from .compare import _ModelRun
from .trace import TraceRecording
from .trace_story import END

__all__ = ["PageDiff", "TraceComparison", "compare_trace", "model_stories",
           "milestones", "render_summary"]

_MILESTONE = {"allocated": "allocated", "written to swap": "swapped out",
              "migrated": "migrated", "freed": "freed"}


def milestones(events: list[list[Any]]) -> list[tuple[int, str]]:
    """The (step, milestone) sequence of a story's events.

    A page the kernel put in the page cache without a traced allocation
    (allocated by another task) counts as allocated there; a migration is
    one milestone (the old frame's free and the new frame's start are
    part of it).
    """
    out: list[tuple[int, str]] = []
    for step, what, *_ in events:
        m = _MILESTONE.get(what)
        if what == "added to the page cache" and (not out or out[-1][1] == "freed"):
            m = "allocated"
        if m in ("freed", "allocated") and out and out[-1] == (step, "migrated"):
            continue  # the old frame's free and the new one's start: migration
        if m is not None and (not out or out[-1] != (step, m)):
            out.append((step, m))
    return out


class _TrackedRun(_ModelRun):
    """The model run, with each role's page followed after every phase."""

    def __init__(self, wl, skipped) -> None:
        super().__init__(wl, skipped)
        self.stories: dict[str, list[list[Any]]] = {}
        self.last: dict[str, Any] = {}   # role -> pfn, "swap" or None
        self.step = 0

    def _roles(self) -> dict[str, Any]:
        out = {}
        for label, pages in [*self.regions.items(), *self.files.items()]:
            for k, p in enumerate(pages):
                out[f"{label}[{k}]"] = "swap" if self._is_entry(p) else p.pfn
        return out

    def _alive(self, pfn: int) -> bool:
        from ..model.pages import PG_free
        return not int(self.m.mem.flags[pfn]) & PG_free

    def _sample(self, op: str, detail: dict[str, Any]) -> None:
        super()._sample(op, detail)
        now = self._roles()
        step = self.step
        for role in set(now) | set(self.last):
            old, new = self.last.get(role), now.get(role)
            if old == new:
                continue
            ev = self.stories.setdefault(role, [])
            if isinstance(old, int) and new == "swap":
                ev += [[step, "written to swap", old, None],
                       [step, "freed", old, None]]
            elif isinstance(old, int) and isinstance(new, int):
                ev += [[step, "migrated", old, {"to": new}],
                       [step, "freed", old, None], [step, "allocated", new, None]]
            elif isinstance(new, int):
                ev.append([step, "allocated", new, None])
            elif isinstance(old, int):
                if self._alive(old):
                    # off our lists but alive (an unmapped page still in a
                    # cache): watched until it is freed
                    continue
                ev.append([step, "freed", old, None])
            self.last[role] = new
        self.step += 1


def model_stories(workload: str, pages: int,
                  skipped: set[int] | None = None) -> dict[str, list[list[Any]]]:
    """role -> story events of the model's run of the workload."""
    run = _TrackedRun(get_workload(workload, pages), skipped or set())
    run.run()
    return run.stories


@dataclass(frozen=True)
class PageDiff:
    """One page whose life differs, and why."""

    role: str
    cause: str
    kernel: tuple[tuple[int, str], ...]
    model: tuple[tuple[int, str], ...]
    text: str


@dataclass
class TraceComparison:
    """Page by page: the roles, which had the same life, the differences."""

    trace: TraceRecording
    model: dict[str, list[list[Any]]]
    roles: list[str] = field(default_factory=list)
    same: list[str] = field(default_factory=list)
    diffs: list[PageDiff] = field(default_factory=list)
    kernel_memory: dict[int, int] = field(default_factory=dict)

    @property
    def summary(self) -> dict[str, Any]:
        causes: dict[str, int] = {}
        for d in self.diffs:
            causes[d.cause] = causes.get(d.cause, 0) + 1
        return {"pages": len(self.roles), "same_life": len(self.same),
                "different": len(self.diffs), "causes": causes,
                "kernel_memory_pages": sum(self.kernel_memory.values())}

    def diff(self, role: str) -> PageDiff | None:
        return next((d for d in self.diffs if d.role == role), None)


def _folio_cover(stories: list[dict[str, Any]]) -> dict[str, str]:
    """role -> head role, for file pages inside a large folio's head."""
    out = {}
    for st in stories:
        for _, what, _, detail in st["events"]:
            if what == "added to the page cache" and detail and detail.get("order"):
                label, idx = detail["file"], detail["index"]
                for i in range(idx + 1, idx + (1 << detail["order"])):
                    out[f"{label}[{i}]"] = st["role"]
    return out


def _cause(role: str, k: list[tuple[int, str]], m: list[tuple[int, str]],
           st: dict[str, Any] | None, folio_of: dict[str, str]) -> tuple[str, str]:
    if st is None:
        head = folio_of.get(role)
        if head is not None:
            return ("large folio", f"{role} is inside the large folio of {head}: "
                    f"one frame, one story on the kernel; its own page in the model")
        return ("never touched", f"{role} has no page in the kernel trace: the "
                f"workload never made the kernel give it one")
    orders = [e[3].get("order", 0) for e in st["events"]
              if e[1] == "added to the page cache" and e[3]]
    if any(orders):
        return ("large folio", f"{role} came in a folio of {1 << max(orders)} "
                f"pages (order {max(orders)}): its frame's life is the folio's")
    ks, ms = [w for _, w in k], [w for _, w in m]
    end = st["events"][-1]
    if end[1] == END and "freed" in ms and not any(
            e[1] == "put on an LRU list" for e in st["events"]):
        return ("per-CPU LRU batch", f"{role} never reached an LRU list: it "
                f"was still in a per-CPU batch of pages waiting for one "
                f"(lru_add; a pagevec in 3.17, which the model leaves out), "
                f"whose reference kept it after its last unmap")
    if end[1] == END and "freed" in ms:
        cached = "swapcache" in (end[3] or {}).get("flags", [])
        return ("swap cache" if cached or "swapped out" in ks else "still in memory",
                f"{role} was still in memory when tracing stopped"
                + (" (in the swap cache)" if cached else "")
                + "; the model freed it")
    if "swapped out" in ks:
        i = ks.index("swapped out")
        if i + 1 >= len(k) or k[i + 1] != (k[i][0], "freed"):
            return ("swap cache", f"{role} was written to swap but stayed in the "
                    f"swap cache (not freed at step {k[i][0]})")
    if "swapped out" in ms and ks.count("allocated") < ms.count("allocated"):
        return ("swap cache", f"{role} was found in the swap cache at swap-in "
                f"(no new frame), or never left memory")
    if ("swapped out" in ks) != ("swapped out" in ms):
        side = "kernel" if "swapped out" in ks else "model"
        return ("reclaim order", f"only the {side}'s reclaim swapped {role} out: "
                f"both take about as many pages from the LRU tails, in a "
                f"different order (the kernel in batches, by age and activity)")
    if "migrated" in ms and "migrated" not in ks:
        return ("not migrated", f"compaction did not move {role}; the model "
                f"migrates every page it is asked to")
    if not m:
        return ("never touched", f"{role} has no page in the model run")
    if ks == ms and "freed" in ks:
        late = [(a[0], b[0]) for a, b in zip(k, m) if a[1] == "freed" and a[0] > b[0]]
        same = all(a[0] == b[0] for a, b in zip(k, m) if a[1] != "freed")
        if late and same:
            return ("freed later", f"{role} was freed at step {late[0][0]} on the "
                    f"kernel, at step {late[0][1]} in the model: its final put came "
                    f"later (a per-CPU batch still held a reference, or the exiting "
                    f"task freed it after the step ended)")
    return ("different", f"{role}: kernel {k}, model {m}")


def compare_trace(tr: TraceRecording) -> TraceComparison:
    """The trace's workload on the model, and every page's life compared."""
    meta = tr.meta
    skipped = {s["step"] for s in tr.timeline.steps if not s.get("ok", True)}
    model = model_stories(meta["workload"], int(meta["pages"]), skipped)
    cmp = TraceComparison(tr, model, kernel_memory=dict(tr.kernel_pages))
    by_role = {st["role"]: st for st in tr.pages if st["role"] is not None}
    folio_of = _folio_cover(tr.pages)
    roles = sorted(set(by_role) | set(model), key=_role_key)
    cmp.roles = roles
    for role in roles:
        st = by_role.get(role)
        k = milestones(st["events"]) if st else []
        m = milestones(model.get(role, []))
        if st is not None and k == m:
            cmp.same.append(role)
            continue
        cause, text = _cause(role, k, m, st, folio_of)
        cmp.diffs.append(PageDiff(role, cause, tuple(k), tuple(m), text))
    return cmp


def _role_key(role: str) -> tuple[str, int]:
    label, _, k = role.partition("[")
    return label, int(k.rstrip("]") or 0)


#: render_summary's lines wrap between words here (a notebook's output
#: column wraps a longer line mid-word)
SUMMARY_WIDTH = 88


def render_summary(cmp: TraceComparison) -> str:
    """A few lines for the terminal and the notebook, none wider than SUMMARY_WIDTH."""
    s = cmp.summary
    lines = [f"{s['same_life']} of {s['pages']} pages had the same life on the "
             f"kernel and in the model"]
    for cause, n in sorted(s["causes"].items(), key=lambda kv: -kv[1]):
        example = next(d for d in cmp.diffs if d.cause == cause)
        lines.append(textwrap.fill(f"  {n:6d} {cause}: e.g. {example.text}",
                                   SUMMARY_WIDTH, subsequent_indent=" " * 9))
    if s["kernel_memory_pages"]:
        lines.append(textwrap.fill(
            f"  kernel memory: {s['kernel_memory_pages']} pages the kernel allocated "
            f"for the workload (page tables, slab), not in the model",
            SUMMARY_WIDTH, subsequent_indent=" " * 4))
    return "\n".join(lines)
