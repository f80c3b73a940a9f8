"""Plain-words explanations of a step: which kernel path ran, what memcg did.

Used by the quiz (--solve), the step player and the predict-then-reveal
widgets. The story of each op is the registry's text for the design
(explain_317, explain_316); what happened to each memcg and page is read
from the step's recorded calls when the record has them (call_facts).
"""
from __future__ import annotations

from typing import Any, Mapping

from .registry import REGISTRY

__all__ = ["explain_step", "counter_moves"]

_SHOWN = (("usage", "usage"), ("memsw_usage", "memsw"))


def counter_moves(rec: Mapping[str, Any], prev: Mapping[str, Any] | None) -> str:
    """'A: usage 0->1, memsw 0->1, swap 0' for every memcg in the record (a
    saved timeline's may lack some counters: those it has)."""
    parts = []
    for name, now in rec["memcgs"].items():
        before = (prev or {}).get("memcgs", {}).get(name, now)
        bits = []
        for key, label in _SHOWN:
            b = _value(now, key)
            if b is not None:
                a = _value(before, key)
                bits.append(f"{label} {a}->{b}" if a is not None and a != b
                            else f"{label} {b}")
        b = _value(now, "swap")
        if b is not None:
            a = _value(before, "swap")
            bits.append(f"swap {a}->{b}" if a is not None and a != b else f"swap {b}")
        if bits:
            parts.append(f"{name}: " + ", ".join(bits))
    return "; ".join(parts)


def _value(counters: Any, key: str) -> int | None:
    """A memcg's counter ``key`` (a memory.stat line: from its "stat"), or
    None where a saved timeline's record lacks it."""
    if not isinstance(counters, Mapping):
        return None
    stat = counters.get("stat")
    v = stat.get(key) if isinstance(stat, Mapping) and key in stat else counters.get(key)
    return v if isinstance(v, int) and not isinstance(v, bool) else None


def _delta(rec, prev, key: str) -> int:
    total = 0
    for name, now in rec["memcgs"].items():
        before = (prev or {}).get("memcgs", {}).get(name)
        a, b = _value(before, key), _value(now, key)
        if a is not None and b is not None:
            total += b - a
    return total


def explain_step(step: Mapping[str, Any], rec: Mapping[str, Any],
                 prev: Mapping[str, Any] | None, memcg: str,
                 design: str = "3.17") -> str:
    """Why the counters moved (or did not) at this step, in plain words.

    The op's story for ``design`` (the op registry's text), then, when the
    record carries its "calls", what they did to each memcg and page
    (call_facts), then the counters. ``memcg`` names the memcg of the task
    that acted; the calls correct it where they show the page went to
    another (the memcg its commit counted it in).
    """
    op = step["op"]
    oom = "".join(_oom_killed(o) for o in rec.get("oom") or ()
                  if o["outcome"] == "retried")
    calls = rec.get("calls")
    facts = call_facts(calls, memcg) if calls is not None else []
    if not rec["ok"]:
        return oom + " ".join([f"The step failed: {rec['error']}."] + facts
                        + [counter_moves(rec, prev) + "."])
    freed = _delta(rec, prev, "usage") < 0
    swap_freed = _delta(rec, prev, "memsw_usage") < 0
    owner = _committed_to(calls) if calls else None
    # a saved timeline may name an op or design this version has no story
    # for (an edited file, another version's): the calls and counters alone
    stories = REGISTRY[op].text if op in REGISTRY else {}
    story = [stories[design](step, owner or memcg, freed, swap_freed)] if design in stories else []
    return oom + " ".join(story + facts + [f"Counters: {counter_moves(rec, prev)}."])


def _oom_killed(o: Mapping[str, Any]) -> str:
    """What the memcg OOM killer did before a fault was retried."""
    return (f"The charge hit {o['memcg']}'s limit and reclaim could not make "
            f"room, so at the end of the page fault the memcg OOM killer ran "
            f"(mem_cgroup_oom_synchronize -> mem_cgroup_out_of_memory): it "
            f"killed task {o['victim']}, the task in {o['memcg']} with the "
            f"highest badness ({o['badness']} pages resident or on swap). Its "
            f"mappings and swap entries went as at exit, then the fault was "
            f"retried and this time the charge fit. ")


# -- what the recorded calls show ---------------------------------------------
_CHARGE_FNS = ("try_charge", "mem_cgroup_try_charge")
_STAT_FNS = ("mem_cgroup_charge_statistics",)
_LRU_ADD = "__pagevec_lru_add_fn"


def _page(c: Mapping[str, Any]) -> str:
    if c.get("page"):
        return f'"{c["page"]}"'
    return f"page {c['pfn']}" if c.get("pfn") is not None else "a page"


def _committed_to(calls: list[Mapping[str, Any]]) -> str | None:
    """The memcg whose rss or cache the step's first commit raised."""
    for c in calls:
        if c["fn"] in _STAT_FNS:
            for name, old, new in _rose(c, "rss") + _rose(c, "cache"):
                return name
    return None


def _rose(c: Mapping[str, Any], counter: str) -> list[tuple[str, Any, Any]]:
    """(memcg, old, new) for each memcg whose ``counter`` rose in call ``c``."""
    return [(n, o, v) for n, o, v in _moved(c, counter) if v > o]


def _fell(c: Mapping[str, Any], counter: str) -> list[tuple[str, Any, Any]]:
    return [(n, o, v) for n, o, v in _moved(c, counter) if v < o]


