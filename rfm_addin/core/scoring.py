"""Turn recency, frequency and monetary values into 1..bins scores.

Two ways to cut a metric into score bands are offered:

``method="balanced"`` (default)
    Customers with the same value always get the same score, and the bands are as close
    to equal size (n / bins customers each) as those ties allow. The cut points are the
    exact minimiser of ``sum over bands of (size - n / bins) ** 2`` over all ways of
    cutting the sorted distinct values into ``bins`` contiguous non-empty groups, found by
    dynamic programming. This matters for skewed metrics: when half of the customers
    bought once, rank-based splitting (``pandas.qcut`` on ranks) would give identical
    customers different F scores, and plain quantile cuts leave some scores unused.

    Tie-break (when several cuttings are equally balanced): the highest cut point is
    placed as low as possible, then the next highest, and so on. Put differently, the
    partition whose cut positions, read from the top cut down, are lexicographically
    smallest is chosen, which hands boundary values to the better score.

    With fewer distinct values ``d`` than ``bins`` every distinct value is its own band
    and the scores are spread over 1..bins: the k-th distinct value (k = 0..d-1, from
    worst to best) gets ``floor(1 + k * (bins - 1) / (d - 1) + 0.5)``. When all customers
    share one value everyone gets the middle score, rounded half up:
    ``floor((bins + 1) / 2 + 0.5)`` (bins=5 -> 3, bins=4 -> 3, bins=2 -> 2).

``method="quantile"``
    The classic recipe, for comparability with other tools: cut points are
    ``numpy.quantile(values, [1/bins, ..., (bins-1)/bins])`` (linear interpolation),
    bands are right-closed as in R's ``cut(include.lowest=TRUE)``, so the band of a value
    is 1 + the number of cut points strictly below it. Equal values stay together but
    bands may be empty.

Recency is "lower is better": balanced scoring works on the negated values (the most
recent customers get ``bins``); quantile scoring computes the band on recency itself and
reverses it (``bins + 1 - band``).

Both :func:`score` and :func:`thresholds` go through :func:`fit_binning`, so the printed
cut points and the scores can never disagree.
"""
from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Sequence

import numpy as np
import pandas as pd

from .errors import RfmError
from .validation import (
    check_bins, check_customer_table, check_method, check_weights,
)

#: Largest number of customers the exact integer optimisation handles without int64
#: overflow (all intermediate costs stay below 72 * n**2 < 2**63).
MAX_CUSTOMERS = 200_000_000

_METRICS = (
    # column, label, letter, higher_is_better
    ("recency", "Recency", "R", False),
    ("frequency", "Frequency", "F", True),
    ("monetary", "Monetary", "M", True),
)


# --------------------------------------------------------------------------------------
# The fitted mapping
# --------------------------------------------------------------------------------------
@dataclass(frozen=True)
class Binning:
    """A fitted value -> score mapping that can score any value, seen at fit time or not.

    The value axis is cut at ``cuts`` (ascending, original units) into ``len(cuts) + 1``
    intervals; ``scores[k]`` is the score of the k-th interval from the left. Keeping the
    mapping as plain cut points lets new values (e.g. a cluster centroid) be scored the
    same way as the customers it was fitted on.

    Attributes
    ----------
    method : str
        ``"balanced"`` or ``"quantile"``, the method it was fitted with.
    bins : int
        Number of possible scores (scores are 1..bins).
    higher_is_better : bool
        False for recency, whose lowest values get the highest scores.
    cuts : tuple of float
        Ascending cut points in the units of the values; equal cut points (possible with
        the quantile method) make empty intervals.
    scores : tuple of int
        Score of each interval, ``len(cuts) + 1`` entries, in ascending value order.
    closed : str
        ``"left"``: a value equal to a cut point belongs to the interval right of it;
        ``"right"``: to the interval left of it.
    """

    method: str
    bins: int
    higher_is_better: bool
    cuts: tuple[float, ...]
    scores: tuple[int, ...]
    closed: str

    def __post_init__(self) -> None:
        if len(self.scores) != len(self.cuts) + 1:
            raise RfmError(
                f"A binning needs one score per interval: {len(self.cuts)} cut points "
                f"make {len(self.cuts) + 1} intervals but {len(self.scores)} scores were given."
            )
        if self.closed not in ("left", "right"):
            raise RfmError(f'closed must be "left" or "right", not {self.closed!r}.')

    def apply(self, values) -> np.ndarray:
        """Score values with this binning.

        Parameters
        ----------
        values : array-like of numbers
            Any finite numbers, also ones not seen when fitting.

        Returns
        -------
        numpy.ndarray of int64
            Scores in 1..bins, same shape as ``values``.
        """
        array = _as_finite_floats(values, "values")
        side = "right" if self.closed == "left" else "left"
        interval = np.searchsorted(np.asarray(self.cuts, dtype=float), array, side=side)
        return np.asarray(self.scores, dtype=np.int64)[interval]


