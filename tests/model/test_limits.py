"""Limits, hierarchy, reclaim at the limit and memcg OOM (docs/kernel-rules.md,
"mem_cgroup and res_counter", "Hierarchy" and "try_charge")."""
import pytest

from memcg_edu.errors import MemcgOOM, ModelUsageError
from memcg_edu.model import Machine


def test_charge_at_the_limit_reclaims_and_succeeds(m):
    a = m.create_memcg("A", limit=4)
    t = m.create_task("t", a)
    pages = [m.fault_anon(t) for _ in range(5)]
    assert a.usage <= 4 and a.failcnt == 1 and a.max_usage == 4
    assert pages[-1].charged and a.stat["swap"] >= 1


def test_oom_after_reclaim_fails_leaves_counters_consistent():
    # oom_kill_disable: no victim, so the failed charge itself is visible
    m = Machine(ram_pages=32, swap_slots=0, check_invariants=True)
    a = m.create_memcg("A", limit=2, oom_kill_disable=True)
    t = m.create_task("t", a)
    m.fault_anon(t), m.fault_anon(t)
    free_before = m.mem.nr_free
    with pytest.raises(MemcgOOM) as e:
        m.fault_anon(t)
    assert e.value.memcg == "A" and e.value.counter == "memory"
    assert e.value.outcome == "oom_kill_disable" and "sleep" in str(e.value)
    # one attempt + MEM_CGROUP_RECLAIM_RETRIES (5) retries, each failing
    assert a.failcnt == 6 and a.usage == 2 and a.max_usage == 2
    assert m.mem.nr_free == free_before        # the new page went back
    assert "mem_cgroup_oom" in m.events.kinds()


def test_small_charges_retry_while_reclaim_makes_progress(m):
    a = m.create_memcg("A", limit=3)
    t = m.create_task("t", a)
    for _ in range(3):
        m.add_to_page_cache(t, "f")
    m.fault_anon(t)                            # reclaim drops file pages
    assert a.failcnt == 1 and a.stat["cache"] < 3 and a.stat["rss"] == 1


def test_memsw_limit_stops_reclaim_from_swapping():
    m = Machine(ram_pages=32, swap_slots=16, check_invariants=True)
    a = m.create_memcg("A", limit=4, memsw_limit=4)
    t = m.create_task("t", a)
    for _ in range(4):
        m.fault_anon(t)
    with pytest.raises(MemcgOOM) as e:
        m.fault_anon(t)
    # the res charge fits? no: res fails first (memsw_is_minimum -> no swap)
    assert a.stat["swap"] == 0 and m.swap.nr_free == 16
    assert e.value.memcg == "A"


def test_memsw_failure_reclaims_without_swap():
    m = Machine(ram_pages=32, swap_slots=16, check_invariants=True)
    a = m.create_memcg("A", limit=3, memsw_limit=4, oom_kill_disable=True)
    t = m.create_task("t", a)
    for _ in range(4):                         # the 4th swaps to make room
        m.fault_anon(t)
    assert a.failcnt == 1 and a.memsw_usage == 4
    swapped, failcnt = a.stat["swap"], a.failcnt
    with pytest.raises(MemcgOOM) as e:
        m.fault_anon(t)
    assert e.value.counter == "memory+swap"
    # one attempt + 5 retries, each failing on memsw; reclaim may not swap
    assert a.memsw_failcnt == 6 and a.failcnt == failcnt
    assert a.stat["swap"] == swapped and a.memsw_usage == 4


def test_hierarchical_parent_limit_fails_the_childs_charge():
    m = Machine(ram_pages=32, swap_slots=0, check_invariants=True)
    par = m.create_memcg("P", use_hierarchy=True, limit=3, oom_kill_disable=True)
    c1 = m.create_memcg("C1", parent=par)
    c2 = m.create_memcg("C2", parent=par, limit=10)
    assert c1.use_hierarchy and c1.res.parent is par.res
    assert c2.oom_kill_disable                 # copied from the parent
    t1, t2 = m.create_task("t1", c1), m.create_task("t2", c2)
    m.fault_anon(t1), m.fault_anon(t1), m.fault_anon(t2)
    assert (par.usage, c1.usage, c2.usage) == (3, 2, 1)
    with pytest.raises(MemcgOOM) as e:
        m.fault_anon(t2)
    assert e.value.memcg == "P"
    # only P's failcnt moves; C2 was rolled back but keeps the transient peak
    assert (par.failcnt, c2.failcnt, c1.failcnt) == (6, 0, 0)
    assert (c2.usage, c2.max_usage, par.max_usage) == (1, 2, 3)


