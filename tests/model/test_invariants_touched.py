"""model/invariants_touched.py: the check after each operation, asked of
what the operation changed, answers what invariants_fast.all_hold() and
the checks of invariants.py answer, whoever wrote the change.

Side by side: random runs of both designs where, after every operation,
the clean state and states with one or two facts broken (the breaks of
test_invariants_fast.py) are checked both ways, the incremental way from
the copies the last check kept; a break written into every array the
checks read, by every kind of write (an array element, a slice, a
PageFields memoryview, a rebound array); every shipped scenario under
both designs with both checks after every step.
"""
import importlib.util
import random
import re
from pathlib import Path

import numpy as np
import pytest

from memcg_edu.bundled import SCENARIO_DIR
from memcg_edu.errors import InvariantViolation, MemcgOOM, ModelUsageError
from memcg_edu.model import Machine
from memcg_edu.model import invariants as full
from memcg_edu.model import invariants_fast as fast
from memcg_edu.model import invariants_touched as touched
from memcg_edu.model import machine as machine_module
from memcg_edu.model.pages import CHECKED_FIELDS, PG_lru
from memcg_edu.scenario import run_scenario

_spec = importlib.util.spec_from_file_location(
    "invariants_fast_fuzz", Path(__file__).with_name("test_invariants_fast.py"))
fuzz = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(fuzz)


def _incremental(m):
    """touched.all_hold(m) from the copies of the last check (which must
    be there), and whether invariants.py finds nothing wrong."""
    assert id(m) in touched._SEEN, "the last check kept no copies"
    try:
        clean = not full.failed_invariants(m)
    except (ValueError, IndexError):    # a state the full checks cannot read
        clean = False
    return touched.all_hold(m), clean


def run_side_by_side(seed, steps, design, swap_account, stock, strand, breaks=4):
    rng = random.Random(seed)
    m = fuzz.fuzz_machine(rng, design, swap_account, stock)
    assert touched.all_hold(m)           # the first check keeps its copies
    compared = failing = 0
    for _ in range(steps):
        try:
            fuzz._op(m, rng, strand)
        except MemcgOOM:
            pass
        except ModelUsageError as e:
            if not any(s in str(e) for s in fuzz.EXPECTED):
                raise
        if m.stranded:                   # not summed: invariants_fast.py answers
            assert touched.all_hold(m) and id(m) not in touched._SEEN
            continue
        yes, clean = _incremental(m)
        assert yes and clean, design
        for _ in range(breaks):
            undo = [fuzz._break(m, rng) for _ in range(rng.choice([1, 1, 1, 2]))]
            yes, clean = _incremental(m)
            assert yes == clean, (design, full.failed_invariants(m))
            compared += 1
            failing += not clean
            for u in reversed(undo):
                u()
            assert touched.all_hold(m)   # (copies again, if the no forgot them)
    return compared, failing


@pytest.mark.parametrize("seed,design,swap_account,stock,strand", [
    (1, "3.17", True, False, False), (2, "3.17", False, True, False),
    (3, "3.16", True, True, False), (4, "3.16", False, False, False),
    (5, "3.17", True, False, True), (6, "3.16", True, True, True),
    (7, "3.17", True, True, False), (8, "3.16", True, False, False)])
def test_from_what_changed_it_answers_what_every_check_answers(seed, design, swap_account,
                                                              stock, strand):
    compared, failing = run_side_by_side(seed, 150, design, swap_account, stock, strand)
    assert compared > 150 and failing > compared // 3     # most breaks break something


def _machine():
    m = Machine(ram_pages=16, swap_slots=8)
    a = m.create_memcg("A")
    t = m.create_task("p", a)
    q = m.create_task("q", m.create_memcg("B"))
    pages = [m.fault_anon(t) for _ in range(3)] + [m.add_to_page_cache(q, "f", mapped=True)]
    m.map(q, pages[0])
    m.swap_out(m.fault_anon(t))
    m.swap_out(pages[2])
    return m, pages


#: the fields of a live frame and a value that breaks an invariant there
_FRAME_BREAKS = {"refcount": 0, "rmap_addr": 9, "mapcount": 3, "flags": PG_lru,
                 "mapping": 5, "lru_memcg": 2, "rmap_task": 1, "pc_memcg": 2,
                 "lru": 0, "pc_flags": 1}


@pytest.mark.parametrize("how", ["element", "slice", "memoryview"])
@pytest.mark.parametrize("field", CHECKED_FIELDS)
def test_a_write_to_any_field_of_a_frame_is_seen_however_written(field, how):
    """Every per-frame array the checks read, written at one frame by an
    array element, a slice or PageFields' memoryview: the incremental
    check says no where the checks do (a field dropped from
    CHECKED_FIELDS would go unseen and fail this)."""
    m, pages = _machine()
    pfn = pages[0].pfn
    if field == "mapping":               # a file page out of its cache, one reference
        pfn = pages[3].pfn
        m.mem.mapping[pfn], m.mem.refcount[pfn] = -1, 1
    assert touched.all_hold(m)
    value = _FRAME_BREAKS[field]
    assert getattr(m.mem, field)[pfn] != value
    if how == "element":
        getattr(m.mem, field)[pfn] = value
    elif how == "slice":
        getattr(m.mem, field)[pfn:pfn + 1] = value
    else:
        getattr(m.mem.pg, field)[pfn] = value
    assert full.failed_invariants(m)
    assert _incremental(m) == (False, False)
    with pytest.raises(InvariantViolation):
        touched.check_invariants(m)


