"""memcg-edu: the Linux memory cgroup page lifecycle, modelled for teaching.

The model (memcg_edu.model) follows Linux 3.17 (commit 0a31bc97c8, "mm:
memcontrol: rewrite uncharge API") and the 3.16 design it replaced; the
scenario layer, plots, widgets, race explorer and real-kernel reader sit on
top of it. See docs/architecture.md.
"""
from .errors import (InvariantViolation, KernelBugError, MemcgEduError,
                     MemcgOOM, ModelUsageError, ScenarioError)

__all__ = ["Machine", "Timeline", "MemcgEduError", "KernelBugError",
           "InvariantViolation", "MemcgOOM", "ModelUsageError", "ScenarioError"]
__version__ = "0.1.0"


def __getattr__(name: str):
    # Machine and Timeline are imported lazily: `import memcg_edu` stays
    # cheap, and the command line's own code (memcg_edu.__main__, which
    # turns Ctrl-C into one line) starts as early as it can.
    if name == "Machine":
        from .model import Machine
        return Machine
    if name == "Timeline":
        from .timeline import Timeline
        return Timeline
    raise AttributeError(name)
