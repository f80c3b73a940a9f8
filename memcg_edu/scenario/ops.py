"""Apply one scenario step to the model: the mm path each op stands for.

Each op function (named in memcg_edu.scenario.registry, which says which
op runs which: function(context, step) -> labels touched, checks first,
then acts) calls the Machine's mm operation for it (memcg_edu.model, which
mirrors mm/memory.c, mm/filemap.c, mm/shmem.c, mm/rmap.c, mm/swap.c,
mm/vmscan.c, mm/swap_state.c, mm/migrate.c and mm/memcontrol.c) after the
run-time checks of memcg_edu.scenario.labels; sync_labels then reads back
from the model's page tables and page caches where each label's data is.
"""
from __future__ import annotations

from typing import Any, Callable

from ..errors import ModelUsageError
from ..model.mm import rmap_find
from .labels import PTE, SWAP_PTE, Label, LabelTracker

__all__ = ["Context", "StepFailed", "sync_labels", "fault_anon",
           "add_to_page_cache", "fault_shmem", "map_page", "unmap", "get_page",
           "put_page", "truncate", "swap_out", "swap_in", "migrate",
           "replace_page_cache", "reclaim", "set_limit", "move_task",
           "exit_task", "expect"]


class StepFailed(Exception):
    """The kernel would refuse this step (e.g. -EBUSY, -EAGAIN); the run goes on."""


class Context:
    """The machine, its memcgs and tasks by name, and the label tracker."""

    def __init__(self, machine: Any, memcgs: dict[str, Any],
                 tasks: dict[str, Any], tracker: LabelTracker) -> None:
        self.m, self.memcgs, self.tasks, self.tr = machine, memcgs, tasks, tracker

    def vaddr(self, task: str, page: Any) -> int:
        """The virtual page at which ``task`` maps ``page`` (the step just mapped it).

        A task maps a label's page by one pte (map_page refuses a second),
        so the rmap's pte of the task is the one: found in O(1), not by a
        walk of the page table.
        """
        v = rmap_find(self.m, page.pfn, self.tasks[task].tid)
        assert v >= 0, f"task {task} does not map page {page.pfn}"
        return v

    @staticmethod
    def file_slot(page: Any) -> tuple[Any, int]:
        """(File, offset) of a page in a page cache."""
        return page.file, page.index


def _new(c: Context, s: dict, kind: str, page: Any, mapped: bool) -> list[Label]:
    lab = c.tr.new(s["page"], kind, page)
    if kind != "anon":
        lab.file = c.file_slot(page)
    if mapped:
        c.tr.mapped(lab, s["task"], c.vaddr(s["task"], page))
    return [lab]


def fault_anon(c: Context, s: dict) -> list[Label]:
    t = c.tr.task(s["task"])
    return _new(c, s, "anon", c.m.fault_anon(c.tasks[t]), True)


def add_to_page_cache(c: Context, s: dict) -> list[Label]:
    t = c.tr.task(s["task"])
    page = c.m.add_to_page_cache(c.tasks[t], file=s.get("file", "file"),
                                 mapped=s["mapped"])
    return _new(c, s, "file", page, s["mapped"])


def fault_shmem(c: Context, s: dict) -> list[Label]:
    t = c.tr.task(s["task"])
    page = c.m.fault_shmem(c.tasks[t], file=s.get("file", "shm"))
    return _new(c, s, "shmem", page, True)


def map_page(c: Context, s: dict) -> list[Label]:
    t = c.tr.task(s["task"])
    lab = c.tr.not_mapped(t, s["page"])
    if lab.kind == "anon" and not lab.maps:
        raise c.tr.err(f'page "{lab.name}" is an anonymous page nobody maps any '
                       f"more; only a task that maps it can share it (fork)",
                       "page")
    if lab.kind != "anon" and not lab.in_cache:
        raise c.tr.err(f'page "{lab.name}" is no longer in its file\'s page cache '
                       f"({lab.left_cache}), so no fault can map it", "page")
    c.m.map(c.tasks[t], lab.page)
    c.tr.mapped(lab, t, c.vaddr(t, lab.page))
    return [lab]


