"""The call log: each mm operation's kernel calls in the v3.17 (or v3.16) order,
with the page's state at each return and the counters each call changed.

Each expected sequence names the kernel function and file it follows; the
nesting (depth) is the kernel's call graph, static helpers included.
"""
import json
import re
import sys
from pathlib import Path

import numpy as np
import pytest

from memcg_edu.errors import ModelUsageError
from memcg_edu.model import Machine
from memcg_edu.model.calls import KERNEL_FUNCTIONS, kernel_call


def tree(m, start=0):
    """The calls since ``start`` as (depth, name) pairs."""
    return list(zip(m.calls.depths(start), m.calls.names(start)))


def by_name(recs, name, nth=0):
    return [r for r in recs if r["fn"] == name][nth]


@pytest.fixture
def m():
    m = Machine(ram_pages=32, swap_slots=8)
    m.create_memcg("A")
    m.create_task("p", "A")
    return m


def test_fault_anon_follows_do_anonymous_page(m):
    # mm/memory.c do_anonymous_page(): alloc, mem_cgroup_try_charge,
    # page_add_new_anon_rmap, mem_cgroup_commit_charge(lrucare false),
    # lru_cache_add_active_or_unevictable (mm/swap.c) -> __pagevec_lru_add_fn
    p = m.fault_anon("p")
    assert tree(m) == [
        (0, "do_anonymous_page"),
        (1, "alloc_zeroed_user_highpage_movable"),
        (1, "mem_cgroup_try_charge"), (2, "try_charge"),
        (1, "page_add_new_anon_rmap"),
        (1, "mem_cgroup_commit_charge"), (2, "commit_charge"),
        (2, "mem_cgroup_charge_statistics"),
        (1, "lru_cache_add_active_or_unevictable"),
        (2, "__pagevec_lru_add_fn"), (3, "mem_cgroup_page_lruvec")]
    recs = m.calls.records()
    assert all(r["pfn"] == p.pfn for r in recs)
    assert by_name(recs, "try_charge")["memcgs"]["A"]["usage"] == 1
    commit = by_name(recs, "commit_charge")
    assert commit["state"]["pcg"] == ["USED", "MEM", "MEMSW"]
    assert commit["state"]["mem_cgroup"] == "A"
    assert commit["was"]["state"]["pcg"] == []
    assert by_name(recs, "mem_cgroup_charge_statistics")["memcgs"] == \
        {"A": {"rss": 1, "pgpgin": 1}}
    last = recs[0]                                # do_anonymous_page at return
    assert last["state"]["lru"] == "active_anon" and last["state"]["lruvec"] == "A"
    assert last["state"]["count"] == 1 and last["state"]["mapcount"] == 1
    assert set(last["state"]["flags"]) == {"lru", "active", "anon", "swapbacked"}
    assert last["file"] == "mm/memory.c"


def test_final_put_uncharges_at_the_call_that_drops_the_count_to_zero(m):
    # mm/swap.c put_page(): put_page_testzero, then __put_single_page ->
    # __page_cache_release (off the LRU, then mem_cgroup_uncharge in 3.17)
    # and free_hot_cold_page (mm/page_alloc.c)
    p = m.fault_anon("p")
    m.get_page(p)
    m.unmap("p", p)
    start = len(m.calls)
    m.put_page(p)
    assert tree(m, start) == [
        (0, "put_page"), (1, "put_page_testzero"),
        (1, "__put_single_page"), (2, "__page_cache_release"),
        (3, "del_page_from_lru_list"), (3, "mem_cgroup_uncharge"),
        (4, "uncharge_list"), (5, "uncharge_batch"),
        (2, "free_hot_cold_page")]
    recs = m.calls.records(start)
    put = by_name(recs, "put_page_testzero")
    assert (put["was"]["state"]["count"], put["state"]["count"]) == (1, 0)
    assert put["memcgs"] == {}                    # nothing uncharged yet
    unch = by_name(recs, "mem_cgroup_uncharge")
    assert unch["was"]["state"] == {"pcg": ["USED", "MEM", "MEMSW"]}
    assert unch["state"]["pcg"] == [] and unch["state"]["lru"] is None
    assert unch["memcgs"]["A"]["usage"] == 0
    assert unch["was"]["memcgs"]["A"]["usage"] == 1
    assert by_name(recs, "free_hot_cold_page")["state"]["flags"] == ["free"]


