"""Counters of a real memory cgroup on this machine, beside the model.

Stands for the user-visible side of mm/memcontrol.c (and, on kernels from
6.11 on, mm/memcontrol-v1.c): the cgroup v1 files memory.usage_in_bytes,
memory.memsw.*, memory.stat, or their cgroup v2 counterparts.

* detect: what the machine offers (controller, rights, swap, kernel);
* cgroupfs: reading and writing one memory cgroup's files, in pages;
* runstate: the root-only record of what each run made (pid + start time,
  device and inode), stale cleanup by that record, the swap lock;
* scratch: scratch cgroups under our own cgroup, removed whatever happens;
* swapfile: the optional temporary swap file;
* workload: the child program that runs the phases inside the cgroup;
* catalog: the named workloads, one per teaching topic;
* record: runs a workload and samples it into a Timeline;
* compare: the same workload on the model, side by side.
"""
from .catalog import WORKLOADS, Phase, Workload, get_workload, recorded
from .detect import Capabilities, detect, describe
from .errors import LiveError
from .record import record

__all__ = ["WORKLOADS", "Phase", "Workload", "get_workload", "recorded",
           "Capabilities",
           "LiveError", "detect", "describe", "record"]
