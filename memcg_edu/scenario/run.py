"""Run a scenario on the model and record one Timeline step per scenario step.

Builds a Machine (memcg_edu.model, the Linux 3.17 mm/memcontrol.c design or
the 3.16 one), creates the memcgs and tasks, applies each step through
memcg_edu.scenario.ops and records the `run --json` object for it, plus
"detail" (labels and touched pfns) and, for small machines, "pages" (the
page_state snapshot) and "calls" (every kernel function the step ran, with
the page's state at each return: memcg_edu.model.calls). A step that fails as the kernel would (memcg OOM) is
recorded with ok=false and the run goes on; a broken kernel precondition
(VM_BUG_ON) is recorded and ends the run, as it would stop the kernel.
"""
from __future__ import annotations

import json
from pathlib import Path
from typing import Any, Generator, Iterable, Iterator, Mapping

import numpy as np

from ..collector import collector_off
from ..errors import (InvariantViolation, KernelBugError, MemcgOOM,
                      ModelUsageError, ScenarioError)
from ..model.calls import CallRecords
from ..model.machine import PageStateLists
from ..timeline import Timeline, json_default
from .expect import failed_checks
from . import ranges
from .call_names import CallNames
from .labels import Label, LabelTracker
from .load import Scenario, load_scenario
from .ops import Context, StepFailed, sync_labels
from .format import DESIGNS, NEW_PAGE_OPS, RANGE_INDEX, ROOT
from ..model.memcg import COL
from ..timeline import STATS
from .registry import REGISTRY, may_reclaim

__all__ = ["run_scenario", "run_timeline", "iter_scenario", "iter_checked", "step_json", "design_for", "DESIGNS", "JSON_KEYS",
           "RANGE_JSON_KEYS", "PAGES_MAX_FRAMES", "PAGES_MAX_CELLS", "RANGE_CALLS_MAX",
           "RANGE_DETAIL_MAX"]

#: The keys `run --json` prints; step records carry more ("detail", "pages").
JSON_KEYS = ("step", "op", "ok", "error", "events", "memcgs", "calls")
#: ... and, for a range step, these as well
RANGE_JSON_KEYS = ("count", "event_counts")
#: the keys `run --json` prints before a step's "calls", and after them
_BEFORE_CALLS = JSON_KEYS[:JSON_KEYS.index("calls")]
_AFTER_CALLS = JSON_KEYS[JSON_KEYS.index("calls") + 1:] + RANGE_JSON_KEYS


def step_json(rec: Mapping[str, Any]) -> str:
    """The `run --json` line of a step record: its JSON_KEYS (and a range
    step's RANGE_JSON_KEYS), as ``json.dumps`` writes them; the "calls" of
    the model written from their text (CallRecords.json), never made into
    dicts."""
    # a record holds no cycle (plain dicts, lists, numbers, strings): the
    # encoder's watch for one, an id() kept per container, is not needed
    text = json.dumps({k: rec[k] for k in _BEFORE_CALLS if k in rec},
                      check_circular=False, default=json_default)
    if "calls" in rec:
        calls = rec["calls"]
        text = (text[:-1] + ', "calls": '
                + (calls.json() if isinstance(calls, CallRecords) else json.dumps(calls))
                + "}")
    after = {k: rec[k] for k in _AFTER_CALLS if k in rec}
    if after:
        text = text[:-1] + ", " + json.dumps(after, check_circular=False)[1:]
    return text
#: "pages" is stored per step only for machines up to this many frames+slots
PAGES_MAX_FRAMES = 512
#: ... and while steps x (frames + slots) stays below this many cells.
PAGES_MAX_CELLS = 4_000_000


def design_for(sc: Scenario, design: str | None) -> str:
    """``design``, else the design the file says it is for, else 3.17."""
    return design if design is not None else sc.design or DESIGNS[0]


def _machine(sc: Scenario, design: str, check_invariants: bool):
    if design not in DESIGNS:
        raise ScenarioError(f'unknown design "{design}"; designs: '
                            f"{', '.join(DESIGNS)}", field="design")
    from ..model import Machine
    try:
        # a step's counters are read from the memcgs (_counters), not
        # from the event log: it keeps only the events
        return Machine(**sc.machine, design=design,
                       check_invariants=check_invariants, record_counters=False)
    except (ModelUsageError, NotImplementedError) as e:
        raise ScenarioError(f"the {design} design is not available in this "
                            f"version of memcg_edu ({e})", field="design") from None