def _moved(c: Mapping[str, Any], counter: str) -> list[tuple[str, Any, Any]]:
    out = []
    for name, counters in c["memcgs"].items():
        if counter in counters:
            old = c["was"]["memcgs"][name][counter]
            if old is not None and counters[counter] is not None:
                out.append((name, old, counters[counter]))
    return out


def _walk(names: list[str], c: Mapping[str, Any], owner: str | None) -> str:
    """'C1 (and, up the hierarchy, P)': the memcg a res_counter change was
    made for (the one whose statistics also moved, else ``owner``) first."""
    stats = [n for n, counters in c["memcgs"].items()
             if any(k in counters for k in ("rss", "cache", "swap"))]
    first = next((n for n in names if n in stats), None) or \
        (owner if owner in names else names[0])
    up = [n for n in names if n != first]
    return first + (f" (and, up the hierarchy, {', '.join(up)})" if up else "")


def call_facts(calls: list[Mapping[str, Any]], memcg: str | None = None) -> list[str]:
    """Sentences about each memcg and page, read off a step's recorded calls.

    Right by construction: each names the call that made the change. A
    charge names the memcg it was made to and the ancestors its
    res_counter walk also charged; a failed charge names the level whose
    limit it hit (failcnt), the reclaim it ran and what that swapped out or
    dropped; a commit names the memcg that counts the page (rss or cache)
    and the LRU list it then goes on; uncharges, swap-out and swap-slot
    frees name their memcg (and the ancestors) and page. ``memcg``: the
    acting task's memcg, where the calls alone cannot tell.
    """
    out: list[str] = []
    owner = _committed_to(calls) or memcg
    failed_at = []
    for c in [c for c in calls if c["fn"] in _CHARGE_FNS][:1]:
        charged = [n for n, _, _ in _rose(c, "usage") or _rose(c, "memsw_usage")]
        if charged:
            out.append(f"{c['fn']} charged {_page(c)} to {_walk(charged, c, owner)}.")
        for counter, what in (("failcnt", "memory"), ("memsw_failcnt", "memory+swap")):
            for name, old, new in _rose(c, counter):
                failed_at.append(name)
                out.append(f"The charge first failed at {name}'s {what} limit "
                           f"({counter} {old}->{new}).")
    reclaims = [c for c in calls if c["fn"] == "try_to_free_mem_cgroup_pages"]
    if reclaims:
        where = f" on {failed_at[0]}'s hierarchy" if failed_at else ""
        rounds = len(reclaims)
        out.append(f"Reclaim ran{where} ({rounds} round{'' if rounds == 1 else 's'} of "
                   f"try_to_free_mem_cgroup_pages).")
    swapped = [c for c in calls if c["fn"] == "mem_cgroup_swapout"]
    if swapped:
        out.append("mem_cgroup_swapout moved the memsw charge of "
                   + ", ".join(f"{_page(c)} (of {c['state']['mem_cgroup']}) to "
                               f"swap slot {c['swap']}" for c in swapped) + ".")
    dropped = [c for c in calls if c["fn"] == "__delete_from_page_cache"
               and any(p["fn"] == "__remove_mapping" for p in calls)]
    if dropped and reclaims:
        out.append("It dropped " + ", ".join(_page(c) for c in dropped)
                   + " from the page cache.")
    if any(c["fn"] == "mem_cgroup_oom" for c in calls):
        out.append("Reclaim could not make room: mem_cgroup_oom, the charge fails.")
    migrating = any(c["fn"] == "mem_cgroup_migrate" for c in calls)
    for c in calls:
        fn = c["fn"]
        if fn in _STAT_FNS:
            for name, _, _ in _rose(c, "rss") + _rose(c, "cache"):
                k = "rss" if _rose(c, "rss") else "cache"
                out.append(f"The commit counts {_page(c)} in {name}'s {k}.")
        elif fn == _LRU_ADD and c["state"] and c["state"]["lruvec"]:
            which = f" (pfn {c['pfn']})" if migrating else ""
            out.append(f"{_page(c)}{which} goes on {c['state']['lruvec']}'s "
                       f"{c['state']['lru']} list.")
        elif (fn == "unlock_page_lru" and c["state"] and c["state"]["lruvec"]
              and c["state"]["lru"]):
            # lrucare: the commit took the page off its LRU and puts it back
            # on the lruvec of the memcg it now belongs to
            which = f" (pfn {c['pfn']})" if migrating else ""
            out.append(f"unlock_page_lru puts {_page(c)}{which} back on "
                       f"{c['state']['lruvec']}'s {c['state']['lru']} list.")
        elif fn in ("uncharge_batch", "mem_cgroup_do_uncharge",
                    "mem_cgroup_uncharge_end"):
            fell = _fell(c, "usage")
            if fell:
                n = fell[0][1] - fell[0][2]
                out.append(f"{fn} gave back {n} page{'' if n == 1 else 's'} of usage of "
                           f"{_walk([m for m, _, _ in fell], c, owner)}.")
        elif fn == "mem_cgroup_uncharge_swap":
            fell = _fell(c, "memsw_usage")
            if fell:
                out.append(f"mem_cgroup_uncharge_swap gave back the memsw charge "
                           f"swap slot {c['swap']} held for "
                           f"{_walk([m for m, _, _ in fell], c, owner)}.")
        elif fn == "commit_charge" and migrating and c["state"]:
            out.append(f"commit_charge gave {_page(c)} (its new page, pfn "
                       f"{c['pfn']}) to {c['state']['mem_cgroup']}.")
    return out
