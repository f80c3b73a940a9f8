"""The event log, counters(), page_state() and snapshot/restore."""
import json

import numpy as np
import pytest

from memcg_edu.errors import ModelUsageError
from memcg_edu.model import Machine
from memcg_edu.timeline import COUNTERS, STATS


def test_every_api_call_and_operation_is_an_event_with_counters_after_it():
    m = Machine(ram_pages=16, swap_slots=4)
    a = m.create_memcg("A", limit=8)
    t = m.create_task("t", a)
    p = m.fault_anon(t)
    m.unmap(t, p)
    kinds = m.events.kinds()
    assert kinds[-5:] == ["mem_cgroup_try_charge", "mem_cgroup_commit_charge",
                          "fault_anon", "mem_cgroup_uncharge_list", "unmap"]
    usage = m.events.counter("A", "usage")
    assert usage.shape == (len(m.events),)
    assert list(usage[-5:]) == [1, 1, 1, 0, 0]
    rss = m.events.counter("A", "rss")
    assert list(rss[-5:]) == [0, 1, 1, 0, 0]
    assert m.events.counter("A", "limit")[-1] == 8
    assert np.isnan(m.events.counter("A", "memsw_limit")[-1])
    assert np.isnan(m.events.counter("A", "usage")[0])    # before A existed
    depth = m.events.array("depth")
    assert list(depth[-5:]) == [1, 1, 0, 1, 0]
    assert m.events[-2]["pfn"] == p.pfn and m.events[-2]["memcg"] == "A"


def test_root_usage_series_is_derived_from_statistics():
    m = Machine(ram_pages=16, swap_slots=4)
    a = m.create_memcg("A")
    m.fault_anon(m.create_task("t", a))
    m.fault_anon(m.create_task("r"))
    assert m.events.counter("root", "usage")[-1] == 2
    assert m.events.counter("root", "memsw_usage")[-1] == 2


def test_root_counters_sum_cache_rss_and_swap_over_every_level_below():
    # mem_cgroup_usage(): root's usage is cache + rss of its whole subtree
    # (a grandchild included), memsw adds swap
    m = Machine(ram_pages=16, swap_slots=4)
    a = m.create_memcg("A", use_hierarchy=True)
    b = m.create_memcg("B", parent=a)
    t, u = m.create_task("t", b), m.create_task("u", a)
    m.fault_anon(t)
    m.swap_out(m.fault_anon(t))
    m.fault_anon(u)
    m.fault_anon(m.create_task("r"))
    c = m.counters()["root"]
    assert (c["usage"], c["memsw_usage"]) == (m.root.usage, m.root.memsw_usage) == (3, 4)


def test_counter_names_and_memcgs_are_checked():
    m = Machine(ram_pages=4, swap_slots=0)
    with pytest.raises(ModelUsageError, match="unknown counter"):
        m.events.counter("root", "bogus")
    with pytest.raises(ModelUsageError, match="no memcg"):
        m.events.counter("nope", "usage")


def test_recording_can_be_switched_off():
    m = Machine(ram_pages=4, swap_slots=0, record_events=False)
    m.fault_anon(m.create_task("t"))
    assert len(m.events) == 0


@pytest.mark.parametrize("design", ["3.17", "3.16"])
def test_events_without_counters_are_the_same_events(design):
    # record_counters=False (a scenario run's machine) keeps every event as
    # it is, and the model runs the same; only the counters after each
    # event are not kept, and asking for them says so
    def work(**kw):
        m = Machine(ram_pages=8, swap_slots=4, design=design, **kw)
        a = m.create_memcg("A", limit=3)
        t = m.create_task("t", a)
        pages = [m.fault_anon(t) for _ in range(5)]   # the limit reclaims
        m.unmap(t, m.migrate(pages[-1]))
        return m
    on, off = work(), work(record_counters=False)
    assert len(on.events) > 20
    assert [off.events[i] for i in range(len(off.events))] == \
        [on.events[i] for i in range(len(on.events))]
    assert off.counters() == on.counters()
    assert on.events.counter("A", "usage")[-1] == on.counters()["A"]["usage"] > 0
    with pytest.raises(ModelUsageError, match="keeps no counters"):
        off.events.counter("A", "usage")


def test_counters_has_the_step_record_shape_and_is_json():
    m = Machine(ram_pages=8, swap_slots=2)
    m.create_memcg("A", limit=4)
    c = m.counters()
    assert set(c) == {"root", "A"}
    assert set(c["A"]) == set(COUNTERS) | {"stat"}
    assert set(c["A"]["stat"]) == set(STATS)
    assert c["A"]["limit"] == 4 and c["A"]["memsw_limit"] is None
    json.dumps(c)


def test_counters_stat_is_the_row_tail_in_stats_order():
    # counters() spells the statistics out: each key in STATS order, each
    # value its own column of the row
    from memcg_edu.model.memcg import COL
    m = Machine(ram_pages=8, swap_slots=2)
    a = m.create_memcg("A")
    for i, name in enumerate(STATS):
        a.row[COL[name]] = 100 + i
    stat = a.counters()["stat"]
    assert list(stat) == list(STATS)
    assert list(stat.values()) == list(range(100, 100 + len(STATS)))


def test_page_state_arrays():
    m = Machine(ram_pages=8, swap_slots=4)
    a = m.create_memcg("A")
    t = m.create_task("t", a)
    p = m.fault_anon(t)
    e = m.swap_out(m.fault_anon(t))
    s = m.page_state()
    assert s["memcg_names"] == ["root", "A"]
    assert s["pc_flags"][p.pfn] == 7 and s["pc_memcg"][p.pfn] == 1
    assert s["lru"][p.pfn] == 1 and s["lru_memcg"][p.pfn] == 1
    assert s["refcount"][p.pfn] == 1 and s["mapcount"][p.pfn] == 1
    assert s["free"].sum() == 7 and s["anon"][p.pfn]
    assert s["swap_count"][e.slot] == 1 and s["swap_cgroup"][e.slot] == 1
    assert s["pcg_flag_names"] == {1: "PCG_USED", 2: "PCG_MEM", 4: "PCG_MEMSW"}
    json.dumps({k: v.tolist() if hasattr(v, "tolist") else v for k, v in s.items()})


def test_snapshot_and_restore_replay_the_same_state():
    m = Machine(ram_pages=16, swap_slots=4, check_invariants=True)
    a = m.create_memcg("A")
    t = m.create_task("t", a)
    p = m.fault_anon(t)
    snap = m.snapshot()
    n_events = len(m.events)
    before = m.counters()
    m.swap_out(p)
    m.create_memcg("B")
    m.restore(snap)
    assert m.counters() == before and len(m.events) == n_events
    assert p.alive and p.charged and "B" not in m.memcgs
    m.check_invariants()
    m.unmap("t", p)                            # names work after a restore
    assert m.memcgs["A"].usage == 0
    assert m.events.counter("A", "usage")[-1] == 0
    m.restore(snap)                            # a snapshot can be used twice
    assert m.memcgs["A"].usage == 1