def run_scenario(scenario: str | Path | Mapping[str, Any] | Scenario,
                 design: str | None = None, *, pages: bool | None = None,
                 calls: bool | None = None,
                 check_invariants: bool = False, detail: bool | None = True) -> Timeline:
    """Run a scenario (path, dict or Scenario) and return its Timeline.

    ``design``: "3.17" or "3.16"; None = the file's "design", else 3.17
    (as the command line does).
    ``pages``: store the page_state snapshot in every step (None = only
    when the machine is small, see PAGES_MAX_FRAMES / PAGES_MAX_CELLS).
    ``calls``: store the step's kernel calls as "calls" (None = when
    page snapshots are stored); without it the machine records no calls.
    ``check_invariants``: check the accounting invariants after every mm
    operation; a violation is recorded like a kernel bug and ends the run.
    ``detail``: False leaves "detail" out of the records without design
    notes (a front-end that reads only the counters, such as compare,
    keeps less); None keeps it only with the page snapshots (what the
    page grid reads, which plot draws only from them).
    Raises ScenarioError for invalid input, including a step that uses a
    label its page no longer fits (the message names file, step and field).
    """
    sc = load_scenario(scenario)
    design = design_for(sc, design)
    return run_timeline(sc, design, _run(sc, design, pages, calls, check_invariants, detail))


def run_timeline(sc: Scenario, design: str,
                 records: Iterable[tuple[dict[str, Any], bool]]) -> Timeline:
    """The Timeline of ``records``, the run of ``sc`` on ``design``. Its
    meta, which names the scenario and its steps, is made once the records
    are all in: a scenario whose steps arrive while it runs
    (scenario/ahead.py) is whole by then."""
    tl = Timeline()
    stopped = None
    # every record lives as long as the timeline and holds no cycle, yet
    # each collection would walk the growing timeline again
    with collector_off():
        for rec, stop in records:
            tl.steps.append(rec)         # a fresh record, numbered: no copy
            if stop:
                stopped = rec["step"]
        # in the block, as before the run: the collector counts what is
        # made while it is off, and the first object made after the block
        # starts a collection over every record, in the caller's time
        tl.meta = _meta(sc, design)
        if stopped is not None:
            tl.meta["stopped_at"] = stopped
    return tl


def _meta(sc: Scenario, design: str) -> dict[str, Any]:
    return {"source": "model", "design": design, "title": sc.title,
            "description": sc.description, "scenario": sc.source,
            "machine": dict(sc.machine), "tasks": dict(sc.tasks),
            # the scenario's own step dicts, shared (records are read-only):
            # a 100,000-step run keeps no second copy of its steps
            "steps": list(sc.steps)}


def _small(sc: Scenario) -> bool:
    """Whether per-step snapshots fit (PAGES_MAX_FRAMES, PAGES_MAX_CELLS)."""
    cells = sc.machine["ram_pages"] + sc.machine["swap_slots"]
    return cells <= PAGES_MAX_FRAMES and cells * len(sc.steps) <= PAGES_MAX_CELLS


def iter_scenario(scenario: str | Path | Mapping[str, Any] | Scenario,
                  design: str | None = None, *, pages: bool | None = None,
                  calls: bool | None = None, check_invariants: bool = False,
                  detail: bool | None = True
                  ) -> Generator[tuple[dict[str, Any], bool], None, None]:
    """Run a scenario step by step: yields (step record, the run stops here).

    The same records as run_scenario, one at a time, so that a front-end
    can print each and let it go (run --json of a long scenario). A
    record's "calls" can be read until the next step is asked for: then
    the machine forgets them (CallLog.forget), so that memory stays that
    of one step however long the run.
    """
    sc = load_scenario(scenario)
    yield from iter_checked(sc, design_for(sc, design), pages=pages, calls=calls,
                            check_invariants=check_invariants, detail=detail)


def iter_checked(sc: Scenario, design: str, *, pages: bool | None = None,
                 calls: bool | None = None, check_invariants: bool = False,
                 detail: bool | None = True, keep_calls: bool = False
                 ) -> Iterator[tuple[dict[str, Any], bool]]:
    """iter_scenario of a scenario this process knows to be checked, not
    checked again, whose steps are only iterated (once, in order) and
    counted: scenario/beside.py's second process and scenario/ahead.py's
    run, whose steps arrive while they run the first. ``keep_calls``
    False: a record's "calls" are read before the next step (as
    iter_scenario's); True: they are kept (a timeline's)."""
    return _run(sc, design, pages, calls, check_invariants, detail, keep_calls=keep_calls)


