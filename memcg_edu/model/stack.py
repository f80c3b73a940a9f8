"""A LIFO stack of ints in a numpy array that grows and shrinks with its use.

The page allocator's free list (pages.MemMap) and a task's unmapped
virtual pages (tasks.Task) are such stacks: the last pushed is popped
first. The array doubles when full and, when less than a quarter full, shrinks
to twice what it holds, so a
stack that once held a million entries does not keep their memory once
they are popped.
"""
from __future__ import annotations

import numpy as np
from numpy.typing import NDArray

__all__ = ["IntStack"]

_MIN = 16


class IntStack:
    """int32 values; pop(n) returns the top n, the last pushed first."""

    __slots__ = ("data", "size", "_view")

    def __init__(self) -> None:
        self.data: NDArray[np.int32] = np.zeros(_MIN, np.int32)
        self.size = 0
        # push_one and pop_one read and write one value through a memoryview
        # of ``data``: a Python int, where numpy makes and reads a scalar
        # (about half the cost); made again whenever ``data`` is replaced
        self._view = self.data.data

    def __getstate__(self) -> tuple[NDArray[np.int32], int]:
        return self.data, self.size              # a memoryview cannot be copied

    def __setstate__(self, state: tuple[NDArray[np.int32], int]) -> None:
        self.data, self.size = state
        self._view = self.data.data

    def __len__(self) -> int:
        return self.size

    @property
    def nbytes(self) -> int:
        return self.data.nbytes

    def _resize(self, capacity: int) -> None:
        grown = np.zeros(max(capacity, _MIN), np.int32)
        grown[:self.size] = self.data[:self.size]
        self.data = grown
        self._view = grown.data

    def push(self, values: np.ndarray) -> None:
        """Push values[0], values[1], ... (the last one ends on top)."""
        need = self.size + values.size
        if need > self.data.size:
            self._resize(max(need, 2 * self.data.size))
        self.data[self.size:need] = values
        self.size = need

    def push_one(self, value: int) -> None:
        size = self.size
        if size == self.data.size:
            self._resize(2 * size)
        self._view[size] = value
        self.size = size + 1

    def pop(self, n: int) -> NDArray[np.int32]:
        """The top ``n`` values (n <= len), top first, removed from the stack."""
        out: NDArray[np.int32] = self.data[self.size - n:self.size][::-1].copy()
        self.size -= n
        self._maybe_shrink()
        return out

    def pop_one(self) -> int:
        size = self.size = self.size - 1
        value: int = self._view[size]
        room = self.data.size
        if size < room // 4 and room > _MIN:     # _maybe_shrink, without its call
            self._resize(2 * size)
        return value

    def _maybe_shrink(self) -> None:
        if self.data.size > _MIN and self.size < self.data.size // 4:
            self._resize(2 * self.size)
