"""No behaviour hides in an ``assert``: python -O removes them."""
from __future__ import annotations

import ast
import subprocess
import sys
from pathlib import Path

PKG = Path(__file__).parents[2] / "memcg_edu"
#: calls that only look: allowed inside an assert
PURE = {"isinstance", "len", "all", "any", "callable", "hasattr", "type",
        "issubclass", "sorted", "set", "list", "tuple", "getattr"}


def _calls_in_asserts():
    for path in sorted(PKG.rglob("*.py")):
        tree = ast.parse(path.read_text(), str(path))
        for node in ast.walk(tree):
            if isinstance(node, ast.Assert):
                for sub in ast.walk(node.test):
                    if isinstance(sub, ast.Call) and not (
                            isinstance(sub.func, ast.Name) and sub.func.id in PURE):
                        yield f"{path.relative_to(PKG.parent)}:{node.lineno}: {ast.unparse(node)}"


def test_no_calls_inside_asserts():
    assert list(_calls_in_asserts()) == []


def test_bulk_fault_charges_under_python_O():
    code = ("from memcg_edu import Machine\n"
            "m = Machine(ram_pages=64)\n"
            "m.create_memcg('A')\n"
            "m.create_task('p', 'A')\n"
            "m.fault_anon_range('p', 8)\n"
            "print(m.memcgs['A'].res.usage)\n")
    r = subprocess.run([sys.executable, "-O", "-c", code], capture_output=True,
                       text=True, cwd=PKG.parent, timeout=120)
    assert r.returncode == 0, r.stderr
    assert r.stdout.strip() == "8"
