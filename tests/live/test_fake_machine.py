"""detect / cgroupfs / scratch / record on a fake cgroup tree: error paths
that no real machine of ours shows (no controller, no permission, a limit
the kernel refuses, cgroup v2), no root needed."""
from __future__ import annotations

import os
import subprocess
from pathlib import Path

import pytest

from memcg_edu.live import LiveError, describe, detect, record
from memcg_edu.live.cgroupfs import MemcgFiles
from memcg_edu.live.scratch import Scratch
from memcg_edu.live.swapfile import TempSwap
from memcg_edu.timeline import COUNTERS, STATS

from live_helpers import live_cli


def test_detect_v1_with_swap_accounting(fake_machine):
    caps = detect(fake_machine(swap_kb=8192))
    assert (caps.cgroup, caps.memsw, caps.kernel) == ("v1", True, "9.9.9-fake")
    assert caps.own_dir.name == "me" and caps.can_create == os.access(
        caps.own_dir, os.W_OK)
    assert caps.swap_pages == 2048
    text = describe(caps)
    assert "cgroup v1" in text and "swap active:         yes, 8 MiB" in text


def test_detect_without_swap_accounting_says_how_to_get_it(fake_machine):
    caps = detect(fake_machine(memsw=False))
    assert caps.memsw is False
    assert any("swapaccount=1" in r for r in caps.reasons)


def test_no_memory_controller_is_a_clear_error(fake_machine):
    caps = detect(fake_machine(memory=False))
    assert caps.cgroup is None and caps.own_dir is None
    assert "memory controller:   none found" in describe(caps)
    with pytest.raises(LiveError, match="no memory cgroup controller") as e:
        caps.require_scratch()
    assert e.value.kind == "unsupported"


def test_cli_exits_3_without_memory_controller(fake_machine, child_env, tmp_path):
    child_env["MEMCG_EDU_PROC"] = str(fake_machine(memory=False))
    r = subprocess.run(live_cli("run", "charge", "--out", str(tmp_path / "o.json")),
                       env=child_env, capture_output=True, text=True, timeout=60)
    assert r.returncode == 3, r.stderr
    assert r.stderr.startswith("error: no memory cgroup controller found")
    assert "Traceback" not in r.stderr and not (tmp_path / "o.json").exists()


def test_no_permission_is_a_clear_error(fake_machine, monkeypatch):
    """Without write access to our cgroup (not root, no delegation) detect
    says so and record() refuses with the reason, before creating anything."""
    real_access = os.access
    monkeypatch.setattr(os, "access", lambda p, mode: False
                        if str(p).endswith("/me") else real_access(p, mode))
    caps = detect(fake_machine())
    assert not caps.can_create
    with pytest.raises(LiveError, match="no right to create a memory cgroup "
                       ".*not writable: run as root") as e:
        record("charge", 64, caps=caps)
    assert e.value.kind == "unsupported"
    assert [p.name for p in caps.own_dir.iterdir() if p.is_dir()] == []


def test_mkdir_refused_by_the_kernel_is_a_clear_error(fake_machine, monkeypatch):
    caps = detect(fake_machine())

    def refuse(self, *a, **k):
        raise PermissionError(13, "Permission denied")
    monkeypatch.setattr(Path, "mkdir", refuse)
    with pytest.raises(LiveError, match="permission denied creating the "
                       "scratch cgroup .*memcg-edu-"):
        with Scratch(caps):
            pass


def test_v1_counters_are_pages_and_unlimited_is_none(fake_machine):
    caps = detect(fake_machine(usage=8192))
    rec = MemcgFiles(caps.own_dir).read_counters()
    assert set(rec) == set(COUNTERS) | {"stat"} and set(rec["stat"]) == set(STATS)
    assert (rec["usage"], rec["memsw_usage"], rec["max_usage"]) == (2, 3, 4)
    assert rec["limit"] is None and rec["memsw_limit"] is None
    assert rec["failcnt"] == 3
    # byte statistics become pages, event counts stay counts
    assert (rec["stat"]["rss"], rec["stat"]["cache"], rec["stat"]["swap"]) == (1, 1, 1)
    assert (rec["stat"]["pgpgin"], rec["stat"]["pgpgout"]) == (7, 5)
    assert MemcgFiles(caps.own_dir).read_extra() == {"kmem": 1, "shmem": 0,
                                                     "swapcached": None}


