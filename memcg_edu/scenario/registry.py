"""Every scenario op, declared once: its fields, what it does, and how each front-end names it.

An op stands for one kernel path (mm/memory.c do_anonymous_page,
mm/filemap.c add_to_page_cache_lru, mm/vmscan.c shrink_page_list,
mm/migrate.c migrate_pages, mm/memcontrol.c mem_cgroup_move_task, ...).
Each ``Op`` holds:

* ``fields``: field -> Field(kind, required) for the loader (format.OPS);
* ``apply``: the function of memcg_edu.scenario.ops that runs it;
* ``kernel``: design -> the kernel functions the op enters first (the
  depth-0 calls of its call log, tests/scenario/test_registry.py checks
  them against a run);
* ``memcg_api``: design -> the mm/memcontrol.c entry points the path may
  call (memcg_edu.compare.calls.ENTRY_POINTS is their union);
* ``text``: design -> the story in words (explain_317 / explain_316),
  given for both designs, the same function where they agree;
* ``words``: the op in a few words (widgets, plots);
* ``event_kind``: the event marker the op always counts as, or None
  (memcg_edu.viz.events; charges and uncharges are read from the calls);
* ``machine_op``: the Machine method's name, which the event log records;
* ``reclaims``: "always" (the op is reclaim), "charging" (a charge may
  reclaim other pages) or "never";
* ``places_known``: when the step succeeds and reclaims nothing, its
  function has already recorded where each of its labels is (a page it
  created, mapped, pinned or migrated stays where the function put it), so
  nothing needs reading back from the model (ops.sync_labels); False where
  the step itself may free a page or move it to swap.

Nothing reads an op anywhere else; ``check_registry`` (run at import)
refuses an op that lacks a piece.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Callable, Mapping, Optional

from . import explain_316 as t316
from . import explain_317 as t317
from . import ops

__all__ = ["Field", "Op", "REGISTRY", "FIELD_KINDS", "DESIGNS", "op",
           "may_reclaim", "check_registry"]

#: The kernel designs a scenario can run under (the first is the default).
DESIGNS = ("3.17", "3.16")

# Field kinds:
#   task    - a task declared in "tasks"
#   memcg   - a memcg declared in "memcgs" (or "root")
#   new     - a page label not used before (the step creates the page)
#   label   - a page label created by an earlier step
#   count   - an integer >= 0 (pages)
#   limit   - an integer >= 0 or null (unlimited)
#   design  - one of DESIGNS
#   bool, str
FIELD_KINDS = ("task", "memcg", "new", "label", "count", "limit", "design",
               "bool", "str")

Text = Callable[[Mapping[str, Any], str, bool, bool], str]


@dataclass(frozen=True)
class Field:
    """One field of a step: its kind (FIELD_KINDS) and whether it is required."""

    kind: str
    required: bool


@dataclass(frozen=True)
class Op:
    """One scenario op (see the module docstring for each piece)."""

    name: str
    fields: Mapping[str, Field]
    apply: Callable[[ops.Context, dict], list]
    kernel: Mapping[str, tuple[str, ...]]
    memcg_api: Mapping[str, tuple[str, ...]]
    text: Mapping[str, Text]
    words: str
    event_kind: Optional[str]
    machine_op: str
    reclaims: str = "never"
    places_known: bool = False

    @property
    def creates_page(self) -> bool:
        """Its "page" names a page the step creates."""
        return any(f.kind == "new" for f in self.fields.values())


def _f(kind: str, required: bool = True) -> Field:
    return Field(kind, required)


def _both(names: tuple[str, ...]) -> dict[str, tuple[str, ...]]:
    return {"3.17": names, "3.16": names}


#: every path that puts a page on an LRU asks mem_cgroup_page_lruvec which
_CHARGE_317 = ("mem_cgroup_try_charge", "mem_cgroup_commit_charge",
               "mem_cgroup_cancel_charge", "mem_cgroup_page_lruvec")
_LIST_317 = ("mem_cgroup_uncharge_list",)
_BATCH_316 = ("mem_cgroup_uncharge_start", "mem_cgroup_uncharge_end")
_RECLAIM = {"3.17": ("mem_cgroup_swapout", "mem_cgroup_uncharge_list"),
            "3.16": ("mem_cgroup_uncharge_page", "mem_cgroup_uncharge_swapcache",
                     "mem_cgroup_uncharge_cache_page") + _BATCH_316}

_OPS = (
    Op("fault_anon", {"task": _f("task"), "page": _f("new")},
       ops.fault_anon, _both(("do_anonymous_page",)),
       {"3.17": _CHARGE_317,
        "3.16": ("mem_cgroup_charge_anon", "mem_cgroup_uncharge_page",
                 "mem_cgroup_page_lruvec")},
       {"3.17": t317.fault_anon, "3.16": t316.fault_anon},
       "an anonymous page fault gives the task a new page", None,
       "fault_anon", "charging", True),
    Op("add_to_page_cache", {"task": _f("task"), "page": _f("new"),
                             "file": _f("str", False), "mapped": _f("bool", False)},
       ops.add_to_page_cache, _both(("add_to_page_cache_lru",)),
       {"3.17": _CHARGE_317,
        "3.16": ("mem_cgroup_charge_file", "mem_cgroup_uncharge_cache_page",
                 "mem_cgroup_page_lruvec")},
       {"3.17": t317.add_to_page_cache, "3.16": t316.add_to_page_cache},
       "a file read puts a new page into the page cache", None,
       "add_to_page_cache", "charging", True),
    Op("fault_shmem", {"task": _f("task"), "page": _f("new"),
                       "file": _f("str", False)},
       ops.fault_shmem, _both(("shmem_getpage_gfp",)),
       {"3.17": _CHARGE_317,
        "3.16": ("mem_cgroup_charge_file", "mem_cgroup_uncharge_cache_page",
                 "mem_cgroup_page_lruvec")},
       {"3.17": t317.fault_shmem, "3.16": t316.fault_shmem},
       "a tmpfs (shmem) page is created", None, "fault_shmem", "charging",
       True),
    Op("map", {"task": _f("task"), "page": _f("label")},
       ops.map_page, _both(("copy_one_pte", "do_set_pte")), _both(()),
       {"3.17": t317.map_page, "3.16": t317.map_page},
       "another task maps the page", None, "map", "never", True),
    Op("unmap", {"task": _f("task"), "page": _f("label")},
       ops.unmap, _both(("zap_pte_range", "tlb_flush_mmu")),
       {"3.17": _LIST_317 + ("mem_cgroup_uncharge_swap",),
        "3.16": ("mem_cgroup_uncharge_page", "mem_cgroup_uncharge_swapcache",
                 "mem_cgroup_uncharge_swap") + _BATCH_316},
       {"3.17": t317.unmap, "3.16": t316.unmap},
       "a task unmaps the page", None, "unmap"),
    Op("get_page", {"page": _f("label")}, ops.get_page, _both(("get_page",)),
       _both(()), {"3.17": t317.get_page, "3.16": t317.get_page},
       "someone takes an extra reference", None, "get_page", "never", True),
    Op("put_page", {"page": _f("label")}, ops.put_page, _both(("put_page",)),
       {"3.17": ("mem_cgroup_uncharge",), "3.16": ()},
       {"3.17": t317.put_page, "3.16": t316.put_page},
       "someone drops a reference", None, "put_page"),
    Op("truncate", {"page": _f("label")}, ops.truncate,
       _both(("truncate_inode_page", "release_pages")),
       {"3.17": _LIST_317 + ("mem_cgroup_uncharge",),
        "3.16": ("mem_cgroup_uncharge_cache_page",) + _BATCH_316},
       {"3.17": t317.truncate, "3.16": t316.truncate},
       "the file is truncated: its page leaves the page cache", None, "truncate"),
    Op("swap_out", {"page": _f("label")}, ops.swap_out,
       _both(("isolate_lru_page", "shrink_page_list")), _RECLAIM,
       {"3.17": t317.swap_out, "3.16": t316.swap_out},
       "reclaim writes the page to swap", "swap-out", "swap_out"),
    Op("swap_in", {"task": _f("task"), "page": _f("label")}, ops.swap_in,
       {"3.17": ("do_swap_page", "shmem_getpage_gfp"),
        "3.16": ("do_swap_page", "shmem_getpage_gfp")},
       {"3.17": _CHARGE_317 + ("mem_cgroup_uncharge_swap",),
        "3.16": ("mem_cgroup_try_charge_swapin", "mem_cgroup_commit_charge_swapin",
                 "mem_cgroup_cancel_charge_swapin", "mem_cgroup_charge_file",
                 "mem_cgroup_uncharge_swap", "mem_cgroup_page_lruvec")},
       {"3.17": t317.swap_in, "3.16": t316.swap_in},
       "a fault reads the page back from swap", "swap-in", "swap_in", "charging"),
    Op("migrate", {"page": _f("label")}, ops.migrate,
       _both(("isolate_lru_page", "migrate_pages")),
       {"3.17": ("mem_cgroup_migrate", "mem_cgroup_page_lruvec",
                 "mem_cgroup_uncharge"),
        "3.16": ("mem_cgroup_prepare_migration", "mem_cgroup_end_migration",
                 "mem_cgroup_uncharge_page", "mem_cgroup_page_lruvec")},
       {"3.17": t317.migrate, "3.16": t316.migrate},
       "the page is migrated to a new frame", "migration", "migrate", "never",
       True),
    Op("replace_page_cache", {"page": _f("label"), "with": _f("label", False)},
       ops.replace_page_cache, _both(("fuse_try_move_page",)),
       {"3.17": ("mem_cgroup_migrate", "mem_cgroup_page_lruvec",
                 "mem_cgroup_uncharge"),
        "3.16": ("mem_cgroup_replace_page_cache", "mem_cgroup_page_lruvec")},
       {"3.17": t317.replace_page_cache, "3.16": t316.replace_page_cache},
       "the page-cache page is replaced by another", "migration",
       "replace_page_cache"),
    Op("reclaim", {"memcg": _f("memcg"), "pages": _f("count")}, ops.reclaim,
       _both(("try_to_free_mem_cgroup_pages",)), _RECLAIM,
       {"3.17": t317.reclaim, "3.16": t317.reclaim},
       "reclaim frees pages of the memcg", None, "reclaim", "always"),
    Op("set_limit", {"memcg": _f("memcg"), "limit_pages": _f("limit", False),
                     "memsw_limit_pages": _f("limit", False)},
       ops.set_limit,
       _both(("mem_cgroup_resize_limit", "mem_cgroup_resize_memsw_limit")),
       _RECLAIM, {"3.17": t317.set_limit, "3.16": t317.set_limit},
       "the memcg's limits are changed", None, "set_limit", "always"),
    Op("move_task", {"task": _f("task"), "to": _f("memcg"),
                     "move_charge": _f("bool", False)},
       ops.move_task, _both(("mem_cgroup_can_attach", "mem_cgroup_move_task")),
       _both(("mem_cgroup_move_account", "mem_cgroup_page_lruvec")),
       {"3.17": t317.move_task, "3.16": t317.move_task},
       "the task moves to another memcg", None, "move_task", "charging"),
    Op("exit", {"task": _f("task")}, ops.exit_task, _both(("exit_mmap",)),
       {"3.17": _LIST_317 + ("mem_cgroup_uncharge_swap",),
        "3.16": ("mem_cgroup_uncharge_page", "mem_cgroup_uncharge_swapcache",
                 "mem_cgroup_uncharge_swap") + _BATCH_316},
       {"3.17": t317.exit_task, "3.16": t317.exit_task},
       "the task exits", None, "exit_task"),
    # plus any counter name (format.EXPECT_NAMES); "design" limits the check
    Op("expect", {"memcg": _f("memcg"), "design": _f("design", False)},
       ops.expect, _both(()), _both(()),
       {"3.17": t317.expect, "3.16": t317.expect},
       "a check of the counters (nothing happens)", None, "expect"),
)

#: op name -> Op, in the order the docs list them
REGISTRY: dict[str, Op] = {o.name: o for o in _OPS}


def op(name: str) -> Op:
    """The Op named ``name``; KeyError names the known ops."""
    try:
        return REGISTRY[name]
    except KeyError:
        raise KeyError(f"no scenario op {name!r}; ops are "
                       f"{', '.join(REGISTRY)}") from None


def may_reclaim(name: str, reclaimed: bool) -> bool:
    """Could this step have moved pages other than the ones it names?
    ``reclaimed``: shrink_page_list() ran during it (Machine.shrink_runs
    moved), the only way a charge moves another page (the OOM killer's
    victims are read apart)."""
    how = REGISTRY[name].reclaims
    return how == "always" or (how == "charging" and reclaimed)


def check_registry() -> None:
    """Every op has every piece, for both designs; raises ValueError naming what is missing."""
    from ..model.calls import KERNEL_FUNCTIONS
    for o in _OPS:
        problems = []
        for k, f in o.fields.items():
            if f.kind not in FIELD_KINDS:
                problems.append(f"field {k} has unknown kind {f.kind!r}")
        for piece in ("kernel", "memcg_api", "text"):
            got = getattr(o, piece)
            missing = [d for d in DESIGNS if d not in got]
            if missing:
                problems.append(f"no {piece} for {', '.join(missing)}")
        for d, names in o.kernel.items():
            problems += [f"kernel function {n} is not in model.calls.KERNEL_FUNCTIONS"
                         for n in names if n not in KERNEL_FUNCTIONS]
        if not callable(o.apply) or not all(callable(t) for t in o.text.values()):
            problems.append("apply and text must be functions")
        if not o.words or not o.machine_op:
            problems.append("words and machine_op must be given")
        if o.reclaims not in ("always", "charging", "never"):
            problems.append(f"reclaims is {o.reclaims!r}")
        if o.places_known and o.reclaims == "always":
            problems.append("an op that reclaims moves pages it does not name")
        if problems:
            raise ValueError(f"scenario op {o.name}: " + "; ".join(problems))


check_registry()