def _run(sc: Scenario, design: str, pages: bool | None, calls: bool | None,
         check_invariants: bool, detail: bool | None = True,
         keep_calls: bool = True) -> Iterator[tuple[dict[str, Any], bool]]:
    """iter_scenario for a loaded (checked) scenario; ``keep_calls`` False:
    each step's calls are forgotten once the next step is asked for."""
    m = _machine(sc, design, check_invariants)
    if pages is None:
        pages = _small(sc)
    if detail is None:
        detail = pages
    if calls is None:
        calls = pages
    m.calls.enabled = calls              # nobody reads an unrecorded log
    memcgs = {ROOT: m.memcgs[ROOT]}
    for name, spec in sc.memcgs.items():
        memcgs[name] = m.create_memcg(
            name, parent=memcgs[spec["parent"]] if spec["parent"] else None,
            limit=spec["limit"], memsw_limit=spec["memsw_limit"],
            use_hierarchy=spec["use_hierarchy"],
            oom_kill_disable=spec.get("oom_kill_disable", False))
    tasks = {t: m.create_task(t, memcgs[mc]) for t, mc in sc.tasks.items()}
    ctx = Context(m, memcgs, tasks, LabelTracker(sc.source))
    # the memcgs of a record, in order, and each one's at the last step
    shown = [(n, memcgs[n]) for n in sc.memcg_names]
    last: dict[str, tuple[list[int], dict[str, Any]]] = {}
    snapshots = PageStateLists(m) if pages else None
    call_names = CallNames(ctx) if calls else None
    for i, st in enumerate(sc.steps):
        # small machine: name every live page, for the page grid
        rec, stop = _step(ctx, sc, i, st, shown, design, call_names, last,
                          detail or pages, every_label=pages)
        if snapshots is not None:
            rec["pages"] = snapshots.take()    # made from the last step's
            if not detail and "design_notes" not in rec:   # notes name labels
                del rec["detail"]
        yield rec, stop
        if stop:
            return
        if calls and not keep_calls:
            m.calls.forget()               # the step's record was written
    if check_invariants:                 # after each step it checked what the step changed
        m.check_invariants()


#: where a memcg's counter row holds its memory.stat (the row's tail)
_STAT_BASE = COL[STATS[0]]
#: a range step records its kernel calls only up to this many steps
RANGE_CALLS_MAX = 64
#: a range step's "detail" names at most this many labels and pfns
RANGE_DETAIL_MAX = 1024
#: range steps the model runs at once (scenario/ranges.py), by op
_AT_ONCE = {"fault_anon": ranges.fault_anon_range}


