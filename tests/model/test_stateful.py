"""Random sequences of mm operations over several memcgs, checking every
invariant after every step, and that tearing everything down brings every
counter and statistic back to zero, except exactly the charges that
3.17.0's mem_cgroup_migrate() stranded (none with the memcg_read_first fix)."""
import numpy as np
import pytest
from hypothesis import HealthCheck, settings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, initialize, invariant, rule

from memcg_edu.errors import MemcgOOM, ModelUsageError
from memcg_edu.model import Machine
from memcg_edu.model.pages import PG_free, PG_lru, PG_swapbacked

#: ModelUsageErrors that are legitimate outcomes here (resources ran out)
EXPECTED = ("out of simulated RAM", "no free swap slot", "-EBUSY",
            "only held by references")
MEMCGS = ("root", "A", "B", "C")


def expected(fn, *args, **kw):
    try:
        return fn(*args, **kw)
    except MemcgOOM:
        return None
    except ModelUsageError as e:
        if not any(s in str(e) for s in EXPECTED):
            raise
        return None


def stranded_below(m, mg, counter):
    """Stranded charges on ``mg``'s ``counter`` ("res"/"memsw") and its hierarchical children."""
    total = 0
    for mi, tally in m.stranded.items():
        c = getattr(m.memcg_list[mi], counter)
        while c is not None and c is not getattr(mg, counter):
            c = c.parent
        total += (tally["rss"] + tally["cache"]) if c is not None else 0
    return total


