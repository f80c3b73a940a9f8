"""Each early return and precondition of the 3.17 memcg API.

Rules: docs/kernel-rules.md, "The 3.17 charge API" and "The 3.17 uncharge side".

Every test here fails if the rule it names is dropped from the model.
"""
import numpy as np
import pytest

from memcg_edu.errors import KernelBugError
from memcg_edu.model import Machine
from memcg_edu.model import memcontrol as mc
from memcg_edu.model import mm
from memcg_edu.model.lru import lru_cache_add, mem_cgroup_page_lruvec
from memcg_edu.model.pages import PCG_MEM, PCG_MEMSW, PCG_USED, PG_anon, PG_free, PG_locked


def setup(swap_account=True):
    m = Machine(ram_pages=32, swap_slots=16, swap_account=swap_account)
    a = m.create_memcg("A")
    t = m.create_task("p", a)
    return m, a, t


def fresh_page(m, anon=True, owner=0):
    """An allocated page that is not charged, not on an LRU (a new fault's page)."""
    pfn = int(m.mem.alloc(1)[0])
    if anon:
        m.mem.flags[pfn] |= PG_anon
        m.mem.mapping[pfn] = owner
    return pfn


def bug(excinfo, check):
    assert isinstance(excinfo.value, KernelBugError)
    assert check in excinfo.value.check


# -- mem_cgroup_uncharge ------------------------------------------------------------
def test_uncharge_returns_early_for_an_uncharged_page_even_on_the_lru():
    m, a, t = setup()
    pfn = fresh_page(m)
    lru_cache_add(m, pfn)                     # on root's LRU, never charged
    mc.mem_cgroup_uncharge(m, pfn)            # no VM_BUG_ON: pre-check of PCG_USED
    assert m.mem.pc_flags[pfn] == 0


def test_uncharge_of_a_page_on_the_lru_is_a_kernel_bug():
    m, a, t = setup()
    p = m.fault_anon(t)
    m.mem.refcount[p.pfn] = 0
    with pytest.raises(KernelBugError) as e:
        mc.mem_cgroup_uncharge(m, p.pfn)
    bug(e, "VM_BUG_ON_PAGE(PageLRU(page), page)")
    assert "mem_cgroup_uncharge" in str(e.value)


def test_uncharge_of_a_referenced_page_is_a_kernel_bug():
    m, a, t = setup()
    p = m.fault_anon(t)
    m.mem.flags[p.pfn] &= 0xFFFF ^ 2          # take it off "PageLRU" only
    with pytest.raises(KernelBugError) as e:
        mc.mem_cgroup_uncharge(m, p.pfn)
    bug(e, "VM_BUG_ON_PAGE(page_count(page), page)")


def test_uncharge_gives_back_only_what_the_flags_say():
    m, a, t = setup()
    p = m.fault_anon(t)
    m.mem.pc_flags[p.pfn] = PCG_USED | PCG_MEM
    a.memsw.uncharge(1)                       # as if mem_cgroup_swapout moved it
    m.mem.flags[p.pfn] &= 0xFFFF ^ 2
    m.memcg_list[a.index].row[mc.COL["active_anon"]] -= 1
    m.mem.lru[p.pfn] = -1
    m.mem.refcount[p.pfn] = 0
    mc.mem_cgroup_uncharge(m, p.pfn)
    assert (a.usage, a.memsw_usage, a.stat["rss"], a.stat["pgpgout"]) == (0, 0, 0, 1)
    assert m.mem.pc_flags[p.pfn] == 0
    assert m.mem.pc_memcg[p.pfn] == a.index   # pc->mem_cgroup is not cleared


# -- commit ----------------------------------------------------------------------------
def test_commit_without_mapping_is_a_kernel_bug():
    m, a, t = setup()
    pfn = fresh_page(m, anon=False)
    memcg = mc.mem_cgroup_try_charge(m, pfn, a)
    with pytest.raises(KernelBugError) as e:
        mc.mem_cgroup_commit_charge(m, pfn, memcg, False)
    bug(e, "VM_BUG_ON_PAGE(!page->mapping, page)")


