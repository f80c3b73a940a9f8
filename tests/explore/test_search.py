"""The search engine on tiny hand-made paths with known answers."""
from __future__ import annotations

from math import comb

import pytest

from memcg_edu.explore.races import PROTECTIONS, RACES
from memcg_edu.explore.paths import END, Path, Step
from memcg_edu.explore.search import Search
from memcg_edu.explore.state import StepViolation, World, new_memcg, new_page


def _world() -> World:
    return World("3.17", pages={"X": new_page(anon=True)},
                 memcgs={"A": new_memcg(None)})


def _count(paths, protections=frozenset({"lock"})):
    s = Search(_world(), [p.compile(protections) for p in paths], protections,
               frozenset())
    return s, s.run()


def _bump(field):
    def run(w, ctx):
        w.page("X")[field] += 1
    return run


def test_free_paths_interleave_binomially():
    a = Path("a", tuple(Step(f"a{i}", "k", _bump("ref")) for i in range(3)))
    b = Path("b", tuple(Step(f"b{i}", "k", _bump("ref")) for i in range(2)))
    _, (total, broken, _) = _count([a, b])
    assert total == comb(5, 2)
    assert broken == 0


def test_a_lock_serialises_critical_sections():
    def locked(name):
        return Path(name, (
            Step("lock", "k", lambda w, c: None, takes=("page:X",), protection="lock"),
            Step("work", "k", _bump("ref")),
            Step("more work", "k", _bump("ref")),
            Step("unlock", "k", lambda w, c: None, releases=("page:X",), protection="lock"),
        ))
    _, (with_lock, _, _) = _count([locked("a"), locked("b")])
    assert with_lock == 2  # one whole critical section, then the other
    _, (without, _, _) = _count([locked("a"), locked("b")], frozenset())
    assert without == comb(4, 2)  # the two-step bodies interleave freely


def test_trylock_failure_branch_and_labels():
    def trylock(w, ctx):
        if w.holder("page:X"):
            return "failed"
        w.take("page:X", ctx.path)
        return None
    a = Path("a", (Step("trylock", "k", trylock),
                   Step("unlock", "k", lambda w, c: END, releases=("page:X",)),
                   Step("failed", "k", _bump("ref"))))
    holder = Path("b", (Step("lock", "k", lambda w, c: None, takes=("page:X",)),
                        Step("unlock", "k", lambda w, c: None, releases=("page:X",))))
    s, (total, broken, _) = _count([a, holder])
    # a locks first (b waits: 1 order), a fails inside b's section (2), b first (1)
    assert broken == 0 and total == 4


def test_step_violation_and_final_invariant_are_counted():
    def bad(w, ctx):
        raise StepViolation("VM_BUG_ON", "boom")
    a = Path("a", (Step("ok", "k", lambda w, c: None), Step("bad", "k", bad)))
    s, (total, broken, why) = _count([a])
    assert (total, broken, dict(why)) == (1, 1, {"VM_BUG_ON": 1})
    rows = s.first_broken()
    assert [r["step"] for r in rows] == ["ok", "bad"]
    assert rows[-1]["invariant"]["id"] == "VM_BUG_ON"
    # a charge nobody holds: I2 at the end of the interleaving
    c = Path("c", (Step("charge", "k", lambda w, ctx: w.charge("A")),))
    s, (total, broken, why) = _count([c])
    assert broken == 1 and "I2" in why
    assert s.first_broken()[-1]["invariant"]["after"] == "complete interleaving"


def test_compile_drops_protection_steps_and_resolves_their_labels():
    a = Path("a", (Step("x", "k", lambda w, c: "guard"),
                   Step("skipped", "k", lambda w, c: None),
                   Step("guard", "k", lambda w, c: None, protection="p"),
                   Step("after", "k", lambda w, c: None)))
    full, bare = a.compile({"p"}), a.compile(set())
    assert [s.label for s in full.steps] == ["x", "skipped", "guard", "after"]
    assert [s.label for s in bare.steps] == ["x", "skipped", "after"]
    assert bare.index["guard"] == 2 and bare.index[END] == 3


def test_deadlock_is_reported():
    both = ("page:X", "lru_lock")
    a = Path("a", (Step("l1", "k", lambda w, c: None, takes=("page:X",)),
                   Step("l2", "k", lambda w, c: None, takes=("lru_lock",)),
                   Step("release", "k", lambda w, c: None, releases=both)))
    b = Path("b", (Step("l2", "k", lambda w, c: None, takes=("lru_lock",)),
                   Step("l1", "k", lambda w, c: None, takes=("page:X",)),
                   Step("release", "k", lambda w, c: None, releases=both)))
    _, (total, broken, why) = _count([a, b])
    assert (total, broken, dict(why)) == (4, 2, {"deadlock": 2})


def _brute(search, world, pcs, locs):
    """Walk every interleaving one by one (no memo): (total, broken)."""
    total = broken = 0
    moved = False
    for t in search.transitions(world, pcs, locs):
        moved = True
        if t.violation is not None:
            total, broken = total + 1, broken + 1
            continue
        a, b = _brute(search, t.world, t.pcs, t.locals)
        total, broken = total + a, broken + b
    if not moved:
        return 1, int(search._terminal(world, pcs) is not None)
    return total, broken


@pytest.mark.parametrize("name,without", [
    ("commit_vs_putback", ()), ("commit_vs_putback", ("lru_isolation",)),
    ("swapcache_delete", ("mapped_check",)), ("swapin_reuse", ()),
])
def test_memoised_counts_match_walking_every_interleaving(name, without):
    race = RACES[name]
    prot = frozenset(PROTECTIONS) - set(without)
    world, paths = race.build(frozenset())
    s = Search(world, [p.compile(prot) for p in paths], prot, frozenset())
    total, broken, _ = s.run()
    assert (total, broken) == _brute(s, *s.start)
