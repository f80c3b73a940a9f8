"""The one exception the live layer adds: the machine cannot or will not.

Not a kernel file: it reports what the real cgroup filesystem
(kernel/cgroup/cgroup-v1.c, mm/memcontrol.c write handlers) or the machine
refused, in plain words, with what would make it work.
"""
from __future__ import annotations

from ..errors import MemcgEduError

__all__ = ["LiveError"]


class LiveError(MemcgEduError):
    """This machine cannot run the request, or the kernel refused a value.

    ``kind`` is "unsupported" (no controller, no rights, no swap: exit 3 on
    the command line), "refused" (the kernel rejected a limit or setting) or
    "failed" (the workload died); the message says what and where.
    """

    def __init__(self, message: str, kind: str = "unsupported") -> None:
        self.kind = kind
        super().__init__(message)