def test_commit_of_an_lru_page_needs_lrucare():
    m, a, t = setup()
    pfn = fresh_page(m)
    lru_cache_add(m, pfn)
    memcg = mc.mem_cgroup_try_charge(m, pfn, a)
    with pytest.raises(KernelBugError) as e:
        mc.mem_cgroup_commit_charge(m, pfn, memcg, False)
    bug(e, "VM_BUG_ON_PAGE(PageLRU(page) && !lrucare, page)")
    # with lrucare the page moves from root's lruvec to A's
    mc.mem_cgroup_commit_charge(m, pfn, memcg, True)
    assert m.mem.lru_memcg[pfn] == a.index


def test_commit_of_an_already_charged_page_is_a_kernel_bug():
    m, a, t = setup()
    p = m.fault_anon(t)
    m.mem.flags[p.pfn] &= 0xFFFF ^ 2
    with pytest.raises(KernelBugError) as e:
        mc.mem_cgroup_commit_charge(m, p.pfn, a, False)
    bug(e, "VM_BUG_ON_PAGE(PageCgroupUsed(pc), page)")


def test_commit_and_cancel_of_null_memcg_do_nothing():
    m, a, t = setup()
    pfn = fresh_page(m)
    before = m.counters()
    mc.mem_cgroup_commit_charge(m, pfn, None, False)
    mc.mem_cgroup_cancel_charge(m, pfn, None)
    assert m.counters() == before and m.mem.pc_flags[pfn] == 0


def test_commit_sets_all_three_flags_and_counts_one_pgpgin(nums):
    m, a, t = setup()
    p = m.fault_anon(t)
    assert p.pc_flags == PCG_USED | PCG_MEM | PCG_MEMSW
    assert nums(a) == (1, 1, 1, 0, 0, 1, 0)


def test_cancel_gives_the_reservation_back_and_skips_root():
    m, a, t = setup()
    pfn = fresh_page(m)
    memcg = mc.mem_cgroup_try_charge(m, pfn, a)
    assert (a.res.usage, a.memsw.usage) == (1, 1)
    mc.mem_cgroup_cancel_charge(m, pfn, memcg)
    assert (a.res.usage, a.memsw.usage, a.max_usage) == (0, 0, 1)
    root = mc.mem_cgroup_try_charge(m, pfn, m.root)
    assert root is m.root and m.root.res.usage == 0   # root is never charged
    mc.mem_cgroup_cancel_charge(m, pfn, root)
    assert m.root.res.usage == 0


# -- try_charge on swap-cache pages ---------------------------------------------------------
def test_try_charge_of_a_charged_swapcache_page_returns_null():
    m, a, t = setup()
    p = m.fault_anon(t)
    m.mem.flags[p.pfn] |= 32                  # PageSwapCache
    assert mc.mem_cgroup_try_charge(m, p.pfn, a) is None
    assert a.res.usage == 1


def test_try_charge_of_a_swapcache_page_charges_the_recorded_memcg():
    m, a, t = setup()
    b = m.create_memcg("B")
    tb = m.create_task("q", b)
    p = m.fault_anon(t)
    e = m.swap_out(p)
    m.map(tb, e)                              # q shares the swap entry (fork)
    m.swap_in(tb, e)                          # q faults it in: charged to A, not B
    assert e.alive and (a.usage, b.usage) == (1, 0)


def test_try_charge_of_an_unlocked_swapcache_page_is_a_kernel_bug():
    m, a, t = setup()
    p = m.fault_anon(t)
    e = m.swap_out(p)
    pfn = mm._read_swap_cache_async(m, e.slot)
    with pytest.raises(KernelBugError) as ex:
        mc.mem_cgroup_try_charge(m, pfn, a)
    bug(ex, "VM_BUG_ON_PAGE(!PageLocked(page), page)")


def test_swapin_commit_drops_the_slot_duplicate_only_while_in_swap_cache():
    m, a, t = setup()
    p = m.fault_anon(t)
    e = m.swap_out(p)
    pfn = mm._read_swap_cache_async(m, e.slot)
    m.mem.flags[pfn] |= PG_locked
    memcg = mc.mem_cgroup_try_charge(m, pfn, a)
    assert (a.res.usage, a.memsw.usage) == (1, 2)
    m.mem.mapping[pfn] = t.tid
    m.mem.flags[pfn] |= PG_anon
    mc.mem_cgroup_commit_charge(m, pfn, memcg, True)
    assert (a.usage, a.memsw_usage, a.stat["swap"], e.memcg) == (1, 1, 0, None)


