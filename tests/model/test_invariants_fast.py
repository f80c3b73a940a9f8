"""model/invariants_fast.py: all_hold() says yes exactly when every check of
invariants.py passes, and check_invariants() then raises what invariants.py
raises, in the same words.

Side by side on broken states: machines of both designs (with and without
swap accounting and the charge stock) are driven through random mm
operations; after each operation the clean state and a few states with one
or two facts broken (a frame's field, a swap slot's, a pte, an rmap entry,
a counter, a css reference, the stock) are checked both ways.
"""
import random

import numpy as np
import pytest

from memcg_edu.errors import InvariantViolation, MemcgOOM, ModelUsageError
from memcg_edu.model import Machine
from memcg_edu.model import invariants as full
from memcg_edu.model import invariants_fast as fast
from memcg_edu.model.memcg import COL, COLUMNS
from memcg_edu.model.pages import PG_free, PG_lru, PG_swapbacked

#: ModelUsageErrors a random operation may meet (resources ran out)
EXPECTED = ("out of simulated RAM", "no free swap slot", "-EBUSY", "only held by references")
FRAME_FIELDS = ("flags", "pc_flags", "pc_memcg", "refcount", "mapcount", "mapping",
                "lru", "lru_memcg", "rmap_task", "rmap_addr")
SLOT_FIELDS = ("count", "cache", "cgroup", "page")


def _op(m, rng, strand):
    """One random mm operation on ``m`` (what test_stateful.py does, drawn
    from rng); ``strand``: replace_page_cache too (3.17.0 then strands
    charges, Machine.stranded, for the rest of the run)."""
    mem, tasks = m.mem, sorted(m.tasks)
    if not tasks:
        m.create_task(f"t{rng.randrange(10**6)}", rng.choice(sorted(m.memcgs)))
        return
    t = rng.choice(tasks)
    live = np.flatnonzero((mem.flags & PG_free) == 0)
    cache = [p for f in m.files.values() for p in f.pages.values()]
    pte = m.tasks[t].pte[:m.tasks[t].top]
    pages, swaps = pte[pte >= 0], pte[pte <= -2]
    op = rng.choice(["fault_anon"] * 3 + ["cache"] * 2 + [
        "shmem", "map", "unmap", "swap_out", "swap_out", "swap_in", "truncate", "migrate",
        "reclaim", "pin", "exit", "range", "fork_swap", "free_swap", "drain"]
        + ["replace"] * strand)
    if op == "fault_anon":
        m.fault_anon(t)
    elif op == "range":
        m.fault_anon_range(t, rng.randint(1, 4))
    elif op == "cache":
        m.add_to_page_cache(t, rng.choice("fg"), mapped=rng.random() < 0.5)
    elif op == "shmem":
        m.fault_shmem(t, "shm")
    elif op == "map":
        cand = [int(p) for p in live if mem.mapcount[p] > 0 or p in cache]
        if cand:
            m.map(t, m.page(rng.choice(cand)))
    elif op == "unmap" and pages.size:
        m.unmap(t, m.page(int(rng.choice(list(pages)))))
    elif op == "unmap" and swaps.size:
        m.unmap(t, m.swap_entry(-2 - int(rng.choice(list(swaps)))))
    elif op == "fork_swap" and swaps.size:
        m.map(rng.choice(tasks), m.swap_entry(-2 - int(rng.choice(list(swaps)))))
    elif op == "swap_out":
        cand = [int(p) for p in live if mem.flags[p] & PG_swapbacked and mem.flags[p] & PG_lru]
        if cand:
            m.swap_out(m.page(rng.choice(cand)))
    elif op == "swap_in":
        slots = [-2 - int(s) for s in swaps] + [s for f in m.files.values()
                                                  for s in f.swap.values()]
        if slots:
            m.swap_in(t, m.swap_entry(rng.choice(slots)))
    elif op == "free_swap":
        slots = np.flatnonzero(m.swap.cache & (m.swap.count == 0))
        if slots.size:
            m.free_swap(m.swap_entry(int(rng.choice(list(slots)))))
    elif op == "truncate" and cache:
        m.truncate(m.page(rng.choice(cache)))
    elif op == "migrate":
        cand = [int(p) for p in live if mem.flags[p] & PG_lru]
        if cand:
            m.migrate(m.page(rng.choice(cand)))
    elif op == "reclaim":
        m.reclaim(rng.choice(sorted(m.memcgs)), rng.randint(1, 6), may_swap=rng.random() < 0.7)
    elif op == "pin" and live.size:
        m.get_page(m.page(int(rng.choice(list(live)))))
    elif op == "exit" and len(tasks) > 2:
        m.exit_task(t)
        m.create_task(f"t{rng.randrange(10**6)}", rng.choice(sorted(m.memcgs)))
    elif op == "drain":
        m.drain_stock()
    elif op == "replace":                # 3.17.0 strands a charge (Machine.stranded)
        cand = [p for f in m.files.values() if not f.shmem
                for p in f.pages.values() if mem.mapcount[p] == 0]
        if cand:
            m.replace_page_cache(m.page(rng.choice(cand)))


