"""Clustering: features, k selection, determinism, numbering, naming and errors."""
from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from sklearn.metrics import silhouette_score

import rfm_addin as rfm
from rfm_addin.core.clustering import features


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


def test_names_say_what_each_centre_is_and_are_unique_without_numbers():
    # Five separated groups of 30 (no purchase dates, so no lapse threshold: recency words by the
    # thirds of recency). The cut points, computed here independently of the package:
    rng = np.random.default_rng(0)
    parts = []
    for level, (r, f, m) in enumerate([(5, 40, 5000.0), (60, 20, 1500.0), (150, 8, 400.0),
                                       (300, 3, 100.0), (600, 1, 10.0)]):
        parts.append(pd.DataFrame({"recency": r + rng.integers(0, 3, 30), "frequency": f + rng.integers(0, 2, 30),
                                   "monetary": m * rng.uniform(1, 1.05, 30)}))
    table = pd.concat(parts, ignore_index=True)
    recent, least = np.quantile(table["recency"], [1 / 3, 2 / 3])
    high, low = np.quantile(table["monetary"], [0.8, 0.4])
    frequent = max(3.0, np.quantile(table["frequency"], 0.8))
    result = rfm.cluster(table, k=5)
    c = result.centers
    assert c["recency"].iloc[0] <= recent and c["recency"].iloc[1] <= recent < c["recency"].iloc[2] <= least
    assert c["recency"].iloc[3] > least and c["monetary"].iloc[0] >= high and c["monetary"].iloc[3] < low
    assert c["frequency"].iloc[0] >= frequent > c["frequency"].iloc[1] and round(c["frequency"].iloc[4]) == 1
    assert result.names.tolist() == ["Recent high-value frequent buyers", "Recent mid-value repeat buyers",
                                     "Less recent mid-value repeat buyers", "Least recent low-value repeat buyers",
                                     "Least recent low-value one-time buyers"]
    assert result.named_labels.iloc[0] == "Recent high-value frequent buyers"
    assert result.actions.tolist() == [
        "reward and retain them: loyalty perks, early access, ask for reviews and referrals",
        "grow their spend: bundles, cross-selling and higher-value products",
        "remind them with an offer on what they usually buy before they lapse",
        "reactivate them with a reminder or a small incentive",
        "low priority: include them in occasional reactivation campaigns"]
    doubled = rfm.cluster(table, k=8)
    assert doubled.names.is_unique
    assert not doubled.names.str.contains(r"\d").any()
    # clusters of the same facts are told apart by the metric where they differ most
    split = doubled.names[doubled.names.str.startswith("Less recent mid-value repeat buyers,")]
    assert sorted(split) == ["Less recent mid-value repeat buyers, fewer purchases",
                             "Less recent mid-value repeat buyers, more purchases"]
    more, fewer = (doubled.names == split.max()).idxmax(), (doubled.names == split.min()).idxmax()
    assert doubled.centers.loc[more, "frequency"] > doubled.centers.loc[fewer, "frequency"]


def test_stability_is_one_per_cluster_in_bands():
    from rfm_addin.core.clustering import stability_word

    table, _ = blobs(seed=3)
    result = rfm.cluster(table, k=4, random_state=5)
    assert result.stability.index.tolist() == [1, 2, 3, 4]
    assert result.stability.columns.tolist() == ["jaccard", "stability"]
    assert result.stability["jaccard"].between(0, 1).all()
    assert result.stability["stability"].tolist() == [stability_word(j) for j in result.stability["jaccard"]]
    # five groups far apart: every cluster comes back whole in every subsample
    rng = np.random.default_rng(0)
    far = pd.DataFrame({"recency": np.repeat([5.0, 100, 200, 300, 400], 20) + rng.uniform(0, 1, 100),
                        "frequency": np.repeat([1.0, 3, 9, 27, 81], 20), "monetary": np.repeat([10.0, 1e2, 1e3, 1e4, 1e5], 20)})
    assert (rfm.cluster(far, k=5).stability["stability"] == "highly stable").all()
    chosen = result.k_selection.loc[result.k_selection["chosen"]]
    assert chosen["jaccard"].item() == pytest.approx(result.stability["jaccard"].mean())
    assert result.k_selection.loc[~result.k_selection["chosen"], "stability"].isna().all()
    assert rfm.cluster(table, k=4, stability=False).stability.empty


@pytest.mark.parametrize("value, word", [(0.85, "highly stable"), (0.8499, "stable"), (0.75, "stable"),
                                         (0.7499, "doubtful"), (0.60, "doubtful"), (0.5999, "do not use"),
                                         (0.0, "do not use"), (float("nan"), "do not use"), (1.0, "highly stable")])
def test_stability_bands_are_half_open(value, word):
    from rfm_addin.core.clustering import stability_word

    assert stability_word(value) == word


def test_stability_jaccard_by_brute_force():
    # The mean Jaccard against an independent loop over the same subsamples and refits.
    from sklearn.cluster import KMeans

    from rfm_addin.core.clustering import cluster_stability, features

    rng = np.random.default_rng(1)
    table = pd.DataFrame({"recency": rng.integers(0, 400, 120).astype(float),
                          "frequency": rng.integers(1, 9, 120).astype(float),
                          "monetary": rng.uniform(5, 500, 120)})
    x = features(table)
    labels = rfm.cluster(table, k=3, stability=False).labels.to_numpy()
    got = cluster_stability(x, labels, 3, random_state=11, subsamples=5)
    draw = np.random.default_rng(11)
    totals, seen = np.zeros(3), np.zeros(3)
    for _ in range(5):
        index = np.sort(draw.choice(120, size=96, replace=False))
        seed = int(draw.integers(2**31 - 1))
        sub = KMeans(3, n_init=1, random_state=seed).fit(x[index]).labels_
        for c in range(3):
            mine = set(index[labels[index] == c + 1])
            if not mine:
                continue
            best = max(len(mine & set(index[sub == s])) / len(mine | set(index[sub == s])) for s in range(3))
            totals[c] += best
            seen[c] += 1
    assert got["jaccard"].to_numpy() == pytest.approx(totals / seen, abs=1e-12)


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

    from rfm_addin.core.clustering import _silhouette

    rng = np.random.default_rng(seed)
    x = rng.normal(size=(300, 3))
    labels = rng.integers(0, 2 + seed, 300)
    labels[0] = 99                       # a singleton cluster scores 0
    d = pairwise_distances(x)
    assert _silhouette(d, labels) == pytest.approx(silhouette_score(d, labels, metric="precomputed"), abs=1e-12)


def test_fits_in_threads_give_the_same_clusters(monkeypatch):
    """The k sweep and the stability refits run side by side in threads (issue 19): the same
    clusters, k-selection table and stability as one fit after another."""
    import rfm_addin as rfm
    from rfm_addin.core import clustering

    table = rfm.rfm_table(rfm.demo_transactions(n_customers=600))
    results = []
    for threads in (1, 3):
        monkeypatch.setattr(clustering, "FIT_THREADS", threads)
        results.append(rfm.cluster(table))
    one, many = results
    pd.testing.assert_series_equal(one.labels, many.labels)
    pd.testing.assert_frame_equal(one.k_selection, many.k_selection)
    pd.testing.assert_frame_equal(one.stability, many.stability)
