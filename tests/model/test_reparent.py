"""rmdir of a memcg: pages reparented, swap records stay with the dead memcg."""
import pytest

from memcg_edu.errors import ModelUsageError
from memcg_edu.model import Machine


def machine():
    return Machine(ram_pages=32, swap_slots=8, check_invariants=True)


def test_pages_move_to_a_hierarchical_parent_which_keeps_the_charge(nums):
    m = machine()
    par = m.create_memcg("P", use_hierarchy=True)
    c = m.create_memcg("C", parent=par)
    t = m.create_task("t", c)
    p = m.fault_anon(t)
    f = m.add_to_page_cache(t, "f")
    m.move_task(t, par, move_charge=False)
    m.remove_memcg("C")
    assert p.memcg == "P" and f.memcg == "P" and p.lruvec == "P"
    assert nums(par) == (2, 2, 1, 1, 0, 2, 0) and c.usage == 0
    assert "C" not in m.memcgs and "C" not in m.counters() and not c.online


def test_pages_of_a_top_level_memcg_go_to_root():
    m = machine()
    a = m.create_memcg("A")
    t = m.create_task("t", a)
    p = m.fault_anon(t)
    m.move_task(t, "root", move_charge=False)
    m.remove_memcg(a)
    assert p.memcg == "root" and p.lruvec == "root"
    assert (a.res.usage, a.memsw.usage, m.root.usage, m.root.res.usage) == (0, 0, 1, 0)


def test_swap_records_keep_the_dead_memcg_until_the_slot_is_freed():
    m = machine()
    a, b = m.create_memcg("A"), m.create_memcg("B")
    t = m.create_task("t", a)
    e = m.swap_out(m.fault_anon(t))
    m.move_task(t, b, move_charge=False)
    m.remove_memcg("A")
    assert e.memcg == "A" and (a.memsw.usage, a.stat["swap"], a.swap_css_refs) == (1, 1, 1)
    y = m.swap_in(t, e)                        # A is offline: B (the mm's) is charged
    assert y.memcg == "B" and b.usage == 1
    assert (a.memsw.usage, a.stat["swap"], a.swap_css_refs) == (0, 0, 0)


def test_rmdir_with_tasks_or_children_is_ebusy():
    m = machine()
    a = m.create_memcg("A", use_hierarchy=True)
    m.create_memcg("B", parent=a)
    with pytest.raises(ModelUsageError, match="children"):
        m.remove_memcg(a)
    m.create_task("t", "B")
    with pytest.raises(ModelUsageError, match="tasks t"):
        m.remove_memcg("B")
    with pytest.raises(ModelUsageError, match="root"):
        m.remove_memcg("root")


def test_a_name_can_be_used_again_after_rmdir():
    m = machine()
    m.create_memcg("A")
    m.remove_memcg("A")
    a2 = m.create_memcg("A")
    assert a2.index == 2 and m.fault_anon(m.create_task("t", a2)).memcg == "A"
