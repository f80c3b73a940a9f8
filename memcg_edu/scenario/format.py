"""The scenario file format: its tag, size limits and the table of operations.

A scenario is a teacher's story of pages told as mm events; each operation
stands for a kernel path (mm/memory.c do_anonymous_page, mm/filemap.c
add_to_page_cache_lru, mm/vmscan.c shrink_page_list, mm/migrate.c
migrate_pages, mm/memcontrol.c mem_cgroup_move_task, ...). This module only
describes the format; memcg_edu.scenario.load checks files against it.
"""
from __future__ import annotations

from ..timeline import COUNTERS, STATS

__all__ = ["DESIGNS", "FORMAT", "MAX_FILE_BYTES", "MAX_STEPS", "MAX_COUNT",
           "MAX_TOTAL_STEPS", "MAX_RAM_PAGES",
           "MAX_SWAP_SLOTS", "MACHINE_FIELDS", "MEMCG_FIELDS", "TOP_FIELDS",
           "OPS", "EXPECT_NAMES", "NEW_PAGE_OPS", "ROOT", "RANGE_INDEX"]

FORMAT = "memcg-edu-scenario/1"
#: The kernel designs a scenario can run under (the first is the default).
DESIGNS = ("3.17", "3.16")
#: A file above this size is refused before it is parsed (8 MiB holds
#: MAX_STEPS short steps; a hand-written story is a few KiB).
MAX_FILE_BYTES = 8 * 1024 * 1024
MAX_STEPS = 100_000
#: a step's "count" (a range step: N steps in one, "{i}" in its labels)
MAX_COUNT = 1_000_000
#: the steps of a scenario with every range step written out
MAX_TOTAL_STEPS = 1 << 26
MAX_RAM_PAGES = 1 << 24
MAX_SWAP_SLOTS = 1 << 24
#: The root memcg exists in every scenario under this name.
ROOT = "root"

#: machine field -> (type name, default)
MACHINE_FIELDS = {
    "ram_pages": ("count", 64),
    "swap_slots": ("count", 32),
    "swap_account": ("bool", True),
    "charge_stock": ("bool", False),
}
#: memcg field -> (type name, default)
MEMCG_FIELDS = {
    "limit": ("limit", None),
    "memsw_limit": ("limit", None),
    "parent": ("parent", None),
    "use_hierarchy": ("bool", False),
}
TOP_FIELDS = ("format", "title", "description", "machine", "memcgs", "tasks",
              "steps", "quiz")

# Field kinds used in OPS:
#   task    - a task declared in "tasks"
#   memcg   - a memcg declared in "memcgs" (or "root")
#   new     - a page label not used before (the step creates the page)
#   label   - a page label created by an earlier step
#   count   - an integer >= 0 (pages)
#   limit   - an integer >= 0 or null (unlimited)
#   design  - one of DESIGNS
#   bool, str
#: op -> {field: (kind, required)}; every step may also carry "note".
OPS: dict[str, dict[str, tuple[str, bool]]] = {
    "fault_anon": {"task": ("task", True), "page": ("new", True)},
    "add_to_page_cache": {"task": ("task", True), "page": ("new", True),
                          "file": ("str", False), "mapped": ("bool", False)},
    "fault_shmem": {"task": ("task", True), "page": ("new", True),
                    "file": ("str", False)},
    "map": {"task": ("task", True), "page": ("label", True)},
    "unmap": {"task": ("task", True), "page": ("label", True)},
    "get_page": {"page": ("label", True)},
    "put_page": {"page": ("label", True)},
    "truncate": {"page": ("label", True)},
    "swap_out": {"page": ("label", True)},
    "swap_in": {"task": ("task", True), "page": ("label", True)},
    "migrate": {"page": ("label", True)},
    "replace_page_cache": {"page": ("label", True), "with": ("label", False)},
    "reclaim": {"memcg": ("memcg", True), "pages": ("count", True)},
    "set_limit": {"memcg": ("memcg", True), "limit_pages": ("limit", False),
                  "memsw_limit_pages": ("limit", False)},
    "move_task": {"task": ("task", True), "to": ("memcg", True),
                  "move_charge": ("bool", False)},
    "exit": {"task": ("task", True)},
    # plus any EXPECT_NAMES; "design" limits the check to one design
    "expect": {"memcg": ("memcg", True), "design": ("design", False)},
}
#: "{i}" in a range step's label fields stands for 0, 1, ..., count - 1
RANGE_INDEX = "{i}"
#: Ops whose "page" names a page the step creates.
NEW_PAGE_OPS = ("fault_anon", "add_to_page_cache", "fault_shmem")
#: Counter names an expect step may check (limits may be null).
EXPECT_NAMES = tuple(COUNTERS) + tuple(STATS)
