"""The live tracer on a fake tracefs tree and on hand-written trace text:
parsing, per-page stories, loss reporting, refusals, stale cleanup."""
from __future__ import annotations

import json
import os
from pathlib import Path

import pytest

from memcg_edu.live import runstate, tracefs
from memcg_edu.live.errors import LiveError
from memcg_edu.live.trace import (TraceRecording, buffer_kb_for, load_trace,
                                  recorded_trace, trace)
from memcg_edu.live.trace_compare import compare_trace, milestones
from memcg_edu.live.trace_parse import Event, Lost, item_names, parse_lines
from memcg_edu.live.trace_story import TraceContext, build

ANON = "GFP_HIGHUSER_MOVABLE|__GFP_ZERO|__GFP_COMP"
CHILD, REC = 4242, 4000
BASE = 0x7F0000000000


def _line(pid, ts, event, body, comm="python", cpu=1):
    return f"          {comm}-{pid}     [{cpu:03d}] d..3.  {ts:.6f}: {event}: {body}\n"


def _mark(ts, text):
    return _line(REC, ts, "tracing_mark_write", f"memcg-edu step {text}")


def _vmstat(tmp_path: Path) -> Path:
    names = (["nr_free_pages", "numa_hit", "nr_inactive_anon", "nr_active_anon",
              "nr_inactive_file", "nr_active_file", "nr_unevictable",
              "nr_anon_pages", "nr_mapped", "nr_file_pages"]
             + ["nr_dirty_threshold", "nr_dirty_background_threshold",
                "pgpgin", "pgpgout", "pgfault"])
    p = tmp_path / "vmstat"
    p.write_text("".join(f"{n} 0\n" for n in names))
    return p


def test_item_names_follow_vmstat_order(tmp_path):
    items = item_names(_vmstat(tmp_path))
    # node items from nr_inactive_anon (index 0) to before the thresholds,
    # then the memcg items; events from pgpgin
    assert items["state"][:8] == ["nr_inactive_anon", "nr_active_anon",
                                  "nr_inactive_file", "nr_active_file",
                                  "nr_unevictable", "nr_anon_pages",
                                  "nr_mapped", "nr_file_pages"]
    assert items["state"][8] == "swap"
    assert items["events"] == ["pgpgin", "pgpgout", "pgfault"]


def test_parse_lines_fields_markers_and_lost_lines():
    text = [
        "# tracer: nop\n",
        _mark(1.0, "1 fault_anon"),
        _line(CHILD, 1.1, "mm_page_alloc", f"page=00000000deadbeef pfn=0x10 "
              f"order=0 migratetype=1 gfp_flags={ANON}"),
        _line(CHILD, 1.2, "mm_lru_insertion", "folio=0000000012345678 "
              "pfn=0x10 lru=0 flags=Ma bd "),
        _line(REC, 1.3, "mm_filemap_add_to_page_cache",
              "dev 8:1 ino 1a pfn=0x20 ofs=8192 order=2"),
        _line(REC, 1.4, "remove_migration_pte", "addr=7f0000001000, "
              "pte=8000000000030067 order=0"),
        _line(CHILD, 1.5, "mod_memcg_lruvec_state", "memcg_id=77 item=5 val=-1"),
        "CPU:1 [LOST 17 EVENTS]\n",
    ]
    evs = list(parse_lines(text))
    assert isinstance(evs[-1], Lost) and evs[-1].events == 17 and evs[-1].cpu == 1
    mark, alloc, lru, fm, mig, stat = evs[:-1]
    assert mark.fields["text"] == "memcg-edu step 1 fault_anon"
    assert (alloc.pid, alloc.cpu, alloc.fields["pfn"], alloc.fields["order"],
            alloc.fields["gfp_flags"]) == (CHILD, 1, 0x10, 0, ANON)
    assert lru.fields["flags"] == "Ma bd " and lru.fields["lru"] == 0
    assert fm.fields["ino"] == 0x1A and fm.fields["ofs"] == 8192
    assert fm.fields["dev"] == (8, 1) and fm.fields["order"] == 2
    assert mig.fields["addr"] == 0x7F0000001000   # the comma is not part of it
    assert stat.fields == {"memcg_id": 77, "item": 5, "val": -1}


