"""Read a scenario file (or dict) and check it against the format.

The checks here need no model: JSON shape, known ops and fields, types and
sizes, declared tasks and memcgs, limits (res limit <= memsw limit, as
mem_cgroup_resize_limit in mm/memcontrol.c enforces), parents without
cycles, labels created before use. Whether a label is still alive and who
maps it at a given step is known only while running (memcg_edu.scenario.
labels). Every problem is one ScenarioError naming file, step and field.
"""
from __future__ import annotations

import difflib
import json
import numbers
import os
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Iterable, Protocol, TypedDict

from ..bundled import SCENARIO_DIR
from ..errors import ScenarioError
from ..model.limits import MAX_FILES, MAX_LABELS, MAX_MEMCGS, MAX_TASKS
from ..safeio import (capped_names, exists, parse_json, printable, read_text,
                      write_atomic)
from ..timeline import FORMAT as TIMELINE_FORMAT
from .format import (DESIGNS, EXPECT_NAMES, FORMAT, MACHINE_FIELDS, MAX_COUNT,
                     MAX_FILE_BYTES, MAX_RAM_PAGES, MAX_STEPS, MAX_SWAP_SLOTS,
                     MAX_TOTAL_STEPS, MEMCG_FIELDS, NEW_PAGE_OPS, OPS, RANGE_INDEX,
                     ROOT, TOP_FIELDS)

__all__ = ["Scenario", "SCENARIO_DIR", "find_scenario", "load_scenario", "suggest",
           "range_labels", "memcg_names", "LoadWatch", "WATCH_EVERY"]



@dataclass
class Scenario:
    """A checked scenario. ``steps`` are dicts with defaults filled in."""

    title: str
    description: str
    machine: dict[str, Any]
    memcgs: dict[str, dict[str, Any]]      # in creation order (parents first)
    tasks: dict[str, str]                  # task -> memcg
    steps: list[dict[str, Any]]
    source: str = "scenario"               # file name used in messages
    quiz: list[dict[str, Any]] | None = None   # blanks/answers of a problem
    design: str | None = None              # the design the file is written for
    # what was checked (to_dict() at load): a Scenario changed since, say a
    # step appended in a notebook, is checked again before it runs
    _checked: dict[str, Any] | None = field(default=None, repr=False,
                                            compare=False)
    meta: dict[str, Any] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        """The scenario as file content (load_scenario(s.to_dict()) == s)."""
        # a non-object step (appended by hand) is kept, for the check to name it
        return self._with_steps([dict(s) if type(s) is dict or isinstance(s, Mapping)
                                 else s for s in self.steps])

    def _with_steps(self, steps: list[Any]) -> dict[str, Any]:
        """to_dict with these ``steps``."""
        d: dict[str, Any] = {"format": FORMAT, "title": self.title,
                             "description": self.description,
                             **({"design": self.design} if self.design else {}),
                             "machine": dict(self.machine),
                             "memcgs": {n: dict(v) for n, v in self.memcgs.items()},
                             "tasks": dict(self.tasks), "steps": steps}
        if self.quiz is not None:
            d["quiz"] = self.quiz
        return d

    def _unchanged(self) -> bool:
        """Is it still what load_scenario checked (to_dict() == _checked)?
        Steps that are all plain dicts are compared as they are: each
        compares as its copy would, and a long scenario's copy cost as much
        as the comparison."""
        if self._checked is None:
            return False
        steps = self.steps
        if type(steps) is list and set(map(type, steps)) <= {dict}:
            return self._with_steps(steps) == self._checked
        return self.to_dict() == self._checked

    def save(self, path: str | Path, overwrite: bool = True) -> None:
        """Write the scenario file: a new file renamed into place, so a
        symlink at ``path`` is replaced, not followed (``overwrite`` False:
        refused if a file is there)."""
        write_atomic(path, json.dumps(self.to_dict(), indent=1) + "\n",
                     overwrite=overwrite)

    @property
    def memcg_names(self) -> list[str]:
        """Every memcg the scenario names: root (if used) then its own."""
        return memcg_names(self.memcgs, self.tasks, self.steps)


