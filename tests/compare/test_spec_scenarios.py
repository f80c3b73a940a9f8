"""Every worked scenario of docs/kernel-rules.md, "Worked scenarios", under both designs.

Counters are A's res / memsw / rss / cache / swap / pgpgin / pgpgout in
pages, as that section gives them (3.17 numbers are the release's: no
statistics churn at migration). Steps inside one kernel path (the middle
of a migration, a write fault's reuse_swap_page) are scripted with the
model's own mm functions and the design's hooks, in kernel order.
"""
import numpy as np
import pytest

from memcg_edu.model import Machine, mm
from memcg_edu.model.lru import isolate_lru_page
from memcg_edu.model.pages import PCG_USED, PG_anon
from memcg_edu.model.swap import swap_free
from memcg_edu.model.tasks import PTE_NONE, swp_pte

BOTH = ("3.16", "3.17")


def state(m, name="A"):
    c = m.counters()[name]
    s = c["stat"]
    return (c["usage"], c["memsw_usage"], s["rss"], s["cache"], s["swap"],
            s["pgpgin"], s["pgpgout"])


def setup(design):
    m = Machine(ram_pages=32, swap_slots=16, design=design, check_invariants=True)
    a = m.create_memcg("A")
    return m, a, m.create_task("p", a)


def after_event(m, kind, name="A", counter="rss"):
    """A's counter right after the last event ``kind`` (the event log keeps them)."""
    kinds = m.events.kinds()
    i = len(kinds) - 1 - kinds[::-1].index(kind)
    return int(m.events.counter(name, counter)[i])


# -- Scenario A: anon page pinned by a second reference -------------------
@pytest.mark.parametrize("design, after_unmap", [
    ("3.16", (0, 0, 0, 0, 0, 1, 1)),   # uncharged at the last unmap
    ("3.17", (1, 1, 1, 0, 0, 1, 0)),   # still charged: the pin holds it
])
def test_A_pinned_anon_page(design, after_unmap):
    m, a, p = setup(design)
    x = m.fault_anon(p)
    assert state(m) == (1, 1, 1, 0, 0, 1, 0)
    m.get_page(x)
    m.unmap(p, x)
    assert state(m) == after_unmap
    m.put_page(x)
    assert state(m) == (0, 0, 0, 0, 0, 1, 1)
    assert m.design_notes() == []


def test_A_316_leaves_the_uncharged_page_on_As_lru():
    m, a, p = setup("3.16")
    x = m.fault_anon(p)
    m.get_page(x)
    m.unmap(p, x)
    ps = m.page_state()
    assert ps["lru_memcg"][x.pfn] == ps["memcg_names"].index("A")
    assert not ps["pc_flags"][x.pfn] & 2                 # PCG_USED clear
    assert ps["pcg_flag_names"] == {1: "PCG_LOCK", 2: "PCG_USED", 4: "PCG_MIGRATION"}
    assert a.lru_size(1) == 1                            # still counted in A's active_anon
    notes = m.design_notes()
    assert any("mem_cgroup_uncharge_page() but is still in use (1 reference): 3.17 keeps"
               in n for n in notes), notes
    assert any("A's active_anon LRU list without a charge" in n for n in notes)


def test_A_317_keeps_every_invariant():
    m, a, p = setup("3.17")
    x = m.fault_anon(p)
    m.get_page(x)
    m.unmap(p, x)
    assert m.design_notes() == [] and x.charged


# -- Variant A2: truncated page cache page still held by a pipe ------------
@pytest.mark.parametrize("design, after_truncate", [
    ("3.16", (0, 0, 0, 0, 0, 1, 1)),
    ("3.17", (1, 1, 0, 1, 0, 1, 0)),
])
def test_A2_truncated_page_held_by_pipe(design, after_truncate):
    m, a, p = setup(design)
    y = m.add_to_page_cache(p, file="f")
    assert state(m) == (1, 1, 0, 1, 0, 1, 0)
    m.get_page(y)
    m.truncate(y)
    assert state(m) == after_truncate
    m.put_page(y)
    assert state(m) == (0, 0, 0, 0, 0, 1, 1)