def _ctx(tmp_path, **kw) -> TraceContext:
    base = dict(child_pids={CHILD}, ops=["start", "fault_anon", "swap_out",
                                         "migrate", "unmap", "cleanup"],
                files={0x1A: "f"}, mappings={"x": (BASE, 4)},
                frames={1: {"x": [0x10, 0x11, 0x12, 0x13]},
                        3: {"x": [0x10, 0x11, 0x30, 0x13]}},
                memcgs={77: "A"}, items=item_names(_vmstat(tmp_path)),
                task_memcg={0: "A"}, targets={1: ("touch_anon", "x")})
    base.update(kw)
    return TraceContext(**base)


def _life_text():
    """Four anonymous pages: 0x12 migrates to 0x30; 0x11 is swapped out
    inside a memcg reclaim; everything is freed at the unmap (0x13 by an
    interrupt, pid 0); a page table is kernel memory."""
    t, out = 1.0, []

    def add(pid, ev, body):
        nonlocal t
        t += 0.001
        out.append(_line(pid, t, ev, body))
    out.append(_mark(t, "1 fault_anon"))
    for pfn in (0x10, 0x11, 0x12, 0x13):
        add(CHILD, "mm_page_alloc", f"page=0 pfn={pfn:#x} order=0 migratetype=1 "
            f"gfp_flags={ANON}")
        add(CHILD, "mod_memcg_lruvec_state", "memcg_id=77 item=5 val=1")
        add(CHILD, "mm_lru_insertion", f"folio=0 pfn={pfn:#x} lru=0 flags=Ma bd ")
    add(CHILD, "mm_page_alloc", "page=0 pfn=0x99 order=0 migratetype=0 "
        "gfp_flags=GFP_KERNEL|__GFP_ZERO|__GFP_ACCOUNT")
    add(CHILD, "mod_memcg_lruvec_state", "memcg_id=78 item=5 val=1")  # not ours
    out.append(_mark(t, "2 swap_out"))
    add(REC, "mm_vmscan_memcg_reclaim_begin", "order=0 gfp_flags=GFP_KERNEL")
    add(REC, "mm_vmscan_lru_isolate", "classzone=3 order=0 nr_requested=32 "
        "nr_scanned=1 nr_skipped=0 nr_taken=1 lru=inactive_anon")
    add(REC, "mm_vmscan_write_folio", "page=0 pfn=0x11 flags=RECLAIM_WB_ANON")
    add(REC, "mm_page_free", "page=0 pfn=0x11 order=0")
    add(REC, "mod_memcg_state", "memcg_id=77 item=8 val=1")   # swap
    add(REC, "mm_vmscan_memcg_reclaim_end", "nr_reclaimed=1")
    out.append(_mark(t, "3 migrate"))
    # another process's page at the same address is not ours (no pagemap)
    add(REC, "remove_migration_pte", f"addr={BASE + 0x2000:x}, "
        f"pte={0x8000000000000067 | 0x55 << 12:x} order=0")
    add(REC, "remove_migration_pte", f"addr={BASE + 0x2000:x}, "
        f"pte={0x8000000000000067 | 0x30 << 12:x} order=0")
    add(REC, "mm_page_free", "page=0 pfn=0x12 order=0")
    add(REC, "mm_lru_insertion", "folio=0 pfn=0x30 lru=0 flags=Ma bd ")
    out.append(_mark(t, "4 unmap"))
    for pfn in (0x10, 0x30):
        add(CHILD, "mm_page_free", f"page=0 pfn={pfn:#x} order=0")
    add(0, "mm_page_free_batched", "page=0 pfn=0x13", )
    add(CHILD, "mod_memcg_lruvec_state", "memcg_id=77 item=5 val=-3")
    out.append("CPU:0 [LOST 3 EVENTS]\n")
    return out


