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

from dataclasses import dataclass, field
from typing import Iterable

import numpy as np
import pandas as pd

from .errors import RfmError
from .scoring import fit_binning
from .segments import segment_of
from .validation import check_customer_table, check_seed, check_weights

#: Customers sampled for the silhouette (measured: see README, "Choosing k").
SILHOUETTE_SAMPLE = 3000
#: K-Means restarts per k tried while choosing k (k-means++ seeding), seeded from ``random_state``.
N_INIT = 1
#: Restarts and tolerance of the final fit at the chosen (or given) k. Measured (benchmarks/README.md),
#: lowest adjusted Rand index between the labels of seeds 0..9: CDNOW k = 5, 0.51 with one start,
#: 0.995 with 3 or 10 restarts at tol = 1e-6; demo data of 5,000 customers k = 4, 0.56 with 3 restarts,
#: 1.0 with 10. Ten restarts at one k cost less than this machine's noise at 25,000 customers.
FINAL_N_INIT = 10
FINAL_TOL = 1e-6

K_SELECTION_COLUMNS = ["k", "inertia", "silhouette", "chosen"]


class TooFewCustomers(RfmError):
    """There are not enough (distinct) customers for the k values asked for."""


def features(table: pd.DataFrame, weights=(1, 1, 1)) -> np.ndarray:
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


def _fit(x: np.ndarray, k: int, random_state: int, n_init: int = N_INIT,
         tol: float = 1e-4) -> "KMeans":  # noqa: F821 (imported inside)
    # One OpenMP thread: on three features K-Means is memory-bound, and with threads it
    # slowed down up to 15 times on a 2-core machine that had other work (Excel, say).
    # See benchmarks/README.md. The labels are the same either way.
    from sklearn.cluster import KMeans
    from threadpoolctl import threadpool_limits

    with threadpool_limits(limits=1, user_api="openmp"):
        return KMeans(n_clusters=k, n_init=n_init, tol=tol, random_state=random_state).fit(x)


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
    models, rows = {}, []
    for k in ks:
        if progress:
            progress(f"Clustering: trying k = {k} ({ks[0]}..{ks[-1]})")
        model = _fit(x, k, random_state)
        models[k] = model
        rows.append((k, float(model.inertia_), _silhouette(distances, model.labels_[index])))
    return models, rows


def _prepare(table, weights, random_state):
    check_seed(random_state)
    x = features(table, weights)
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


def choose_k(table: pd.DataFrame, k_range: Iterable[int] = range(2, 11), weights=(1, 1, 1),
             random_state: int = 0, *, sample_size: int = SILHOUETTE_SAMPLE) -> pd.DataFrame:
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
    models, rows = _sweep(x, usable, random_state, sample_size, progress)
    frame = pd.DataFrame(rows, columns=K_SELECTION_COLUMNS[:3])
    chosen = _elbow(usable, frame["inertia"].tolist(), frame["silhouette"].tolist())
    frame["chosen"] = frame["k"] == chosen
    frame.attrs["method"] = "elbow" if len(usable) >= 3 else "silhouette"
    return frame, models, x


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
        ``k``, ``inertia``, ``silhouette``, ``chosen`` for the k values tried.
    names : Series of str
        A unique descriptive name per cluster: the segment the center's scores fall in.
    """

    labels: pd.Series
    k: int
    centers: pd.DataFrame
    k_selection: pd.DataFrame
    names: pd.Series = field(default_factory=lambda: pd.Series(dtype=object))

    @property
    def named_labels(self) -> pd.Series:
        """The cluster name of each customer."""
        return self.labels.map(self.names)


def _unique_names(names: list[str]) -> list[str]:
    seen: dict[str, int] = {}
    out = []
    for name in names:
        seen[name] = seen.get(name, 0) + 1
        out.append(name if seen[name] == 1 else f"{name} {seen[name]}")
    return out


def cluster(table: pd.DataFrame, k: int | None = None, weights=(1, 1, 1), random_state: int = 0, *,
            k_range: Iterable[int] = range(2, 11), bins: int = 5, method: str = "balanced",
            rules: pd.DataFrame | None = None, sample_size: int = SILHOUETTE_SAMPLE,
            progress=None) -> ClusterResult:
    """Cluster customers with K-Means; k by the elbow method unless given.

    Parameters
    ----------
    table : DataFrame
        Customer table with ``recency``, ``frequency``, ``monetary``.
    k : int, optional
        Number of clusters; None chooses it over ``k_range`` (see :func:`choose_k`).
    weights : three numbers
        Weights of R, F and M after standardising.
    random_state : int
        Seed: the same data always gives the same labels.
    k_range : iterable of int
        The k values tried (the k-selection table is reported even when k is given).
    bins, method, rules
        How cluster centers are scored and named (as in :func:`score` and :func:`segment`).
    progress : callable, optional
        Called with a short text before each k is tried.

    Returns
    -------
    ClusterResult
    """
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
    models, rows = _sweep(x, sorted(set(usable) | ({k} if k else set())), random_state, sample_size, progress)
    selection = pd.DataFrame(rows, columns=K_SELECTION_COLUMNS[:3])
    in_range = selection["k"].isin(usable).to_numpy()
    elbow = _elbow(selection["k"][in_range].tolist(), selection["inertia"][in_range].tolist(),
                   selection["silhouette"][in_range].tolist()) if in_range.any() else k
    k = elbow if k is None else k
    selection["chosen"] = selection["k"] == k
    selection.attrs["method"] = "given" if k != elbow else ("elbow" if in_range.sum() >= 3 else "silhouette")

    # The final fit: more restarts and a tighter tolerance at the chosen k only (stable
    # across seeds at a small cost; the sweep above only has to rank k).
    raw_labels = _fit(x, k, random_state, FINAL_N_INIT, FINAL_TOL).labels_
    monetary = table["monetary"].to_numpy(dtype=np.float64)
    means = np.array([monetary[raw_labels == c].mean() for c in range(k)])
    order = np.argsort(-means, kind="stable")
    renumber = np.empty(k, dtype=np.int64)
    renumber[order] = np.arange(1, k + 1)
    labels = pd.Series(renumber[raw_labels], index=table.index, name="cluster")

    logs = _log_features(table)
    centre_logs = pd.DataFrame(logs).groupby(labels.to_numpy()).mean().sort_index()
    centers = pd.DataFrame({
        "recency": centre_logs[0].to_numpy(),
        "frequency": np.expm1(centre_logs[1].to_numpy()),
        "monetary": np.expm1(centre_logs[2].to_numpy()),
    }, index=pd.Index(range(1, k + 1), name="cluster"))
    scores = [fit_binning(table[col].to_numpy(), bins, method, higher_is_better=(col != "recency"))
              .apply(centers[col].to_numpy()) for col in ("recency", "frequency", "monetary")]
    names = _unique_names(list(segment_of(*scores, rules=rules, bins=bins)))
    return ClusterResult(labels=labels, k=k, centers=centers, k_selection=selection,
                         names=pd.Series(names, index=centers.index, name="cluster_name"))
