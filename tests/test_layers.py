"""The layers of docs/architecture.md hold: no module imports a layer above its own.

The order is read from the diagram at the top of docs/architecture.md, so
the diagram and the imports cannot drift apart: a new package must be
placed in the diagram, and an import upwards fails here with its file.
"""
from __future__ import annotations

import ast
import re
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
PKG = ROOT / "memcg_edu"
#: third-party packages the model layer must not need
FRONT_END = ("ipywidgets", "IPython", "matplotlib", "jupyter", "voila", "nbformat")


def diagram_order() -> list[str]:
    """Layers top to bottom: "course", ..., "model", "timeline", "errors"."""
    text = (ROOT / "docs" / "architecture.md").read_text()
    block = text.split("```", 2)[1]
    return [m.group(1) for m in re.finditer(r"^memcg_edu/(\w+)(?:/|\.py)", block, re.M)]


def layer_of(path: Path) -> str | None:
    rel = path.relative_to(PKG).parts
    return None if rel[0] in ("__init__.py", "__main__.py") else rel[0].removesuffix(".py")


def imports(path: Path) -> list[tuple[int, str]]:
    """(line, module) for every import in the file, relative ones made absolute."""
    pkg = ["memcg_edu", *path.relative_to(PKG).parts[:-1]]
    out = []
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.ImportFrom):
            base = pkg[:len(pkg) - node.level + 1] if node.level else []
            mod = ".".join(base + ([node.module] if node.module else []))
            names = [mod] if node.module or not node.level else \
                [f"{mod}.{a.name}" for a in node.names]
            out += [(node.lineno, n) for n in names]
        elif isinstance(node, ast.Import):
            out += [(node.lineno, a.name) for a in node.names]
    return out


def violations(order: list[str], edges: list[tuple[str, str, str]]) -> list[str]:
    """Edges (layer, imported layer, where) that go up the diagram."""
    rank = {name: i for i, name in enumerate(order)}
    return [f"{where}: {src} imports {dst}, a layer above it" for src, dst, where in edges
            if src in rank and dst in rank and rank[dst] < rank[src]]


def edges() -> list[tuple[str, str, str]]:
    out = []
    for path in sorted(PKG.rglob("*.py")):
        src = layer_of(path)
        for line, mod in imports(path):
            parts = mod.split(".")
            if parts[0] == "memcg_edu" and len(parts) > 1 and src is not None:
                out.append((src, parts[1], f"{path.relative_to(ROOT)}:{line}"))
    return out


def test_every_package_is_in_the_diagram():
    layers = {layer_of(p) for p in PKG.rglob("*.py")} - {None}
    assert layers <= set(diagram_order()), layers - set(diagram_order())


def test_no_module_imports_a_layer_above_its_own():
    assert violations(diagram_order(), edges()) == []


def test_the_check_catches_an_upward_import():
    order = diagram_order()
    bad = [("model", "viz", "memcg_edu/model/x.py:3"), ("viz", "model", "ok")]
    assert violations(order, bad) == [
        "memcg_edu/model/x.py:3: model imports viz, a layer above it"]


def test_the_model_needs_no_front_end():
    for path in sorted((PKG / "model").rglob("*.py")):
        for line, mod in imports(path):
            assert not mod.startswith(FRONT_END), f"{path.relative_to(ROOT)}:{line} {mod}"