def memcg_names(memcgs: Mapping[str, Any], tasks: Mapping[str, str],
                steps: Iterable[Any]) -> list[str]:
    """Scenario.memcg_names of these parts: root if a task is in it or a
    step names it, then ``memcgs``. ``steps`` may be a file's own, not yet
    checked: one that is not an object names none."""
    uses_root = ROOT in tasks.values() or any(
        (type(s) is dict or isinstance(s, Mapping))
        and (s.get("memcg") == ROOT or s.get("to") == ROOT) for s in steps)
    return ([ROOT] if uses_root else []) + list(memcgs)


class LoadWatch(Protocol):
    """Told of a scenario's checked parts while load_scenario checks the
    rest: scenario/beside.py sends them to a second process, which runs
    the first steps while the last are checked."""

    def begin(self, head: Scenario, steps: list[Any]) -> None:
        """The machine, memcgs and tasks are checked: ``head`` holds them,
        no steps, and the file's design if it names a valid one (checked
        with the rest). ``steps``: the file's, none of them checked yet."""

    def checked(self, steps: list[dict[str, Any]]) -> None:
        """``steps`` (one list, growing) are checked: told every
        WATCH_EVERY steps and once they all are."""


#: steps checked between two calls of LoadWatch.checked
WATCH_EVERY = 1024


def suggest(word: str, choices) -> str:
    """' (did you mean "x"?)' when a close choice exists, else ''."""
    choices = [str(c) for c in choices]
    same_case = [c for c in choices if c.lower() == str(word).lower()]
    close = same_case or (len(choices) <= _SUGGEST_MAX
                          and difflib.get_close_matches(str(word), choices, n=1))
    return f' (did you mean "{close[0]}"?)' if close else ""


def _show(v: Any) -> str:
    """A value as the file would spell it, for a message: any Python value
    (a numpy number, a set) and at most 60 characters."""
    text = json.dumps(v, default=repr)
    return text if len(text) <= 60 else text[:57] + "..."


def _names(choices) -> str:
    # capped: a file with 100,000 memcgs must not make a 1 MB message
    return capped_names(choices)


#: beyond this many choices (a range step's labels) no close match is sought
_SUGGEST_MAX = 10_000
#: op -> the fields a step of it may carry ("count": an op that takes a page)
_ALLOWED = {op: ["op", "note", *spec] + (list(EXPECT_NAMES) if op == "expect" else [])
            + (["count"] if "page" in spec else []) for op, spec in OPS.items()}
#: ... as sets (a step's fields are looked up in them), and the required fields
_ALLOWED_SET = {op: frozenset(f) for op, f in _ALLOWED.items()}
_REQUIRED = {op: tuple(k for k, (_, required) in spec.items() if required)
             for op, spec in OPS.items()}


def range_labels(template: str, count: int) -> list[str]:
    """The labels a range step's label field stands for: "{i}" -> 0 .. count-1."""
    if RANGE_INDEX not in template:
        return [template] * count
    return [template.replace(RANGE_INDEX, str(i)) for i in range(count)]


def range_index(name: str, prefix: str, suffix: str, count: int) -> int | None:
    """i < count such that prefix + str(i) + suffix == name, or None."""
    if len(name) <= len(prefix) + len(suffix) or not (
            name.startswith(prefix) and name.endswith(suffix)):
        return None
    mid = name[len(prefix):len(name) - len(suffix)]
    if not mid.isdigit() or str(int(mid)) != mid or int(mid) >= count:
        return None
    return int(mid)


def _disjoint(p: str, s: str, p2: str, s2: str) -> bool:
    """Can no label match both p + digits + s and p2 + digits + s2? (A quick
    sufficient test: one prefix must extend the other by digits only, and
    so must the suffixes.)"""
    short, long_ = sorted((p, p2), key=len)
    if not long_.startswith(short) or not long_[len(short):].isdigit() and long_ != short:
        return True
    short, long_ = sorted((s, s2), key=len)
    return not long_.endswith(short) or (long_ != short
                                         and not long_[:len(long_) - len(short)].isdigit())


