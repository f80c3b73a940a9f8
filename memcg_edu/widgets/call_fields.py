"""A step's kernel calls, and the page fields each call changed, as data and text.

Reads the "calls" of a step record (docs/scenario-format.md): one dict per
kernel function in the order the calls are entered, each with the state
of its page when it returns (struct page: _count, page_mapcount(), the PG_
flags, the LRU list; struct page_cgroup: pc->flags, pc->mem_cgroup) and
the counters it changed. No widget here: the call stepper
(memcg_edu.widgets.callview) and the page inspector
(memcg_edu.widgets.inspector) show what these functions return.
"""
from __future__ import annotations

from typing import Any, Mapping, Optional, Sequence

from ..errors import ModelUsageError
from ..timeline import Timeline
from ..viz.style import LRU_NAMES

__all__ = ["STATE_ROWS", "FREE_FRAME", "checked_record", "step_calls", "call_changes", "call_line", "changed_fields",
           "children", "own_call", "return_order", "pages_state", "state_at"]

#: (state key, what the inspector's row is called, the struct it lives in)
STATE_ROWS = (
    ("count", "_count", "struct page"),
    ("mapcount", "page_mapcount()", "struct page"),
    ("flags", "flags (PG_)", "struct page"),
    ("mapping", "mapping", "struct page"),
    ("lru", "lru (list)", "struct page"),
    ("lruvec", "lruvec of", "struct page"),
    ("pcg", "pc->flags (PCG_)", "struct page_cgroup"),
    ("mem_cgroup", "pc->mem_cgroup", "struct page_cgroup"),
)
# the model's PG_ flags as the pages arrays name them -> the calls' names
_PG_ARRAYS = (("locked", "locked"), ("lru_flag", "lru"), ("active", "active"),
              ("anon", "anon"), ("swapbacked", "swapbacked"),
              ("swapcache", "swapcache"), ("unevictable", "unevictable"), ("free", "free"))


#: a frame before anything allocated it (the state of every frame before step 0).
#: Allocation leaves struct page_cgroup alone, and the model keeps no NULL
#: pc->mem_cgroup: a frame never charged reads root (docs/widgets.md)
FREE_FRAME = {"count": 0, "mapcount": 0, "flags": ["free"], "pcg": [], "mem_cgroup": "root",
              "lru": None, "lruvec": None}


def _whole(v: Any) -> bool:
    return isinstance(v, int) and not isinstance(v, bool) and v >= 0


#: call key -> (what it must be, the test); absent keys are allowed
_CALL_KEYS = {
    "fn": ("a function name", lambda v: isinstance(v, str)),
    "file": ("a file name or null", lambda v: v is None or isinstance(v, str)),
    "depth": ("a whole number", _whole),
    "page": ("a label or null", lambda v: v is None or isinstance(v, str)),
    "pfn": ("a whole number or null", lambda v: v is None or _whole(v)),
    "swap": ("a whole number or null", lambda v: v is None or _whole(v)),
    "state": ("an object or null", lambda v: v is None or isinstance(v, Mapping)),
    "memcgs": ("an object", lambda v: isinstance(v, Mapping) and all(
        isinstance(c, Mapping) for c in v.values())),
    "was": ("an object", lambda v: isinstance(v, Mapping)
            and isinstance(v.get("state") or {}, Mapping)
            and isinstance(v.get("memcgs") or {}, Mapping)),
}


