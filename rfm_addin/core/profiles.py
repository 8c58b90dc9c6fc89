"""Describe groups of customers (segments, clusters, anything) in the same terms.

One function serves segment summaries and cluster profiles so both read the same way:
size and share of customers, mean and median R, F, M, revenue and its share, and the
average order value of the group (its revenue over its orders).
"""
from __future__ import annotations

import numpy as np
import pandas as pd

from .errors import RfmError
from .validation import check_columns, group_labels

PROFILE_COLUMNS = [
    "customers", "customer_share", "recency_mean", "recency_median", "frequency_mean", "frequency_median",
    "monetary_mean", "monetary_median", "revenue", "revenue_share", "avg_order_value",
]


#: Categories of a text column shown in a profile (the most frequent overall; the rest are "other").
TOP_CATEGORIES = 5


def extra_columns(table: pd.DataFrame, columns=None) -> list[str]:
    """The columns a profile describes besides R, F and M: ``columns`` if given, else
    ``table.attrs["profile_columns"]`` (kept columns, usage columns), never scores, labels or ids."""
    from .labels import CUSTOMER_RESULT_COLUMNS

    wanted = table.attrs.get("profile_columns", []) if columns is None else \
        ([columns] if isinstance(columns, str) else list(columns))
    missing = [c for c in wanted if c not in table.columns]
    if missing and columns is not None:
        raise RfmError(f"profile(): {', '.join(map(repr, missing))} is not a column of the table.")
    return [c for c in wanted if c in table.columns and c not in CUSTOMER_RESULT_COLUMNS and c not in
            ("customer", "customers")]


def _describe_extra(table: pd.DataFrame, groups: np.ndarray, column: str) -> pd.DataFrame:
    """Per group: mean and median of a numeric column, or the share of each top category of a text one."""
    values = table[column]
    if pd.api.types.is_bool_dtype(values) or not pd.api.types.is_numeric_dtype(values):
        text = values.astype(object).where(values.notna(), "(empty)").astype(str)
        top = text.value_counts().index[:TOP_CATEGORIES]
        text = text.where(text.isin(top), "other")
        shares = pd.crosstab(groups, text.to_numpy(), normalize="index")
        order = [c for c in [*top, "other"] if c in shares.columns]
        return shares[order].rename(columns=lambda c: f"{column}: {c} (share)")
    grouped = values.astype(float).groupby(groups)
    return pd.DataFrame({f"{column} (mean)": grouped.mean(), f"{column} (median)": grouped.median()})


def extra_profile(table: pd.DataFrame, groups, columns=None) -> pd.DataFrame:
    """The profile columns of :func:`extra_columns` per group (``groups``: one label per row), to
    append after a table's own columns."""
    out = pd.DataFrame(index=pd.Index(sorted(pd.unique(np.asarray(groups)))))
    for column in extra_columns(table, columns):
        out = out.join(_describe_extra(table, np.asarray(groups), column))
    return out


def profile(table: pd.DataFrame, by, *, columns=None, long: bool = False) -> pd.DataFrame:
    """Per-group profile of a customer table.

    Parameters
    ----------
    table : DataFrame
        Customer table with ``recency``, ``frequency``, ``monetary``.
    by : str or array-like
        A column of ``table`` (e.g. "segment", "cluster") or labels aligned with its rows.
    columns : str or list of str, optional
        Further columns to describe; default ``table.attrs["profile_columns"]`` (the ``keep``
        columns of :func:`rfm_addin.rfm_table`, the usage columns of
        :func:`rfm_addin.usage_table`). Numeric ones get "<column> (mean)" and "(median)",
        text ones "<column>: <category> (share)" for their :data:`TOP_CATEGORIES` most
        frequent categories and "other". Scores, labels and ids are never described.
    long : bool
        False: one row per group with the columns of :data:`PROFILE_COLUMNS`, then the extra ones.
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
    frame = frame.join(extra_profile(table, groups.to_numpy(), columns))
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
