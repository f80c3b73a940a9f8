"""The Linux 3.16 memcg API (memcg_edu.model.memcontrol_316), rule by rule.

Each test would fail if the rule it names were dropped from the model:
the refusals and early returns of __mem_cgroup_uncharge_common, the
SWAPOUT/DROP decision at swap cache deletion, PCG_MIGRATION, the uncharge
of an unmapped migration survivor, replace_page_cache, batching, the
page_cgroup lock and the root rules.
"""
import numpy as np
import pytest

from memcg_edu.errors import KernelBugError
from memcg_edu.model import Machine
from memcg_edu.model import memcontrol_316 as old
from memcg_edu.model import mm
from memcg_edu.model.memcg import COL
from memcg_edu.model.pages import PCG_USED, PG_anon, PG_swapbacked, PG_swapcache


def nums(m, name="A"):
    c = m.counters()[name]
    s = c["stat"]
    return (c["usage"], c["memsw_usage"], s["rss"], s["cache"], s["swap"],
            s["pgpgin"], s["pgpgout"])


@pytest.fixture
def m():
    return Machine(ram_pages=32, swap_slots=16, design="3.16", check_invariants=True)


@pytest.fixture
def a(m):
    return m.create_memcg("A")


@pytest.fixture
def p(m, a):
    return m.create_task("p", a)


def events_since(m, mark):
    return m.events.kinds(mark)


# -- __mem_cgroup_uncharge_common ---------------------------------------------
def test_uncharge_common_returns_early_without_pcg_used(m, p):
    x = m.fault_anon(p)
    m.unmap(p, x)                                 # uncharged and freed
    y = m.fault_anon(p)
    m.mem.pc_flags[y.pfn] = 0                     # a never-charged page
    before, mark, locks = nums(m), len(m.events), m.ops.locks
    assert old.__mem_cgroup_uncharge_common(m, y.pfn, "DROP") is None
    assert nums(m) == before
    assert m.ops.locks == locks                   # checked before taking the lock
    assert events_since(m, mark) == ["__mem_cgroup_uncharge_common:not_used"]


@pytest.mark.parametrize("ctype", ["ANON", "DROP"])
def test_anon_and_drop_refuse_a_mapped_page(m, p, ctype):
    x = m.fault_anon(p)
    mark, locks = len(m.events), m.ops.locks
    assert old.__mem_cgroup_uncharge_common(m, x.pfn, ctype) is None
    assert nums(m) == (1, 1, 1, 0, 0, 1, 0) and x.charged
    assert m.ops.locks == locks + 1               # decided under lock_page_cgroup
    assert events_since(m, mark)[-1] == "__mem_cgroup_uncharge_common:mapped"


def test_cache_type_has_no_checks(m, p):
    f = m.add_to_page_cache(p, file="f", mapped=True)
    assert old.__mem_cgroup_uncharge_common(m, f.pfn, "CACHE") is not None
    assert nums(m) == (0, 0, 0, 0, 0, 1, 1) and not f.charged


def test_drop_of_an_unmapped_page_gives_back_memory_and_memsw(m, p):
    x = m.fault_anon(p)
    m.mem.mapcount[x.pfn] = 0                     # as after the last unmap
    assert old.__mem_cgroup_uncharge_common(m, x.pfn, "DROP").name == "A"
    assert nums(m) == (0, 0, 0, 0, 0, 1, 1)
    assert int(m.mem.pc_memcg[x.pfn]) == m.memcgs["A"].index  # pc->mem_cgroup kept


def test_anon_type_counts_rss_even_without_pageanon(m, p):
    x = m.fault_anon(p)
    m.mem.mapcount[x.pfn] = 0
    m.mem.flags[x.pfn] &= 0xFFFF ^ PG_anon
    old.__mem_cgroup_uncharge_common(m, x.pfn, "ANON")
    assert nums(m)[2:4] == (0, 0)                 # rss went down, cache untouched


