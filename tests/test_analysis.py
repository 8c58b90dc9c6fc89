"""Profiles, insights and analyze(): exact values on small hand-worked tables."""
from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

import rfm_addin as rfm
from rfm_addin.core.insights import build_insights, pareto_share

TABLE = pd.DataFrame({
    "recency": [10, 20, 30, 100],
    "frequency": [4, 2, 1, 1],
    "monetary": [400.0, 100.0, 50.0, 50.0],
    "group": ["x", "x", "y", "y"],
}, index=["a", "b", "c", "d"])


def test_profile_hand_worked():
    prof = rfm.profile(TABLE, "group")
    assert list(prof.index) == ["x", "y"]
    assert prof.index.name == "group"
    x = prof.loc["x"]
    assert x["customers"] == 2 and x["customer_share"] == 0.5
    assert (x["recency_mean"], x["recency_median"]) == (15.0, 15.0)
    assert (x["frequency_mean"], x["monetary_mean"], x["monetary_median"]) == (3.0, 250.0, 250.0)
    assert x["revenue"] == 500.0
    assert x["revenue_share"] == pytest.approx(500 / 600)
    assert x["avg_order_value"] == pytest.approx(500 / 6)
    y = prof.loc["y"]
    assert (y["recency_mean"], y["recency_median"], y["revenue"], y["avg_order_value"]) == (65.0, 65.0, 100.0, 50.0)


def test_profile_long_form_is_pivot_ready():
    long = rfm.profile(TABLE, "group", long=True)
    assert list(long.columns) == ["group", "metric", "value"]
    assert len(long) == 2 * 11
    assert long.set_index(["group", "metric"]).loc[("y", "revenue"), "value"] == 100.0


def test_profile_by_labels_array():
    prof = rfm.profile(TABLE, np.array([1, 2, 2, 2]))
    assert prof["customers"].tolist() == [1, 3]


def test_pareto_share_exact():
    monetary = pd.Series([50.0, 30.0, 5.0, 5.0, 4.0, 3.0, 1.0, 1.0, 0.5, 0.5])
    # top 20% of 10 customers = 2 customers: (50 + 30) / 100
    assert pareto_share(monetary) == (2, 0.8)
    # ceil: 20% of 11 customers = 3 customers
    assert pareto_share(pd.Series([1.0] * 11))[0] == 3


def test_analyze_on_demo_is_consistent():
    data = rfm.demo_transactions()
    analysis = rfm.analyze(data)
    customers = analysis.customers
    assert len(customers) == 1000
    assert customers.index.is_unique
    for col in ("r_score", "f_score", "m_score", "rfm_code", "rfm_score", "segment", "cluster", "cluster_name"):
        assert customers[col].notna().all(), col
    summary = analysis.segment_summary
    assert summary["customers"].sum() == 1000
    assert summary["revenue"].is_monotonic_decreasing
    assert summary["revenue_share"].sum() == pytest.approx(1.0)
    assert summary["description"].str.len().min() > 0
    assert analysis.cluster_profile["customers"].sum() == 1000
    k = analysis.parameters["k"]
    assert analysis.k_selection.loc[analysis.k_selection["chosen"], "k"].item() == k
    assert sorted(customers["cluster"].unique()) == list(range(1, k + 1))
    # insights come from the numbers: the Pareto sentence carries the computed share
    n_top, share = pareto_share(customers["monetary"])
    assert f"The top 20% of customers ({n_top:,}) bring {share:.1%} of revenue." in analysis.insights
    assert sum(line.startswith("Cluster ") for line in analysis.insights) == k
    assert analysis.quality.set_index("check").loc["Customers analysed", "count"] == 1000


def test_analyze_uses_one_weights_for_score_and_clusters():
    data = rfm.demo_transactions(n_customers=200)
    a = rfm.analyze(data, weights=(3, 1, 1), k=3)
    expected = rfm.score(rfm.rfm_table(data), weights=(3, 1, 1))
    assert a.customers["rfm_score"].tolist() == expected["rfm_score"].tolist()
    labels = rfm.cluster(rfm.rfm_table(data), k=3, weights=(3, 1, 1)).labels
    assert a.customers["cluster"].tolist() == labels.tolist()


def test_analyze_is_deterministic():
    data = rfm.demo_transactions(n_customers=300)
    a, b = rfm.analyze(data), rfm.analyze(data)
    pd.testing.assert_frame_equal(a.customers, b.customers)
    assert a.insights == b.insights


def test_largest_and_most_valuable_segment_sentences():
    customers = pd.DataFrame({"recency": [1, 2, 300, 400, 500], "frequency": [9, 8, 1, 1, 1],
                              "monetary": [900.0, 800.0, 10.0, 20.0, 30.0],
                              "segment": ["Champions", "Champions", "Lost", "Lost", "Lost"]})
    summary = rfm.profile(customers, "segment")
    result = rfm.cluster(customers, k=2, random_state=0)
    clusters = rfm.profile(customers, result.labels.rename("cluster"))
    clusters.insert(0, "cluster_name", result.names)
    result.k_selection.attrs["method"] = "silhouette"
    found = build_insights(customers, summary, clusters, result, as_of=pd.Timestamp("2024-01-01"),
                           frequency_basis="transaction rows", rules=rfm.DEFAULT_SEGMENTS,
                           thresholds=rfm.thresholds(customers, bins=5), bins=5)
    assert "The largest segment is Lost: 3 customers (60.0%) bringing 3.4% of revenue." in found
    assert "The most valuable segment is Champions: 96.6% of revenue from 40.0% of customers (2)." in found
    assert any("chosen by the best silhouette (silhouette " in line for line in found)
    # no purchase dates: no lapse threshold, so no lapsed findings
    assert not any("lapsed" in line for line in found)