def test_unmap_of_the_last_reference_goes_through_release_pages(m):
    # mm/memory.c zap_pte_range (page_remove_rmap), tlb_flush_mmu ->
    # free_pages_and_swap_cache (mm/swap_state.c) -> release_pages (mm/swap.c)
    # -> mem_cgroup_uncharge_list
    p = m.fault_anon("p")
    start = len(m.calls)
    m.unmap("p", p)
    assert tree(m, start) == [
        (0, "zap_pte_range"), (1, "page_remove_rmap"),
        (0, "tlb_flush_mmu"), (1, "free_pages_and_swap_cache"),
        (2, "free_swap_cache"), (2, "release_pages"),
        (3, "put_page_testzero"), (3, "del_page_from_lru_list"),
        (3, "mem_cgroup_uncharge_list"), (4, "uncharge_list"),
        (5, "uncharge_batch"), (3, "free_hot_cold_page")]
    recs = m.calls.records(start)
    rmap = by_name(recs, "page_remove_rmap")
    assert (rmap["was"]["state"]["mapcount"], rmap["state"]["mapcount"]) == (1, 0)
    assert by_name(recs, "uncharge_batch")["memcgs"]["A"]["usage"] == 0


def test_migrate_moves_the_charge_inside_move_to_new_page(m):
    # mm/migrate.c: isolate_lru_page, unmap_and_move -> __unmap_and_move
    # (lock_page, try_to_unmap, move_to_new_page: migrate_page_move_mapping,
    # mem_cgroup_migrate -> commit_charge, remove_migration_ptes), then
    # putback_lru_page of the old page (its final put) and the new one
    p = m.fault_anon("p")
    start = len(m.calls)
    n = m.migrate(p)
    names = m.calls.names(start)
    order = ["isolate_lru_page", "migrate_pages", "unmap_and_move",
             "__unmap_and_move", "lock_page", "try_to_unmap", "page_remove_rmap",
             "move_to_new_page", "lock_page", "migrate_page_move_mapping",
             "mem_cgroup_migrate", "commit_charge", "remove_migration_ptes",
             "unlock_page", "unlock_page", "putback_lru_page",
             "mem_cgroup_page_lruvec", "put_page_testzero",
             "__page_cache_release", "mem_cgroup_uncharge",
             "free_hot_cold_page", "putback_lru_page"]
    it = iter(names)
    assert all(any(x == want for x in it) for want in order), names
    recs = m.calls.records(start)
    iso = recs[0]
    assert iso["pfn"] == p.pfn and "lru" not in iso["state"]["flags"]
    assert iso["was"]["state"]["lru"] == "active_anon"
    assert iso["state"]["count"] == 2
    commit = by_name(recs, "commit_charge")
    assert commit["pfn"] == n.pfn and commit["state"]["mem_cgroup"] == "A"
    assert commit["state"]["pcg"] == ["USED", "MEM", "MEMSW"]
    # mm/memcontrol.c (v3.17) mem_cgroup_migrate: its own line clears the old
    # page's pc->flags (pc->flags = 0) before commit_charge(newpage): the call
    # is recorded on the old page, its callee commit_charge on the new one
    mig = by_name(recs, "mem_cgroup_migrate")
    assert mig["pfn"] == p.pfn and recs[recs.index(mig) + 1] is commit
    assert (mig["was"]["state"]["pcg"], mig["state"]["pcg"]) == (["USED", "MEM", "MEMSW"], [])
    assert mig["state"]["mem_cgroup"] == "A"       # pc->mem_cgroup is left as it was
    assert commit["was"]["state"]["pcg"] == []
    # the old page is uncharged before its final put, which finds no charge
    lruvec = by_name(recs, "mem_cgroup_page_lruvec")
    assert lruvec["pfn"] == p.pfn and lruvec["state"]["mem_cgroup"] == "root"
    final = by_name(recs, "mem_cgroup_uncharge")
    assert final["pfn"] == p.pfn and final["memcgs"] == {}


