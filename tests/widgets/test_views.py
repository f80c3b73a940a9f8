import pytest

from memcg_edu.errors import ModelUsageError
from memcg_edu.widgets import lru_view, page_grid_view
from memcg_synth import small_timeline


def test_lru_view_bars_and_counts(tl):
    v = lru_view(tl)
    assert v.heights()["A"]["active_anon"] == 1
    v.show(6)
    assert v.heights()["A"]["active_anon"] == 3
    assert v.heights()["B"]["inactive_file"] == 1
    assert "<b>B</b>: inactive file 1" in v.counts.value
    assert "touched page on B's inactive file" in v.counts.value
    out = v.view.output.outputs[-1]
    assert out["output_type"] == "display_data" and "<img src='data:image/png;base64," in out["data"]["text/html"]


def test_page_grid_highlights_the_touched_page(tl):
    g = page_grid_view(tl)
    g.show(5)
    view = g.view
    assert view["step"] == 5 and view["touched"] == [0]
    assert view["pages"][0][0] == 0 and view["pages"][0][1] == ""     # freed, no label
    assert "swap_cgroup record: A" in " ".join(c[-1] for c in view["slots"])
    g.show(6)
    view = g.view
    assert view["touched"] == [0]
    # f: charged file, count 1, mapcount 0, U M W, pc->mem_cgroup B
    assert view["pages"][0][:6] == [2, "f", 1, 0, "UMW", "B"]


def test_page_grid_without_page_state():
    g = page_grid_view(small_timeline(with_pages=False))
    assert not g.available
    assert "pages" not in g.view and g.frames() == 0
    with pytest.raises(ModelUsageError, match="step 0 records no page frames to pick"):
        g.pick(0)
    g.grid.set_state({"picked": 0})             # as a front-end would: a note, no pick
    assert g.grid.picked is None and g.grid.note.startswith("step 0 records no page frames")


def test_lru_image_after_a_cached_step_is_right(tl):
    from memcg_edu.timeline import Timeline

    same_twice = Timeline([tl[0], tl[1], dict(tl[1], step=2)])
    v = lru_view(same_twice)
    v.show(1)
    at_1 = v.view.png
    v.show(0)                  # served from the per-step cache
    v.show(2)                  # draws exactly what step 1 drew
    assert v.view.png == at_1
