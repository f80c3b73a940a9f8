"""The real kernel's rate, measured once per benchmark run and shared.

Every benchmark reports its figures beside the rate at which this
machine's kernel runs the same page lifecycle (anonymous fault to munmap
in a scratch memory cgroup): ``kernel_rate()`` measures it the first time
it is called in the process (bench_model.kernel_rate) and returns the same
value afterwards, so all benchmarks of one ``benchmarks/run.py`` share it.
``ratio(seconds, pages)`` turns a model time for ``pages`` page operations
into "times slower than the kernel" (kernel time for as many pages = 1).
"""
from __future__ import annotations

import functools
import importlib.util
from pathlib import Path

__all__ = ["kernel_rate", "ratio", "beside"]

HERE = Path(__file__).resolve().parent


@functools.lru_cache(maxsize=1)
def kernel_rate() -> tuple[float | None, str]:
    """(pages/s of the real kernel or None, what was measured or why not)."""
    spec = importlib.util.spec_from_file_location("bench_model", HERE / "bench_model.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module.kernel_rate()


def ratio(seconds: float, pages: int) -> float | str:
    """Model time / the kernel's time for as many page lifecycles."""
    rate, note = kernel_rate()
    if not rate:
        return f"no kernel rate: {note}"
    x = seconds / (pages / rate)
    return round(x, 1) if x >= 10 else float(f"{x:.3g}")


def beside(out: dict, name: str, seconds: float, pages: int) -> None:
    """Add figure ``name`` (seconds) and its ratio to the kernel to ``out``."""
    out[name] = round(seconds, 3)
    out[f"{name}: x kernel time for {pages:,} lifecycles"] = ratio(seconds, pages)