# --------------------------------------------------------------------------------------
# Public functions
# --------------------------------------------------------------------------------------
def fit_binning(
    values,
    *,
    bins: int = 5,
    method: str = "balanced",
    higher_is_better: bool = True,
) -> Binning:
    """Fit the score bands of one metric.

    Parameters
    ----------
    values : array-like of numbers
        The metric for every customer; finite, at least one value.
    bins : int, default 5
        Number of scores, 2..9.
    method : {"balanced", "quantile"}, default "balanced"
        See the module documentation.
    higher_is_better : bool, default True
        False for recency (fewer days since the last purchase is better).

    Returns
    -------
    Binning
        The fitted mapping; ``fit_binning(v).apply(v)`` gives the customers' scores.
    """
    check_bins(bins)
    check_method(method)
    array = _as_finite_floats(values, "values")
    if array.ndim != 1 or array.size == 0:
        raise RfmError(
            f"fit_binning needs a flat list of at least one number; got shape {array.shape}."
        )
    if method == "quantile":
        return _fit_quantile(array, bins, bool(higher_is_better))
    return _fit_balanced(array, bins, bool(higher_is_better))


def score(
    table: pd.DataFrame,
    *,
    bins: int = 5,
    weights: Sequence[float] = (1, 1, 1),
    method: str = "balanced",
) -> pd.DataFrame:
    """Add R, F and M scores, the RFM code and the weighted RFM score to a customer table.

    Parameters
    ----------
    table : pandas.DataFrame
        One row per customer (index = customer id) with numeric columns ``recency``
        (days since the last purchase, lower is better), ``frequency`` and ``monetary``.
        Other columns are kept as they are.
    bins : int, default 5
        Number of scores per metric, 2..9.
    weights : three numbers, default (1, 1, 1)
        Weights of R, F and M in ``rfm_score``; finite, non-negative, positive sum.
    method : {"balanced", "quantile"}, default "balanced"
        How the score bands are cut; see the module documentation.

    Returns
    -------
    pandas.DataFrame
        A copy of ``table`` with extra columns ``r_score``, ``f_score``, ``m_score``
        (int 1..bins, higher is better), ``rfm_code`` (str such as ``"545"``) and
        ``rfm_score`` (float, ``(w_r*r + w_f*f + w_m*m) / (w_r + w_f + w_m)``).
    """
    check_bins(bins)
    check_method(method)
    weight_array = check_weights(weights)
    metrics = check_customer_table(table)
    result = table.copy()
    score_columns = []
    for (column, _label, letter, higher) in _METRICS:
        binning = fit_binning(metrics[column], bins=bins, method=method, higher_is_better=higher)
        name = f"{letter.lower()}_score"
        result[name] = binning.apply(metrics[column])
        score_columns.append(name)
    scores = result[score_columns].to_numpy(dtype=np.int64)
    # Scores are single digits (bins <= 9), so the code is the three digits as a number.
    result["rfm_code"] = (scores @ np.array([100, 10, 1])).astype(str).astype(object)
    result["rfm_score"] = (scores @ weight_array) / weight_array.sum()
    return result


