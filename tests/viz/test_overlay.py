import pytest

from memcg_edu.errors import ModelUsageError
from memcg_edu.timeline import Timeline
from memcg_edu.viz import plot_overlay
from memcg_edu.viz.overlay import timeline_label
from memcg_synth import small_timeline


def test_two_timelines_on_one_axes(tl):
    other = small_timeline()
    other.meta.update(design="3.16")
    ax = plot_overlay(other, tl, "A").axes[0]
    labels = [l.get_label() for l in ax.get_lines() if not l.get_label().startswith("_")]
    assert labels == ["usage, model 3.16", "usage, model 3.17",
                      "memsw usage, model 3.16", "memsw usage, model 3.17"]
    solid, dashed = ax.get_lines()[0], ax.get_lines()[1]
    assert solid.get_linestyle() == "-" and dashed.get_linestyle() == "--"
    assert "3.16 (solid) vs model 3.17 (dashed)" in ax.get_title()


def test_kernel_label_and_missing_memcg(tl):
    k = Timeline(tl.steps, {"source": "kernel", "kernel": "6.1", "cgroup": "v1"})
    assert timeline_label(k) == "kernel 6.1 (v1)"
    only_b = Timeline([{"memcgs": {"B": s["memcgs"]["B"]}} for s in tl.steps])
    with pytest.raises(ModelUsageError, match="not in both timelines"):
        plot_overlay(tl, only_b, "A")
    with pytest.raises(ModelUsageError, match="unknown counter"):
        plot_overlay(tl, tl, "A", counters=("usage", "bogus"))