def _step(ctx: Context, sc: Scenario, i: int, st: dict,
          memcgs: list[tuple[str, Any]], design: str,
          call_names: CallNames | None,
          last: dict[str, tuple[list[int], dict[str, Any]]],
          detail: bool = True, every_label: bool = False
          ) -> tuple[dict[str, Any], bool]:
    """Apply one step (a range step: all of its steps); its record and
    whether the run must stop here. ``memcgs`` and ``last``: see
    _counters. ``call_names``: record the step's
    kernel calls, named with it (None: no calls). ``detail`` False: no
    "detail" unless the step has design notes (they name labels);
    ``every_label``: its "labels" name every live label, not only those
    the step touched."""
    m, tr, op = ctx.m, ctx.tr, st["op"]
    tr.step, tr.op = i, op               # for the tracker's errors
    count = st.get("count")
    calls = call_names is not None and (count is None or count <= RANGE_CALLS_MAX)
    mark, oom_mark = len(m.events), len(m.oom_kills)
    if calls:
        assert call_names is not None
        cmark = len(m.calls)
        call_names.before_step()
    if count is None:
        ok, error, touched, stop, before = _apply(ctx, sc, i, st, design, oom_mark)
    else:
        recording, m.calls.enabled = m.calls.enabled, calls and m.calls.enabled
        try:
            ok, error, touched, stop, before = _apply_range(ctx, sc, i, st, design)
        finally:
            m.calls.enabled = recording
    events = m.events.kinds(mark)
    counters = _counters(memcgs, last)
    if op == "expect" and st.get("design", design) == design:
        bad = failed_checks(st, counters[st["memcg"]])
        if bad:
            ok, error = False, f'expect {st["memcg"]}: ' + "; ".join(bad)
    notes = m.design_notes()             # 3.16: where it breaks a 3.17 invariant
    rec = {"step": i, "op": op, "ok": ok, "error": error, "events": events,
           "memcgs": counters}
    if detail or notes:
        for lab in touched:              # the pfns before, and after
            if lab.page is not None:
                before.add(lab.page.pfn)
        rec["detail"] = {"labels": (tr.where_live(touched, whole=count is not None)
                                    if every_label else tr.where_json(touched)),
                         "touched": sorted(before)}
    if count is not None:
        rec["count"] = count
        rec["events"] = list(dict.fromkeys(events))      # each kind once
        rec["event_counts"] = {k: events.count(k) for k in rec["events"]}
        det = rec.get("detail")
        if det is not None:
            # the touched labels decide (the page grid's "labels", every
            # live label, are kept whole)
            mine = tr.where_json(touched) if every_label else det["labels"]
            if len(det["touched"]) > RANGE_DETAIL_MAX or len(mine) > RANGE_DETAIL_MAX:
                if not every_label:
                    det["labels"] = dict(list(mine.items())[:RANGE_DETAIL_MAX])
                det["touched"] = det["touched"][:RANGE_DETAIL_MAX]
                det["truncated"] = True
    if calls:
        assert call_names is not None
        # a page is named by the label it has after the step, else before
        # (built when read: a run pays for the dicts of the steps opened)
        rec["calls"] = m.calls.since(cmark, *call_names.after_step(
            cmark, touched, whole=count is not None))
    elif count is not None:
        rec["calls"] = []                    # too many to keep (RANGE_CALLS_MAX)
        if call_names is not None:
            call_names.forget()              # its labels moved unseen
    if len(m.oom_kills) > oom_mark:      # which OOM outcome, and whom it killed
        rec["oom"] = [dict(o) for o in m.oom_kills[oom_mark:]]
    if notes:
        rec["design_notes"] = notes
    return rec, stop


def _counters(memcgs: list[tuple[str, Any]],
              last: dict[str, tuple[list[int], dict[str, Any]]]
              ) -> dict[str, dict[str, Any]]:
    """Every memcg's counters now (``memcgs``: (name, MemCgroup) in record
    order). A memcg whose counters did not change since the last step
    (``last``: its counter row and counters then, updated here) gets the
    same dict object (records are read-only), so a long timeline keeps one
    copy of what stays the same; an unchanged row (every counter of a memcg
    but root's usage lives in it) is one comparison, no new dict."""
    out: dict[str, dict[str, Any]] = {}
    for n, mg in memcgs:
        row = mg.row
        prev = last.get(n)
        if prev is None:
            now: dict[str, Any] = mg.counters()
        else:
            was_row, was = prev
            if was_row == row:
                if mg.index:                         # 0: root
                    out[n] = was
                    continue
                # root's usage is summed over its subtree (mem_cgroup_usage):
                # its own row does not tell whether it moved, its usage does
                # (the rest of its counters is its row)
                usage, memsw_usage = mg.subtree_usage()
                if usage != was["usage"] or memsw_usage != was["memsw_usage"]:
                    was = {**was, "usage": usage, "memsw_usage": memsw_usage}
                    last[n] = (was_row, was)
                out[n] = was
                continue
            now = mg.counters()
            # "stat" is the row's tail, one value a column: equal tails, equal
            # dicts. The rest of a memcg's counters is the rest of its row
            # (root's usage aside), so a moved row of another memcg has other
            # counters, and only root's may come out as they were
            if was_row[_STAT_BASE:] == row[_STAT_BASE:]:
                now["stat"] = was["stat"]
                if not mg.index and now == was:
                    now = was
        last[n] = (row.copy(), now)
        out[n] = now
    return out