def test_build_tells_each_page_story(tmp_path):
    out = build(parse_lines(_life_text()), _ctx(tmp_path))
    pages = {st["role"]: st for st in out["pages"]}
    assert set(pages) == {"x[0]", "x[1]", "x[2]", "x[3]"}
    assert all(st["complete"] for st in pages.values())
    whats = lambda r: [(e[0], e[1]) for e in pages[r]["events"]]  # noqa: E731
    assert whats("x[0]") == [(1, "allocated"), (1, "put on an LRU list"),
                             (4, "freed")]
    assert whats("x[1]") == [(1, "allocated"), (1, "put on an LRU list"),
                             (2, "isolated"), (2, "written to swap"), (2, "freed")]
    assert whats("x[2]") == [(1, "allocated"), (1, "put on an LRU list"),
                             (3, "isolated"), (3, "migrated"), (3, "freed"),
                             (3, "remapped after migration"),
                             (3, "put on an LRU list"), (4, "freed")]
    assert pages["x[2]"]["pfns"] == [0x12, 0x30]
    migrated = next(e for e in pages["x[2]"]["events"] if e[1] == "migrated")
    assert migrated[3] == {"to": 0x30}
    # freed by an interrupt (pid 0): frees are kept whoever does them
    assert whats("x[3]")[-1] == (4, "freed")
    assert out["kernel_pages"] == {1: 1}
    assert out["lost_lines"] == {0: 3}
    # memcg changes: only memcg 77 (A), in order, with item names
    assert out["changes"] == [[1, "A", "nr_anon_pages", 1]] * 4 + [
        [2, "A", "swap", 1], [4, "A", "nr_anon_pages", -3]]


def test_calls_have_the_run_json_shape(tmp_path):
    out = build(parse_lines(_life_text()), _ctx(tmp_path))
    step1 = out["calls"][1]
    alloc, stat, lru = step1[:3]
    assert (alloc["fn"], alloc["file"], alloc["page"], alloc["pfn"]) == (
        "__alloc_pages_nodemask", "mm/page_alloc.c", "x[0]", 0x10)
    assert alloc["state"] == {"count": None, "mapcount": None, "flags": [],
                              "pcg": [], "mem_cgroup": "A", "lru": None,
                              "lruvec": None}
    assert alloc["was"] == {"state": None, "memcgs": {}}   # newly allocated
    assert (stat["fn"], stat["memcgs"], stat["was"]["memcgs"]) == (
        "mem_cgroup_charge_statistics", {"A": {"rss": 1}}, {"A": {"rss": 0}})
    assert lru["fn"] == "lru_cache_add" and lru["state"]["lru"] == "inactive_anon"
    assert lru["state"]["lruvec"] == "A"
    assert set(lru["state"]["flags"]) == {"lru", "anon", "swapbacked"}
    assert lru["was"]["state"] == {"flags": [], "lru": None, "lruvec": None}
    free = next(c for c in out["calls"][4] if c["page"] == "x[0]")
    assert free["fn"] == "free_hot_cold_page" and free["state"]["flags"] == ["free"]
    assert free["was"]["state"]["mem_cgroup"] == "A"
    for calls in out["calls"].values():
        for c in calls:
            assert {"fn", "file", "depth", "page", "pfn", "swap", "state",
                    "memcgs", "was"} <= set(c)
            assert isinstance(c["depth"], int) and isinstance(c["memcgs"], dict)
    names = [c["fn"] for c in out["calls"][2]]
    assert names == ["try_to_free_mem_cgroup_pages", "isolate_lru_pages",
                     "pageout", "free_hot_cold_page",
                     "mem_cgroup_swap_statistics", "try_to_free_mem_cgroup_pages"]
    assert [c["fn"] for c in out["calls"][3]][-1] == "putback_lru_page"


@pytest.mark.parametrize("lost", [False, True])
def test_a_page_never_freed_ends_still_in_memory(tmp_path, lost):
    """No free for a page: the kernel kept it (frees are traced from every
    task). Complete only when no event was lost."""
    text = [_mark(1.0, "1 fault_anon"),
            _line(CHILD, 1.1, "mm_page_alloc", f"page=0 pfn=0x10 order=0 "
                  f"migratetype=1 gfp_flags={ANON}"),
            _line(REC, 1.2, "mm_vmscan_write_folio", "page=0 pfn=0x10 "
                  "flags=RECLAIM_WB_ANON")]
    if lost:
        text.append("CPU:1 [LOST 2 EVENTS]\n")
    out = build(parse_lines(text), _ctx(tmp_path))
    st = out["pages"][0]
    assert st["role"] == "x[0]"
    assert st["events"][-1][:3] == [1, "still in memory when tracing stopped", 0x10]
    assert "swapcache" in st["events"][-1][3]["flags"]
    assert st["complete"] is (not lost)


