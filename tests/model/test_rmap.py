"""The reverse map of a page shared by many tasks: order, lookups, migration."""
from __future__ import annotations

from memcg_edu.model import Machine
from memcg_edu.model.mm import rmap_all, rmap_find, rmap_has


def _shared(k: int, **kw) -> tuple[Machine, list, object]:
    m = Machine(ram_pages=16, swap_slots=0, check_invariants=True, **kw)
    a = m.create_memcg("A")
    tasks = [m.create_task(f"t{i}", a) for i in range(k)]
    page = m.fault_anon(tasks[0])
    for t in tasks[1:]:
        m.map(t, page)
    return m, tasks, page


def test_rmap_keeps_mapping_order_through_removals():
    m, tasks, page = _shared(6)
    m.map(tasks[2], page)                        # a second pte of t2
    order = [t for t, _ in rmap_all(m, page.pfn)]
    assert order == [0, 1, 2, 3, 4, 5, 2]
    m.unmap(tasks[0], page)                      # the first: t1 takes its place
    m.unmap(tasks[3], page)                      # one in the middle
    assert [t for t, _ in rmap_all(m, page.pfn)] == [1, 2, 4, 5, 2]
    v_first, v_second = [v for t, v in rmap_all(m, page.pfn) if t == 2]
    assert rmap_find(m, page.pfn, 2) == v_first
    m.unmap(tasks[2], page)                      # drops t2's first pte
    assert rmap_find(m, page.pfn, 2) == v_second
    assert rmap_has(m, page.pfn, 2, v_second) and not rmap_has(m, page.pfn, 2, v_first)
    assert rmap_find(m, page.pfn, 0) == -1
    assert page.mapcount == 4


def test_migration_moves_every_pte_and_keeps_the_order():
    m, tasks, page = _shared(50)
    before = rmap_all(m, page.pfn)
    new = m.migrate(page)
    assert new != page and not page.alive
    assert rmap_all(m, new.pfn) == before
    assert new.mapcount == 50 and new.refcount == 50
    assert all(t.page_at(v) == new.pfn for (tid, v), t in zip(before, tasks))
    for t in reversed(tasks):
        m.unmap(t, new)
    assert m.memcgs["A"].usage == 0 and not new.alive


def test_failed_migration_leaves_the_ptes_on_the_old_page():
    m, tasks, page = _shared(5)
    m.add_to_page_cache(tasks[0], "f")
    f = m.add_to_page_cache(tasks[0], "g", mapped=True)
    for t in tasks[1:]:
        m.map(t, f)
    m.get_page(f)                                # a pin: migration gets -EAGAIN
    before = rmap_all(m, f.pfn)
    assert m.migrate(f) == f
    assert rmap_all(m, f.pfn) == before and f.mapcount == 5
    assert m.memcgs["A"].stat["mapped_file"] == 1
    moved = m.migrate(page)
    assert rmap_all(m, moved.pfn) == [(t.tid, t.address_of(moved)) for t in tasks]


def test_many_mappers_and_migrations_stay_consistent():
    m, tasks, page = _shared(60)
    for _ in range(5):
        page = m.migrate(page)
    for t in tasks[::2] + tasks[1::2]:
        m.unmap(t, page)
    assert m.memcgs["A"].usage == 0


def test_failed_migration_of_a_file_page_many_tasks_map():
    from memcg_edu.model.bulk import MIGRATION_PTES
    k = MIGRATION_PTES + 4                       # the batched unmap and remap
    m = Machine(ram_pages=16, swap_slots=0, check_invariants=True)
    a = m.create_memcg("A")
    tasks = [m.create_task(f"t{i}", a) for i in range(k)]
    f = m.add_to_page_cache(tasks[0], "g", mapped=True)
    for t in tasks[1:]:
        m.map(t, f)
    before = rmap_all(m, f.pfn)
    m.get_page(f)                                # a pin: migration gets -EAGAIN
    assert m.migrate(f) == f
    assert rmap_all(m, f.pfn) == before and f.mapcount == k and f.refcount == k + 2
    m.put_page(f)
    moved = m.migrate(f)
    assert moved != f and rmap_all(m, moved.pfn) == before
    assert m.memcgs["A"].stat["mapped_file"] == 1 and moved.mapcount == k