def test_swapout_keeps_memsw_and_counts_swap(m, p):
    x = m.fault_anon(p)
    m.mem.mapcount[x.pfn] = 0
    memcg = old.__mem_cgroup_uncharge_common(m, x.pfn, "SWAPOUT")
    assert memcg.name == "A"
    assert nums(m) == (0, 1, 0, 0, 1, 1, 1)
    assert memcg.swap_css_refs == 1               # css_get for the coming record


def test_swapout_refuses_a_mapped_anon_page(m, p):
    x = m.fault_anon(p)
    assert old.__mem_cgroup_uncharge_common(m, x.pfn, "SWAPOUT") is None
    assert nums(m) == (1, 1, 1, 0, 0, 1, 0)


def test_swapout_refuses_a_shmem_page_back_in_its_page_cache(m, p):
    s = m.fault_shmem(p, file="shm")
    m.unmap(p, s)
    mark = len(m.events)
    assert old.__mem_cgroup_uncharge_common(m, s.pfn, "SWAPOUT") is None
    assert events_since(m, mark)[-1] == "__mem_cgroup_uncharge_common:shmem_in_cache"
    m.mem.mapping[s.pfn] = -1                     # as after shmem_writepage
    assert old.__mem_cgroup_uncharge_common(m, s.pfn, "SWAPOUT") is not None
    assert nums(m) == (0, 1, 0, 0, 1, 1, 1)


def test_migration_bit_refuses_uncharge_except_for_end_migration(m, p):
    x = m.fault_anon(p)
    m.mem.mapcount[x.pfn] = 0
    m.mem.pc_flags[x.pfn] |= old.PCG_MIGRATION
    for ctype in ("ANON", "DROP"):
        assert old.__mem_cgroup_uncharge_common(m, x.pfn, ctype) is None
    assert m.events.kinds(len(m.events) - 1) == ["__mem_cgroup_uncharge_common:migration"]
    assert old.__mem_cgroup_uncharge_common(m, x.pfn, "ANON", end_migration=True)
    # end_migration: statistics only, the counters stay (the new page holds them)
    assert nums(m) == (1, 1, 0, 0, 0, 1, 1)


def test_unknown_charge_type_is_refused(m, p):
    x = m.fault_anon(p)
    with pytest.raises(ValueError):
        old.__mem_cgroup_uncharge_common(m, x.pfn, "MAPPED")


# -- the entry points in front of it ----------------------------------------------
def test_uncharge_page_defers_a_swap_cache_page(m, p):
    x = m.fault_anon(p)
    m.get_page(x)                                 # keep it from being reclaimed
    m.mem.flags[x.pfn] |= PG_swapcache
    m.mem.mapcount[x.pfn] = 0
    mark = len(m.events)
    assert old.mem_cgroup_uncharge_page(m, x.pfn) is None
    assert "mem_cgroup_uncharge_page:swapcache" in events_since(m, mark)
    assert nums(m) == (1, 1, 1, 0, 0, 1, 0)


def test_uncharge_page_returns_early_while_mapped(m, p):
    x = m.fault_anon(p)
    mark = len(m.events)
    assert old.mem_cgroup_uncharge_page(m, x.pfn) is None
    assert events_since(m, mark) == ["mem_cgroup_uncharge_page:mapped",
                                     "mem_cgroup_uncharge_page"]


def test_uncharge_page_of_a_cache_page_is_a_kernel_bug(m, p):
    f = m.add_to_page_cache(p, file="f")
    with pytest.raises(KernelBugError, match="page->mapping && !PageAnon"):
        old.mem_cgroup_uncharge_page(m, f.pfn)


def test_uncharge_cache_page_preconditions(m, p):
    f = m.add_to_page_cache(p, file="f", mapped=True)
    with pytest.raises(KernelBugError, match="page_mapped"):
        old.mem_cgroup_uncharge_cache_page(m, f.pfn)
    m.unmap(p, f)
    with pytest.raises(KernelBugError, match="page->mapping"):
        old.mem_cgroup_uncharge_cache_page(m, f.pfn)


