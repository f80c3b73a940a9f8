import html
import re

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
    # the slider counts steps as "Step k of n" does: 1 to n
    assert (e.slider.min, e.slider.max, e.slider.value) == (1, len(rows), 1)
    assert f"Step 1 of {len(rows)}" in e.step_view.value and e.back_button.disabled
    e.forward_button.click()
    assert e.slider.value == 2 and f"Step 2 of {len(rows)}" in e.step_view.value
    e.slider.value = 4
    assert f"Step 4 of {len(rows)}" in e.step_view.value and e.index == 3
    e.go(len(rows) - 1)
    assert e.forward_button.disabled and e.slider.value == len(rows)
    assert "invariant broken" in e.step_view.value


def test_state_is_in_aligned_tables_without_raw_json():
    e = explorer("move_vs_unmap")
    e.protections["lock_page_cgroup"].value = False
    e.run()
    for i in range(len(e.rows)):
        e.go(i)
        shown = e.step_view.value
        assert "{" not in shown.split("</style>")[1] and '"' not in shown   # no JSON
        assert "class='memcg-edu-state'" in shown and "text-align:left" in shown
        # every row of a table has as many cells as its header
        for table in re.findall(r"<table class='memcg-edu-state'>(.*?)</table>", shown):
            rows = re.findall(r"<tr>(.*?)</tr>", table)
            widths = {len(re.findall(r"<t[hd]>", r)) for r in rows}
            assert len(widths) == 1, table


def test_invariants_are_named_in_words():
    from memcg_edu.explore.invariants import INVARIANT_WORDS, invariant_words
    assert invariant_words("I2").startswith("I2 (a memcg's memory usage equals")
    assert invariant_words("res_counter underflow") == "res_counter underflow"
    e = explorer("commit_vs_putback")
    for box in e.protections.values():
        box.value = False
    res = e.run()
    assert res.broken
    for key in res.by_invariant:
        if key in INVARIANT_WORDS:
            assert f"{key} ({INVARIANT_WORDS[key]})" in html.unescape(e.summary.value)
    e.go(len(e.rows) - 1)
    bad = e.rows[-1]["invariant"]["id"]
    assert f"invariant broken: {invariant_words(bad)}" in html.unescape(e.step_view.value)


def test_picking_another_race_resets_toggles():
    e = explorer()
    other = [n for n in e.races if n != e.picker.value][0]
    e.picker.value = other
    assert set(e.protections) == set(e.races[other]["protections"])
    assert e.result is None and "press explore" in e.summary.value


def test_unknown_race():
    with pytest.raises(ModelUsageError, match="unknown race 'nope'"):
        explorer("nope")
