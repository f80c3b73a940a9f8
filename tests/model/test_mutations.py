"""Rules that a mutation of the model once survived; each test fails under it.

* PAGE_ALLOC_COSTLY_NR 8 -> 16: a charge of 9..16 pages would retry for as
  long as reclaim makes progress (docs/kernel-rules.md, "try_charge").
* mem_cgroup_reclaim stopping after three fruitless rounds instead of two
  (docs/kernel-rules.md, "mem_cgroup_reclaim").
* mem_cgroup_update_page_stat's PCG_USED guard: unreachable in the model,
  so it was removed; the last test shows every FILE_MAPPED update meets a
  charged page.
"""
import json
from pathlib import Path

import pytest

from memcg_edu.errors import MemcgOOM
from memcg_edu.model import Machine, reclaim
from memcg_edu.model.memcontrol import (MEM_CGROUP_RECLAIM_RETRIES, PAGE_ALLOC_COSTLY_NR,
                                        Memcg317, mem_cgroup_reclaim, try_charge)
from memcg_edu.model.memcontrol_316 import Memcg316
from memcg_edu.model.pages import PCG_USED
from memcg_edu.scenario import run_scenario

DATA = Path(__file__).resolve().parents[2] / "data" / "scenarios"


def _a_little_reclaimable():
    """A at its limit of 20: 15 anon pages (no swap) and 5 clean file pages."""
    m = Machine(ram_pages=64, swap_slots=0)
    a = m.create_memcg("A", limit=20)
    t = m.create_task("t", a)
    for _ in range(15):
        m.fault_anon(t)
    for _ in range(5):
        m.add_to_page_cache(t, "f")
    assert a.usage == 20
    return m, a


def test_costly_order_is_eight_pages():
    assert PAGE_ALLOC_COSTLY_NR == 1 << 3          # 1 << PAGE_ALLOC_COSTLY_ORDER


@pytest.mark.parametrize("nr, attempts", [
    (8, 1 + 1 + MEM_CGROUP_RECLAIM_RETRIES),        # small: one retry on progress
    (12, 1 + MEM_CGROUP_RECLAIM_RETRIES),           # costly: only the counted retries
])
def test_only_small_charges_retry_on_reclaim_progress(nr, attempts):
    """Reclaim frees the 5 file pages in its first round, then nothing: a
    charge of ``nr`` never fits. A small one retries once for free on that
    progress; a costly one spends its retries."""
    m, a = _a_little_reclaimable()
    with pytest.raises(MemcgOOM):
        try_charge(m, a, nr)
    assert a.failcnt == attempts and a.stat["cache"] == 0


def test_reclaim_gives_up_after_two_fruitless_rounds(monkeypatch):
    m = Machine(ram_pages=32, swap_slots=0)
    a = m.create_memcg("A", limit=2)
    t = m.create_task("t", a)
    m.fault_anon(t), m.fault_anon(t)              # anon, no swap: nothing to free
    calls = []
    real = reclaim.try_to_free_mem_cgroup_pages

    def counting(*args, **kw):
        calls.append(args[1].name)
        return real(*args, **kw)
    monkeypatch.setattr(reclaim, "try_to_free_mem_cgroup_pages", counting)
    assert mem_cgroup_reclaim(m, a) == 0
    assert calls == ["A", "A"]


@pytest.mark.parametrize("ops", [Memcg317, Memcg316], ids=["3.17", "3.16"])
@pytest.mark.parametrize("path", sorted(DATA.glob("*.json")), ids=lambda p: p.stem)
def test_every_file_mapped_update_meets_a_charged_page(monkeypatch, ops, path):
    seen = []
    real = ops.update_file_mapped

    def checked(self, m, pfn, delta):
        seen.append(bool(m.mem.pc_flags[pfn] & PCG_USED))
        real(self, m, pfn, delta)
    monkeypatch.setattr(ops, "update_file_mapped", checked)
    design = "3.17" if ops is Memcg317 else "3.16"
    run_scenario(json.loads(path.read_text()), design, check_invariants=True)
    assert all(seen)


def test_file_mapped_is_exercised_by_the_shipped_scenarios(monkeypatch):
    """The check above is not vacuous: mapping and unmapping file pages,
    truncating and reclaiming them, happen in the shipped scenarios."""
    seen = []
    real = Memcg317.update_file_mapped
    monkeypatch.setattr(Memcg317, "update_file_mapped",
                        lambda self, m, pfn, d: (seen.append(d), real(self, m, pfn, d)))
    for path in sorted(DATA.glob("*.json")):
        run_scenario(json.loads(path.read_text()))
    assert seen.count(1) >= 3 and seen.count(-1) >= 3