def unmap(c: Context, s: dict) -> list[Label]:
    t = c.tr.task(s["task"])
    lab, how = c.tr.mapping(t, s["page"])
    c.m.unmap(c.tasks[t], lab.page if how == PTE else lab.entry)
    c.tr.unmap(lab, t)
    return [lab]


def get_page(c: Context, s: dict) -> list[Label]:
    lab = c.tr.in_memory(s["page"])
    c.m.get_page(lab.page)
    lab.pins += 1
    return [lab]


def put_page(c: Context, s: dict) -> list[Label]:
    lab = c.tr.pinned(s["page"])
    c.m.put_page(lab.page)
    lab.pins -= 1
    return [lab]


def truncate(c: Context, s: dict) -> list[Label]:
    lab = c.tr.get(s["page"])
    if lab.page is None and lab.kind == "shmem" and lab.file is not None:
        # a swapped-out tmpfs page: shmem_undo_range -> shmem_free_swap
        c.m.truncate(lab.entry)
        c.tr.retire(lab, f"it was truncated at step {c.tr.step} while on "
                         f"swap, which freed its swap entry")
        return [lab]
    lab = c.tr.cached(s["page"])
    c.m.truncate(lab.page)
    lab.in_cache, lab.file = False, None
    lab.left_cache = f"it was truncated at step {c.tr.step}"
    for t in list(lab.maps):      # truncate_inode_pages unmaps it everywhere
        c.tr.unmap(lab, t)
    return [lab]


def swap_out(c: Context, s: dict) -> list[Label]:
    lab = c.tr.in_memory(s["page"])
    if lab.kind == "file":
        raise c.tr.err(f'page "{lab.name}" is a file page: reclaim drops file '
                       f"pages instead of swapping them (use truncate or "
                       f"reclaim)", "page")
    if lab.kind == "shmem" and not lab.in_cache:
        raise c.tr.err(f'page "{lab.name}" left its tmpfs file '
                       f"({lab.left_cache}), so there is nothing to swap it "
                       f"out for", "page")
    if lab.kind == "anon" and not lab.maps:
        raise c.tr.err(f'page "{lab.name}" is mapped by no task, so no swap pte '
                       f"could keep it; only its pins hold it", "page")
    lab.entry = c.m.swap_out(lab.page)
    return [lab]


def swap_in(c: Context, s: dict) -> list[Label]:
    t = c.tr.task(s["task"])
    lab = c.tr.get(s["page"])
    if lab.kind == "anon":
        lab, how = c.tr.mapping(t, s["page"])
        if how == PTE:
            raise c.tr.err(f'task "{t}" maps page "{lab.name}" in memory; there '
                           f"is nothing to swap in", "page")
    elif lab.page is not None:
        raise c.tr.err(f'page "{lab.name}" is in memory, not swapped out', "page")
    lab.page = c.m.swap_in(c.tasks[t], lab.entry)
    c.tr.mapped(lab, t, c.vaddr(t, lab.page))
    return [lab]


def migrate(c: Context, s: dict) -> list[Label]:
    lab = c.tr.in_memory(s["page"])
    new = c.m.migrate(lab.page)
    if new == lab.page:
        raise StepFailed(f'migration of page "{lab.name}" failed: someone else '
                         f"holds a reference (-EAGAIN), so it stays where it was")
    lab.page = new
    return [lab]


def replace_page_cache(c: Context, s: dict) -> list[Label]:
    lab = c.tr.cached(s["page"])
    if lab.kind != "file":
        raise c.tr.err(f'page "{lab.name}" is a tmpfs page; replace_page_cache '
                       f"models fuse splice into a regular file", "page")
    if lab.maps:
        raise c.tr.err(f'page "{lab.name}" is mapped by task "{min(lab.maps)}"; '
                       f"fuse only replaces readahead pages nobody maps yet",
                       "page")
    other = c.tr.in_memory(s["with"], "with") if "with" in s else None
    if other is not None and (other.maps or other.in_cache or other.pins != 1):
        raise c.tr.err(f'page "{other.name}" cannot be stolen from a pipe: it '
                       f"must be in no page cache, mapped by no task and held by "
                       f"exactly one get_page (the pipe buffer's reference)",
                       "with")
    lab.page = c.m.replace_page_cache(lab.page, with_=other.page if other else None)
    lab.file = c.file_slot(lab.page)
    if other is None:
        return [lab]
    c.tr.retire(other, f'its page became the page cache page of "{lab.name}" '
                       f"at step {c.tr.step} (replace_page_cache)")
    return [lab, other]


