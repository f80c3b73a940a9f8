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
    assert out["output_type"] == "display_data" and out["data"]["image/png"]


def test_page_grid_highlights_the_touched_page(tl):
    g = page_grid_view(tl)
    g.show(5)
    html = g.html.value
    assert "after step 5" in html
    touched = [c for c in html.split("<td") if "memcg-edu-touched" in c]
    assert len(touched) == 1 and ">0 <b></b>" in touched[0]
    assert "swap_cgroup record: A" in html
    g.show(6)
    touched = [c for c in g.html.value.split("<td") if "memcg-edu-touched" in c]
    assert len(touched) == 1 and "0 <b>f</b><br>c1 m0<br>UMW<br>B" in touched[0]


def test_page_grid_without_page_state():
    g = page_grid_view(small_timeline(with_pages=False))
    assert not g.available
    assert "No page state recorded" in g.html.value


def test_lru_image_after_a_cached_step_is_right(tl):
    from memcg_edu.timeline import Timeline

    same_twice = Timeline([tl[0], tl[1], dict(tl[1], step=2)])
    v = lru_view(same_twice)
    v.show(1)
    at_1 = v.view.png
    v.show(0)                  # served from the per-step cache
    v.show(2)                  # draws exactly what step 1 drew
    assert v.view.png == at_1
