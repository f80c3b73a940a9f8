"""The test suite fails loudly: no skip because a committed file is missing,
no importorskip of the project's own modules, no wall-clock asserts in unit
tests (timings live in benchmarks/)."""
from __future__ import annotations

import re
from pathlib import Path

TESTS = Path(__file__).resolve().parent
#: tests of a real machine, a browser or a running hub: they wait on clocks and skip when
#: the machine lacks what they need (not a committed file)
CLOCKED = ("live", "browser", "hub")
UNIT = [p for p in sorted(TESTS.rglob("*.py"))
        if p.relative_to(TESTS).parts[0] not in CLOCKED and p.name != Path(__file__).name]


def hits(pattern: str, paths) -> list[str]:
    rx = re.compile(pattern)
    return [f"{p.relative_to(TESTS)}:{n}: {line.strip()}" for p in paths
            for n, line in enumerate(p.read_text().splitlines(), 1) if rx.search(line)]


def test_no_skip_when_a_file_is_missing():
    rx = re.compile(r"exists\(\)[^\n]*:\s*\n\s*pytest\.skip\(")
    bad = [str(p.relative_to(TESTS)) for p in UNIT if rx.search(p.read_text())]
    assert bad == []


def test_no_importorskip_of_the_projects_own_modules():
    assert hits(r"importorskip\(\s*[\"']memcg_edu", TESTS.rglob("*.py")) == []


def test_no_wall_clock_in_unit_tests():
    assert hits(r"\btime\.(monotonic|perf_counter|time|process_time)\(", UNIT) == []
