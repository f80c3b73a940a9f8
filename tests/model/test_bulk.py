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
