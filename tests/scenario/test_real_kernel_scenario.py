"""data/scenarios/10-real-kernel-charge.json mirrors data/real-kernel/charge.json in range steps."""
from __future__ import annotations

import json
from pathlib import Path

import pytest

from memcg_edu.scenario import load_scenario, run_scenario

ROOT = Path(__file__).resolve().parents[2]
KERNEL = ROOT / "data" / "real-kernel" / "charge.json"
SCENARIO = ROOT / "data" / "scenarios" / "10-real-kernel-charge.json"
#: the scenario step that ends each kernel phase (after the start record)
PHASE_ENDS = [0, 2, 4, 8, 10]
#: per-CPU charge stock of the recorded kernel: CHARGE_BATCH (32) x 2 CPUs
STOCK = 64


def test_the_scenario_is_the_kernel_workload_in_range_steps():
    sc = load_scenario(SCENARIO)
    kernel = json.loads(KERNEL.read_text())
    pages = kernel["meta"]["pages"]
    assert [s.get("count") for s in sc.steps if "count" in s] == [pages] * 5
    assert len(sc.steps) == 12                     # not 5 x 4,096 written-out steps


@pytest.mark.parametrize("design", ["3.17", "3.16"])
def test_each_phase_ends_with_the_kernels_statistics(design):
    kernel = json.loads(KERNEL.read_text())["steps"][1:]
    tl = run_scenario(SCENARIO, design, pages=False, calls=False)
    assert len(kernel) == len(PHASE_ENDS)
    for k, i in zip(kernel, PHASE_ENDS):
        want, got = k["memcgs"]["A"], tl[i]["memcgs"]["A"]
        for name in ("rss", "cache", "pgpgin", "pgpgout"):
            assert got["stat"][name] == want["stat"][name], (k["op"], name)
        assert 0 <= want["usage"] - got["usage"] <= STOCK, k["op"]
