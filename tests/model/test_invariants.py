"""model/invariants.py: one function per invariant, composed by check_invariants.

Each test breaks one fact of a consistent machine and checks that exactly the
invariant about it fails, and that the message states the rule in words.
Rules: docs/kernel-rules.md, "Invariants"."""
import pytest

from memcg_edu.errors import InvariantViolation
from memcg_edu.model import Machine
from memcg_edu.model.invariants import (INVARIANTS, failed_invariants,
                                        invariant_words)
from memcg_edu.model.memcg import COL, LRU_BASE
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


# -- the checks' shared counts (Tally), against a walk of the frames one by one

def _busy_machine():
    """Every kind of page the checks count: anonymous, mapped and unmapped
    cache, tmpfs swapped out, a page shared by two tasks, swap ptes, a page
    in the swap cache, two memcgs, one under the other."""
    m = Machine(ram_pages=32, swap_slots=8, charge_stock=False)
    a = m.create_memcg("A", limit=20)
    b = m.create_memcg("B", parent="A")
    p, q, r = m.create_task("p", a), m.create_task("q", b), m.create_task("r", b)
    shared = m.fault_anon(p)
    m.map(q, shared)
    m.map(r, shared)
    m.fault_anon(q)
    m.swap_out(m.fault_anon(p))
    m.add_to_page_cache(p, "f", mapped=True)
    m.add_to_page_cache(q, "g", mapped=False)
    m.add_to_page_cache(q, "h", mapped=True)
    m.swap_out(m.fault_shmem(q, "shm"))
    m.swap_out(m.fault_anon(q))
    m.swap_in(q, m.swap_out(m.fault_anon(q)))    # stays in the swap cache
    m.exit_task(p)                  # its cache pages stay, charged or not
    m.check_invariants()
    return m


def test_tally_counts_what_a_walk_of_the_frames_counts():
    from memcg_edu.model.invariants import Tally
    from memcg_edu.model.pages import PCG_MEM, PCG_USED, PG_anon, PG_free
    m = _busy_machine()
    t, mem = Tally(m), m.mem
    want = {k: [0] * len(m.memcg_list) for k in ("used", "mem", "memsw", "mapped")}
    for pfn in range(mem.nr):
        flags, pcf = int(mem.flags[pfn]), int(mem.pc_flags[pfn])
        if flags & PG_free or not pcf & PCG_USED:
            continue
        i = int(mem.pc_memcg[pfn])
        want["used"][i] += 1
        want["mem"][i] += bool(pcf & PCG_MEM)
        want["memsw"][i] += bool(pcf & PCG_MEMSW)
        want["mapped"][i] += not flags & PG_anon and mem.mapcount[pfn] > 0
    assert t.n_used.tolist() == want["used"] and t.n_mem.tolist() == want["mem"]
    assert t.n_memsw.tolist() == want["memsw"] and t.n_mapped.tolist() == want["mapped"]
    assert sum(want["used"]) > 0 and sum(want["mapped"]) > 0
    ptes = [int(v) for task in m.task_list.values() for v in task.pte[:task.top]]
    assert t.pfn_ptes.tolist() == [ptes.count(pfn) for pfn in range(mem.nr)]
    assert t.slot_ptes.tolist() == [ptes.count(-2 - s) for s in range(m.swap.nr)]
    assert max(t.pfn_ptes) == 2 and sum(t.slot_ptes) == 1   # the shared page; one swap pte


def _broken(brk):
    m = _busy_machine()
    brk(m)
    return failed_invariants(m)


def _lru_page_of_b(m):
    return next(p for p in range(m.mem.nr)
                if m.mem.flags[p] & PG_lru and m.mem.pc_memcg[p] == 2)