def test_replace_page_cache_3170_turns_the_old_page_to_root_at_unlock_page_lru(m):
    # mm/filemap.c replace_page_cache_page -> mem_cgroup_migrate(lrucare):
    # lock_page_lru, pc->flags = 0, unlock_page_lru -> mem_cgroup_page_lruvec
    # (old page to root), then commit_charge reads root for the new page
    f = m.add_to_page_cache("p", "f")
    start = len(m.calls)
    g = m.replace_page_cache(f)
    recs = m.calls.records(start)
    mig = by_name(recs, "mem_cgroup_migrate")
    k = recs.index(mig)
    # mm/memcontrol.c (v3.17) mem_cgroup_migrate on the old page: lock_page_lru,
    # pc->flags = 0, unlock_page_lru, then commit_charge on the new page
    assert mig["pfn"] == f.pfn and mig["state"]["pcg"] == []
    inner = [(r["fn"], r["pfn"]) for r in recs[k + 1:k + 5]]
    assert inner == [("lock_page_lru", f.pfn), ("unlock_page_lru", f.pfn),
                     ("mem_cgroup_page_lruvec", f.pfn), ("commit_charge", g.pfn)]
    unlock = recs[k + 2]
    assert unlock["was"]["state"]["mem_cgroup"] == "A"
    assert unlock["state"]["mem_cgroup"] == "root"
    assert recs[k + 4]["state"]["mem_cgroup"] == "root"


def test_swap_out_hands_memsw_to_the_slot_in_remove_mapping(m):
    # mm/vmscan.c shrink_page_list: add_to_swap, try_to_unmap, pageout,
    # __remove_mapping -> mem_cgroup_swapout -> swap_cgroup_record, then
    # mem_cgroup_uncharge_list of the freed page
    p = m.fault_anon("p")
    start = len(m.calls)
    e = m.swap_out(p)
    names = m.calls.names(start)
    want = ["shrink_page_list", "add_to_swap", "try_to_unmap", "pageout",
            "__remove_mapping", "mem_cgroup_swapout", "swap_cgroup_record",
            "__delete_from_swap_cache", "swapcache_free",
            "mem_cgroup_uncharge_list", "uncharge_batch"]
    it = iter(names)
    assert all(any(x == w for x in it) for w in want), names
    recs = m.calls.records(start)
    so = by_name(recs, "mem_cgroup_swapout")
    assert so["swap"] == e.slot and so["state"]["pcg"] == ["USED", "MEM"]
    assert so["memcgs"] == {"A": {"swap": 1}}
    assert by_name(recs, "uncharge_batch")["memcgs"]["A"] == \
        {"usage": 0, "rss": 0, "pgpgout": 1}


def test_swap_in_commits_with_lrucare_and_drops_the_slot_charge(m):
    # mm/memory.c do_swap_page: read_swap_cache_async, lock_page,
    # mem_cgroup_try_charge, do_page_add_anon_rmap, mem_cgroup_commit_charge
    # (-> commit_charge with lock_page_lru / unlock_page_lru, then
    # mem_cgroup_uncharge_swap), swap_free, unlock_page
    e = m.swap_out(m.fault_anon("p"))
    start = len(m.calls)
    p = m.swap_in("p", e)
    assert [n for d, n in tree(m, start) if d == 1] == [
        "read_swap_cache_async", "lock_page", "mem_cgroup_try_charge",
        "do_page_add_anon_rmap", "mem_cgroup_commit_charge", "swap_free",
        "unlock_page"]
    recs = m.calls.records(start)
    unlock = by_name(recs, "unlock_page_lru")
    assert unlock["was"]["state"]["lruvec"] is None        # isolated
    assert unlock["state"]["lruvec"] == "A"                # from root's list
    assert by_name(recs, "lock_page_lru")["was"]["state"]["lruvec"] == "root"
    assert by_name(recs, "mem_cgroup_uncharge_swap")["memcgs"]["A"] == \
        {"memsw_usage": 1, "swap": 0}
    assert recs[0]["pfn"] == p.pfn and recs[0]["swap"] == e.slot