class _Created:
    """The page labels the steps so far create: names, and the "{i}"
    templates of range steps kept whole (a million labels cost nothing)."""

    def __init__(self) -> None:
        self.names: dict[str, int] = {}                    # label -> step
        self.ranges: list[tuple[str, str, int, int]] = []  # prefix, suffix, count, step
        self.in_ranges = 0                                 # labels of the ranges

    def __len__(self) -> int:
        return len(self.names) + self.in_ranges

    def add_range(self, prefix: str, suffix: str, count: int, step: int) -> None:
        self.ranges.append((prefix, suffix, count, step))
        self.in_ranges += count

    def __iter__(self):
        yield from self.names
        for p, s, n, _ in self.ranges:
            yield f"{p}{RANGE_INDEX}{s} (i < {n:,})"

    def step_of(self, name: str) -> int | None:
        """The step that creates ``name``, or None."""
        if name in self.names:
            return self.names[name]
        for p, s, n, step in self.ranges:
            if range_index(name, p, s, n) is not None:
                return step
        return None

    def first_taken(self, template: str, count: int) -> tuple[int, str, int] | None:
        """(i, label, step) of the first label of a new range already created."""
        p, s = template.split(RANGE_INDEX)
        hits = [(j, name, st) for name, st in self.names.items()
                if (j := range_index(name, p, s, count)) is not None]
        for p2, s2, n2, st in self.ranges:
            if (p2, s2) == (p, s):               # the same template: from i = 0
                hits.append((0, p + "0" + s, st))
            elif _disjoint(p, s, p2, s2):
                continue
            elif count <= n2:                    # walk the shorter of the two
                for j in range(count):
                    name = p + str(j) + s
                    if range_index(name, p2, s2, n2) is not None:
                        hits.append((j, name, st))
                        break
            else:
                for k in range(n2):
                    name = p2 + str(k) + s2
                    j = range_index(name, p, s, count)
                    if j is not None:
                        hits.append((j, name, st))
        return min(hits) if hits else None

    def covers(self, template: str, count: int) -> bool:
        """Does a range step's "{i}" template name only created labels, at once?"""
        return template.count(RANGE_INDEX) == 1 and any(
            f"{p}{RANGE_INDEX}{s}" == template and count <= n for p, s, n, _ in self.ranges)


class _AtStep(TypedDict):
    """The step an error is at (keywords of _Checker.err)."""
    step: int
    op: str


class _AtField(_AtStep):
    """The step and field an error is at."""
    field: str


