"""ipywidgets views of a timeline: step player (with its call stepper and page
inspector), counters, LRU view, page grid, dashboard, predict-then-reveal,
the race explorer view and one scenario's calls under two designs.

Each builder returns the widget tree (a subclass of an ipywidgets box that
keeps its state in Python), so a test or a notebook can drive it without a
browser: ``d = dashboard("data/scenarios/x.json"); d.player.forward()``.
"""
from .call_compare import DesignCalls, calls_by_design
from .callview import CallStepper
from .counters import CountersPanel, counters_panel
from .inspector import PageInspector
from .dashboard import Dashboard, dashboard
from .explorer import ExplorerView, explorer
from .player import StepPlayer, step_player
from .predict import PredictWidget, predict
from .views import LruView, PageGridView, lru_view, page_grid_view

__all__ = ["dashboard", "Dashboard", "step_player", "StepPlayer", "counters_panel",
           "CountersPanel", "lru_view", "LruView", "page_grid_view", "PageGridView",
           "predict", "PredictWidget", "explorer", "ExplorerView", "CallStepper",
           "PageInspector", "calls_by_design", "DesignCalls"]