def test_last_unmap_uncharges_an_anon_page_at_once(m, p):
    x = m.fault_anon(p)
    m.map(m.create_task("q", "A"), x)
    m.unmap(p, x)                                 # still mapped by q
    assert nums(m) == (1, 1, 1, 0, 0, 1, 0)
    m.unmap("q", x)                               # last unmap: uncharged and freed
    assert nums(m) == (0, 0, 0, 0, 0, 1, 1)


def test_truncation_uncharges_a_page_cache_page_at_once(m, p):
    f = m.add_to_page_cache(p, file="f")
    m.get_page(f)                                 # a pipe still holds it
    m.truncate(f)
    assert nums(m) == (0, 0, 0, 0, 0, 1, 1)
    assert f.alive and not f.charged
    m.put_page(f)


# -- swap cache deletion: SWAPOUT or DROP -----------------------------------------
def test_swap_cache_deletion_with_references_left_is_a_swapout(m, p):
    x = m.fault_anon(p)
    mark = len(m.events)
    e = m.swap_out(x)
    ev = events_since(m, mark)
    assert ev.index("mem_cgroup_uncharge_page:swapcache") < ev.index("mem_cgroup_uncharge_swapcache")
    assert nums(m) == (0, 1, 0, 0, 1, 1, 1)
    assert e.memcg == "A"                         # swap_cgroup_record(entry, A)


def test_swap_cache_deletion_of_an_unused_slot_is_a_drop(m, p):
    """Unmap-before-free: the page leaves the swap cache when its last pte goes."""
    x = m.fault_anon(p)
    e = m.swap_out(x)
    y = m.swap_in(p, e)                           # still in the swap cache
    assert y.swapcache and nums(m) == (1, 1, 1, 0, 0, 2, 1)
    mark = len(m.events)
    m.unmap(p, y)
    ev = events_since(m, mark)
    assert "mem_cgroup_uncharge_page:swapcache" in ev      # deferred at unmap ...
    assert ev.index("mem_cgroup_uncharge_page:swapcache") < \
        ev.index("mem_cgroup_uncharge_swapcache")          # ... done by the DROP
    assert nums(m) == (0, 0, 0, 0, 0, 2, 2)


def test_drop_of_a_mapped_swapped_in_page_is_refused(m, p):
    x = m.fault_anon(p)
    e = m.swap_out(x)
    m.swap_in(p, e)
    mark = len(m.events)
    m.free_swap(e)                                # try_to_free_swap
    assert "__mem_cgroup_uncharge_common:mapped" in events_since(m, mark)
    assert nums(m) == (1, 1, 1, 0, 0, 2, 1)


def test_shmem_swap_in_deletion_is_a_refused_swapout(m, p):
    s = m.fault_shmem(p, file="shm")
    e = m.swap_out(s)
    assert nums(m) == (0, 1, 0, 0, 1, 1, 1)
    mark = len(m.events)
    m.swap_in(p, e)
    ev = events_since(m, mark)
    assert "mem_cgroup_charge_file" in ev
    assert "__mem_cgroup_uncharge_common:shmem_in_cache" in ev
    assert nums(m) == (1, 1, 0, 1, 0, 2, 1)


# -- swap-in ------------------------------------------------------------------------
def test_swapin_charges_the_recorded_memcg_and_drops_the_duplicate(m, a):
    p = m.create_task("p", a)
    x = m.fault_anon(p)
    e = m.swap_out(x)
    m.move_task(p, m.create_memcg("B"), move_charge=False)
    y = m.swap_in(p, e)                           # the slot records A
    assert y.memcg == "A" and nums(m) == (1, 1, 1, 0, 0, 2, 1)
    assert e.memcg is None