def test_each_check_names_what_broke_it_in_its_words():
    """A break of each invariant the busy machine has a case of, with the
    exact words of its report."""
    a, b = 1, 2
    cases = [
        (lambda m: m.memcg_list[b].row.__setitem__(COL["memsw_usage"], 99), "I3",
         "memsw usage of B is 99 but 4 page(s) with PCG_MEMSW, 2 swap record(s), "
         "0 in stock, 0 stranded and children add up to 6"),
        (lambda m: m.memcg_list[a].row.__setitem__(COL["mapped_file"], 5), "I4",
         "mapped_file of A is 5 but 0 page(s)/slot(s) qualify"),
        (lambda m: setattr(m.stock, "cached", 0), "I13",
         "the charge stock caches the root memcg"),
        (lambda m: m.memcg_list[b].row.__setitem__(LRU_BASE + 1, 7), "I6",
         "lru_size[active_anon] of B is 7 but 1 page(s) are linked there"),
    ]
    for brk, inv, words in cases:
        failed = _broken(brk)
        assert failed and failed[0] == (inv, words), (inv, failed)

    m = _busy_machine()
    pfn = _lru_page_of_b(m)
    m.mem.lru_memcg[pfn] = a
    assert failed_invariants(m)[0] == (
        "I6", f"page {pfn} sits on the lruvec of A but pc->mem_cgroup is B")
    m = _busy_machine()
    m.mem.pc_flags[pfn] = 0
    assert ("I7", f"uncharged page {pfn} is on the lruvec of B, not root's") \
        in failed_invariants(m)


def test_swap_and_reference_checks_report_their_page_or_slot():
    from memcg_edu.model.pages import PG_swapcache

    def sc_page(m):
        return next(p for p in range(m.mem.nr) if m.mem.flags[p] & PG_swapcache)

    def free_slot_with_record(m):
        slot = next(s for s in range(m.swap.nr) if not m.swap.in_use(s))
        m.swap.cgroup[slot] = 0                  # a record of root: no memsw
        m.root.row[COL["swap"]] += 1
        m.root.swap_css_refs += 1
    failed = _broken(free_slot_with_record)
    assert failed[0] == ("I11", "a free swap slot still has a swap_cgroup record")
    failed = _broken(lambda m: m.swap.page.__setitem__(m.mem.private[sc_page(m)], -1))
    assert ("swapcache", "a page in the swap cache and its slot disagree") in failed
    m = _busy_machine()
    pfn = sc_page(m)
    m.mem.refcount[pfn] = 1                      # the swap cache's and a mapping's
    assert failed_invariants(m) == [("refcount", f"page {pfn} has refcount 1 but its "
                                                 f"mappings and caches hold 2")]

    def tmpfs_slot_count(m):                     # a tmpfs entry counts like a swap pte
        slot = next(iter(m.files["shm"].swap.values()))
        m.swap.count[slot] += 1
    assert _broken(tmpfs_slot_count)[0][1].endswith("has count 2 but 1 swap pte(s)/tmpfs entries use it")


def test_a_later_pte_missing_from_the_rmap_is_found():
    """The second task's pte of a shared page is kept beyond rmap_task and
    rmap_addr (mm.rmap_add); forgetting it breaks rmap and only rmap."""
    m = _busy_machine()
    pfn = next(p for p in range(m.mem.nr) if m.mem.mapcount[p] == 2)
    (tid, addrs), = m.rmap_tid[pfn].items()     # the pte after the first
    v = next(iter(addrs))
    addrs.clear()
    assert failed_invariants(m) == [("rmap", f"pte {v} of task {m.task_list[tid].name} "
                                             f"maps page {pfn} but the page's rmap does not know it")]


def test_a_swap_pte_beyond_the_device_is_reported_not_a_crash():
    m = _busy_machine()
    q = m.tasks["q"]
    v = int(q.entries()[0])
    pfn = int(q.pte[v])
    assert pfn >= 0
    q.pte[v] = -2 - m.swap.nr - 5            # a slot the device does not have
    failed = dict(failed_invariants(m))
    assert failed["mapcount"].startswith(f"page {pfn} has mapcount")
