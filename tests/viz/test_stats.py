import numpy as np

from memcg_edu.viz import plot_stats


def _top(collection):
    return max(v[:, 1].max() for v in (p.vertices for p in collection.get_paths()))


def test_stack_of_rss_cache_swap(tl):
    fig = plot_stats(tl, "A", step=5)
    ax = fig.axes[0]
    layers = {c.get_label(): c for c in ax.collections}
    assert list(layers) == ["rss (anonymous)", "cache (file and shmem)",
                            "swap (charged swap slots)"]
    # A: rss peaks at 4 pages; rss + cache + swap peaks at 4 (3 rss + 1 swap after step 5)
    assert _top(layers["rss (anonymous)"]) == 4
    assert _top(layers["swap (charged swap slots)"]) == 4
    assert ax.get_ylabel() == "pages"
    assert list(fig.memcg_edu["cursors"][0].get_xdata()) == [5, 5]


def test_file_pages_show_as_cache(tl):
    ax = plot_stats(tl, "B").axes[0]
    cache = next(c for c in ax.collections if c.get_label().startswith("cache"))
    assert _top(cache) == 1