def checked_record(timeline: Timeline, step: int) -> Mapping[str, Any]:
    """Step ``step``'s record, after checking the parts the call view and
    the inspector read ("calls", "detail", "pages": a timeline loaded from
    a file may hold anything); a ModelUsageError names the first bad one."""
    rec = timeline[step]

    def bad(where: str, what: str, got: Any) -> ModelUsageError:
        return ModelUsageError(f"timeline step {step}: {where} must be {what}, "
                               f"got {repr(got)[:60]}")

    calls = rec.get("calls")
    if calls is not None and (not isinstance(calls, Sequence)
                              or isinstance(calls, (str, bytes))):
        raise bad('"calls"', "a list of call objects", calls)
    for k, c in enumerate(calls or ()):
        if not isinstance(c, Mapping):
            raise bad(f"calls[{k}]", "an object", c)
        for key, (what, ok) in _CALL_KEYS.items():
            if key in c and not ok(c[key]):
                raise bad(f"calls[{k}].{key}", what, c[key])
    detail = rec.get("detail")
    if detail is not None:
        labels = detail.get("labels") if isinstance(detail, Mapping) else None
        if not isinstance(detail, Mapping) or not isinstance(labels or {}, Mapping) \
                or not all(isinstance(w, Mapping) and all(_whole(v) for v in w.values())
                           for w in (labels or {}).values()) \
                or not all(_whole(p) for p in detail.get("touched") or ()):
            raise bad('"detail"', 'an object of "labels" (label -> {"pfn" or '
                      '"swap": n}) and "touched" (pfns)', detail)
    pages = rec.get("pages")
    if pages is not None and not (isinstance(pages, Mapping)
                                  and isinstance(pages.get("free"), list)):
        raise bad('"pages"', "an object of per-frame lists", pages)
    return rec


def step_calls(timeline: Timeline, step: int) -> list[dict[str, Any]]:
    """The kernel calls of a step, in entry order ([] when none were recorded).

    A call whose page became known only inside it (a fault allocates its
    page) is recorded without the old values ("was"); they are filled in
    here from the page's state when the call was entered: as the last call
    on it to return before then left it, else as the previous step's
    "pages" show it (a free frame before step 0).
    """
    calls = [dict(c) for c in checked_record(timeline, step).get("calls") or ()]
    if not any(c.get("pfn") is not None and c.get("state") is not None
               and (c.get("was") or {}).get("state") is None for c in calls):
        return calls
    prev = timeline[step - 1].get("pages") if step > 0 else None
    last: dict[int, dict[str, Any]] = {}
    open_: list[int] = []

    def returns(j: int) -> None:
        if calls[j].get("pfn") is not None and calls[j].get("state") is not None:
            last[int(calls[j]["pfn"])] = calls[j]["state"]

    for k, c in enumerate(calls):
        while open_ and int(calls[open_[-1]].get("depth", 0)) >= int(c.get("depth", 0)):
            returns(open_.pop())
        open_.append(k)
        pfn, state = c.get("pfn"), c.get("state")
        was = c.get("was") or {}
        if pfn is None or state is None or was.get("state") is not None:
            continue
        before = last.get(int(pfn))
        if before is None:
            before = (pages_state(prev, int(pfn)) if prev and int(pfn) < len(prev["free"])
                      else FREE_FRAME if step == 0 else None)
        if before is not None:
            c["was"] = {**was, "state": {f: before.get(f) for f, v in state.items()
                                         if before.get(f) != v}}
    return calls


def _show(value: Any) -> str:
    if value is None or value == []:
        return "none"
    if isinstance(value, (list, tuple)):
        return "|".join(str(v) for v in value)
    return str(value)


def changed_fields(call: Mapping[str, Any],
                   before: Optional[Mapping[str, Any]] = None) -> dict[str, Any]:
    """{state field: old value} for the page fields ``call`` changed.

    Uses the call's "was" when the recording has it, else compares with
    ``before`` (the page's state before the call), else reports nothing.
    """
    state = call.get("state") or {}
    was = call.get("was")
    if isinstance(was, Mapping) and "state" in was:
        return dict(was.get("state") or {})
    if before is None:
        return {}
    return {k: before.get(k) for k, v in state.items() if before.get(k) != v}


