"""The model's random-operation state machine (tests/model/test_stateful.py),
run on Machine(design="3.16"): the same mm operations over several memcgs
with limits, swap, migration, page cache replacement, moves and exits; every
invariant the 3.16 design keeps is checked after every step (I7 is a design
difference there, reported as notes), and tearing everything down must bring
every counter and statistic back to zero, with no page freed while charged.
"""
import functools
import importlib.util
from pathlib import Path

import pytest

from memcg_edu.model import Machine

pytestmark = pytest.mark.slow                  # about 5 s

_path = Path(__file__).resolve().parents[1] / "model" / "test_stateful.py"
_spec = importlib.util.spec_from_file_location("stateful_ops_for_316", _path)
_mod = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(_mod)
_mod.Machine = functools.partial(Machine, design="3.16")

test_random_mm_operations_316 = _mod.MemcgMachine.TestCase