def _value(rng, old, n_mg):
    return rng.choice([old + 1, old - 1, 0, -1, 1, rng.randrange(n_mg + 1),
                       old ^ (1 << rng.randrange(8)), 2, 40, -2 - rng.randrange(4)])


def _break(m, rng):
    """Break one fact of ``m`` at random; return how to put it back."""
    mem, sw, n_mg = m.mem, m.swap, len(m.memcg_list)
    what = rng.choice(["frame"] * 6 + ["slot"] * 2 + ["pte"] * 2 + [
        "row", "row", "css", "stock", "private", "rmap_extra", "tmpfs"])
    if what == "frame":
        a = getattr(mem, rng.choice(FRAME_FIELDS))
    elif what == "slot" and sw.nr:
        a = getattr(sw, rng.choice(SLOT_FIELDS))
    elif what == "pte" and m.task_list:
        task = rng.choice(list(m.task_list.values()))
        a = task.pte[:max(task.top, 1)]
    elif what == "row":
        row = rng.choice(m.memcg_list).row
        i = rng.randrange(len(COLUMNS))
        old = row[i]
        row[i] = _value(rng, old, n_mg)
        return lambda: row.__setitem__(i, old)
    elif what == "css":
        mg = rng.choice(m.memcg_list)
        old = mg.swap_css_refs
        mg.swap_css_refs = _value(rng, old, n_mg)
        return lambda: setattr(mg, "swap_css_refs", old)
    elif what == "stock":
        st = m.stock
        old = (st.cached, st.nr_pages)
        st.cached, st.nr_pages = rng.choice([None, 0, 1, n_mg - 1]), rng.randrange(4)
        return lambda: (setattr(st, "cached", old[0]), setattr(st, "nr_pages", old[1]))
    elif what == "private":
        slots = mem.private.slot
        saved = dict(slots)
        pfn = rng.choice(list(slots) or [0])
        mem.private[pfn] = rng.choice([-1, 0, rng.randrange(max(sw.nr, 1)), slots.get(pfn, 0) + 1])
        return lambda: (slots.clear(), slots.update(saved))
    elif what == "rmap_extra" and m.rmap_tid:
        pfn = rng.choice(list(m.rmap_tid))
        for own in m.rmap_tid[pfn].values():
            if own:
                v = next(iter(own))
                del own[v]
                return lambda: own.__setitem__(v, None)
        return lambda: None
    elif what == "tmpfs" and any(f.swap for f in m.file_list.values()):
        f = next(f for f in m.file_list.values() if f.swap)
        idx = next(iter(f.swap))
        old = f.swap[idx]
        f.swap[idx] = rng.randrange(sw.nr)
        return lambda: f.swap.__setitem__(idx, old)
    else:
        return lambda: None
    i = rng.randrange(a.size)
    old = a[i].item()
    try:
        a[i] = _value(rng, old, n_mg)
    except OverflowError:
        a[i] = 0
    return lambda: a.__setitem__(i, old)


def _both(m):
    """(what invariants.py finds, or the exception it raises) and all_hold(m)."""
    try:
        found = full.failed_invariants(m)
    except Exception as e:              # a broken state the full checks cannot read
        found = type(e)
    return found, fast.all_hold(m)


def _same_report(m):
    """check_invariants of both modules raise the same, in the same words."""
    outcome = []
    for check in (full.check_invariants, fast.check_invariants):
        try:
            check(m)
            outcome.append(None)
        except InvariantViolation as e:
            outcome.append((e.invariant, str(e)))
        except Exception as e:
            outcome.append(type(e))
    return outcome[0] == outcome[1]


def fuzz_machine(rng, design, swap_account, stock):
    """The machine fuzz() drives: three memcgs (B under A, hierarchical),
    a task in each and in root."""
    m = Machine(ram_pages=24, swap_slots=10, swap_account=swap_account,
                charge_stock=stock, design=design)
    m.create_memcg("A", use_hierarchy=True, limit=rng.choice([None, 10]))
    m.create_memcg("B", parent="A", limit=rng.choice([None, 6]))
    m.create_memcg("C", limit=rng.choice([None, 8]))
    for i, mg in enumerate(("root", "A", "B", "C")):
        m.create_task(f"p{i}", mg)
    return m