def test_design_316_uncharges_at_page_remove_rmap():
    # 3.16: page_remove_rmap -> mem_cgroup_uncharge_page ->
    # __mem_cgroup_uncharge_common under lock_page_cgroup
    m = Machine(ram_pages=16, swap_slots=0, design="3.16")
    m.create_memcg("A")
    p = m.fault_anon(m.create_task("p", "A"))
    assert [n for _, n in tree(m)][:4] == [
        "do_anonymous_page", "alloc_zeroed_user_highpage_movable",
        "mem_cgroup_charge_anon", "mem_cgroup_try_charge"]
    m.get_page(p)
    start = len(m.calls)
    m.unmap("p", p)
    t = tree(m, start)
    k = t.index((1, "page_remove_rmap"))
    assert t[k + 1:k + 4] == [(2, "mem_cgroup_uncharge_page"),
                              (3, "__mem_cgroup_uncharge_common"),
                              (4, "lock_page_cgroup")]
    recs = m.calls.records(start)
    lock = by_name(recs, "lock_page_cgroup")
    assert lock["state"]["pcg"] == ["LOCK", "USED"]
    common = by_name(recs, "__mem_cgroup_uncharge_common")
    # uncharged while the pte reference and the pin still hold it
    assert common["state"]["pcg"] == [] and common["state"]["count"] == 2
    start = len(m.calls)
    m.put_page(p)                                 # nothing left to uncharge
    assert "mem_cgroup_uncharge" not in m.calls.names(start)


def test_every_recorded_function_has_a_kernel_file():
    assert all(f.endswith((".c", ".h")) for f in KERNEL_FUNCTIONS.values())
    with pytest.raises(KeyError):
        kernel_call("no_such_function")


def test_restore_forgets_later_calls_and_recording_can_be_off(m):
    m.fault_anon("p")
    snap = m.snapshot()
    n = len(m.calls)
    m.fault_anon("p")
    assert len(m.calls) > n
    m.restore(snap)
    assert len(m.calls) == n
    m.fault_anon("p")
    assert m.calls.names(n)[0] == "do_anonymous_page"
    off = Machine(ram_pages=4, swap_slots=0, record_events=False)
    off.fault_anon(off.create_task("t"))
    assert len(off.calls) == 0 and off.calls.records() == []


def test_a_failed_charge_closes_its_calls():
    m = Machine(ram_pages=16, swap_slots=0)
    m.create_memcg("A", limit=1)
    m.create_task("p", "A")
    m.fault_anon("p")
    start = len(m.calls)
    with pytest.raises(Exception):
        m.fault_anon("p")
    recs = m.calls.records(start)
    assert recs[0]["fn"] == "do_anonymous_page" and recs[0]["depth"] == 0
    assert "mem_cgroup_reclaim" in [r["fn"] for r in recs]
    assert "mem_cgroup_oom" in [r["fn"] for r in recs]
    assert m.calls.depth == 0
    assert by_name(recs, "try_charge")["memcgs"]["A"]["failcnt"] >= 1
    assert np.all(np.diff([r["depth"] for r in recs]) <= 1)


def test_a_one_argument_wrapper_records_its_call_however_it_is_called(m):
    # put_page(m, pfn) and get_page(m, pfn) (mm/swap.c, include/linux/mm.h)
    # take one argument after the machine: their wrapper passes it on as is
    from memcg_edu.model.mm import get_page, put_page
    p = m.fault_anon("p")
    assert get_page.__name__ == "get_page" and get_page.__wrapped__ is not get_page
    n = len(m.calls)
    get_page(m, p.pfn)
    get_page(m, pfn=p.pfn)                       # by keyword: the general way
    assert m.calls.names(n) == ["get_page", "get_page"]
    assert [c["state"]["count"] for c in m.calls.records(n)] == [2, 3]
    assert [c["pfn"] for c in m.calls.records(n)] == [p.pfn, p.pfn]
    with pytest.raises(TypeError):
        get_page(m)                              # no page: Python's error, no call
    assert len(m.calls) == n + 2
    m.calls.enabled = False
    put_page(m, p.pfn)
    assert len(m.calls) == n + 2 and m.mem.refcount[p.pfn] == 2
    with pytest.raises(TypeError):
        put_page(m)


