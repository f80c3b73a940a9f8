"""Replays of docs/kernel-rules.md, "Worked scenarios" (the 3.17 release's
numbers). Tuples are
res / memsw / rss / cache / swap / pgpgin / pgpgout of A, in pages."""
from memcg_edu.model import Machine
from memcg_edu.model import memcontrol as mc
from memcg_edu.model.lru import isolate_lru_page
from memcg_edu.model.pages import PCG_MEM, PCG_MEMSW, PCG_USED, PG_anon, PG_locked

FULL = PCG_USED | PCG_MEM | PCG_MEMSW


def machine():
    m = Machine(ram_pages=32, swap_slots=16, check_invariants=True)
    a = m.create_memcg("A")
    return m, a, m.create_task("P", a)


def test_A_page_pinned_by_a_second_reference_stays_charged_until_the_final_put(nums):
    m, a, p = machine()
    x = m.fault_anon(p)
    assert nums(a) == (1, 1, 1, 0, 0, 1, 0) and x.pc_flags == FULL
    assert x.lruvec == "A" and x.active
    m.get_page(x)                              # direct I/O pins X
    m.unmap(p, x)                              # step 1: no memcg call
    assert nums(a) == (1, 1, 1, 0, 0, 1, 0)
    assert x.lruvec == "A" and x.charged
    assert m.events.kinds(len(m.events) - 1) == ["unmap"]
    m.put_page(x)                              # step 2: the final put uncharges
    assert nums(a) == (0, 0, 0, 0, 0, 1, 1)
    assert not x.alive
    assert m.events.kinds(len(m.events) - 2) == ["mem_cgroup_uncharge", "put_page"]


def test_A2_truncated_page_held_by_a_pipe_is_uncharged_at_release(nums):
    m, a, p = machine()
    y = m.add_to_page_cache(p, "f")
    assert nums(a) == (1, 1, 0, 1, 0, 1, 0)
    m.get_page(y)                              # a pipe buffer holds Y
    m.truncate(y)
    assert nums(a) == (1, 1, 0, 1, 0, 1, 0)    # still charged while in use
    m.put_page(y)
    assert nums(a) == (0, 0, 0, 0, 0, 1, 1)


def test_B_3a_failed_migration_keeps_the_old_page_charged(nums):
    m, a, p = machine()
    x = m.fault_anon(p)
    m.get_page(x)                              # an extra reference: -EAGAIN
    assert m.migrate(x) == x
    assert nums(a) == (1, 1, 1, 0, 0, 1, 0)
    assert x.pc_flags == FULL and x.mapcount == 1 and x.lruvec == "A"


def test_B_3b_successful_migration_transfers_the_charge(nums):
    m, a, p = machine()
    x = m.fault_anon(p)
    start = len(m.events)
    n = m.migrate(x)
    assert n != x and not x.alive
    assert nums(a) == (1, 1, 1, 0, 0, 1, 0)    # REL: no pgpgin/pgpgout churn
    assert n.pc_flags == FULL and n.memcg == "A" and n.lruvec == "A"
    assert n.mapcount == 1
    kinds = m.events.kinds(start)
    # mem_cgroup_migrate, then the old page is put back on root's lruvec
    # (mem_cgroup_page_lruvec switches it) and its final put returns early
    assert kinds.index("mem_cgroup_migrate") < kinds.index("mem_cgroup_page_lruvec")
    assert not any(k.startswith("mem_cgroup_uncharge") for k in kinds)
    ev = m.events[start + kinds.index("mem_cgroup_page_lruvec")]
    assert ev["pfn"] == x.pfn and ev["memcg"] == "root"


def test_B_3c_migrated_page_of_an_exited_task_is_uncharged_normally(nums):
    m, a, p = machine()
    n = m.migrate(m.fault_anon(p))
    m.exit_task(p)
    assert nums(a) == (0, 0, 0, 0, 0, 1, 1) and not n.alive


