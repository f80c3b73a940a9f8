"""The model's own limits (model/limits.py): stated, as wide as the fields, checked."""
from __future__ import annotations

import numpy as np
import pytest

from memcg_edu.errors import ModelUsageError, ScenarioError
from memcg_edu.model import Machine, limits
from memcg_edu.scenario import FORMAT, load_scenario


def test_each_limit_is_the_width_of_its_field():
    m = Machine(ram_pages=4, swap_slots=2)
    width = lambda a: int(np.iinfo(a.dtype).max)      # noqa: E731
    assert width(m.mem.mapcount) == limits.MAX_MAPCOUNT
    assert width(m.mem.rmap_task) == width(m.mem.mapping) == limits.MAX_TASKS
    assert width(m.mem.mapping) == limits.MAX_FILES
    assert width(m.mem.pc_memcg) == width(m.mem.lru_memcg) == limits.MAX_MEMCGS
    assert width(m.swap.cgroup) == limits.MAX_MEMCGS
    assert width(m.mem.rmap_addr) == limits.MAX_FRAMES


@pytest.mark.parametrize("field,kw", [("ram_pages", {"ram_pages": limits.MAX_FRAMES + 1}),
                                      ("ram_pages", {"ram_pages": 0}),
                                      ("swap_slots", {"swap_slots": limits.MAX_SLOTS + 1})])
def test_machine_sizes_beyond_the_limits_are_refused(field, kw):
    with pytest.raises(ModelUsageError, match=field):
        Machine(**kw)


def test_task_limit():
    m = Machine(ram_pages=4, swap_slots=0)
    for i in range(limits.MAX_TASKS):
        m.create_task(f"t{i}")
    with pytest.raises(ModelUsageError, match="too many tasks.*32,767"):
        m.create_task("one more")


def test_file_and_mapcount_limits_are_checked(monkeypatch):
    import memcg_edu.model.machine as machine
    import memcg_edu.model.mm as mm
    monkeypatch.setattr(machine, "MAX_FILES", 2)
    monkeypatch.setattr(mm, "MAX_MAPCOUNT", 3)
    m = Machine(ram_pages=8, swap_slots=0, check_invariants=True)
    t = m.create_task("t")
    m.add_to_page_cache(t, "a"), m.fault_shmem(t, "b")
    with pytest.raises(ModelUsageError, match="too many files"):
        m.add_to_page_cache(t, "c")
    p = m.fault_anon(t)
    m.map(t, p), m.map(t, p)
    with pytest.raises(ModelUsageError, match="mapped 3 times"):
        m.map(t, p)
    assert p.mapcount == 3


def _scenario(**over):
    sc = {"format": FORMAT, "machine": {"ram_pages": 8, "swap_slots": 0},
          "memcgs": {"A": {}}, "tasks": {"p": "A"},
          "steps": [{"op": "fault_anon", "task": "p", "page": "x"},
                    {"op": "add_to_page_cache", "task": "p", "page": "y", "file": "one"},
                    {"op": "fault_shmem", "task": "p", "page": "z"}]}
    sc.update(over)
    return sc


def test_load_refuses_what_the_model_cannot_number(monkeypatch):
    import memcg_edu.scenario.load as load
    with pytest.raises(ScenarioError, match='field "machine.ram_pages".*16777216'):
        load_scenario(_scenario(machine={"ram_pages": 2**24 + 1}))
    many = {f"t{i}": "root" for i in range(limits.MAX_TASKS + 1)}
    with pytest.raises(ScenarioError, match='field "tasks".*32,768 tasks'):
        load_scenario(_scenario(tasks=many, steps=[]))
    monkeypatch.setattr(load, "MAX_MEMCGS", 2)
    with pytest.raises(ScenarioError, match='field "memcgs"'):
        load_scenario(_scenario(memcgs={"A": {}, "B": {}}))
    monkeypatch.setattr(load, "MAX_LABELS", 2)
    with pytest.raises(ScenarioError, match='step 2.*field "page".*page labels'):
        load_scenario(_scenario())
    monkeypatch.setattr(load, "MAX_LABELS", 10)
    monkeypatch.setattr(load, "MAX_FILES", 1)
    with pytest.raises(ScenarioError, match='step 2.*field "file".*files'):
        load_scenario(_scenario())
