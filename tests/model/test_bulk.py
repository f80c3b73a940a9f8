"""The vectorised bulk paths give exactly what page-at-a-time gives."""
import numpy as np
import pytest

from memcg_edu.model import Machine


def totals(m, kind):
    k = m.events.array("kind")
    names = np.array(m.events.kind_names)[k] if len(k) else np.array([])
    return int(m.events.array("nr")[names == kind].sum())


def run(bulk, n=40, **limits):
    m = Machine(ram_pages=128, swap_slots=64)
    par = m.create_memcg("P", use_hierarchy=True, **limits)
    a = m.create_memcg("A", parent=par)
    t = m.create_task("t", a)
    u = m.create_task("u", a)
    if bulk:
        m.fault_anon_range(t, n)
    else:
        for _ in range(n):
            m.fault_anon(t)
    ptes = t.pte[t.entries()]
    pfns = ptes[ptes >= 0]                     # what limit reclaim left mapped
    m.map(u, m.page(int(pfns[-1])))            # one page is shared: slow path
    m.get_page(m.page(int(pfns[-2])))          # one is pinned: survives
    if bulk:
        m.unmap_range(t, pfns)
    else:
        for pfn in pfns:
            m.unmap(t, m.page(int(pfn)))
    m.exit_task(t)                             # and the swap entries
    m.check_invariants()
    return m


@pytest.mark.parametrize("limits", [{}, {"limit": 100}, {"limit": 30}])
def test_bulk_fault_and_unmap_match_the_per_page_path(limits):
    slow, fast = run(False, **limits), run(True, **limits)
    assert fast.counters() == slow.counters()
    for kind in ("mem_cgroup_try_charge", "mem_cgroup_commit_charge"):
        assert totals(fast, kind) == totals(slow, kind)
    out = lambda m: totals(m, "mem_cgroup_uncharge") + totals(m, "mem_cgroup_uncharge_list")
    assert out(fast) == out(slow)
    np.testing.assert_array_equal(fast.page_state()["pc_flags"],
                                  slow.page_state()["pc_flags"])


def test_bulk_events_carry_page_counts():
    m = Machine(ram_pages=64, swap_slots=0)
    t = m.create_task("t", m.create_memcg("A"))
    pfns = m.fault_anon_range(t, 50)
    m.unmap_range(t, pfns)
    assert m.events.kinds()[-5:] == [
        "mem_cgroup_try_charge", "mem_cgroup_commit_charge", "fault_anon_range",
        "mem_cgroup_uncharge_list", "unmap_range"]
    assert list(m.events.array("nr")[-5:]) == [50, 50, 50, 50, 50]
    assert m.memcgs["A"].stat["pgpgin"] == m.memcgs["A"].stat["pgpgout"] == 50


# -- each function of model/bulk.py against the one-page path it stands for --
from memcg_edu.model import bulk  # noqa: E402
from memcg_edu.model.memcontrol import UNCHARGE_LIST_BULK, mem_cgroup_uncharge_list  # noqa: E402
from memcg_edu.model.lru import del_pages_from_lru  # noqa: E402
from memcg_edu.model.mm import release_pages  # noqa: E402


def _state(m):
    """Everything the one-page and bulk paths must agree on."""
    ps = m.page_state()
    return (m.counters(), {k: v.tolist() for k, v in ps.items() if hasattr(v, "tolist")},
            {n: t.pte[:t.top].tolist() for n, t in m.tasks.items()})


def _three_memcgs(n_each: int, swap_account: bool = True):
    m = Machine(ram_pages=256, swap_slots=16, swap_account=swap_account)
    tasks = [m.create_task(f"t{i}", m.create_memcg(f"M{i}")) for i in range(3)]
    pfns = []
    for i in range(n_each):                      # interleaved: memcgs alternate
        for t in tasks:
            pfns.append(m.fault_anon(t).pfn)
            pfns.append(m.add_to_page_cache(t, f"f{t.name}").pfn)
    return m, tasks, np.array(pfns, np.int64)


