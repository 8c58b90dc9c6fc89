"""K-Means clusters of customers on recency, frequency and monetary value.

Raw frequency and monetary are very skewed (a few customers buy hundreds of times), so
K-Means on them finds one cluster of whales and lumps everyone else together. Features
are therefore recency, log1p(frequency) and log1p(monetary clipped at 0), standardised,
then multiplied by ``weights``. k is chosen by the elbow of the inertia curve (kneedle
method, via the ``kneed`` package), falling back to the best silhouette when the curve
has no knee; both are reported so an analyst can overrule the choice. Silhouette is
computed on a fixed-seed sample of customers so its cost does not grow with n squared.

scikit-learn, SciPy and kneed are imported when clustering runs, not with the package:
``import rfm_addin`` stays light for the Excel functions and the engine path that do not
cluster (about a second less on this machine).
"""
from __future__ import annotations

import os

from dataclasses import dataclass, field
from typing import Iterable

import numpy as np
import pandas as pd

from .errors import RfmError
from .validation import check_customer_table, check_seed, check_weights

#: Customers sampled for the silhouette (measured: see README, "Choosing k").
SILHOUETTE_SAMPLE = 3000
#: Python threads for independent K-Means fits (:func:`_in_threads`): the cores, at most 4.
FIT_THREADS = max(1, min(4, os.cpu_count() or 1))
#: K-Means restarts per k tried while choosing k (k-means++ seeding).
N_INIT = 1
#: Restarts and tolerance of the final fit at the chosen (or given) k.
FINAL_N_INIT = 10
FINAL_TOL = 1e-6
#: The seed of every K-Means start (sweep and final fit), over the customers in a canonical order.
#: The clusters are a property of the data, not of ``random_state`` nor of the order of the rows:
#: measured (benchmarks/README.md), on the default demo data 500 seeded k-means++ starts at k = 5 find
#: more than 60 different optima within 0.01% of the best inertia and the best one once, so no
#: affordable number of seeded restarts gives the same clusters for every seed (10 restarts: lowest
#: adjusted Rand index 0.905 between seeds 0..9; 100 restarts: 0.971). How far a cluster depends on
#: the data is what :func:`cluster_stability` measures, with ``random_state``.
KMEANS_SEED = 0
#: Subsamples, their share of customers, and the bands of :func:`cluster_stability` (Hennig's
#: clusterboot: at least 0.85 highly stable, [0.75, 0.85) stable, [0.60, 0.75) doubtful, below 0.60
#: do not use; the bands are half-open, lower bound included).
STABILITY_SUBSAMPLES = 20
STABILITY_FRACTION = 0.8
STABILITY_BANDS = ((0.85, "highly stable"), (0.75, "stable"), (0.60, "doubtful"), (-np.inf, "do not use"))

K_SELECTION_COLUMNS = ["k", "inertia", "silhouette", "chosen"]


class TooFewCustomers(RfmError):
    """There are not enough (distinct) customers for the k values asked for."""


def features(table: pd.DataFrame, *, weights=(1, 1, 1)) -> np.ndarray:
    """The clustering features: [recency, log1p F, log1p max(M, 0)], standardised, weighted.

    Columns with no spread (every customer equal) become 0 rather than NaN.
    """
    check_customer_table(table)
    w = check_weights(weights)
    raw = _log_features(table)
    return _standardise(raw) * w


def _log_features(table: pd.DataFrame) -> np.ndarray:
    return np.column_stack([
        table["recency"].to_numpy(dtype=np.float64),
        np.log1p(np.clip(table["frequency"].to_numpy(dtype=np.float64), 0, None)),
        np.log1p(np.clip(table["monetary"].to_numpy(dtype=np.float64), 0, None)),
    ])


def _standardise(raw: np.ndarray) -> np.ndarray:
    mean = raw.mean(axis=0)
    std = raw.std(axis=0)
    return (raw - mean) / np.where(std > 0, std, 1.0)


def _check_k_range(k_range: Iterable[int]) -> list[int]:
    try:
        ks = sorted({int(k) for k in k_range if not isinstance(k, bool) and float(k).is_integer()})
        given = list(k_range)
    except (TypeError, ValueError) as exc:
        raise RfmError(f"k_range must be whole numbers such as range(2, 11), not {k_range!r}.") from exc
    if not ks or len(ks) != len(set(map(float, given))) or ks[0] < 2:
        raise RfmError(f"k_range must be whole numbers of at least 2, such as range(2, 11); got {k_range!r}.")
    return ks


