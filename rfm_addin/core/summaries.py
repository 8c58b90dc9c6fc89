"""Tables behind the charts and the Summary sheet, computed from an analysis.

Everything a chart shows is first a table on a sheet (so a reader can check the numbers
and an analyst can re-plot them); these functions compute those tables. They are core
logic: plain pandas in, plain DataFrames out, no Excel. The layout
(:mod:`rfm_addin.writers.layout`) puts them on sheets and describes the charts drawn from them.

- :func:`rf_grid`: the classic R x F heat map, customers and average monetary per cell.
- :func:`standardised_cluster_means`: the "snake plot" of clusters (mean z-score of R, F, M).
- :func:`pareto_curve`: cumulative revenue share against cumulative customer share.
- :func:`k_chart_table`: the k-selection table with the chosen k's inertia as its own column.
- :func:`segment_overview` and :func:`headline`: the figures of the Summary sheet.
"""
from __future__ import annotations

import math

import numpy as np
import pandas as pd

from .insights import pareto_share

METRICS = ("recency", "frequency", "monetary")
METRIC_LABELS = {"recency": "Recency", "frequency": "Frequency", "monetary": "Monetary"}


def rf_grid(customers: pd.DataFrame, bins: int) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Customers and average monetary value per (R score, F score) cell.

    Parameters
    ----------
    customers : DataFrame
        Scored customers with ``r_score``, ``f_score`` and ``monetary``.
    bins : int
        The number of score levels: the grid is ``bins`` x ``bins``, every cell present.

    Returns
    -------
    (counts, average_monetary) : DataFrame, DataFrame
        Index ``r_score`` from ``bins`` (best, on top as in the usual heat map) down to 1;
        columns ``f_score`` 1..bins (integers). Counts are 0 for an empty cell; average
        monetary is NaN there.
    """
    scores = list(range(1, int(bins) + 1))
    # Keys as Series: a list of two bare arrays of length 2 (two customers) is ambiguous to pandas.
    r = pd.Series(pd.Categorical(customers["r_score"].astype(int), categories=scores), index=customers.index)
    f = pd.Series(pd.Categorical(customers["f_score"].astype(int), categories=scores), index=customers.index)
    grouped = customers["monetary"].astype(float).groupby([r, f], observed=False)
    counts = grouped.size().unstack().reindex(index=scores[::-1], columns=scores).fillna(0).astype(np.int64)
    means = grouped.mean().unstack().reindex(index=scores[::-1], columns=scores).astype(float)
    for frame in (counts, means):
        frame.index.name = "r_score"
        frame.columns.name = "f_score"
    return counts, means


def standardised_cluster_means(customers: pd.DataFrame, cluster: str = "cluster") -> pd.DataFrame:
    """Mean z-score of recency, frequency and monetary per cluster (the "snake plot").

    Each metric is standardised over all clustered customers (``(x - mean) / std``, the
    population standard deviation; a constant metric gives 0), then averaged per cluster.
    A cluster at +1 on monetary spends one standard deviation more than the average
    customer; on recency, positive means *longer* since the last purchase.

    Returns
    -------
    DataFrame
        Index: cluster (sorted); columns ``recency``, ``frequency``, ``monetary``.
        Empty when no customer has a cluster.
    """
    labelled = customers.loc[customers[cluster].notna()]
    values = labelled[list(METRICS)].astype(float)
    std = values.std(ddof=0)
    z = (values - values.mean()) / std.where(std > 0)
    z = z.fillna(0.0)
    out = z.groupby(labelled[cluster].astype(np.int64).to_numpy(), sort=True).mean()
    out.index.name = cluster
    return out


def snake_table(means: pd.DataFrame, names: pd.Series | None = None) -> pd.DataFrame:
    """The snake-plot data as a table: one row per metric, one column per cluster.

    Columns are named "1 Champions", "2 At Risk"... (number and name) so a chart's legend
    reads by itself.
    """
    frame = means.T.copy()
    labels = []
    for number in means.index:
        name = None if names is None else names.get(number)
        labels.append(f"{int(number)} {name}" if name else f"Cluster {int(number)}")
    frame.columns = labels
    frame.insert(0, "metric", [METRIC_LABELS[m] for m in frame.index])
    return frame.reset_index(drop=True)


def pareto_curve(monetary: pd.Series, points: int = 100) -> pd.DataFrame:
    """Cumulative share of revenue brought by the best customers.

    Customers are sorted by monetary value, highest first. For each step ``i`` of
    ``0..points`` the top ``ceil(i * n / points)`` customers are taken (the same rounding
    as the "top 20%" finding); steps that give the same number of customers (fewer than
    ``points`` customers) appear once.

    Returns
    -------
    DataFrame
        ``customer_share_cum`` (fraction of customers), ``revenue_share_cum`` (their
        fraction of total net revenue; NaN when total revenue is not positive) and
        ``equal_share`` (the diagonal of a world where every customer spends the same).
    """
    values = np.sort(monetary.to_numpy(dtype=float))[::-1]
    n = len(values)
    counts = sorted({math.ceil(i * n / points) for i in range(points + 1)}) if n else [0]
    cumulative = np.concatenate([[0.0], np.cumsum(values)])
    total = float(cumulative[-1])  # the same sum as the last point: the curve ends at exactly 1
    share = np.array([c / n if n else 0.0 for c in counts])
    revenue = cumulative[counts] / total if total > 0 else np.full(len(counts), np.nan)
    return pd.DataFrame({"customer_share_cum": share, "revenue_share_cum": revenue, "equal_share": share})


def k_chart_table(k_selection: pd.DataFrame) -> pd.DataFrame:
    """The k-selection table with a column holding the chosen k's inertia (blank elsewhere).

    That column is the chart's "Chosen k" marker series; its place (after silhouette)
    keeps every plotted column side by side. Columns: ``k``, ``inertia``,
    ``silhouette``, ``chosen_inertia``, ``chosen``, and when computed the chosen k's mean
    ``jaccard`` and ``stability`` word.
    """
    extra = [c for c in ("jaccard", "stability") if c in k_selection.columns]
    frame = k_selection[["k", "inertia", "silhouette", "chosen", *extra]].copy()
    chosen = frame["chosen"].astype(bool) if len(frame) else pd.Series(dtype=bool)
    frame.insert(3, "chosen_inertia", frame["inertia"].where(chosen))
    return frame.reset_index(drop=True)


def segment_overview(segment_summary: pd.DataFrame) -> pd.DataFrame:
    """Per segment (most revenue first): customers, revenue, their shares (side by side,
    as the segment chart plots them), description and recommended action."""
    columns = [c for c in ("customers", "revenue", "customer_share", "revenue_share", "description", "action")
               if c in segment_summary.columns]
    frame = segment_summary.sort_values("revenue", ascending=False, kind="stable")[columns]
    return frame.reset_index(names="segment")


def headline(customers: pd.DataFrame, as_of: pd.Timestamp, k: int = 0) -> pd.DataFrame:
    """The Summary's headline figures as one row: customers, revenue, revenue share of
    the top 20% of customers, as-of date and number of clusters."""
    _, share = pareto_share(customers["monetary"]) if len(customers) else (0, float("nan"))
    return pd.DataFrame({
        "customers": [len(customers)],
        "revenue": [float(customers["monetary"].sum())],
        "top20_share": [share],
        "as_of": [pd.Timestamp(as_of)],
        "clusters": [int(k)],
    })


def value_overview(table: pd.DataFrame) -> pd.DataFrame:
    """Per group (a segment summary or cluster profile with the CLV columns), most future value
    first: customers, past revenue and expected future value, their shares side by side (as the
    CLV chart plots them), mean CLV and mean churn risk."""
    columns = [c for c in ("cluster_name", "customers", "revenue", "clv_total", "revenue_share", "clv_share",
                           "clv_mean", "churn_risk_mean") if c in table.columns]
    return table.sort_values("clv_total", ascending=False, kind="stable")[columns]


def value_model_table(values) -> pd.DataFrame:
    """The settings and fitted parameters behind the customer values (a ``CustomerValues``), as
    parameter / value rows."""
    rows = [("Horizon (days)", values.horizon_days), ("Yearly discount rate", values.annual_discount),
            ("Margin", values.margin), ("Churn horizon (days)", round(values.churn_days, 2)),
            ("Purchase model", "Pareto/NBD (weeks)"),
            *((f"Pareto/NBD {k}", v) for k, v in values.purchases.params.items()),
            ("Pareto/NBD log-likelihood", values.purchases.log_likelihood),
            ("Spend model", "Gamma-Gamma"), *((f"Gamma-Gamma {k}", v) for k, v in values.spend.params.items()),
            ("Repeat customers left out of the spend model", values.left_out)]
    rows += [("Note", note) for note in values.notes]
    return pd.DataFrame(rows, columns=["parameter", "value"])