def test_B_4_re_entrant_migration_leaves_the_second_target_uncharged():
    m, a, p = machine()
    x = m.fault_anon(p)
    isolate_lru_page(m, x.pfn)
    n, n2 = (int(v) for v in m.mem.alloc(2))
    for pfn in (n, n2):
        m.mem.flags[pfn] |= PG_anon
        m.mem.mapping[pfn] = p.tid
    m.mem.flags[[x.pfn, n, n2]] |= PG_locked
    mc.mem_cgroup_migrate(m, x.pfn, n, False)
    mc.mem_cgroup_migrate(m, x.pfn, n2, False)  # X was picked up again
    assert m.mem.pc_flags[n] == FULL and m.mem.pc_flags[n2] == 0
    assert a.res.usage == 1


def test_C_swap_out_and_in_moves_the_charge_through_the_slot(nums):
    m, a, p = machine()
    x = m.fault_anon(p)
    e1 = m.swap_out(x)                         # steps 1-2
    assert nums(a) == (0, 1, 0, 0, 1, 1, 1)
    assert e1.memcg == "A" and not x.alive
    y = m.swap_in(p, e1)                       # steps 3-5
    assert nums(a) == (1, 1, 1, 0, 0, 2, 1)
    assert y.charged and y.lruvec == "A" and y.swapcache
    assert e1.memcg is None and e1.count == 0 and e1.in_swap_cache
    kinds = m.events.kinds(len(m.events) - 5)
    assert kinds[-4:] == ["mem_cgroup_try_charge", "mem_cgroup_commit_charge",
                          "mem_cgroup_uncharge_swap", "swap_in"]
    before = len(m.events)
    m.free_swap(e1)                            # step 6: try_to_free_swap
    assert nums(a) == (1, 1, 1, 0, 0, 2, 1) and not e1.alive
    assert m.events.kinds(before) == ["free_swap"]     # no memcg call at all
    e2 = m.swap_out(y)                         # step 7
    assert nums(a) == (0, 1, 0, 0, 1, 2, 2) and e2.memcg == "A"


def test_C_readahead_page_sits_on_roots_lru_until_the_commit():
    m, a, p = machine()
    e1 = m.swap_out(m.fault_anon(p))
    from memcg_edu.model.mm import _read_swap_cache_async
    pfn = _read_swap_cache_async(m, e1.slot)
    assert m.mem.lru_memcg[pfn] == 0 and m.mem.pc_flags[pfn] == 0
    m.mem.refcount[pfn] -= 1                   # drop the reader's reference
    y = m.swap_in(p, e1)
    assert y.pfn == pfn and y.lruvec == "A"


def test_C_unmap_before_free_uncharges_at_release(nums):
    m, a, p = machine()
    y = m.swap_in(p, m.swap_out(m.fault_anon(p)))
    m.unmap(p, y)                              # free_swap_cache, then release_pages
    assert nums(a) == (0, 0, 0, 0, 0, 2, 2)
    assert m.swap.nr_free == m.swap.nr


def test_C_second_fault_on_a_shared_swap_entry_is_already_charged(nums):
    m, a, p = machine()
    q = m.create_task("Q", a)
    e1 = m.swap_out(m.fault_anon(p))
    m.map(q, e1)                               # fork copied the swap pte
    y = m.swap_in(p, e1)
    assert nums(a) == (1, 1, 1, 0, 0, 2, 1)
    assert m.swap_in(q, e1) == y               # try_charge returns NULL
    assert nums(a) == (1, 1, 1, 0, 0, 2, 1) and y.mapcount == 2


def test_D_shmem_round_trip(nums):
    m, a, p = machine()
    s = m.fault_shmem(p, "shm")
    assert nums(a) == (1, 1, 0, 1, 0, 1, 0)
    assert not s.anon and s.swapbacked and s.lruvec == "A"
    assert m.mem.lru[s.pfn] == 0               # anon LRU, cache statistic
    e = m.swap_out(s)                          # shmem_writepage + __remove_mapping
    assert nums(a) == (0, 1, 0, 0, 1, 1, 1) and e.memcg == "A"
    s2 = m.swap_in(p, e)                       # shmem_getpage_gfp swap branch
    assert nums(a) == (1, 1, 0, 1, 0, 2, 1)
    assert not e.alive and not s2.swapcache and s2.charged
    assert m.files["shm"].pages == {0: s2.pfn}
