import pytest
from matplotlib.colors import to_rgb

from memcg_edu.errors import ModelUsageError
from memcg_edu.viz.pagegrid import PAGE_COLORS
from memcg_edu.viz.style import LRU_COLORS, OKABE_ITO, SIZES, get_style


def test_sizes():
    assert get_style("projector").font > get_style("screen").font > get_style("print").font
    assert get_style("print").dpi >= 300
    with pytest.raises(ModelUsageError, match="unknown figure size 'huge'"):
        get_style("huge")


def test_palette_is_distinct():
    assert len({to_rgb(c) for c in OKABE_ITO.values()}) == len(OKABE_ITO)
    assert len(set(PAGE_COLORS)) == len(PAGE_COLORS)
    assert len(set(LRU_COLORS.values())) == 5


def test_figures_show_as_png_in_a_notebook():
    from memcg_synth import small_timeline
    from memcg_edu.viz import plot_lru

    fig = plot_lru(small_timeline(), 3)
    assert fig._repr_png_()[:4] == b"\x89PNG"