def test_try_charge_swapin_of_a_charged_page_needs_nothing(m, p):
    x = m.fault_anon(p)
    e = m.swap_out(x)
    y = m.swap_in(p, e)
    mm.lock_page(m, y.pfn)
    mark = len(m.events)
    assert old.mem_cgroup_try_charge_swapin(m, y.pfn, m.memcgs["A"]) is None
    assert events_since(m, mark)[0] == "mem_cgroup_try_charge_swapin:already_charged"
    mm.unlock_page(m, y.pfn)
    old.mem_cgroup_commit_charge_swapin(m, y.pfn, None)   # None: no-op
    assert nums(m) == (1, 1, 1, 0, 0, 2, 1)


def test_try_get_memcg_from_page_needs_the_page_lock(m, p):
    x = m.fault_anon(p)
    with pytest.raises(KernelBugError, match="PageLocked"):
        old.try_get_mem_cgroup_from_page(m, x.pfn)


def test_cancel_charge_swapin_gives_the_reservation_back(m, a):
    old.try_charge(m, a, 1)
    assert nums(m)[:2] == (1, 1)
    old.mem_cgroup_cancel_charge_swapin(m, a)
    old.mem_cgroup_cancel_charge_swapin(m, None)
    assert nums(m)[:2] == (0, 0)


# -- commit -------------------------------------------------------------------------
def test_commit_of_a_charged_page_is_a_kernel_bug(m, p, a):
    x = m.fault_anon(p)
    with pytest.raises(KernelBugError, match="PageCgroupUsed"):
        old.__mem_cgroup_commit_charge(m, a, x.pfn, "ANON", False)
    assert not m.mem.pc_flags[x.pfn] & old.PCG_LOCK      # the lock was released


def test_charge_type_decides_the_statistic(m, p):
    s = m.fault_shmem(p, file="shm")             # swap-backed, charged as CACHE
    assert nums(m)[2:4] == (0, 1) and m.mem.flags[s.pfn] & PG_swapbacked


# -- migration ----------------------------------------------------------------------
def _prepared(m, p):
    """An anon page X of p and a new page N after prepare_migration and try_to_unmap."""
    x = m.fault_anon(p)
    mm.lock_page(m, x.pfn)
    n = int(m.mem.alloc(1)[0])
    memcg = old.mem_cgroup_prepare_migration(m, x.pfn, n)
    for tid, v in mm.rmap_all(m, x.pfn):         # try_to_unmap, migration entries
        mm.rmap_del(m, x.pfn, tid, v)
        mm.page_remove_rmap(m, x.pfn)
    return x, n, memcg


def test_prepare_commits_the_new_page_without_a_charge(m, p):
    x, n, memcg = _prepared(m, p)
    assert memcg.name == "A"
    assert nums(m) == (1, 1, 2, 0, 0, 2, 0)      # statistics count both pages
    assert m.mem.pc_flags[n] & PCG_USED
    assert m.mem.pc_flags[x.pfn] & old.PCG_MIGRATION
    assert x.charged                             # the unmap's uncharge was refused
    assert m.page_state()["pc_flags"][x.pfn] == 2 | 4   # PCG_USED | PCG_MIGRATION


def test_end_migration_failure_drops_the_new_page(m, p):
    x, n, memcg = _prepared(m, p)
    mm.rmap_add(m, x.pfn, p.tid, 0)              # remove_migration_ptes(X, X)
    m.mem.mapcount[x.pfn] += 1
    old.mem_cgroup_end_migration(m, memcg, x.pfn, n, False)
    assert nums(m) == (1, 1, 1, 0, 0, 2, 1)
    assert x.charged and not m.mem.pc_flags[n] & PCG_USED
    assert not m.mem.pc_flags[x.pfn] & old.PCG_MIGRATION


