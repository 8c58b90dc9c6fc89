"""Default segments: every score combination maps to exactly one segment, as in the design grid."""
from __future__ import annotations

import itertools
import math

import numpy as np
import pandas as pd
import pytest

import rfm_addin as rfm
from rfm_addin.core.segments import segment_of

# The grid of the design notes, typed in independently of the rule table: GRID[R][FM - 1].
GRID = {
    5: ["New Customers", "Potential Loyalists", "Potential Loyalists", "Champions", "Champions"],
    4: ["Promising", "Potential Loyalists", "Potential Loyalists", "Loyal Customers", "Loyal Customers"],
    3: ["About To Sleep", "About To Sleep", "Need Attention", "Loyal Customers", "Loyal Customers"],
    2: ["Hibernating", "Hibernating", "At Risk", "At Risk", "Can't Lose Them"],
    1: ["Lost", "Lost", "At Risk", "At Risk", "Can't Lose Them"],
}


def expected_segment(r, f, m, bins):
    five = lambda s: math.ceil(s * 5 / bins)  # noqa: E731
    fm = math.floor((five(f) + five(m)) / 2 + 0.5)
    return GRID[five(r)][fm - 1]


@pytest.mark.parametrize("bins", range(2, 10))
def test_every_combination_has_exactly_the_grid_segment(bins):
    combos = np.array(list(itertools.product(range(1, bins + 1), repeat=3)))
    got = segment_of(combos[:, 0], combos[:, 1], combos[:, 2], bins=bins)
    expected = [expected_segment(r, f, m, bins) for r, f, m in combos]
    assert len(combos) == bins ** 3
    assert list(got) == expected


def test_default_table_has_the_eleven_segments_and_texts():
    names = rfm.DEFAULT_SEGMENTS["segment"].tolist()
    assert sorted(names) == sorted({n for row in GRID.values() for n in row})
    assert len(names) == 11
    assert list(rfm.DEFAULT_SEGMENTS.columns) == ["segment", "r_min", "r_max", "fm_min", "fm_max",
                                                  "description", "action"]
    assert rfm.DEFAULT_SEGMENTS["description"].str.len().min() > 10
    assert rfm.DEFAULT_SEGMENTS["action"].str.len().min() > 10


def test_segment_adds_column():
    scored = pd.DataFrame({"r_score": [5, 1, 3], "f_score": [5, 1, 3], "m_score": [4, 5, 2]}, index=["a", "b", "c"])
    out = rfm.segment(scored)
    # FM: (5+4+1)//2 = 5 -> Champions; (1+5+1)//2 = 3 -> At Risk; (3+2+1)//2 = 3 -> Need Attention
    assert out["segment"].tolist() == ["Champions", "At Risk", "Need Attention"]
    assert "segment" not in scored.columns


def test_user_rules_with_gap_and_overlap_name_the_cells():
    rules = rfm.DEFAULT_SEGMENTS.copy()
    rules.loc[rules["segment"] == "Lost", "fm_max"] = 1            # gap at R=1 FM=2
    rules.loc[rules["segment"] == "Champions", "r_min"] = 4        # overlap with Loyal Customers at R=4 FM=4..5
    with pytest.raises(rfm.RfmError) as err:
        rfm.segment(pd.DataFrame({"r_score": [1], "f_score": [1], "m_score": [1]}), rules=rules)
    message = str(err.value)
    assert "no rule covers R=1 FM=2" in message
    assert "R=4 FM=4 (Champions and Loyal Customers)" in message
    assert "R=4 FM=5 (Champions and Loyal Customers)" in message


def test_user_rules_can_use_several_rows_per_segment():
    rules = pd.DataFrame([
        ("Good", 4, 5, 1, 5, "", ""),
        ("Good", 3, 3, 4, 5, "", ""),
        ("Other", 1, 2, 1, 5, "", ""),
        ("Other", 3, 3, 1, 3, "", ""),
    ], columns=["segment", "r_min", "r_max", "fm_min", "fm_max", "description", "action"])
    got = segment_of([5, 3, 3, 1], [1, 5, 1, 5], [1, 5, 1, 5], rules=rules)
    assert list(got) == ["Good", "Good", "Other", "Other"]


@pytest.mark.parametrize("bad, text", [
    ({"r_min": 0}, "r_min must be a whole number from 1 to 5"),
    ({"fm_max": 2.5}, "fm_max must be a whole number from 1 to 5"),
    ({"segment": None}, "has no segment name"),
])
def test_invalid_rule_values(bad, text):
    rules = rfm.DEFAULT_SEGMENTS.copy()
    for col, value in bad.items():
        rules[col] = rules[col].astype(object)
        rules.loc[0, col] = value
    with pytest.raises(rfm.RfmError, match=text):
        segment_of([1], [1], [1], rules=rules)


def test_scores_out_of_range_are_an_error():
    with pytest.raises(rfm.RfmError, match="F scores must be from 1 to 5"):
        segment_of([1], [6], [1])
