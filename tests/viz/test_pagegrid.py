import numpy as np
import pytest

from memcg_edu.errors import ModelUsageError
from memcg_edu.viz import plot_pagegrid
from memcg_edu.viz.pagegrid import (PAGE_STATES, SLOT_STATES, page_states, pcg_flags,
                                    set_step, slot_states)
from memcg_synth import small_timeline


def test_states_flags_and_slots(tl):
    pages = tl[6]["pages"]
    states = [PAGE_STATES[s] for s in page_states(pages)]
    # x0 went to swap at step 5, so the file page of step 6 reuses pfn 0
    assert states[:5] == ["charged file", "charged anon", "charged anon", "charged anon",
                          "free"]
    assert pcg_flags(pages)[1] == "UMW" and pcg_flags(pages)[4] == "-"
    assert SLOT_STATES[slot_states(pages)[0]] == "in use, swap_cgroup record"
    assert SLOT_STATES[slot_states(pages)[1]] == "free slot"


def test_3_16_flag_letters():
    pages = {"pc_flags": [2 | 1, 2 | 4, 0],
             "pcg_flag_names": {"1": "PCG_LOCK", "2": "PCG_USED", "4": "PCG_MIGRATION"}}
    assert pcg_flags(pages) == ["LU", "UG", "-"]


def test_grid_shows_flags_memcg_labels_and_touched(tl):
    fig = plot_pagegrid(tl, 5)
    meta = fig.memcg_edu
    texts = [t.get_text() for t in meta["texts"]]
    assert texts[1] == "1 x1\nc1 m1\nUMW A"      # refcount 1, mapcount 1
    assert texts[0] == "0"                      # freed by the swap-out
    assert [i for i, b in enumerate(meta["outlines"]) if b.get_visible()] == [0]
    slots = [t.get_text() for t in meta["slot_texts"]]
    assert slots[0] == "s0 x0\nn=1\nA"          # the swap_cgroup record names A
    grid = meta["image"].get_array()
    assert grid[0, 1] == PAGE_STATES.index("charged anon")
    set_step(fig, tl, 6)
    assert [t.get_text() for t in meta["texts"]][0] == "0 f\nc1 m0\nUMW B"
    assert [i for i, b in enumerate(meta["outlines"]) if b.get_visible()] == [0]
    assert meta["image"].get_array()[0, 0] == PAGE_STATES.index("charged file")


def test_no_page_state_is_a_clear_error():
    with pytest.raises(ModelUsageError, match="step 2 has no page state"):
        plot_pagegrid(small_timeline(with_pages=False), 2)


@pytest.mark.parametrize("frames, slots", [(16, 16), (64, 8), (30, 4)])
def test_a_white_line_parts_every_two_cells(frames, slots):
    """A minor tick at a cell's edge that falls on a major tick is dropped,
    and with it the grid line there: four rows of cells ran together."""
    from memcg_edu.scenario import run_scenario
    tl = run_scenario({"format": "memcg-edu-scenario/1", "title": "grid",
                       "machine": {"ram_pages": frames, "swap_slots": slots},
                       "memcgs": {"A": {}}, "tasks": {"p": "A"},
                       "steps": [{"op": "fault_anon", "task": "p", "page": "x"}]})
    fig = plot_pagegrid(tl, 0)
    for a, (rows, cols) in zip(fig.axes, [fig.memcg_edu["shape"], fig.memcg_edu["slot_shape"]]):
        assert list(a.xaxis.get_minorticklocs()) == list(np.arange(cols) - 0.5)
        assert list(a.yaxis.get_minorticklocs()) == list(np.arange(rows) - 0.5)
        assert all(t.gridline.get_visible()
                   for t in a.xaxis.get_minor_ticks() + a.yaxis.get_minor_ticks())
