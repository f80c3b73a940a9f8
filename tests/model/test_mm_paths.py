"""The mm callers (mm.py, reclaim.py, migrate.py, move_charge.py) through the Machine."""
import pytest

from memcg_edu.errors import MemcgOOM, ModelUsageError
from memcg_edu.model import Machine, mm
from memcg_edu.model.lru import LRU_ACTIVE_ANON, LRU_INACTIVE_ANON, LRU_INACTIVE_FILE


def test_fault_anon_charges_the_tasks_memcg_and_goes_on_the_active_anon_list(m, nums):
    a = m.create_memcg("A")
    p = m.fault_anon(m.create_task("p", a))
    assert nums(a) == (1, 1, 1, 0, 0, 1, 0)
    assert m.mem.lru[p.pfn] == LRU_ACTIVE_ANON and a.stat["active_anon"] == 1
    assert m.events.kinds(len(m.events) - 3) == [
        "mem_cgroup_try_charge", "mem_cgroup_commit_charge", "fault_anon"]


def test_page_cache_page_is_cache_and_mapped_file_counts_first_map_only(m, nums):
    a = m.create_memcg("A")
    t, u = m.create_task("t", a), m.create_task("u", a)
    f = m.add_to_page_cache(t, "f")
    assert nums(a) == (1, 1, 0, 1, 0, 1, 0) and a.stat["mapped_file"] == 0
    assert m.mem.lru[f.pfn] == LRU_INACTIVE_FILE and f.refcount == 1
    m.map(t, f)
    m.map(u, f)
    assert a.stat["mapped_file"] == 1 and f.mapcount == 2
    m.unmap(t, f)
    assert a.stat["mapped_file"] == 1
    m.unmap(u, f)
    assert a.stat["mapped_file"] == 0 and f.alive and a.usage == 1
    m.truncate(f)
    assert nums(a) == (0, 0, 0, 0, 0, 1, 1) and not f.alive


def test_mapped_read_and_truncate_of_a_mapped_page(m, nums):
    a = m.create_memcg("A")
    t = m.create_task("t", a)
    f = m.add_to_page_cache(t, "f", mapped=True)
    assert a.stat["mapped_file"] == 1 and f.refcount == 2
    m.truncate(f)                              # unmap_mapping_range first
    assert nums(a) == (0, 0, 0, 0, 0, 1, 1)
    assert t.entries().size == 0


def test_shmem_page_lives_on_the_anon_lru_but_counts_as_cache(m):
    a = m.create_memcg("A")
    s = m.fault_shmem(m.create_task("t", a))
    assert (a.stat["cache"], a.stat["rss"], a.stat["mapped_file"]) == (1, 0, 1)
    assert m.mem.lru[s.pfn] == LRU_INACTIVE_ANON


def test_fork_sharing_keeps_one_charge(m, nums):
    a, b = m.create_memcg("A"), m.create_memcg("B")
    t, u = m.create_task("t", a), m.create_task("u", b)
    p = m.fault_anon(t)
    m.map(u, p)
    m.unmap(t, p)
    assert nums(a) == (1, 1, 1, 0, 0, 1, 0) and b.usage == 0
    m.unmap(u, p)
    assert nums(a) == (0, 0, 0, 0, 0, 1, 1)


def test_unmapping_the_last_swap_pte_frees_the_slot_and_its_charge(m, nums):
    a = m.create_memcg("A")
    t, u = m.create_task("t", a), m.create_task("u", a)
    e = m.swap_out(m.fault_anon(t))
    m.map(u, e)
    assert e.count == 2
    m.unmap(t, e)
    assert nums(a) == (0, 1, 0, 0, 1, 1, 1) and e.alive
    m.unmap(u, e)
    assert nums(a) == (0, 0, 0, 0, 0, 1, 1) and not e.alive
    assert m.events.kinds(len(m.events) - 2) == ["mem_cgroup_uncharge_swap", "unmap"]


def test_exit_task_drops_pages_and_swap_entries(m):
    a = m.create_memcg("A")
    t = m.create_task("t", a)
    m.fault_anon(t)
    m.swap_out(m.fault_anon(t))
    f = m.add_to_page_cache(t, "f", mapped=True)
    m.exit_task(t)
    assert (a.usage, a.memsw_usage, a.stat["swap"]) == (1, 1, 0)   # the file page stays
    assert f.mapcount == 0 and "t" not in m.tasks
    with pytest.raises(ModelUsageError, match="no task"):
        m.fault_anon(t)