def _apply(ctx: Context, sc: Scenario, i: int, st: dict, design: str, oom_mark: int
           ) -> tuple[bool, str | None, list[Label], bool, set[int]]:
    """Run one step on the model: (ok, error, labels touched, stop, pfns
    before). ``oom_mark``: how many OOM kills the machine had recorded
    before it."""
    m, tr, op = ctx.m, ctx.tr, st["op"]
    o = REGISTRY[op]
    # the labels the step names ("with": replace_page_cache's second page)
    named = []
    before = set()
    if "page" in st:                     # no op has "with" without "page"
        for name in (st["page"], st["with"]) if "with" in st else (st["page"],):
            lab = tr.lookup(name)
            if lab is not None:
                named.append(lab)
                if lab.page is not None:
                    before.add(lab.page.pfn)
    ok, error, touched, stop = True, None, [], False
    shrinks = m.shrink_runs
    try:
        touched = o.apply(ctx, st)
    except (MemcgOOM, StepFailed) as e:
        ok, error = False, str(e)
    except KernelBugError as e:
        ok, error, stop = False, f"kernel precondition broken: {e}", True
    except InvariantViolation as e:     # only with check_invariants
        ok, error, stop = False, f"model {e}", True
    except ModelUsageError as e:
        raise ScenarioError(str(e), file=sc.source, step=i, op=op) from None
    except NotImplementedError as e:
        raise ScenarioError(f"{op} is not available in the {design} design yet "
                            f"({e})", file=sc.source, step=i, op=op) from None
    if not ok and op in NEW_PAGE_OPS:
        tr.never(st["page"])
    touched = touched or named
    ooms = len(m.oom_kills) > oom_mark
    if ooms:
        for oom in m.oom_kills[oom_mark:]:   # the memcg OOM killer's victims exited
            if oom["victim"]:
                touched += [lab for lab in tr.live() if oom["victim"] in lab.maps]
                tr.exit(oom["victim"], "was OOM-killed")
    if not ok or ooms or may_reclaim(op, m.shrink_runs != shrinks):
        moved = sync_labels(ctx, tr.live_after_reclaim(), touched)
    elif o.places_known:                 # its labels are where it put them
        moved = []
    else:
        moved = sync_labels(ctx, touched, touched)
    if moved or len(touched) > 1:        # (one label, none moved: as it is)
        touched = list({id(lab): lab for lab in touched + moved}.values())
    return ok, error, touched, stop, before


def _apply_range(ctx: Context, sc: Scenario, i: int, st: dict, design: str
                 ) -> tuple[bool, str | None, list[Label], bool, set[int]]:
    """A range step: at once where the model can (scenario/ranges.py), else
    its steps one by one as if written out. The first failure is its error."""
    at_once = _AT_ONCE.get(st["op"])
    if at_once is not None:
        try:
            done = at_once(ctx, i, st)
        except ModelUsageError as e:
            raise ScenarioError(str(e), file=sc.source, step=i, op=st["op"]) from None
        if done is not None:
            return True, None, done, False, set()
    # unmap of a range fault's labels: runs of them at once, the others one by one
    plan = ranges.unmap_plan(ctx, st) if st["op"] == "unmap" else None
    members = plan[1] if plan is not None else np.zeros(st["count"], bool)
    one = {k: v for k, v in st.items() if k != "count"}
    fields = [k for k in ("page", "with") if k in st]
    ok, error, touched, before = True, None, {}, set()
    j = 0
    while j < st["count"]:
        if members[j]:
            assert plan is not None                  # members is all False without one
            end = j + int(np.argmin(members[j:])) if not members[j:].all() else st["count"]
            ranges.unmap_members(ctx, i, plan[0], np.arange(j, end))
            j = end
            continue
        for k in fields:                         # "{i}" -> j
            one[k] = st[k].replace(RANGE_INDEX, str(j))
        try:
            ok_j, error_j, touched_j, stop, before_j = _apply(
                ctx, sc, i, one, design, len(ctx.m.oom_kills))
        except ScenarioError as e:
            raise ScenarioError(f"i = {j}: {e.message}", file=e.file, step=e.step,
                                op=e.op, field=e.field) from None
        before |= before_j
        for lab in touched_j:
            touched[id(lab)] = lab
        if not ok_j and ok:
            ok, error = False, f"i = {j}: {error_j}"
        if stop:
            return ok, error, list(touched.values()), True, before
        if "task" in st and st["task"] in ctx.tr.exited:
            # the OOM killer chose the range's own task: a dead task faults
            # no more, so the steps after j never happen
            break
        j += 1
    return ok, error, list(touched.values()), False, before