def test_a_wrapper_takes_the_parameters_of_its_function(m):
    # kernel_call's wrapper is made with the function's own parameters:
    # defaults, keyword-only ones and a slot given by keyword reach the
    # function as they came, and the call is recorded on that slot
    import inspect

    def dup(m: Machine, note: str, slot: int, *, times: int = 1) -> tuple:
        return note, slot, times
    traced = kernel_call("swap_duplicate", page=None, slot=1)(dup)
    assert inspect.signature(traced) == inspect.signature(dup)
    n = len(m.calls)
    assert traced(m, "a", 5) == ("a", 5, 1)
    assert traced(m, note="b", slot=6, times=2) == ("b", 6, 2)
    recs = m.calls.records(n)
    assert [(r["fn"], r["swap"], r["pfn"]) for r in recs] == [
        ("swap_duplicate", 5, None), ("swap_duplicate", 6, None)]
    with pytest.raises(TypeError):
        traced(m, "c")                           # no slot: Python's error
    m.calls.enabled = False
    assert traced(m, "d", 7, times=3) == ("d", 7, 3)
    assert len(m.calls) == n + 2
    with pytest.raises(TypeError, match="plain or keyword-only"):
        kernel_call("get_page")(lambda m, *pages: None)


def _faults(m: Machine, n: int) -> None:
    for _ in range(n):
        m.fault_anon("p")


def test_after_a_restore_each_call_has_the_counter_changes_of_a_fresh_run() -> None:
    """The counter rows a restore puts back are the base of the next change
    (CallLog.truncate): a call after it shows the same old and new values as
    on a machine that never went past the snapshot."""
    runs = []
    for restored in (False, True):
        m = Machine(ram_pages=16, swap_slots=0)
        m.create_memcg("A", limit=8)
        m.create_task("p", "A")
        _faults(m, 2)
        if restored:
            snap = m.snapshot()
            _faults(m, 3)
            m.restore(snap)
        n = len(m.calls)
        _faults(m, 1)
        runs.append(m.calls.records(n))
    assert runs[0] == runs[1]
    assert runs[1][0]["memcgs"]["A"]["usage"] == 3
    assert runs[1][0]["was"]["memcgs"]["A"]["usage"] == 2


def _workload(design):
    """Every kind of counter write, recorded: charges (one and in bulk),
    reclaim and swap, charge moving, the per-cpu stock, rmdir's reparenting,
    a restore; each call as records() gives it."""
    return _workload_machine(design).calls.records()


def _workload_machine(design, calls=True):
    """The machine of _workload, its call log on or off."""
    m = Machine(ram_pages=64, swap_slots=16, design=design,
                charge_stock=design == "3.17")
    m.calls.enabled = calls
    m.create_memcg("A", limit=56, use_hierarchy=True)
    m.create_memcg("B", parent="A")
    m.create_memcg("C")
    m.create_task("p", "B")
    m.create_task("q", "C")
    m.create_task("r", "B")
    m.add_to_page_cache("r", file="kept", mapped=False)   # B's until rmdir
    m.exit_task("r")
    pages = [m.fault_anon("p") for _ in range(3)]
    many = m.fault_anon_range("p", 40)
    f = m.add_to_page_cache("q", mapped=True)
    m.migrate(pages[0])
    snap = m.snapshot()
    m.unmap_range("p", many[:30])
    m.restore(snap)
    m.unmap_range("p", many[:30])
    m.swap_out(pages[1])
    m.create_task("s")                   # in root: swap charged to no res_counter
    m.unmap("s", m.swap_out(m.fault_anon("s")))
    m.add_to_page_cache("p", file="moved", mapped=True)   # FILE_MAPPED moves
    m.move_task("p", "C", move_charge=True)
    m.exit_task("p")
    m.remove_memcg("B")
    m.set_limit("A", 1)
    m.truncate(f)
    if m.charge_stock:
        m.drain_stock()
    return m


