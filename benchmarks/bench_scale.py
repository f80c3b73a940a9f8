"""Fast at any size: the figures of issue 13, each beside the real kernel.

Figures (targets in brackets; "x kernel" = model time / the kernel's time
for as many anonymous page lifecycles, measured in the same run):
* a 100,000-step scenario (benchmarks/bench_widgets.scenario: every common
  op on a 64-frame machine) through the command line, each in a fresh
  process, timed from the interpreter's start to its exit (what a user
  waits for; its output to /dev/null): ``run`` (<= 3 s), ``check --check-invariants`` (<= 8 s),
  ``compare`` (<= 6 s, <= 300 MB peak resident memory, and that of the
  second process its 3.16 run goes to; with the time of its two model runs
  alone, one after the other, beside it), ``plot`` (<= 4 s);
* a range step of 1,000,000 pages (fault then unmap, ``"count"``) beside
  the bulk model path for the same pages (<= 2x its time per page);
* k tasks mapping and unmapping one page, for k = 1,000 and 5,000 (time
  per mapper must not grow with k), and 20,000 mappers plus 100
  migrations of the shared page (<= 2 s);
* ``run --json`` (every step's kernel calls written) after a range step of
  8,192 labels, for 500 and 2,000 later steps: the time per step must not
  grow with the run (no look at every live label at every step);
* import time of memcg_edu.cli in a fresh interpreter, best of 3 (<= 0.3 s).
"""
from __future__ import annotations

import json
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from kernel_rate import beside, kernel_rate

from memcg_edu.model import Machine

__all__ = ["run", "mappers", "cli_figure", "runs_only", "import_time", "calls_after_range"]

HERE = Path(__file__).resolve().parent
STEPS = 100_000
RANGE = 1_000_000

_TIMED = r"""
import atexit, json, resource, runpy, sys


def report():
    # VmHWM: this process's own peak (its ru_maxrss would also count what the
    # benchmark held when it started it); at the exit, whichever way it ends
    with open("/proc/self/status") as status:
        kb = next(int(line.split()[1]) for line in status if line.startswith("VmHWM:"))
    children = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
    sys.stderr.write(json.dumps({"mb": kb / 1024, "child_mb": children / 1024}) + "\n")


atexit.register(report)
sys.argv = ["memcg_edu", *sys.argv[1:]]
runpy.run_module("memcg_edu", run_name="__main__", alter_sys=True)
"""


_RUNS = r"""
import json, sys, time
from memcg_edu.scenario import iter_scenario, load_scenario
sc = load_scenario(sys.argv[1])
t0 = time.perf_counter()
for design in ("3.16", "3.17"):
    for _ in iter_scenario(sc, design, pages=False, calls=False):
        pass
print(json.dumps({"s": time.perf_counter() - t0}))
"""


def runs_only(path: Path) -> float:
    """Seconds of the two runs compare makes (3.16 and 3.17, records let go),
    in a fresh process: what of compare's time is the model's."""
    out = subprocess.run([sys.executable, "-c", _RUNS, str(path)], capture_output=True,
                         text=True, timeout=900, check=True)
    return json.loads(out.stdout.strip().splitlines()[-1])["s"]


def cli_figure(argv: list[str]) -> dict:
    """{"rc", "s", "mb", "child_mb"} of one ``python -m memcg_edu`` command in
    a fresh process, its output going to /dev/null. s: the wall time a user
    waits for, from starting the interpreter to its exit; mb: its own peak;
    child_mb: ru_maxrss of the processes it started, which counts what it
    held when it started them: an upper bound."""
    t0 = time.perf_counter()
    out = subprocess.run([sys.executable, "-c", _TIMED, *argv], stdout=subprocess.DEVNULL,
                         stderr=subprocess.PIPE, text=True, timeout=900)
    dt = time.perf_counter() - t0
    if out.returncode:
        raise RuntimeError(f"{argv[0]} failed: {out.stderr.strip()[-300:]}")
    return {"rc": out.returncode, "s": dt, **json.loads(out.stderr.strip().splitlines()[-1])}


def import_time(rounds: int = 3) -> float:
    """Seconds to import memcg_edu.cli in a fresh interpreter, best of ``rounds``."""
    code = ("import time; t = time.perf_counter(); import memcg_edu.cli; "
            "print(time.perf_counter() - t)")
    return min(float(subprocess.run([sys.executable, "-c", code], capture_output=True,
                                    text=True, check=True).stdout) for _ in range(rounds))


