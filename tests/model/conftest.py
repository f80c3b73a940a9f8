"""Shared helpers for the model tests."""
import pytest

from memcg_edu.model import Machine


@pytest.fixture
def m():
    """A small machine that checks every invariant after every operation."""
    return Machine(ram_pages=64, swap_slots=32, check_invariants=True)


def _nums(memcg):
    s = memcg.stat
    return (memcg.usage, memcg.memsw_usage, s["rss"], s["cache"], s["swap"],
            s["pgpgin"], s["pgpgout"])


@pytest.fixture
def nums():
    """res / memsw / rss / cache / swap / pgpgin / pgpgout of a memcg (docs/kernel-rules.md, "Conventions")."""
    return _nums
