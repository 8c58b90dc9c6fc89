"""Plain-language findings computed from the results, for readers who will not pivot.

Every sentence is built from numbers in the analysis: the Pareto share, the customers and
revenue lapsed beyond the lapse threshold, the largest and the most valuable segment, where
the lapsed revenue sits, revenue at risk, empty segments and why, how k was chosen and how
stable the clusters are, and one sentence per cluster: its centre, what sets it apart most,
and its action from the one rule base (:mod:`rfm_addin.core.describe`).
"""
from __future__ import annotations

import math
from typing import TYPE_CHECKING

import numpy as np
import pandas as pd

from .describe import (Nouns, Tiers, centre_text, centres, count_text, facts, segment_action, standardised_differences,
                       tiers, what_sets_apart)
from .lapse import LapseThreshold
from .segments import to_five_point

if TYPE_CHECKING:  # pragma: no cover
    from .clustering import ClusterResult


def money(value: float) -> str:
    """A money amount with thousands separators and two decimals (no currency assumed)."""
    return f"{value:,.2f}"


def percent(share: float) -> str:
    """A fraction as a percentage with one decimal."""
    return "n/a" if share is None or not np.isfinite(share) else f"{share:.1%}"


def customers_text(count: float) -> str:
    """'1 customer', '1,234 customers' (counts may arrive as floats from a profile row)."""
    count = int(count)
    return f"{count:,} customer{'' if count == 1 else 's'}"


def pareto_share(monetary: pd.Series, top: float = 0.2) -> tuple[int, float]:
    """(number of top customers, their share of net revenue) for the top ``top`` fraction."""
    n_top = max(1, math.ceil(top * len(monetary)))
    values = np.sort(monetary.to_numpy(dtype=float))[::-1]
    total = values.sum()
    return n_top, (values[:n_top].sum() / total) if total > 0 else float("nan")


def cluster_sentence(number: int, name: str, row: pd.Series, centre: pd.Series, differences: pd.Series,
                     action: str, nouns: Nouns = Nouns(), stability: pd.Series | None = None) -> str:
    """One sentence on a cluster: its size, its centre, what sets it apart most, and the action.

    Parameters
    ----------
    number, name : int, str
        The cluster's number and name.
    row : Series
        Its profile row (``customers``, ``customer_share``, ``revenue_share``).
    centre : Series
        Its centre (``recency``, ``frequency``, ``monetary``).
    differences : Series
        Its standardised differences (:func:`rfm_addin.core.describe.standardised_differences`).
    action : str
        Its action (:func:`rfm_addin.core.describe.action`).
    nouns : Nouns
        The words of the metrics.
    stability : Series, optional
        Its ``jaccard`` and ``stability`` word.
    """
    stable = "" if stability is None or not np.isfinite(stability["jaccard"]) else \
        f"; {stability['stability']}, Jaccard {stability['jaccard']:.2f}"
    return (f"Cluster {number} '{name}' ({customers_text(row['customers'])}, {percent(row['customer_share'])}; "
            f"{percent(row['revenue_share'])} of revenue{stable}): at its centre, "
            f"{centre_text(centre['recency'], centre['frequency'], centre['monetary'], nouns)}; "
            f"{what_sets_apart(differences, nouns)}. Action: {action}.")


def _names(names: list[str]) -> str:
    """'A', 'A and B', 'A, B and C'."""
    return names[0] if len(names) == 1 else ", ".join(names[:-1]) + " and " + names[-1]


def lapsed_finding(customers: pd.DataFrame, lapse: LapseThreshold | None) -> str | None:
    """The share of customers and of revenue lapsed beyond the lapse threshold (None: no threshold or no one)."""
    if lapse is None:
        return None
    lapsed = lapse.lapsed(customers["recency"])
    if not lapsed.any():
        return None
    total = float(customers["monetary"].sum())
    revenue = float(customers.loc[lapsed, "monetary"].sum()) / total if total > 0 else np.nan
    return (f"{percent(lapsed.mean())} of customers ({int(lapsed.sum()):,}), bringing {percent(revenue)} of revenue, "
            f"are lapsed: no purchase for more than {lapse.days:,.0f} days, {lapse.multiple} times the typical "
            f"{lapse.typical_gap:,.0f} days between a repeat customer's purchases.")


