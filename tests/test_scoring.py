"""Tests for rfm_addin.core.scoring: exact values computed independently of the module.

The balanced method is checked against a brute force over every way of cutting the
distinct values (tie-break: among equally balanced cuttings, the one whose cut positions
read from the top cut down are lexicographically smallest), against a plain O(B d^2)
dynamic programme on medium inputs, and on hand-worked examples.
"""
from __future__ import annotations

import itertools
import math

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from rfm_addin.core.errors import RfmError
from rfm_addin.core.scoring import Binning, fit_binning, score, thresholds

SKEWED = [1] * 50 + [2] * 20 + [3] * 12 + [4] * 8 + [5] * 5 + [8] * 5


# --------------------------------------------------------------------------------------
# Independent references
# --------------------------------------------------------------------------------------
def brute_force_groups(values, bins, higher_is_better=True):
    """Score of each sorted distinct goodness value, by enumerating every cutting."""
    goodness = np.asarray(values, dtype=float) * (1 if higher_is_better else -1)
    distinct, counts = np.unique(goodness, return_counts=True)
    d, n = len(distinct), int(counts.sum())
    if d < bins:
        if d == 1:
            return distinct, [math.floor((bins + 1) / 2 + 0.5)]
        return distinct, [math.floor(1 + k * (bins - 1) / (d - 1) + 0.5) for k in range(d)]
    best = None
    for cuts in itertools.combinations(range(1, d), bins - 1):
        bounds = (0, *cuts, d)
        sizes = [int(counts[bounds[k]:bounds[k + 1]].sum()) for k in range(bins)]
        # sum of (size - n/bins)^2 scaled by bins^2, so ties compare exactly as integers
        exact = sum((bins * s - n) ** 2 for s in sizes)
        key = (exact, tuple(reversed(cuts)))
        if best is None or key < best[0]:
            best = (key, bounds)
    bounds = best[1]
    scores = []
    for k in range(bins):
        scores += [k + 1] * (bounds[k + 1] - bounds[k])
    return distinct, scores


def reference_dp_cuts(counts, bins):
    """Plain O(B d^2) DP with smallest-argmin backtracking (no D&C, no pruning)."""
    counts = np.asarray(counts, dtype=np.int64)
    d, n = len(counts), int(counts.sum())
    prefix = np.concatenate(([0], np.cumsum(counts)))
    inf = np.iinfo(np.int64).max // 4
    dp = np.full(d + 1, inf, dtype=np.int64)
    dp[1:] = (bins * prefix[1:] - n) ** 2
    choice = []
    for b in range(2, bins + 1):
        new = np.full(d + 1, inf, dtype=np.int64)
        arg = np.zeros(d + 1, dtype=np.int64)
        for j in range(b, d + 1):
            i = np.arange(b - 1, j)
            total = dp[i] + (bins * (prefix[j] - prefix[i]) - n) ** 2
            k = int(np.argmin(total))  # first occurrence = smallest i
            new[j], arg[j] = total[k], i[k]
        dp = new
        choice.append(arg)
    cuts, j = [], d
    for arg in reversed(choice):
        j = int(arg[j])
        cuts.append(j)
    return cuts[::-1]


def scores_of(values, **kwargs):
    values = np.asarray(values, dtype=float)
    return fit_binning(values, **kwargs).apply(values)


def customers(recency, frequency, monetary, index=None, **extra):
    frame = pd.DataFrame(
        {"recency": recency, "frequency": frequency, "monetary": monetary, **extra},
        index=index,
    )
    frame.index.name = "customer_id"
    return frame


# --------------------------------------------------------------------------------------
# Balanced method: brute force and reference DP
# --------------------------------------------------------------------------------------
small_values = st.lists(st.integers(0, 9), min_size=1, max_size=40)


@settings(max_examples=300, deadline=None)
@given(values=small_values, bins=st.integers(2, 6), higher=st.booleans())
def test_balanced_equals_brute_force(values, bins, higher):
    distinct_goodness, expected = brute_force_groups(values, bins, higher)
    distinct_values = distinct_goodness * (1 if higher else -1)
    got = fit_binning(values, bins=bins, higher_is_better=higher).apply(distinct_values)
    assert got.tolist() == expected


