"""Which memcg mem_cgroup_migrate() commits the replacement page to.

3.17.0 reads pc->mem_cgroup after unlock_page_lru() has switched the old,
now uncharged page to root: a fresh fuse replacement page goes to root and
A keeps a stranded charge. Machine(fixes=("memcg_read_first",)) is the
later order, which transfers the charge to A.
"""
import pytest

from memcg_edu.errors import ModelUsageError
from memcg_edu.model import Machine

FIX = ("memcg_read_first",)


def machine(fixes=()):
    return Machine(ram_pages=32, swap_slots=8, check_invariants=True, fixes=fixes)


def test_3_17_0_commits_the_replacement_to_root_and_strands_As_charge(nums):
    m = machine()
    a = m.create_memcg("A")
    f = m.add_to_page_cache(m.create_task("t", a), "f")
    mark = len(m.events)
    n = m.replace_page_cache(f)
    kinds = m.events.kinds(mark)
    # the lruvec lookup switches the old page to root before migrate reads it
    assert kinds.index("mem_cgroup_page_lruvec") < kinds.index("mem_cgroup_migrate")
    assert m.events[mark + kinds.index("mem_cgroup_migrate")]["memcg"] == "root"
    assert not f.alive and n.charged and n.memcg == "root" and n.lruvec == "root"
    # usage, memsw, rss, cache, swap, pgpgin, pgpgout: the old page's final
    # put found it uncharged, so nothing ever gives A's charge back
    assert nums(a) == (1, 1, 0, 1, 0, 1, 0)
    assert m.root.stat["cache"] == 0 and m.root.stat["inactive_file"] == 1
    assert m.stranded == {a.index: {"rss": 0, "cache": 1}}
    (note,) = m.design_notes()
    assert note.startswith("A keeps 1 page of usage, memsw usage and cache")
    assert "mem_cgroup_migrate()" in note and "memcg_read_first" in note
    assert "=(" not in note and ",)" not in note      # words, not a Python tuple
    m.truncate(n)                               # the new page's final put
    assert nums(a) == (1, 1, 0, 1, 0, 1, 0)
    assert m.root.stat["cache"] == -1 and m.root.stat["pgpgout"] == 1
    assert m.root.usage == 0 and m.mem.nr_free == m.mem.nr
    assert m.design_notes() == [note]


def test_the_read_first_fix_transfers_the_charge_to_A(nums):
    m = machine(FIX)
    a = m.create_memcg("A")
    f = m.add_to_page_cache(m.create_task("t", a), "f")
    n = m.replace_page_cache(f)
    assert not f.alive and n.memcg == "A" and n.lruvec == "A"
    assert nums(a) == (1, 1, 0, 1, 0, 1, 0) and m.root.stat["cache"] == 0
    assert m.stranded == {} and m.design_notes() == []
    m.truncate(n)
    assert nums(a) == (0, 0, 0, 0, 0, 1, 1) and m.root.stat["cache"] == 0


def test_stranded_charge_stays_in_the_hierarchy_and_survives_rmdir_and_restore():
    m = machine()
    p = m.create_memcg("P", use_hierarchy=True)
    a = m.create_memcg("A", parent=p)
    t = m.create_task("t", a)
    snap = m.snapshot()
    m.replace_page_cache(m.add_to_page_cache(t, "f"))
    assert (a.usage, p.usage) == (1, 1)
    m.move_task(t, "root", move_charge=False)
    m.remove_memcg("A")                         # nothing on A's LRU to reparent
    m.check_invariants()
    assert p.usage == 1 and m.stranded == {a.index: {"rss": 0, "cache": 1}}
    m.restore(snap)
    assert m.stranded == {} and m.memcgs["P"].usage == 0


@pytest.mark.parametrize("fixes", [(), FIX])
def test_an_already_charged_replacement_returns_early_either_way(fixes, nums):
    m = machine(fixes)
    a, b = m.create_memcg("A"), m.create_memcg("B")
    old = m.add_to_page_cache(m.create_task("ta", a), "f")
    pipe = m.add_to_page_cache(m.create_task("tb", b), "g")
    m.get_page(pipe)
    m.truncate(pipe)
    mark = len(m.events)
    new = m.replace_page_cache(old, with_=pipe)
    ev = m.events[mark + m.events.kinds(mark).index("mem_cgroup_migrate")]
    assert (ev["memcg"], ev["nr"]) == (None, 0)
    assert new == pipe and new.memcg == "B" and new.lruvec == "B"
    assert nums(a) == (0, 0, 0, 0, 0, 1, 1) and nums(b) == (1, 1, 0, 1, 0, 1, 0)
    assert m.stranded == {} and m.design_notes() == []


@pytest.mark.parametrize("fixes", [(), FIX])
def test_migration_without_lrucare_keeps_the_charge_in_A_either_way(fixes, nums):
    m = machine(fixes)
    a = m.create_memcg("A")
    t = m.create_task("t", a)
    for page in (m.fault_anon(t), m.add_to_page_cache(t, "f")):
        new = m.migrate(page)
        assert new != page and new.memcg == "A" and new.lruvec == "A"
    assert nums(a) == (2, 2, 1, 1, 0, 2, 0)
    assert m.stranded == {} and m.design_notes() == []


def test_fix_names_are_checked():
    with pytest.raises(ModelUsageError, match="unknown fix 'lrucare'; known fixes: memcg_read_first"):
        Machine(fixes=("lrucare",))
    with pytest.raises(ModelUsageError, match="tuple of fix names"):
        Machine(fixes="memcg_read_first")
    assert Machine(fixes=["memcg_read_first"]).fixes == FIX