# -- mem_cgroup_migrate ------------------------------------------------------------------
def isolated_charged(m, t):
    p = m.fault_anon(t)
    from memcg_edu.model.lru import isolate_lru_page
    isolate_lru_page(m, p.pfn)
    return p.pfn


@pytest.mark.parametrize("which", ["old", "new"])
def test_migrate_needs_both_pages_locked(which):
    m, a, t = setup()
    old, new = isolated_charged(m, t), fresh_page(m)
    m.mem.flags[old if which == "new" else new] |= PG_locked
    with pytest.raises(KernelBugError) as e:
        mc.mem_cgroup_migrate(m, old, new, False)
    bug(e, f"!PageLocked({which}page)")


def _migrate_from_the_lru_without_lrucare(m, t):
    return m.fault_anon(t).pfn, fresh_page(m)      # old still on the LRU


def _migrate_between_anon_and_file(m, t):
    return isolated_charged(m, t), fresh_page(m, anon=False)


@pytest.mark.parametrize("prepare, check", [
    (_migrate_from_the_lru_without_lrucare, "!lrucare && PageLRU(oldpage)"),
    (_migrate_between_anon_and_file, "PageAnon(oldpage) != PageAnon(newpage)"),
], ids=["lru_without_lrucare", "anon_and_file"])
def test_migrate_of_locked_pages_checks_lru_and_type(prepare, check):
    m, a, t = setup()
    old, new = prepare(m, t)
    m.mem.flags[[old, new]] |= PG_locked
    with pytest.raises(KernelBugError) as e:
        mc.mem_cgroup_migrate(m, old, new, False)
    bug(e, check)


def test_migrate_returns_early_when_the_new_page_is_charged():
    m, a, t = setup()
    old, new = isolated_charged(m, t), isolated_charged(m, t)
    m.mem.flags[[old, new]] |= PG_locked
    mc.mem_cgroup_migrate(m, old, new, False)
    assert m.mem.pc_flags[old] == m.mem.pc_flags[new] == PCG_USED | PCG_MEM | PCG_MEMSW
    assert a.usage == 2


def test_migrate_returns_early_when_the_old_page_is_uncharged():
    m, a, t = setup()
    old, new = fresh_page(m), fresh_page(m)
    m.mem.flags[[old, new]] |= PG_locked
    mc.mem_cgroup_migrate(m, old, new, False)
    assert m.mem.pc_flags[new] == 0


def test_migrate_transfers_the_charge_without_touching_counters_or_stats(nums):
    m, a, t = setup()
    old, new = isolated_charged(m, t), fresh_page(m, owner=t.tid)
    m.mem.flags[[old, new]] |= PG_locked
    before = nums(a)
    mc.mem_cgroup_migrate(m, old, new, False)
    assert m.mem.pc_flags[old] == 0
    assert m.mem.pc_flags[new] == PCG_USED | PCG_MEM | PCG_MEMSW
    assert m.mem.pc_memcg[new] == a.index
    assert nums(a) == before                  # 3.17 release: no statistics churn


def test_migrate_with_lrucare_moves_the_old_page_to_roots_lruvec():
    m, a, t = setup()
    f = m.add_to_page_cache(t, "f")
    new = fresh_page(m, anon=False)
    m.mem.flags[[f.pfn, new]] |= PG_locked
    mc.mem_cgroup_migrate(m, f.pfn, new, True)
    assert f.lru and f.lruvec == "root" and f.memcg == "root"


# -- swapout and uncharge_swap --------------------------------------------------------------
def frozen_swapcache_page(m, t):
    p = m.fault_anon(t)
    from memcg_edu.model.lru import isolate_lru_page
    from memcg_edu.model.reclaim import _add_to_swap
    isolate_lru_page(m, p.pfn)
    _add_to_swap(m, p.pfn)
    return p.pfn, int(m.mem.private[p.pfn])


def _swapout_on_the_lru(m, a, t):
    p = m.fault_anon(t)
    m.mem.refcount[p.pfn] = 0
    return p.pfn, 0


def _swapout_with_references(m, a, t):
    return frozen_swapcache_page(m, t)