@settings(max_examples=25, deadline=None)
@given(
    counts=st.lists(st.integers(1, 40), min_size=9, max_size=120),
    bins=st.integers(2, 9),
)
def test_balanced_equals_reference_dp(counts, bins):
    values = np.repeat(np.arange(len(counts)), counts)
    got = scores_of(values, bins=bins)
    cuts = reference_dp_cuts(counts, bins)
    expected_per_value = np.searchsorted(cuts, np.arange(len(counts)), side="right") + 1
    assert got.tolist() == np.repeat(expected_per_value, counts).tolist()


def test_balanced_matches_reference_dp_on_heavy_ties():
    rng = np.random.default_rng(7)
    counts = np.concatenate(([300], rng.integers(1, 4, size=250), [120], rng.integers(1, 3, size=150)))
    values = np.repeat(np.arange(len(counts)), counts)
    for bins in (3, 5, 7):
        cuts = reference_dp_cuts(counts, bins)
        expected = np.searchsorted(cuts, np.arange(len(counts)), side="right") + 1
        assert scores_of(values, bins=bins).tolist() == np.repeat(expected, counts).tolist()


# --------------------------------------------------------------------------------------
# Balanced method: hand-worked examples
# --------------------------------------------------------------------------------------
def test_skewed_frequency_by_hand():
    # counts 50, 20, 12, 8, 5, 5 into 5 bands of ideal size 20: exactly one adjacent merge.
    # squared deviations: merge 1+2 -> 3158, 2+3 -> 1638, 3+4 -> 1350, 4+5 -> 1238,
    # 5+8 -> 30^2 + 0 + 8^2 + 12^2 + 10^2 = 1208 (the unique optimum).
    expected = {1: 1, 2: 2, 3: 3, 4: 4, 5: 5, 8: 5}
    got = scores_of(SKEWED, bins=5)
    assert got.tolist() == [expected[v] for v in SKEWED]
    assert np.bincount(got).tolist() == [0, 50, 20, 12, 8, 10]


def test_skewed_frequency_contrast_with_qcut_on_ranks_and_quantile():
    series = pd.Series(SKEWED)
    by_rank = pd.qcut(series.rank(method="first"), 5, labels=False) + 1
    assert sorted(set(by_rank[series == 1])) == [1, 2, 3]  # identical customers split
    # numpy quantiles at .2 .4 .6 .8 of the 100 sorted values: 1, 1, 2, 3
    quantile = scores_of(SKEWED, bins=5, method="quantile")
    expected = {1: 1, 2: 3, 3: 4, 4: 5, 5: 5, 8: 5}
    assert quantile.tolist() == [expected[v] for v in SKEWED]
    assert 2 not in set(quantile.tolist())


def test_tie_break_gives_boundary_values_the_better_score():
    # [1, 2, 3] into 2 bands: {1}{2,3} and {1,2}{3} are equally balanced; the lower top cut wins
    assert scores_of([1, 2, 3], bins=2).tolist() == [1, 2, 2]
    # recency: goodness -3, -2, -1 -> {-3}{-2,-1}: days 1 and 2 get the better score
    assert scores_of([1, 2, 3], bins=2, higher_is_better=False).tolist() == [2, 2, 1]


@pytest.mark.parametrize(
    "d, bins, expected",
    [
        (1, 5, [3]), (1, 4, [3]), (1, 2, [2]), (1, 9, [5]),
        (2, 5, [1, 5]), (3, 5, [1, 3, 5]), (4, 5, [1, 2, 4, 5]),
        (3, 4, [1, 3, 4]), (2, 4, [1, 4]), (2, 3, [1, 3]),
    ],
)
def test_fewer_distinct_values_than_bins_spread(d, bins, expected):
    values = np.repeat(np.arange(10, 10 + d), 3)
    assert scores_of(values, bins=bins).tolist() == np.repeat(expected, 3).tolist()
    recency = scores_of(values, bins=bins, higher_is_better=False)
    assert recency.tolist() == np.repeat(expected[::-1], 3).tolist()


