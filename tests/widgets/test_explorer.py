import pytest

from memcg_edu.errors import ModelUsageError
from memcg_edu.widgets.explorer import explorer


def test_protection_on_is_safe_off_is_broken_and_steppable():
    e = explorer("move_vs_unmap")
    assert set(e.protections) == {"lock_page_cgroup"}
    safe = e.run()
    assert safe.broken == 0 and "are safe" in e.summary.value
    assert e.stepper.layout.display == "none"
    e.protections["lock_page_cgroup"].value = False
    e.explore_button.click()
    res = e.result
    assert res.broken > 0 and "break an invariant" in e.summary.value
    assert e.progress.value == e.progress.max > 0
    rows = res.first_broken
    assert e.slider.max == len(rows) - 1 and e.back_button.disabled
    e.forward_button.click()
    assert e.slider.value == 1 and f"Step 2 of {len(rows)}" in e.step_view.value
    e.go(len(rows) - 1)
    assert e.forward_button.disabled
    assert "invariant broken" in e.step_view.value


def test_picking_another_race_resets_toggles():
    e = explorer()
    other = [n for n in e.races if n != e.picker.value][0]
    e.picker.value = other
    assert set(e.protections) == set(e.races[other]["protections"])
    assert e.result is None and "press explore" in e.summary.value


def test_unknown_race():
    with pytest.raises(ModelUsageError, match="unknown race 'nope'"):
        explorer("nope")