def reclaim(c: Context, s: dict) -> list[Label]:
    if s["pages"] > 0:
        c.m.reclaim(c.memcgs[s["memcg"]], s["pages"])
    return []


def set_limit(c: Context, s: dict) -> list[Label]:
    kw = {}
    if "limit_pages" in s:
        kw["limit"] = s["limit_pages"]
    if "memsw_limit_pages" in s:
        kw["memsw_limit"] = s["memsw_limit_pages"]
    if "memsw_limit" in kw and not c.m.swap_account:
        raise c.tr.err("memsw limits need swap accounting; set \"swap_account\": "
                       "true in \"machine\"", "memsw_limit_pages")
    try:
        c.m.set_limit(c.memcgs[s["memcg"]], **kw)
    except ModelUsageError as e:      # the kernel's -EBUSY / -EINVAL
        raise StepFailed(f"the kernel refuses the new limit: {e}") from None
    return []


def move_task(c: Context, s: dict) -> list[Label]:
    t = c.tr.task(s["task"])
    c.m.move_task(c.tasks[t], c.memcgs[s["to"]], move_charge=s["move_charge"])
    return [lab for lab in c.tr.live() if t in lab.maps]


def exit_task(c: Context, s: dict) -> list[Label]:
    t = c.tr.task(s["task"])
    touched = [lab for lab in c.tr.live() if t in lab.maps]
    c.m.exit_task(c.tasks[t])
    c.tr.exit(t)
    return touched


def expect(c: Context, s: dict) -> list[Label]:
    return []


def sync_labels(c: Context, labels: list[Label],
                own: list[Label]) -> list[Label]:
    """Read back from the model where each label's data is after a step.

    A frame that was freed no longer holds the label; the data may live on
    in a swap slot (a swap pte of a task that mapped it, or the tmpfs
    file's swap entry). With neither, the label is retired. ``own`` are
    the labels the step acted on (the others can only have been
    reclaimed). Returns the labels whose place changed.
    """
    tr, m, tasks = c.tr, c.m, c.tasks
    moved = []
    for lab in labels:
        was_page, was_entry = lab.page, lab.entry
        if was_page is None and was_entry is None:
            continue                  # gone (Label.where)
        page = was_page if was_page is not None and was_page.alive else None
        entry = was_entry if was_entry is not None and was_entry.alive else None
        if lab.file is not None:
            f, off = lab.file
            in_cache = f.holds(off)
            slot = f.swap_slot(off)
            if slot is not None:
                entry = m.swap_entry(slot)
            lab.in_cache = in_cache
            if not in_cache and not lab.left_cache:
                lab.left_cache = f"reclaim dropped it at step {tr.step}"
        maps = lab.maps
        for t in list(maps) if maps else ():
            task = tasks[t]
            v = lab.vaddr[t]
            if page is not None and task.page_at(v) == page.pfn:
                maps[t] = PTE
            elif (slot := task.swap_slot_at(v)) is not None:
                entry = entry or m.swap_entry(slot)
                maps[t] = SWAP_PTE
            else:
                tr.unmap(lab, t)      # a file or tmpfs pte cleared by reclaim
        lab.page, lab.entry = page, entry
        # (page is the one it had or None: "is" tells; an entry may be a new
        # handle on the same slot)
        if page is not was_page or (entry is not was_entry and entry != was_entry):
            moved.append(lab)
        if page is None and entry is None:
            how = (f"{tr.op} dropped its last reference" if lab in own
                   else f"reclaim during {tr.op} freed it")
            tr.retire(lab, f"it was freed at step {tr.step} ({how})")
    return moved