def fuzz(seed, steps, breaks_per_step=4, design="3.17", swap_account=True, stock=False,
         strand=False):
    """Drive a machine ``steps`` operations; after each compare both checks on
    the clean state and ``breaks_per_step`` broken ones. Returns
    (states compared, states where an invariant failed); asserts they agree."""
    rng = random.Random(seed)
    m = fuzz_machine(rng, design, swap_account, stock)
    states = failing = 0
    for _ in range(steps):
        try:
            _op(m, rng, strand)
        except MemcgOOM:
            pass
        except ModelUsageError as e:
            if not any(s in str(e) for s in EXPECTED):
                raise
        found, yes = _both(m)
        assert found == [] and yes, (design, found)       # the model keeps them all
        states += 1
        for _ in range(breaks_per_step):
            undo = [_break(m, rng) for _ in range(rng.choice([1, 1, 1, 2]))]
            found, yes = _both(m)
            assert yes == (found == []), (design, found, yes)
            assert _same_report(m)
            states += 1
            failing += found != []
            for u in reversed(undo):
                u()
    return states, failing


@pytest.mark.parametrize("seed,design,swap_account,stock,strand", [
    (1, "3.17", True, False, False), (2, "3.17", False, True, False),
    (3, "3.16", True, True, False), (4, "3.16", False, False, False),
    (5, "3.17", True, True, True), (6, "3.16", True, False, True)])
def test_all_hold_agrees_with_every_check_on_broken_states(seed, design, swap_account, stock,
                                                           strand):
    states, failing = fuzz(seed=seed, steps=150, design=design,
                           swap_account=swap_account, stock=stock, strand=strand)
    assert states == 750 and failing > 300      # most breaks break something


def test_the_pair_table_reads_the_flags_as_the_checks_do():
    """Each (page flags, pc->flags) pair's facts equal those invariants.py
    reads off the flags tables, for every flags value the model sets."""
    facts = fast._pair_facts(7, True)
    free, live, lru_flag, on_lru, in_sc, anon, live_file = full._flag_facts()
    flags = np.arange(256)               # the model's PG_ bits are the low 8
    for c in (0, 1, 3, 7, 5, 2):
        key = fast._flag_codes()[flags] | c
        used = live[flags] & ((c & 1) != 0)
        assert (facts[fast._ON_LRU][key] == on_lru[flags]).all()
        assert (facts[fast._IN_SC][key] == in_sc[flags]).all()
        assert ((facts[fast._CACHED_FROM][key] == 0) == live_file[flags]).all()
        assert (facts[fast._CACHED_FROM][key] > np.iinfo(np.int16).max).sum() == (~live_file[flags]).sum()
        assert (facts[fast._LOF][key] == full._lru_of_flags()[flags]).all()
        assert (facts[fast._USED][key] == used).all()
        # the sums a page adds 1 to are those Tally's kind of it counts
        kind = (c & 6) + full._flag_kind()[flags]
        for f in flags:
            adds = sorted(set(facts[fast._COUNTS:, key[f]].tolist()) - {fast._NOTHING})
            want = ([j for j in range(5) if used[f] and full._KIND_COUNTS[kind[f], j]]
                    + [fast._UNMAPPED_] * bool(used[f] and not kind[f] & 8)
                    + [fast._LRU_ + full._lru_of_flags()[f]] * bool(on_lru[f]))
            assert adds == want, (f, c)


def test_a_consistent_machine_answers_yes_and_a_broken_one_no():
    m = Machine(ram_pages=16, swap_slots=8)
    t = m.create_task("p", m.create_memcg("A"))
    p = m.fault_anon(t)
    m.swap_out(m.fault_anon(t))
    assert fast.all_hold(m)
    m.mem.refcount[p.pfn] += 0           # untouched: still yes
    assert fast.all_hold(m)
    m.mem.lru_memcg[p.pfn] = 0
    assert not fast.all_hold(m)
    with pytest.raises(InvariantViolation, match="sits on the lruvec of root"):
        fast.check_invariants(m)


def test_a_big_machine_goes_straight_to_the_checks(monkeypatch):
    """Beyond FAST_MAX_FRAMES the array work outweighs the calls saved:
    all_hold() (here a stub that always says yes) is not asked."""
    asked = []
    monkeypatch.setattr(fast, "all_hold", lambda m: asked.append(m.mem.nr) or True)
    small = Machine(ram_pages=fast.FAST_MAX_FRAMES, swap_slots=4)
    big = Machine(ram_pages=fast.FAST_MAX_FRAMES + 1, swap_slots=4)
    for m in (small, big):
        m.create_memcg("A").row[COL["usage"]] += 1      # I2 breaks
    small.check_invariants()
    with pytest.raises(InvariantViolation, match="res usage of A is 1"):
        big.check_invariants()
    assert asked == [fast.FAST_MAX_FRAMES]
