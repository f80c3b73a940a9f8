"""Run every benchmarks/bench_*.py and print one table of their figures.

Each benchmark module offers ``run() -> dict`` of named figures (numbers or
short strings). ``python benchmarks/run.py [NAME ...]`` runs all of them, or
only those whose file name contains one of the NAMEs. A benchmark that
raises is reported in the table and makes the exit code 1; the others still
run.
"""
from __future__ import annotations

import importlib.util
import sys
import time
import traceback
from pathlib import Path
from types import ModuleType

__all__ = ["discover", "run_all", "format_table", "main"]

HERE = Path(__file__).resolve().parent


def discover(names: list[str] | None = None) -> list[Path]:
    """The benchmark files, sorted, optionally filtered by substrings."""
    files = sorted(HERE.glob("bench_*.py"))
    if names:
        files = [f for f in files if any(n in f.stem for n in names)]
    return files


def _load(path: Path) -> ModuleType:
    if str(HERE) not in sys.path:                # for the shared kernel_rate module
        sys.path.insert(0, str(HERE))
    spec = importlib.util.spec_from_file_location(path.stem, path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def run_all(files: list[Path]) -> tuple[list[tuple[str, str, str]], bool]:
    """Rows (benchmark, figure, value) and whether every benchmark succeeded."""
    rows: list[tuple[str, str, str]] = []
    ok = True
    for path in files:
        name = path.stem.removeprefix("bench_")
        print(f"running {path.name} ...", file=sys.stderr, flush=True)
        start = time.perf_counter()
        try:
            figures = _load(path).run()
            if not isinstance(figures, dict):
                raise TypeError(f"run() returned {type(figures).__name__}, not a dict")
        except Exception as exc:  # report and go on with the others
            traceback.print_exc()
            rows.append((name, "ERROR", f"{type(exc).__name__}: {exc}"))
            ok = False
            continue
        for key, value in figures.items():
            rows.append((name, str(key), _fmt(value)))
        rows.append((name, "wall time of the benchmark (s)", _fmt(time.perf_counter() - start)))
    return rows, ok


def _fmt(value: object) -> str:
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        return str(value)
    if isinstance(value, int):
        return f"{value:,}"
    return f"{value:,.3g}" if abs(value) < 1000 else f"{value:,.0f}"


def format_table(rows: list[tuple[str, str, str]]) -> str:
    head = ("benchmark", "figure", "value")
    widths = [max(len(r[i]) for r in [head, *rows]) for i in range(3)]

    def line(r: tuple[str, str, str]) -> str:
        return f"{r[0]:<{widths[0]}}  {r[1]:<{widths[1]}}  {r[2]:>{widths[2]}}"
    return "\n".join([line(head), line(tuple("-" * w for w in widths)), *map(line, rows)])


def main(argv: list[str]) -> int:
    files = discover(argv)
    if not files:
        print(f"no benchmarks/bench_*.py matched {argv or 'anything'}", file=sys.stderr)
        return 1
    rows, ok = run_all(files)
    print(format_table(rows))
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