class _Checker:
    """Validates one scenario; ``err`` builds errors located in the file."""

    def __init__(self, source: str) -> None:
        self.source = source
        self.swap_account = True           # set from "machine" before the steps
        self.files: set[str] = set()       # file names the steps use so far

    def err(self, message: str, *, step: int | None = None,
            op: str | None = None, field: str | None = None) -> ScenarioError:
        return ScenarioError(message, file=self.source, step=step, op=op,
                             field=field)

    # -- values -----------------------------------------------------------
    def value(self, kind: str, v: Any, **where) -> Any:
        if kind in ("count", "limit"):
            if v is None and kind == "limit":
                return None
            if isinstance(v, numbers.Integral) and not isinstance(v, bool):
                v = int(v)             # a numpy integer from a notebook
            if isinstance(v, bool) or not isinstance(v, (int, float)):
                what = "a whole number of pages" + (" or null (unlimited)"
                                                    if kind == "limit" else "")
                raise self.err(f"must be {what}, got {_show(v)}", **where)
            if isinstance(v, float) and not v.is_integer():
                raise self.err(f"must be a whole number of pages, got {v}",
                               **where)
            if isinstance(v, float):
                raise self.err(f"must be a whole number of pages written "
                               f"without a decimal point, got {v}", **where)
            if v < 0:
                raise self.err(f"must be 0 or more pages, got {v}", **where)
            if v > MAX_RAM_PAGES:
                raise self.err(f"{v} pages is more than this model handles "
                               f"({MAX_RAM_PAGES})", **where)
            return v
        if kind == "bool":
            if not isinstance(v, bool):
                raise self.err(f"must be true or false, got {_show(v)}",
                               **where)
            return v
        if kind == "design":
            if v not in DESIGNS:
                raise self.err(f"must be one of {_names(DESIGNS)}, got "
                               f"{_show(v)}", **where)
            return v
        if kind == "str":
            if not isinstance(v, str):
                raise self.err(f"must be a string, got {_show(v)}", **where)
            return v
        raise AssertionError(kind)

    def name(self, v: Any, what: str, **where) -> str:
        if not isinstance(v, str) or not v:
            raise self.err(f"{what} names must be non-empty strings, got "
                           f"{_show(v)}", **where)
        return v

    def fields(self, obj: Any, known, what: str, **where) -> None:
        if not isinstance(obj, Mapping):
            raise self.err(f"{what} must be a JSON object, got "
                           f"{type(obj).__name__ if obj is not None else 'null'}",
                           **where)
        for k in obj:
            if k not in known:
                raise self.err(f'unknown field "{k}" in {what}{suggest(k, known)}; '
                               f"known fields: {_names(known)}", **where)

    # -- sections ---------------------------------------------------------
    def machine(self, raw: Any) -> dict[str, Any]:
        raw = {} if raw is None else raw
        self.fields(raw, MACHINE_FIELDS, "machine", field="machine")
        out = {}
        for k, (kind, default) in MACHINE_FIELDS.items():
            out[k] = self.value(kind, raw.get(k, default), field=f"machine.{k}")
        if out["ram_pages"] < 1:
            raise self.err("a machine needs at least 1 page of RAM",
                           field="machine.ram_pages")
        if out["swap_slots"] > MAX_SWAP_SLOTS:
            raise self.err(f"at most {MAX_SWAP_SLOTS} swap slots",
                           field="machine.swap_slots")
        return out

    def memcgs(self, raw: Any, swap_account: bool) -> dict[str, dict[str, Any]]:
        raw = {} if raw is None else raw
        if not isinstance(raw, Mapping):
            raise self.err("must be an object of memcg name -> settings",
                           field="memcgs")
        if len(raw) >= MAX_MEMCGS:
            raise self.err(f"{len(raw):,} memcgs is more than the model numbers "
                           f"({MAX_MEMCGS - 1:,} besides root)", field="memcgs")
        got: dict[str, dict[str, Any]] = {}
        for name, spec in raw.items():
            where = f"memcgs.{name}"
            if name == ROOT:
                raise self.err(f'"{ROOT}" is the root memcg, which always '
                               f"exists; choose another name", field=where)
            self.name(name, "memcg", field="memcgs")
            self.fields(spec, MEMCG_FIELDS, f'memcg "{name}"', field=where)
            m = {}
            for k, (kind, default) in MEMCG_FIELDS.items():
                if k == "parent":
                    p = spec.get(k)
                    if p is not None and p != ROOT and (not isinstance(p, str)
                                                        or p not in raw):
                        raise self.err(f'no memcg "{p}"{suggest(p, raw)}; '
                                       f"declared: {_names(raw)}",
                                       field=f"{where}.parent")
                    m[k] = None if p == ROOT else p
                elif k not in ("use_hierarchy", "oom_kill_disable"):
                    m[k] = self.value(kind, spec.get(k, default),
                                      field=f"{where}.{k}")
            if m["memsw_limit"] is not None and not swap_account:
                raise self.err("memsw_limit needs swap accounting; set "
                               '"swap_account": true in "machine" or drop it',
                               field=f"{where}.memsw_limit")
            _limits_in_order(self, m["limit"], m["memsw_limit"],
                             field=f"{where}.limit")
            if m["limit"] is None and m["memsw_limit"] is not None:
                raise self.err(f'memsw_limit {m["memsw_limit"]} needs a limit '
                               f"at or below it: an unlimited memory limit is "
                               f"above every memsw limit, and the kernel "
                               f"refuses that (mem_cgroup_resize_memsw_limit, "
                               f"-EINVAL)", field=f"{where}.limit")
            for k in ("use_hierarchy", "oom_kill_disable"):
                if k in spec:
                    m[k] = self.value("bool", spec[k], field=f"{where}.{k}")
            got[name] = m
        return self._order(got, {n: s.get("use_hierarchy") if isinstance(s, Mapping)
                                 else None for n, s in raw.items()})

    def _order(self, got: dict[str, dict[str, Any]], given: dict[str, Any]):
        """Parents before children; refuse cycles; inherit use_hierarchy."""
        ordered: dict[str, dict[str, Any]] = {}
        for start in got:
            chain: list[str] = []
            n: str | None = start
            while n is not None and n not in ordered:
                if n in chain:
                    cyc = " -> ".join(chain[chain.index(n):] + [n])
                    raise self.err(f"parents form a cycle: {cyc}",
                                   field=f"memcgs.{start}.parent")
                chain.append(n)
                n = got[n]["parent"]
            for n in reversed(chain):
                m, parent = got[n], got[n]["parent"]
                inherited = ordered[parent]["use_hierarchy"] if parent else False
                if given[n] is False and inherited:
                    raise self.err(
                        f'parent "{parent}" has use_hierarchy, and the kernel '
                        f"gives its children use_hierarchy too "
                        f"(mem_cgroup_css_online); set it to true or leave it out",
                        field=f"memcgs.{n}.use_hierarchy")
                m["use_hierarchy"] = bool(given[n]) or inherited
                self._oom_kill_disable(n, m, ordered[parent] if parent else None)
                ordered[n] = m
        return ordered

    def _oom_kill_disable(self, name: str, m: dict[str, Any],
                          parent: dict[str, Any] | None) -> None:
        """memory.oom_control: a child copies its parent's setting when it is
        created (mem_cgroup_css_online); under a use_hierarchy parent it
        cannot be written (-EINVAL in mem_cgroup_oom_control_write)."""
        inherited = bool(parent and parent["oom_kill_disable"])
        if "oom_kill_disable" not in m:
            m["oom_kill_disable"] = inherited
        elif parent and parent["use_hierarchy"] and m["oom_kill_disable"] != inherited:
            raise self.err(
                f'parent "{m["parent"]}" has use_hierarchy, so oom_kill_disable '
                f"comes from the top of the hierarchy (the kernel refuses the "
                f"write with -EINVAL); set it there or leave it out",
                field=f"memcgs.{name}.oom_kill_disable")

    def tasks(self, raw: Any, memcgs) -> dict[str, str]:
        raw = {} if raw is None else raw
        if not isinstance(raw, Mapping):
            raise self.err("must be an object of task name -> memcg name",
                           field="tasks")
        if len(raw) > MAX_TASKS:
            raise self.err(f"{len(raw):,} tasks is more than the model numbers "
                           f"({MAX_TASKS:,})", field="tasks")
        known = [ROOT, *memcgs]
        for name, mc in raw.items():
            self.name(name, "task", field="tasks")
            if not isinstance(mc, str) or mc not in known:
                raise self.err(f'task "{name}" is in memcg {_show(mc)}, '
                               f"which is not declared{suggest(mc, known)}; "
                               f"memcgs: {_names(known)}", field=f"tasks.{name}")
        return dict(raw)

    def steps(self, raw: Any, memcgs, tasks, watch: LoadWatch | None = None
              ) -> list[dict[str, Any]]:
        """The checked steps; ``watch`` is told of them as they are checked."""
        if not isinstance(raw, list):
            raise self.err("must be a list of steps", field="steps")
        if len(raw) > MAX_STEPS:
            raise self.err(f"{len(raw)} steps is more than a scenario may have "
                           f"({MAX_STEPS})", field="steps")
        created = _Created()
        out: list[dict[str, Any]] = []
        total = 0
        known = [ROOT, *memcgs]
        for i, st in enumerate(raw):
            out.append(self.step(i, st, known, tasks, created))
            total += out[-1].get("count", 1)
            if total > MAX_TOTAL_STEPS:
                raise self.err(f"with its range steps written out the scenario has "
                               f"more than {MAX_TOTAL_STEPS:,} steps", step=i,
                               field="count")
            if watch is not None and not (i + 1) % WATCH_EVERY:
                watch.checked(out)
        if watch is not None:
            watch.checked(out)
        return out

    def step(self, i: int, st: Any, memcgs: list[str], tasks, created) -> dict[str, Any]:
        if type(st) is not dict and not isinstance(st, Mapping):  # (dict: fast)
            raise self.err(f"a step must be a JSON object, got {_show(st)}",
                           step=i)
        op = st.get("op")
        if op is None:
            raise self.err(f'missing field "op"; ops: {_names(OPS)}', step=i,
                           field="op")
        if not isinstance(op, str):
            raise self.err(f"must be the name of an op, got {_show(op)}; "
                           f"ops: {_names(OPS)}", step=i, field="op")
        if op not in OPS:
            raise self.err(f"unknown op {_show(op)}{suggest(op, OPS)}; "
                           f"ops: {_names(OPS)}", step=i, field="op")
        spec = OPS[op]
        where: _AtStep = {"step": i, "op": op}
        allowed = _ALLOWED_SET[op]
        for k in st:
            if k not in allowed:
                raise self.err(f'unknown field "{k}"{suggest(k, _ALLOWED[op])}; '
                               f"{op} takes {_names(_ALLOWED[op][1:])}", field=k,
                               **where)
        for k in _REQUIRED[op]:
            if k not in st:
                raise self.err(f'missing field "{k}"; {op} needs '
                               f"{_names(_REQUIRED[op])}", field=k, **where)
        out: dict[str, Any] = {"op": op}
        if "note" in st:
            out["note"] = self.value("str", st["note"], field="note", **where)
        count = 1
        if "count" in st:
            count = st["count"]
            if isinstance(count, bool) or not isinstance(count, int) or not (
                    1 <= count <= MAX_COUNT):
                raise self.err(f"must be a whole number from 1 to {MAX_COUNT:,} "
                               f"(how many steps this one stands for), got "
                               f"{json.dumps(count)}", field="count", **where)
            out["count"] = count


        for k, (kind, _) in spec.items():
            if k not in st:
                continue
            v = st[k]
            # (the error's place, {"field": k, **where}, is built on error only)
            if kind == "task":
                if not isinstance(v, str) or v not in tasks:
                    self._bad_name(v, kind, tasks, {"field": k, **where})
            elif kind == "memcg":
                if not isinstance(v, str) or v not in memcgs:
                    self._bad_name(v, kind, memcgs, {"field": k, **where})
            elif kind == "new":
                if not isinstance(v, str) or not v:
                    self.name(v, "page label", field=k, **where)
                self._new_labels(out, v, count, created, i, k, where)
            elif kind == "label":
                if "count" not in out and type(v) is str and v in created.names:
                    pass                         # a label an earlier step made
                elif not isinstance(v, str):
                    raise self.err(f"no page {_show(v)} has been created "
                                   f"before this step; labels so far: "
                                   f"{_names(created)}", field=k, **where)
                elif "count" in out and created.covers(v, count):
                    pass                         # the labels of an earlier range step
                else:
                    names = range_labels(v, count) if "count" in out else [v]
                    for j, name in enumerate(names):
                        if created.step_of(name) is None:
                            raise self.err(f"{_at(out, j)}no page {json.dumps(name)} has "
                                           f"been created before this step"
                                           f"{suggest(name, created.names)}; labels so "
                                           f"far: {_names(created)}", field=k, **where)
            else:
                v = self.value(kind, v, field=k, **where)
            out[k] = v
        if "file" in spec:
            files = self.files
            f = out.get("file", "shm" if op == "fault_shmem" else "file")
            if f not in files and len(files) >= MAX_FILES:
                raise self.err(f"more than {MAX_FILES:,} files in one scenario, "
                               f"the model's limit", field="file", **where)
            files.add(f)
        return self._op_rules(op, out, st, where)

    def _bad_name(self, v: Any, kind: str, known, fw: _AtField) -> None:
        """Raise the error for a "task" or "memcg" field that names none."""
        if not isinstance(v, str):
            raise self.err(f"must be the name of a {kind}, got {_show(v)}", **fw)
        raise self.err(f"no {kind} {_show(v)}{suggest(v, known)}; "
                       f"{kind}s: {_names(known)}", **fw)

    def _new_labels(self, out: dict, v: str, count: int, created: _Created, i: int,
                    k: str, where: _AtStep) -> None:
        """Record the label(s) a step creates; refuse one already used."""
        fw: _AtField = {"field": k, **where}

        def taken(j: int, name: str, step: int) -> ScenarioError:
            return self.err(f'{_at(out, j)}page label "{name}" is already used '
                            f"(created at step {step}); give the new page its own "
                            f"label", **fw)
        if "count" in out and v.count(RANGE_INDEX) == 1:
            hit = created.first_taken(v, count)
            if hit is not None:
                raise taken(*hit)
            p, s = v.split(RANGE_INDEX)
            created.add_range(p, s, count, i)
        else:
            for j, name in enumerate(range_labels(v, count) if "count" in out else [v]):
                step = created.step_of(name)
                if step is not None:
                    raise taken(j, name, step)
                created.names[name] = i
        if len(created) > MAX_LABELS:
            raise self.err(f"more than {MAX_LABELS:,} page labels in one "
                           f"scenario, the model's limit", **fw)

    def _op_rules(self, op, out, st, where):
        if op == "add_to_page_cache":
            out.setdefault("mapped", False)
        if op == "move_task":
            out.setdefault("move_charge", False)
        if op == "replace_page_cache" and out.get("with") == out["page"]:
            raise self.err(f'a page cannot replace itself; "with" must name '
                           f"another page", field="with", **where)
        if op == "set_limit":
            if out["memcg"] == ROOT:
                raise self.err("the root memcg has no limit to set",
                               field="memcg", **where)
            if "memsw_limit_pages" in out and not self.swap_account:
                raise self.err(_NO_MEMSW, field="memsw_limit_pages", **where)
            if "limit_pages" not in out and "memsw_limit_pages" not in out:
                raise self.err('give "limit_pages" and/or "memsw_limit_pages"',
                               field="limit_pages", **where)
            _limits_in_order(self, out.get("limit_pages"),
                             out.get("memsw_limit_pages"),
                             field="limit_pages", **where)
        if op == "expect":
            checks = [k for k in st if k in EXPECT_NAMES]
            if not checks:
                raise self.err("an expect step needs at least one counter to "
                               f"check, for example \"usage\"; counters: "
                               f"{_names(EXPECT_NAMES)}", field="memcg", **where)
            for k in checks:
                if k.startswith("memsw_") and not self.swap_account:
                    raise self.err(_NO_MEMSW, field=k, **where)
                if k == "swap" and not self.swap_account:
                    raise self.err(_NO_SWAP_STAT, field=k, **where)
                kind = "limit" if k in ("limit", "memsw_limit") else "count"
                out[k] = self.value(kind, st[k], field=k, **where)
        return out


