"""Two groups of customers compared on every column: where they differ, by how much, and whether it is noise.

:func:`compare_groups` compares group ``a`` with group ``b`` of ``table[by]`` (two segments, two
clusters) on recency, frequency, monetary and the profile columns (kept columns, usage
columns such as adoption of each feature). Numbers: means, Cohen's d with the pooled standard
deviation, Welch's t test. Text columns: the share of each of their most frequent categories,
the standardised difference of two proportions (p_a - p_b) / sqrt((p_a(1 - p_a) + p_b(1 - p_b)) / 2),
the pooled two-proportion z test. p-values are adjusted for the number of rows compared
(Benjamini-Hochberg); the rows are sorted by the size of the standardised difference.
"""
from __future__ import annotations

import math
from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from .errors import RfmError
from .profiles import TOP_CATEGORIES

COMPARISON_COLUMNS = ["column", "category", "kind", "value_a", "value_b", "difference", "relative_difference", "smd",
                      "test", "p_value", "p_adjusted"]
#: Result columns that are scores or labels of the analysis, not facts about the customer.
NOT_COMPARED = {"r_score", "f_score", "m_score", "rfm_code", "rfm_score", "segment", "cluster", "cluster_name",
                "spend_from_population"}
#: How the sentences name R, F and M, in a transactions table and in a usage table.
_NOUNS = {"recency": "days since their last purchase", "frequency": "purchases", "monetary": "spent"}
_USAGE_NOUNS = {"recency": "days since their last activity", "frequency": "weekly sessions", "monetary": "MRR",
                "tenure": "days of tenure"}
#: Sentences are written for this many of the largest differences.
SENTENCES = 3


@dataclass
class GroupComparison:
    """The comparison of two groups (:func:`compare_groups`).

    Attributes
    ----------
    table : DataFrame
        One row per column (numbers) or per column and category (text): :data:`COMPARISON_COLUMNS`,
        sorted by ``|smd|``, largest first.
    sentences : list of str
        The largest differences in words.
    a, b : object
        The groups compared; ``n_a``, ``n_b`` their customers.
    """

    table: pd.DataFrame
    sentences: list = field(default_factory=list)
    a: object = None
    b: object = None
    n_a: int = 0
    n_b: int = 0
    by: str = ""


def benjamini_hochberg(p_values) -> np.ndarray:
    """Benjamini-Hochberg adjusted p-values (NaN stays NaN)."""
    p = np.asarray(p_values, dtype=float)
    out = np.full(len(p), np.nan)
    ok = np.flatnonzero(np.isfinite(p))
    if not len(ok):
        return out
    order = ok[np.argsort(p[ok], kind="stable")]
    m = len(order)
    ranked = p[order] * m / np.arange(1, m + 1)
    out[order] = np.minimum(1.0, np.minimum.accumulate(ranked[::-1])[::-1])
    return out


def _group(table: pd.DataFrame, by: str, value) -> pd.Series:
    labels = table[by]
    mask = labels == value
    if not mask.any():
        mask = labels.astype(str) == str(value)
    if not mask.any():           # 1 against cells read as 1.0, "3" against 3
        try:
            number = float(value)
        except (TypeError, ValueError):
            number = None
        if number is not None:
            mask = pd.to_numeric(labels, errors="coerce") == number
    if not mask.any():
        shown = ", ".join(str(int(v)) if isinstance(v, float) and v.is_integer() else str(v)
                          for v in pd.unique(labels.dropna())[:12])
        raise RfmError(f"No customer has {by} = {value!r}; the values are {shown}.")
    return mask


def _number_row(column: str, a: pd.Series, b: pd.Series) -> dict:
    from scipy import stats

    a, b = a.dropna().astype(float), b.dropna().astype(float)
    mean_a, mean_b = float(a.mean()), float(b.mean())
    n_a, n_b = len(a), len(b)
    pooled = math.sqrt(((n_a - 1) * a.var(ddof=1) + (n_b - 1) * b.var(ddof=1)) / (n_a + n_b - 2)) \
        if n_a > 1 and n_b > 1 and n_a + n_b > 2 else float("nan")
    smd = (mean_a - mean_b) / pooled if pooled and pooled > 0 else 0.0
    p = float(stats.ttest_ind(a, b, equal_var=False).pvalue) if n_a > 1 and n_b > 1 and (a.var() > 0 or b.var() > 0) \
        else float("nan")
    return {"column": column, "category": "", "kind": "number", "value_a": mean_a, "value_b": mean_b,
            "difference": mean_a - mean_b, "relative_difference": (mean_a - mean_b) / mean_b if mean_b else float("nan"),
            "smd": float(smd), "test": "Welch t", "p_value": p}


def _share_rows(column: str, a: pd.Series, b: pd.Series) -> list[dict]:
    from scipy.stats import norm

    text_a = a.astype(object).where(a.notna(), "(empty)").astype(str)
    text_b = b.astype(object).where(b.notna(), "(empty)").astype(str)
    top = pd.concat([text_a, text_b]).value_counts().index[:TOP_CATEGORIES]
    rows = []
    for category in top:
        x_a, x_b = int((text_a == category).sum()), int((text_b == category).sum())
        p_a, p_b = x_a / len(text_a), x_b / len(text_b)
        spread = math.sqrt((p_a * (1 - p_a) + p_b * (1 - p_b)) / 2)
        pooled = (x_a + x_b) / (len(text_a) + len(text_b))
        se = math.sqrt(pooled * (1 - pooled) * (1 / len(text_a) + 1 / len(text_b)))
        rows.append({"column": column, "category": str(category), "kind": "share", "value_a": p_a, "value_b": p_b,
                     "difference": p_a - p_b, "relative_difference": (p_a - p_b) / p_b if p_b else float("nan"),
                     "smd": (p_a - p_b) / spread if spread > 0 else 0.0, "test": "two-proportion z",
                     "p_value": float(2 * norm.sf(abs(p_a - p_b) / se)) if se > 0 else float("nan")})
    return rows