def _swapout_onto_a_recorded_slot(m, a, t):
    pfn, slot = frozen_swapcache_page(m, t)
    m.mem.refcount[pfn] = 0
    m.swap.cgroup[slot] = a.index
    return pfn, slot


@pytest.mark.parametrize("prepare, check", [
    (_swapout_on_the_lru, "VM_BUG_ON_PAGE(PageLRU(page), page)"),
    (_swapout_with_references, "VM_BUG_ON_PAGE(page_count(page), page)"),
    (_swapout_onto_a_recorded_slot, "VM_BUG_ON_PAGE(oldid, page)"),
], ids=["on_the_lru", "with_references", "onto_a_recorded_slot"])
def test_swapout_precondition_is_a_kernel_bug(prepare, check):
    m, a, t = setup()
    pfn, slot = prepare(m, a, t)
    with pytest.raises(KernelBugError) as e:
        mc.mem_cgroup_swapout(m, pfn, slot)
    bug(e, check)


def test_swapout_moves_memsw_to_the_slot():
    m, a, t = setup()
    pfn, slot = frozen_swapcache_page(m, t)
    m.mem.refcount[pfn] = 0
    mc.mem_cgroup_swapout(m, pfn, slot)
    assert m.mem.pc_flags[pfn] == PCG_USED | PCG_MEM
    assert (a.res.usage, a.memsw.usage, a.stat["swap"], a.swap_css_refs) == (1, 1, 1, 1)
    assert m.swap.cgroup[slot] == a.index


def test_swapout_of_a_never_charged_page_returns_early():
    m, a, t = setup()
    pfn = fresh_page(m)
    m.mem.refcount[pfn] = 0
    mc.mem_cgroup_swapout(m, pfn, 3)
    assert m.swap.cgroup[3] == -1


def test_swapout_and_uncharge_swap_do_nothing_without_swap_accounting():
    m, a, t = setup(swap_account=False)
    pfn, slot = frozen_swapcache_page(m, t)
    m.mem.refcount[pfn] = 0
    mc.mem_cgroup_swapout(m, pfn, slot)
    assert m.swap.cgroup[slot] == -1 and m.mem.pc_flags[pfn] == PCG_USED | PCG_MEM
    m.swap.cgroup[slot] = a.index
    mc.mem_cgroup_uncharge_swap(m, slot)
    assert m.swap.cgroup[slot] == a.index


def test_uncharge_swap_of_root_keeps_roots_memsw_counter():
    m = Machine(ram_pages=16, swap_slots=4)
    t = m.create_task("p")                    # in root
    p = m.fault_anon(t)
    e = m.swap_out(p)
    assert e.memcg == "root" and m.root.stat["swap"] == 1
    assert m.root.memsw.usage == 0            # root's counter is never charged
    m.unmap(t, e)
    assert m.root.stat["swap"] == 0 and m.root.memsw.usage == 0


# -- mem_cgroup_page_lruvec, move_account ------------------------------------------------------
def test_page_lruvec_switches_an_uncharged_offlist_page_to_root():
    m, a, t = setup()
    pfn = fresh_page(m)
    m.mem.pc_memcg[pfn] = a.index             # stale pc->mem_cgroup
    assert mem_cgroup_page_lruvec(m, pfn) == 0 and m.mem.pc_memcg[pfn] == 0


def test_page_lruvec_leaves_a_charged_page_alone():
    m, a, t = setup()
    p = m.fault_anon(t)
    m.mem.flags[p.pfn] &= 0xFFFF ^ 2
    assert mem_cgroup_page_lruvec(m, p.pfn) == a.index


def test_move_account_gives_up_on_a_locked_page():
    m, a, t = setup()
    b = m.create_memcg("B")
    pfn = isolated_charged(m, t)
    m.mem.flags[pfn] |= PG_locked
    assert not mc.mem_cgroup_move_account(m, pfn, a, b)    # trylock_page failed
    assert m.mem.pc_memcg[pfn] == a.index
    m.mem.flags[pfn] &= 0xFFFF ^ PG_locked
    assert mc.mem_cgroup_move_account(m, pfn, a, b)
    assert (a.stat["rss"], b.stat["rss"], a.stat["pgpgout"], b.stat["pgpgin"]) == (0, 1, 1, 1)
    assert m.mem.pc_flags[pfn] == PCG_USED | PCG_MEM | PCG_MEMSW
    assert (a.res.usage, b.res.usage) == (1, 0)   # counters are settled by clear_mc