def thresholds(table: pd.DataFrame, *, bins: int = 5, method: str = "balanced",
               frequency_basis: str | None = None) -> pd.DataFrame:
    """Describe, for people, which values earned which score.

    Parameters
    ----------
    table : pandas.DataFrame
        Same input as :func:`score`.
    bins : int, default 5
        Number of scores, 2..9.
    method : {"balanced", "quantile"}, default "balanced"
        Same as for :func:`score`; the bands are fitted the same way.
    frequency_basis : str, optional
        What frequency counts (the meanings say "orders", "transactions"...); default
        ``table.attrs["frequency_basis"]``, else "purchases".

    Returns
    -------
    pandas.DataFrame
        One row per metric and score, Recency then Frequency then Monetary, best score
        first, with columns ``metric``, ``score``, ``min`` and ``max`` (smallest and
        largest value among the customers with that score, NaN when there are none),
        ``customers`` (count) and ``meaning`` (a sentence such as
        ``"F = 3: 3 to 4 orders"``).
    """
    from .describe import nouns_for

    nouns = nouns_for(frequency_basis if frequency_basis is not None else table.attrs.get("frequency_basis"))
    check_bins(bins)
    check_method(method)
    metrics = check_customer_table(table)
    rows = []
    for (column, label, letter, higher) in _METRICS:
        values = metrics[column]
        scores = fit_binning(values, bins=bins, method=method, higher_is_better=higher).apply(values)
        for s in range(bins, 0, -1):
            rows.append(_threshold_row(label, letter, s, values[scores == s], (nouns.purchase, nouns.purchases)))
    frame = pd.DataFrame(rows, columns=["metric", "score", "min", "max", "customers", "meaning"])
    return frame.astype({"score": np.int64, "customers": np.int64, "min": float, "max": float})


# --------------------------------------------------------------------------------------
# Quantile method
# --------------------------------------------------------------------------------------
def _fit_quantile(values: np.ndarray, bins: int, higher_is_better: bool) -> Binning:
    """Quantile cut points, right-closed bands; recency gets the reversed band number."""
    cuts = np.quantile(values, [k / bins for k in range(1, bins)])
    bands = range(1, bins + 1)
    scores = tuple(bands) if higher_is_better else tuple(bins + 1 - b for b in bands)
    return Binning("quantile", bins, higher_is_better, tuple(map(float, cuts)), scores, "right")


# --------------------------------------------------------------------------------------
# Balanced method
# --------------------------------------------------------------------------------------
def _fit_balanced(values: np.ndarray, bins: int, higher_is_better: bool) -> Binning:
    """Group distinct values into balanced bands and express them as cut points.

    The optimisation runs on "goodness" (the values, negated for recency) so the best
    group is always the last; the cut points are then translated back to value units.
    """
    goodness = values if higher_is_better else -values
    distinct, counts = np.unique(goodness, return_counts=True)
    if counts.sum() > MAX_CUSTOMERS:
        raise RfmError(
            f"Balanced scoring handles at most {MAX_CUSTOMERS:,} customers; got "
            f"{int(counts.sum()):,}. Use method=\"quantile\" for larger tables."
        )
    d = distinct.size
    if d < bins:
        group_ends = np.arange(1, d + 1)
        group_scores = _spread_scores(d, bins)
    else:
        group_ends = np.append(_balanced_cut_positions(counts, bins), d)
        group_scores = list(range(1, bins + 1))
    return _binning_from_groups(distinct, group_ends, group_scores, bins, higher_is_better)


