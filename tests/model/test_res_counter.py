"""res_counter (kernel/res_counter.c): the hierarchical walk with roll-back (docs/kernel-rules.md, "mem_cgroup and res_counter")."""
import pytest

from memcg_edu.errors import InvariantViolation
from memcg_edu.model.res_counter import RES_COUNTER_MAX, ResCounter


class Owner:
    def __init__(self, name):
        self.name = name
        self.index = len(WRITTEN_BY)
        WRITTEN_BY.append(name)


#: owner names by index, and the indices of the counters written (Machine.written)
WRITTEN_BY: list[str] = []
WRITTEN: set[int] = set()


def counter(name, parent=None, limit=RES_COUNTER_MAX):
    row = [0, 0, limit, 0]
    return ResCounter(row, 0, parent, Owner(name), "res", WRITTEN)


def written():
    """The owners of the counters written since the last call."""
    out = {WRITTEN_BY[i] for i in WRITTEN}
    WRITTEN.clear()
    return out


def test_each_write_marks_the_level_it_writes():
    top = counter("top", limit=4)
    low = counter("low", counter("mid", top))
    written()
    assert low.charge(3) is None and written() == {"low", "mid", "top"}
    low.uncharge(1, top=top)
    assert written() == {"low", "mid"}
    assert low.charge(3) is top and written() == {"low", "mid", "top"}  # failcnt
    assert not top.set_limit(1) and written() == set()
    assert top.set_limit(9) and written() == {"top"}


def test_charge_walks_up_every_level():
    top = counter("top")
    mid = counter("mid", top)
    low = counter("low", mid)
    assert low.charge(3) is None
    assert (low.usage, mid.usage, top.usage) == (3, 3, 3)
    assert (low.max_usage, mid.max_usage, top.max_usage) == (3, 3, 3)


def test_failing_level_counts_failcnt_and_lower_levels_roll_back():
    top = counter("top", limit=4)
    mid = counter("mid", top)
    low = counter("low", mid)
    assert low.charge(3) is None
    fail = low.charge(2)
    assert fail is top
    # only the failing level's failcnt moves
    assert (low.failcnt, mid.failcnt, top.failcnt) == (0, 0, 1)
    # lower levels were rolled back, but keep the transient peak
    assert (low.usage, mid.usage, top.usage) == (3, 3, 3)
    assert (low.max_usage, mid.max_usage, top.max_usage) == (5, 5, 3)


def test_uncharge_until_stops_below_top():
    top = counter("top")
    low = counter("low", top)
    low.charge(2)
    low.uncharge(1, top=top)
    assert (low.usage, top.usage) == (1, 2)


def test_set_limit_refuses_a_limit_below_usage():
    c = counter("c")
    c.charge(5)
    assert not c.set_limit(4)
    assert c.limit == RES_COUNTER_MAX
    assert c.set_limit(5)
    assert c.limit == 5 and c.margin() == 0


def test_uncharge_below_zero_is_reported_not_clamped():
    c = counter("c")
    c.charge(1)
    with pytest.raises(InvariantViolation) as e:
        c.uncharge(2)
    assert "res_counter_uncharge_locked" in str(e.value)
    assert c.usage == 1
