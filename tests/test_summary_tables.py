"""The tables behind the charts and the Summary (rfm_addin.core.summaries), against values
worked out by hand."""
from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest

from rfm_addin.core import summaries


def test_rf_grid_counts_and_average_monetary_by_hand():
    # (R, F, M): R=2 F=1 10; R=2 F=2 100; R=1 F=1 20 and 40; no one at R=1 F=2.
    customers = pd.DataFrame({"r_score": [2, 2, 1, 1], "f_score": [2, 1, 1, 1], "monetary": [100.0, 10.0, 20.0, 40.0]})
    counts, means = summaries.rf_grid(customers, bins=2)
    assert counts.index.tolist() == [2, 1] and counts.columns.tolist() == [1, 2]  # best R on top
    assert counts.to_numpy().tolist() == [[1, 1], [2, 0]]
    assert means.loc[2].tolist() == [10.0, 100.0]
    assert means.loc[1, 1] == 30.0 and math.isnan(means.loc[1, 2])
    assert counts.to_numpy().sum() == len(customers)


def test_rf_grid_has_every_cell_for_any_bins():
    customers = pd.DataFrame({"r_score": [3], "f_score": [1], "monetary": [5.0]})
    counts, means = summaries.rf_grid(customers, bins=4)
    assert counts.shape == (4, 4) and counts.index.tolist() == [4, 3, 2, 1]
    assert counts.loc[3, 1] == 1 and counts.to_numpy().sum() == 1
    assert means.loc[3, 1] == 5.0 and means.isna().sum().sum() == 15


def test_standardised_cluster_means_by_hand():
    # recency 0, 10, 20: mean 10, population std sqrt(200/3); z = -1.2247, 0, 1.2247
    # frequency 1, 1, 4: mean 2, std sqrt(2); z = -0.7071, -0.7071, 1.4142
    # monetary constant: z = 0
    customers = pd.DataFrame({"recency": [0.0, 10.0, 20.0], "frequency": [1, 1, 4], "monetary": [5.0, 5.0, 5.0],
                              "cluster": pd.array([1, 1, 2], dtype="Int64")})
    means = summaries.standardised_cluster_means(customers)
    s = math.sqrt(200 / 3)
    assert means.index.tolist() == [1, 2]
    assert means.loc[1, "recency"] == pytest.approx((-10 / s + 0) / 2)
    assert means.loc[2, "recency"] == pytest.approx(10 / s)
    assert means.loc[1, "frequency"] == pytest.approx(-1 / math.sqrt(2))
    assert means.loc[2, "frequency"] == pytest.approx(2 / math.sqrt(2))
    assert means["monetary"].tolist() == [0.0, 0.0]
    # weighted by size, the cluster means of a z-score average to 0
    assert (means["recency"] * [2, 1]).sum() == pytest.approx(0.0, abs=1e-12)


def test_standardised_cluster_means_ignore_unclustered_customers():
    customers = pd.DataFrame({"recency": [0.0, 2.0, 99.0], "frequency": [1, 1, 1], "monetary": [1.0, 3.0, 1.0],
                              "cluster": pd.array([1, 2, pd.NA], dtype="Int64")})
    means = summaries.standardised_cluster_means(customers)
    assert means["recency"].tolist() == [-1.0, 1.0] and means["monetary"].tolist() == [-1.0, 1.0]


def test_snake_table_is_one_row_per_metric_and_one_column_per_cluster():
    means = pd.DataFrame({"recency": [-1.0, 1.0], "frequency": [0.5, -0.5], "monetary": [2.0, -2.0]},
                         index=pd.Index([1, 2], name="cluster"))
    table = summaries.snake_table(means, pd.Series({1: "Champions", 2: "Lost"}))
    assert table.columns.tolist() == ["metric", "1 Champions", "2 Lost"]
    assert table["metric"].tolist() == ["Recency", "Frequency", "Monetary"]
    assert table["1 Champions"].tolist() == [-1.0, 0.5, 2.0]


def test_pareto_curve_by_hand():
    # best first: 50, 30, 20 (total 100); 4 steps: top ceil(i*3/4) = 0, 1, 2, 3, 3 customers
    curve = summaries.pareto_curve(pd.Series([20.0, 50.0, 30.0]), points=4)
    assert curve["customer_share_cum"].tolist() == pytest.approx([0, 1 / 3, 2 / 3, 1])
    assert curve["revenue_share_cum"].tolist() == pytest.approx([0, 0.5, 0.8, 1.0])
    assert curve["equal_share"].tolist() == curve["customer_share_cum"].tolist()


def test_pareto_curve_matches_the_top_20_percent_finding():
    rng = np.random.default_rng(1)
    monetary = pd.Series(rng.lognormal(3, 1, 1234))
    curve = summaries.pareto_curve(monetary)
    assert len(curve) == 101
    n_top = math.ceil(0.2 * 1234)
    row = curve.loc[np.isclose(curve["customer_share_cum"], n_top / 1234)]
    top = np.sort(monetary.to_numpy())[::-1][:n_top].sum() / monetary.sum()
    assert row["revenue_share_cum"].iloc[0] == pytest.approx(top)
    assert curve["revenue_share_cum"].is_monotonic_increasing and curve["revenue_share_cum"].iloc[-1] == 1.0


def test_pareto_curve_without_positive_revenue_is_blank():
    curve = summaries.pareto_curve(pd.Series([-5.0, 0.0]))
    assert curve["revenue_share_cum"].isna().all() and curve["customer_share_cum"].tolist() == [0, 0.5, 1.0]


def test_k_chart_table_marks_only_the_chosen_k():
    k = pd.DataFrame({"k": [2, 3, 4], "inertia": [9.0, 5.0, 4.0], "silhouette": [0.5, 0.6, 0.4],
                      "chosen": [False, True, False]})
    table = summaries.k_chart_table(k)
    assert table.columns.tolist() == ["k", "inertia", "silhouette", "chosen_inertia", "chosen"]
    assert table["chosen_inertia"].isna().tolist() == [True, False, True]
    assert table.loc[1, "chosen_inertia"] == 5.0


def test_headline_and_segment_overview():
    customers = pd.DataFrame({"monetary": [50.0, 30.0, 20.0, 0.0, 0.0]})
    head = summaries.headline(customers, pd.Timestamp("2024-03-31"), k=3)
    assert head.iloc[0].tolist() == [5, 100.0, 0.5, pd.Timestamp("2024-03-31"), 3]  # top 20% = 1 customer: 50
    summary = pd.DataFrame({"customers": [1, 4], "customer_share": [0.2, 0.8], "revenue": [10.0, 90.0],
                            "revenue_share": [0.1, 0.9], "description": ["a", "b"], "action": ["x", "y"],
                            "recency_mean": [1.0, 2.0]}, index=pd.Index(["Lost", "Champions"], name="segment"))
    overview = summaries.segment_overview(summary)
    assert overview.columns.tolist() == ["segment", "customers", "revenue", "customer_share", "revenue_share",
                                         "description", "action"]
    assert overview["segment"].tolist() == ["Champions", "Lost"]  # most revenue first
