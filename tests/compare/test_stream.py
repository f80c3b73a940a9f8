"""compare's one-pass report (memcg_edu.compare.stream) prints what the Comparison prints."""
import io
import json
from dataclasses import replace
from pathlib import Path

import pytest

from memcg_edu.cli import main
from memcg_edu.compare import compare_scenario, render_text
from memcg_edu.compare.stream import stream_compare
from memcg_edu.errors import KernelBugError, ScenarioError
from memcg_edu.scenario.registry import REGISTRY
from memcg_edu.timeline import COUNTERS, STATS

DATA = Path(__file__).parents[2] / "data" / "scenarios"
SCENARIOS = sorted(DATA.glob("*.json"))

MIXED = {
    "format": "memcg-edu-scenario/1", "title": "mixed",
    "machine": {"ram_pages": 16, "swap_slots": 8},
    "memcgs": {"A": {}, "Bee": {"limit": 4}}, "tasks": {"p": "A", "q": "Bee"},
    "steps": [
        {"op": "fault_anon", "task": "p", "page": "x"},
        {"op": "get_page", "page": "x"},
        {"op": "unmap", "task": "p", "page": "x"},
        {"op": "add_to_page_cache", "task": "q", "page": "f"},
        {"op": "put_page", "page": "x"},
        {"op": "fault_anon", "task": "q", "page": "y"},
        {"op": "swap_out", "page": "y"},
        {"op": "truncate", "page": "f"},
    ],
}


def streamed(sc, **kw) -> str:
    out = io.StringIO()
    stream_compare(sc, out, **kw)
    return out.getvalue()


def expected(sc, as_json=False, counters=None, calls=False) -> str:
    cmp = compare_scenario(sc)
    if as_json:
        return json.dumps(cmp.to_dict()) + "\n"
    return render_text(cmp, **({"counters": counters} if counters else {}), calls=calls)


@pytest.mark.parametrize("path", SCENARIOS, ids=lambda p: p.stem)
def test_shipped_scenarios_print_what_the_comparison_prints(path):
    cmp = compare_scenario(path)
    assert streamed(path, calls=True) == render_text(cmp, calls=True)
    assert streamed(path, as_json=True) == json.dumps(cmp.to_dict()) + "\n"


def test_all_counters_and_calls_of_a_scenario_that_differs():
    text = streamed(MIXED, counters=COUNTERS + STATS, calls=True)
    assert text == expected(MIXED, counters=COUNTERS + STATS, calls=True)
    assert "*0/1" in text and "3.16 calls:" in text
    data = json.loads(streamed(MIXED, as_json=True))
    assert data == compare_scenario(MIXED).to_dict() and data["differing_steps"]


def break_at(monkeypatch, op, designs):
    """Op ``op`` breaks a kernel precondition under ``designs``."""
    entry = REGISTRY[op]

    def apply(c, s):
        if c.m.design in designs:
            raise KernelBugError("page 0 is still on an LRU list",
                                 "VM_BUG_ON_PAGE(PageLRU(page))", "mem_cgroup_uncharge")
        return entry.apply(c, s)
    monkeypatch.setitem(REGISTRY, op, replace(entry, apply=apply))


@pytest.mark.parametrize("op, designs", [("put_page", {"3.16"}), ("unmap", {"3.17"}),
                                         ("put_page", {"3.16", "3.17"})])
def test_a_design_that_stops_gives_the_same_report(monkeypatch, op, designs):
    break_at(monkeypatch, op, designs)
    cmp = compare_scenario(MIXED)
    assert {b["design"] for b in cmp.kernel_bugs} == designs
    for kw in ({}, {"calls": True}, {"as_json": True}):
        assert streamed(MIXED, **kw) == expected(MIXED, **kw)
    out = io.StringIO()
    assert stream_compare(MIXED, out) == cmp.kernel_bugs


def test_both_designs_stopping_early_narrow_the_op_column(monkeypatch):
    break_at(monkeypatch, "get_page", {"3.16", "3.17"})
    text = streamed(MIXED)
    assert text == expected(MIXED)
    head = next(line for line in text.splitlines() if line.lstrip().startswith("step"))
    assert head.split()[:2] == ["step", "op"] and "truncate" not in text
    assert len(head.split("memcg")[0]) == len("step ") + len("fault_anon") + 1