def calls_after_range(after: int, pages: int = 8_192) -> float:
    """Seconds of ``run --json`` (each step's kernel calls written) of a range
    fault of ``pages`` labels, then ``after`` migrations of one of them each:
    the time per later step must not grow with ``after``."""
    steps = [{"op": "fault_anon", "task": "p", "page": "x{i}", "count": pages}]
    steps += [{"op": "migrate", "page": f"x{i}"} for i in range(after)]
    sc = {"format": "memcg-edu-scenario/1", "title": "calls after a range",
          "machine": {"ram_pages": 2 * pages, "swap_slots": 0},
          "memcgs": {"A": {}}, "tasks": {"p": "A"}, "steps": steps}
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "range.json"
        path.write_text(json.dumps(sc))
        return cli_figure(["run", "--json", str(path)])["s"]


def mappers(k: int, migrations: int = 0) -> float:
    """Seconds for k tasks to map one page, ``migrations`` migrations, then k unmaps."""
    m = Machine(ram_pages=64, swap_slots=0)
    a = m.create_memcg("A")
    tasks = [m.create_task(f"t{i}", a) for i in range(k + 1)]
    t0 = time.perf_counter()
    page = m.fault_anon(tasks[0])
    for t in tasks[1:]:
        m.map(t, page)
    for _ in range(migrations):
        page = m.migrate(page)
    for t in tasks:
        m.unmap(t, page)
    dt = time.perf_counter() - t0
    assert a.usage == 0 and not m.mem.mapcount.any()
    return dt


def range_step(pages: int = RANGE) -> tuple[float, float] | str:
    """(seconds of a fault range step then an unmap range step, bulk path seconds)."""
    from memcg_edu.scenario import FORMAT, run_scenario
    sc = {"format": FORMAT, "title": "range", "machine": {"ram_pages": pages, "swap_slots": 0},
          "memcgs": {"A": {}}, "tasks": {"p": "A"},
          "steps": [{"op": "fault_anon", "task": "p", "page": "x{i}", "count": pages},
                    {"op": "unmap", "task": "p", "page": "x{i}", "count": pages}]}
    t0 = time.perf_counter()
    try:
        tl = run_scenario(sc, pages=False)
    except Exception as e:                      # before range steps existed
        return f"not available ({type(e).__name__})"
    dt = time.perf_counter() - t0
    assert tl[-1]["memcgs"]["A"]["usage"] == 0
    m = Machine(ram_pages=pages, swap_slots=0)
    t = m.create_task("p", m.create_memcg("A"))
    t1 = time.perf_counter()
    m.unmap_range(t, m.fault_anon_range(t, pages))
    return dt, time.perf_counter() - t1


def run() -> dict:
    from bench_widgets import scenario
    krate, note = kernel_rate()
    out: dict = {"kernel lifecycles/s": round(krate) if krate else f"skipped: {note}"}
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "big.json"
        path.write_text(json.dumps(scenario(STEPS)))
        for name, argv, target in (
                ("run", ["run", str(path)], 3),
                ("check --check-invariants", ["check", "--check-invariants", str(path)], 8),
                ("compare", ["compare", str(path)], 6),
                ("plot", ["plot", str(path), "--out", str(Path(tmp) / "f.png")], 4)):
            fig = cli_figure(argv)
            beside(out, f"{name}, 100k steps (s) [target {target}]", fig["s"], STEPS)
            out[f"{name}, 100k steps peak RSS (MB)"] = round(fig["mb"])
            if name == "compare":
                # its 3.16 run goes to a second process (compare/beside.py)
                out["compare, 100k steps peak RSS of its second process, upper bound (MB)"] = \
                    round(fig["child_mb"])
                runs = runs_only(path)
                out["compare: its two runs alone, one after the other (s)"] = round(runs, 2)
    r = range_step()
    if isinstance(r, str):
        out["range step 1M pages, fault + unmap (s)"] = r
    else:
        beside(out, "range step 1M pages, fault + unmap (s)", r[0], RANGE)
        beside(out, "bulk path 1M pages, fault + unmap (s)", r[1], RANGE)
        out["range step / bulk path time [target <= 2]"] = round(r[0] / r[1], 2)
    # the kernel calls recorded after a range step of many labels: each
    # step looks only at the labels it touched (scenario/call_names.py)
    few, many = calls_after_range(500), calls_after_range(2_000)
    beside(out, "run --json, range fault of 8,192 then 2,000 migrations (s)", many, 10_192)
    out["run --json after a range of 8,192: ms per later step (500 to 2,000 steps)"] = \
        round((many - few) / 1_500 * 1e3, 2)
    for k in (1_000, 5_000):
        dt = mappers(k)
        beside(out, f"{k:,} mappers of one page (s)", dt, k)
        out[f"{k:,} mappers: us per mapper"] = round(dt / k * 1e6, 1)
    beside(out, "20,000 mappers + 100 migrations (s) [target 2]", mappers(20_000, 100), 20_000)
    out["import memcg_edu.cli (s) [target 0.3]"] = round(import_time(), 3)
    return out
