"""Every shipped race: protections hold, dropping each one breaks, the bug
replays break; the documented interleavings are the ones found."""
from __future__ import annotations

import pytest

from memcg_edu.errors import ModelUsageError
from memcg_edu.explore import explore, list_races
from memcg_edu.explore.races import RACES

NAMES = list(RACES)


def test_the_races_of_the_issue_are_shipped():
    assert NAMES == ["move_vs_unmap", "move_vs_two_unmaps", "migration_vs_unmap",
                     "swapcache_delete", "replace_vs_move", "commit_vs_putback",
                     "shmem_replace", "swapin_reuse"]
    races = {r["name"]: r for r in list_races()}
    assert [races[n]["design"] for n in NAMES] == ["3.16"] * 4 + ["3.17"] * 3 + ["3.16"]
    assert len(races["move_vs_two_unmaps"]["paths"]) == 3


def test_a_third_path_multiplies_interleavings_not_states():
    two, three = explore("move_vs_unmap"), explore("move_vs_two_unmaps")
    assert three.explored > 50 * two.explored
    assert three.states < 10 * two.states


@pytest.mark.parametrize("name", NAMES)
def test_every_protection_in_force(name):
    race = RACES[name]
    r = explore(name)
    assert r.explored > 1
    if race.expect_broken:
        assert r.broken > 0 and r.first_broken is not None
    else:
        assert r.broken == 0 and r.first_broken is None, r.first_broken


@pytest.mark.parametrize("name", NAMES)
def test_with_every_fix_applied_nothing_breaks(name):
    race = RACES[name]
    r = explore(name, fixes=race.fixes)
    if race.expect_broken and not race.fixes:
        assert r.broken > 0  # a 3.16 bug: the fix is the 3.17 design itself
    else:
        assert r.broken == 0, r.by_invariant


@pytest.mark.parametrize("name,protection",
                         [(n, p) for n in NAMES for p in RACES[n].protections])
def test_dropping_a_protection_breaks(name, protection):
    race = RACES[name]
    r = explore(name, without=[protection], fixes=race.fixes)
    assert r.broken > 0
    rows = r.first_broken
    assert rows and rows[-1]["invariant"] is not None
    assert all(row["invariant"] is None for row in rows[:-1])


def test_move_vs_unmap_without_lock_double_uncharges():
    r = explore("move_vs_unmap", without=["lock_page_cgroup"])
    assert set(r.by_invariant) == {"res_counter underflow"}
    steps = [(row["path"], row["step"]) for row in r.first_broken]
    # the uncharge read C before the mover switched the page to B
    read = steps.index(("unmap", "read pc->mem_cgroup, recheck ANON"))
    moved = steps.index(("reparent", "move statistics C->B, pc->mem_cgroup = B"))
    assert read < moved
    assert r.first_broken[-1]["step"] == "mem_cgroup_do_uncharge"


def test_migration_without_pcg_migration_loses_the_charge():
    r = explore("migration_vs_unmap", without=["PCG_MIGRATION"])
    last = r.first_broken[-1]
    assert last["invariant"]["id"] == "res_counter underflow"
    # migration's own unmap uncharged the old page: counter 0 while N is charged
    states = [row["state"] for row in r.first_broken]
    assert any(s["memcgs"]["A"]["res"] == 0 and "USED" in s["pages"]["N"]["pc_flags"]
               for s in states)


def test_swapcache_delete_protections_guard_different_invariants():
    assert set(explore("swapcache_delete", without=["swapcache_defer"]).by_invariant) == {"I11"}
    assert set(explore("swapcache_delete", without=["mapped_check"]).by_invariant) == \
        {"charged in use"}


def test_replace_vs_move_root_switch_and_trylock():
    plain = explore("replace_vs_move")
    # as released: the new page is committed to root when the old one was on the LRU
    last = plain.first_broken[-1]["state"]
    assert last["pages"]["N"]["pc_memcg"] == "root"
    assert set(plain.by_invariant) == {"I2"}
    fixed = explore("replace_vs_move", fixes=["memcg_read_first"])
    assert fixed.broken == 0
    both = explore("replace_vs_move", without=["trylock_page"], fixes=["memcg_read_first"])
    rows = both.first_broken
    end = rows[-1]["state"]
    assert end["pages"]["N"]["pc_memcg"] == "A" and end["memcgs"]["A"]["res"] == 0
    assert explore("replace_vs_move", without=["trylock_page"]).broken > plain.broken


def test_commit_without_lru_isolation_breaks_lru_placement_at_the_step():
    r = explore("commit_vs_putback", without=["lru_isolation"])
    assert r.first_broken[-1]["invariant"] == {
        "id": "I6", "after": "step",
        "message": r.first_broken[-1]["invariant"]["message"]}
    assert "root" in r.first_broken[-1]["invariant"]["message"]


def test_shmem_replace_bug_replay():
    r = explore("shmem_replace")
    assert r.expect_broken and "VM_BUG_ON" in r.by_invariant
    assert "lrucare" in r.first_broken[-1]["invariant"]["message"]
    only_lrucare = explore("shmem_replace", fixes=["lrucare"])
    assert "VM_BUG_ON" not in only_lrucare.by_invariant and only_lrucare.broken > 0


def test_swapin_reuse_loses_the_charge_unless_reclaim_wins():
    r = explore("swapin_reuse")
    assert set(r.by_invariant) == {"charged in use"}
    assert 0 < r.explored - r.broken  # reclaim deleting first is safe
    steps = [row["step"] for row in r.first_broken]
    assert steps.index("reuse_swap_page: delete_from_swap_cache") < \
        steps.index("set_pte_at, do_page_add_anon_rmap")


@pytest.mark.parametrize("name", NAMES)
def test_deterministic(name):
    race = RACES[name]
    without = list(race.protections[:1])
    assert explore(name, without=without).to_dict() == \
        explore(name, without=without).to_dict()


def test_a_single_protection_may_be_a_string():
    assert explore("move_vs_unmap", without="lock_page_cgroup").without == ["lock_page_cgroup"]


def test_unknown_names_are_refused():
    with pytest.raises(ModelUsageError, match="unknown race"):
        explore("nope")
    with pytest.raises(ModelUsageError, match='no protection "trylock_page"'):
        explore("move_vs_unmap", without=["trylock_page"])
    with pytest.raises(ModelUsageError, match='no fix "lrucare"'):
        explore("move_vs_unmap", fixes=["lrucare"])
