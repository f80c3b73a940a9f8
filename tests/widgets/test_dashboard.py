import base64
import json
import re

import pytest

from memcg_edu.errors import ModelUsageError
from memcg_edu.widgets import dashboard
from memcg_edu.widgets.render import HAVE_IPYMPL
from memcg_synth import repeated_timeline


def on_screen(*args, **kw):
    """A dashboard as a notebook shows it: built, then displayed."""
    d = dashboard(*args, **kw)
    d.displayed()
    return d


def test_no_figure_is_drawn_before_the_dashboard_is_displayed(tl):
    d = dashboard(tl)
    d.player.go(3)
    assert d.counters_plot.renders == 0 and d.counters_plot.output.outputs == ()
    bundle = d._repr_mimebundle_()              # what IPython's display calls
    assert "application/vnd.jupyter.widget-view+json" in bundle
    assert d.counters_plot.renders == 1
    assert list(d.counters_plot.figure.memcg_edu["cursors"][0].get_xdata()) == [3, 3]
    assert d.stats_plot.renders == 0             # its tab is not selected


def test_one_step_updates_every_view(tl):
    d = on_screen(tl)
    before = d.counters.html.value
    first_counters = d.counters_plot.png
    d.player.forward_button.click()
    assert d.player.step == 1
    assert "Counters after step 1" in d.counters.html.value and d.counters.html.value != before
    for view in (d.counters_plot, d.stats_plot):
        assert all(list(c.get_xdata()) == [1, 1] for c in view.figure.memcg_edu["cursors"])
    assert d.counters_plot.png != first_counters
    assert d.lru.heights()["A"]["active_anon"] == 2
    assert d.pages.view["step"] == 1 and d.pages.step == 1
    d.player.back_button.click()
    assert "Counters after step 0" in d.counters.html.value
    assert d.lru.heights()["A"]["active_anon"] == 1


def test_png_changes_with_the_cursor(tl):
    d = on_screen(tl)
    first = d.counters_plot.png
    d.player.go(6)
    assert d.counters_plot.png != first
    d.player.go(0)
    assert d.counters_plot.png == first      # blitting restores exactly


def test_smooth_mode_falls_back_without_ipympl(tl):
    d = on_screen(tl, smooth=True)
    if HAVE_IPYMPL:
        pytest.skip("ipympl is installed here; the fallback is not exercised")
    assert d.counters_plot.mode == "inline"
    assert "needs ipympl" in d.counters_plot.children[0].value
    d.player.forward()
    assert d.counters_plot.output.outputs


def test_loads_a_saved_timeline_file(tl, tmp_path):
    path = tmp_path / "t.json"
    tl.save(path)
    d = on_screen(str(path))
    assert len(d.timeline) == len(tl) and d.player.slider.max == 9


def test_bad_sources(tmp_path):
    with pytest.raises(ModelUsageError, match="no such file"):
        dashboard(str(tmp_path / "missing.json"))
    bad = tmp_path / "bad.json"
    bad.write_text("{not json")
    with pytest.raises(ModelUsageError, match="cannot read it as JSON"):
        dashboard(str(bad))
    with pytest.raises(ModelUsageError, match="cannot show int"):
        dashboard(3)


def test_long_timeline_jumps_without_replay():
    t = repeated_timeline(3000)
    d = on_screen(t)
    d.player.slider.value = 2500
    assert "Counters after step 2500" in d.counters.html.value
    assert d.counters_plot.renders == 2
    assert not d.pages.available


def test_real_kernel_timeline():
    from pathlib import Path
    path = Path(__file__).resolve().parents[2] / "data" / "real-kernel" / "swap.json"
    d = on_screen(str(path))
    d.player.go(2)
    assert "real kernel" in d.player.words.value
    text = (d.timeline[2].get("detail") or {}).get("text")
    if text:
        assert text.split(":")[0] in d.player.words.value
    usage = d.timeline[2]["memcgs"]["A"]["usage"]
    assert f">{usage} " in d.counters.html.value or f"<b>{usage} " in d.counters.html.value


def test_revisited_steps_reuse_their_image(tl):
    d = on_screen(tl)
    d.player.go(5)
    shown = d.counters_plot.output.outputs
    d.player.go(6)
    d.player.go(5)
    assert d.counters_plot.output.outputs == shown
    assert list(d.counters_plot.figure.memcg_edu["cursors"][0].get_xdata()) == [5, 5]


