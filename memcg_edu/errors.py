"""The exceptions memcg_edu raises, one family per kind of mistake.

* KernelBugError: a model call broke a precondition the kernel asserts
  (VM_BUG_ON, VM_BUG_ON_PAGE, BUG_ON). The message names the rule in plain
  words and the kernel check it mirrors.
* InvariantViolation: a checked invariant (docs/kernel-rules.md, "Invariants") does not
  hold; the message gives the numbers.
* MemcgOOM: a charge could not be satisfied even after reclaim, the outcome
  the kernel reports as a memcg OOM. Not a bug: callers record it.
* ModelUsageError: the Python API was misused (unknown page, wrong type).
* ScenarioError: a scenario file or command line is not valid; carries the
  file, step, op and field so the message says where and what.
"""
from __future__ import annotations

__all__ = [
    "MemcgEduError",
    "KernelBugError",
    "InvariantViolation",
    "MemcgOOM",
    "ModelUsageError",
    "ScenarioError",
]


class MemcgEduError(Exception):
    """Base class of every error memcg_edu raises on purpose."""


class KernelBugError(MemcgEduError):
    """A call the kernel would stop with VM_BUG_ON / BUG_ON.

    ``rule`` says in plain words what was wrong, ``check`` is the kernel
    assertion it mirrors (for example ``VM_BUG_ON_PAGE(PageLRU(page))``) and
    ``function`` the kernel function that asserts it.
    """

    def __init__(self, rule: str, check: str, function: str,
                 file: str = "mm/memcontrol.c") -> None:
        self.rule, self.check, self.function, self.file = rule, check, function, file
        super().__init__(f"{rule}, so the kernel would stop here: {check} "
                         f"in {function}() ({file})")


class InvariantViolation(MemcgEduError):
    """An invariant of the accounting does not hold; ``invariant`` is its id."""

    def __init__(self, invariant: str, message: str) -> None:
        self.invariant = invariant
        super().__init__(f"invariant {invariant} broken: {message}")


class MemcgOOM(MemcgEduError):
    """A charge failed after reclaim and retries: the memcg OOM outcome.

    ``memcg`` is the name of the memcg whose limit was hit (it may be an
    ancestor of the one charged), ``counter`` is "memory" or "memory+swap".
    ``outcome`` says how it ended (memcg_edu.model.oom): "" for a bare
    charge, "enomem" outside a page fault, "oom_kill_disable",
    "killed" (the faulting task ``task`` was the victim) or "no_victim".
    The model leaves every counter consistent before raising it.
    """

    def __init__(self, memcg: str, nr_pages: int, counter: str = "memory",
                 outcome: str = "", task: str = "") -> None:
        self.memcg, self.nr_pages, self.counter = memcg, nr_pages, counter
        self.outcome, self.task = outcome, task
        pages = f"{nr_pages} page{'' if nr_pages == 1 else 's'}"
        if outcome == "enomem":
            super().__init__(
                f"charge failed with -ENOMEM: {pages} could not be "
                f"charged, {counter} limit of {memcg} reached and reclaim could "
                f"not free enough; outside a page fault the error goes back to "
                f"the caller (read() and write() return it) and no task is "
                f"killed")
            return
        super().__init__(f"memcg OOM: {pages} could not be charged, "
                         f"{counter} limit of {memcg} reached and reclaim "
                         f"could not make room" + _OOM_OUTCOMES[outcome].format(
                             memcg=memcg, task=task))


#: MemcgOOM.outcome -> the end of its message: what the memcg OOM handling
#: at the end of the page fault (mem_cgroup_oom_synchronize) did
_OOM_OUTCOMES = {
    "": "",
    "oom_kill_disable": ("; memory.oom_control of {memcg} has oom_kill_disable "
                         "set, so no task is killed: the faulting task would "
                         "sleep until memory is freed"),
    "killed": ("; the memcg OOM killer chose the faulting task {task} itself "
               "(the highest badness in {memcg}) and killed it"),
    "no_victim": "; the memcg OOM killer found no task in {memcg} to kill",
}


class ModelUsageError(MemcgEduError, ValueError):
    """The Python API of the model was called with something it cannot take."""


class ScenarioError(MemcgEduError):
    """A scenario file, or a command line, that is not valid.

    str() gives the one-line message a user sees, for example::

        scenario.json, step 3 (unmap), field "page": task "p" does not map
        page "x" (it was unmapped at step 2)
    """

    def __init__(self, message: str, *, file: str | None = None,
                 step: int | None = None, op: str | None = None,
                 field: str | None = None) -> None:
        self.message, self.file, self.step, self.op, self.field = (
            message, file, step, op, field)
        super().__init__(self.__str__())

    def __str__(self) -> str:
        where = []
        if self.file:
            where.append(self.file)
        if self.step is not None:
            where.append(f"step {self.step}" + (f" ({self.op})" if self.op else ""))
        if self.field:
            where.append(f'field "{self.field}"')
        return (", ".join(where) + ": " if where else "") + self.message
