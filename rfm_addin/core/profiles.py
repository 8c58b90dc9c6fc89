"""Describe groups of customers (segments, clusters, anything) in the same terms.

One function serves segment summaries and cluster profiles so both read the same way:
size and share of customers, mean and median R, F, M, revenue and its share, and the
average order value of the group (its revenue over its orders).
"""
from __future__ import annotations

import numpy as np
import pandas as pd

from .validation import check_columns, group_labels

PROFILE_COLUMNS = [
    "customers", "customer_share", "recency_mean", "recency_median", "frequency_mean", "frequency_median",
    "monetary_mean", "monetary_median", "revenue", "revenue_share", "avg_order_value",
]


def profile(table: pd.DataFrame, by, *, long: bool = False) -> pd.DataFrame:
    """Per-group profile of a customer table.

    Parameters
    ----------
    table : DataFrame
        Customer table with ``recency``, ``frequency``, ``monetary``.
    by : str or array-like
        A column of ``table`` (e.g. "segment", "cluster") or labels aligned with its rows.
    long : bool
        False: one row per group with the columns of :data:`PROFILE_COLUMNS`.
        True: the pivot-ready long form with columns ``group``, ``metric``, ``value``.

    Returns
    -------
    DataFrame
        Groups in their natural (sorted) order. Shares are fractions of all customers and
        of total net revenue (NaN when total revenue is not positive).
    """
    check_columns(table, ("recency", "frequency", "monetary"),
                  "profile() needs recency, frequency and monetary columns; missing")
    name, groups = group_labels(table, by)
    grouped = table[["recency", "frequency", "monetary"]].groupby(groups.to_numpy(), sort=True)
    stats = grouped.agg(["mean", "median"])
    sums = grouped.sum()
    counts = grouped.size()
    total = float(table["monetary"].sum())
    frame = pd.DataFrame({
        "customers": counts.astype(np.int64),
        "customer_share": counts / len(table),
        "recency_mean": stats[("recency", "mean")],
        "recency_median": stats[("recency", "median")],
        "frequency_mean": stats[("frequency", "mean")],
        "frequency_median": stats[("frequency", "median")],
        "monetary_mean": stats[("monetary", "mean")],
        "monetary_median": stats[("monetary", "median")],
        "revenue": sums["monetary"],
        "revenue_share": sums["monetary"] / total if total > 0 else np.nan,
        "avg_order_value": sums["monetary"] / sums["frequency"].where(sums["frequency"] > 0),
    })
    frame.index.name = name
    if not long:
        return frame
    return to_long(frame)


def to_long(frame: pd.DataFrame) -> pd.DataFrame:
    """A wide profile as rows of (group, metric, value): one pivot table covers every metric."""
    name = frame.index.name or "group"
    out = frame.reset_index(names="group").melt(id_vars="group", var_name="metric", value_name="value")
    out.attrs["group_name"] = name
    return out