def test_hidden_tabs_draw_when_selected(tl):
    d = on_screen(tl)
    assert d.tabs.selected_index == 0
    assert d.stats_plot.output.outputs == () and d.stats_plot.renders == 0
    d.tabs.selected_index = 1
    d.tabs.selected_index = 0
    stats_image = d.stats_plot.output.outputs
    renders = d.stats_plot.renders
    d.player.go(4)
    # the hidden stats plot followed (cursor moved) but made no image yet
    assert list(d.stats_plot.figure.memcg_edu["cursors"][0].get_xdata()) == [4, 4]
    assert d.stats_plot.output.outputs == stats_image and d.stats_plot.renders == renders
    d.tabs.selected_index = 1
    assert d.stats_plot.renders == renders + 1
    assert d.stats_plot.output.outputs != stats_image
    counters_renders = d.counters_plot.renders
    d.player.forward()
    assert d.counters_plot.renders == counters_renders      # now hidden


def test_smooth_mode_uses_an_ipympl_canvas_when_present(tl, monkeypatch):
    """With ipympl importable, the figure goes on its canvas widget and a step
    asks it to redraw (a stand-in module: ipympl is not installed here)."""
    import sys
    import types

    import ipywidgets

    from memcg_edu.widgets import render

    class Canvas(ipywidgets.DOMWidget):
        draws = 0

        def draw_idle(self):
            self.draws += 1

    module = types.ModuleType("ipympl.backend_nbagg")
    module.new_figure_manager_given_figure = \
        lambda num, fig: types.SimpleNamespace(canvas=Canvas())
    monkeypatch.setitem(sys.modules, "ipympl", types.ModuleType("ipympl"))
    monkeypatch.setitem(sys.modules, "ipympl.backend_nbagg", module)
    monkeypatch.setattr(render, "HAVE_IPYMPL", True)
    d = on_screen(tl, smooth=True)
    assert d.counters_plot.mode == "ipympl"
    assert isinstance(d.counters_plot.output, Canvas)
    before = d.counters_plot.output.draws
    d.player.forward()
    assert d.counters_plot.output.draws == before + 1
    assert not d.counters_plot.figure.memcg_edu["cursors"][0].get_animated()


def test_bundled_scenario_by_name_and_memcg_choice():
    d = on_screen("06-swap-out-and-in", memcgs=["A"])
    assert d.title.startswith("Swap-out and swap-in")
    assert "data-memcg='root'" not in d.counters.html.value
    titles = [a.get_title() for a in d.counters_plot.figure.axes if a.get_title()]
    assert titles == ["memcg A: memory and memory+swap charge"]


def test_the_png_sent_holds_the_figures_own_pixels(tl):
    # the widget's own PNG writer: the image decodes to the canvas, pixel for pixel
    import io
    import numpy as np
    from PIL import Image
    from memcg_edu.widgets.render import png_bytes
    d = on_screen(tl)
    d.player.go(3)
    canvas = d.counters_plot.figure.canvas
    w, h = canvas.get_width_height()
    shown = np.asarray(Image.open(io.BytesIO(d.counters_plot.png)).convert("RGBA"))
    assert shown.shape == (h, w, 4)
    assert np.array_equal(shown, np.asarray(canvas.buffer_rgba()))
    see_through = np.zeros((2, 3, 4), np.uint8)
    see_through[0, 1] = (10, 20, 30, 128)
    back = np.asarray(Image.open(io.BytesIO(png_bytes(see_through.tobytes(), 3, 2))))
    assert back.shape == (2, 3, 4) and np.array_equal(back, see_through)


def test_a_cursor_step_sends_only_the_strip_it_changed(tl):
    # the background image is sent unchanged; the step's change goes as narrow
    # strips laid over it, and the picture they make is the canvas, pixel for pixel
    import io
    import numpy as np
    from PIL import Image
    d = on_screen(tl)
    view = d.counters_plot
    w, h = view.figure.canvas.get_width_height()
    backgrounds = set()
    for step in (4, 5, 9, 1):
        d.player.go(step)
        page = view.output.outputs[0]["data"]["text/html"]
        images = re.findall(r"<img src='data:image/png;base64,([^']+)'([^>]*)>", page)
        backgrounds.add(images[0][0])
        strips = [re.search(r"data-x='(\d+)' data-y='(\d+)'", attrs) for _, attrs in images[1:]]
        assert strips and all(strips)
        widths = [Image.open(io.BytesIO(base64.b64decode(data))).size[0]
                  for data, _ in images[1:]]
        assert sum(widths) < w // 10
        shown = np.asarray(Image.open(io.BytesIO(view.png)).convert("RGBA"))
        assert np.array_equal(shown, np.asarray(view.figure.canvas.buffer_rgba()))
    assert len(backgrounds) == 1
