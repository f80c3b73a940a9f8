"""The memcg OOM killer (model/oom.py): only in a user page fault, the task
with the highest badness dies as at exit, the fault is retried; and the
memsw_is_minimum flag. Rules: docs/kernel-rules.md, "The memcg OOM killer"."""
import pytest

from memcg_edu.errors import MemcgOOM, ModelUsageError
from memcg_edu.model import Machine
from memcg_edu.model.oom import oom_badness


def _full(design="3.17", **kw):
    """A at its limit of 3 with no swap: big maps 2 pages, small 1."""
    m = Machine(ram_pages=32, swap_slots=0, check_invariants=True, design=design)
    a = m.create_memcg("A", limit=3, **kw)
    big, small = m.create_task("big", a), m.create_task("small", a)
    m.fault_anon(big), m.fault_anon(big), m.fault_anon(small)
    return m, a


@pytest.mark.parametrize("design", ["3.17", "3.16"])
def test_fault_kills_the_biggest_task_and_is_retried(design):
    m, a = _full(design)
    page = m.fault_anon("small")               # big (badness 2) dies, small retries
    assert sorted(m.tasks) == ["small"] and page.charged and page.memcg == "A"
    assert a.usage == 2 and a.stat["rss"] == 2
    assert m.oom_kills == [{"memcg": "A", "task": "small", "victim": "big",
                            "badness": 2, "outcome": "retried"}]
    kinds = m.events.kinds()
    order = [kinds.index(k) for k in ("mem_cgroup_oom", "mem_cgroup_oom_synchronize",
                                      "mem_cgroup_out_of_memory", "oom_kill_process")]
    assert order == sorted(order)
    assert kinds[-1] == "fault_anon" and m.events[len(m.events) - 1]["nr"] == 1


def test_victim_is_the_faulting_task_then_the_step_fails():
    m = Machine(ram_pages=32, swap_slots=0, check_invariants=True)
    a = m.create_memcg("A", limit=2)
    m.create_task("p", a)
    m.fault_anon("p"), m.fault_anon("p")
    free = m.mem.nr_free
    with pytest.raises(MemcgOOM) as e:
        m.fault_anon("p")
    assert e.value.outcome == "killed" and e.value.task == "p"
    assert "chose the faulting task p itself" in str(e.value)
    assert "p" not in m.tasks and a.usage == 0 and m.mem.nr_free == free + 2


def test_oom_kill_disable_kills_nobody_and_changes_nothing():
    m, a = _full(oom_kill_disable=True)
    before = m.counters()
    with pytest.raises(MemcgOOM) as e:
        m.fault_anon("small")
    assert e.value.outcome == "oom_kill_disable"
    assert sorted(m.tasks) == ["big", "small"]
    after = m.counters()
    assert after["A"]["usage"] == before["A"]["usage"] == 3
    assert after["A"]["failcnt"] > before["A"]["failcnt"]   # the attempts count
    assert "oom_kill_process" not in m.events.kinds()


def test_a_charge_outside_a_fault_is_only_enomem():
    m, a = _full()
    with pytest.raises(MemcgOOM) as e:
        m.add_to_page_cache("small", "f", mapped=False)   # read(): no fault
    assert e.value.outcome == "enomem" and "-ENOMEM" in str(e.value)
    assert sorted(m.tasks) == ["big", "small"] and m.oom_kills == []
    assert "mem_cgroup_oom" not in m.events.kinds()
    m.add_to_page_cache("small", "f", mapped=True)        # a fault on the mapping
    assert sorted(m.tasks) == ["small"]


@pytest.mark.parametrize("fault", ["fault_shmem", "swap_in"])
def test_tmpfs_and_swap_in_faults_run_the_killer_too(fault):
    m = Machine(ram_pages=32, swap_slots=8, check_invariants=True)
    a = m.create_memcg("A", limit=2, memsw_limit=3)
    big, small = m.create_task("big", a), m.create_task("small", a)
    m.fault_anon(big), m.fault_anon(big)
    e = m.swap_out(m.fault_anon(small))        # memsw 3: the limit
    if fault == "fault_shmem":
        m.fault_shmem(small, "shm")
    else:
        m.swap_in(small, e)
    assert sorted(m.tasks) == ["small"] and m.oom_kills[0]["victim"] == "big"


def test_badness_counts_swap_entries_and_the_victims_swap_goes():
    m = Machine(ram_pages=32, swap_slots=8, check_invariants=True)
    a = m.create_memcg("A", limit=4, memsw_limit=7)
    s, r = m.create_task("swapper", a), m.create_task("resident", a)
    for p in [m.fault_anon(s) for _ in range(3)]:
        m.swap_out(p)
    m.fault_anon(s)
    for _ in range(3):
        m.fault_anon(r)
    assert (oom_badness(m, m.tasks["swapper"]), oom_badness(m, m.tasks["resident"])) == (4, 3)
    m.fault_anon("resident")                   # memsw is full: swapper (4) goes
    assert sorted(m.tasks) == ["resident"]
    assert (m.oom_kills[0]["victim"], m.oom_kills[0]["badness"]) == ("swapper", 4)
    # only resident's four pages are left, in memory or on swap
    assert a.memsw_usage == 4 and m.swap.nr_free == 8 - a.stat["swap"]