def _at(step: dict[str, Any], j: int) -> str:
    """"i = 17: " in a range step's messages (which of its steps), else ""."""
    return f"i = {j}: " if "count" in step else ""


#: swap accounting off (swapaccount=0): the kernel has no memory.memsw.* files
_NO_MEMSW = ('swap accounting is off in this scenario ("swap_account": false in '
             '"machine"), so there is no memsw counter, as the kernel then has no '
             'memory.memsw.* files')
#: ... and memory.stat has no "swap" line (memcg_stat_show skips it)
_NO_SWAP_STAT = ('swap accounting is off in this scenario ("swap_account": false '
                 'in "machine"), so memory.stat has no "swap" line to check '
                 '(the kernel prints it only with swap accounting)')


def _limits_in_order(chk: _Checker, limit, memsw_limit, **where) -> None:
    if limit is not None and memsw_limit is not None and limit > memsw_limit:
        raise chk.err(f"limit {limit} is above memsw_limit {memsw_limit}; the "
                      f"kernel requires limit <= memsw limit "
                      f"(mem_cgroup_resize_limit)", **where)


def find_scenario(src: str | Path) -> Path:
    """The file ``src`` names: the path itself when it exists, else the
    bundled scenario of that name (with or without ".json"), else ``src``
    unchanged so that reading it reports the missing file."""
    path = Path(src)
    if exists(path) or path.parent != Path("."):
        return path
    bundled = SCENARIO_DIR / (path.name if path.suffix else path.name + ".json")
    return bundled if exists(bundled) else path


