"""Step builders for the Linux 3.17 memcg code the 3.17 races share
(mm/memcontrol.c at the 3.17.0 release).

* ``try_charge_swapcache(w, page, slot, memcg)``: mem_cgroup_try_charge's
  choice of memcg for a swap-cache page (nothing for one already charged;
  else the slot's swap_cgroup record, else the faulting task's memcg).
* ``commit_charge_done(w, page, memcg)``: what mem_cgroup_commit_charge
  does after commit_charge (statistics; a swap-cache page's slot gives
  back its duplicate memory+swap charge).
* ``commit_charge(page, memcg, lrucare)``: with lrucare,
  ``lock_page_lru`` takes zone->lru_lock and, if the page is on an LRU,
  isolates it; then plain stores of ``pc->mem_cgroup`` and ``pc->flags``;
  ``unlock_page_lru`` puts an isolated page back on the lruvec of its
  new memcg and drops the lock. Protection ``lru_isolation`` is the
  lock_page_lru/unlock_page_lru pair.
* ``mem_cgroup_migrate(old, new, lrucare)``: VM_BUG_ONs (both pages
  locked; with !lrucare neither on an LRU), early returns (new already
  charged; old not charged), lock_page_lru(old), ``pc->flags = 0``,
  unlock_page_lru(old), and ``commit_charge(new, pc->mem_cgroup)``.
  At 3.17 the memcg handed to commit_charge is read from the old page's
  pc *after* unlock_page_lru, and unlock_page_lru's lruvec lookup
  (mem_cgroup_page_lruvec) switches an uncharged off-LRU page's
  pc->mem_cgroup to root: with the old page on an LRU, the new page is
  committed to root. Fix ``memcg_read_first`` reads the memcg first, as
  the 3.19 code does.
"""
from __future__ import annotations

from .kernel import charge_statistics, lru_add, lru_del, mem_cgroup_uncharge_swap
from .paths import Step
from .state import StepViolation, World

__all__ = ["commit_charge", "commit_charge_done", "mem_cgroup_migrate", "try_charge_swapcache"]

_M = "mm/memcontrol.c:{} (3.17)"
_USED = frozenset({"USED", "MEM", "MEMSW"})


def _name(page: str, ctx) -> str:
    return ctx.local[page[1:]] if page.startswith("$") else page


def try_charge_swapcache(w: World, page: str, slot: str, memcg: str) -> str | None:
    """mm/memcontrol.c:mem_cgroup_try_charge (3.17) for a page in the swap
    cache, under the page lock: a PCG_USED page is charged already
    (None); otherwise charge the memcg of ``slot``'s swap_cgroup record,
    or ``memcg`` (the faulting mm's) when there is none, and return it."""
    p = w.page(page)
    if "USED" in p["pc_flags"] and p["swapcache"] is not None:
        return None
    target = w.slots[slot]["record"] or memcg
    w.charge(target)
    return target


def commit_charge_done(w: World, page: str, memcg: str | None) -> None:
    """mm/memcontrol.c:mem_cgroup_commit_charge (3.17) after commit_charge:
    mem_cgroup_charge_statistics +1 and, for a page still in the swap
    cache, mem_cgroup_uncharge_swap of its slot. Nothing for a NULL memcg
    (try_charge charged nothing)."""
    if memcg is None:
        return
    charge_statistics(w, memcg, page, 1)
    slot = w.page(page)["swapcache"]
    if slot is not None:
        mem_cgroup_uncharge_swap(w, slot)