def test_file_pages_large_folio_and_migration_by_index(tmp_path):
    text = [_mark(1.0, "1 add_to_page_cache"),
            _line(CHILD, 1.1, "mm_page_alloc", f"page=0 pfn=0x40 order=2 "
                  f"migratetype=1 gfp_flags={ANON}"),
            _line(CHILD, 1.2, "mm_filemap_add_to_page_cache",
                  "dev 8:1 ino 1a pfn=0x40 ofs=0 order=2"),
            _line(CHILD, 1.3, "mm_filemap_add_to_page_cache",
                  "dev 8:1 ino 99 pfn=0x50 ofs=0 order=0"),   # not our file
            _mark(2.0, "2 migrate"),
            _line(REC, 2.1, "mm_page_free", "page=0 pfn=0x40 order=2"),
            _mark(3.0, "3 remove_from_page_cache"),
            _line(REC, 3.1, "mm_filemap_delete_from_page_cache",
                  "dev 8:1 ino 1a pfn=0x80 ofs=0 order=2"),
            _line(REC, 3.2, "mm_page_free", "page=0 pfn=0x80 order=2")]
    ctx = _ctx(tmp_path, ops=["start", "add_to_page_cache", "migrate",
                              "remove_from_page_cache", "cleanup"], frames={})
    out = build(parse_lines(text), ctx)
    assert [st["role"] for st in out["pages"]] == ["f[0]"]
    st = out["pages"][0]
    assert st["pfns"] == [0x40, 0x80] and st["complete"]
    assert [e[1] for e in st["events"]] == [
        "allocated", "added to the page cache", "isolated", "migrated", "freed",
        "removed from the page cache", "freed"]
    assert st["events"][1][3] == {"file": "f", "index": 0, "order": 2}


def _recording(tmp_path, text, pages=4, workload="charge") -> TraceRecording:
    from memcg_edu.timeline import Timeline
    ops = ["start", "fault_anon", "fault_shmem", "unmap", "unmap", "exit_task"]
    out = build(parse_lines(text), _ctx(tmp_path, ops=ops + ["cleanup"],
                                        frames={1: {"x": [0x10, 0x11, 0x12, 0x13]}}))
    tl = Timeline([{"op": op, "ok": True, "memcgs": {}} for op in ops],
                  {"source": "kernel"})
    meta = {"workload": workload, "pages": pages, "kernel": "9.9", "date": "x",
            "lost": {"total": 0, "per_cpu": {}}, "events": out["events"]}
    return TraceRecording(meta, tl, out["pages"], out["changes"],
                          out["kernel_pages"])


def test_save_and_load_round_trip_plain_and_gzip(tmp_path):
    rec = _recording(tmp_path, _life_text()[:14])
    for name in ("t.json", "t.json.gz"):
        rec.save(tmp_path / name)
        back = load_trace(tmp_path / name)
        assert back.pages == json.loads(json.dumps(rec.pages))
        assert back.timeline.ops == rec.timeline.ops
    assert (tmp_path / "t.json.gz").read_bytes()[:2] == b"\x1f\x8b"


@pytest.mark.parametrize("content, message", [
    (b"{", "not valid JSON: Expecting property name enclosed in double quotes at line 1"),
    (b"\x1f\x8b\x08garbage", "not JSON (nor gzip-compressed JSON)"),
    (b'{"format": "memcg-edu-timeline/1"}', 'expected "format": "memcg-edu-trace/1"'),
    (b'{"format": "memcg-edu-trace/1", "meta": {}, "timeline": {}, '
     b'"pages": {}, "changes": []}', '"pages" must be a list'),
    (b'{"format": "memcg-edu-trace/1", "meta": {}, "timeline": {}, '
     b'"pages": [1], "changes": []}', 'pages[0] must be an object'),
])
def test_bad_trace_files_are_one_line_errors(tmp_path, content, message):
    p = tmp_path / "bad.json"
    p.write_bytes(content)
    with pytest.raises(LiveError) as e:
        load_trace(p)
    assert message in str(e.value) and "\n" not in str(e.value)
    assert str(p) in str(e.value)


