"""The comparison: the model runs the recorded workloads, every counter
is within the stated tolerance or accounted for by a named difference of at
least that size, and each modern-kernel difference is named where it shows.
Runs everywhere (it reads data/real-kernel); the live test records anew."""
from __future__ import annotations

import functools
import os
from pathlib import Path

import pytest

from live_helpers import leftovers
from memcg_edu.live import LiveError, record, recorded
from memcg_edu.live.compare import (compare, counter_tolerance, model_timeline,
                                    render)
from memcg_edu.timeline import Timeline

DATA = Path(__file__).resolve().parents[2] / "data" / "real-kernel"


def _load(name):
    return recorded(name)


@functools.lru_cache(maxsize=None)
def _cmp(name):
    """One model run per recorded workload for the whole module."""
    return compare(_load(name))


def _names(cmp, step=None):
    return {d.name for d in cmp.differences if step is None or d.step == step}


@pytest.mark.slow  # five model runs of 16 MiB workloads
@pytest.mark.parametrize("name", ["charge", "pagecache", "swap", "migrate", "move"])
def test_recorded_timelines_match_the_model_or_name_why(name):
    cmp = _cmp(name)
    assert len(cmp.model) == len(cmp.kernel)
    assert cmp.model.ops == cmp.kernel.ops
    assert cmp.rows and cmp.unexplained == [], render(cmp)
    for r in cmp.outside:
        gap = abs(r["diff"]) - r["tolerance"]
        assert any(d.name == r["explained_by"] and d.pages >= gap
                   and d.step == r["step"] for d in cmp.differences)


def test_usage_difference_is_split_into_kernel_memory_and_stock():
    cmp = _cmp("charge")
    k = cmp.kernel[1]["memcgs"]["A"]
    at1 = {d.name: d.pages for d in cmp.differences if d.step == 1}
    assert at1["kernel memory"] == k["kernel"]["kmem"] > 0
    assert at1["kernel memory"] + at1["charge batching"] == k["usage"] - 4096
    assert 0 < at1["charge batching"] <= 64 * cmp.kernel.meta["cpus"]
    assert at1 == {"kernel memory": at1["kernel memory"],
                   "charge batching": at1["charge batching"]}
    assert _names(cmp, 2) >= {"shmem"}


def test_swap_differences_are_named_with_their_size():
    cmp = _cmp("swap")
    swap_in = cmp.kernel.ops.index("swap_in")
    sc = [d for d in cmp.differences if d.name == "swap cache" and d.step == swap_in]
    assert sc and sc[0].pages == cmp.kernel[swap_in]["memcgs"]["A"]["kernel"]["swapcached"]
    out = cmp.kernel.ops.index("swap_out")
    m = cmp.model[out]["memcgs"]["A"]
    assert (m["usage"], m["memsw_usage"], m["stat"]["swap"]) == (2048, 4096, 2048)


def test_charge_moving_refusal_is_named_on_both_cgroups():
    cmp = _cmp("move")
    moved = cmp.kernel.ops.index("move_task")
    named = {(d.memcg, d.pages) for d in cmp.differences
             if d.name == "no charge moving" and d.step == moved}
    a = cmp.kernel[moved]["memcgs"]["A"]["usage"]
    assert ("A", a) in named and ("B", 4096) in named
    # the model, asked to move charges as 3.17 would, moved them all
    assert cmp.model[moved]["memcgs"]["B"]["usage"] == 4096
    assert cmp.model[moved]["memcgs"]["A"]["usage"] == 0


def test_page_cache_folio_events_and_migration_are_named():
    cmp = _cmp("pagecache")
    assert "folio events" in _names(cmp, 1)
    cmp = _cmp("migrate")
    step = cmp.kernel.ops.index("migrate")
    mig = [d for d in cmp.differences if d.name == "migration"]
    assert [d.step for d in mig] == [step]
    assert str(cmp.kernel[step]["detail"]["pgmigrate_success"]) in mig[0].text


def test_render_names_the_differences_under_their_step():
    text = render(_cmp("charge"))
    lines = text.splitlines()
    assert lines[0].startswith("workload charge (4096 pages per operation)")
    row = next(i for i, l in enumerate(lines) if " fault_anon " in l)
    assert "4096|  4160" in lines[row]
    assert lines[row + 1].lstrip().startswith("- kernel memory (")


def test_model_skips_what_the_kernel_skipped():
    tl = model_timeline("swap", 256, skipped={2, 3, 4})
    assert [s["detail"].get("skipped") is not None for s in tl] == [
        False, False, True, True, True, False, False]
    assert tl[4]["memcgs"]["A"]["usage"] == 256


def test_compare_refuses_a_model_timeline(tmp_path):
    with pytest.raises(LiveError, match="takes a kernel timeline"):
        compare(model_timeline("charge", 64))


def test_tolerance_formula():
    assert counter_tolerance(4096, 2, 9) == 128 + 9 + 128


@pytest.mark.live
@pytest.mark.parametrize("name", ["charge", "pagecache", "swap", "migrate", "move"])
def test_fresh_recording_matches_the_model(caps_v1, name):
    """Each workload recorded now on this kernel: every counter within its
    tolerance of the model's prediction, or explained by a named difference."""
    tl = record(name, 1024, caps=caps_v1, swap=caps_v1.is_root)
    cmp = compare(tl)
    assert cmp.unexplained == [], render(cmp)
    assert leftovers(caps_v1, [os.getpid()]) == []


def test_recorded_files_are_described_and_name_their_kernel():
    readme = (DATA / "README.md").read_text()
    files = sorted(DATA.glob("*.json"))
    assert {f.stem for f in files} == {"charge", "pagecache", "swap", "migrate", "move"}
    for f in files:
        meta = Timeline.load(f).meta
        assert f"`{f.name}`" in readme
        assert meta["source"] == "kernel" and meta["workload"] == f.stem
        assert meta["kernel"] in readme and meta["cgroup"] == "v1"
        assert meta["date"][:10] in readme


def test_recorded_names_what_exists():
    assert recorded("swap").meta["workload"] == "swap"
    with pytest.raises(LiveError, match="no recorded timeline .*nope.json; "
                       "recorded are charge, migrate, move, pagecache, swap"):
        recorded("nope")