class MemcgMachine(RuleBasedStateMachine):
    FIXES: tuple = ()

    @initialize(swap_account=st.booleans(), stock=st.booleans(),
                limits=st.lists(st.one_of(st.none(), st.integers(2, 12)),
                                min_size=3, max_size=3))
    def boot(self, swap_account, stock, limits):
        self.m = Machine(ram_pages=40, swap_slots=16, swap_account=swap_account,
                         charge_stock=stock, check_invariants=True,
                         fixes=self.FIXES)
        m = self.m
        m.create_memcg("A", use_hierarchy=True, limit=limits[0])
        m.create_memcg("B", parent="A", limit=limits[1])
        m.create_memcg("C", limit=limits[2])
        self.n_tasks = 0
        for mg in MEMCGS:
            self.new_task(mg)

    def new_task(self, memcg):
        self.n_tasks += 1
        self.m.create_task(f"t{self.n_tasks}", memcg)

    # -- choosing targets ----------------------------------------------------
    def task(self, data):
        if not self.m.tasks:             # the memcg OOM killer took them all
            self.new_task("root")
        return data.draw(st.sampled_from(sorted(self.m.tasks)))

    def pick(self, data, pfns):
        pfns = [int(p) for p in pfns]
        return self.m.page(data.draw(st.sampled_from(pfns))) if pfns else None

    def live(self):
        return np.flatnonzero((self.m.mem.flags & PG_free) == 0)

    def mapped_by(self, name):
        t = self.m.tasks[name]
        ptes = t.pte[t.entries()]
        return ptes[ptes >= 0], ptes[ptes <= -2]

    def cache_pages(self, shmem=None):
        return [p for f in self.m.files.values() if shmem in (None, f.shmem)
                for p in f.pages.values()]

    # -- rules -------------------------------------------------------------------
    @rule(data=st.data())
    def fault_anon(self, data):
        expected(self.m.fault_anon, self.task(data))

    @rule(data=st.data(), n=st.integers(1, 6))
    def fault_anon_range(self, data, n):
        expected(self.m.fault_anon_range, self.task(data), n)

    @rule(data=st.data(), file=st.sampled_from(["f", "g"]), mapped=st.booleans())
    def add_to_page_cache(self, data, file, mapped):
        expected(self.m.add_to_page_cache, self.task(data), file, mapped)

    @rule(data=st.data())
    def fault_shmem(self, data):
        expected(self.m.fault_shmem, self.task(data), "shm")

    @rule(data=st.data())
    def map_shared(self, data):
        t = self.task(data)
        mem = self.m.mem
        live = self.live()
        cand = live[(mem.mapcount[live] > 0) | np.isin(live, self.cache_pages())]
        p = self.pick(data, cand)
        if p is not None:
            self.m.map(t, p)

    @rule(data=st.data())
    def fork_swap_pte(self, data):
        src, t = self.task(data), self.task(data)
        _, swaps = self.mapped_by(src)
        if swaps.size:
            self.m.map(t, self.m.swap_entry(-2 - int(data.draw(st.sampled_from(list(swaps))))))

    @rule(data=st.data())
    def unmap(self, data):
        t = self.task(data)
        pages, swaps = self.mapped_by(t)
        if pages.size and data.draw(st.booleans()):
            self.m.unmap(t, self.m.page(int(data.draw(st.sampled_from(list(pages))))))
        elif swaps.size:
            self.m.unmap(t, self.m.swap_entry(-2 - int(data.draw(st.sampled_from(list(swaps))))))

    @rule(data=st.data())
    def unmap_all(self, data):
        t = self.task(data)
        pages, _ = self.mapped_by(t)
        self.m.unmap_range(t, np.unique(pages))

    @rule(data=st.data())
    def pin(self, data):
        p = self.pick(data, self.live())
        if p is not None:
            self.m.get_page(p)

    @rule(data=st.data())
    def unpin(self, data):
        pinned = [p for p in self.live() if self.m.pins(self.m.page(int(p))) > 0]
        p = self.pick(data, pinned)
        if p is not None:
            self.m.put_page(p)

    @rule(data=st.data())
    def truncate(self, data):
        p = self.pick(data, self.cache_pages())
        if p is not None:
            self.m.truncate(p)

    @rule(data=st.data())
    def swap_out(self, data):
        mem = self.m.mem
        live = self.live()
        p = self.pick(data, live[((mem.flags[live] & PG_swapbacked) != 0)
                                 & ((mem.flags[live] & PG_lru) != 0)])
        if p is not None:
            expected(self.m.swap_out, p)

    @rule(data=st.data())
    def swap_in(self, data):
        t = self.task(data)
        _, swaps = self.mapped_by(t)
        file_swaps = [s for f in self.m.files.values() for s in f.swap.values()]
        slots = [-2 - int(s) for s in swaps] + file_swaps
        if slots:
            expected(self.m.swap_in, t, self.m.swap_entry(data.draw(st.sampled_from(slots))))

    @rule(data=st.data())
    def free_swap(self, data):
        sw = self.m.swap
        slots = np.flatnonzero(sw.cache & (sw.count == 0))
        if slots.size:
            self.m.free_swap(self.m.swap_entry(int(data.draw(st.sampled_from(list(slots))))))

    @rule(data=st.data())
    def migrate(self, data):
        live = self.live()
        p = self.pick(data, live[(self.m.mem.flags[live] & PG_lru) != 0])
        if p is not None:
            expected(self.m.migrate, p)

    @rule(data=st.data())
    def replace_page_cache(self, data):
        mem = self.m.mem
        cand = [p for p in self.cache_pages(shmem=False) if mem.mapcount[p] == 0]
        p = self.pick(data, cand)
        if p is not None:
            expected(self.m.replace_page_cache, p)

    @rule(memcg=st.sampled_from(MEMCGS), n=st.integers(1, 8), may_swap=st.booleans())
    def reclaim(self, memcg, n, may_swap):
        self.m.reclaim(memcg, n, may_swap=may_swap)

    @rule(memcg=st.sampled_from(MEMCGS[1:]),
          limit=st.one_of(st.none(), st.integers(0, 14)))
    def set_limit(self, memcg, limit):
        expected(self.m.set_limit, memcg, limit=limit)

    @rule(data=st.data(), to=st.sampled_from(MEMCGS), mask=st.integers(0, 3))
    def move_task(self, data, to, mask):
        expected(self.m.move_task, self.task(data), to, mask)

    @rule(data=st.data())
    def exit_task(self, data):
        if len(self.m.tasks) > 1:
            self.m.exit_task(self.task(data))

    @rule(memcg=st.sampled_from(MEMCGS))
    def create_task(self, memcg):
        if len(self.m.tasks) < 6:
            self.new_task(memcg)

    @rule(memcg=st.sampled_from(["B", "C"]), limit=st.one_of(st.none(), st.integers(2, 12)))
    def rmdir_and_mkdir(self, memcg, limit):
        m = self.m
        for t in [t for t in m.tasks.values() if t.memcg.name == memcg]:
            m.move_task(t, "root", move_charge=False)
        m.remove_memcg(memcg)
        m.create_memcg(memcg, parent="A" if memcg == "B" else None, limit=limit)

    @invariant()
    def invariants_hold(self):
        if hasattr(self, "m"):
            self.m.check_invariants()
            if self.m.design == "3.17":     # 3.16 has notes of its own design
                assert bool(self.m.design_notes()) == bool(self.m.stranded)

    def teardown(self):
        if not hasattr(self, "m"):
            return
        m = self.m
        for pfn in self.live():
            page = m.page(int(pfn))
            for _ in range(m.pins(page)):
                m.put_page(page)
        for name in list(m.tasks):
            m.exit_task(name)
        for f in list(m.files.values()):
            for pfn in list(f.pages.values()):
                m.truncate(m.page(pfn))
            for slot in list(f.swap.values()):
                m.truncate(m.swap_entry(slot))
        # unmapped swap-cache pages that reclaim could not free while pinned
        for slot in np.flatnonzero(m.swap.cache & (m.swap.count == 0)):
            m.free_swap(m.swap_entry(int(slot)))
        m.drain_stock()
        m.check_invariants()
        assert m.mem.nr_free == m.mem.nr and m.swap.nr_free == m.swap.nr
        if self.FIXES:
            assert m.stranded == {}
        lost = {k: sum(t[k] for t in m.stranded.values()) for k in ("rss", "cache")}
        for mg in m.memcg_list:                 # offline ones too
            memsw = stranded_below(m, mg, "memsw") if m.swap_account else 0
            assert mg.res.usage == stranded_below(m, mg, "res"), mg.name
            assert mg.memsw.usage == memsw and mg.swap_css_refs == 0, mg.name
            own = m.stranded.get(mg.index, {"rss": 0, "cache": 0})
            want = {k: -lost[k] if mg.is_root else own[k] for k in ("rss", "cache")}
            stat = mg.counters()["stat"]
            assert stat["pgpgin"] - stat["pgpgout"] == sum(want.values()), mg.name
            assert all(v == want.get(k, 0) for k, v in stat.items()
                       if k not in ("pgpgin", "pgpgout")), (mg.name, stat, want)


MemcgMachine.TestCase.settings = settings(
    max_examples=40, stateful_step_count=30, deadline=None,
    suppress_health_check=[HealthCheck.too_slow])
test_random_mm_operations = pytest.mark.slow(MemcgMachine.TestCase)


class FixedMemcgMachine(MemcgMachine):
    """The same with the later mem_cgroup_migrate() order: nothing is stranded."""
    FIXES = ("memcg_read_first",)


FixedMemcgMachine.TestCase.settings = MemcgMachine.TestCase.settings
test_random_mm_operations_read_first = pytest.mark.slow(FixedMemcgMachine.TestCase)