def _spread_scores(d: int, bins: int) -> list[int]:
    """Scores of d < bins distinct values, spread over 1..bins (rounded half up)."""
    if d == 1:
        return [bins // 2 + 1]  # floor((bins + 1) / 2 + 0.5): the middle, rounded half up
    # floor(1 + k*(bins-1)/(d-1) + 1/2), in exact integer arithmetic
    return [1 + (2 * k * (bins - 1) + (d - 1)) // (2 * (d - 1)) for k in range(d)]


def _binning_from_groups(
    distinct: np.ndarray,
    group_ends: np.ndarray,
    group_scores: list[int],
    bins: int,
    higher_is_better: bool,
) -> Binning:
    """Turn groups of sorted distinct goodness values into a :class:`Binning`.

    A value between two groups (unseen at fit time) gets the lower of the two scores.
    """
    starts = np.concatenate(([0], group_ends[:-1]))
    if higher_is_better:
        cuts = distinct[starts[1:]]  # smallest value of each group but the first
        return Binning("balanced", bins, True, tuple(map(float, cuts)),
                       tuple(group_scores), "left")
    # goodness = -recency: the group's smallest goodness is its largest recency
    cuts = -distinct[starts[1:]][::-1]
    return Binning("balanced", bins, False, tuple(map(float, cuts)),
                   tuple(reversed(group_scores)), "right")


def _balanced_cut_positions(counts: np.ndarray, bins: int) -> np.ndarray:
    """Exactly optimal balanced grouping of sorted distinct values.

    Parameters
    ----------
    counts : numpy.ndarray of int
        How many customers have each distinct value, in ascending value order; at least
        ``bins`` entries, all positive.
    bins : int
        Number of groups B.

    Returns
    -------
    numpy.ndarray of int64
        ``B - 1`` strictly increasing cut positions: group k (1-based) holds the distinct
        values with positions ``cut[k-2] .. cut[k-1] - 1`` (with cut[-1] = 0, cut[B-1] = d).

    Notes
    -----
    Minimises ``sum_b (B * size_b - n) ** 2`` in int64 (same argmin as the float
    objective, exact ties). With prefix counts S, ``dp_b(j) = min_{i<j} dp_{b-1}(i) +
    (B (S_j - S_i) - n) ** 2``. The cost is convex in ``S_j - S_i`` and S increases, so it
    is Monge and the smallest argmin ``opt_b(j)`` is non-decreasing in j: each layer is
    solved by divide-and-conquer optimisation, all intervals of a recursion level at once
    with flat numpy arrays. Backtracking through smallest argmins gives the documented
    tie-break. The search is restricted to cut positions that any partition at most as
    costly as a simple feasible one can use (a Cauchy-Schwarz bound, see
    :func:`_cut_windows`); all optimal partitions lie inside, so the result is exact.
    """
    counts = np.asarray(counts, dtype=np.int64)
    d, B = counts.size, int(bins)
    prefix = np.concatenate(([0], np.cumsum(counts)))
    n = int(prefix[-1])
    windows = _cut_windows(prefix, B)
    x = B * prefix  # B * S_i
    a = B * prefix - n  # B * S_j - n, so a_j - x_i = B (S_j - S_i) - n
    lo, hi = windows[0]
    dp = a[lo:hi + 1] ** 2  # one group: cost of the first group ending at j
    dp_lo = lo
    choices = []
    for b in range(2, B + 1):
        j_lo, j_hi = windows[b - 1]
        dp_new, opt = _dc_layer(dp, dp_lo, a, x, j_lo, j_hi)
        choices.append((j_lo, opt))
        dp, dp_lo = dp_new, j_lo
    cuts = []
    j = d
    for (j_lo, opt) in reversed(choices):
        j = int(opt[j - j_lo])
        cuts.append(j)
    return np.array(cuts[::-1], dtype=np.int64)


def _cut_windows(prefix: np.ndarray, B: int) -> list[tuple[int, int]]:
    """Ranges of positions the b-th cut (b = 1..B, the B-th is d) can take in an optimum.

    If an optimal partition has deviations e_k = B*s_k - n and x = B*S_cut_b - b*n is the
    sum of the first b of them, Cauchy-Schwarz on both sides of the cut gives
    ``cost >= x**2 * B / (b * (B - b))``; cost is at most C0, the cost of any feasible
    partition, so ``|x| <= sqrt(b * (B - b) * C0 / B)``. Python integers keep this exact.
    """
    d = prefix.size - 1
    n = int(prefix[-1])
    c0 = _feasible_cost(prefix, B)
    windows = []
    previous_lo = 0
    for b in range(1, B):
        r = math.isqrt(b * (B - b) * c0 // B)
        low_count = -((r - b * n) // B)  # ceil((b n - r) / B)
        high_count = (b * n + r) // B
        lo = max(int(np.searchsorted(prefix, low_count, side="left")), b, previous_lo + 1)
        hi = min(int(np.searchsorted(prefix, high_count, side="right")) - 1, d - B + b)
        windows.append((lo, hi))
        previous_lo = lo
    windows.append((d, d))
    return windows


def _feasible_cost(prefix: np.ndarray, B: int) -> int:
    """Cost of a simple valid partition: each cut near k*n/B, kept strictly increasing."""
    d = prefix.size - 1
    n = int(prefix[-1])
    targets = np.array([k * n / B for k in range(1, B)])
    near = np.clip(np.searchsorted(prefix, targets), 1, d - 1)
    cuts = []
    for k, j in enumerate(near.tolist(), start=1):
        j = min(max(j, cuts[-1] + 1 if cuts else 1), d - B + k)
        cuts.append(j)
    sizes = np.diff(prefix[[0] + cuts + [d]]).tolist()
    return sum((B * s - n) ** 2 for s in sizes)


def _dc_layer(
    dp_prev: np.ndarray,
    prev_lo: int,
    a: np.ndarray,
    x: np.ndarray,
    j_lo: int,
    j_hi: int,
) -> tuple[np.ndarray, np.ndarray]:
    """One DP layer by divide-and-conquer, every recursion level vectorised.

    ``dp_prev[i - prev_lo]`` is the previous layer on i = prev_lo..; returns the new layer
    and its smallest argmins on j = j_lo..j_hi.
    """
    prev_hi = prev_lo + dp_prev.size - 1
    size = j_hi - j_lo + 1
    dp_new = np.empty(size, dtype=np.int64)
    opt = np.empty(size, dtype=np.int64)
    # open intervals: j range [jl, jr] whose argmin lies in [il, ir]
    jl = np.array([j_lo], dtype=np.int64)
    jr = np.array([j_hi], dtype=np.int64)
    il = np.array([prev_lo], dtype=np.int64)
    ir = np.array([prev_hi], dtype=np.int64)
    while jl.size:
        mid = (jl + jr) // 2
        best_value, best_i = _segment_argmin(dp_prev, prev_lo, a, x, mid, il, np.minimum(ir, mid - 1))
        dp_new[mid - j_lo] = best_value
        opt[mid - j_lo] = best_i
        left, right = jl <= mid - 1, mid + 1 <= jr
        jl, jr, il, ir = (
            np.concatenate((jl[left], mid[right] + 1)),
            np.concatenate((mid[left] - 1, jr[right])),
            np.concatenate((il[left], best_i[right])),
            np.concatenate((best_i[left], ir[right])),
        )
    return dp_new, opt


def _segment_argmin(
    dp_prev: np.ndarray,
    prev_lo: int,
    a: np.ndarray,
    x: np.ndarray,
    j: np.ndarray,
    i_from: np.ndarray,
    i_to: np.ndarray,
) -> tuple[np.ndarray, np.ndarray]:
    """For each j[k], min and smallest argmin of dp_prev(i) + (a_j - x_i)^2, i in [i_from, i_to]."""
    lengths = i_to - i_from + 1
    starts = np.cumsum(lengths) - lengths
    total = int(lengths.sum())
    i = np.arange(total, dtype=np.int64) + np.repeat(i_from - starts, lengths)
    gap = np.repeat(a[j], lengths) - x[i]
    value = dp_prev[i - prev_lo] + gap * gap
    best_value = np.minimum.reduceat(value, starts)
    candidate = np.where(value == np.repeat(best_value, lengths), i, np.iinfo(np.int64).max)
    return best_value, np.minimum.reduceat(candidate, starts)


def _as_finite_floats(values, what: str) -> np.ndarray:
    try:
        array = np.asarray(values, dtype=float)
    except (TypeError, ValueError):
        raise RfmError(f"The {what} to score must be numbers.") from None
    if not np.all(np.isfinite(array)):
        raise RfmError(f"The {what} to score must be numbers without blanks or infinities.")
    return array


# --------------------------------------------------------------------------------------
# Readable threshold rows
# --------------------------------------------------------------------------------------
def _threshold_row(label: str, letter: str, s: int, members: np.ndarray,
                   purchase_nouns: tuple[str, str] = ("purchase", "purchases")) -> dict:
    if members.size == 0:
        return {"metric": label, "score": s, "min": np.nan, "max": np.nan,
                "customers": 0, "meaning": f"{letter} = {s}: no customers"}
    low, high = float(members.min()), float(members.max())
    return {"metric": label, "score": s, "min": low, "max": high,
            "customers": int(members.size), "meaning": f"{letter} = {s}: " + _meaning(letter, low, high, purchase_nouns)}


def _meaning(letter: str, low: float, high: float, purchase_nouns: tuple[str, str]) -> str:
    if letter == "M":
        span = _money(low) if low == high else f"{_money(low)} to {_money(high)}"
        return f"spent {span} in total"
    unit = ("day", "days") if letter == "R" else purchase_nouns
    span = _number(low) if low == high else f"{_number(low)} to {_number(high)}"
    noun = unit[0] if low == high == 1 else unit[1]
    if letter == "R":
        return f"last purchase {span} {noun} before the as-of date"
    return f"{span} {noun}"


def _number(value: float) -> str:
    """Whole numbers without decimals, others with two; thousands separators."""
    return f"{int(value):,}" if float(value).is_integer() else f"{value:,.2f}"


def _money(value: float) -> str:
    return f"{value:,.2f}"