def test_swap_out_of_a_pinned_page_leaves_it_in_the_swap_cache(m):
    a = m.create_memcg("A")
    t = m.create_task("t", a)
    p = m.fault_anon(t)
    m.get_page(p)
    e = m.swap_out(p)                          # __remove_mapping fails: count != 2
    assert p.alive and p.swapcache and p.charged and p.lru
    assert e.count == 1 and e.memcg is None and a.usage == 1
    m.put_page(p)
    e2 = m.swap_out(p)                         # now it goes
    assert e2 == e and not p.alive and e.memcg == "A"


def test_replace_page_cache_with_an_already_charged_page_keeps_both_charges(m, nums):
    a, b = m.create_memcg("A"), m.create_memcg("B")
    ta, tb = m.create_task("ta", a), m.create_task("tb", b)
    old = m.add_to_page_cache(ta, "f")
    pipe = m.add_to_page_cache(tb, "g")
    m.get_page(pipe)                           # the pipe buffer's reference
    m.truncate(pipe)                           # it left g, still charged to B
    new = m.replace_page_cache(old, with_=pipe)
    assert new == pipe and new.memcg == "B" and new.lruvec == "B"
    assert nums(a) == (0, 0, 0, 0, 0, 1, 1)    # old was uncharged at its final put
    assert nums(b) == (1, 1, 0, 1, 0, 1, 0)
    assert m.files["f"].pages == {0: pipe.pfn}


def test_replace_page_cache_rejects_pages_fuse_would_not_steal(m):
    a = m.create_memcg("A")
    t = m.create_task("t", a)
    f, g = m.add_to_page_cache(t, "f"), m.add_to_page_cache(t, "g")
    with pytest.raises(ModelUsageError, match="fuse_check_page"):
        m.replace_page_cache(f, with_=g)


def test_migration_of_a_page_cache_page(m):
    a = m.create_memcg("A")
    t = m.create_task("t", a)
    f = m.add_to_page_cache(t, "f", mapped=True)
    n = m.migrate(f)
    assert n.memcg == "A" and n.mapcount == 1 and a.stat["mapped_file"] == 1
    assert m.files["f"].pages == {0: n.pfn} and a.usage == 1


def test_migration_of_a_swap_cache_page_moves_the_slot(m):
    a = m.create_memcg("A")
    t = m.create_task("t", a)
    e = m.swap_out(m.fault_anon(t))
    y = m.swap_in(t, e)
    n = m.migrate(y)
    assert n.swapcache and m.swap.page[e.slot] == n.pfn and a.usage == 1


def test_reclaim_drops_file_pages_and_swaps_anon(m, nums):
    a = m.create_memcg("A")
    t = m.create_task("t", a)
    for _ in range(3):
        m.add_to_page_cache(t, "f")
        m.fault_anon(t)
    assert m.reclaim(a, 6) == 6
    assert nums(a) == (0, 3, 0, 0, 3, 6, 6)
    assert m.reclaim(a, 6) == 0


def test_reclaim_without_swap_leaves_anon_alone(m):
    a = m.create_memcg("A")
    t = m.create_task("t", a)
    m.fault_anon(t)
    m.add_to_page_cache(t, "f")
    assert m.reclaim(a, 8, may_swap=False) == 1
    assert (a.stat["rss"], a.stat["cache"]) == (1, 0)


def test_move_task_moves_pages_and_swap_charges(m, nums):
    a, b = m.create_memcg("A"), m.create_memcg("B")
    t = m.create_task("t", a)
    p = m.fault_anon(t)
    e = m.swap_out(m.fault_anon(t))
    f = m.add_to_page_cache(t, "f", mapped=True)
    m.move_task(t, b, move_charge=True)
    assert nums(a) == (0, 0, 0, 0, 0, 3, 3)
    assert nums(b) == (2, 3, 1, 1, 1, 2, 0)
    assert p.memcg == "B" and p.lruvec == "B" and e.memcg == "B" and f.memcg == "B"
    assert b.swap_css_refs == 1 and a.swap_css_refs == 0
    assert b.max_usage == 3                    # the precharge covered the swap entry too


def test_move_task_without_move_charge_leaves_charges_behind(m):
    a, b = m.create_memcg("A"), m.create_memcg("B")
    t = m.create_task("t", a)
    p = m.fault_anon(t)
    m.move_task(t, b, move_charge=False)
    assert p.memcg == "A" and t.memcg is b and m.fault_anon(t).memcg == "B"


def test_move_task_anon_only_mask_skips_file_pages(m):
    a, b = m.create_memcg("A"), m.create_memcg("B")
    t = m.create_task("t", a)
    p = m.fault_anon(t)
    f = m.add_to_page_cache(t, "f", mapped=True)
    m.move_task(t, b, move_charge=1)
    assert (p.memcg, f.memcg) == ("B", "A")