def _typed(values: pd.Series) -> pd.Series:
    """Cells read from a sheet arrive as objects: numbers stay numbers (a column of numbers and
    blanks is numeric), anything else is text."""
    if values.dtype != object:
        return values
    filled = values.dropna()
    if len(filled) and all(isinstance(v, (int, float, np.integer, np.floating)) and not isinstance(v, (bool, np.bool_))
                           for v in filled):
        return values.astype(float)
    return values


def _is_id(values: pd.Series) -> bool:
    """A text column with a different value in (nearly) every row: an id or a name, not a category."""
    if pd.api.types.is_numeric_dtype(values) or pd.api.types.is_bool_dtype(values):
        return False
    return values.nunique(dropna=True) > 0.5 * max(len(values), 1) and values.nunique(dropna=True) > TOP_CATEGORIES


def _name(by: str, value) -> str:
    return f"Cluster {value}" if str(by).casefold() == "cluster" else str(value)


def _sentence(row: pd.Series, a: str, b: str, first: bool, nouns: dict) -> str:
    column = str(row["column"])
    if column.lower().startswith("adoption: "):
        feature = column.split(":", 1)[1].strip()
        text = f"{a} used {feature} in {row['value_a']:.0%} of active weeks, {b} in {row['value_b']:.0%}"
    elif row["kind"] == "share":
        text = (f"{row['value_a']:.0%} of {a} have {column} {row['category']}, against {row['value_b']:.0%} of {b}")
    else:
        relative = "" if not np.isfinite(row["relative_difference"]) else f" ({row['relative_difference']:+.0%})"
        noun = nouns.get(column, column)
        text = f"{a} average {row['value_a']:,.1f} {noun}, {b} {row['value_b']:,.1f}{relative}"
    if first:
        text += ": the largest gap"
    if not (row["p_adjusted"] < 0.05):
        text += " (could be chance: adjusted p = " + (f"{row['p_adjusted']:.2f})" if np.isfinite(row["p_adjusted"])
                                                      else "not computable)")
    return text + "."


def compare_groups(table: pd.DataFrame, by: str, a, b, *, columns=None) -> GroupComparison:
    """Compare group ``a`` with group ``b`` of ``table[by]`` on every column.

    Parameters
    ----------
    table : DataFrame
        One row per customer (``analyze(...).customers``, a usage table, a clustered sheet).
    by : str
        The grouping column ("segment", "cluster", ...).
    a, b : object
        The two groups (values of ``by``; a number may be given as text).
    columns : list of str, optional
        The columns compared; default every column but ``by``, scores, labels and dates
        (recency, frequency and monetary first).

    Returns
    -------
    GroupComparison
    """
    if by not in table.columns:
        named = [c for c in table.columns if str(c).casefold() == str(by).casefold()]
        if not named:
            raise RfmError(f"compare_groups: {by!r} is not a column of the table; columns: "
                           f"{', '.join(map(str, table.columns))}.")
        by = named[0]
    in_a, in_b = _group(table, by, a), _group(table, by, b)
    if in_a.equals(in_b):
        raise RfmError("compare_groups: a and b are the same group.")
    if columns is None:       # every column but the grouping, scores, labels, ids and dates
        from .labels import COLUMNS

        skipped = {n.casefold() for n in NOT_COMPARED} | {COLUMNS[n][0].casefold() for n in NOT_COMPARED if n in COLUMNS}
        chosen = [c for c in ("recency", "frequency", "monetary") if c in table.columns] + [
            c for c in table.columns if c != by and str(c).casefold() not in skipped
            and not pd.api.types.is_datetime64_any_dtype(table[c]) and not _is_id(_typed(table[c]))]
    else:
        chosen = [columns] if isinstance(columns, str) else list(columns)
        missing = [c for c in chosen if c not in table.columns]
        if missing:
            raise RfmError(f"compare_groups: {', '.join(map(repr, missing))} is not a column of the table.")
    rows: list[dict] = []
    for column in dict.fromkeys(chosen):
        values = _typed(table[column])
        if pd.api.types.is_numeric_dtype(values) and not pd.api.types.is_bool_dtype(values):
            rows.append(_number_row(column, values[in_a], values[in_b]))
        else:
            rows.extend(_share_rows(column, values[in_a], values[in_b]))
    frame = pd.DataFrame(rows, columns=COMPARISON_COLUMNS[:-1])
    frame["p_adjusted"] = benjamini_hochberg(frame["p_value"])
    frame = frame.reindex(frame["smd"].abs().sort_values(ascending=False, kind="stable").index).reset_index(drop=True)
    name_a, name_b = _name(by, a), _name(by, b)
    usage = any(str(c).lower().startswith("adoption: ") for c in table.columns) or "tenure" in table.columns
    nouns = _USAGE_NOUNS if usage else _NOUNS
    sentences = [_sentence(row, name_a, name_b, i == 0, nouns) for i, row in frame.head(SENTENCES).iterrows()]
    return GroupComparison(table=frame, sentences=sentences, a=a, b=b, n_a=int(in_a.sum()), n_b=int(in_b.sum()),
                           by=by)
