"""Seeded practice problems, in the spirit of OSTEP's homework simulators.

generate_problem(seed, topic, steps) builds a random but valid scenario
from random.Random(seed) alone (the same seed gives the same problem on
every machine), runs it on the model, and attaches to every step the blanks
a learner fills in (usage, memsw usage and swap of each memcg, and where
the page the step touched sits), the answers and an explanation naming the
kernel path (mm/memory.c, mm/filemap.c, mm/vmscan.c, mm/migrate.c,
mm/memcontrol.c). check_answers() marks a learner's numbers.
"""
from __future__ import annotations

import random
from typing import Any, Mapping

from ..errors import ScenarioError
from ..timeline import LRU_NAMES
from .explain import explain_step
from .format import FORMAT
from .load import Scenario, load_scenario
from .run import run_scenario

__all__ = ["TOPICS", "MAX_QUIZ_STEPS", "generate_problem", "check_answers",
           "place_of", "describe_setup", "COUNTER_HINTS", "PLACES_FREED",
           "PLACES_SWAP", "PLACES_OFF_LRU"]

#: topic -> ops the generator draws from (weights), each always valid
TOPICS: dict[str, dict[str, int]] = {
    "charge": {"fault_anon": 4, "add_to_page_cache": 3, "map": 2, "unmap": 3,
               "truncate": 2},
    "final-put": {"fault_anon": 3, "add_to_page_cache": 2, "get_page": 3,
                  "put_page": 3, "unmap": 3, "truncate": 2, "map": 1},
    "migration": {"fault_anon": 3, "add_to_page_cache": 2, "migrate": 5,
                  "unmap": 2, "get_page": 1, "put_page": 1},
    "swap": {"fault_anon": 3, "fault_shmem": 2, "swap_out": 5, "swap_in": 4,
             "unmap": 2, "map": 1},
    "mixed": {"fault_anon": 4, "add_to_page_cache": 2, "fault_shmem": 1,
              "map": 2, "unmap": 3, "get_page": 1, "put_page": 2,
              "truncate": 1, "migrate": 2, "swap_out": 2, "swap_in": 2},
}
MAX_QUIZ_STEPS = 40
PLACES_FREED, PLACES_SWAP, PLACES_OFF_LRU = "freed", "swap", "off the LRU"

#: what each counter counts: the hint for a wrong number (never the number)
COUNTER_HINTS = {
    "usage": "usage counts the pages in memory charged to the memcg (its res counter).",
    "memsw_usage": ("memsw usage counts memory plus swap: a page keeps its memsw "
                    "charge while it sits on a swap slot."),
    "swap": ("swap counts the memcg's own pages on swap slots (the slots recorded "
             "for it in swap_cgroup): memsw minus usage, in a memcg "
             "without children."),
    "rss": "rss counts the charged anonymous pages (PageAnon).",
    "cache": "cache counts the charged page cache and shmem/tmpfs pages.",
    "failcnt": ("failcnt counts every charge attempt that hit the limit, "
                "retries included, not just the failed steps."),
    "pgpgin": "pgpgin counts charge events: one per page charged to the memcg.",
    "pgpgout": "pgpgout counts uncharge events: one per page whose charge was given back.",
    **{lru: (f"{lru} counts the pages on that list of the memcg's lruvec: where a "
             f"page of this kind starts, and whether the step moved it to another "
             f"list or took it off the LRU.")
       for lru in LRU_NAMES},
    "where": ("A charged page sits on the LRU of the memcg it is charged to until "
              "its final put frees it; a swapped-out page sits on a swap slot. "
              "Ask what still holds the page after this step: a mapping, a pin, "
              "the page cache?"),
}