def _read(path: Path) -> Any:
    """The JSON of a scenario file, read by memcg_edu.safeio: a regular file
    only, at most MAX_FILE_BYTES (checked while reading), UTF-8, no
    duplicate keys, no integer of absurd length."""
    name = path.name
    try:
        size = os.stat(path).st_size
    except OSError as e:
        raise ScenarioError(f"cannot read the file: {e.strerror}",
                            file=printable(str(path))[:200]) from None
    except ValueError:   # a NUL byte or a lone surrogate: no file has it
        raise ScenarioError("not a possible file name", file=repr(str(path))) from None
    if size > MAX_FILE_BYTES:
        raise ScenarioError(f"the file is {size / 2**20:.1f} MiB ({size} bytes), "
                            f"more than a scenario may be "
                            f"({MAX_FILE_BYTES // 2**20} MiB)", file=name)
    if path.is_dir():
        raise ScenarioError("is a directory; give a scenario file inside it",
                            file=str(path))

    def fail(message: str) -> ScenarioError:
        return ScenarioError(message, file=name)
    text = read_text(path, MAX_FILE_BYTES, fail)
    if not text.strip():
        raise ScenarioError(f'the file is empty; a scenario is a JSON object that '
                            f'starts with "format": "{FORMAT}"', file=name)
    return parse_json(text, fail)