def test_save_replaces_a_symlink_and_keeps_a_file_when_told(tmp_path):
    """A trace is written as a timeline is (safeio.write_atomic): a symlink
    at the name is replaced, never written through; with overwrite False
    a file already there is kept."""
    from memcg_edu.errors import ModelUsageError
    rec = _recording(tmp_path, _life_text()[:14])
    target = tmp_path / "target"
    target.write_text("target\n")
    link = tmp_path / "t.json.gz"
    link.symlink_to(target)
    rec.save(link)
    assert target.read_text() == "target\n" and not link.is_symlink()
    assert load_trace(link).timeline.ops == rec.timeline.ops
    with pytest.raises(ModelUsageError, match="not overwriting it"):
        rec.save(target, overwrite=False)
    assert target.read_text() == "target\n"
    assert sorted(p.name for p in tmp_path.iterdir()
                  if p.name.startswith(".")) == []


def test_model_side_same_life_for_plain_anonymous_pages(tmp_path):
    """Four pages faulted and unmapped: the model (charge workload at 16
    pages) has x[0..15]; the four traced ones have the same life, the rest
    are named as pages the kernel trace never gave a frame."""
    text = [_mark(1.0, "1 fault_anon")]
    for i, pfn in enumerate((0x10, 0x11, 0x12, 0x13)):
        text.append(_line(CHILD, 1.1 + i / 100, "mm_page_alloc",
                          f"page=0 pfn={pfn:#x} order=0 migratetype=1 "
                          f"gfp_flags={ANON}"))
    text.append(_mark(2.0, "3 unmap"))
    for i, pfn in enumerate((0x10, 0x11, 0x12, 0x13)):
        text.append(_line(CHILD, 2.1 + i / 100, "mm_page_free",
                          f"page=0 pfn={pfn:#x} order=0"))
    cmp = compare_trace(_recording(tmp_path, text, pages=16))
    assert cmp.same == ["x[0]", "x[1]", "x[2]", "x[3]"]
    causes = {d.role: d.cause for d in cmp.diffs}
    assert causes["x[4]"] == "never touched"
    assert all(r.startswith("shm") or causes[r] == "never touched"
               for r in causes)
    s = cmp.summary
    assert s["same_life"] == 4 and s["pages"] == 32 and s["different"] == 28


def test_milestones_count_a_migration_once():
    ev = [[1, "allocated", 1, None], [3, "migrated", 1, {"to": 2}],
          [3, "freed", 1, None], [3, "allocated", 2, None], [6, "freed", 2, None]]
    assert milestones(ev) == [(1, "allocated"), (3, "migrated"), (6, "freed")]


def test_milestones_reduce_a_story():
    ev = [[1, "allocated", 1, None], [1, "put on an LRU list", 1, None],
          [2, "isolated", 1, None], [2, "written to swap", 1, None],
          [2, "freed", 1, None], [4, "added to the page cache", 2, None]]
    assert milestones(ev) == [(1, "allocated"), (2, "swapped out"),
                              (2, "freed"), (4, "allocated")]


def test_buffer_size_grows_with_the_run_and_is_capped():
    small, big = buffer_kb_for(1024), buffer_kb_for(65536 * 4)
    assert 16384 < small < big <= 256 * 1024
    # an eighth of 1 GiB available, over 2 CPUs
    assert buffer_kb_for(10 ** 9, avail_kb=1024 * 1024, cpus=2) == 65536
    assert buffer_kb_for(10 ** 9) == 256 * 1024


# -- the fake tracefs tree ----------------------------------------------------
@pytest.fixture
def fake_tracefs(tmp_path, monkeypatch):
    root = tmp_path / "tracing"
    (root / "instances").mkdir(parents=True)
    mounts = tmp_path / "mounts"
    mounts.write_text(f"tracefs {root} tracefs rw 0 0\n")
    state = tmp_path / "state"
    monkeypatch.setenv("MEMCG_EDU_STATE_DIR", str(state))
    return root, mounts, state