@pytest.mark.parametrize("swap_account", [True, False])
def test_uncharge_list_bulk_equals_the_page_by_page_loop(swap_account):
    results = []
    for vectorised in (False, True):
        m, _, pfns = _three_memcgs(10, swap_account)
        del_pages_from_lru(m, pfns)              # as release_pages leaves them:
        m.mem.refcount[pfns] = 0                 # off the LRU, no reference
        mark = len(m.events)
        if vectorised:
            assert pfns.size > UNCHARGE_LIST_BULK
            bulk.uncharge_list(m, pfns)
        else:
            mem_cgroup_uncharge_list(m, pfns.tolist())
        results.append((m.counters(), m.mem.pc_flags.tolist(), m.events.kinds(mark),
                        m.events.array("memcg")[mark:].tolist(),
                        m.events.array("nr")[mark:].tolist()))
    assert results[0] == results[1]
    assert results[1][2] == ["mem_cgroup_uncharge_list"] * 3
    assert results[1][4] == [20, 20, 20]


def test_release_pages_bulk_equals_page_by_page():
    def run(batch):
        m, tasks, pfns = _three_memcgs(6)
        for p in pfns.tolist():                  # a pin on each, two on some
            m.get_page(m.page(p))
        for p in pfns[:5].tolist():
            m.get_page(m.page(p))
        for t in tasks:
            m.exit_task(t)
        for f in list(m.files.values()):
            for off in list(f.pages):
                m.truncate(m.page(f.pages[off]))
        twice = np.concatenate([pfns, pfns[:5]])  # the pins, dropped
        if batch:
            release_pages(m, twice)
        else:
            for p in twice.tolist():
                release_pages(m, np.array([p]))
        return _state(m)[:2]
    assert run(True) == run(False)


@pytest.mark.parametrize("limit", [None, 25, 60])
def test_fault_anon_range_equals_n_faults(limit):
    def run(vectorised):
        m = Machine(ram_pages=128, swap_slots=64)
        t = m.create_task("t", m.create_memcg("A", limit=limit))
        m.fault_anon(t)
        if vectorised:
            m.fault_anon_range(t, 50)
        else:
            for _ in range(50):
                m.fault_anon(t)
        return _state(m)
    assert run(True) == run(False)


def test_bulk_fault_refuses_what_it_cannot_do_exactly():
    m = Machine(ram_pages=64, swap_slots=0, charge_stock=True)
    t = m.create_task("t", m.create_memcg("A"))
    assert bulk.fault_anon_range(m, t, 10) is None      # the stock goes page by page
    m2 = Machine(ram_pages=64, swap_slots=0)
    t2 = m2.create_task("t", m2.create_memcg("A", limit=5))
    assert bulk.fault_anon_range(m2, t2, 10) is None    # would reclaim
    assert m2.memcgs["A"].usage == 0 and len(m2.mem.freed) == 0
    m3 = Machine(ram_pages=64, swap_slots=0, design="3.16")
    assert bulk.fault_anon_range(m3, m3.create_task("t"), 4) is None


def test_zap_exclusive_anon_takes_only_pages_it_may():
    m = Machine(ram_pages=64, swap_slots=8)
    t, u = m.create_task("t", m.create_memcg("A")), m.create_task("u")
    pfns = m.fault_anon_range(t, 12)
    m.map(u, m.page(int(pfns[0])))               # shared: mapcount 2
    m.swap_out(m.page(int(pfns[1])))             # a swap pte now, not a page
    cached = m.page(int(pfns[2]))
    sample = np.array([int(pfns[0]), int(pfns[3]), int(pfns[3])] + pfns[4:].tolist())
    mask = bulk.zap_exclusive_anon(m, t, sample)
    assert mask.tolist() == [False, False, False] + [True] * 8
    assert (m.mem.mapcount[pfns[4:]] == 0).all() and cached.mapcount == 1
    assert not bulk.zap_exclusive_anon(m, t, sample[:8]).any()   # a pagevec: one by one
