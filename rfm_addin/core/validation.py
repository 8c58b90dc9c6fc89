"""Parameter and table checks shared by scoring, segments, profiles and clustering.

One place for each rule, so the same bad ``bins`` or ``weights`` gets the same message
whichever function it was passed to (as scikit-learn validates its parameters).
"""
from __future__ import annotations

import numpy as np
import pandas as pd

from .errors import ColumnError, DataError, RfmError

METHODS = ("balanced", "quantile")
MIN_BINS, MAX_BINS = 2, 9
#: The three metric columns of a customer table.
METRIC_COLUMNS = ("recency", "frequency", "monetary")


#: Seeds NumPy and scikit-learn accept: 0 to 2**32 - 1.
MAX_SEED = 2**32 - 1


def check_seed(seed, name: str = "random_state (seed)") -> int:
    """A whole-number seed from 0 to :data:`MAX_SEED`, as NumPy and scikit-learn take it."""
    if isinstance(seed, bool) or not isinstance(seed, (int, np.integer)):
        raise RfmError(f"{name} must be a whole number, not {seed!r}.")
    if not 0 <= int(seed) <= MAX_SEED:
        raise RfmError(f"{name} must be a whole number from 0 to {MAX_SEED:,}, not {int(seed):,}.")
    return int(seed)


def check_bins(bins) -> None:
    if isinstance(bins, (bool, np.bool_)) or not isinstance(bins, (int, np.integer)):
        raise RfmError(
            f"bins must be a whole number from {MIN_BINS} to {MAX_BINS}; got {bins!r}."
        )
    if not MIN_BINS <= bins <= MAX_BINS:
        raise RfmError(
            f"bins must be from {MIN_BINS} to {MAX_BINS} (scores are single digits such as "
            f'"545"); got {bins}.'
        )


def check_method(method) -> None:
    if method not in METHODS:
        raise RfmError(
            f'method must be "balanced" (equal values share a score, bands as even as '
            f'possible) or "quantile" (classic quantile cut points); got {method!r}.'
        )


def check_weights(weights) -> np.ndarray:
    """Three finite non-negative numbers with a positive sum, as floats."""
    allowed = "weights must be three non-negative numbers for R, F and M, e.g. (2, 1, 1)"
    try:
        items = list(weights)
    except TypeError:
        raise RfmError(f"{allowed}; got {weights!r}.") from None
    if len(items) != 3:
        raise RfmError(f"{allowed}; got {len(items)} value(s): {weights!r}.")
    if any(isinstance(w, (bool, np.bool_)) or not isinstance(w, (int, float, np.number))
           for w in items):
        raise RfmError(f"{allowed}; got {weights!r}.")
    array = np.asarray(items, dtype=float)
    if not np.all(np.isfinite(array)) or np.any(array < 0):
        raise RfmError(f"{allowed}; got {weights!r} (negative or not finite).")
    if array.sum() <= 0:
        raise RfmError(f"{allowed}, and at least one must be above zero; got {weights!r}.")
    return array


def check_customer_table(table) -> dict[str, np.ndarray]:
    """The three metric columns as float arrays, after checking the table is usable."""
    if not isinstance(table, pd.DataFrame):
        raise RfmError(
            f"Scoring needs a table (pandas DataFrame) with columns recency, frequency and "
            f"monetary; got {type(table).__name__}."
        )
    missing = [c for c in METRIC_COLUMNS if c not in table.columns]
    if missing:
        found = ", ".join(map(str, table.columns)) or "none"
        raise ColumnError(
            f"The customer table needs the column(s) {', '.join(missing)}; "
            f"columns found: {found}."
        )
    if len(table) == 0:
        raise RfmError("The customer table is empty: there are no customers to score.")
    return {column: column_values(table, column) for column in METRIC_COLUMNS}


def column_values(table: pd.DataFrame, column: str) -> np.ndarray:
    """One metric column as floats; names the column and first bad customers otherwise."""
    series = table[column]
    if isinstance(series, pd.DataFrame):
        raise ColumnError(f"The customer table has more than one column named {column!r}.")
    if pd.api.types.is_bool_dtype(series) or not pd.api.types.is_numeric_dtype(series):
        raise DataError(
            f"Column {column!r} must hold numbers; it holds {series.dtype} values.",
            column=column,
        )
    values = series.to_numpy(dtype=float, na_value=np.nan)
    bad = ~np.isfinite(values)
    if bad.any():
        ids = [str(i) for i in series.index[bad][:5]]
        raise DataError(
            f"Column {column!r} has {int(bad.sum())} missing or infinite value(s), first "
            f"for customer(s) {', '.join(ids)}; every customer needs a number.",
            column=column,
        )
    return values


def check_columns(table: pd.DataFrame, columns, needs: str) -> None:
    """Raise ``RfmError("<needs> [missing]")`` when ``table`` lacks any of ``columns``."""
    missing = [c for c in columns if c not in table.columns]
    if missing:
        raise RfmError(f"{needs} {missing}.")


def group_labels(table: pd.DataFrame, by, caller: str = "profile()") -> tuple[str, pd.Series]:
    """The name and the per-row labels of a grouping: a column of ``table`` or labels aligned
    with its rows (one per row, none missing)."""
    if isinstance(by, str):
        if by not in table.columns:
            raise RfmError(f"{caller}: {by!r} is not a column of the table.")
        name, groups = by, table[by]
    else:
        groups = pd.Series(np.asarray(by), index=table.index)
        if len(groups) != len(table):
            raise RfmError(f"{caller}: the group labels must have one value per customer.")
        name = getattr(by, "name", None) or "group"
    if groups.isna().any():
        raise RfmError(f"{caller}: some customers have no group.")
    return name, groups