def test_apply_scores_unseen_values():
    binning = fit_binning(SKEWED, bins=5)
    assert binning.apply([0, 1, 4.5, 5, 6, 100]).tolist() == [1, 1, 4, 5, 5, 5]
    recency = fit_binning([1, 2, 3], bins=2, higher_is_better=False)
    # between groups {1,2} (score 2) and {3} (score 1) an unseen value gets the lower score
    assert recency.apply([0, 2, 2.5, 50]).tolist() == [2, 2, 1, 1]
    assert recency == Binning("balanced", 2, False, (2.0,), (2, 1), "right")


def test_binning_is_frozen():
    binning = fit_binning([1, 2, 3], bins=2)
    with pytest.raises(Exception):
        binning.bins = 3  # type: ignore[misc]


# --------------------------------------------------------------------------------------
# Balanced method: properties
# --------------------------------------------------------------------------------------
values_strategy = st.lists(
    st.one_of(st.integers(0, 30), st.floats(-1e6, 1e6, allow_nan=False)), min_size=1, max_size=80
)


@settings(max_examples=150, deadline=None)
@given(values=values_strategy, bins=st.integers(2, 9), higher=st.booleans(),
       method=st.sampled_from(["balanced", "quantile"]))
def test_score_properties(values, bins, higher, method):
    values = np.asarray(values, dtype=float)
    got = scores_of(values, bins=bins, higher_is_better=higher, method=method)
    assert got.dtype.kind == "i"
    assert got.min() >= 1 and got.max() <= bins
    order = np.argsort(values if higher else -values, kind="stable")
    assert np.all(np.diff(got[order]) >= 0)  # better value never lower score
    for v in np.unique(values):
        assert len(set(got[values == v].tolist())) == 1  # equal values, equal scores
    again = scores_of(values, bins=bins, higher_is_better=higher, method=method)
    assert again.tolist() == got.tolist()


@settings(max_examples=150, deadline=None)
@given(values=values_strategy, bins=st.integers(2, 9), higher=st.booleans())
def test_balanced_uses_scores_as_documented(values, bins, higher):
    values = np.asarray(values, dtype=float)
    got = scores_of(values, bins=bins, higher_is_better=higher)
    d = len(np.unique(values))
    if d >= bins:
        assert sorted(set(got.tolist())) == list(range(1, bins + 1))
    else:
        goodness = values if higher else -values
        rank = np.searchsorted(np.unique(goodness), goodness)
        if d == 1:
            expected = np.full(len(values), math.floor((bins + 1) / 2 + 0.5))
        else:
            expected = np.floor(1 + rank * (bins - 1) / (d - 1) + 0.5)
        assert got.tolist() == expected.astype(int).tolist()


@settings(max_examples=100, deadline=None)
@given(values=values_strategy, bins=st.integers(2, 9), seed=st.integers(0, 2**32 - 1),
       method=st.sampled_from(["balanced", "quantile"]))
def test_permuting_rows_permutes_scores(values, bins, seed, method):
    values = np.asarray(values, dtype=float)
    perm = np.random.default_rng(seed).permutation(len(values))
    got = scores_of(values, bins=bins, method=method)
    assert scores_of(values[perm], bins=bins, method=method).tolist() == got[perm].tolist()


def test_large_input_is_exact_and_balanced():
    rng = np.random.default_rng(3)
    values = rng.random(200_000)
    got = scores_of(values, bins=5)
    assert np.bincount(got).tolist() == [0] + [40_000] * 5
    clumped = np.concatenate((np.zeros(40_000), rng.random(60_000)))
    got = scores_of(clumped, bins=5)
    assert np.bincount(got).tolist() == [0, 40_000, 15_000, 15_000, 15_000, 15_000]


