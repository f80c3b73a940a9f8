"""ipywidgets views of a timeline: step player, counters, LRU view, page grid,
dashboard, predict-then-reveal and the race explorer view.

Each builder returns the widget tree (a subclass of an ipywidgets box that
keeps its state in Python), so a test or a notebook can drive it without a
browser: ``d = dashboard("data/scenarios/x.json"); d.player.forward()``.
"""
from .counters import CountersPanel, counters_panel
from .dashboard import Dashboard, dashboard
from .explorer import ExplorerView, explorer
from .player import StepPlayer, step_player
from .predict import PredictWidget, predict
from .views import LruView, PageGridView, lru_view, page_grid_view

__all__ = ["dashboard", "Dashboard", "step_player", "StepPlayer", "counters_panel",
           "CountersPanel", "lru_view", "LruView", "page_grid_view", "PageGridView",
           "predict", "PredictWidget", "explorer", "ExplorerView"]
