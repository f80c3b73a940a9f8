"""Scenario files: load and check them, run them on the model, make quizzes.

Public API (used by the command line, the notebooks and the widgets)::

    from memcg_edu.scenario import load_scenario, run_scenario, generate_problem
    sc = load_scenario("data/scenarios/01-charge-and-cancel.json")
    tl = run_scenario(sc, design="3.17")       # -> memcg_edu.timeline.Timeline
    prob = generate_problem(seed=7, topic="swap", steps=6)

The format is documented in docs/scenario-format.md.
"""
from .format import FORMAT, OPS
from .load import Scenario, load_scenario
from .quiz import TOPICS, check_answers, generate_problem
from .run import DESIGNS, JSON_KEYS, RANGE_JSON_KEYS, iter_scenario, run_scenario

__all__ = ["FORMAT", "OPS", "Scenario", "load_scenario", "run_scenario",
           "iter_scenario", "DESIGNS", "JSON_KEYS", "RANGE_JSON_KEYS", "generate_problem",
           "check_answers", "TOPICS"]