def _distinct_points(x: np.ndarray) -> int:
    return len(np.unique(x, axis=0))


def _kmeans(x: np.ndarray, k: int, seed: int, n_init: int, tol: float) -> np.ndarray:
    """Labels (0..k-1) and inertia of K-Means on ``x`` as given (rows in this order)."""
    # One OpenMP thread: on three features K-Means is memory-bound, and with threads it
    # slowed down up to 15 times on a 2-core machine that had other work (Excel, say).
    # See benchmarks/README.md. The labels are the same either way.
    from sklearn.cluster import KMeans
    from threadpoolctl import threadpool_limits

    with threadpool_limits(limits=1, user_api="openmp"):
        model = KMeans(n_clusters=k, n_init=n_init, tol=tol, random_state=seed).fit(x)
    return model.labels_, float(model.inertia_)


def _in_threads(work, items: list) -> list:
    """``[work(item) for item in items]``, run on up to :data:`FIT_THREADS` threads.

    K-Means fits of the k sweep and of the stability refits are independent and deterministic
    (each from its own seed, one OpenMP thread each: :func:`_kmeans`), and scikit-learn's Lloyd
    iterations release the GIL, so separate Python threads run them side by side with the
    same results in the same order. Unlike OpenMP threads inside one fit, they never wait for
    each other, so a busy machine slows them down no more than it slows one thread.
    """
    workers = min(len(items), FIT_THREADS)
    if workers <= 1:
        return [work(item) for item in items]
    from concurrent.futures import ThreadPoolExecutor

    with ThreadPoolExecutor(max_workers=workers) as pool:
        return list(pool.map(work, items))


def canonical_order(x: np.ndarray) -> np.ndarray:
    """The row order K-Means runs in: sorted by the features, so the order of the input rows
    (an export sorted by id or by date) does not change the clusters. Equal rows are
    interchangeable, so ties do not matter."""
    return np.lexsort(x.T[::-1])


def _fit(x: np.ndarray, k: int, n_init: int = N_INIT, tol: float = 1e-4,
         order: np.ndarray | None = None) -> tuple[np.ndarray, float]:
    """Labels (in the rows' own order) and inertia of the deterministic K-Means fit."""
    order = canonical_order(x) if order is None else order
    sorted_labels, inertia = _kmeans(x[order], k, KMEANS_SEED, n_init, tol)
    labels = np.empty_like(sorted_labels)
    labels[order] = sorted_labels
    return labels, inertia


def stability_word(jaccard: float) -> str:
    """The band of a mean Jaccard coefficient (see :data:`STABILITY_BANDS`); NaN: "do not use"."""
    if not np.isfinite(jaccard):
        return STABILITY_BANDS[-1][1]
    return next(word for low, word in STABILITY_BANDS if jaccard >= low)


def cluster_stability(x: np.ndarray, labels: np.ndarray, k: int, random_state: int = 0, *,
                      subsamples: int = STABILITY_SUBSAMPLES, fraction: float = STABILITY_FRACTION) -> pd.DataFrame:
    """How far each cluster is a feature of the data: its mean Jaccard over refits on subsamples.

    As Hennig's clusterboot (R package fpc, with ``kmeansCBI``'s one start per run): K-Means
    with k fixed is refitted on ``subsamples`` random subsets of ``fraction`` of the customers
    (without replacement; one k-means++ start each, seeds drawn from ``random_state``). For
    each original cluster, over the subsample's customers, the Jaccard coefficient with its
    best-matching subsample cluster (shared customers over customers in either) is averaged
    over the subsamples in which the cluster has customers.

    Parameters
    ----------
    x : ndarray
        The clustering features (:func:`features`).
    labels : ndarray of int
        The clusters 1..k of the full fit.
    k : int
    random_state : int
        Seeds the subsamples and their starts.

    Returns
    -------
    DataFrame
        Indexed by cluster 1..k: ``jaccard`` (mean, 0..1; NaN if the cluster never had a
        customer in a subsample) and ``stability`` (the word of its band).
    """
    rng = np.random.default_rng(check_seed(random_state))
    n = len(x)
    size = max(k + 1, int(round(fraction * n)))
    totals, seen = np.zeros(k), np.zeros(k)
    original = np.asarray(labels, dtype=np.int64) - 1
    draws = []
    for _ in range(subsamples):          # the subsamples and seeds drawn in order, then fitted side by side
        index = np.sort(rng.choice(n, size=min(size, n), replace=False))
        draws.append((index, int(rng.integers(2**31 - 1))))
    fits = _in_threads(lambda draw: _kmeans(x[draw[0]], k, draw[1], 1, 1e-4)[0], draws)
    for (index, _), sub in zip(draws, fits):
        both = np.zeros((k, k))
        np.add.at(both, (original[index], sub), 1)
        own, theirs = both.sum(axis=1), both.sum(axis=0)
        with np.errstate(divide="ignore", invalid="ignore"):
            jaccard = (both / (own[:, None] + theirs[None, :] - both)).max(axis=1)
        present = own > 0
        totals[present] += jaccard[present]
        seen[present] += 1
    with np.errstate(divide="ignore", invalid="ignore"):
        mean = np.where(seen > 0, totals / seen, np.nan)
    return pd.DataFrame({"jaccard": mean, "stability": [stability_word(j) for j in mean]},
                        index=pd.Index(range(1, k + 1), name="cluster"))


