"""The simulated kernel: mem_map, page_cgroup, swap, memcgs and the mm paths.

Linux 3.17 (commit 0a31bc97c8 "mm: memcontrol: rewrite uncharge API", as
released) is memcontrol.py; the mm callers are mm.py, reclaim.py,
migrate.py and move_charge.py; the Machine (machine.py) is the facade.
"""
from .machine import Machine
from .memcg import MemCgroup
from .pages import Page
from .swap import SwapEntry
from .tasks import File, Task

__all__ = ["Machine", "MemCgroup", "Page", "SwapEntry", "Task", "File"]