def children(calls: Sequence[Mapping[str, Any]], index: int) -> list[int]:
    """Indices of the calls that call ``index`` made itself (one level down)."""
    depth = int(calls[index].get("depth", 0))
    out = []
    for k in range(index + 1, len(calls)):
        d = int(calls[k].get("depth", 0))
        if d <= depth:
            break
        if d == depth + 1:
            out.append(k)
    return out


def own_call(calls: Sequence[Mapping[str, Any]], index: int) -> dict[str, Any]:
    """Call ``index`` with only the changes no callee of it made: what the
    caller's own lines did (a call's record counts its callees' changes too)."""
    call = calls[index]
    kids = [calls[k] for k in children(calls, index)]
    if not kids:
        return dict(call)
    was = call.get("was") or {}
    depth = int(call.get("depth", 0))
    below = []   # every call made inside this one, at any depth
    for k in range(index + 1, len(calls)):
        if int(calls[k].get("depth", 0)) <= depth:
            break
        below.append(calls[k])
    mine = [k for k in below if k.get("pfn") == call.get("pfn")]
    by_kids = {f for k in mine for f in ((k.get("was") or {}).get("state") or {})}
    kid_counters = {(m, c) for k in kids for m, cs in (k.get("memcgs") or {}).items()
                    for c in cs}
    state_was = {f: v for f, v in (was.get("state") or {}).items() if f not in by_kids}
    # PG_ flags one by one: a flag no callee touched is the caller's own
    old_flags = (was.get("state") or {}).get("flags")
    if old_flags is not None and "flags" in by_kids:
        now = list((call.get("state") or {}).get("flags") or ())
        kid_flags = {f for k in mine for f in _flag_diff(
            ((k.get("was") or {}).get("state") or {}).get("flags"), (k.get("state") or {}))}
        own = _flag_diff(old_flags, call.get("state") or {}) - kid_flags
        if own:
            state_was["flags"] = [f for f in now if f not in own or f in old_flags] + [
                f for f in old_flags if f in own and f not in now]
    memcgs = {m: {c: v for c, v in cs.items() if (m, c) not in kid_counters}
              for m, cs in (call.get("memcgs") or {}).items()}
    return {**call, "memcgs": {m: cs for m, cs in memcgs.items() if cs},
            "was": {"state": state_was, "memcgs": was.get("memcgs") or {}}}


def _flag_diff(old: Optional[Sequence[str]], state: Mapping[str, Any]) -> set[str]:
    """The PG_ flags set or cleared between ``old`` and ``state["flags"]``."""
    if old is None:
        return set()
    return set(old) ^ set(state.get("flags") or ())


def call_changes(call: Mapping[str, Any],
                 before: Optional[Mapping[str, Any]] = None) -> list[str]:
    """What a call changed, in short text: "count 1->0", "PCG USED|MEM->none",
    "A usage 1->0, memsw_usage 1->0" (page fields first, then the counters of
    each memcg)."""
    state = call.get("state") or {}
    out = []
    for key, old in changed_fields(call, before).items():
        new = state.get(key)
        if key == "flags":
            gone = [f for f in (old or ()) if f not in (new or ())]
            came = [f for f in (new or ()) if f not in (old or ())]
            out.append("PG " + " ".join([f"+{f}" for f in came] + [f"-{f}" for f in gone]))
        else:
            name = {"pcg": "PCG", "mem_cgroup": "pc->mem_cgroup"}.get(key, key)
            out.append(f"{name} {_show(old)}->{_show(new)}")
    was_mc = (call.get("was") or {}).get("memcgs") or {}
    for memcg, counters in (call.get("memcgs") or {}).items():
        moved = []
        for counter, new in counters.items():
            old = (was_mc.get(memcg) or {}).get(counter)
            moved.append(f"{counter} {_show(old) + '->' if old is not None else '='}"
                         f"{_show(new)}")
        if moved:
            out.append(f"{memcg} " + ", ".join(moved))
    return out


