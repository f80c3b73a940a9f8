"""The scenario file format: its tag, size limits and the table of operations.

A scenario is a teacher's story of pages told as mm events; each operation
stands for a kernel path (mm/memory.c do_anonymous_page, mm/filemap.c
add_to_page_cache_lru, mm/vmscan.c shrink_page_list, mm/migrate.c
migrate_pages, mm/memcontrol.c mem_cgroup_move_task, ...). This module only
describes the format; memcg_edu.scenario.load checks files against it. The
ops themselves are declared in memcg_edu.scenario.registry.
"""
from __future__ import annotations

from ..timeline import COUNTERS, STATS
from .registry import DESIGNS, REGISTRY

__all__ = ["DESIGNS", "FORMAT", "MAX_FILE_BYTES", "MAX_STEPS", "MAX_COUNT",
           "MAX_TOTAL_STEPS", "MAX_RAM_PAGES",
           "MAX_SWAP_SLOTS", "MACHINE_FIELDS", "MEMCG_FIELDS", "TOP_FIELDS",
           "OPS", "EXPECT_NAMES", "NEW_PAGE_OPS", "ROOT", "RANGE_INDEX"]

FORMAT = "memcg-edu-scenario/1"
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
    "oom_kill_disable": ("bool", False),
}
TOP_FIELDS = ("format", "title", "description", "design", "machine", "memcgs",
              "tasks", "steps", "quiz")

#: op -> {field: (kind, required)}, from the op registry; every step may
#: also carry "note" (field kinds: registry.FIELD_KINDS).
OPS: dict[str, dict[str, tuple[str, bool]]] = {
    o.name: {k: (f.kind, f.required) for k, f in o.fields.items()}
    for o in REGISTRY.values()}
#: "{i}" in a range step's label fields stands for 0, 1, ..., count - 1
RANGE_INDEX = "{i}"
#: Ops whose "page" names a page the step creates.
NEW_PAGE_OPS = tuple(o.name for o in REGISTRY.values() if o.creates_page)
#: Counter names an expect step may check (limits may be null).
EXPECT_NAMES = tuple(COUNTERS) + tuple(STATS)