def _silhouette_sample(x: np.ndarray, random_state: int, sample_size: int) -> tuple[np.ndarray, np.ndarray]:
    """A fixed-seed sample of customers and their pairwise distances, shared by every k.

    Distances do not depend on k, so they are computed once (sample_size squared / 2
    distances) and each k only regroups them: the cost no longer grows with n squared
    nor with the number of k values tried.
    """
    if len(x) <= sample_size:
        index = np.arange(len(x))
    else:
        index = np.sort(np.random.default_rng(random_state).choice(len(x), sample_size, replace=False))
    from sklearn.metrics import pairwise_distances

    return index, pairwise_distances(x[index])


def _silhouette(distances: np.ndarray, labels: np.ndarray) -> float:
    """Mean silhouette of the sampled customers from their precomputed distances.

    The same value as ``sklearn.metrics.silhouette_score(distances, labels,
    metric="precomputed")`` (tested to 1e-12), computed as one matrix product per k: the
    distance sums of every customer to every cluster are ``distances @ one_hot(labels)``.
    scikit-learn re-reads the whole matrix in chunks for each k, which made the
    silhouette the slowest step of the k sweep. NaN where the silhouette is undefined
    (fewer than 2 clusters, or as many clusters as customers).
    """
    n = len(labels)
    groups, labels = np.unique(labels, return_inverse=True)
    k = len(groups)
    if k < 2 or k >= n:
        return float("nan")
    one_hot = np.zeros((n, k))
    one_hot[np.arange(n), labels] = 1.0
    sums = distances @ one_hot
    sizes = one_hot.sum(axis=0)
    rows = np.arange(n)
    own_size = sizes[labels]
    with np.errstate(divide="ignore", invalid="ignore"):
        a = sums[rows, labels] / (own_size - 1)
        mean_to = sums / sizes
    mean_to[rows, labels] = np.inf
    b = mean_to.min(axis=1)
    with np.errstate(divide="ignore", invalid="ignore"):
        s = (b - a) / np.maximum(a, b)
    s[own_size == 1] = 0.0          # a customer alone in its cluster scores 0, as in scikit-learn
    return float(np.nan_to_num(s).mean())


def _elbow(ks: list[int], inertia: list[float], silhouette: list[float]) -> int:
    """The knee of the inertia curve (kneedle); the best silhouette if there is none."""
    from kneed import KneeLocator

    knee = None
    if len(ks) >= 3 and np.ptp(inertia) > 0:
        knee = KneeLocator(ks, inertia, curve="convex", direction="decreasing").knee
    if knee is not None:
        return int(knee)
    sil = np.nan_to_num(np.asarray(silhouette, dtype=float), nan=-2.0)
    return int(ks[int(np.argmax(sil))])


def _sweep(x: np.ndarray, ks: list[int], random_state: int, sample_size: int, progress=None):
    index, distances = _silhouette_sample(x, random_state, sample_size)
    order = canonical_order(x)
    if progress:
        progress(f"Clustering: trying k = {ks[0]}..{ks[-1]}")
    fits = _in_threads(lambda k: _fit(x, k, order=order), ks)
    return [(k, inertia, _silhouette(distances, labels[index])) for k, (labels, inertia) in zip(ks, fits)]