def test_move_account_preconditions():
    m, a, t = setup()
    b = m.create_memcg("B")
    p = m.fault_anon(t)
    with pytest.raises(KernelBugError) as e:
        mc.mem_cgroup_move_account(m, p.pfn, a, b)
    bug(e, "VM_BUG_ON_PAGE(PageLRU(page), page)")
    with pytest.raises(KernelBugError) as e:
        mc.mem_cgroup_move_account(m, p.pfn, a, a)
    bug(e, "VM_BUG_ON(from == to)")
    pfn = isolated_charged(m, t)
    assert not mc.mem_cgroup_move_account(m, pfn, b, a)    # not charged to "from"


# -- the page allocator and the LRU ------------------------------------------------------------
def test_freeing_a_charged_page_is_the_cgroup_bad_page_check():
    m, a, t = setup()
    p = m.fault_anon(t)
    with pytest.raises(KernelBugError) as e:
        m.mem.free(np.array([p.pfn]))
    bug(e, "mem_cgroup_bad_page_check")


def test_freeing_a_few_pages_checks_them_all_before_freeing_one():
    # free_few (shrink_page_list's short free list) raises free()'s error
    # for the charged page and leaves the clean page before it allocated
    m, a, t = setup()
    clean = m.mem.alloc_one()
    m.mem.pg.refcount[clean] = 0
    p = m.fault_anon(t)
    free_before = m.mem.nr_free
    with pytest.raises(KernelBugError) as e:
        m.mem.free_few([clean, p.pfn])
    bug(e, "mem_cgroup_bad_page_check")
    assert m.mem.nr_free == free_before and not m.mem.flags[clean] & PG_free
    m.mem.free_few([clean])
    assert m.mem.nr_free == free_before + 1 and m.mem.flags[clean] & PG_free


def test_adding_a_page_to_the_lru_twice_is_a_kernel_bug():
    m, a, t = setup()
    p = m.fault_anon(t)
    with pytest.raises(KernelBugError) as e:
        lru_cache_add(m, p.pfn)
    bug(e, "PageLRU(page)")


def test_migrate_of_a_charged_page_without_its_memsw_charge_is_a_kernel_bug():
    m, a, t = setup()
    old, new = isolated_charged(m, t), fresh_page(m, owner=t.tid)
    m.mem.flags[[old, new]] |= PG_locked
    m.mem.pc_flags[old] = PCG_USED | PCG_MEM        # as after mem_cgroup_swapout
    with pytest.raises(KernelBugError) as e:
        mc.mem_cgroup_migrate(m, old, new, False)
    bug(e, "PCG_MEMSW")


def test_swapout_of_a_page_without_memsw_charge_is_a_kernel_bug():
    m, a, t = setup()
    pfn, slot = frozen_swapcache_page(m, t)
    m.mem.refcount[pfn] = 0
    m.mem.pc_flags[pfn] = PCG_USED | PCG_MEM
    with pytest.raises(KernelBugError) as e:
        mc.mem_cgroup_swapout(m, pfn, slot)
    bug(e, "VM_BUG_ON_PAGE(!(pc->flags & PCG_MEMSW), page)")


def test_uncharge_list_batches_per_memcg_and_skips_uncharged_pages():
    m, a, t = setup()
    b = m.create_memcg("B")
    tb = m.create_task("q", b)
    pages = [m.fault_anon(t).pfn for _ in range(3)] + [m.fault_anon(tb).pfn]
    spare = fresh_page(m)                         # never charged: skipped
    from memcg_edu.model.lru import del_pages_from_lru
    arr = np.array(pages)
    del_pages_from_lru(m, arr)
    m.mem.refcount[arr] = 0
    m.mem.refcount[spare] = 0
    start = len(m.events)
    mc.mem_cgroup_uncharge_list(m, np.array(pages + [spare]))
    assert (a.usage, a.stat["rss"], a.stat["pgpgout"]) == (0, 0, 3)
    assert (b.usage, b.stat["pgpgout"]) == (0, 1)
    assert m.events.kinds(start) == ["mem_cgroup_uncharge_list"] * 2
    assert sorted(m.events.array("nr")[start:].tolist()) == [1, 3]