def test_lost_events_are_read_per_cpu(tmp_path):
    inst = tmp_path / "inst"
    for cpu, (over, drop) in enumerate(((5, 0), (0, 7))):
        d = inst / "per_cpu" / f"cpu{cpu}"
        d.mkdir(parents=True)
        (d / "stats").write_text(f"entries: 10\noverrun: {over}\ncommit overrun: 0\n"
                                 f"bytes: 1\ndropped events: {drop}\nread events: 0\n")
    assert tracefs.lost_events(inst) == {
        0: {"overrun": 5, "dropped": 0, "entries": 10},
        1: {"overrun": 0, "dropped": 7, "entries": 10}}


def test_not_root_is_refused_in_one_line(monkeypatch, fake_tracefs):
    monkeypatch.setattr(os, "geteuid", lambda: 1000)
    with pytest.raises(LiveError) as e:
        tracefs.TraceInstance(mounts=fake_tracefs[1]).__enter__()
    assert str(e.value) == ("tracing needs root (tracefs control files are "
                            "root-only)")
    with pytest.raises(LiveError, match="tracing needs root"):
        trace("charge", 64)


def test_cli_refuses_a_user_without_root_in_one_line(tmp_path):
    """Run as nobody (setpriv): exit 3, one line, nothing printed before."""
    import shutil
    import subprocess
    from live_helpers import live_cli
    if os.geteuid() != 0 or shutil.which("setpriv") is None:
        pytest.skip("needs root and setpriv to drop to an unprivileged user")
    env = dict(os.environ, PYTHONPATH=str(Path(__file__).resolve().parents[2]))
    r = subprocess.run(["setpriv", "--reuid=65534", "--regid=65534",
                        "--clear-groups", *live_cli("trace", "charge", "--out",
                                                    str(tmp_path / "t.json"))],
                       env=env, capture_output=True, text=True, timeout=120)
    assert r.returncode == 3
    assert r.stdout == ""
    assert r.stderr == ("error: tracing needs root (tracefs control files are "
                        "root-only); use recorded_trace() instead\n")


def test_no_tracefs_and_nowhere_to_mount_is_refused(tmp_path, fake_tracefs):
    if os.geteuid() != 0:
        pytest.skip("the refusal checked after the root check")
    mounts = tmp_path / "no-tracefs"
    mounts.write_text("proc /proc proc rw 0 0\n")
    inst = tracefs.TraceInstance(mounts=mounts, mount_at=tmp_path / "missing")
    with pytest.raises(LiveError) as e:
        inst.__enter__()
    assert "no tracefs mounted and no" in str(e.value)
    assert os.listdir(fake_tracefs[2]) == []   # no record left


def test_a_failed_setup_leaves_no_instance(fake_tracefs):
    """A fake tracefs: mkdir gives an empty directory with no control
    files, so the first write fails; the instance is removed again."""
    if os.geteuid() != 0:
        pytest.skip("the instance is only made as root")
    root, mounts, state = fake_tracefs
    with pytest.raises(OSError):
        with tracefs.TraceInstance(mounts=mounts):
            pass
    assert os.listdir(root / "instances") == []
    assert os.listdir(state) == []


def test_ctrl_c_just_after_the_instance_is_made_leaves_none(fake_tracefs,
                                                            monkeypatch):
    """Ctrl-C lands right after mkdir made the trace instance: the run
    stops, and still removes the instance and its record."""
    import signal
    if os.geteuid() != 0:
        pytest.skip("the instance is only made as root")
    root, mounts, state = fake_tracefs
    mkdir = os.mkdir

    def mkdir_then_ctrl_c(path, *args, **kw):
        mkdir(path, *args, **kw)
        if Path(path).parent == root / "instances":
            os.kill(os.getpid(), signal.SIGINT)
    monkeypatch.setattr(tracefs.os, "mkdir", mkdir_then_ctrl_c)
    with pytest.raises(KeyboardInterrupt):
        with tracefs.TraceInstance(mounts=mounts):
            pytest.fail("the run went on after Ctrl-C")
    assert os.listdir(root / "instances") == []
    assert os.listdir(state) == []


