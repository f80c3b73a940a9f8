"""Predict which kernel call changes a field, then check it against the recording.

The notebooks ask "which call drops A's usage?" or "which call clears
PG_lru?"; ``which_call`` finds, in a step's recorded calls (see
memcg_edu.widgets.call_fields), the call that made the change itself (not
a caller that only counts its callees' changes) and says whether the guess
names it, and why.
"""
from __future__ import annotations

from typing import Any, Optional

from ..errors import ModelUsageError
from ..timeline import Timeline
from ..widgets.call_fields import call_changes, own_call, return_order, step_calls
from .exercise import Verdict
from .words import source_url

__all__ = ["which_call", "changing_call"]


def changing_call(timeline: Timeline, step: int, *, memcg: Optional[str] = None,
                  counter: Optional[str] = None, page: Optional[str] = None,
                  field: Optional[str] = None) -> int:
    """Index of the call of ``step`` that itself changed ``memcg``'s
    ``counter``, or the state ``field`` (count, mapcount, flags, pcg,
    mem_cgroup, lru, lruvec) of page ``page``: the first to return (a
    callee returns before its caller)."""
    if (memcg is None) == (page is None) or (memcg and not counter) or (page and not field):
        raise ModelUsageError("say either memcg= and counter=, or page= and field=")
    calls = step_calls(timeline, step)
    for k in return_order(calls):
        own = own_call(calls, k)
        if memcg is not None:
            if counter in (own.get("memcgs") or {}).get(memcg, {}):
                return k
        elif own.get("page") == page and field in ((own.get("was") or {}).get("state") or {}):
            return k
    what = f"{memcg}'s {counter}" if memcg else f"the {field} of page {page}"
    raise ModelUsageError(f"no call of step {step} ({timeline[step].get('op', '?')}) "
                          f"changes {what}")


#: how a page field reads in a call list line (memcg_edu.widgets.call_fields)
_LINE_WORD = {"count": "count", "mapcount": "mapcount", "flags": "PG", "pcg": "PCG",
              "mem_cgroup": "pc->mem_cgroup", "lru": "lru", "lruvec": "lruvec"}


def which_call(timeline: Timeline, step: int, guess: Any, **what: Any) -> Verdict:
    """Is ``guess`` (a kernel function name) the call of ``step`` that changes
    ``what`` (memcg=, counter= or page=, field=, as for ``changing_call``)?

    A right guess (the call, or its caller) is told which call it is and
    what it changed; a wrong one gets a hint that names no function, so
    the learner can look again (the notebook's Reveal names it)."""
    if guess is Ellipsis or guess is None or guess == "":
        return Verdict(False, "Type the name of a kernel function first.", pending=True)
    k = changing_call(timeline, step, **what)
    calls = step_calls(timeline, step)
    call = calls[k]
    fn = str(call["fn"])
    depth = int(call.get("depth", 0))
    # the callers of call k, innermost first
    stack: list[str] = []
    for j in range(k - 1, -1, -1):
        if int(calls[j].get("depth", 0)) < depth - len(stack):
            stack.append(str(calls[j]["fn"]))
    parent = stack[0] if stack else None
    done = "; ".join(call_changes(own_call(calls, k)))
    url = source_url(call["file"], "v3.16" if timeline.meta.get("design") == "3.16"
                     else "v3.17")
    where = f"`{fn}` ({url}), called by `{parent}`" if parent else f"`{fn}` ({url})"
    because = f"It is {where}: {done}."
    name = str(guess).strip().rstrip("()")
    if name == fn:
        return Verdict(True, because)
    if name == parent:
        return Verdict(True, f"Inside `{parent}`, to be exact: {because}")
    if what.get("memcg"):
        look = f"`{what['memcg']} {what['counter']}` change"
    else:
        word = _LINE_WORD.get(str(what.get("field")), str(what.get("field")))
        change = next((c for c in call_changes(own_call(calls, k))
                       if c.split()[0] == word), word)
        look = f"`{change}` on {what.get('page')}"
    hint = f"Look in the step's call list for the line that shows {look}."
    if name in stack:
        return Verdict(False, f"`{name}` is on the way: the change is made deeper, "
                              f"by a call it makes. {hint}")
    if name in {str(c["fn"]) for c in calls}:
        return Verdict(False, f"`{name}` runs in this step, but does not make that "
                              f"change. {hint}")
    return Verdict(False, f"`{name}` is not among the calls of step {step}. {hint}")
