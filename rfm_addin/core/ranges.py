"""The values behind each segment of this analysis, in words, from its score thresholds.

A segment's description in the rule table is written once for every data set ("bought
recently, buy often"); what "recently" and "often" mean here comes from the thresholds of
this analysis. For each segment: the R, F and M scores its customers have, and the range of
values those scores stand for (:func:`rfm_addin.thresholds`), e.g. "last purchase 85 to 270
days ago; 2 to 3 orders; 120.00 to 450.00 spent".
"""
from __future__ import annotations

import numpy as np
import pandas as pd

from .describe import Nouns, count_text

_SCORES = (("recency", "r_score", "Recency"), ("frequency", "f_score", "Frequency"), ("monetary", "m_score", "Monetary"))


def _span(thresholds: pd.DataFrame, metric: str, scores) -> tuple[float, float]:
    rows = thresholds.loc[(thresholds["metric"] == metric) & thresholds["score"].isin(list(scores))]
    return float(rows["min"].min()), float(rows["max"].max())


def _number(value: float) -> str:
    return f"{int(value):,}" if float(value).is_integer() else f"{value:,.2f}"


def range_text(recency: tuple[float, float], frequency: tuple[float, float], monetary: tuple[float, float],
               nouns: Nouns) -> str:
    """The words for three (low, high) ranges: "last purchase 85 to 270 days ago; 2 to 3 orders;
    120.00 to 450.00 spent" (one value when low equals high; singular for exactly 1)."""
    def span(low, high, one, many, show=_number):
        if low == high:
            return count_text(low, one, many, 0 if float(low).is_integer() else 2) if one else show(low)
        return f"{show(low)} to {show(high)} {many}" if many else f"{show(low)} to {show(high)}"

    money = span(*monetary, None, None, show=lambda v: f"{v:,.2f}")
    spent = f"{money} spent" if nouns.spend == "spend" else f"{nouns.spend} {money}"
    return (f"last purchase {span(*recency, 'day', 'days')} ago; "
            f"{span(*frequency, nouns.purchase, nouns.purchases)}; {spent}")


def segment_ranges(customers: pd.DataFrame, thresholds: pd.DataFrame, nouns: Nouns) -> pd.Series:
    """Per segment with customers, the ranges of recency, frequency and monetary its scores stand for.

    Parameters
    ----------
    customers : DataFrame
        Scored, segmented customers (``r_score``, ``f_score``, ``m_score``, ``segment``).
    thresholds : DataFrame
        The analysis's thresholds (:func:`rfm_addin.thresholds`).
    nouns : Nouns
        The words of the metrics.

    Returns
    -------
    Series of str
        Indexed by segment.
    """
    out = {}
    for segment, members in customers.groupby("segment", sort=True):
        spans = [_span(thresholds, label, np.unique(members[score])) for _, score, label in _SCORES]
        out[segment] = range_text(*spans, nouns)
    return pd.Series(out, dtype=object, name="ranges")
