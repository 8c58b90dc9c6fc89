"""Plain-language findings computed from the results, for readers who will not pivot.

Every sentence is built from numbers in the analysis (nothing canned): the Pareto share,
the largest and the most valuable segment, revenue at risk, how k was chosen, and one
sentence per cluster on how it differs from the average customer with a matching action.
"""
from __future__ import annotations

import math

import numpy as np
import pandas as pd

#: A cluster differs from the average when its mean is this much above or below it.
_DIFFERENCE = 0.15

#: Recommended action by whether a cluster beats the average on (recency, frequency, monetary).
_ACTIONS = {
    (True, True, True): "reward and retain them (loyalty perks, early access)",
    (True, True, False): "upsell: they buy often but spend little, so offer bundles and higher-value products",
    (True, False, True): "encourage a repeat purchase with follow-up offers",
    (True, False, False): "onboard them towards a second purchase (welcome series)",
    (False, True, True): "win them back now with personal outreach: they used to be valuable",
    (False, True, False): "reactivate them with a reminder or a small incentive",
    (False, False, True): "win them back with a tailored offer on what they bought",
    (False, False, False): "low priority: include them in occasional reactivation campaigns",
}


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


def _compare(value: float, average: float, more: str, less: str, same: str, lower_is_better=False):
    """Word for how ``value`` compares with ``average``, and whether it is better."""
    better = value < average if lower_is_better else value > average
    if average == 0 or abs(value - average) <= _DIFFERENCE * abs(average):
        return same, better
    return (more if value > average else less), better


def cluster_sentence(number: int, name: str, row: pd.Series, overall: pd.Series) -> str:
    """One sentence on how a cluster differs from the average customer, with an action."""
    r_word, r_good = _compare(row["recency_mean"], overall["recency"], "bought less recently",
                              "bought more recently", "bought about as recently", lower_is_better=True)
    f_word, f_good = _compare(row["frequency_mean"], overall["frequency"], "buy more often", "buy less often",
                              "buy about as often")
    m_word, m_good = _compare(row["monetary_mean"], overall["monetary"], "spend more", "spend less",
                              "spend about as much")
    return (f"Cluster {number} '{name}' ({customers_text(row['customers'])}, {percent(row['customer_share'])}; "
            f"{percent(row['revenue_share'])} of revenue) {r_word} ({row['recency_mean']:,.0f} vs "
            f"{overall['recency']:,.0f} days), {f_word} ({row['frequency_mean']:,.1f} vs {overall['frequency']:,.1f} "
            f"orders) and {m_word} ({money(row['monetary_mean'])} vs {money(overall['monetary'])}) than the average "
            f"customer: {_ACTIONS[(r_good, f_good, m_good)]}.")


def build_insights(customers: pd.DataFrame, segment_summary: pd.DataFrame, cluster_profile: pd.DataFrame,
                   k_selection: pd.DataFrame, as_of: pd.Timestamp, frequency_basis: str) -> list[str]:
    """The findings, in reading order.

    Parameters
    ----------
    customers : DataFrame
        Scored, segmented and clustered customers.
    segment_summary, cluster_profile : DataFrame
        Profiles by segment and by cluster (:func:`rfm_addin.profile`), the cluster profile
        with a ``cluster_name`` column.
    k_selection : DataFrame
        The k-selection table, with its ``method`` in ``attrs``.
    as_of : Timestamp
        The as-of date.
    frequency_basis : str
        What frequency counts.
    """
    total = float(customers["monetary"].sum())
    n = len(customers)
    found = [f"{customers_text(n)} spent {money(total)} in total (net of returns) up to {as_of:%Y-%m-%d}; "
             f"frequency counts {frequency_basis}."]
    n_top, share = pareto_share(customers["monetary"])
    if np.isfinite(share):
        found.append(f"The top 20% of customers ({n_top:,}) bring {percent(share)} of revenue.")
    largest = segment_summary["customers"].idxmax()
    row = segment_summary.loc[largest]
    found.append(f"The largest segment is {largest}: {customers_text(row['customers'])} "
                 f"({percent(row['customer_share'])}) bringing {percent(row['revenue_share'])} of revenue.")
    richest = segment_summary["revenue"].idxmax()
    row = segment_summary.loc[richest]
    found.append(f"The most valuable segment is {richest}: {percent(row['revenue_share'])} of revenue from "
                 f"{percent(row['customer_share'])} of customers ({int(row['customers']):,}).")
    risky = [s for s in ("At Risk", "Can't Lose Them") if s in segment_summary.index]
    if risky:
        at_risk = segment_summary.loc[risky]
        idle = customers.loc[customers["segment"].isin(risky), "recency"].median()
        found.append(f"{' and '.join(risky)} ({customers_text(at_risk['customers'].sum())}) brought "
                     f"{percent(at_risk['revenue'].sum() / total if total > 0 else np.nan)} of revenue but have not "
                     f"bought for a median of {idle:,.0f} days: worth a win-back campaign.")
    if k_selection.attrs.get("method") == "skipped":
        found.append(f"Clustering was skipped: {k_selection.attrs.get('reason', '')}")
        return found
    chosen = k_selection.loc[k_selection["chosen"].astype(bool)].iloc[0]
    how = {"elbow": "the elbow of the inertia curve", "silhouette": "the best silhouette",
           "given": "the number of clusters you set"}[k_selection.attrs.get("method", "elbow")]
    found.append(f"K-Means grouped customers into {int(chosen['k'])} clusters, chosen by {how} "
                 f"(silhouette {chosen['silhouette']:.2f}; see the K selection sheet to choose another k).")
    overall = customers[["recency", "frequency", "monetary"]].mean()
    for number, row in cluster_profile.iterrows():
        found.append(cluster_sentence(int(number), row["cluster_name"], row, overall))
    return found
