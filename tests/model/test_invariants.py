"""model/invariants.py: one function per invariant, composed by check_invariants.

Each test breaks one fact of a consistent machine and checks that exactly the
invariant about it fails, and that the message states the rule in words.
Rules: docs/kernel-rules.md, "Invariants"."""
import pytest

from memcg_edu.errors import InvariantViolation
from memcg_edu.model import Machine
from memcg_edu.model.invariants import (INVARIANTS, failed_invariants,
                                        invariant_words)
from memcg_edu.model.memcg import COL
from memcg_edu.model.pages import PCG_MEMSW, PG_active, PG_lru


def _machine():
    m = Machine(ram_pages=16, swap_slots=8, charge_stock=False)
    a = m.create_memcg("A", limit=8)
    t = m.create_task("p", a)
    p = m.fault_anon(t)
    e = m.swap_out(m.fault_anon(t))
    f = m.add_to_page_cache(t, "f", mapped=True)
    m.check_invariants()
    return m, a, p, e, f


BREAKS = {
    "I8": lambda m, a, p, e, f: m.mem.refcount.__setitem__(p.pfn, 0),
    "I1": lambda m, a, p, e, f: m.mem.pc_flags.__setitem__(p.pfn, m.mem.pc_flags[p.pfn] & (0xFF ^ PCG_MEMSW)),
    "I2": lambda m, a, p, e, f: a.row.__setitem__(COL["usage"], a.row[COL["usage"]] + 1),
    "I4": lambda m, a, p, e, f: a.row.__setitem__(COL["rss"], a.row[COL["rss"]] + 1),
    "I5": lambda m, a, p, e, f: a.row.__setitem__(COL["pgpgin"], a.row[COL["pgpgin"]] + 1),
    "I11": lambda m, a, p, e, f: setattr(a, "swap_css_refs", a.swap_css_refs + 1),
    "I12": lambda m, a, p, e, f: a.row.__setitem__(COL["limit"], 1),
    "I6": lambda m, a, p, e, f: a.row.__setitem__(COL["active_anon"], a.row[COL["active_anon"]] + 1),
    "mapcount": lambda m, a, p, e, f: m.mem.mapcount.__setitem__(f.pfn, 2),
    "swap_map": lambda m, a, p, e, f: m.swap.count.__setitem__(e.slot, 2),
}


#: more breaks, each caught by its invariant's other test
MORE_BREAKS = {
    # an active anon page whose flags say inactive: the wrong list for them
    "I6 list": ("I6", lambda m, a, p, e, f: m.mem.flags.__setitem__(
        p.pfn, m.mem.flags[p.pfn] ^ PG_active)),
    # the page's first pte recorded at another address
    "rmap": ("rmap", lambda m, a, p, e, f: m.mem.rmap_addr.__setitem__(
        p.pfn, m.mem.rmap_addr[p.pfn] + 7)),
}


@pytest.mark.parametrize("name", sorted(MORE_BREAKS))
def test_more_breaks_fail_their_invariant(name):
    inv, brk = MORE_BREAKS[name]
    m, a, p, e, f = _machine()
    brk(m, a, p, e, f)
    failed = [i for i, _ in failed_invariants(m)]
    assert failed and failed[0] == inv, failed


@pytest.mark.parametrize("inv", sorted(BREAKS))
def test_each_break_fails_its_own_invariant(inv):
    m, a, p, e, f = _machine()
    BREAKS[inv](m, a, p, e, f)
    failed = [i for i, _ in failed_invariants(m)]
    assert failed and failed[0] == inv, failed
    with pytest.raises(InvariantViolation) as err:
        m.check_invariants()
    assert err.value.invariant == inv
    assert invariant_words(inv) in str(err.value)


def test_every_failing_invariant_is_reported_in_words():
    m, a, p, e, f = _machine()
    a.row[COL["usage"]] += 1
    a.row[COL["rss"]] += 1
    with pytest.raises(InvariantViolation) as err:
        m.check_invariants()
    msg = str(err.value)
    assert msg.startswith("invariant I2 broken: res usage of A is")
    assert "invariant I4 broken too: rss of A is" in msg
    assert invariant_words("I4") in msg


def test_one_function_per_invariant_each_stating_it():
    ids = [i for i, _ in INVARIANTS]
    assert len(ids) == len(set(ids))
    assert {f"I{n}" for n in (1, 2, 3, 4, 5, 6, 7, 8, 11, 12, 13)} <= set(ids)
    for inv, check in INVARIANTS:
        first = check.__doc__.strip().splitlines()[0]
        assert first.startswith(f"{inv}: ") and len(first) > len(inv) + 20
    with pytest.raises(KeyError, match="I9"):
        invariant_words("I9")                  # a precondition, not checked here


def test_lru_flag_without_a_list_is_i6():
    m, a, p, e, f = _machine()
    m.mem.lru[p.pfn] = -1
    m.mem.flags[p.pfn] &= 0xFFFF ^ PG_lru
    assert [i for i, _ in failed_invariants(m)][0] == "I6"