# --------------------------------------------------------------------------------------
# Quantile method
# --------------------------------------------------------------------------------------
def test_quantile_by_hand():
    values = [10, 20, 30, 40, 50, 60, 70, 80, 90, 100]
    # np.quantile at .25 .5 .75 (positions 2.25, 4.5, 6.75): 32.5, 55, 77.5
    assert fit_binning(values, bins=4, method="quantile").cuts == (32.5, 55.0, 77.5)
    assert scores_of(values, bins=4, method="quantile").tolist() == [1, 1, 1, 2, 2, 3, 3, 4, 4, 4]


def test_quantile_is_right_closed_and_recency_reversed():
    values = [1, 2, 3, 4, 5]  # cut points 2, 3, 4: a value on a cut stays in the lower band
    assert scores_of(values, bins=4, method="quantile").tolist() == [1, 1, 2, 3, 4]
    recency = scores_of(values, bins=4, method="quantile", higher_is_better=False)
    assert recency.tolist() == [4, 4, 3, 2, 1]


# --------------------------------------------------------------------------------------
# score()
# --------------------------------------------------------------------------------------
def four_customers():
    return customers(
        recency=[5, 30, 2, 100],
        frequency=[1, 4, 2, 3],
        monetary=[10.0, 500.0, 50.0, 20.0],
        index=["A", "B", "C", "D"],
        region=["north", "south", "east", "west"],
    )


def test_score_by_hand_with_weights():
    table = four_customers()
    result = score(table, bins=4, weights=(2, 1, 1))
    # 4 distinct values per metric and 4 bins: each value is its own band
    assert result["r_score"].tolist() == [3, 2, 4, 1]
    assert result["f_score"].tolist() == [1, 4, 2, 3]
    assert result["m_score"].tolist() == [1, 4, 3, 2]
    assert result["rfm_code"].tolist() == ["311", "244", "423", "132"]
    assert result["rfm_score"].tolist() == [2.0, 3.0, 3.25, 1.75]
    assert result["rfm_score"].dtype == float
    assert result["r_score"].dtype.kind == "i"


def test_score_keeps_index_and_columns_and_does_not_modify_input():
    table = four_customers()
    before = table.copy()
    result = score(table)
    assert result.index.equals(table.index) and result.index.name == "customer_id"
    assert list(result.columns) == list(table.columns) + [
        "r_score", "f_score", "m_score", "rfm_code", "rfm_score"]
    assert result["region"].tolist() == ["north", "south", "east", "west"]
    pd.testing.assert_frame_equal(table, before)


def test_score_matches_fit_binning():
    rng = np.random.default_rng(5)
    table = customers(rng.integers(0, 400, 500), rng.geometric(0.4, 500),
                      np.round(rng.lognormal(4, 1, 500), 2))
    for method in ("balanced", "quantile"):
        result = score(table, bins=5, method=method)
        r = fit_binning(table["recency"], bins=5, method=method, higher_is_better=False).apply(table["recency"])
        assert result["r_score"].tolist() == r.tolist()
        m = fit_binning(table["monetary"], bins=5, method=method).apply(table["monetary"])
        assert result["m_score"].tolist() == m.tolist()


@pytest.mark.parametrize(
    "kwargs, words",
    [
        ({"bins": 1}, ["bins", "2", "9"]),
        ({"bins": 10}, ["bins", "2", "9"]),
        ({"bins": True}, ["bins", "whole number"]),
        ({"bins": 5.0}, ["bins", "whole number"]),
        ({"method": "x"}, ["method", "balanced", "quantile", "'x'"]),
        ({"weights": (1, -1, 1)}, ["weights", "non-negative"]),
        ({"weights": (1, 1)}, ["weights", "three"]),
        ({"weights": (0, 0, 0)}, ["weights", "above zero"]),
        ({"weights": (1, float("nan"), 1)}, ["weights"]),
    ],
)
def test_score_parameter_errors(kwargs, words):
    with pytest.raises(RfmError) as info:
        score(four_customers(), **kwargs)
    for word in words:
        assert word in str(info.value)


def test_score_nan_names_column_and_customers():
    table = four_customers()
    table.loc[["B", "D"], "monetary"] = np.nan
    with pytest.raises(RfmError) as info:
        score(table)
    message = str(info.value)
    assert "monetary" in message and "B, D" in message