def _prepare(table, weights, random_state):
    check_seed(random_state)
    x = features(table, weights=weights)
    distinct = _distinct_points(x)
    if distinct < 2:
        raise TooFewCustomers("All customers have the same recency, frequency and monetary value (after weighting), "
                       "so there is nothing to cluster.")
    return x, distinct


def _usable_ks(ks: list[int], n: int, distinct: int) -> list[int]:
    if n <= ks[0]:
        raise TooFewCustomers(f"There are {n} customers, not more than the smallest k tried ({ks[0]}); "
                              "clustering needs more customers than clusters.")
    # k = n would put every customer in a cluster of its own (and has no silhouette).
    usable = [k for k in ks if k <= distinct and k < n]
    if not usable:
        raise TooFewCustomers(f"Only {distinct} customers differ in recency, frequency or monetary value, fewer than "
                       f"the smallest k tried ({ks[0]}).")
    return usable


def choose_k(table: pd.DataFrame, *, k_range: Iterable[int] = range(2, 11), weights=(1, 1, 1),
             random_state: int = 0, sample_size: int = SILHOUETTE_SAMPLE) -> pd.DataFrame:
    """Inertia and silhouette for each k, and the k the elbow method chooses.

    Parameters
    ----------
    table : DataFrame
        Customer table with ``recency``, ``frequency``, ``monetary``.
    k_range : iterable of int
        The k values to try (each >= 2); values above the number of distinct customers
        are skipped.
    weights : three numbers
        Weights of R, F and M after standardising.
    random_state : int
        Seeds K-Means and the silhouette sample: the same data gives the same table.
    sample_size : int
        Customers sampled for the silhouette.

    Returns
    -------
    DataFrame
        Columns ``k``, ``inertia``, ``silhouette``, ``chosen`` (one True row).
    """
    return _choose(table, k_range, weights, random_state, sample_size)[0]


def _choose(table, k_range, weights, random_state, sample_size, progress=None):
    ks = _check_k_range(k_range)
    x, distinct = _prepare(table, weights, random_state)
    usable = _usable_ks(ks, len(x), distinct)
    rows = _sweep(x, usable, random_state, sample_size, progress)
    frame = pd.DataFrame(rows, columns=K_SELECTION_COLUMNS[:3])
    chosen = _elbow(usable, frame["inertia"].tolist(), frame["silhouette"].tolist())
    frame["chosen"] = frame["k"] == chosen
    frame.attrs["method"] = "elbow" if len(usable) >= 3 else "silhouette"
    return frame, x


@dataclass
class ClusterResult:
    """The outcome of :func:`cluster`.

    Attributes
    ----------
    labels : Series of int
        Cluster 1..k per customer (same index as the table); 1 has the highest mean monetary.
    k : int
        Number of clusters.
    centers : DataFrame
        Per cluster the typical customer in original units: mean recency, and frequency
        and monetary back-transformed from the mean of their logs.
    k_selection : DataFrame
        ``k``, ``inertia``, ``silhouette``, ``chosen`` for the k values tried, and the chosen
        k's mean ``jaccard`` and ``stability`` word (blank on the other rows).
    names : Series of str
        A unique name per cluster describing its centre (:func:`rfm_addin.core.describe.unique_names`).
    stability : DataFrame
        Indexed by cluster 1..k: ``jaccard`` and ``stability`` (:func:`cluster_stability`);
        empty when not computed.
    actions : Series of str
        The recommended action per cluster, from the same facts as its name.
    """

    labels: pd.Series
    k: int
    centers: pd.DataFrame
    k_selection: pd.DataFrame
    names: pd.Series = field(default_factory=lambda: pd.Series(dtype=object))
    stability: pd.DataFrame = field(default_factory=lambda: pd.DataFrame(columns=["jaccard", "stability"]))
    actions: pd.Series = field(default_factory=lambda: pd.Series(dtype=object))

    @property
    def named_labels(self) -> pd.Series:
        """The cluster name of each customer."""
        return self.labels.map(self.names)


