"""@kernel_call functions shed their wrapper while no call log records
(model/calls.py, _recording_moved), and every call a log records is
recorded whatever the other logs do."""
from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from memcg_edu.model import Machine
from memcg_edu.model.calls import kernel_call

ROOT = Path(__file__).parents[2]

#: in a fresh interpreter (no other test's machine alive): which code
#: put_page runs as logs turn on and off, are copied and are let go
PROGRAM = """
import copy, gc
from memcg_edu.model import Machine, mm

def runs():
    return "own" if mm.put_page.__code__ is mm.put_page.__wrapped__.__code__ else "wrapper"

seen = [runs()]                       # imported: no log yet, bare
m = Machine()
seen.append(runs())                   # a log on
m.calls.enabled = False
seen.append(runs())
other = Machine(record_events=False)
seen.append(runs())                   # a log that never recorded
m.calls.enabled = True
seen.append(runs())
twin = copy.copy(m.calls)             # a copy of a log on is on too
m.calls.enabled = False
seen.append(runs())
del twin
gc.collect()
seen.append(runs())
m.calls.enabled = True
del m
gc.collect()                          # a machine let go while it records
seen.append(runs())
print(" ".join(seen))
"""


def test_which_code_runs_follows_the_logs_that_record():
    out = subprocess.run([sys.executable, "-c", PROGRAM], cwd=ROOT, capture_output=True,
                         text=True, timeout=120)
    assert out.returncode == 0, out.stderr
    assert out.stderr == ""
    assert out.stdout.split() == ["own", "wrapper", "own", "own", "wrapper",
                                  "wrapper", "own", "own"]


def _machine(record: bool = True) -> Machine:
    m = Machine(ram_pages=32, swap_slots=16)
    m.create_memcg("A")
    m.create_task("p", "A")
    m.calls.enabled = record
    return m


def _ops(m: Machine) -> None:
    """Every kind of path once: fault, page cache, migration, swap out and in, unmap."""
    p = m.fault_anon("p")
    f = m.add_to_page_cache("p")
    p = m.migrate(p)
    e = m.swap_out(p)
    p = m.swap_in("p", e)
    m.unmap("p", p)
    m.truncate(f)


def _alone() -> list[str]:
    """The calls of _ops on a machine of its own, every @kernel_call
    function run by its wrapper (as before any function could shed it)."""
    from memcg_edu.model import calls
    was = [(fn, fn.__code__) for fn, _, _ in calls._SWITCHED]
    for fn, wrapped, _ in calls._SWITCHED:
        fn.__code__ = wrapped
    try:
        m = _machine()
        _ops(m)
        names = m.calls.names()
        m.calls.enabled = False
    finally:
        for fn, code in was:
            fn.__code__ = code
    assert {"put_page", "mem_cgroup_try_charge", "mem_cgroup_migrate"} <= set(names)
    return names


def test_a_log_records_every_call_while_another_is_off_or_turns_on_and_off():
    want = _alone()
    rec, quiet = _machine(), _machine(record=False)
    _ops(quiet)                          # nothing recorded, beside one that records
    _ops(rec)
    assert rec.calls.names() == want and len(quiet.calls) == 0
    # the one that records turns off, then on again: its next calls are whole
    rec.calls.enabled = False
    _ops(rec)
    rec.calls.enabled = True
    n = len(rec.calls)
    _ops(rec)
    assert rec.calls.names(n) == want


def test_a_log_that_turns_on_after_others_went_off_records_whole():
    want = _alone()
    off = [_machine() for _ in range(3)]
    for m in off:
        m.calls.enabled = False          # every log off: functions bare
    late = _machine(record=False)
    _ops(late)
    late.calls.enabled = True
    _ops(late)
    assert late.calls.names() == want


def test_a_function_with_a_closure_keeps_its_wrapper_and_records():
    cell = []

    @kernel_call("get_page")
    def get_it(m, pfn):
        cell.append(pfn)                 # (a closure: its code needs the cell)
        m.get_page(m.page(pfn))

    on, off = _machine(), _machine(record=False)
    for m in (on, off):
        get_it(m, m.fault_anon("p").pfn)
    assert "<kernel_call wrapper>" == get_it.__code__.co_filename
    assert "get_page" in on.calls.names() and len(off.calls) == 0
    assert len(cell) == 2


#: in a fresh interpreter: a thread runs machines, recording (then
#: turning its log off) or not, while this thread turns a log on and off,
#: so that the functions switch code while the other thread calls them
THREADS = """
import threading
from memcg_edu.model import Machine, calls

switches = [0]
moved = calls._recording_moved

def counted(by):                      # a switch: no log on before, or after
    before = calls._recording
    moved(by)
    switches[0] += (before == 0) != (calls._recording == 0)

calls._recording_moved = counted

def machine(record):
    m = Machine(ram_pages=32, swap_slots=16)
    m.create_memcg("A")
    m.create_task("p", "A")
    m.calls.enabled = record
    return m

def ops(m):
    p = m.fault_anon("p")
    f = m.add_to_page_cache("p")
    p = m.migrate(p)
    p = m.swap_in("p", m.swap_out(p))
    m.unmap("p", p)
    m.truncate(f)

def run(record):
    m = machine(record)
    ops(m)
    out = (m.calls.names(), m.counters(), m.page_state()["refcount"].tolist())
    m.calls.enabled = False
    return out

want = {True: run(True), False: run(False)}
got, done = [], threading.Event()

def worker():
    for i in range(400):
        record = i % 2 == 0
        got.append(run(record) == want[record])
    done.set()

flip = machine(False)
t = threading.Thread(target=worker)
t.start()
while not done.is_set():
    flip.calls.enabled = True
    flip.calls.enabled = False
t.join()
whole = {"put_page", "mem_cgroup_try_charge", "mem_cgroup_migrate"} <= set(want[True][0])
print(len(got), all(got), switches[0] > 400, whole)
"""


def test_a_thread_runs_whole_while_the_functions_switch_code_under_it():
    out = subprocess.run([sys.executable, "-c", THREADS], cwd=ROOT, capture_output=True,
                         text=True, timeout=300)
    assert out.returncode == 0, out.stderr
    assert out.stdout.split() == ["400", "True", "True", "True"]


@pytest.mark.parametrize("design", ["3.17", "3.16"])
def test_the_bare_functions_give_the_machine_the_recorded_ones_give(design):
    # the same operations with no log on anywhere in this machine and with
    # one: the same counters and page states
    states = []
    for record in (False, True):
        m = Machine(ram_pages=32, swap_slots=16, design=design)
        m.create_memcg("A", limit=6)
        m.create_task("p", "A")
        m.calls.enabled = record
        for _ in range(3):
            _ops(m)
        pages = [m.fault_anon("p") for _ in range(8)]     # past the limit: reclaim
        for p in pages:
            if p.alive:
                m.unmap("p", p)
        states.append((m.counters(), {k: v.tolist() for k, v in m.page_state().items()
                                      if hasattr(v, "tolist")}))
    assert states[0] == states[1]
