"""Step text read off the recorded calls: right for each memcg by construction."""
from __future__ import annotations

from memcg_edu.scenario import FORMAT, load_scenario, run_scenario
from memcg_edu.scenario.explain import call_facts, explain_step


def _texts(sc, design="3.17"):
    sc = load_scenario(sc)
    tl = run_scenario(sc, design=design, calls=True)
    out, prev = [], None
    for rec in tl:
        # the acting memcg the widgets pass may be any that moved: say the parent
        out.append(explain_step(sc.steps[rec["step"]], rec, prev, "P", design))
        prev = rec
    return tl, out


HIER = {"format": FORMAT, "machine": {"ram_pages": 16, "swap_slots": 8},
        "memcgs": {"P": {"limit": 2, "use_hierarchy": True}, "C": {"parent": "P"}},
        "tasks": {"c": "C"},
        "steps": [{"op": "fault_anon", "task": "c", "page": "x"},
                  {"op": "fault_anon", "task": "c", "page": "y"},
                  {"op": "fault_anon", "task": "c", "page": "z"}]}


def test_hierarchy_step_says_the_page_is_the_childs_and_the_charge_went_up():
    tl, texts = _texts(HIER)
    t = texts[0]
    assert 'charged "x" to C (and, up the hierarchy, P)' in t
    assert "in C's rss" in t and "goes on C's active_anon list" in t
    assert "P's rss" not in t and "P's active" not in t
    assert tl[0]["memcgs"]["P"]["stat"]["rss"] == 0      # what the text says


def test_limit_step_names_the_failed_limit_the_reclaim_and_what_it_swapped():
    tl, texts = _texts(HIER)
    t = texts[2]
    assert "The charge first failed at P's memory limit (failcnt 0->1)." in t
    assert "Reclaim ran on P's hierarchy" in t
    assert 'mem_cgroup_swapout moved the memsw charge of "x" (of C) to swap slot' in t
    assert tl[2]["memcgs"]["P"]["failcnt"] == 1
    assert 'charged "z" to C' in t


def test_oom_is_said_when_reclaim_cannot_help():
    sc = dict(HIER, machine={"ram_pages": 16, "swap_slots": 0})
    tl, texts = _texts(sc)
    assert not tl[2]["ok"]
    assert "mem_cgroup_oom" in texts[2] and "failed at P's memory limit" in texts[2]


def test_replace_page_cache_3170_says_commit_charge_gave_the_page_to_root():
    sc = {"format": FORMAT, "memcgs": {"A": {}}, "tasks": {"p": "A"},
          "steps": [{"op": "add_to_page_cache", "task": "p", "page": "f"},
                    {"op": "replace_page_cache", "page": "f"}]}
    tl, texts = _texts(sc)
    assert 'commit_charge gave "f" (its new page' in texts[1]
    assert ") to root." in texts[1]


def test_facts_need_calls_and_3_16_reads_its_own_calls():
    assert call_facts([]) == []
    tl, texts = _texts(HIER, design="3.16")
    assert 'charged "x"' not in texts[0]          # 3.16 names no page there
    assert "charged a page to C (and, up the hierarchy, P)" in texts[0]


def test_counts_are_said_in_words_not_page_s():
    """Notebook 02's final put reads "gave back 1 page of usage"."""
    sc = {"format": FORMAT, "machine": {"ram_pages": 16, "swap_slots": 8},
          "memcgs": {"A": {}}, "tasks": {"p": "A"},
          "steps": [{"op": "fault_anon", "task": "p", "page": "x"},
                    {"op": "unmap", "task": "p", "page": "x"}]}
    tl, texts = _texts(sc)
    assert "gave back 1 page of usage of A" in texts[1]
    _, limit = _texts(HIER)
    assert "(1 round of try_to_free_mem_cgroup_pages)" in limit[2]
    assert not any("(s)" in t for t in texts + limit)


def test_swap_in_says_the_commit_moved_the_page_to_the_memcgs_lru():
    """mm/memory.c do_swap_page (3.17): the page goes on root's LRU before the
    commit; mem_cgroup_commit_charge(lrucare) moves it to A's (unlock_page_lru)."""
    sc = {"format": FORMAT, "machine": {"ram_pages": 16, "swap_slots": 8},
          "memcgs": {"A": {}}, "tasks": {"p": "A"},
          "steps": [{"op": "fault_anon", "task": "p", "page": "x"},
                    {"op": "swap_out", "page": "x"},
                    {"op": "swap_in", "task": "p", "page": "x"}]}
    tl, texts = _texts(sc)
    t = texts[2]
    assert "goes on root's inactive_anon list" in t
    assert t.index("goes on root's") < t.index(
        "unlock_page_lru puts \"x\" back on A's inactive_anon list.")
    last = [c for c in tl[2]["calls"] if c["fn"] == "unlock_page_lru"][-1]
    assert last["state"]["lruvec"] == "A"                  # what the text says


def test_the_final_put_text_names_the_function_the_calls_show():
    """An unmap's final put is release_pages > mem_cgroup_uncharge_list; a
    put_page's is __page_cache_release > mem_cgroup_uncharge (mm/swap.c, 3.17)."""
    sc = {"format": FORMAT, "machine": {"ram_pages": 16, "swap_slots": 8},
          "memcgs": {"A": {}}, "tasks": {"p": "A"},
          "steps": [{"op": "fault_anon", "task": "p", "page": "x"},
                    {"op": "fault_anon", "task": "p", "page": "y"},
                    {"op": "get_page", "page": "y"},
                    {"op": "unmap", "task": "p", "page": "x"},
                    {"op": "unmap", "task": "p", "page": "y"},
                    {"op": "put_page", "page": "y"}]}
    tl, texts = _texts(sc)
    for step, fn in ((3, "mem_cgroup_uncharge_list"), (5, "mem_cgroup_uncharge")):
        assert fn in [c["fn"] for c in tl[step]["calls"]]
        assert f"and {fn} gives back its charge" in texts[step], texts[step]


def test_a_saved_timelines_unknown_op_or_design_and_partial_counters_are_explained():
    """An op or design this version has no story for, counters a record
    lacks: the story is left out, the counters it has are told (C: none)."""
    rec = {"ok": True, "memcgs": {"A": {"usage": 2}, "B": {"usage": 1, "memsw_usage": 1,
                                                          "stat": {"swap": 0}}, "C": 7}}
    prev = {"memcgs": {"A": {"usage": 1}, "B": {"usage": 1, "memsw_usage": 1,
                                                "stat": {"swap": 0}}}}
    for op, design in (("bogus", "3.17"), ("fault_anon", "9.9")):
        assert explain_step({"op": op}, rec, prev, "A", design) == (
            "Counters: A: usage 1->2; B: usage 1, memsw 1, swap 0.")
    known = explain_step({"op": "fault_anon"}, rec, prev, "A", "3.17")
    assert known.endswith("Counters: A: usage 1->2; B: usage 1, memsw 1, swap 0.")
    assert len(known) > len("Counters: ") + 60          # the op's story first