def test_a_step_found_invalid_half_way_writes_nothing(tmp_path, capsys):
    bad = dict(MIXED, steps=MIXED["steps"] + [{"op": "unmap", "task": "p", "page": "x"}])
    with pytest.raises(ScenarioError):
        stream_compare(bad, io.StringIO())
    f = tmp_path / "bad.json"
    f.write_text(json.dumps(bad))
    for flags in ([], ["--json"]):
        assert main(["compare", str(f), *flags]) == 2
        cap = capsys.readouterr()
        assert cap.out == "" and cap.err.startswith("error: ")


@pytest.mark.parametrize("parts, under", [(["A 1", "B 2"], []), (["A 1"], ["  x", "  y"]),
                                          ([], ["  only under"]), ([], [])])
def test_a_rows_text_is_its_lines(parts, under):
    from memcg_edu.compare.report import StepsTable
    lines = StepsTable.lines(7, "migrate", parts, under, 12)
    assert StepsTable.text(7, "migrate", parts, under, 12) == "".join(
        line + "\n" for line in lines)


def test_rows_are_written_once_the_widest_op_is_reached(monkeypatch):
    """The table does not wait for the end: from the first step of the
    scenario's widest op on, each row is written as it is compared."""
    from memcg_edu.compare import stream
    from memcg_edu.scenario import load_scenario

    sc = load_scenario(MIXED)            # widest op: add_to_page_cache, step 3
    consumed = []
    pairs = list(stream._paired(sc, {}))

    def paired(s, stopped, child=None):
        for k, pair in enumerate(pairs):
            consumed.append(k)
            yield pair

    class Out(io.StringIO):
        def write(self, s):
            at.append((len(consumed), s))
            return super().write(s)

    at: list = []
    monkeypatch.setattr(stream, "_paired", paired)
    out = Out()
    stream._write(sc, out, False, stream.SHOWN, False)
    assert out.getvalue() == expected(MIXED)
    first = next(n for n, s in at if "step" in s and "op" in s)
    assert first == 4                    # steps 0..3 compared, then the head
    rows = [n for n, s in at if s[:4].strip().isdigit()]
    # steps 0..3 with the head, then each row as soon as its step is compared
    assert rows == [4, 4, 4, 4] + list(range(5, len(pairs) + 1))


def test_the_collector_is_off_while_both_designs_run_and_on_after(monkeypatch):
    import gc
    from memcg_edu.compare import stream
    real, seen = stream._paired, []

    def paired(s, stopped, child=None):
        for pair in real(s, stopped, child):
            seen.append(gc.isenabled())
            yield pair
    monkeypatch.setattr(stream, "_paired", paired)
    assert gc.isenabled()
    streamed(MIXED)
    assert seen and not any(seen) and gc.isenabled()
    bad = dict(MIXED, steps=MIXED["steps"] + [{"op": "unmap", "task": "p", "page": "x"}])
    with pytest.raises(ScenarioError):
        streamed(bad)
    assert gc.isenabled()


def test_step_differs_read_in_order_agrees_with_step_differs():
    """StepDiffers keeps each memcg's answer while the runner hands the same
    two records again; a record equal but not the same, or one changed,
    is compared again."""
    from memcg_edu.compare.diff import StepDiffers, step_differs
    from memcg_edu.compare.stream import ALL, _paired
    from memcg_edu.scenario import load_scenario

    pairs = list(_paired(load_scenario(MIXED), {}))
    same, other = {"usage": 1, "stat": {"rss": 1}}, {"usage": 2, "stat": {"rss": 1}}
    twin = {"usage": 1, "stat": {"rss": 1}}
    made = [({"memcgs": {"A": same, "Bee": same}}, {"memcgs": {"A": same, "Bee": same}}),
            ({"memcgs": {"A": same, "Bee": same}}, {"memcgs": {"A": other, "Bee": same}}),
            ({"memcgs": {"A": same, "Bee": same}}, {"memcgs": {"A": twin, "Bee": same}}),
            ({"memcgs": {"A": same}}, {"memcgs": {"A": twin, "Bee": other}}),
            ({"memcgs": {}}, {"memcgs": {"A": twin, "Bee": other}})]
    for seq in (pairs, made, made[::-1]):
        differs = StepDiffers(["A", "Bee"], ALL)
        got = [differs(sa, sb) for sa, sb in seq]
        assert got == [step_differs(sa, sb, ["A", "Bee"], ALL) for sa, sb in seq]
    assert got == [True, True, False, True, False]