def lapsed_revenue_finding(customers: pd.DataFrame, lapse: LapseThreshold | None, cuts: Tiers) -> str | None:
    """The segment holding the largest share of revenue from lapsed customers, with its action."""
    if lapse is None:
        return None
    lapsed = customers.loc[lapse.lapsed(customers["recency"])]
    total = float(customers["monetary"].sum())
    if lapsed.empty or total <= 0:
        return None
    by_segment = lapsed.groupby("segment", sort=True)["monetary"].sum()
    if by_segment.max() <= 0:
        return None
    top = str(by_segment.idxmax())
    members = lapsed.loc[lapsed["segment"] == top]
    centre = centres(members, np.zeros(len(members))).iloc[0]
    todo = segment_action(top, facts(centre["recency"], centre["frequency"], centre["monetary"], cuts))
    return (f"Of the revenue of lapsed customers, the most sits in {top}: {percent(by_segment[top] / total)} of all "
            f"revenue, from {customers_text(len(members))}; for them: {todo}.")


def empty_segments_finding(customers: pd.DataFrame, rules: pd.DataFrame, thresholds: pd.DataFrame, bins: int,
                           as_of: pd.Timestamp) -> str | None:
    """The segments of the rule table no customer is in, and why: the R and FM scores their
    rules need, with how many customers have the R score and what it stands for; when an
    empty segment is one of recent low-FM buyers, the date of the latest first purchase."""
    present = set(customers["segment"])
    empty = [s for s in dict.fromkeys(rules["segment"]) if s not in present]
    if not empty or "r_score" not in customers.columns:  # unscored customers: no scores to explain with
        return None
    r5 = to_five_point(customers["r_score"], bins)
    recency = thresholds.loc[thresholds["metric"] == "Recency"]
    reasons, recent_limit = [], None
    for name in empty:
        parts = []
        for rule in rules.loc[rules["segment"] == name].itertuples(index=False):
            r_text = _score_span("R", rule.r_min, rule.r_max)
            in_r = int(((r5 >= rule.r_min) & (r5 <= rule.r_max)).sum())
            if not in_r:
                parts.append(f"no customer has {r_text}")
                continue
            scores = [s for s in range(1, bins + 1) if rule.r_min <= to_five_point([s], bins)[0] <= rule.r_max]
            band = recency.loc[recency["score"].isin(scores)]
            low, high = float(band["min"].min()), float(band["max"].max())
            days = count_text(low, "day", "days") if low == high else f"{low:,.0f} to {high:,.0f} days"
            who = "the one customer" if in_r == 1 else f"none of the {customers_text(in_r)}"
            parts.append(f"{who} with {r_text}, last purchase {days} ago, "
                         f"{'does not have' if in_r == 1 else 'has'} {_score_span('FM', rule.fm_min, rule.fm_max)}")
            if rule.fm_max <= 2 and rule.r_min >= 4:  # a segment of recent buyers of low FM
                recent_limit = max(recent_limit or 0.0, float(band["max"].max()))
        reasons.append(f"{name} ({'; '.join(parts)})")
    text = f"Empty segment{'s' if len(empty) > 1 else ''}: {_names(reasons)}."
    latest = pd.Timestamp(customers["first_purchase"].max()) if "first_purchase" in customers.columns else None
    if recent_limit is not None and latest is not None and (as_of - latest).days > recent_limit:
        text += (f" The latest first purchase was on {latest:%Y-%m-%d}, {(as_of - latest).days:,} days before "
                 "the as-of date: there are no recent first-time buyers.")
    return text


def _score_span(letter: str, low: int, high: int) -> str:
    return f"an {letter} score of {low}" if low == high else f"an {letter} score of {low} to {high}"