def test_parent_limit_reclaims_from_the_whole_subtree():
    m = Machine(ram_pages=32, swap_slots=0, check_invariants=True)
    par = m.create_memcg("P", use_hierarchy=True, limit=3)
    c1, c2 = m.create_memcg("C1", parent=par), m.create_memcg("C2", parent=par)
    t1, t2 = m.create_task("t1", c1), m.create_task("t2", c2)
    for _ in range(3):
        m.add_to_page_cache(t1, "f")
    m.fault_anon(t2)                           # P is full: C1's file pages go
    assert c1.stat["cache"] < 3 and c2.usage == 1 and par.usage <= 3


def test_non_hierarchical_child_is_not_linked():
    m = Machine(ram_pages=16, swap_slots=0)
    a = m.create_memcg("A", limit=1)
    b = m.create_memcg("B", parent=a)
    assert b.res.parent is None and not b.use_hierarchy
    t = m.create_task("t", b)
    m.fault_anon(t), m.fault_anon(t)           # A's limit does not apply
    assert (a.usage, b.usage) == (0, 2)


def test_use_hierarchy_cannot_be_cleared_under_a_hierarchical_parent(m):
    par = m.create_memcg("P", use_hierarchy=True)
    with pytest.raises(ModelUsageError, match="-EINVAL"):
        m.create_memcg("C", parent=par, use_hierarchy=False)
    m.create_memcg("C", parent=par)
    with pytest.raises(ModelUsageError, match="-EBUSY"):
        m.set_use_hierarchy(par, False)


def test_root_usage_is_computed_from_statistics(m):
    a = m.create_memcg("A")
    t, r = m.create_task("t", a), m.create_task("r")
    m.fault_anon(t)
    m.fault_anon(r)
    m.swap_out(m.fault_anon(r))
    assert m.root.res.usage == 0               # root's counter is not charged
    assert m.root.usage == 2                   # rss of A and root
    assert m.root.memsw_usage == 3             # + root's swap
    assert m.counters()["root"]["usage"] == 2


def test_root_counter_follows_hierarchical_children():
    m = Machine(ram_pages=16, swap_slots=0, check_invariants=True)
    m.set_use_hierarchy("root", True)
    a = m.create_memcg("A")
    m.fault_anon(m.create_task("t", a))
    assert m.root.res.usage == 1 and m.root.max_usage == 1


def test_set_limit_below_usage_reclaims(m):
    a = m.create_memcg("A")
    t = m.create_task("t", a)
    for _ in range(4):
        m.fault_anon(t)
    m.set_limit(a, limit=2)
    assert a.usage <= 2 and a.limit == 2 and a.stat["swap"] >= 2


def test_set_limit_that_cannot_be_reached_is_ebusy():
    m = Machine(ram_pages=16, swap_slots=0, check_invariants=True)
    a = m.create_memcg("A")
    t = m.create_task("t", a)
    m.fault_anon(t), m.fault_anon(t)
    with pytest.raises(ModelUsageError, match="-EBUSY"):
        m.set_limit(a, limit=1)
    assert a.limit is None and a.usage == 2


def test_limit_above_memsw_limit_is_einval(m):
    a = m.create_memcg("A", limit=4, memsw_limit=8)
    with pytest.raises(ModelUsageError, match="-EINVAL"):
        m.set_limit(a, limit=9)
    with pytest.raises(ModelUsageError, match="-EINVAL"):
        m.set_limit(a, memsw_limit=3)
    m.set_limit(a, limit=10, memsw_limit=12)   # raised in the right order
    assert (a.limit, a.memsw_limit) == (10, 12)
    m.set_limit(a, limit=None, memsw_limit=None)
    assert (a.limit, a.memsw_limit) == (None, None)


def test_bad_limits_are_usage_errors(m):
    a = m.create_memcg("A")
    with pytest.raises(ModelUsageError, match="number of pages"):
        m.set_limit(a, limit=-1)
    with pytest.raises(ModelUsageError, match="root"):
        m.set_limit("root", limit=3)