def commit_charge(page: str, memcg_var: str, *, lrucare: bool, prefix: str,
                  done: str | None = None) -> list[Step]:
    """Steps of commit_charge(page, memcg in local ``memcg_var``, lrucare).

    A None memcg (nothing to commit) jumps to ``done`` (or past the steps).
    """
    iso = f"{prefix}isolated"
    after = done

    def lock_lru(w: World, ctx) -> None:
        name = _name(page, ctx)
        ctx.local[iso] = w.page(name)["lru"] is not None
        if ctx.local[iso]:
            lru_del(w, name)

    def set_memcg(w: World, ctx):
        p = w.page(_name(page, ctx))
        if "USED" in p["pc_flags"]:
            raise StepViolation("VM_BUG_ON", f"commit_charge of page {_name(page, ctx)} "
                                "that is already charged: VM_BUG_ON_PAGE(PageCgroupUsed(pc))")
        p["pc_memcg"] = ctx.local[memcg_var]

    def set_flags(w: World, ctx) -> None:
        w.page(_name(page, ctx))["pc_flags"] = _USED

    def unlock_lru(w: World, ctx) -> None:
        if ctx.local.get(iso):
            lru_add(w, _name(page, ctx))

    def skip(w: World, ctx):
        if ctx.local[memcg_var] is None:
            return after if after is not None else f"{prefix}end"
        return None

    steps = [Step(f"{prefix}commit_charge", _M.format("commit_charge"), skip)]
    if lrucare:
        steps.append(Step(f"{prefix}lock_page_lru", _M.format("lock_page_lru"), lock_lru,
                          takes=("lru_lock",), protection="lru_isolation",
                          refs="page off the LRU while pc is rewritten"))
    steps += [Step(f"{prefix}pc->mem_cgroup = memcg", _M.format("commit_charge"), set_memcg),
              Step(f"{prefix}pc->flags = USED|MEM|MEMSW", _M.format("commit_charge"), set_flags)]
    if lrucare:
        steps.append(Step(f"{prefix}unlock_page_lru", _M.format("unlock_page_lru"), unlock_lru,
                          releases=("lru_lock",), protection="lru_isolation"))
    steps.append(Step(f"{prefix}end", _M.format("commit_charge"), lambda w, ctx: after))
    return steps


def mem_cgroup_migrate(old: str, new: str, *, lrucare: bool, read_first: bool,
                       prefix: str = "migrate: ", done: str) -> list[Step]:
    """Steps of mem_cgroup_migrate(old, new, lrucare); continues at ``done``."""
    memcg_v, iso = f"{prefix}memcg", f"{prefix}isolated"

    def checks(w: World, ctx):
        o, n = w.page(old), w.page(new)
        for name in (old, new):
            if w.holder(f"page:{name}") != ctx.path:
                raise StepViolation("VM_BUG_ON", f"mem_cgroup_migrate: page {name} is "
                                    "not locked: VM_BUG_ON_PAGE(!PageLocked(page))")
            if not lrucare and w.pages[name]["lru"] is not None:
                raise StepViolation("VM_BUG_ON", f"mem_cgroup_migrate(lrucare=false) with "
                                    f"page {name} on an LRU: VM_BUG_ON_PAGE(!lrucare && "
                                    "PageLRU(page))")
        if "USED" in n["pc_flags"] or "USED" not in o["pc_flags"]:
            return done
        ctx.local[memcg_v] = o["pc_memcg"] if read_first else None
        return None

    def lock_lru(w: World, ctx) -> None:
        ctx.local[iso] = w.page(old)["lru"] is not None
        if ctx.local[iso]:
            lru_del(w, old)

    def clear(w: World, ctx) -> None:
        w.page(old)["pc_flags"] = frozenset()

    def unlock_lru(w: World, ctx) -> None:
        if ctx.local[iso]:
            lru_add(w, old)

    def read_memcg(w: World, ctx) -> None:
        if not read_first:
            ctx.local[memcg_v] = w.page(old)["pc_memcg"]

    steps = [Step(f"{prefix}VM_BUG_ON checks, new charged? old charged?",
                  _M.format("mem_cgroup_migrate"), checks)]
    if lrucare:
        steps.append(Step(f"{prefix}lock_page_lru(old)", _M.format("lock_page_lru"),
                          lock_lru, takes=("lru_lock",)))
    steps.append(Step(f"{prefix}pc(old)->flags = 0", _M.format("mem_cgroup_migrate"), clear))
    if lrucare:
        steps.append(Step(f"{prefix}unlock_page_lru(old)", _M.format("unlock_page_lru"),
                          unlock_lru, releases=("lru_lock",),
                          refs="mem_cgroup_page_lruvec switches an uncharged off-LRU page to root"))
    steps.append(Step(f"{prefix}memcg = pc(old)->mem_cgroup", _M.format("mem_cgroup_migrate"),
                      read_memcg))
    steps += commit_charge(new, memcg_v, lrucare=lrucare, prefix=f"{prefix}new: ", done=done)
    return steps