def _plant(path: Path, data: dict) -> None:
    """A trace record as a run writes it (0600 in the state directory)."""
    path.write_text(json.dumps(data))
    path.chmod(0o600)


def test_stale_instance_of_a_dead_run_is_removed_and_nothing_else(fake_tracefs):
    root, mounts, state = fake_tracefs
    state.mkdir(mode=0o700)
    dead = root / "instances" / "memcg-edu-999999-0badf00d"
    no_record = root / "instances" / "memcg-edu-999998-0badf00d"
    other = root / "instances" / "perf-tool"
    mine_alive = root / "instances" / f"memcg-edu-{os.getpid()}-12345678"
    for d in (dead, no_record, other, mine_alive):
        d.mkdir()   # empty: a fake instance rmdirs as the kernel's does
    _plant(state / "trace-999999-1.json",
           {"pid": 999999, "instance": dead.name})
    # a dead run's run record is runstate's to clean, not the tracer's
    _plant(state / "run-999999-1.json", {"pid": 999999, "start": 1,
                                         "instance": no_record.name})
    start = runstate.proc_start(os.getpid())
    _plant(state / f"trace-{os.getpid()}-{start}.json",
           {"pid": os.getpid(), "instance": mine_alive.name})
    removed = tracefs.cleanup_stale(mounts)
    assert removed == [f"removed stale trace instance {dead}"]
    assert not dead.exists()
    assert no_record.exists() and other.exists() and mine_alive.exists()
    assert sorted(os.listdir(state)) == ["run-999999-1.json",
                                         f"trace-{os.getpid()}-{start}.json"]


def test_state_dir_must_be_private(fake_tracefs):
    state = fake_tracefs[2]
    state.mkdir(mode=0o755)
    os.chmod(state, 0o755)
    with pytest.raises(LiveError, match="mode 0755"):
        tracefs.cleanup_stale(fake_tracefs[1])


def test_recorded_traces_load(monkeypatch, tmp_path):
    from memcg_edu.live import trace as trace_mod
    monkeypatch.setattr(trace_mod, "RECORDED_DIR", tmp_path)
    with pytest.raises(LiveError, match="no recorded trace .*recorded are none"):
        recorded_trace("charge")
    rec = _recording(tmp_path, _life_text()[:14])
    rec.save(tmp_path / "trace-charge.json.gz")
    assert recorded_trace("charge").timeline.ops == rec.timeline.ops


def test_a_busy_stale_instance_is_kept_with_its_record(fake_tracefs, monkeypatch):
    """An instance that will not go (a fake one holding a file: rmdir says
    ENOTEMPTY, as the kernel says EBUSY while a reader has it open) stays,
    with its record, for the next start; the run goes on."""
    import functools
    root, mounts, state = fake_tracefs
    state.mkdir(mode=0o700)
    busy = root / "instances" / "memcg-edu-999997-0badf00d"
    busy.mkdir()
    (busy / "trace").write_text("")
    _plant(state / "trace-999997-1.json",
           {"pid": 999997, "instance": busy.name})
    monkeypatch.setattr(tracefs, "_rmdir_instance",
                        functools.partial(tracefs._rmdir_instance, timeout=0.1))
    removed = tracefs.cleanup_stale(mounts)
    assert len(removed) == 1 and removed[0].startswith(
        f"kept a stale run's leftovers for now: cannot remove trace instance {busy}")
    assert busy.is_dir() and (state / "trace-999997-1.json").exists()


@pytest.mark.parametrize("name", ["charge", "pagecache", "swap", "migrate", "move"])
def test_recorded_trace_statistics_add_up_to_memory_stat(name):
    """In each recording (data/real-kernel), the traced NR_ANON_MAPPED and
    NR_FILE_PAGES changes, summed up to a step, are exactly the rss and
    cache memory.stat gave after that step; and every story is complete."""
    tr = recorded_trace(name)
    assert tr.lost == 0 and all(st["complete"] for st in tr.pages)
    for step in tr.timeline.steps:
        for memcg, rec in step["memcgs"].items():
            for item, counter in (("nr_anon_pages", "rss"), ("nr_file_pages", "cache")):
                traced = sum(d for s, m, i, d in tr.changes
                             if m == memcg and i == item and s <= step["step"])
                assert traced == rec["stat"][counter], (step["step"], memcg, counter)