def test_score_inf_and_non_numeric_and_missing_and_empty():
    table = four_customers().astype({"recency": float})
    table.loc["C", "recency"] = np.inf
    with pytest.raises(RfmError, match="recency.*C"):
        score(table)
    with pytest.raises(RfmError, match="frequency"):
        score(four_customers().astype({"frequency": str}))
    with pytest.raises(RfmError, match="monetary"):
        score(four_customers().drop(columns="monetary"))
    with pytest.raises(RfmError, match="empty"):
        score(four_customers().iloc[:0])
    with pytest.raises(RfmError):
        fit_binning([1.0, np.nan])
    with pytest.raises(RfmError):
        fit_binning([])


# --------------------------------------------------------------------------------------
# thresholds()
# --------------------------------------------------------------------------------------
def test_thresholds_by_hand():
    table = customers(
        recency=[1, 3, 3, 10, 40],
        frequency=[1, 1, 2, 5, 3],
        monetary=[10.0, 20.5, 1234.0, 99999.99, 5.0],
    )
    # recency goodness counts (40,10,3,1) = 1,1,2,1: {40,10}{3,1} sizes 2,3 is the optimum.
    # frequency counts (1,2,3,5) = 2,1,1,1: {1}{2,3,5} and {1,2}{3,5} tie; lower top cut wins.
    # monetary all distinct: {5,10}{20.5,1234,99999.99} and {5,10,20.5}{...} tie; same rule.
    got = thresholds(table, bins=2, frequency_basis="distinct orders (InvoiceNo)")
    expected = pd.DataFrame(
        {
            "metric": ["Recency", "Recency", "Frequency", "Frequency", "Monetary", "Monetary"],
            "score": [2, 1, 2, 1, 2, 1],
            "min": [1.0, 10.0, 2.0, 1.0, 20.5, 5.0],
            "max": [3.0, 40.0, 5.0, 1.0, 99999.99, 10.0],
            "customers": [3, 2, 3, 2, 3, 2],
            "meaning": [
                "R = 2: last purchase 1 to 3 days before the as-of date",
                "R = 1: last purchase 10 to 40 days before the as-of date",
                "F = 2: 2 to 5 orders",
                "F = 1: 1 order",
                "M = 2: spent 20.50 to 99,999.99 in total",
                "M = 1: spent 5.00 to 10.00 in total",
            ],
        }
    )
    pd.testing.assert_frame_equal(got, expected)
    scored = score(table, bins=2)
    assert scored["f_score"].tolist() == [1, 1, 2, 2, 2]
    # the frequency noun follows what frequency counts: the table's own basis, else "purchases"
    table.attrs["frequency_basis"] = "transaction rows"
    assert thresholds(table, bins=2)["meaning"].tolist()[2:4] == ["F = 2: 2 to 5 transactions", "F = 1: 1 transaction"]
    table.attrs.clear()
    assert thresholds(table, bins=2)["meaning"].tolist()[2:4] == ["F = 2: 2 to 5 purchases", "F = 1: 1 purchase"]


def test_thresholds_quantile_reports_empty_band():
    n = len(SKEWED)
    table = customers(recency=list(range(n)), frequency=SKEWED, monetary=[1.0] * n)
    got = thresholds(table, bins=5, method="quantile", frequency_basis="distinct orders (Order)")
    freq = got[got["metric"] == "Frequency"].set_index("score")
    assert freq.loc[2, "meaning"] == "F = 2: no customers"
    assert freq.loc[2, "customers"] == 0 and np.isnan(freq.loc[2, "min"])
    assert freq.loc[1, "meaning"] == "F = 1: 1 order"
    assert freq.loc[3, "meaning"] == "F = 3: 2 orders"
    assert freq.loc[5, "meaning"] == "F = 5: 4 to 8 orders"
    assert freq["customers"].sum() == n
    rec = got[got["metric"] == "Recency"]
    assert rec["score"].tolist() == [5, 4, 3, 2, 1]
    assert rec["meaning"].iloc[0] == "R = 5: last purchase 0 to 19 days before the as-of date"