def call_line(call: Mapping[str, Any], before: Optional[Mapping[str, Any]] = None,
              indent: str = "\u00a0\u00a0", pfn: bool = False) -> str:
    """One line of the call list: indented by depth, the function, its page
    (its label; with its pfn too when ``pfn``, for a step on two frames) and
    swap slot, and what it changed (plain text, no HTML)."""
    page = call.get("page") or ""
    if call.get("pfn") is not None and (pfn or not page):
        page = f"{page} (pfn {call['pfn']})" if page else f"pfn {call['pfn']}"
    if call.get("swap") is not None:
        page = f"{page} slot {call['swap']}".strip()
    changes = ", ".join(call_changes(call, before))
    return (indent * int(call.get("depth", 0)) + str(call.get("fn", "?"))
            + (f"  {page}" if page else "") + (f"  {changes}" if changes else ""))


def return_order(calls: Sequence[Mapping[str, Any]]) -> list[int]:
    """Indices of ``calls`` (entry order, with depths) in the order they return:
    a callee returns before its caller."""
    order: list[int] = []
    open_: list[int] = []
    for k, call in enumerate(calls):
        depth = int(call.get("depth", 0))
        while open_ and int(calls[open_[-1]].get("depth", 0)) >= depth:
            order.append(open_.pop())
        open_.append(k)
    order.extend(reversed(open_))
    return order


def pages_state(pages: Mapping[str, Any], pfn: int) -> dict[str, Any]:
    """The fields of frame ``pfn`` from a step's "pages" arrays, in the shape
    of a call's "state"."""
    names = pages["memcg_names"]
    bits = {int(b): n for b, n in pages["pcg_flag_names"].items()}
    pc = int(pages["pc_flags"][pfn])

    def memcg(i: Any) -> Optional[str]:
        i = int(i)
        return names[i] if 0 <= i < len(names) else None

    lru = int(pages["lru"][pfn])
    return {"count": int(pages["refcount"][pfn]), "mapcount": int(pages["mapcount"][pfn]),
            "flags": [name for key, name in _PG_ARRAYS if bool(pages[key][pfn])],
            "pcg": [n[4:] for b, n in sorted(bits.items()) if pc & b],
            # kept when the frame is freed (3.17 uncharge clears only
            # pc->flags), so allocating it again changes nothing here
            "mem_cgroup": memcg(pages["pc_memcg"][pfn]),
            "lru": LRU_NAMES[lru] if lru >= 0 else None,
            "lruvec": memcg(pages["lru_memcg"][pfn])}


def state_at(timeline: Timeline, step: int, call: Optional[int],
             pfn: int) -> tuple[Optional[dict[str, Any]], str]:
    """(fields of frame ``pfn``, when) as they are when call number ``call``
    of ``step`` returns, or after the step when ``call`` is None.

    The latest call on the frame that has returned by then gives its
    state; a frame no call has touched yet is as before the step (the
    first call's "was", or the previous step's "pages"); a frame the step
    never touched is as the step's "pages" show it. (None, why) when the
    recording has none of these.
    """
    rec = timeline[step]
    calls = step_calls(timeline, step)
    if call is not None and calls:
        order = return_order(calls)
        upto = order[:order.index(call) + 1]
        mine = [k for k in upto if calls[k].get("pfn") == pfn]
        if mine:
            k = mine[-1]
            return dict(calls[k]["state"]), f"when {calls[k]['fn']} returns"
        first = [k for k in order if calls[k].get("pfn") == pfn]
        if first:
            c = calls[first[0]]
            was = (c.get("was") or {}).get("state")
            if was is not None:
                return {**c["state"], **was}, "before the step's calls reach it"
            prev = timeline[step - 1].get("pages") if step > 0 else None
            if prev and pfn < len(prev["free"]):
                return pages_state(prev, pfn), "before the step's calls reach it"
    pages = rec.get("pages")
    if pages and 0 <= pfn < len(pages["free"]):
        return pages_state(pages, pfn), f"after step {step}"
    return None, "no page state is recorded for this frame at this step"
