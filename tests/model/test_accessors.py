"""The public accessors the scenario layer reads: Page.file/index, Task and File lookups."""
import pytest

from memcg_edu.errors import ModelUsageError


def test_page_file_and_index_of_page_cache_pages(m):
    t = m.create_task("p")
    a = m.add_to_page_cache(t, file="f", mapped=False)
    b = m.add_to_page_cache(t, file="f", mapped=False)
    s = m.fault_shmem(t, file="shm")
    assert (a.file.name, a.index) == ("f", 0)
    assert (b.file.name, b.index) == ("f", 1)
    assert (s.file.name, s.file.shmem, s.index) == ("shm", True, 0)


def test_anon_pages_have_no_file(m):
    t = m.create_task("p")
    anon = m.fault_anon(t)
    assert (anon.file, anon.index) == (None, None)


def test_truncated_page_held_by_a_pin_has_no_file(m):
    t = m.create_task("p")
    f = m.add_to_page_cache(t, file="f", mapped=False)
    m.get_page(f)
    m.truncate(f)
    assert f.alive and (f.file, f.index) == (None, None)


def test_stale_page_handle_refuses_file(m):
    t = m.create_task("p")
    f = m.add_to_page_cache(t, file="f", mapped=False)
    m.truncate(f)
    with pytest.raises(ModelUsageError):
        f.file


def test_task_address_of_page_at_and_swap_slot_at(m):
    t = m.create_task("p")
    a, b = m.fault_anon(t), m.fault_anon(t)
    va, vb = t.address_of(a), t.address_of(b)
    assert va != vb
    assert (t.page_at(va), t.page_at(vb)) == (a.pfn, b.pfn)
    assert t.swap_slot_at(va) is None
    e = m.swap_out(a)
    assert not a.alive                     # reclaim freed the frame
    assert (t.page_at(va), t.swap_slot_at(va)) == (None, e.slot)
    assert (t.page_at(10_000), t.swap_slot_at(10_000)) == (None, None)
    assert (t.page_at(-1), t.swap_slot_at(-1)) == (None, None)


def test_address_of_an_unmapped_page_is_none(m):
    p, q = m.create_task("p"), m.create_task("q")
    a = m.fault_anon(p)
    assert q.address_of(a) is None
    m.map(q, a)
    assert q.page_at(q.address_of(a)) == a.pfn


def test_file_holds_and_swap_slot_of_a_swapped_tmpfs_page(m):
    t = m.create_task("p")
    s = m.fault_shmem(t, file="shm")
    f, off = s.file, s.index
    assert f.holds(off) and f.swap_slot(off) is None
    m.unmap(t, s)
    e = m.swap_out(s)
    assert f.holds(off) and f.swap_slot(off) == e.slot
    assert not f.holds(off + 1) and f.swap_slot(off + 1) is None
    m.truncate(e)
    assert not f.holds(off)
