"""Widget latency: a dashboard step with every view updated, and a 100,000-step timeline.

Figures:
* step_forward_ms / step_back_ms: median time of one click on the player's
  step buttons on a 64-page, 200-step scenario run on the model (target: at
  most 50 ms). Every view follows the step (player words, counters panel,
  page grid, the artists of all three figures); as in the dashboard, only
  the selected tab's figure is turned into a PNG. Back steps revisit steps
  already shown, whose images are cached;
* all_figures_step_forward_ms: the same with all three figures drawn at
  every step (as if every tab were on screen at once);
* calls_open_step_forward_ms: the same dashboard step with "inside this
  step" open (call list, current call and page inspector rebuilt at each
  step; target: at most 50 ms), and calls_next_call_ms: one click on
  "next call" (the inspector and the grid's picked frame follow);
* dashboard_build_ms: building the 200-step dashboard, which draws no
  figure; dashboard_first_display_ms: displaying it, which draws the
  selected tab's figure (its layout and text) and sends its image;
* big_*: the same dashboard on a 100,000-step timeline (the 200-step run
  repeated, as the runner records a long run: counters, no page state):
  time to build and display it, median and worst slider jump to a random step, a step
  forward, and how much the process's resident memory grows while the
  dashboard is built.
"""
from __future__ import annotations

import os
import random
import statistics
import time

from memcg_edu.timeline import Timeline

__all__ = ["run", "scenario", "TARGET_MS"]

TARGET_MS = 50.0
STEPS = 200
BIG = 100_000


def scenario(steps: int = STEPS, seed: int = 0) -> dict:
    """A valid 64-frame scenario of ``steps`` steps mixing every common op."""
    rng = random.Random(seed)
    owner = {"p": "A", "q": "B"}
    anon, files, swapped = [], [], []     # (label, task)
    plan, n = [], 0
    while len(plan) < steps:
        frames = len(anon) + len(files)
        choices = []
        if frames < 44:
            choices += ["fault_anon"] * 3 + ["add_to_page_cache"] * 2
        if anon and len(swapped) < 24:
            choices += ["swap_out"] * 2
        if swapped and frames < 44:
            choices += ["swap_in"] * 2
        if anon:
            choices += ["unmap", "migrate"]
        if files:
            choices += ["truncate"]
        op = rng.choice(choices)
        if op in ("fault_anon", "add_to_page_cache"):
            n += 1
            task = rng.choice(list(owner))
            (anon if op == "fault_anon" else files).append((f"x{n}", task))
            plan.append({"op": op, "task": task, "page": f"x{n}"})
        elif op == "swap_out":
            lab = anon.pop(rng.randrange(len(anon)))
            swapped.append(lab)
            plan.append({"op": op, "page": lab[0]})
        elif op == "swap_in":
            lab = swapped.pop(rng.randrange(len(swapped)))
            anon.append(lab)
            plan.append({"op": op, "task": lab[1], "page": lab[0]})
        elif op == "unmap":
            lab = anon.pop(rng.randrange(len(anon)))
            plan.append({"op": op, "task": lab[1], "page": lab[0]})
        elif op == "migrate":
            plan.append({"op": op, "page": rng.choice(anon + files)[0]})
        else:
            lab = files.pop(rng.randrange(len(files)))
            plan.append({"op": op, "page": lab[0]})
    return {"format": "memcg-edu-scenario/1", "title": "widget benchmark",
            "machine": {"ram_pages": 64, "swap_slots": 32, "swap_account": True,
                        "charge_stock": False},
            "memcgs": {"A": {}, "B": {}}, "tasks": owner, "steps": plan}


def _rss_mib() -> float:
    """Resident memory of this process (Linux /proc), MiB."""
    with open("/proc/self/statm") as f:
        return int(f.read().split()[1]) * os.sysconf("SC_PAGE_SIZE") / 2**20


def _median_ms(fn, n: int) -> tuple[float, float]:
    times = []
    for _ in range(n):
        t = time.perf_counter()
        fn()
        times.append((time.perf_counter() - t) * 1000)
    return statistics.median(times), max(times)


def run() -> dict:
    from memcg_edu.scenario import run_scenario
    from memcg_edu.widgets import dashboard

    tl = run_scenario(scenario(), pages=True)
    assert len(tl) == STEPS and all("pages" in r for r in tl)
    t = time.perf_counter()
    d = dashboard(tl)
    build_ms = (time.perf_counter() - t) * 1000
    t = time.perf_counter()
    d.displayed()                     # as the notebook shows it: the first figure is drawn
    display_ms = (time.perf_counter() - t) * 1000
    fwd, fwd_max = _median_ms(d.player.forward_button.click, STEPS - 1)
    back, _ = _median_ms(d.player.back_button.click, STEPS - 1)
    d_all = dashboard(tl)
    d_all.displayed()
    for view in (d_all.counters_plot, d_all.stats_plot, d_all.lru.view):
        view.set_shown(True)
    fwd_all, _ = _median_ms(d_all.player.forward_button.click, STEPS - 1)
    d_calls = dashboard(tl)
    d_calls.displayed()
    d_calls.player.open_calls()
    fwd_calls, fwd_calls_max = _median_ms(d_calls.player.forward_button.click, STEPS - 1)
    stepper = d_calls.player.calls
    per_step = [len(r.get("calls") or ()) for r in tl]
    busy = [i for i, n in enumerate(per_step) if n > 1][:40]
    next_times = []
    for i in busy:
        d_calls.player.go(i)
        next_times += [_median_ms(stepper.next_call, 1)[0] for _ in range(per_step[i] - 1)]
    next_call = statistics.median(next_times) if next_times else float("nan")

    big = Timeline((dict({k: v for k, v in tl[i % STEPS].items() if k != "pages"}, step=i)
                    for i in range(BIG)), tl.meta)
    rss = _rss_mib()
    t = time.perf_counter()
    db = dashboard(big)
    db.displayed()
    big_build = time.perf_counter() - t
    grown = _rss_mib() - rss
    rng = random.Random(1)
    jump, jump_max = _median_ms(lambda: setattr(db.player.slider, "value",
                                                rng.randrange(BIG)), 30)
    big_fwd, _ = _median_ms(db.player.forward, 30)
    return {
        "step_forward_ms (64 pages, 200 steps)": round(fwd, 1),
        "step_forward_max_ms": round(fwd_max, 1),
        "step_back_ms": round(back, 1),
        "all_figures_step_forward_ms": round(fwd_all, 1),
        "calls_open_step_forward_ms": round(fwd_calls, 1),
        "calls_open_step_forward_max_ms": round(fwd_calls_max, 1),
        "calls_next_call_ms": round(next_call, 2),
        "calls_per_step (mean, max)": (round(statistics.mean(per_step), 1), max(per_step)),
        "target_ms": TARGET_MS,
        "within_target": fwd <= TARGET_MS and back <= TARGET_MS and fwd_calls <= TARGET_MS,
        "dashboard_build_ms (200 steps)": round(build_ms),
        "dashboard_first_display_ms": round(display_ms),
        "big_build_s (100k steps)": round(big_build, 2),
        "big_slider_jump_ms (median)": round(jump, 1),
        "big_slider_jump_max_ms": round(jump_max, 1),
        "big_step_forward_ms": round(big_fwd, 1),
        "big_dashboard_rss_growth_MiB": round(grown, 1),
    }


if __name__ == "__main__":
    for k, v in run().items():
        print(f"{k}: {v}")