# -- Scenario B: migration ------------------------------------------------------
def migrate_steps(m, pfn, exiting=None, hold_old=False):
    """mm/migrate.c __unmap_and_move for an anon page outside the swap cache,
    with the design's hooks in kernel order. ``exiting``: this task exits
    while its ptes are migration entries (they are zapped, the new page is
    never mapped). ``hold_old``: keep a reference on the old page so it
    survives its putback. Returns the new pfn."""
    mem = m.mem
    assert isolate_lru_page(m, pfn)
    new = int(mem.alloc(1)[0])
    mm.lock_page(m, pfn)
    token = m.ops.migrate_prepare(m, pfn, new)
    ptes = mm.rmap_all(m, pfn)
    for tid, v in ptes:                          # try_to_unmap
        mm.rmap_del(m, pfn, tid, v)
        mm.page_remove_rmap(m, pfn)
        mm.put_page(m, pfn)
    if exiting is not None:                      # exit zaps the migration entries
        for tid, v in [t for t in ptes if t[0] == exiting.tid]:
            exiting.pte[v] = PTE_NONE
            exiting.free_vaddrs(np.array([v], np.int32))
        ptes = [t for t in ptes if t[0] != exiting.tid]
    mm.lock_page(m, new)                         # move_to_new_page
    mem.mapping[new] = mem.mapping[pfn]
    mem.flags[new] |= mem.flags[pfn] & PG_anon
    m.ops.migrate(m, pfn, new, token)
    mem.mapping[pfn] = -1
    mm.unlock_page(m, new)
    for tid, v in ptes:                          # remove_migration_ptes(old, new)
        mem.refcount[new] += 1
        m.task_list[tid].pte[v] = new
        mm.rmap_add(m, new, tid, v)
        mem.mapcount[new] += 1
    m.ops.migrate_end(m, pfn, new, token, True)
    mm.unlock_page(m, pfn)
    if hold_old:
        mm.get_page(m, pfn)
    mm.putback_lru_page(m, pfn)
    mm.putback_lru_page(m, new)
    return new


@pytest.mark.parametrize("design, end", [("3.16", (1, 1, 1, 0, 0, 2, 1)),
                                         ("3.17", (1, 1, 1, 0, 0, 1, 0))])
def test_B3b_migration_succeeds(design, end):
    m, a, p = setup(design)
    x = m.fault_anon(p)
    n = m.migrate(x)
    assert n != x and n.charged and n.memcg == "A" and not x.alive
    assert state(m) == end
    if design == "3.16":                         # statistics counted twice meanwhile
        assert after_event(m, "mem_cgroup_prepare_migration") == 2
        assert "__mem_cgroup_uncharge_common:migration" in m.events.kinds()


@pytest.mark.parametrize("design, end", [("3.16", (1, 1, 1, 0, 0, 2, 1)),
                                         ("3.17", (1, 1, 1, 0, 0, 1, 0))])
def test_B3a_migration_fails_and_the_old_page_stays_charged(design, end):
    m, a, p = setup(design)
    x = m.fault_anon(p)
    m.get_page(x)                                # an extra reference: -EAGAIN
    assert m.migrate(x) == x
    assert x.charged and state(m) == end


@pytest.mark.parametrize("design, after, end", [
    ("3.16", (0, 0, 0, 0, 0, 2, 2), (0, 0, 0, 0, 0, 2, 2)),
    ("3.17", (0, 0, 0, 0, 0, 1, 1), (0, 0, 0, 0, 0, 1, 1)),
])
def test_B3c_task_exits_during_migration(design, after, end):
    m, a, p = setup(design)
    x = m.fault_anon(p)
    migrate_steps(m, x.pfn, exiting=p)
    assert state(m) == after                     # N was freed by its putback
    if design == "3.16":
        assert "mem_cgroup_end_migration:unmapped_survivor" in m.events.kinds()
    else:                                        # the charge went with N, and left at its final put
        assert m.events.kinds().count("mem_cgroup_migrate") == 1
        assert "mem_cgroup_uncharge" in m.events.kinds()
    m.exit_task(p)
    assert state(m) == end
    m.check_invariants()


@pytest.mark.parametrize("design", BOTH)
def test_B4_reentrant_migration_of_an_uncharged_source(design):
    m, a, p = setup(design)
    x = m.fault_anon(p)
    migrate_steps(m, x.pfn, hold_old=True)       # X survives, uncharged, on root's LRU
    assert not m.mem.pc_flags[x.pfn] & PCG_USED
    assert m.mem.lru_memcg[x.pfn] == 0
    before = state(m)
    mark = len(m.events)
    migrate_steps(m, x.pfn)                      # compaction migrates X again
    assert state(m) == before                    # nothing moved, N2 never charged
    if design == "3.16":
        assert "mem_cgroup_prepare_migration:not_used" in m.events.kinds(mark)
    else:                                        # mem_cgroup_migrate's early return
        i = m.events.kinds().index("mem_cgroup_migrate", mark)
        assert m.events[i]["memcg"] is None and m.events[i]["nr"] == 0
    mm.put_page(m, x.pfn)
    m.check_invariants()


