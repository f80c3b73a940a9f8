"""Fixtures for the live tests: the real machine (or a skip with the reason),
a fake cgroup/proc tree, and a check that nothing was left behind."""
from __future__ import annotations

import os
from pathlib import Path

import pytest

from memcg_edu.live import detect

REPO = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="session")
def caps():
    """This machine, when it can host a scratch memory cgroup; else skip."""
    c = detect()
    if c.cgroup is None or not c.can_create:
        pytest.skip("no scratch memory cgroup on this machine: "
                    + "; ".join(c.scratch_reasons))
    return c


@pytest.fixture(scope="session")
def caps_v1(caps):
    if caps.cgroup != "v1":
        pytest.skip("the kernel tests are written for the cgroup v1 files "
                    "(this machine has cgroup v2)")
    if not caps.memsw:
        pytest.skip("swap accounting is off (no memory.memsw.* files)")
    return caps


@pytest.fixture
def fake_machine(tmp_path):
    """Build a fake /proc and cgroup tree; returns a function(**options)."""
    def build(version: str = "v1", memsw: bool = True, swap_kb: int = 0,
              memory: bool = True, usage: int = 8192) -> Path:
        proc, cg = tmp_path / "proc", tmp_path / "cg"
        (proc / "self").mkdir(parents=True, exist_ok=True)
        (proc / "sys/kernel").mkdir(parents=True, exist_ok=True)
        (proc / "sys/vm").mkdir(parents=True, exist_ok=True)
        (proc / "sys/kernel/osrelease").write_text("9.9.9-fake\n")
        (proc / "sys/vm/compact_memory").write_text("")
        (proc / "vmstat").write_text("pgmigrate_success 0\n")
        swaps = "Filename\tType\tSize\tUsed\tPriority\n"
        if swap_kb:
            swaps += f"/fake.swap file {swap_kb} 0 -2\n"
        (proc / "swaps").write_text(swaps)
        if version == "v1":
            own = cg / "memory" / "me"
            (proc / "self/cgroup").write_text(
                "4:memory:/me\n" if memory else "3:cpu:/me\n")
            (proc / "self/mounts").write_text(
                f"cgroup {cg / 'memory'} cgroup rw,memory 0 0\n" if memory
                else f"cgroup {cg / 'cpu'} cgroup rw,cpu 0 0\n")
            own.mkdir(parents=True, exist_ok=True)
            files = {"memory.usage_in_bytes": usage,
                     "memory.max_usage_in_bytes": 2 * usage,
                     "memory.failcnt": 3,
                     "memory.limit_in_bytes": 9223372036854771712,
                     "memory.kmem.usage_in_bytes": 4096,
                     "memory.move_charge_at_immigrate": 0}
            if memsw:
                files.update({"memory.memsw.usage_in_bytes": usage + 4096,
                              "memory.memsw.max_usage_in_bytes": 2 * usage,
                              "memory.memsw.failcnt": 0,
                              "memory.memsw.limit_in_bytes": 9223372036854771712})
            for name, v in files.items():
                (own / name).write_text(f"{v}\n")
            (own / "memory.stat").write_text(
                f"cache 4096\nrss {usage - 4096}\nrss_huge 0\nshmem 0\n"
                f"mapped_file 0\nswap 4096\npgpgin 7\npgpgout 5\n"
                f"inactive_anon 4096\nactive_anon 0\ninactive_file 4096\n"
                f"active_file 0\nunevictable 0\n"
                f"total_cache 4096\n")
            (own / "cgroup.procs").write_text("")
        else:
            own = cg / "me"
            own.mkdir(parents=True, exist_ok=True)
            (proc / "self/cgroup").write_text("0::/me\n")
            (proc / "self/mounts").write_text(f"cgroup2 {cg} cgroup2 rw 0 0\n")
            (own / "cgroup.controllers").write_text(
                "cpu memory\n" if memory else "cpu\n")
            (own / "cgroup.subtree_control").write_text("memory\n")
            for name, v in {"memory.current": usage, "memory.peak": 2 * usage,
                            "memory.max": "max", "memory.swap.current": 4096,
                            "memory.swap.max": "max"}.items():
                (own / name).write_text(f"{v}\n")
            (own / "memory.events").write_text("low 0\nhigh 0\nmax 2\noom 0\n")
            (own / "memory.stat").write_text(
                f"anon {usage - 4096}\nfile 4096\nkernel 8192\nshmem 0\n"
                f"file_mapped 0\nanon_thp 0\ninactive_anon 4096\n"
                f"active_anon 0\ninactive_file 4096\nactive_file 0\n"
                f"unevictable 0\n")
        return proc
    return build


@pytest.fixture
def child_env():
    env = dict(os.environ)
    env["PYTHONPATH"] = str(REPO) + os.pathsep + env.get("PYTHONPATH", "")
    return env