@pytest.mark.parametrize("field,value", [("count", 0), ("cache", False), ("cgroup", 2),
                                         ("page", 3)])
def test_a_write_to_any_field_of_a_slot_is_seen(field, value):
    m, pages = _machine()
    m.swap_in("p", m.swap_out(pages[1]))     # a page in the swap cache
    assert touched.all_hold(m)
    slot = int(np.flatnonzero(m.swap.count if field == "count" else m.swap.cache)[0])
    assert getattr(m.swap, field)[slot] != value
    getattr(m.swap, field)[slot] = value
    assert _incremental(m) == (False, False)


@pytest.mark.parametrize("k", range(7))
def test_writes_outside_the_arrays_are_read_where_they_are(k):
    """A pte, a tmpfs swap entry, page_private(), a later pte's rmap entry,
    a counter, a css reference and the stock: each broken alone is seen."""
    m, pages = _machine()
    t = m.tasks["p"]
    in_cache = m.swap_in(t, m.swap_out(pages[1]))
    breaks = [lambda: t.pte.__setitem__(t.top - 1, -1),
              lambda: m._file("shm", True).swap.__setitem__(0, 1),
              lambda: m.mem.private.__setitem__(in_cache.pfn, 5),
              lambda: next(iter(m.rmap_tid[pages[0].pfn].values())).clear(),
              lambda: m.memcgs["A"].row.__setitem__(0, 99),
              lambda: setattr(m.memcgs["B"], "swap_css_refs", 5),
              lambda: setattr(m.stock, "cached", 0)]
    assert touched.all_hold(m)
    breaks[k]()
    assert _incremental(m) == (False, False)


def test_a_rebound_array_is_not_trusted():
    """An array no longer a view of MemMap.checked (rebound by hand) would
    escape the comparison: the check then reads the machine in full."""
    m, pages = _machine()
    assert touched.all_hold(m)
    m.mem.lru_memcg = m.mem.lru_memcg.copy()
    m.mem.lru_memcg[pages[0].pfn] = 2
    assert touched.all_hold(m) is False
    assert id(m) not in touched._SEEN


def test_the_checked_fields_are_every_frame_field_the_checks_read():
    """The per-frame arrays invariants.py and invariants_fast.py read are
    those MemMap keeps in ``checked`` (a check reading another would see
    changes the comparison does not)."""
    src = "".join(Path(mod.__file__).read_text() for mod in (full, fast))
    read = set(re.findall(r"\bmem\.(\w+)", src)) - {"nr", "private", "pg"}
    assert read == set(CHECKED_FIELDS)
    slot_read = set(re.findall(r"\bsw\.(\w+)", src)) - {"nr"}
    assert slot_read == set(touched.SLOT_FIELDS)


def test_a_snapshot_keeps_its_arrays_in_one_buffer():
    m, pages = _machine()
    snap = m.snapshot()
    m.unmap("p", pages[0])
    assert touched.all_hold(m)
    m.restore(snap)
    for name in CHECKED_FIELDS:
        assert getattr(m.mem, name).base is m.mem.checked
    assert touched.all_hold(m) and not full.failed_invariants(m)
    m.mem.pg.mapcount[pages[0].pfn] = 0
    assert _incremental(m) == (False, False)


def test_a_machine_checking_after_every_operation_uses_its_copies(monkeypatch):
    """Machine(check_invariants=True) asks invariants_touched.py, which
    builds its copies once and then reads only what changed."""
    built = []
    real = touched._Seen.__init__

    def counting(self, m):
        built.append(m)
        real(self, m)
    monkeypatch.setattr(touched._Seen, "__init__", counting)
    m = Machine(ram_pages=32, swap_slots=8, check_invariants=True)
    t = m.create_task("p", m.create_memcg("A"))
    for _ in range(50):
        m.unmap(t, m.fault_anon(t))
    assert len(built) == 1
    m.mem.pg.refcount[3] = 7             # a free frame with a reference: I8
    with pytest.raises(InvariantViolation, match="I8|free page 3"):
        m.fault_anon(t)


@pytest.mark.parametrize("design", ["3.17", "3.16"])
def test_every_shipped_scenario_checks_the_same_both_ways(design, monkeypatch):
    """After every operation of every shipped scenario the incremental
    answer is invariants_fast.py's; a run ends with the full check."""
    asked = []

    def both(m):
        mine, theirs = touched.all_hold(m), fast.all_hold(m)
        asked.append(id(m) in touched._SEEN)
        assert mine == theirs
        if not theirs:
            full.check_invariants(m)
    monkeypatch.setattr(machine_module, "_check_invariants", both)
    for path in sorted(SCENARIO_DIR.glob("*.json")):
        run_scenario(path, design=design, check_invariants=True)
    assert len(asked) > 1000 and sum(asked) > 0.9 * len(asked)
