"""memcg_edu/collector.py: the cycle collector is off inside the block and
as it was after it, whatever ends the block; and the long commands hold
it off while they run."""
from __future__ import annotations

import argparse
import gc

import pytest

from memcg_edu.collector import collector_off


@pytest.fixture
def collecting():
    was = gc.isenabled()
    gc.enable()
    yield
    (gc.enable if was else gc.disable)()


def test_off_inside_and_on_again_after(collecting):
    with collector_off():
        assert not gc.isenabled()
    assert gc.isenabled()


def test_an_error_in_the_block_turns_it_back_on(collecting):
    with pytest.raises(KeyError), collector_off():
        raise KeyError("x")
    assert gc.isenabled()


def test_a_block_inside_another_leaves_it_off_for_the_outer(collecting):
    with collector_off():
        with collector_off():
            assert not gc.isenabled()
        assert not gc.isenabled()        # the outer block still runs
    assert gc.isenabled()


def test_a_collector_that_was_off_stays_off(collecting):
    gc.disable()
    with collector_off():
        pass
    assert not gc.isenabled()


def test_run_writes_its_steps_with_the_collector_off(collecting, monkeypatch, capsys):
    """The run command's text is written with the collector off (each
    collection walked the scenario's steps), and it is back on after."""
    from memcg_edu.cli import run as cli_run

    seen = []
    real = cli_run.format_step

    def format_step(*a, **k):
        seen.append(gc.isenabled())
        return real(*a, **k)

    monkeypatch.setattr(cli_run, "format_step", format_step)
    args = argparse.Namespace(file="01-charge-and-cancel", json=False, calls=False,
                              design=None, check_invariants=False)
    assert cli_run.main(args) == 0
    assert "step 0:" in capsys.readouterr().out
    assert seen and not any(seen)
    assert gc.isenabled()