# -- Scenario C: swap-out and swap-in, the swap cache deleted three times ---------
@pytest.mark.parametrize("design", BOTH)
def test_C_swap_out_and_read_fault(design):
    m, a, p = setup(design)
    x = m.fault_anon(p)
    e1 = m.swap_out(x)                                   # steps 1-2
    assert state(m) == (0, 1, 0, 0, 1, 1, 1) and e1.memcg == "A"
    y = m.swap_in(p, e1)                                 # steps 3-5
    assert state(m) == (1, 1, 1, 0, 0, 2, 1)
    assert y.swapcache and e1.count == 0 and e1.memcg is None
    m.free_swap(e1)                                      # step 6: try_to_free_swap
    assert state(m) == (1, 1, 1, 0, 0, 2, 1) and not y.swapcache
    e2 = m.swap_out(y)                                   # step 7
    assert state(m) == (0, 1, 0, 0, 1, 2, 2) and e2.memcg == "A"
    kinds = m.events.kinds()
    if design == "3.16":
        assert kinds.count("mem_cgroup_uncharge_page:swapcache") == 2   # deferred twice
        assert kinds.count("mem_cgroup_uncharge_swapcache") == 3        # three deletions
        assert "__mem_cgroup_uncharge_common:mapped" in kinds           # step 6 refused
    else:
        assert kinds.count("mem_cgroup_swapout") == 2
        assert not any("swapcache" in k for k in kinds)


def write_fault_swap_in(m, task, entry):
    """do_swap_page with FAULT_FLAG_WRITE (mm/memory.c): reuse_swap_page
    deletes the page from the swap cache before the commit."""
    slot = entry.slot
    v = task.find(swp_pte(slot))
    pfn = mm._read_swap_cache_async(m, slot)
    mm.lock_page(m, pfn)
    token = m.ops.try_charge(m, pfn, task.memcg, "swapin")
    mm.get_page(m, pfn)                          # reuse_swap_page: count 1 ->
    mm.delete_from_swap_cache(m, pfn)            # delete_from_swap_cache
    task.pte[v] = pfn
    mm.rmap_add(m, pfn, task.tid, v)
    m.mem.flags[pfn] |= PG_anon
    m.mem.mapping[pfn] = task.tid
    m.mem.mapcount[pfn] += 1
    m.ops.commit_charge(m, pfn, token, True, "swapin")
    mid = state(m)
    swap_free(m, slot)
    mm.unlock_page(m, pfn)
    mm.put_page(m, pfn)
    return pfn, mid


@pytest.mark.parametrize("design", BOTH)
def test_C_write_fault_variant(design):
    m, a, p = setup(design)
    e1 = m.swap_out(m.fault_anon(p))
    y, at_commit = write_fault_swap_in(m, p, e1)
    assert at_commit == (1, 2, 1, 0, 1, 2, 1)    # the slot's memsw duplicate stays ...
    assert state(m) == (1, 1, 1, 0, 0, 2, 1)     # ... until swap_free frees the slot
    assert not m.swap.cache[e1.slot] and m.swap.count[e1.slot] == 0
    if design == "3.16":                         # the deletion met a not yet charged page
        assert "__mem_cgroup_uncharge_common:not_used" in m.events.kinds()
    m.check_invariants()


@pytest.mark.parametrize("design", BOTH)
def test_C_unmap_before_free_variant(design):
    m, a, p = setup(design)
    e1 = m.swap_out(m.fault_anon(p))
    y = m.swap_in(p, e1)
    assert y.swapcache
    mark = len(m.events)
    m.unmap(p, y)                                # free_pages_and_swap_cache
    assert state(m) == (0, 0, 0, 0, 0, 2, 2) and not y.alive
    kinds = m.events.kinds(mark)
    if design == "3.16":                         # deferred at unmap, DROP at deletion
        assert kinds.index("mem_cgroup_uncharge_page:swapcache") < \
            kinds.index("mem_cgroup_uncharge_swapcache")
        assert "__mem_cgroup_uncharge_common:mapped" not in kinds
    else:                                        # at the final put (release_pages)
        assert {"mem_cgroup_uncharge", "mem_cgroup_uncharge_list"} & set(kinds)
        assert not any("swapcache" in k for k in kinds)


# -- Scenario D: shmem page swap round trip --------------------------------------
@pytest.mark.parametrize("design", BOTH)
def test_D_shmem_round_trip(design):
    m, a, p = setup(design)
    s = m.fault_shmem(p, file="shm")
    assert state(m) == (1, 1, 0, 1, 0, 1, 0)
    e = m.swap_out(s)
    assert state(m) == (0, 1, 0, 0, 1, 1, 1) and e.memcg == "A"
    s2 = m.swap_in(p, e)
    assert state(m) == (1, 1, 0, 1, 0, 2, 1) and s2.charged
    kinds = m.events.kinds()
    if design == "3.16":
        assert "__mem_cgroup_uncharge_common:shmem_in_cache" in kinds
        assert "mem_cgroup_charge_file" in kinds
    else:
        assert "mem_cgroup_swapout" in kinds
    m.unmap(p, s2)
    m.truncate(s2)
    assert state(m) == (0, 0, 0, 0, 0, 2, 2)