def load_scenario(src: str | Path | Mapping[str, Any] | Scenario,
                  name: str | None = None, *, watch: LoadWatch | None = None
                  ) -> Scenario:
    """Load and check a scenario from a path, a dict, or a Scenario.

    ``name`` is what messages call it (default: the file name, or
    "scenario" for a dict). ``watch`` is told of the checked parts as they
    are checked (LoadWatch; not for a Scenario already checked). Raises
    ScenarioError for anything invalid.
    """
    if isinstance(src, Scenario):
        if src._unchanged():
            return src
        return load_scenario(src.to_dict(), name or src.source, watch=watch)
    if isinstance(src, (str, Path)):
        path = find_scenario(src)
        data, source = _read(path), name or path.name
    else:
        data, source = src, name or "scenario"
    chk = _Checker(source)
    if not isinstance(data, Mapping):
        raise chk.err("a scenario must be a JSON object with \"format\", "
                      "\"memcgs\", \"tasks\" and \"steps\"")
    # the format first: a saved timeline has other fields, and naming them
    # would hide what the file is
    if data.get("format") == TIMELINE_FORMAT:
        raise chk.err(f'is "{TIMELINE_FORMAT}": this is a saved timeline, not a '
                      f"scenario; plot and the widgets read it, run and check need "
                      f'a "{FORMAT}" file', field="format")
    for k in data:
        if k not in TOP_FIELDS:
            raise chk.err(f'unknown top-level field "{k}"{suggest(k, TOP_FIELDS)}; '
                          f"known: {_names(TOP_FIELDS)}", field=str(k))
    if "format" not in data:
        raise chk.err(f'missing; a scenario file starts with "format": "{FORMAT}"',
                      field="format")
    if data["format"] != FORMAT:
        raise chk.err(f"is {_show(data['format'])}, but this version of "
                      f'memcg_edu reads "{FORMAT}"', field="format")
    if "steps" not in data:
        raise chk.err("missing; a scenario needs a list of steps", field="steps")
    machine = chk.machine(data.get("machine"))
    chk.swap_account = machine["swap_account"]
    memcgs = chk.memcgs(data.get("memcgs"), machine["swap_account"])
    tasks = chk.tasks(data.get("tasks"), memcgs)
    if watch is not None and isinstance(data["steps"], list):
        # what a run needs before its first step; the design as the file
        # names it, whose check comes after the steps' as ever
        peek = data.get("design")
        watch.begin(Scenario(title="", description="", machine=machine, memcgs=memcgs,
                             tasks=tasks, steps=[], source=source,
                             design=peek if peek in DESIGNS else None), data["steps"])
    steps = chk.steps(data["steps"], memcgs, tasks, watch)
    title = chk.value("str", data.get("title", Path(source).stem), field="title")
    desc = chk.value("str", data.get("description", ""), field="description")
    design = data.get("design")
    if design is not None:
        design = chk.value("design", design, field="design")
    quiz = data.get("quiz")
    if quiz is not None and not isinstance(quiz, list):
        raise chk.err("must be a list (written by quiz --save)", field="quiz")
    sc = Scenario(title=title, description=desc, machine=machine,
                  memcgs=memcgs, tasks=tasks, steps=steps, source=source,
                  quiz=quiz, design=design)
    sc._checked = sc.to_dict()   # fresh dicts down to the values
    return sc