def test_v2_counters_map_onto_the_v1_names(fake_machine):
    caps = detect(fake_machine(version="v2", usage=16384))
    assert caps.cgroup == "v2" and caps.memsw
    rec = MemcgFiles(caps.own_dir, "v2").read_counters()
    assert (rec["usage"], rec["memsw_usage"], rec["max_usage"]) == (4, 5, 8)
    assert rec["failcnt"] == 2 and rec["limit"] is None
    assert rec["stat"]["rss"] == 3 and rec["stat"]["cache"] == 1
    assert rec["stat"]["swap"] == 1 and rec["stat"]["pgpgin"] is None
    assert MemcgFiles(caps.own_dir, "v2").read_extra()["kmem"] == 2


def test_v2_counters_without_memory_current_count_usage_as_zero(fake_machine):
    caps = detect(fake_machine(version="v2", usage=16384))
    (caps.own_dir / "memory.current").unlink()
    rec = MemcgFiles(caps.own_dir, "v2").read_counters()
    assert (rec["usage"], rec["memsw_usage"]) == (0, 1)


def test_v2_without_delegated_memory_controller(fake_machine):
    caps = detect(fake_machine(version="v2", memory=False))
    assert caps.cgroup is None
    assert any("not enabled" in r for r in caps.reasons)


def test_set_limits_writes_bytes_in_a_valid_order(fake_machine):
    caps = detect(fake_machine())
    cg = MemcgFiles(caps.own_dir)
    cg.set_limits(16, 32)
    assert (caps.own_dir / "memory.limit_in_bytes").read_text() == str(16 * 4096)
    assert (caps.own_dir / "memory.memsw.limit_in_bytes").read_text() == str(32 * 4096)
    cg.set_limits(None)
    assert (caps.own_dir / "memory.limit_in_bytes").read_text() == "-1"
    assert (caps.own_dir / "memory.memsw.limit_in_bytes").read_text() == "-1"
    with pytest.raises(LiveError, match="cgroup v1 requires limit <= memsw"):
        cg.set_limits(32, 16)


def test_a_refused_limit_write_names_file_and_reason(fake_machine):
    caps = detect(fake_machine())
    target = caps.own_dir / "memory.limit_in_bytes"
    target.unlink()
    target.mkdir()  # writing now fails with EISDIR, as a refusal
    with pytest.raises(LiveError) as e:
        MemcgFiles(caps.own_dir).set_limits(8)
    assert e.value.kind == "refused"
    assert str(target) in str(e.value) and "'32768'" in str(e.value)


def test_move_charge_refusal_is_reported_not_raised(fake_machine):
    caps = detect(fake_machine())
    (caps.own_dir / "memory.move_charge_at_immigrate").unlink()
    (caps.own_dir / "memory.move_charge_at_immigrate").mkdir()
    why = MemcgFiles(caps.own_dir).set_move_charge(3)
    assert why and "refused by this kernel" in why
    assert "v2 never moves" in MemcgFiles(caps.own_dir, "v2").set_move_charge(3)


def test_unknown_workload_and_bad_size_are_refused():
    with pytest.raises(LiveError, match="unknown workload 'nope'; the workloads"):
        record("nope")
    with pytest.raises(LiveError, match="pages must be between 16"):
        record("charge", 3)


def test_swap_file_needs_root(monkeypatch):
    monkeypatch.setattr(os, "geteuid", lambda: 1000)
    with pytest.raises(LiveError, match="--swap needs root"):
        with TempSwap(1024):
            pass
