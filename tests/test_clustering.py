"""Clustering: features, k selection, determinism, numbering, naming and errors."""
from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from sklearn.metrics import silhouette_score

import rfm_addin as rfm
from rfm_addin.clustering import features


def blobs(seed=1, sizes=(60, 50, 40)):
    """Three well-separated customer groups: recent big spenders, mid, lapsed one-timers."""
    rng = np.random.default_rng(seed)
    groups = [(10, 20, 2000.0), (120, 5, 300.0), (400, 1, 20.0)]
    rows, truth = [], []
    for g, ((r, f, m), n) in enumerate(zip(groups, sizes)):
        rows.append(pd.DataFrame({
            "recency": np.clip(rng.normal(r, 4, n).round(), 0, None).astype(int),
            "frequency": np.clip(rng.normal(f, 0.5, n).round(), 1, None).astype(int),
            "monetary": m * rng.uniform(0.9, 1.1, n),
        }))
        truth += [g] * n
    table = pd.concat(rows, ignore_index=True)
    table.index = [f"c{i:03d}" for i in range(len(table))]
    return table, np.array(truth)


def test_features_are_log_scaled_standardised_and_weighted():
    table = pd.DataFrame({"recency": [1, 3], "frequency": [0, np.e - 1], "monetary": [-5.0, np.e ** 2 - 1]})
    x = features(table, weights=(2, 1, 0.5))
    # recency [1, 3] -> standardised [-1, 1] -> x2; log1p F = [0, 1] -> [-1, 1];
    # M clipped at 0 -> log1p = [0, 2] -> [-1, 1] -> x0.5
    assert x.ravel().tolist() == pytest.approx([-2, -1, -0.5, 2, 1, 0.5])


def test_elbow_finds_the_three_groups_and_numbers_by_monetary():
    table, truth = blobs()
    result = rfm.cluster(table)
    assert result.k == 3
    # cluster 1 = highest mean monetary = group 0; the partition equals the truth.
    assert (result.labels.to_numpy() == truth + 1).all()
    means = table["monetary"].groupby(result.labels).mean()
    assert means.is_monotonic_decreasing
    assert result.k_selection["chosen"].sum() == 1
    assert result.k_selection.loc[result.k_selection["chosen"], "k"].item() == 3
    assert result.k_selection["k"].tolist() == list(range(2, 11))


def test_centers_are_in_original_units():
    table, truth = blobs()
    result = rfm.cluster(table, k=3)
    members = table[truth == 0]
    assert result.centers.loc[1, "recency"] == pytest.approx(members["recency"].mean())
    assert result.centers.loc[1, "frequency"] == pytest.approx(np.expm1(np.log1p(members["frequency"]).mean()))
    assert result.centers.loc[1, "monetary"] == pytest.approx(np.expm1(np.log1p(members["monetary"]).mean()))


def test_names_come_from_the_segment_of_the_center_and_are_unique():
    # Five separated groups of 30: balanced scoring gives each group its own score 5..1 on
    # R, F and M, so the centers score 555, 444, 333, 222, 111.
    rng = np.random.default_rng(0)
    parts = []
    for level, (r, f, m) in enumerate([(5, 40, 5000.0), (60, 20, 1500.0), (150, 8, 400.0),
                                       (300, 3, 100.0), (600, 1, 10.0)]):
        parts.append(pd.DataFrame({"recency": r + rng.integers(0, 3, 30), "frequency": f + rng.integers(0, 2, 30),
                                   "monetary": m * rng.uniform(1, 1.05, 30)}))
    table = pd.concat(parts, ignore_index=True)
    result = rfm.cluster(table, k=5)
    assert result.names.tolist() == ["Champions", "Loyal Customers", "Need Attention", "Hibernating", "Lost"]
    assert result.named_labels.iloc[0] == "Champions"
    doubled = rfm.cluster(table, k=8)
    assert doubled.names.is_unique
    assert doubled.names.str.fullmatch(r"[A-Za-z' ]+( \d)?").all()


def test_same_seed_same_labels_other_order_of_rows_same_partition():
    table, _ = blobs(seed=3)
    first = rfm.cluster(table, k=4, random_state=7)
    again = rfm.cluster(table, k=4, random_state=7)
    assert first.labels.equals(again.labels)
    assert first.k_selection.equals(again.k_selection)


def test_silhouette_is_exact_below_the_sample_size():
    table, _ = blobs()
    ks = rfm.choose_k(table, k_range=range(2, 5))
    x = features(table)
    labels = rfm.cluster(table, k=3).labels
    assert ks.loc[ks["k"] == 3, "silhouette"].item() == pytest.approx(silhouette_score(x, labels))


def test_explicit_k_keeps_the_selection_table_and_marks_the_k_used():
    table, _ = blobs()
    result = rfm.cluster(table, k=5, k_range=range(2, 5))
    assert result.k == 5
    assert result.k_selection["k"].tolist() == [2, 3, 4, 5]
    assert result.k_selection["chosen"].tolist() == [False, False, False, True]
    assert result.k_selection.attrs["method"] == "given"


def test_fewer_customers_than_k():
    table, _ = blobs(sizes=(2, 1, 1))
    with pytest.raises(rfm.RfmError, match="4 customers, fewer than k = 5"):
        rfm.cluster(table, k=5)


def test_all_customers_identical():
    table = pd.DataFrame({"recency": [3] * 5, "frequency": [2] * 5, "monetary": [10.0] * 5})
    with pytest.raises(rfm.RfmError, match="same recency, frequency and monetary"):
        rfm.choose_k(table)


def test_k_range_is_cut_to_the_distinct_customers():
    table = pd.DataFrame({"recency": [1, 1, 50, 50, 99], "frequency": [1] * 5, "monetary": [5.0] * 5})
    ks = rfm.choose_k(table)
    assert ks["k"].tolist() == [2, 3]


@pytest.mark.parametrize("kwargs, text", [
    ({"k": 1}, "k must be a whole number of at least 2"),
    ({"k": 2.5}, "k must be a whole number"),
    ({"weights": (1, -1, 1)}, "weights must be three non-negative numbers"),
    ({"weights": (1, 1)}, "got 2 value"),
    ({"k_range": [1, 2]}, "k_range must be whole numbers of at least 2"),
    ({"random_state": "x"}, "random_state"),
])
def test_parameters_are_validated(kwargs, text):
    table, _ = blobs()
    with pytest.raises(rfm.RfmError, match=text):
        rfm.cluster(table, **kwargs)


@pytest.mark.parametrize("seed", range(5))
def test_fast_silhouette_equals_scikit_learn(seed):
    from sklearn.metrics import pairwise_distances

    from rfm_addin.clustering import _silhouette

    rng = np.random.default_rng(seed)
    x = rng.normal(size=(300, 3))
    labels = rng.integers(0, 2 + seed, 300)
    labels[0] = 99                       # a singleton cluster scores 0
    d = pairwise_distances(x)
    assert _silhouette(d, labels) == pytest.approx(silhouette_score(d, labels, metric="precomputed"), abs=1e-12)