@pytest.mark.parametrize("design", ["3.17", "3.16"])
def test_with_the_log_off_no_call_is_recorded_and_the_model_runs_the_same(design):
    # with the log off nothing is recorded, and the events, counters and
    # pages are those of the same run with the log on
    on, off = _workload_machine(design), _workload_machine(design, calls=False)
    assert len(on.calls) > 100 and len(off.calls) == 0
    assert off.calls.records() == [] and off.calls.nbytes() == 0
    assert _events(off) == _events(on)
    assert all(np.array_equal(a, getattr(on.mem, k))
               for k, a in off.mem.arrays().items())


def _events(m):
    """Every event of ``m``'s event log, and every counter of every memcg
    after each event (nan, before a memcg was made or unlimited: -1)."""
    from memcg_edu.timeline import COUNTERS, STATS
    ev = m.events
    return [ev[i] for i in range(len(ev))] + [
        np.nan_to_num(ev.counter(name, c), nan=-1).tolist()
        for name in m.memcgs for c in COUNTERS + STATS]


def _logged(design, monkeypatch):
    """What the logs show of _workload and of every shipped scenario: each
    step's calls, and every event with the counters after it. Returns a
    function that runs them all again (``scenarios`` False: _workload only)."""
    from memcg_edu.bundled import SCENARIO_DIR
    from memcg_edu.scenario import run_scenario
    machines = []
    init = Machine.__init__

    def keep(self, *args, **kwargs):
        # a scenario run's event log keeps no counters: here it keeps them,
        # so that its marks are checked too
        init(self, *args, **{**kwargs, "record_counters": True})
        machines.append(self)
    monkeypatch.setattr(Machine, "__init__", keep)

    def runs(scenarios=True):
        machines.clear()
        out = [_workload(design)]
        for path in sorted(SCENARIO_DIR.glob("*.json")) if scenarios else ():
            out += [list(rec["calls"]) for rec in
                    run_scenario(path, design, pages=False, calls=True)]
        return out + [_events(m) for m in machines]
    return runs, machines


@pytest.mark.parametrize("design", ["3.17", "3.16"])
def test_every_counter_write_is_seen_by_the_logs(design, monkeypatch):
    # the call and event logs look only at the counter rows marked in
    # Machine.written: with every row marked at every look (rows compared at
    # every call and copied at every event) the same calls show the same
    # counter changes and the events the same counters, for the shipped
    # scenarios and a workload that writes every kind of counter
    runs, machines = _logged(design, monkeypatch)
    marked = runs()
    assert any(c["memcgs"] for calls in marked for c in calls)
    assert len(machines) > 10 and all(len(m.events) for m in machines)
    every_row = property(lambda self: set(range(len(self.memcg_rows))),
                         lambda self, v: None)
    monkeypatch.setattr(Machine, "written", every_row, raising=False)
    assert runs() == marked


class _Marks(set):
    """Machine.written that notes the line of each mark (``lines``) and
    drops the marks of one line (``drop``)."""
    lines: set = set()
    drop = None

    def add(self, index):
        line = _caller()
        if line != _Marks.drop:
            super().add(index)

    def update(self, indices):
        line = _caller()
        if line != _Marks.drop:
            super().update(indices)


def _caller():
    """The file and line of the model code that called _Marks.add or update."""
    f = sys._getframe(2)
    line = (f.f_code.co_filename, f.f_lineno, f.f_code.co_name)
    _Marks.lines.add(line)
    return line