def build_insights(customers: pd.DataFrame, segment_summary: pd.DataFrame, cluster_profile: pd.DataFrame,
                   clusters: "ClusterResult", *, as_of: pd.Timestamp, frequency_basis: str, rules: pd.DataFrame,
                   thresholds: pd.DataFrame, bins: int) -> list[str]:
    """The findings, in reading order.

    Parameters
    ----------
    customers : DataFrame
        Scored, segmented and clustered customers.
    segment_summary, cluster_profile : DataFrame
        Profiles by segment and by cluster (:func:`rfm_addin.profile`), the cluster profile
        with a ``cluster_name`` column.
    clusters : ClusterResult
        The clusters (k selection with its ``method`` in ``attrs``, centres, stability, actions).
    as_of : Timestamp
        The as-of date.
    frequency_basis : str
        What frequency counts.
    rules, thresholds : DataFrame
        The segment rules and the score thresholds used.
    bins : int
        The number of score levels.
    """
    total = float(customers["monetary"].sum())
    n = len(customers)
    cuts = tiers(customers, frequency_basis=frequency_basis)
    found = [f"{customers_text(n)} spent {money(total)} in total (net of returns) up to {as_of:%Y-%m-%d}; "
             f"frequency counts {frequency_basis}."]
    n_top, share = pareto_share(customers["monetary"])
    if np.isfinite(share):
        found.append(f"The top 20% of customers ({n_top:,}) bring {percent(share)} of revenue.")
    found.append(lapsed_finding(customers, cuts.lapse))
    largest = segment_summary["customers"].idxmax()
    row = segment_summary.loc[largest]
    found.append(f"The largest segment is {largest}: {customers_text(row['customers'])} "
                 f"({percent(row['customer_share'])}) bringing {percent(row['revenue_share'])} of revenue.")
    richest = segment_summary["revenue"].idxmax()
    row = segment_summary.loc[richest]
    found.append(f"The most valuable segment is {richest}: {percent(row['revenue_share'])} of revenue from "
                 f"{percent(row['customer_share'])} of customers ({int(row['customers']):,}).")
    found.append(lapsed_revenue_finding(customers, cuts.lapse, cuts))
    risky = [s for s in ("At Risk", "Can't Lose Them") if s in segment_summary.index]
    if risky:
        at_risk = segment_summary.loc[risky]
        members = customers.loc[customers["segment"].isin(risky)]
        centre = centres(members, np.zeros(len(members))).iloc[0]
        todo = segment_action(risky[0], facts(centre["recency"], centre["frequency"], centre["monetary"], cuts))
        found.append(f"{_names(risky)} ({customers_text(at_risk['customers'].sum())}) brought "
                     f"{percent(at_risk['revenue'].sum() / total if total > 0 else np.nan)} of revenue but have not "
                     f"bought for a median of {members['recency'].median():,.0f} days: {todo}.")
    found.append(empty_segments_finding(customers, rules, thresholds, bins, as_of))
    found = [text for text in found if text]
    selection = clusters.k_selection
    if selection.attrs.get("method") == "skipped":
        found.append(f"Clustering was skipped: {selection.attrs.get('reason', '')}")
        return found
    chosen = selection.loc[selection["chosen"].astype(bool)].iloc[0]
    how = {"elbow": "the elbow of the inertia curve", "silhouette": "the best silhouette",
           "given": "the number of clusters you set"}[selection.attrs.get("method", "elbow")]
    stable = ""
    if len(clusters.stability):
        words = clusters.stability["stability"]
        weak = [str(c) for c in clusters.stability.index[words.isin(["doubtful", "do not use"])]]
        stable = ("; every cluster is stable or highly stable when refitted on subsamples" if not weak else
                  f"; cluster{'s' if len(weak) > 1 else ''} {_names(weak)} {'are' if len(weak) > 1 else 'is'} not "
                  "stable when refitted on subsamples: read them with care")
    found.append(f"K-Means grouped customers into {int(chosen['k'])} clusters, chosen by {how} "
                 f"(silhouette {chosen['silhouette']:.2f}{stable}; see the K selection sheet to choose another k).")
    differences = standardised_differences(customers, clusters.labels.to_numpy())
    for number, row in cluster_profile.iterrows():
        found.append(cluster_sentence(int(number), row["cluster_name"], row, clusters.centers.loc[number],
                                      differences.loc[number], clusters.actions.loc[number], cuts.nouns,
                                      clusters.stability.loc[number] if number in clusters.stability.index else None))
    return found
