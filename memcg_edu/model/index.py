"""Which model function mirrors which kernel function: an index built from docstrings.

Not a kernel file. Every model function that mirrors a kernel function says
so at the start of its docstring (``name() (mm/file.c): ...``, ``name():
...``) or in a "Mirrors name() in mm/file.c" sentence; this module reads
those, adds the kernel file (from the docstring, else the file the module
stands for) and the place of the model function, so that
``python -m memcg_edu where NAME`` and docs/kernel-rules.md ("Index: kernel
function to model") can answer "where is mem_cgroup_migrate in the model?".

>>> [e.model for e in lookup("mem_cgroup_migrate")]
['memcontrol.mem_cgroup_migrate']
"""
from __future__ import annotations

import importlib
import inspect
import re
from dataclasses import dataclass
from typing import Optional

from .calls import KERNEL_FUNCTIONS

__all__ = ["Entry", "MODULES", "build_index", "lookup", "markdown"]

#: model modules that mirror kernel code -> the kernel file a function of
#: theirs stands for when its docstring names none
MODULES: dict[str, Optional[str]] = {
    "memcontrol": "mm/memcontrol.c", "memcontrol_316": "mm/memcontrol.c",
    "stock": "mm/memcontrol.c", "move_charge": "mm/memcontrol.c",
    "reparent": "mm/memcontrol.c", "oom": None, "lru": None, "mm": None,
    "swap": None, "reclaim": "mm/vmscan.c", "migrate": "mm/migrate.c",
    "res_counter": "kernel/res_counter.c",
}
_DESIGN = {"memcontrol_316": "3.16"}
_MIRRORS = re.compile(r"Mirrors (?:the static )?(\w+)\(\)[^.]*? in "
                      r"([\w/.-]+\.[ch])\b")
_NAMES = re.compile(r"^((?:\w+\(\)(?:\s*(?:\+|/|or|then)\s*)?)+)\s*(?:in\s+)?"
                    r"(?:\(([^)]*\.[ch])\)|([\w/.-]+\.[ch]))?")


@dataclass(frozen=True)
class Entry:
    """One kernel function and the model function that mirrors it."""

    kernel: str            # kernel function name
    design: str            # "3.17" or "3.16"
    model: str             # "module.function" in memcg_edu.model
    path: str              # memcg_edu/model/module.py
    line: int              # line of the model function's def
    file: Optional[str]    # kernel source file, None if the docstring names none
    summary: str = ""      # what the model function does, from its docstring

    @property
    def url(self) -> str:
        """The function in the kernel source of this design (Elixir)."""
        return f"https://elixir.bootlin.com/linux/v{self.design}/A/ident/{self.kernel}"

    def describe(self) -> str:
        return (f"{self.kernel} ({self.file}, Linux {self.design}): "
                f"memcg_edu.model.{self.model} at {self.path}:{self.line}  {self.url}")


def _kernel_names(doc: str) -> list[tuple[str, Optional[str]]]:
    """(kernel function, file or None) that a docstring says it mirrors."""
    m = _MIRRORS.search(doc)
    if m:
        return [(m.group(1), m.group(2))]
    first = doc.strip().splitlines()[0] if doc.strip() else ""
    m = _NAMES.match(first)
    if not m:
        return []
    names = re.findall(r"(\w+)\(\)", m.group(1))
    files = [f.strip() for f in (m.group(2) or m.group(3) or "").split(",")
             if f.strip()]
    if len(files) == len(names):
        return list(zip(names, files))
    return [(n, files[0] if len(files) == 1 else None) for n in names]


def _summary(doc: str) -> str:
    """The docstring's first line without the ``name() (file):`` it starts with."""
    first = doc.strip().splitlines()[0] if doc.strip() else ""
    return re.sub(r"^[^:]*\.[ch]\)?:\s*|^(?:\w+\(\)[\s+/]*)+:\s*", "", first).replace("|", "/")


def build_index() -> list[Entry]:
    """Every (kernel function, model function) pair, sorted by kernel name."""
    out = []
    for mod_name, default_file in MODULES.items():
        mod = importlib.import_module(f"memcg_edu.model.{mod_name}")
        path = mod.__name__.replace(".", "/") + ".py"
        for name, fn in vars(mod).items():
            if not inspect.isfunction(fn) or fn.__module__ != mod.__name__:
                continue
            src, start = inspect.getsourcelines(fn)
            # the line of the def itself, below any decorator
            line = start + next(i for i, l in enumerate(src)
                                if l.lstrip().startswith("def "))
            doc = inspect.getdoc(fn) or ""
            for kernel, file in _kernel_names(doc):
                out.append(Entry(kernel, _DESIGN.get(mod_name, "3.17"),
                                 f"{mod_name}.{name}", path, line,
                                 file or default_file
                                 or KERNEL_FUNCTIONS.get(kernel), _summary(doc)))
    return sorted(set(out), key=lambda e: (e.kernel, e.design, e.model))


def lookup(name: str) -> list[Entry]:
    """The entries for one kernel function name (both designs)."""
    return [e for e in build_index() if e.kernel == name]


def markdown() -> str:
    """The index as a Markdown table (docs/kernel-rules.md carries it)."""
    rows = ["| kernel function | design | kernel file | model function | where | what it does |",
            "|---|---|---|---|---|---|"]
    for e in build_index():
        rows.append(f"| `{e.kernel}` | {e.design} | {e.file} | `{e.model}` | "
                    f"{e.path}:{e.line} | {e.summary} |")
    return "\n".join(rows) + "\n"