def test_pages_the_kernel_kept_are_named(tmp_path):
    """Two pages never freed in the trace while the model frees them at the
    unmap: one never reached an LRU list (still in the per-CPU batch), one
    sat on it in the swap cache."""
    text = [_mark(1.0, "1 fault_anon")]
    for i, pfn in enumerate((0x10, 0x11)):
        text.append(_line(CHILD, 1.1 + i / 100, "mm_page_alloc",
                          f"page=0 pfn={pfn:#x} order=0 migratetype=1 "
                          f"gfp_flags={ANON}"))
    text.append(_line(CHILD, 1.2, "mm_lru_insertion",
                      "folio=0 pfn=0x11 lru=0 flags= asb  "))
    cmp = compare_trace(_recording(tmp_path, text, pages=16))
    assert cmp.diff("x[0]").cause == "per-CPU LRU batch"
    assert cmp.diff("x[1]").cause == "swap cache"
    assert "in the swap cache" in cmp.diff("x[1]").text


def test_trace_lock_and_record_are_apart_from_the_run_ones(fake_tracefs):
    """The trace lock and record share runstate's state directory but not
    its names: a traced run holding trace.lock does not hold swap.lock,
    and its record is not a run record (nor the other way round)."""
    state = fake_tracefs[2]
    with tracefs.trace_lock():
        with runstate.swap_lock(exclusive=True, timeout=0):
            pass
        with pytest.raises(LiveError, match="held the trace lock for 0 s"):
            with tracefs.trace_lock(timeout=0):
                pass
    tracefs._Record("trace-1-2.json").write({"pid": 1})
    assert sorted(os.listdir(state)) == ["swap.lock", "trace-1-2.json",
                                          "trace.lock"]
    assert list(runstate.stale_records()) == []
    assert os.stat(state / "trace-1-2.json").st_mode & 0o777 == 0o600


def test_trace_lock_is_not_taken_through_a_symlink(fake_tracefs, tmp_path):
    state = fake_tracefs[2]
    state.mkdir(mode=0o700)
    target = tmp_path / "elsewhere"
    (state / "trace.lock").symlink_to(target)
    with pytest.raises(LiveError, match="cannot open the lock trace.lock"):
        with tracefs.trace_lock():
            pass
    assert not target.exists()

def test_summary_lines_wrap_between_words():
    """Notebook 06 prints render_summary: a line wider than the output column
    wrapped mid-word ("LRU tail" / "s, in a different order")."""
    from memcg_edu.live.trace_compare import SUMMARY_WIDTH, render_summary
    pages = compare_trace(recorded_trace("swap"))
    text = render_summary(pages)
    assert all(len(line) <= SUMMARY_WIDTH for line in text.splitlines()), text
    assert text.splitlines()[0].endswith("pages had the same life on the kernel and in the model")
    for cause, n in pages.summary["causes"].items():      # every cause still said, in full
        assert f"{n:6d} {cause}: e.g." in text
    assert " ".join(text.split()).count("e.g.") == len(pages.summary["causes"])


def test_a_page_the_kernel_freed_a_step_later_is_named():
    """Same life, but the final free came a step later on the kernel (the
    move workload: the exiting task's last thread frees after the mark)."""
    from memcg_edu.live.trace_compare import _cause
    story = {"events": [(1, "allocated", 0, {}), (1, "put on an LRU list", 0, {}),
                        (6, "freed", 0, {})]}
    cause, text = _cause("y[3]", [(1, "allocated"), (6, "freed")],
                         [(1, "allocated"), (5, "freed")], story, {})
    assert cause == "freed later"
    assert "step 6 on the kernel, at step 5 in the model" in text
    # a different allocation step is not this cause
    cause, _ = _cause("y[3]", [(2, "allocated"), (6, "freed")],
                      [(1, "allocated"), (5, "freed")], story, {})
    assert cause == "different"
