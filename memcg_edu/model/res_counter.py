"""The hierarchical resource counter of kernel/res_counter.c (Linux 3.17).

A memcg has two of them, ``res`` (memory) and ``memsw`` (memory+swap). The
numbers live in the owning memcg's counter row (a plain list, see
memcg.COLUMNS) so that the event log can diff a whole memcg at once; a
ResCounter is the view of one counter inside that row plus its parent link.
All values are in pages (the kernel counts bytes). charge, uncharge and
set_limit mark the memcg of each row they write in Machine.written (for the
event and call logs).
"""
from __future__ import annotations

from typing import TYPE_CHECKING, Optional

from ..errors import InvariantViolation

if TYPE_CHECKING:
    from .memcg import MemCgroup

__all__ = ["RES_COUNTER_MAX", "ResCounter"]

#: RES_COUNTER_MAX: the limit of a counter nobody limited ("unlimited").
RES_COUNTER_MAX = 1 << 62

# offsets inside a counter's block of four columns
USAGE, MAX_USAGE, LIMIT, FAILCNT = 0, 1, 2, 3


class ResCounter:
    """One res_counter: usage, max_usage, limit and failcnt, plus parent.

    ``row``/``base``: where the four numbers live; ``owner``: the memcg the
    counter belongs to (res_counter's container, used to name the level a
    charge failed at); ``parent``: the parent counter or None; ``written``:
    the set a write adds the owner's index to (Machine.written).
    """

    __slots__ = ("row", "base", "parent", "owner", "label", "index", "written")

    def __init__(self, row: list[int], base: int, parent: Optional["ResCounter"],
                 owner: MemCgroup, label: str, written: set[int]) -> None:
        self.row, self.base, self.parent, self.owner, self.label = (
            row, base, parent, owner, label)
        self.index, self.written = owner.index, written

    @property
    def usage(self) -> int:
        return self.row[self.base + USAGE]

    @property
    def max_usage(self) -> int:
        return self.row[self.base + MAX_USAGE]

    @property
    def limit(self) -> int:
        return self.row[self.base + LIMIT]

    @property
    def failcnt(self) -> int:
        return self.row[self.base + FAILCNT]

    def margin(self) -> int:
        """res_counter_margin(): pages left below the limit (0 if over)."""
        r, b = self.row, self.base
        return max(0, r[b + LIMIT] - r[b + USAGE])

    def charge(self, val: int) -> Optional["ResCounter"]:
        """res_counter_charge(): charge ``val`` pages here and at every parent.

        Walks up from this counter. At the first level where the charge would
        pass the limit, that level's failcnt goes up, every level below it is
        uncharged again and that level is returned (the kernel's ``fail_at``).
        Lower levels keep the max_usage peak of the rolled-back charge, as in
        the kernel. Returns None when every level was charged.
        """
        c: Optional[ResCounter] = self
        written = self.written
        while c is not None:
            r, b = c.row, c.base
            written.add(c.index)                 # usage, or failcnt, moves
            new = r[b + USAGE] + val
            if new > r[b + LIMIT]:
                r[b + FAILCNT] += 1
                u: Optional[ResCounter] = self
                while u is not None and u is not c:  # c is above self: never None first
                    u.row[u.base + USAGE] -= val
                    u = u.parent
                return c
            r[b + USAGE] = new
            if new > r[b + MAX_USAGE]:
                r[b + MAX_USAGE] = new
            c = c.parent
        return None

    def uncharge(self, val: int, top: Optional["ResCounter"] = None) -> None:
        """res_counter_uncharge_until(): give ``val`` back up to ``top``.

        ``top`` itself is not uncharged (None = walk to the top). The kernel
        clamps a usage that would go negative with a WARN_ON; the model
        raises instead because it means the accounting went wrong.
        """
        c: Optional[ResCounter] = self
        written = self.written
        while c is not None and c is not top:
            r, b = c.row, c.base
            written.add(c.index)
            if r[b + USAGE] < val:
                raise InvariantViolation(
                    "I2" if self.label == "res" else "I3",
                    f"{self.label} usage of {c.owner.name} would go below "
                    f"zero ({r[b + USAGE]} - {val}); the kernel warns here "
                    f"(WARN_ON(counter->usage < val) in res_counter_uncharge_locked)")
            r[b + USAGE] -= val
            c = c.parent

    def set_limit(self, limit: int) -> bool:
        """res_counter_set_limit(): refuse a limit below the current usage."""
        r, b = self.row, self.base
        if r[b + USAGE] > limit:
            return False
        r[b + LIMIT] = limit
        self.written.add(self.index)
        return True