def test_end_migration_uncharges_an_unmapped_survivor(m, p):
    """Scenario B 3c: the task exited during migration, N is never mapped."""
    x, n, memcg = _prepared(m, p)
    m.mem.flags[n] |= PG_anon | PG_swapbacked     # move_to_new_page
    mark = len(m.events)
    old.mem_cgroup_end_migration(m, memcg, x.pfn, n, True)
    assert "mem_cgroup_end_migration:unmapped_survivor" in events_since(m, mark)
    assert nums(m) == (0, 0, 0, 0, 0, 2, 2)
    assert not m.mem.pc_flags[n] & PCG_USED and not x.charged


def test_prepare_of_an_uncharged_page_does_nothing(m, p):
    x = m.fault_anon(p)
    m.mem.pc_flags[x.pfn] = 0
    n = int(m.mem.alloc(1)[0])
    assert old.mem_cgroup_prepare_migration(m, x.pfn, n) is None
    assert not m.mem.pc_flags[n]
    old.mem_cgroup_end_migration(m, None, x.pfn, n, True)     # and end neither
    assert not m.mem.pc_flags[n]


def test_failed_migration_of_a_pinned_page_keeps_the_statistics_churn(m, p):
    x = m.fault_anon(p)
    m.get_page(x)
    assert m.migrate(x) == x                     # -EAGAIN: someone holds a reference
    assert nums(m) == (1, 1, 1, 0, 0, 2, 1)


# -- page cache replacement -------------------------------------------------------------
def test_replace_page_cache_moves_the_charge_without_counters(m, p):
    f = m.add_to_page_cache(p, file="f")
    mark, locks = len(m.events), m.ops.locks
    g = m.replace_page_cache(f)
    assert g.charged and g.memcg == "A" and not f.alive
    assert nums(m) == (1, 1, 0, 1, 0, 2, 1)
    assert "mem_cgroup_replace_page_cache" in events_since(m, mark)
    assert m.ops.locks - locks == 2              # old page, then the commit


def test_replace_page_cache_with_a_charged_page_is_a_kernel_bug(m, p):
    f = m.add_to_page_cache(p, file="f")
    g = int(m.mem.alloc(1)[0])
    old.__mem_cgroup_commit_charge(m, m.memcgs["A"], g, "CACHE", False)
    with pytest.raises(KernelBugError, match="PageCgroupUsed"):
        old.mem_cgroup_replace_page_cache(m, f.pfn, g)


# -- batching -----------------------------------------------------------------------------
def test_uncharge_batch_defers_counters_until_the_outermost_end(m, p, a):
    b = m.create_memcg("B")
    xs = [m.fault_anon(p) for _ in range(2)]
    y = m.fault_anon(m.create_task("q", b))
    for pg in xs + [y]:
        m.mem.mapcount[pg.pfn] = 0
    old.mem_cgroup_uncharge_start(m)
    old.mem_cgroup_uncharge_start(m)             # nested
    for pg in xs:
        old.__mem_cgroup_uncharge_common(m, pg.pfn, "ANON")
    old.__mem_cgroup_uncharge_common(m, y.pfn, "ANON")      # other memcg: direct
    assert nums(m)[:3] == (2, 2, 0)              # statistics now, counters later
    assert nums(m, "B")[:3] == (0, 0, 0)
    old.mem_cgroup_uncharge_end(m)
    assert nums(m)[:2] == (2, 2)
    old.mem_cgroup_uncharge_end(m)
    assert nums(m)[:2] == (0, 0)
    assert m.ops.batch.memcg is None and m.ops.batch.do_batch == 0


def test_swapout_in_a_batch_defers_only_memory(m, p):
    x = m.fault_anon(p)
    m.mem.mapcount[x.pfn] = 0
    old.mem_cgroup_uncharge_start(m)
    old.__mem_cgroup_uncharge_common(m, x.pfn, "SWAPOUT")
    old.mem_cgroup_uncharge_end(m)
    assert nums(m)[:2] == (0, 1)


