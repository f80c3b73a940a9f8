"""`python -m memcg_edu live ...` as a learner runs it."""
from __future__ import annotations

import subprocess

import pytest

from live_helpers import live_cli
from memcg_edu.timeline import Timeline


def _run(env, *argv):
    return subprocess.run(live_cli(*argv), env=env, capture_output=True,
                          text=True, timeout=120)


def test_list_names_every_workload_and_recorded_file(child_env):
    r = _run(child_env, "list")
    assert r.returncode == 0, r.stderr
    for name in ("charge", "pagecache", "swap", "migrate", "move"):
        assert f"  {name} " in r.stdout and f"{name}.json" in r.stdout
    assert "[needs swap]" in r.stdout


def test_bad_arguments_exit_2_with_one_line(child_env, tmp_path):
    r = _run(child_env, "run", "nope", "--out", str(tmp_path / "x.json"))
    assert r.returncode == 2
    assert r.stderr == ("error: unknown workload 'nope'; the workloads are "
                        "charge, pagecache, swap, migrate, move\n")
    r = _run(child_env, "run", "charge", "--out", str(tmp_path / "no" / "x.json"))
    assert r.returncode == 2 and "does not exist" in r.stderr
    r = _run(child_env, "run", "charge")
    assert r.returncode == 2 and "--out" in r.stderr


def test_trace_with_a_missing_out_folder_exits_2_with_one_line(child_env, tmp_path):
    r = _run(child_env, "trace", "charge", "--out", str(tmp_path / "no" / "x.json"))
    assert r.returncode == 2
    assert r.stderr == f"error: --out {tmp_path / 'no' / 'x.json'}: folder " \
                       f"{tmp_path / 'no'} does not exist\n"


@pytest.mark.live
def test_status_and_run_with_compare(caps, child_env, tmp_path):
    r = _run(child_env, "status")
    assert r.returncode == 0 and f"Linux {caps.kernel}" in r.stdout
    assert "may create a cgroup: yes" in r.stdout
    out = tmp_path / "charge.json"
    r = _run(child_env, "run", "charge", "--out", str(out), "--pages", "2048",
             "--compare", "--interval", "0.0002")
    assert r.returncode == 0, r.stderr
    tl = Timeline.load(out)
    assert tl.meta["source"] == "kernel" and tl.meta["pages"] == 2048
    assert tl.ops[1] == "fault_anon"
    assert "  1 fault_anon" in r.stdout and "saved 6 steps" in r.stdout
    assert "model (Linux 3.17 design) vs kernel" in r.stdout
    assert "- kernel memory (" in r.stdout
    sampled = [s for s in tl if s.get("samples")]
    assert sampled, "a 2048-page phase outlasts a 0.2 ms timer"
    for s in sampled:
        assert {"t", "memcgs"} <= set(s["samples"][0])
        assert "usage" in s["samples"][0]["memcgs"]["A"]
