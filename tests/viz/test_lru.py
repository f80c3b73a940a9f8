import numpy as np
import pytest

from memcg_edu.errors import ModelUsageError
from memcg_edu.viz import plot_lru
from memcg_edu.viz.lru import lru_counts, lru_memcgs, set_step
from memcg_synth import small_timeline


def _heights(fig):
    meta = fig.memcg_edu
    return {n: [int(meta["bars"][j][i].get_height()) for j in range(5)]
            for i, n in enumerate(meta["names"])}


def test_bars_count_the_lists_at_a_step(tl):
    fig = plot_lru(tl, 6)
    h = _heights(fig)
    assert h["A"] == [0, 3, 0, 0, 0]       # three anon pages left after the swap-out
    assert h["B"] == [0, 0, 1, 0, 0]       # one file page
    assert h["root"] == [0] * 5
    assert "after step 6 (add_to_page_cache)" in fig.axes[0].get_title()
    assert [t.get_text() for t in fig.axes[0].get_xticklabels()] == ["root", "A", "B"]


def test_pages_and_stats_give_the_same_counts(tl):
    names = lru_memcgs(tl)
    bare = small_timeline(with_pages=False)
    for step in range(len(tl)):
        with_pages = lru_counts(tl[step], names)
        from_stats = lru_counts(bare[step], names)
        assert np.array_equal(with_pages[1:], from_stats[1:]), step


def test_set_step_keeps_the_scale(tl):
    fig = plot_lru(tl, 0)
    ylim = fig.axes[0].get_ylim()
    set_step(fig, tl, 3)
    assert _heights(fig)["A"] == [0, 4, 0, 0, 0]
    assert fig.axes[0].get_ylim() == ylim
    texts = [t.get_text() for t in fig.memcg_edu["texts"]]
    assert texts.count("4") == 1


def test_step_out_of_range(tl):
    with pytest.raises(ModelUsageError, match="step 10 is outside"):
        plot_lru(tl, 10)


def test_touched_page_outlines_its_list(tl):
    fig = plot_lru(tl, 6)                  # step 6 adds file page f to B's inactive file
    meta = fig.memcg_edu
    b = meta["names"].index("B")
    widths = {(i, j): meta["bars"][j][i].get_linewidth()
              for j in range(5) for i in range(len(meta["names"]))}
    assert widths[(b, 2)] > 2 and sorted(w for w in widths.values())[-2] < 1


def test_lru_max_reads_every_record_as_lru_counts_does(tl, monkeypatch):
    """lru_max counts the page state in blocks: the same maximum as
    lru_counts record by record, across blocks, with records without page
    state (read from their statistics) and other memcg names in between."""
    import memcg_edu.viz.lru as lru

    bare = small_timeline(with_pages=False)
    names = lru_memcgs(tl)
    mixed = [tl[i] if i % 3 else bare[i] for i in range(len(tl))]
    renamed = dict(tl[2], pages=dict(tl[2]["pages"],
                                     memcg_names=list(reversed(tl[2]["pages"]["memcg_names"]))))
    mixed.insert(2, renamed)
    monkeypatch.setattr(lru, "_BLOCK", 2)        # several blocks even in a short run
    for some in (names, names[1:], ["B", "nobody"]):
        want = [int(lru_counts(r, some).max()) for r in mixed]
        assert lru._pages_max(mixed, some) == want
        assert lru._pages_max(tl.steps, some) == [int(lru_counts(r, some).max())
                                                  for r in tl.steps]
    assert max(want) > 0