class _State:
    """The generator's own view of the pages, enough to pick valid steps."""

    def __init__(self, rng: random.Random, tasks: list[str]) -> None:
        self.rng, self.tasks = rng, tasks
        self.pages: dict[str, dict[str, Any]] = {}
        self.n = 0

    def new_label(self) -> str:
        name = "abcdefghijklmnopqrstuvwxyz"[self.n % 26] + (
            str(self.n // 26) if self.n >= 26 else "")
        self.n += 1
        return name

    def alive(self, **want) -> list[str]:
        """Labels not freed whose fields equal ``want``, in creation order."""
        return [name for name, p in self.pages.items()
                if p["where"] != PLACES_FREED
                and all(p[k] == v for k, v in want.items())]

    def settle(self, name: str) -> None:
        """A page nobody holds is freed; a swap slot nobody references too."""
        p = self.pages[name]
        held = p["maps"] or p["pins"] or p["cache"]
        if not held:
            p["where"] = PLACES_FREED


def _candidates(st: _State, op: str) -> list[dict[str, Any]]:
    """Every valid step of this op in the current state, in a fixed order."""
    T, out = st.tasks, []

    def mem(**want) -> list[str]:
        return st.alive(where="memory", **want)
    if op in ("fault_anon", "add_to_page_cache", "fault_shmem"):
        if len(st.alive()) < 8:
            out = [{"op": op, "task": t} for t in T]
    elif op == "map":
        shared = [x for x in mem(kind="anon") if st.pages[x]["maps"]]
        out = [{"op": op, "task": t, "page": x}
               for x in shared + mem(kind="file", cache=True)
               for t in T if t not in st.pages[x]["maps"]]
    elif op == "unmap":
        out = [{"op": op, "task": t, "page": x} for x in mem()
               for t in sorted(st.pages[x]["maps"])]
    elif op == "get_page":
        out = [{"op": op, "page": x} for x in mem() if st.pages[x]["pins"] < 2]
    elif op == "put_page":
        out = [{"op": op, "page": x} for x in mem() if st.pages[x]["pins"]]
    elif op == "truncate":
        out = [{"op": op, "page": x} for x in mem(kind="file", cache=True)]
    elif op == "migrate":   # a pinned page would make migration fail
        out = [{"op": op, "page": x} for x in mem(pins=0)
               if st.pages[x]["kind"] == "anon" or st.pages[x]["cache"]]
    elif op == "swap_out":
        out = [{"op": op, "page": x} for x in mem(kind="anon", pins=0)
               if len(st.pages[x]["maps"]) == 1] + [
              {"op": op, "page": x} for x in mem(kind="shmem", pins=0)]
    elif op == "swap_in":
        out = [{"op": op, "task": t, "page": x}
               for x in st.alive(where=PLACES_SWAP)
               for t in (sorted(st.pages[x]["swap_maps"])
                         if st.pages[x]["kind"] == "anon" else T)]
    return out


def _apply(st: _State, s: dict[str, Any]) -> None:
    op, P = s["op"], st.pages
    if op in ("fault_anon", "add_to_page_cache", "fault_shmem"):
        kind = {"fault_anon": "anon", "add_to_page_cache": "file",
                "fault_shmem": "shmem"}[op]
        mapped = op != "add_to_page_cache" or st.rng.random() < 0.5
        if op == "add_to_page_cache":
            s["mapped"] = mapped
        s["page"] = st.new_label()
        P[s["page"]] = {"kind": kind, "where": "memory", "pins": 0,
                        "maps": {s["task"]} if mapped else set(),
                        "swap_maps": set(), "cache": kind != "anon"}
        return
    p = P[s["page"]]
    if op == "map":
        p["maps"].add(s["task"])
    elif op == "unmap":
        p["maps"].discard(s["task"])
    elif op == "get_page":
        p["pins"] += 1
    elif op == "put_page":
        p["pins"] -= 1
    elif op == "truncate":
        p["cache"], p["maps"] = False, set()
    elif op == "swap_out":
        # try_to_unmap leaves swap ptes in anon mappings; shmem ptes just go
        p["where"] = PLACES_SWAP
        p["swap_maps"] = set(p["maps"]) if p["kind"] == "anon" else set()
        p["maps"] = set()
    elif op == "swap_in":
        p["where"] = "memory"
        p["swap_maps"].discard(s["task"])
        p["maps"].add(s["task"])
    if p["where"] == PLACES_SWAP:
        return
    st.settle(s["page"])


def generate_problem(seed: int, topic: str = "mixed", steps: int = 6,
                     design: str = "3.17") -> Scenario:
    """A practice scenario with a quiz entry (blanks, answers, why) per step.

    Depends only on (seed, topic, steps, design): random.Random(seed) is the
    only source of randomness.
    """
    if not isinstance(topic, str) or topic not in TOPICS:
        raise ScenarioError(f'unknown topic "{topic}"; topics: '
                            f"{', '.join(TOPICS)}", field="topic")
    if isinstance(seed, bool) or not isinstance(seed, int):
        raise ScenarioError(f"the seed must be a whole number, got {seed!r}",
                            field="seed")
    if (isinstance(steps, bool) or not isinstance(steps, int)
            or not 1 <= steps <= MAX_QUIZ_STEPS):
        raise ScenarioError(f"steps must be a whole number from 1 to "
                            f"{MAX_QUIZ_STEPS}, got {steps!r}", field="steps")
    rng = random.Random(seed)
    two = topic == "mixed" and rng.random() < 0.5
    tasks = {"p": "A", "q": "B" if two else "A"}
    st = _State(rng, list(tasks))
    weights = TOPICS[topic]
    plan: list[dict[str, Any]] = []
    while len(plan) < steps:
        ops = [o for o in weights if _candidates(st, o)]
        op = rng.choices(ops, [weights[o] for o in ops])[0]
        s = dict(rng.choice(_candidates(st, op)))
        _apply(st, s)
        plan.append(s)
    memcgs = {"A": {"limit": None, "memsw_limit": None}}
    if two:
        memcgs["B"] = {"limit": None, "memsw_limit": None}
    data = {"format": FORMAT,
            "title": f"Practice problem {seed} ({topic}, {steps} steps)",
            "description": ("Predict usage, memsw usage and swap of each memcg "
                            "after every step, and where the page sits. "
                            f"Generated by quiz --seed {seed} --topic {topic} "
                            f"--steps {steps}."),
            "machine": {"ram_pages": 32, "swap_slots": 16,
                        "swap_account": True, "charge_stock": False},
            "memcgs": memcgs, "tasks": tasks, "steps": plan}
    sc = load_scenario(data, name=f"quiz-{seed}-{topic}")
    tl = run_scenario(sc, design=design, pages=True)
    sc.quiz = _entries(sc, tl, design)
    return sc


def _pages(n: Any) -> str:
    return "no limit" if n is None else f"{n} page{'' if n == 1 else 's'}"


def describe_setup(memcgs: Mapping[str, Mapping[str, Any]],
                   tasks: Mapping[str, str]) -> list[str]:
    """One line per memcg a learner needs to answer: its limits and its tasks.

    ``memcgs`` maps a name to its settings or step-record counters (both
    have ``limit`` and ``memsw_limit`` in pages, None = unlimited); root is
    listed only when a task is in it.
    """
    lines = []
    for name, c in memcgs.items():
        owned = sorted(t for t, m in tasks.items() if m == name)
        if name == "root" and not owned:
            continue
        limit, memsw = c.get("limit"), c.get("memsw_limit")
        limits = ("no limits" if limit is None and memsw is None else
                  f"limit {_pages(limit)}, memsw limit {_pages(memsw)}")
        who = (f"task{'s' if len(owned) > 1 else ''} {', '.join(owned)}"
               if owned else "no tasks")
        lines.append(f"memcg {name}: {limits}; {who}")
    return lines


def place_of(label: str, rec: Mapping[str, Any]) -> tuple[str, str]:
    """(answer, detail) of where a label's page sits after a step record.

    The answer is one of "<memcg>'s LRU", PLACES_OFF_LRU, PLACES_SWAP,
    PLACES_FREED;
    the detail names the list ("active_anon") or slot.
    """
    where = rec["detail"]["labels"].get(label)
    if where is None:
        return PLACES_FREED, "the page was freed"
    if "swap" in where:
        return PLACES_SWAP, f"swap slot {where['swap']}"
    pages, pfn = rec["pages"], where["pfn"]
    lru = pages["lru"][pfn]
    if lru < 0:
        return PLACES_OFF_LRU, f"pfn {pfn} is on no LRU list"
    owner = pages["memcg_names"][pages["lru_memcg"][pfn]]
    return f"{owner}'s LRU", f"pfn {pfn} on {owner}'s {LRU_NAMES[lru]} list"


def _entries(sc: Scenario, tl, design: str) -> list[dict[str, Any]]:
    names = sc.memcg_names
    choices = [f"{n}'s LRU" for n in ["root", *[n for n in names if n != "root"]]]
    choices += [PLACES_OFF_LRU, PLACES_SWAP, PLACES_FREED]
    out, prev = [], None
    for st, rec in zip(sc.steps, tl):
        answers: dict[str, Any] = {}
        for n in names:
            c = rec["memcgs"][n]
            answers[f"{n}.usage"] = c["usage"]
            answers[f"{n}.memsw_usage"] = c["memsw_usage"]
            answers[f"{n}.swap"] = c["stat"]["swap"]
        label = st.get("page")
        detail = ""
        if label is not None:
            answers[f"{label}.where"], detail = place_of(label, rec)
        memcg = sc.tasks.get(st.get("task", ""), names[-1])
        why = explain_step(st, rec, prev, memcg, design)
        if detail:
            why += f" Page {label}: {detail}."
        out.append({"step": rec["step"], "blanks": list(answers),
                    "answers": answers,
                    "choices": {k: choices for k in answers if k.endswith(".where")},
                    "explanation": why})
        prev = rec
    return out


def check_answers(entry: Mapping[str, Any],
                  given: Mapping[str, Any]) -> list[dict[str, Any]]:
    """Mark a learner's answers for one quiz entry.

    Returns one {"blank", "given", "answer", "right"} per blank, in order;
    a blank left out of ``given`` counts as not right.
    """
    out = []
    for blank in entry["blanks"]:
        want = entry["answers"][blank]
        got = given.get(blank)
        if isinstance(want, int) and isinstance(got, str) and got.strip().isdigit():
            got = int(got)
        if isinstance(got, bool):
            right = False
        elif isinstance(got, str) and isinstance(want, str):
            right = got.strip().lower() == want.lower()
        else:
            right = got == want
        out.append({"blank": blank, "given": given.get(blank), "answer": want,
                    "right": bool(right)})
    return out