def cluster(table: pd.DataFrame, *, k: int | None = None, weights=(1, 1, 1), random_state: int = 0,
            k_range: Iterable[int] = range(2, 11), sample_size: int = SILHOUETTE_SAMPLE,
            stability: bool = True, frequency_basis: str | None = None, progress=None) -> ClusterResult:
    """Cluster customers with K-Means; k by the elbow method unless given.

    K-Means runs from fixed starts over the customers in a canonical order, so the same
    customers always give the same clusters, whatever ``random_state`` and the row order.

    Parameters
    ----------
    table : DataFrame
        Customer table with ``recency``, ``frequency``, ``monetary`` (purchase dates, when
        present, give the lapse threshold the names use).
    k : int, optional
        Number of clusters; None chooses it over ``k_range`` (see :func:`choose_k`).
    weights : three numbers
        Weights of R, F and M after standardising.
    random_state : int
        Seeds the silhouette sample and the stability subsamples.
    k_range : iterable of int
        The k values tried (the k-selection table is reported even when k is given).
    stability : bool
        Compute each cluster's stability (20 refits on subsamples; False for speed).
    frequency_basis : str, optional
        What frequency counts (names say "orders" or "transactions"); default
        ``table.attrs["frequency_basis"]``.
    progress : callable, optional
        Called with a short text before each k is tried.

    Returns
    -------
    ClusterResult
    """
    from .describe import action, centres, facts, tiers, unique_names

    if k is not None:
        if isinstance(k, bool) or not isinstance(k, (int, np.integer)) or k < 2:
            raise RfmError(f"k must be a whole number of at least 2 (or None to choose it), not {k!r}.")
        k = int(k)
        if len(table) < k:
            raise TooFewCustomers(f"There are {len(table)} customers, fewer than k = {k}; choose a smaller k.")
    ks = _check_k_range(k_range)
    x, distinct = _prepare(table, weights, random_state)
    if k is not None and distinct < k:
        raise TooFewCustomers(f"Only {distinct} customers differ in recency, frequency or monetary value, "
                              f"fewer than k = {k}; choose a smaller k.")
    usable = [q for q in ks if q <= distinct and q <= len(x)] if k is not None else _usable_ks(ks, len(x), distinct)
    rows = _sweep(x, sorted(set(usable) | ({k} if k else set())), random_state, sample_size, progress)
    selection = pd.DataFrame(rows, columns=K_SELECTION_COLUMNS[:3])
    in_range = selection["k"].isin(usable).to_numpy()
    elbow = _elbow(selection["k"][in_range].tolist(), selection["inertia"][in_range].tolist(),
                   selection["silhouette"][in_range].tolist()) if in_range.any() else k
    k = elbow if k is None else k
    selection["chosen"] = selection["k"] == k
    selection.attrs["method"] = "given" if k != elbow else ("elbow" if in_range.sum() >= 3 else "silhouette")

    # The final fit: more restarts and a tighter tolerance at the chosen k only (the sweep
    # above only has to rank k); its inertia replaces the sweep's on the chosen row.
    raw_labels, inertia = _fit(x, k, FINAL_N_INIT, FINAL_TOL)
    selection.loc[selection["chosen"], "inertia"] = inertia
    monetary = table["monetary"].to_numpy(dtype=np.float64)
    means = np.array([monetary[raw_labels == c].mean() for c in range(k)])
    order = np.argsort(-means, kind="stable")
    renumber = np.empty(k, dtype=np.int64)
    renumber[order] = np.arange(1, k + 1)
    labels = pd.Series(renumber[raw_labels], index=table.index, name="cluster")

    centers = centres(table, labels.to_numpy())
    centers.index = pd.Index(range(1, k + 1), name="cluster")
    cuts = tiers(table, frequency_basis=frequency_basis)
    names = unique_names(centers, table, cuts).rename("cluster_name")
    actions = pd.Series([action(facts(c.recency, c.frequency, c.monetary, cuts)) for c in centers.itertuples()],
                        index=centers.index, name="action")
    if stability:
        if progress:
            progress(f"Clustering: stability of the {k} clusters ({STABILITY_SUBSAMPLES} subsamples)")
        stable = cluster_stability(x, labels.to_numpy(), k, random_state)
        chosen = selection["chosen"].to_numpy()
        selection["jaccard"] = np.where(chosen, stable["jaccard"].mean(), np.nan)
        selection["stability"] = pd.Series([stability_word(stable["jaccard"].mean()) if c else None for c in chosen],
                                           index=selection.index, dtype=object)
    else:
        stable = pd.DataFrame(columns=["jaccard", "stability"], index=pd.Index([], name="cluster", dtype="int64"))
    return ClusterResult(labels=labels, k=k, centers=centers, k_selection=selection, names=names,
                         stability=stable, actions=actions)
