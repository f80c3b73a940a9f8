"""One definition for each fact the model shares between modules and designs:
LRU names, the kernel-bug error, page_cgroup flag tests, counter columns, and
the page argument types of the 3.16 and 3.17 memcg APIs."""
from __future__ import annotations

import inspect
import re
from pathlib import Path

import pytest

from memcg_edu.model import Machine
from memcg_edu.model import memcontrol as new
from memcg_edu.model import memcontrol_316 as old
from memcg_edu.model.memcontrol import PageLike

ROOT = Path(__file__).resolve().parents[2]
SOURCES = sorted((ROOT / "memcg_edu").rglob("*.py"))


def grep(pattern: str, paths=SOURCES) -> list[str]:
    rx = re.compile(pattern)
    return [f"{p.relative_to(ROOT)}:{n}" for p in paths
            for n, line in enumerate(p.read_text().splitlines(), 1) if rx.search(line)]


def test_lru_names_are_spelled_out_once():
    hits = grep(r'"inactive_anon",\s*"active_anon"')
    assert len(hits) == 1 and hits[0].startswith("memcg_edu/timeline.py:")


def test_the_kernel_bug_helper_is_defined_once():
    assert len(grep(r"^def _bug\(")) == 1


def test_no_flag_test_depends_on_bit_values():
    """`f >> 1 & 1` reads PCG_MEM only while PCG_MEM happens to be 2."""
    assert grep(r">>\s*\d+\s*&\s*1\b", [p for p in SOURCES if "/model/" in str(p)]) == []


def test_no_magic_counter_row_index():
    tests = sorted((ROOT / "tests").rglob("*.py"))
    assert grep(r"\.row\[\d+\]", SOURCES + tests) == []


PAGE_PARAMS = {"page", "oldpage", "newpage", "pfn", "old", "new"}
#: statistics helpers both designs call with the pfn their caller resolved
STAT_HELPERS = {"mem_cgroup_charge_statistics", "mem_cgroup_update_page_stat"}


@pytest.mark.parametrize("mod", [new, old], ids=["3.17", "3.16"])
def test_both_designs_take_a_page_handle_or_a_pfn(mod):
    checked = 0
    for name in mod.__all__:
        fn = getattr(mod, name)
        if not inspect.isfunction(fn) or fn.__module__ != mod.__name__ \
                or not name.startswith(("mem_cgroup_", "__mem_cgroup_", "lock_page",
                                        "unlock_page", "try_get_")) \
                or name in STAT_HELPERS:
            continue
        for p in inspect.signature(fn).parameters.values():
            if p.name in PAGE_PARAMS:
                assert p.annotation in (PageLike, "PageLike"), f"{name}({p.name})"
                checked += 1
    assert checked >= 8


def test_a_316_function_given_a_page_handle_acts_as_with_its_pfn():
    results = []
    for as_handle in (False, True):
        m = Machine(design="3.16")
        a = m.create_memcg("A")
        p = m.fault_anon(m.create_task("p", a))
        old.mem_cgroup_uncharge_page(m, p if as_handle else p.pfn)  # mapped: refused
        results.append((m.counters()["A"], m.events.kinds()[-1], m.events[len(m.events) - 1]["pfn"]))
    assert results[0] == results[1]
    assert results[0][1].startswith("mem_cgroup_uncharge_page") and results[0][2] >= 0