def test_a_shared_page_outlives_the_victim():
    m, a = _full()
    shared = m.page(int(m.tasks["big"].pte[0]))
    m.map("small", shared)
    m.fault_anon("small")                      # big dies; small still maps it
    assert shared.alive and shared.charged and shared.mapcount == 1
    assert a.usage == 3


def test_ties_keep_the_task_found_first_and_idle_tasks_score_one():
    m = Machine(ram_pages=32, swap_slots=0)
    a = m.create_memcg("A", limit=2)
    m.create_task("first", a), m.create_task("second", a)
    assert oom_badness(m, m.tasks["first"]) == 1
    m.fault_anon("first"), m.fault_anon("second")
    m.fault_anon("second")                     # 1 against 1: "first" was found first
    assert sorted(m.tasks) == ["second"]


def test_the_victim_comes_from_the_hierarchy_that_hit_its_limit():
    m = Machine(ram_pages=32, swap_slots=0, check_invariants=True)
    par = m.create_memcg("P", use_hierarchy=True, limit=3)
    child = m.create_memcg("C", parent=par)
    other = m.create_memcg("O")                # outside P: never a candidate
    m.create_task("kid", child), m.create_task("parent", par), m.create_task("x", other)
    for _ in range(5):
        m.fault_anon("x")
    m.fault_anon("kid"), m.fault_anon("kid"), m.fault_anon("parent")
    m.fault_anon("parent")
    assert sorted(m.tasks) == ["parent", "x"] and m.oom_kills[0]["memcg"] == "P"


def test_without_hierarchy_only_the_memcg_itself_is_searched():
    m = Machine(ram_pages=32, swap_slots=0)
    a = m.create_memcg("A", limit=1)
    b = m.create_memcg("B", parent=a)          # not linked: A has no use_hierarchy
    m.create_task("inB", b), m.create_task("inA", a)
    m.fault_anon("inB"), m.fault_anon("inB")
    m.fault_anon("inA")
    with pytest.raises(MemcgOOM) as e:
        m.fault_anon("inA")                    # only inA is in A itself
    assert e.value.outcome == "killed" and "inB" in m.tasks


def test_oom_kill_disable_is_written_where_the_kernel_allows_it():
    m = Machine()
    par = m.create_memcg("P", use_hierarchy=True, oom_kill_disable=True)
    kid = m.create_memcg("C", parent=par)
    assert kid.oom_kill_disable                # mem_cgroup_css_online copies it
    with pytest.raises(ModelUsageError, match="-EINVAL"):
        m.set_oom_kill_disable(kid, False)     # parent has use_hierarchy
    with pytest.raises(ModelUsageError, match="has children"):
        m.set_oom_kill_disable(par, False)
    with pytest.raises(ModelUsageError, match="root"):
        m.set_oom_kill_disable("root", True)


def test_memsw_is_minimum_is_a_flag_set_by_limit_writes():
    m = Machine()
    a = m.create_memcg("A")
    assert not a.memsw_is_minimum              # nothing written yet
    m.set_limit(a, limit=4, memsw_limit=4)
    assert a.memsw_is_minimum
    m.set_limit(a, memsw_limit=6)
    assert not a.memsw_is_minimum
    m.set_limit(a, limit=6)                    # the res write sets it again
    assert a.memsw_is_minimum


def test_no_task_to_kill_fails_the_fault():
    """A swap-in charges the memcg the slot records, here one with no task left."""
    m = Machine(ram_pages=32, swap_slots=8, check_invariants=True)
    a = m.create_memcg("A", limit=1, memsw_limit=1)
    m.create_memcg("B")
    m.create_task("p", a)
    e = m.swap_out(m.fault_anon("p"))          # the slot holds A's memsw page
    m.move_task("p", "B", move_charge=False)
    with pytest.raises(MemcgOOM) as err:
        m.swap_in("p", e)
    assert err.value.outcome == "no_victim" and "found no task in A" in str(err.value)
    assert "p" in m.tasks and m.oom_kills[-1]["outcome"] == "no_victim"


def test_oom_messages_count_pages_in_words():
    """The learner reads "1 page", not "1 page(s)" (notebook 01's OOM cases)."""
    assert "memcg OOM: 1 page could not be charged" in str(MemcgOOM("A", 1, outcome="oom_kill_disable"))
    assert "-ENOMEM: 32 pages could not be" in str(MemcgOOM("A", 32, outcome="enomem"))
