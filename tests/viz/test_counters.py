import numpy as np
import pytest

from memcg_edu.errors import ModelUsageError
from memcg_edu.timeline import Timeline
from memcg_edu.viz import plot_counters
from memcg_edu.viz.counters import set_step


def _line(ax, label):
    return next(l for l in ax.get_lines() if l.get_label() == label)


def _points(ax, label):
    coll = next(c for c in ax.collections if c.get_label() == label)
    return coll.get_offsets()


def test_usage_memsw_and_limit_lines_follow_the_steps(tl):
    fig = plot_counters(tl, "A")
    ax = fig.axes[0]
    # state after step i is drawn over [i-0.5, i+0.5): y has one extra closing point
    assert list(_line(ax, "usage (memory)").get_ydata()[:-1]) == [1, 2, 3, 4, 4, 3, 3, 2, 3, 2]
    assert list(_line(ax, "memsw usage (memory+swap)").get_ydata()[:-1]) == \
        [1, 2, 3, 4, 4, 4, 4, 3, 4, 3]
    assert set(_line(ax, "limit").get_ydata()) == {4}
    assert set(_line(ax, "memsw limit").get_ydata()) == {8}
    assert ax.get_ylabel() == "pages"
    assert "step" in fig.axes[0].get_xlabel() or "step" in fig.axes[-1].get_xlabel()


def test_event_markers_sit_on_their_steps(tl):
    ax = plot_counters(tl, "A").axes[0]
    assert list(_points(ax, "failcnt")[:, 0]) == [4]
    assert list(_points(ax, "OOM")[:, 0]) == [4]
    assert _points(ax, "swap-out").tolist() == [[5, 4]]   # on the memsw line
    assert list(_points(ax, "charge")[:, 0]) == [0, 1, 2, 3, 8]
    assert list(_points(ax, "uncharge")[:, 0]) == [5, 7, 9]


def test_unlimited_memcg_draws_no_limit_and_one_panel_per_memcg(tl):
    fig = plot_counters(tl)
    panels = [a for a in fig.axes if a.get_title()]
    assert [a.get_title().split(":")[0] for a in panels] == ["memcg A", "memcg B"]
    labels_b = [l.get_label() for l in panels[1].get_lines()]
    assert "limit" not in labels_b
    legend = fig.legends[0]
    assert {"usage (memory)", "swap charge (memsw - usage)", "OOM"} <= \
        {t.get_text() for t in legend.get_texts()}


def test_cursor_moves_without_redrawing_lines(tl):
    fig = plot_counters(tl, "A", step=2)
    cursor = fig.memcg_edu["cursors"][0]
    assert list(cursor.get_xdata()) == [2, 2] and cursor.get_visible()
    lines_before = list(fig.axes[0].get_lines())
    set_step(fig, tl, 7)
    assert list(cursor.get_xdata()) == [7, 7]
    assert list(fig.axes[0].get_lines()) == lines_before


def test_bytes_axis_and_sizes(tl):
    fig = plot_counters(tl, "A", size="projector")
    small = plot_counters(tl, "A", size="print")
    assert fig.axes[0].title.get_fontsize() > small.axes[0].title.get_fontsize()
    kib = [a for a in fig.axes[0].child_axes if a.get_ylabel() == "KiB"]
    assert kib, "pages axis has a KiB twin"


def test_bad_requests_are_clear(tl):
    with pytest.raises(ModelUsageError, match="no memcg 'Z'"):
        plot_counters(tl, "Z")
    import matplotlib.figure
    ax = matplotlib.figure.Figure().add_subplot()
    with pytest.raises(ModelUsageError, match="exactly one memcg"):
        plot_counters(tl, ax=ax)
    with pytest.raises(ModelUsageError, match="no steps"):
        plot_counters(Timeline())
    fig = plot_counters(tl, "A", ax=ax)
    assert fig is ax.figure and ax.get_legend() is not None
    sub_ax = matplotlib.figure.Figure().subfigures(1, 2)[0].add_subplot()
    with pytest.raises(ModelUsageError, match="not of a SubFigure"):
        plot_counters(tl, "A", ax=sub_ax)


def test_a_one_step_swap_charge_is_shaded_and_large_sizes_use_mib():
    recs = [{"op": "x", "memcgs": {"A": {"usage": u, "memsw_usage": m, "limit": None,
                                         "memsw_limit": None, "stat": {}}}}
            for u, m in ((4000, 4000), (4000, 6000), (4000, 4000))]
    ax = plot_counters(Timeline(recs), "A").axes[0]
    shade = next(c for c in ax.collections if c.get_label().startswith("swap charge"))
    area = 0.0
    for path in shade.get_paths():                     # shoelace formula
        x, y = path.vertices[:, 0], path.vertices[:, 1]
        area += abs(np.dot(x, np.roll(y, 1)) - np.dot(y, np.roll(x, 1))) / 2
    assert area == pytest.approx(2000)                # 2000 pages over exactly one step
    assert [a.get_ylabel() for a in ax.child_axes] == ["MiB"]


def test_long_timelines_are_drawn_at_display_resolution():
    from memcg_edu.viz.style import DISPLAY_POINTS
    from memcg_synth import repeated_timeline

    tl = repeated_timeline(3 * DISPLAY_POINTS + 7)
    ax = plot_counters(tl, "A", markers=False).axes[0]
    line = _line(ax, "usage (memory)")
    assert len(line.get_xdata()) <= DISPLAY_POINTS + 1
    usage = tl.counter("A", "usage")
    # the envelope keeps the extremes of the full series
    assert line.get_ydata().max() == usage.max() and line.get_ydata().min() == usage.min()
