"""The per-CPU charge stock (CHARGE_BATCH), an option of the Machine.

Rules: docs/kernel-rules.md, "The per-CPU charge stock"."""
from memcg_edu.model import Machine
from memcg_edu.model.stock import CHARGE_BATCH


def machine():
    return Machine(ram_pages=128, swap_slots=0, charge_stock=True, check_invariants=True)


def test_stock_is_off_by_default():
    m = Machine(ram_pages=8, swap_slots=0)
    m.fault_anon(m.create_task("t", m.create_memcg("A")))
    assert m.memcgs["A"].usage == 1 and m.stock.nr_pages == 0


def test_first_charge_takes_a_whole_batch_and_later_ones_consume_it():
    m = machine()
    a = m.create_memcg("A")
    t = m.create_task("t", a)
    m.fault_anon(t)
    assert (a.usage, a.memsw_usage, a.max_usage) == (CHARGE_BATCH,) * 3
    assert m.stock.nr_pages == CHARGE_BATCH - 1
    for _ in range(CHARGE_BATCH - 1):
        m.fault_anon(t)
    assert a.usage == CHARGE_BATCH and m.stock.nr_pages == 0
    m.fault_anon(t)                            # stock empty: next batch
    assert a.usage == 2 * CHARGE_BATCH and a.stat["rss"] == CHARGE_BATCH + 1


def test_uncharge_goes_to_the_counters_not_the_stock():
    m = machine()
    a = m.create_memcg("A")
    t = m.create_task("t", a)
    p = m.fault_anon(t)
    m.unmap(t, p)
    assert a.usage == CHARGE_BATCH - 1 and m.stock.nr_pages == CHARGE_BATCH - 1
    m.drain_stock()
    assert a.usage == a.memsw_usage == 0 and m.stock.cached is None


def test_charging_another_memcg_drains_the_stock():
    m = machine()
    a, b = m.create_memcg("A"), m.create_memcg("B")
    m.fault_anon(m.create_task("ta", a))
    m.fault_anon(m.create_task("tb", b))
    assert a.usage == 1 and b.usage == CHARGE_BATCH
    assert m.stock.cached == b.index


def test_stock_never_caches_root():
    m = machine()
    m.fault_anon(m.create_task("t"))
    assert m.stock.cached is None and m.root.res.usage == 0


def test_a_batch_that_does_not_fit_retries_with_one_page():
    m = machine()
    a = m.create_memcg("A", limit=10)
    m.fault_anon(m.create_task("t", a))
    # the 32-page attempt failed (failcnt +1), the 1-page retry fitted
    assert (a.usage, a.failcnt, a.max_usage) == (1, 1, 1)
    assert m.stock.nr_pages == 0


def test_reclaim_drains_the_stock_from_its_second_loop():
    m = machine()
    par = m.create_memcg("P", use_hierarchy=True, limit=40)
    a, b = m.create_memcg("A", parent=par), m.create_memcg("B", parent=par)
    m.fault_anon(m.create_task("ta", a))       # A: 1 page + 31 stocked, P = 32
    tb = m.create_task("tb", b)
    for _ in range(8):                         # B's batches do not fit: 1 by 1
        m.fault_anon(tb)
    assert par.usage == 40 and m.stock.cached == a.index
    m.fault_anon(tb)                           # nothing reclaimable, but the
    assert par.usage == 10 and a.usage == 1    # second loop drains A's stock
    assert m.stock.nr_pages == 0 and b.usage == 9
