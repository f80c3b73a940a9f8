"""Apply one scenario step to the model: the mm path each op stands for.

Each op calls the model's mm caller for it (memcg_edu.model, which mirrors
mm/memory.c, mm/filemap.c, mm/shmem.c, mm/rmap.c, mm/swap.c, mm/vmscan.c,
mm/swap_state.c, mm/migrate.c and mm/memcontrol.c), after the run-time
checks of memcg_edu.scenario.labels, and moves the labels the step touched.
"""
from __future__ import annotations

from typing import Any, Callable

from .labels import PTE, SWAP_PTE, Label, LabelTracker

__all__ = ["Context", "APPLY", "sync_labels"]


class Context:
    """The machine, its memcgs and tasks by name, and the label tracker."""

    def __init__(self, machine: Any, memcgs: dict[str, Any],
                 tasks: dict[str, Any], tracker: LabelTracker) -> None:
        self.m, self.memcgs, self.tasks, self.tr = machine, memcgs, tasks, tracker


def _fault_anon(c: Context, s: dict) -> list[Label]:
    t = c.tr.task(s["task"])
    page = c.m.fault_anon(c.tasks[t])
    return [c.tr.new(s["page"], "anon", page, t, mapped=True)]


def _add_to_page_cache(c: Context, s: dict) -> list[Label]:
    t = c.tr.task(s["task"])
    page = c.m.add_to_page_cache(c.tasks[t], file=s.get("file", "file"),
                                 mapped=s["mapped"])
    return [c.tr.new(s["page"], "file", page, t, mapped=s["mapped"])]


def _fault_shmem(c: Context, s: dict) -> list[Label]:
    t = c.tr.task(s["task"])
    page = c.m.fault_shmem(c.tasks[t], file=s.get("file", "shm"))
    return [c.tr.new(s["page"], "shmem", page, t, mapped=True)]


def _map(c: Context, s: dict) -> list[Label]:
    t = c.tr.task(s["task"])
    lab = c.tr.not_mapped(t, s["page"])
    c.m.map(c.tasks[t], lab.page)
    lab.maps[t] = PTE
    lab.unmapped.pop(t, None)
    return [lab]


def _unmap(c: Context, s: dict) -> list[Label]:
    t = c.tr.task(s["task"])
    lab, how = c.tr.mapping(t, s["page"])
    c.m.unmap(c.tasks[t], lab.page if how == PTE else lab.entry)
    c.tr.unmap(lab, t)
    return [lab]


def _get_page(c: Context, s: dict) -> list[Label]:
    lab = c.tr.in_memory(s["page"])
    c.m.get_page(lab.page)
    lab.pins += 1
    return [lab]


def _put_page(c: Context, s: dict) -> list[Label]:
    lab = c.tr.pinned(s["page"])
    c.m.put_page(lab.page)
    lab.pins -= 1
    return [lab]


def _truncate(c: Context, s: dict) -> list[Label]:
    lab = c.tr.cached(s["page"])
    c.m.truncate(lab.page)
    lab.in_cache = False
    # truncate_inode_pages unmaps the page from every task first
    for t in list(lab.maps):
        c.tr.unmap(lab, t)
    lab.fate = f"it was truncated at step {c.tr.step}"
    return [lab]


def _swap_out(c: Context, s: dict) -> list[Label]:
    lab = c.tr.in_memory(s["page"])
    if lab.kind == "file":
        raise c.tr.err(f'page "{lab.name}" is a file page: reclaim drops clean '
                       f"file pages instead of swapping them (use truncate or "
                       f"reclaim)", "page")
    lab.entry = c.m.swap_out(lab.page)
    lab.page = None
    for t in lab.maps:
        lab.maps[t] = SWAP_PTE
    return [lab]


def _swap_in(c: Context, s: dict) -> list[Label]:
    t = c.tr.task(s["task"])
    lab = c.tr.get(s["page"])
    if lab.kind == "anon":
        lab, how = c.tr.mapping(t, s["page"])
        if how == PTE:
            raise c.tr.err(f'task "{t}" maps page "{lab.name}" in memory; there '
                           f"is nothing to swap in", "page")
    elif lab.entry is None or lab.page is not None:
        raise c.tr.err(f'page "{lab.name}" is in memory, not swapped out', "page")
    lab.page = c.m.swap_in(c.tasks[t], lab.entry)
    lab.maps[t] = PTE
    lab.unmapped.pop(t, None)
    return [lab]


def _migrate(c: Context, s: dict) -> list[Label]:
    lab = c.tr.in_memory(s["page"])
    lab.page = c.m.migrate(lab.page)
    return [lab]


def _replace_page_cache(c: Context, s: dict) -> list[Label]:
    lab = c.tr.cached(s["page"])
    other = c.tr.in_memory(s["with"], "with") if "with" in s else None
    lab.page = c.m.replace_page_cache(lab.page,
                                      with_=other.page if other else None)
    if other is not None:
        # the pipe page was stolen from its own file and now holds this data
        c.tr.retire(other, f'it became the page cache page of "{lab.name}" '
                           f"at step {c.tr.step} (replace_page_cache)")
        return [lab, other]
    return [lab]


def _reclaim(c: Context, s: dict) -> list[Label]:
    c.m.reclaim(c.memcgs[s["memcg"]], s["pages"])
    return []


def _set_limit(c: Context, s: dict) -> list[Label]:
    kw = {}
    if "limit_pages" in s:
        kw["limit"] = s["limit_pages"]
    if "memsw_limit_pages" in s:
        kw["memsw_limit"] = s["memsw_limit_pages"]
    c.m.set_limit(c.memcgs[s["memcg"]], **kw)
    return []


def _move_task(c: Context, s: dict) -> list[Label]:
    t = c.tr.task(s["task"])
    c.m.move_task(c.tasks[t], c.memcgs[s["to"]], move_charge=s["move_charge"])
    return [lab for lab in c.tr.live() if t in lab.maps]


def _exit(c: Context, s: dict) -> list[Label]:
    t = c.tr.task(s["task"])
    touched = [lab for lab in c.tr.live() if t in lab.maps]
    c.m.exit_task(c.tasks[t])
    c.tr.exit(t)
    return touched


def _expect(c: Context, s: dict) -> list[Label]:
    return []


#: op -> function(context, step) -> labels touched (checks first, then acts)
APPLY: dict[str, Callable[[Context, dict], list[Label]]] = {
    "fault_anon": _fault_anon, "add_to_page_cache": _add_to_page_cache,
    "fault_shmem": _fault_shmem, "map": _map, "unmap": _unmap,
    "get_page": _get_page, "put_page": _put_page, "truncate": _truncate,
    "swap_out": _swap_out, "swap_in": _swap_in, "migrate": _migrate,
    "replace_page_cache": _replace_page_cache, "reclaim": _reclaim,
    "set_limit": _set_limit, "move_task": _move_task, "exit": _exit,
    "expect": _expect,
}


def sync_labels(c: Context, labels) -> None:
    """Bring labels in line with the model after a step (frees, reclaim)."""
    raise NotImplementedError  # written once the model's Page API is known
