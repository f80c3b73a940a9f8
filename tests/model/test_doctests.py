"""The examples in the model's docstrings run."""
import doctest
import importlib

import pytest

MODULES = ["machine", "memcontrol", "mm", "res_counter", "memcg", "lru", "swap",
           "stock", "reclaim", "migrate", "move_charge", "events", "pages", "oom",
           "index", "invariants"]


@pytest.mark.parametrize("name", MODULES)
def test_docstring_examples(name):
    mod = importlib.import_module(f"memcg_edu.model.{name}")
    result = doctest.testmod(mod, extraglobs={"Machine": importlib.import_module(
        "memcg_edu.model").Machine})
    assert result.failed == 0
