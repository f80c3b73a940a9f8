"""do_swap_account = 0: no memsw charges, no swap_cgroup records (docs/kernel-rules.md, "Swap accounting off")."""
import pytest

from memcg_edu.errors import ModelUsageError
from memcg_edu.model import Machine
from memcg_edu.model.pages import PCG_MEM, PCG_USED


def test_swap_round_trip_without_swap_accounting(nums):
    m = Machine(ram_pages=32, swap_slots=8, swap_account=False, check_invariants=True)
    a = m.create_memcg("A")
    t = m.create_task("t", a)
    p = m.fault_anon(t)
    assert p.pc_flags == PCG_USED | PCG_MEM and a.memsw_usage == 0
    e = m.swap_out(p)
    assert e.memcg is None and a.stat["swap"] == 0
    assert nums(a) == (0, 0, 0, 0, 0, 1, 1)
    b = m.create_memcg("B")
    tb = m.create_task("tb", b)
    m.map(tb, e)
    m.unmap(t, e)
    y = m.swap_in(tb, e)                       # no record: the faulting mm's memcg
    assert y.memcg == "B" and b.usage == 1 and a.usage == 0


def test_memsw_limit_does_not_exist_without_swap_accounting():
    m = Machine(ram_pages=8, swap_slots=8, swap_account=False)
    a = m.create_memcg("A")
    with pytest.raises(ModelUsageError, match="swap accounting"):
        m.set_limit(a, memsw_limit=4)
    m.set_limit(a, limit=2)
    t = m.create_task("t", a)
    for _ in range(4):                         # reclaim may swap: no memsw limit
        m.fault_anon(t)
    assert a.usage <= 2 and a.memsw_failcnt == 0