def test_each_counter_mark_is_needed(monkeypatch):
    # without the marks of any one line that marks a row in Machine.written,
    # the logs miss a counter change (so the test above, which compares them
    # with every row marked, fails): every line of the model that marks one
    # is run, under one design or the other, and none is redundant
    from memcg_edu.model import machine
    monkeypatch.setattr(machine, "set", _Marks, raising=False)
    seen, missed = set(), []
    for design in ("3.17", "3.16"):
        monkeypatch.setattr(_Marks, "lines", set())
        monkeypatch.setattr(_Marks, "drop", None)
        runs, _ = _logged(design, monkeypatch)
        marked, workload = runs(), runs(scenarios=False)
        # (a new memcg's row is no write: both logs start from its defaults)
        lines = {line for line in _Marks.lines if line[2] != "_add_memcg"}
        seen |= {(Path(f).name, n) for f, n, _ in lines}
        for line in sorted(lines):
            monkeypatch.setattr(_Marks, "drop", line)
            # (the workload alone shows most: the scenarios only when not)
            if runs(scenarios=False) == workload and runs() == marked:
                missed.append((design, line))
    assert not missed, f"no change is missed without the marks at {missed}"
    model = Path(machine.__file__).parent
    marking = {(f.name, n) for f in model.glob("*.py")
               if f.name not in ("calls.py", "events.py")     # the logs
               for n, text in enumerate(f.read_text().splitlines(), 1)
               if re.search(r"\bwritten\.(add|update)\(", text)}
    assert marking - seen == {("machine.py", _line_of(machine.Machine._add_memcg,
                                                      "written."))}


def _line_of(f, text):
    """The line number of the first line of function ``f`` holding ``text``."""
    import inspect
    src, start = inspect.getsourcelines(f)
    return start + next(i for i, line in enumerate(src) if text in line)


@pytest.mark.parametrize("design", ["3.17", "3.16"])
def test_forgetting_the_calls_so_far_changes_none_of_the_next_ones(design):
    # CallLog.forget (a streaming writer's): the next operation's calls, the
    # counters they changed and from what, are those of a log that forgot
    # nothing; the calls keep their numbers; the log holds one operation's
    runs, sizes = [], []
    for forget in (False, True):
        m = Machine(ram_pages=32, swap_slots=64, design=design)
        m.create_memcg("A", limit=4)
        m.create_task("p", "A")
        held = []
        for k in range(40):                  # reclaim and swap from the 5th
            if forget:
                m.calls.forget()
            n = len(m.calls)
            m.fault_anon("p")
            held.append(m.calls.nbytes())
        sizes.append(held)
        runs.append((n, m.calls.records(n)))
    assert runs[0] == runs[1]
    assert any(c["memcgs"] for c in runs[1][1])
    assert sizes[0][-1] > 4 * sizes[0][5]               # kept: grows
    # forgotten: what one fault holds (one of them reclaims a batch)
    assert max(sizes[1][20:]) <= max(sizes[1][:20]) < sizes[0][-1] / 8


def test_a_forgotten_call_cannot_be_read_or_restored_to(m):
    snap = m.snapshot()
    m.fault_anon("p")
    n = len(m.calls)
    m.calls.forget()
    assert len(m.calls) == n and m.calls.records(n) == []
    for read in (m.calls.records, m.calls.names, m.calls.depths, m.calls.pfns):
        with pytest.raises(ModelUsageError, match=f"kernel call 0 was forgotten: calls before {n}"):
            read(0)
    with pytest.raises(ModelUsageError, match="forgotten"):
        m.restore(snap)
    later = m.snapshot()                     # a snapshot after it restores
    m.fault_anon("p")
    m.restore(later)
    p = m.fault_anon("p")
    assert m.calls.names(n)[0] == "do_anonymous_page"
    assert m.calls.records(n)[0]["pfn"] == p.pfn


@pytest.mark.parametrize("design", ["3.17", "3.16"])
def test_the_calls_json_text_is_what_json_dumps_writes(design):
    # records_json (run --json's "calls", written without dicts) is the text
    # json.dumps gives for records(): labels escaped, unlimited limits null
    m = _workload_machine(design)
    log = m.calls
    odd = {p: f'p\u00e9"{p}\\' for p in log.pfns() if p >= 0}
    text = log.records_json(0, None, odd)
    assert text == json.dumps(log.records(0, None, odd))
    recs = json.loads(text)
    assert len(recs) == len(log)
    assert any(r["page"] == odd[r["pfn"]] for r in recs if r["pfn"] is not None)
    assert any(None in c.values() for r in recs for c in r["was"]["memcgs"].values())
    assert log.records_json(len(log)) == "[]"