def test_move_task_is_refused_when_the_precharge_fails(m):
    a, b = m.create_memcg("A"), m.create_memcg("B", limit=1, memsw_limit=1)
    t = m.create_task("t", a)
    m.fault_anon(t), m.fault_anon(t)
    from memcg_edu.errors import MemcgOOM
    with pytest.raises(MemcgOOM):
        m.move_task(t, b)
    assert t.memcg is a and a.usage == 2 and b.usage == 0


def test_stale_and_foreign_handles_are_usage_errors(m):
    a = m.create_memcg("A")
    t = m.create_task("t", a)
    p = m.fault_anon(t)
    m.unmap(t, p)
    with pytest.raises(ModelUsageError, match="no longer exists"):
        m.unmap(t, p)
    other = Machine(ram_pages=4, swap_slots=0)
    q = other.fault_anon(other.create_task("x"))
    with pytest.raises(ModelUsageError, match="another Machine"):
        m.get_page(q)
    with pytest.raises(ModelUsageError, match="expected a Page"):
        m.get_page(3)


def test_put_page_without_get_page_is_refused(m):
    t = m.create_task("t")
    p = m.fault_anon(t)
    with pytest.raises(ModelUsageError, match="without a matching get_page"):
        m.put_page(p)


def test_unmap_of_a_page_the_task_does_not_map(m):
    t, u = m.create_task("t"), m.create_task("u")
    p = m.fault_anon(t)
    with pytest.raises(ModelUsageError, match="does not map"):
        m.unmap(u, p)


def test_out_of_ram_is_a_clear_error():
    m = Machine(ram_pages=2, swap_slots=0)
    t = m.create_task("t")
    m.fault_anon(t), m.fault_anon(t)
    with pytest.raises(ModelUsageError, match="out of simulated RAM"):
        m.fault_anon(t)


def test_design_316_or_unknown():
    with pytest.raises(ModelUsageError, match="unknown design"):
        Machine(design="2.6")


def test_migration_without_a_free_frame_puts_the_page_back():
    m = Machine(ram_pages=2, swap_slots=0, check_invariants=True)
    t = m.create_task("t")
    p = m.fault_anon(t)
    m.fault_anon(t)
    with pytest.raises(ModelUsageError, match="out of simulated RAM"):
        m.migrate(p)
    assert p.lru and p.refcount == 1


def _calls_since(m, n):
    """(kind, memcg name, nr) of the events recorded from event ``n`` on."""
    ev = m.events
    return [(ev.kind_names[k], m.memcg_list[g].name if g >= 0 else None, int(nr))
            for k, g, nr in zip(ev.array("kind")[n:], ev.array("memcg")[n:],
                                ev.array("nr")[n:])]


def test_clear_mc_cancels_leftover_precharges_with_an_event(m):
    a, b = m.create_memcg("A"), m.create_memcg("B", limit=1, memsw_limit=1)
    t = m.create_task("t", a)
    m.fault_anon(t), m.fault_anon(t)
    n = len(m.events)
    with pytest.raises(MemcgOOM):             # 1 of 2 precharges succeeds
        m.move_task(t, b)
    calls = _calls_since(m, n)
    assert ("cancel_charge", "B", 1) in calls
    assert calls.index(("cancel_charge", "B", 1)) < [c[0] for c in calls].index(
        "mem_cgroup_clear_mc")
    assert b.usage == 0


def test_clear_mc_cancels_an_unused_precharge_of_a_locked_page(m):
    a, b = m.create_memcg("A"), m.create_memcg("B")
    t = m.create_task("t", a)
    p, q = m.fault_anon(t), m.fault_anon(t)
    mm.lock_page(m, q.pfn)                    # move_account's trylock_page fails
    n = len(m.events)
    m.move_task(t, b)
    mm.unlock_page(m, q.pfn)
    calls = [c for c in _calls_since(m, n) if c[0] != "mem_cgroup_page_lruvec"]
    assert calls == [("mem_cgroup_move_account", "B", 1),
                     ("mem_cgroup_move_account", None, 0),
                     ("cancel_charge", "B", 1),      # q's unused precharge
                     ("cancel_charge", "A", 1),      # p's charge left on A
                     ("mem_cgroup_clear_mc", "B", 0), ("move_task", "B", 1)]
    assert (p.memcg, q.memcg, a.usage, b.usage) == ("B", "A", 1, 1)


def test_clear_mc_names_the_3_16_cancel_helper():
    m = Machine(ram_pages=16, swap_slots=8, design="3.16", check_invariants=True)
    a, b = m.create_memcg("A"), m.create_memcg("B")
    t = m.create_task("t", a)
    m.fault_anon(t)
    n = len(m.events)
    m.move_task(t, b)
    assert ("__mem_cgroup_cancel_charge", "A", 1) in _calls_since(m, n)
    assert (a.usage, b.usage) == (0, 1)