# -- the page_cgroup lock -------------------------------------------------------------------
def test_lock_page_cgroup_is_counted_and_cannot_be_taken_twice(m, p):
    x = m.fault_anon(p)
    n = m.ops.locks
    old.lock_page_cgroup(m, x.pfn)
    assert m.ops.locks == n + 1 and m.page_state()["pc_flags"][x.pfn] == 1 | 2
    with pytest.raises(KernelBugError, match="bit_spin_lock"):
        old.lock_page_cgroup(m, x.pfn)
    old.unlock_page_cgroup(m, x.pfn)
    assert m.page_state()["pc_flags"][x.pfn] == 2


def test_pc_flags_view_translates_to_316_bits():
    flags = np.array([0, 0x07, 0x07 | old.PCG_MIGRATION, old.PCG_LOCK], np.uint8)
    assert old.pc_flags_316(flags).tolist() == [0, 2, 6, 1]


# -- root ---------------------------------------------------------------------------------------
def test_root_is_never_charged_but_gets_statistics(m):
    r = m.create_task("r", "root")
    mark = len(m.events)
    x = m.fault_anon(r)
    assert "mem_cgroup_try_charge:root" in events_since(m, mark)
    root = m.memcgs["root"]
    assert root.row[COL["usage"]] == 0 and root.stat["rss"] == 1 and root.usage == 1
    mark = len(m.events)
    m.unmap(r, x)
    assert "__mem_cgroup_uncharge_common:root" in events_since(m, mark)
    assert root.row[COL["usage"]] == 0 and root.stat["rss"] == 0


def test_root_swap_record_gives_back_no_memsw(m):
    r = m.create_task("r", "root")
    x = m.fault_anon(r)
    e = m.swap_out(x)
    root = m.memcgs["root"]
    assert e.memcg == "root" and root.stat["swap"] == 1 and root.row[COL["memsw_usage"]] == 0
    mark = len(m.events)
    m.unmap(r, e)                                # the slot is freed
    assert "mem_cgroup_uncharge_swap:root" in events_since(m, mark)
    assert root.stat["swap"] == 0 and root.row[COL["memsw_usage"]] == 0


# -- charge moving -----------------------------------------------------------------------------
def test_move_account_takes_the_page_cgroup_lock(m, p):
    x = m.fault_anon(p)
    b = m.create_memcg("B")
    n = m.ops.locks
    m.move_task(p, b, move_charge=True)
    assert x.memcg == "B" and m.ops.locks > n
    assert nums(m, "B")[:3] == (1, 1, 1) and nums(m)[:3] == (0, 0, 0)


def test_move_account_preconditions(m, p, a):
    x = m.fault_anon(p)
    with pytest.raises(KernelBugError, match="from == to"):
        old.mem_cgroup_move_account(m, x.pfn, a, a)
    with pytest.raises(KernelBugError, match="PageLRU"):
        old.mem_cgroup_move_account(m, x.pfn, a, m.create_memcg("B"))


# -- limits ----------------------------------------------------------------------------------------
def test_charge_at_the_limit_ends_in_oom_with_nothing_committed():
    from memcg_edu.errors import MemcgOOM
    m = Machine(ram_pages=16, swap_slots=0, design="3.16", check_invariants=True)
    a = m.create_memcg("A", limit=2, oom_kill_disable=True)
    p = m.create_task("p", a)
    m.fault_anon(p)
    m.fault_anon(p)
    with pytest.raises(MemcgOOM):
        m.fault_anon(p)
    i = len(m.events.kinds()) - 1 - m.events.kinds()[::-1].index("mem_cgroup_charge_anon")
    assert m.events[i]["nr"] == 0                # the failed charge committed nothing
    assert nums(m) == (2, 2, 2, 0, 0, 2, 0) and a.failcnt > 0
    assert m.mem.nr_free == 14
