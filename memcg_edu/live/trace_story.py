"""From tracepoint events to per-page stories and per-step call lists.

Each tracepoint is read as the kernel function of the Linux 3.17 call view
it stands for (the 3.17 sources had the same tracepoints, most in the same
functions): mm_page_alloc in __alloc_pages_nodemask and mm_page_free in
free_hot_cold_page (mm/page_alloc.c, the free after the final put and the
uncharge), mm_lru_insertion in __pagevec_lru_add_fn under lru_cache_add
(mm/swap.c), mm_lru_activate in __activate_page (mm/swap.c),
mm_filemap_add_to_page_cache in __add_to_page_cache_locked and
mm_filemap_delete_from_page_cache in __delete_from_page_cache
(mm/filemap.c), mm_vmscan_write_folio in pageout (mm/vmscan.c, named
mm_vmscan_writepage in 3.17), mm_vmscan_lru_isolate in isolate_lru_pages,
the memcg reclaim pair in try_to_free_mem_cgroup_pages,
remove_migration_pte (mm/migrate.c), and
the memcg statistics tracepoints of 6.x where 3.17 changed the same
statistic (mem_cgroup_charge_statistics, mem_cgroup_update_lru_size, ...).

What no tracepoint says, the story says so: the reference count and
mapcount are not traced (null in each call's state); per-page isolation is
not traced (mm_vmscan_lru_isolate only counts), so a page written to swap
or freed inside a memcg reclaim is marked "isolated" by inference; the
memcg a page is charged to is the one its task was in when it was
allocated (the allocation traced in the task's context), which is where a
fault charges it.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Iterable

from ..collector import collector_off
from ..timeline import LRU_NAMES
from .trace_parse import MARK, Event, Lost

__all__ = ["TraceContext", "Life", "build", "CALL_OF", "LRU_NAMES",
           "STAT_CALL", "END"]

#: the last event of a page the kernel had not freed when tracing stopped
END = "still in memory when tracing stopped"

#: bits 12..51 of an x86-64 pte: the page frame number
_PTE_PFN = 0x000FFFFFFFFFF000

#: tracepoint -> (3.17 function it stands for, its file)
CALL_OF = {
    "mm_page_alloc": ("__alloc_pages_nodemask", "mm/page_alloc.c"),
    "mm_page_free": ("free_hot_cold_page", "mm/page_alloc.c"),
    "mm_page_free_batched": ("free_hot_cold_page_list", "mm/page_alloc.c"),
    "mm_lru_insertion": ("lru_cache_add", "mm/swap.c"),
    "putback": ("putback_lru_page", "mm/vmscan.c"),
    "mm_lru_activate": ("activate_page", "mm/swap.c"),
    "mm_filemap_add_to_page_cache": ("__add_to_page_cache_locked",
                                     "mm/filemap.c"),
    "mm_filemap_delete_from_page_cache": ("__delete_from_page_cache",
                                          "mm/filemap.c"),
    "mm_vmscan_write_folio": ("pageout", "mm/vmscan.c"),
    "mm_vmscan_lru_isolate": ("isolate_lru_pages", "mm/vmscan.c"),
    "mm_vmscan_memcg_reclaim_begin": ("try_to_free_mem_cgroup_pages",
                                      "mm/vmscan.c"),
    "mm_vmscan_memcg_reclaim_end": ("try_to_free_mem_cgroup_pages",
                                    "mm/vmscan.c"),
    "mm_migrate_pages": ("migrate_pages", "mm/migrate.c"),
    "remove_migration_pte": ("remove_migration_pte", "mm/migrate.c"),
}

#: memcg statistic -> (3.17 function that changed it, its file, the model's
#: counter name); a statistic 3.17 did not keep keeps the tracepoint's name
_MC, _MH = "mm/memcontrol.c", "include/linux/memcontrol.h"
STAT_CALL = {
    "nr_anon_pages": ("mem_cgroup_charge_statistics", _MC, "rss"),
    "nr_file_pages": ("mem_cgroup_charge_statistics", _MC, "cache"),
    "nr_mapped": ("mem_cgroup_update_page_stat", _MC, "mapped_file"),
    "nr_writeback": ("mem_cgroup_update_page_stat", _MC, "writeback"),
    "swap": ("mem_cgroup_swap_statistics", _MC, "swap"),
    "pgpgin": ("mem_cgroup_charge_statistics", _MC, "pgpgin"),
    "pgpgout": ("uncharge_batch", _MC, "pgpgout"),
    "pgfault": ("mem_cgroup_count_vm_event", _MH, "pgfault"),
    "pgmajfault": ("mem_cgroup_count_vm_event", _MH, "pgmajfault"),
    **{"nr_" + name: ("mem_cgroup_update_lru_size", _MC, name)
       for name in LRU_NAMES},
}


@dataclass
class TraceContext:
    """What the tracer knows besides the events.

    ``child_pids``: the workload's processes; ``ops``: the op of each
    timeline step; ``files``: inode -> file label; ``mappings``: label ->
    (address, pages) of the workload's mappings; ``frames``: step ->
    {label: pfn per page (-1 none)} read from /proc/PID/pagemap after that
    step; ``memcgs``: cgroup id (inode) -> name; ``items``: the kernel's
    statistics enums (trace_parse.item_names); ``task_memcg``: step -> the
    memcg the task is in; ``targets``: step -> (action, label) of the phase.
    """

    child_pids: set[int]
    ops: list[str]
    files: dict[int, str] = field(default_factory=dict)
    mappings: dict[str, tuple[int, int]] = field(default_factory=dict)
    frames: dict[int, dict[str, list[int]]] = field(default_factory=dict)
    memcgs: dict[int, str] = field(default_factory=dict)
    items: dict[str, list[str]] = field(default_factory=dict)
    task_memcg: dict[int, str] = field(default_factory=dict)
    targets: dict[int, tuple[str, str]] = field(default_factory=dict)
    page_shift: int = 12


@dataclass
class Life:
    """One pfn from its allocation (or first sight) to its free."""

    pfn: int
    step: int
    by_child: bool
    order: int = 0
    role: str | None = None
    kind: str = "user"
    events: list[list[Any]] = field(default_factory=list)
    flags: set[str] = field(default_factory=set)
    lru: str | None = None
    memcg: str | None = None
    isolated: bool = False
    freed: bool = False
    last: dict[str, Any] | None = None   # the state at the previous call

    def state(self) -> dict[str, Any]:
        """A call's page state (docs/scenario-format.md, "calls"), with what
        tracing cannot see as null: count and mapcount are not traced, and a
        modern kernel has no page_cgroup (pcg empty)."""
        flags = sorted(self.flags | ({"free"} if self.freed else set()))
        return {"count": None, "mapcount": None, "flags": flags, "pcg": [],
                "mem_cgroup": self.memcg, "lru": self.lru,
                "lruvec": self.memcg if self.lru else None}


class _Builder:
    def __init__(self, ctx: TraceContext) -> None:
        self.ctx = ctx
        self.step = 0
        self.lives: dict[int, Life] = {}        # open lives by pfn
        self.provisional: dict[int, Life] = {}  # migration targets, unlinked
        self.all: list[Life] = []
        self.role_life: dict[str, Life] = {}    # role -> its current life
        self.calls: list[tuple[int, dict[str, Any], Life | None]] = []
        self.changes: list[list[Any]] = []
        self.running: dict[str, dict[str, int]] = {}
        self.kernel_pages: dict[int, int] = {}
        self.lost_lines: dict[int, int] = {}
        self.in_reclaim = False
        self.events_seen = 0
        self.by_step: dict[int, int] = {}
        # step -> {pfn: role} of the workload's mappings, read from pagemap
        # after that step: names the k-th page of a mapping by its frame
        self.where = {step: {pfn: f"{label}[{k}]" for label, pfns in labels.items()
                             for k, pfn in enumerate(pfns) if pfn > 0}
                      for step, labels in ctx.frames.items()}
        self.unmapped_order: dict[tuple[int, str], int] = {}

    # -- helpers --------------------------------------------------------------
    def _memcg_of_task(self) -> str | None:
        best = None
        for s in sorted(self.ctx.task_memcg):
            if s <= self.step:
                best = self.ctx.task_memcg[s]
        return best

    def _role_of_addr(self, addr: int) -> str | None:
        for label, (base, pages) in self.ctx.mappings.items():
            off = (addr - base) >> self.ctx.page_shift
            if 0 <= off < pages:
                return f"{label}[{off}]"
        return None

    def _call(self, ev: Event, life: Life | None, key: str | None = None,
              detail: dict[str, Any] | None = None,
              memcgs: dict[str, dict[str, int]] | None = None) -> None:
        fn, path = CALL_OF[key or ev.name]
        state = was = None
        if life is not None:
            state = life.state()
            if life.last is not None:   # unknown before the first call
                was = {k: v for k, v in life.last.items() if state[k] != v}
            life.last = state
        call = {"fn": fn, "file": path, "depth": 0 if life is None else 1,
                "page": None, "pfn": None if life is None else life.pfn,
                "swap": None, "state": state, "memcgs": memcgs or {},
                "was": {"state": was, "memcgs": {}},
                "tracepoint": ev.name, "t": ev.ts, "cpu": ev.cpu}
        if detail:
            call["detail"] = detail
        self.calls.append((self.step, call, life))

    def _page_event(self, ev: Event, life: Life, what: str,
                    detail: dict[str, Any] | None = None,
                    key: str | None = None) -> None:
        life.events.append([self.step, what, life.pfn, detail])
        self._call(ev, life, key, detail)

    def _isolate(self, ev: Event, life: Life) -> None:
        """Inside a memcg reclaim: the page was taken off its LRU first."""
        if self.in_reclaim and not life.isolated:
            life.isolated = True
            life.flags.discard("lru")
            life.flags.discard("active")
            life.lru = None
            life.events.append([self.step, "isolated", life.pfn,
                                {"inferred": "freed or written inside a "
                                 "memcg reclaim"}])

    def _new_life(self, pfn: int, by_child: bool, order: int = 0) -> Life:
        life = Life(pfn, self.step, by_child, order)
        self.all.append(life)
        return life

    # -- the events -----------------------------------------------------------
    def feed(self, ev: Event | Lost) -> None:
        if isinstance(ev, Lost):
            self.lost_lines[ev.cpu] = self.lost_lines.get(ev.cpu, 0) + ev.events
            return
        self.events_seen += 1
        self.by_step[self.step] = self.by_step.get(self.step, 0) + 1
        f, name = ev.fields, ev.name
        if name == "tracing_mark_write":
            text = f.get("text", "")
            if text.startswith(MARK):
                self.step = int(text[len(MARK):].split()[0])
            return
        handler = getattr(self, "_on_" + name, None)
        if handler is not None:
            handler(ev, f)

    def _on_mm_page_alloc(self, ev: Event, f: dict) -> None:
        pfn, order, gfp = f.get("pfn", 0), f.get("order", 0), str(f.get("gfp_flags", ""))
        user = "MOVABLE" in gfp
        if ev.pid in self.ctx.child_pids:
            if not user:
                # page tables, slab: kernel memory charged to the memcg
                self.kernel_pages[self.step] = (self.kernel_pages.get(self.step, 0)
                                                + (1 << order))
                return
            life = self._new_life(pfn, True, order)
            life.memcg = self._memcg_of_task()
            self.lives[pfn] = life
            self._name_user_page(life)
        elif user and self.ctx.ops[self.step:self.step + 1] == ["migrate"]:
            life = self._new_life(pfn, False, order)
            self.provisional[pfn] = life
        else:
            return
        self._page_event(ev, life, "allocated", {"order": order, "gfp": gfp})

    def _name_user_page(self, life: Life) -> None:
        """Which page of the workload this is: its place in a mapping (from
        pagemap after the step), else the k-th page of a tmpfs write."""
        role = self.where.get(life.step, {}).get(life.pfn)
        if role is not None:
            life.kind = "shmem" if role.startswith("shm") else "anon"
        else:
            action, target = self.ctx.targets.get(life.step, ("", ""))
            if action != "write_tmpfs":
                return  # not a page of the workload's data (readahead, heap)
            k = self.unmapped_order.get((life.step, target), 0)
            self.unmapped_order[(life.step, target)] = k + 1
            role, life.kind = f"{target}[{k}]", "shmem"
        life.role = role
        self.role_life[role] = life

    def _free(self, ev: Event, f: dict) -> None:
        pfn = f.get("pfn", 0)
        life = self.lives.pop(pfn, None)
        if life is None:
            self.provisional.pop(pfn, None)
            return
        self._isolate(ev, life)
        life.freed = True
        life.flags.clear()
        life.lru, life.memcg = None, None
        self._page_event(ev, life, "freed")

    _on_mm_page_free = _free
    _on_mm_page_free_batched = _free

    def _link(self, pfn: int) -> Life | None:
        """The life at ``pfn``: open, or a migration target seen now."""
        life = self.lives.get(pfn)
        if life is None and pfn in self.provisional:
            life = self.lives[pfn] = self.provisional.pop(pfn)
        return life

    def _move_role(self, role: str, new: Life) -> None:
        """``role`` is now at ``new``; if it was elsewhere, it migrated."""
        old = self.role_life.get(role)
        if old is not None and old is not new and old.pfn != new.pfn:
            # the old frame's story says where the page went
            at = next((i for i, e in enumerate(old.events)
                       if e[1] == "freed"), len(old.events))
            step = old.events[at][0] if at < len(old.events) else self.step
            old.events.insert(at, [step, "migrated", old.pfn, {"to": new.pfn}])
            if not any(e[1] == "isolated" and e[0] == step for e in old.events):
                old.events.insert(at, [step, "isolated", old.pfn,
                                       {"inferred": "taken off its LRU to be "
                                        "migrated"}])
            new.memcg = new.memcg or old.memcg
            new.kind = old.kind
        new.role = role
        self.role_life[role] = new

    def _on_mm_filemap_add_to_page_cache(self, ev: Event, f: dict) -> None:
        label = self.ctx.files.get(f.get("ino", -1))
        if label is None:
            return
        pfn = f.get("pfn", 0)
        life = self._link(pfn)
        if life is None:  # allocated outside the traced processes
            life = self.lives[pfn] = self._new_life(pfn, False)
        life.kind, life.order = "file", f.get("order", 0)
        life.memcg = life.memcg or self._memcg_of_task()
        index = self._index(f)
        self._move_role(f"{label}[{index}]", life)
        self._page_event(ev, life, "added to the page cache",
                         {"file": label, "index": index, "order": life.order})

    def _index(self, f: dict) -> int:
        """The page index in its file (printed as a byte offset, ofs)."""
        return int(f.get("ofs", 0)) >> self.ctx.page_shift

    def _on_mm_filemap_delete_from_page_cache(self, ev: Event, f: dict) -> None:
        label = self.ctx.files.get(f.get("ino", -1))
        if label is None:
            return
        pfn = f.get("pfn", 0)
        index = self._index(f)
        life = self._link(pfn)
        if life is None:
            if f"{label}[{index}]" not in self.role_life:
                return
            # a page migrated by compaction: its new frame came from the
            # free lists the compaction isolated, with no mm_page_alloc
            life = self.lives[pfn] = self._new_life(pfn, False)
        self._move_role(f"{label}[{index}]", life)
        self._page_event(ev, life, "removed from the page cache",
                         {"file": label, "index": index})

    def _on_mm_lru_insertion(self, ev: Event, f: dict) -> None:
        life = self.lives.get(f.get("pfn", 0)) or self.provisional.get(f.get("pfn", 0))
        if life is None:
            return
        lru = f.get("lru", 0)
        life.lru = LRU_NAMES[lru] if 0 <= lru < len(LRU_NAMES) else str(lru)
        letters = str(f.get("flags", ""))
        life.flags |= {"lru"} | ({"active"} if lru in (1, 3) else set())
        life.flags |= {flag for letter, flag in (("a", "anon"), ("s", "swapcache"),
                                                 ("b", "swapbacked"),
                                                 ("B", "private"))
                       if letter in letters}
        key = "putback" if life.isolated else None
        life.isolated = False
        self._page_event(ev, life, "put on an LRU list", {"lru": life.lru},
                         key=key)

    def _on_mm_lru_activate(self, ev: Event, f: dict) -> None:
        life = self.lives.get(f.get("pfn", 0))
        if life is None:
            return
        life.flags.add("active")
        if life.lru in ("inactive_anon", "inactive_file"):
            life.lru = life.lru.replace("inactive", "active")
        self._page_event(ev, life, "activated", {"lru": life.lru})

    def _on_mm_vmscan_write_folio(self, ev: Event, f: dict) -> None:
        life = self.lives.get(f.get("pfn", 0))
        if life is None:
            return
        self._isolate(ev, life)
        life.flags |= {"swapcache", "writeback"}
        self._page_event(ev, life, "written to swap",
                         {"flags": f.get("flags")})

    def _on_remove_migration_pte(self, ev: Event, f: dict) -> None:
        """A migrated page mapped again at its new frame. Compaction walks
        every process's pages, so the address is taken as ours only when
        pagemap after the step shows that frame at that place."""
        role = self._role_of_addr(f.get("addr", -1))
        if role is None:
            return
        pfn = (f.get("pte", 0) & _PTE_PFN) >> self.ctx.page_shift
        if self.where.get(self.step, {}).get(pfn) != role:
            return
        life = self._link(pfn)
        if life is None:
            life = self.lives[pfn] = self._new_life(pfn, False)
        self._move_role(role, life)
        life.isolated = True   # put back on an LRU next (putback_lru_page)
        self._page_event(ev, life, "remapped after migration")

    def _on_mm_vmscan_memcg_reclaim_begin(self, ev: Event, f: dict) -> None:
        self.in_reclaim = True
        self._call(ev, None, detail={"begin": True})

    def _on_mm_vmscan_memcg_reclaim_end(self, ev: Event, f: dict) -> None:
        self.in_reclaim = False
        self._call(ev, None, detail={"nr_reclaimed": f.get("nr_reclaimed")})

    def _on_mm_vmscan_lru_isolate(self, ev: Event, f: dict) -> None:
        if self.in_reclaim:
            self._call(ev, None, detail={"lru": f.get("lru"),
                                         "nr_taken": f.get("nr_taken")})

    def _on_mm_migrate_pages(self, ev: Event, f: dict) -> None:
        self._call(ev, None, detail={"succeeded": f.get("nr_succeeded"),
                                     "failed": f.get("nr_failed")})

    def _stat(self, ev: Event, f: dict, table: str) -> None:
        memcg = self.ctx.memcgs.get(f.get("memcg_id", -1))
        if memcg is None:
            return
        names = self.ctx.items.get(table, [])
        i = f.get("item", -1)
        item = names[i] if 0 <= i < len(names) else f"item{i}"
        val = int(f.get("val", 0))
        run = self.running.setdefault(memcg, {})
        before = run.get(item, 0)
        run[item] = before + val
        self.changes.append([self.step, memcg, item, val])
        fn, path, counter = STAT_CALL.get(item, (ev.name, _MC, item))
        call = {"fn": fn, "file": path, "depth": 2, "page": None,
                "pfn": None, "swap": None, "state": None,
                "memcgs": {memcg: {counter: run[item]}},
                "was": {"state": None, "memcgs": {memcg: {counter: before}}},
                "tracepoint": ev.name, "t": ev.ts, "cpu": ev.cpu,
                "detail": {"item": item, "val": val}}
        if fn == ev.name:
            call["detail"]["modern"] = "no 3.17 counterpart"
        self.calls.append((self.step, call, None))

    def _on_mod_memcg_state(self, ev: Event, f: dict) -> None:
        self._stat(ev, f, "state")

    def _on_mod_memcg_lruvec_state(self, ev: Event, f: dict) -> None:
        self._stat(ev, f, "state")

    def _on_count_memcg_events(self, ev: Event, f: dict) -> None:
        self._stat(ev, f, "events")


def build(events: Iterable[Event | Lost], ctx: TraceContext) -> dict[str, Any]:
    """Stories, per-step calls, memcg changes and counts from the events.

    Returns {"pages": [story...], "calls": {step: [call...]},
    "changes": [[step, memcg, item, delta]...], "kernel_pages": {step: n},
    "events": n, "events_by_step": {step: n}, "lost_lines": {cpu: n}}.
    A story is {"role", "kind", "pfns", "events": [[step, what, pfn,
    detail]], "complete"}: complete when it starts with the allocation (or
    the page cache insertion) and ends with the free, or with "still in
    memory when tracing stopped" (frees are traced from every task, so a
    page with no free is one the kernel kept: an unmapped page left in the
    swap cache, freed by reclaim some time later) and no event was lost.
    """
    # hundreds of thousands of small dicts that all stay alive: the cyclic
    # garbage collector would rescan them again and again (most of the time)
    with collector_off():
        return _build(events, ctx)


def _build(events: Iterable[Event | Lost], ctx: TraceContext) -> dict[str, Any]:
    b = _Builder(ctx)
    for ev in events:
        b.feed(ev)
    lost = bool(b.lost_lines)
    for life in list(b.lives.values()):
        if life.role is not None or life.by_child:
            life.events.append([b.step, END, life.pfn,
                                {"flags": sorted(life.flags), "lru": life.lru}])
    stories: dict[str, dict[str, Any]] = {}
    extra: list[dict[str, Any]] = []
    for life in b.all:
        if not life.by_child and life.role is None:
            continue  # a migration target never linked to one of our pages
        key = life.role
        st = stories.get(key) if key else None
        if st is None:
            st = {"role": key, "kind": life.kind, "pfns": [], "events": []}
            (extra.append(st) if key is None else stories.__setitem__(key, st))
        st["pfns"].append(life.pfn)
        st["events"] += life.events
    pages = sorted(stories.values(), key=_role_key) + extra
    for st in pages:
        st["events"].sort(key=lambda e: e[0])
        whats = [e[1] for e in st["events"]]
        st["complete"] = bool(whats) and whats[0] in (
            "allocated", "added to the page cache") and (
            whats[-1] == "freed" or (whats[-1] == END and not lost))
    calls: dict[int, list[dict[str, Any]]] = {}
    for step, call, on in b.calls:
        if on is not None:
            if on.role is None and not on.by_child:
                continue
            call["page"] = on.role
        calls.setdefault(step, []).append(call)
    return {"pages": pages, "calls": calls, "changes": b.changes,
            "kernel_pages": b.kernel_pages, "events": b.events_seen,
            "events_by_step": b.by_step, "lost_lines": b.lost_lines}


def _role_key(st: dict[str, Any]) -> tuple[str, int]:
    label, _, k = st["role"].partition("[")
    return label, int(k.rstrip("]") or 0)
