"""Findings in words about expected future value and churn risk (:func:`rfm_addin.analyze` with ``clv=True``).

Every sentence is built from the customer values (:func:`rfm_addin.core.clv.customer_values`)
and the segment summary: the total expected value and how it was computed, the segment
holding the largest share of it against its share of past revenue, and where the value at
risk sits (customers whose churn risk is above :data:`HIGH_RISK`).
"""
from __future__ import annotations

import numpy as np
import pandas as pd

from .clv import MONTH_DAYS, CustomerValues
from .insights import customers_text, money, percent

#: Churn risk above which a customer's future value is "at risk" in the findings.
HIGH_RISK = 0.8


def horizon_text(days: float) -> str:
    """A horizon in the unit it was most likely given in: "12 months", "52 weeks", "90 days"."""
    months = days / MONTH_DAYS
    if abs(months - round(months)) < 0.02 and round(months) >= 1:
        n = int(round(months))
        return "1 month" if n == 1 else f"{n} months"
    if days % 7 == 0 and days >= 14:
        return f"{int(days // 7)} weeks"
    return f"{days:,.0f} days"


def value_findings(customers: pd.DataFrame, segment_summary: pd.DataFrame, values: CustomerValues) -> list[str]:
    """The value findings, in reading order (empty when there is no future value)."""
    total = float(customers["clv"].sum())
    if not total > 0:
        return []
    span = horizon_text(values.horizon_days)
    found = [f"Expected value of the next {span}: {money(total)} from {customers_text(len(customers))} "
             f"(Pareto/NBD purchases x Gamma-Gamma spend, margin {values.margin:.0%}, "
             f"{values.annual_discount:.0%} yearly discount)."]
    top = segment_summary["clv_share"].idxmax()
    row = segment_summary.loc[top]
    found.append(f"{top} hold {percent(row['clv_share'])} of the expected future value, against "
                 f"{percent(row['revenue_share'])} of past revenue.")
    risky = customers["churn_risk"] > HIGH_RISK
    if risky.any():
        held = customers.loc[risky].groupby("segment", observed=True)["clv"].sum() / total
        worst = held.idxmax()
        n_worst = int((risky & (customers["segment"] == worst)).sum())
        found.append(f"{customers_text(int(risky.sum()))} have a churn risk above {HIGH_RISK:.0%} (no purchase in the "
                     f"next {horizon_text(values.churn_days)}) and hold {percent(held.sum())} of the expected future "
                     f"value; the most of it is in {worst} ({n_worst:,} customers, {percent(held.max())}).")
    found.extend(values.notes)
    return found


def check_findings(check) -> list[str]:
    """What a holdout check (:class:`rfm_addin.core.clv_check.ClvCheck`) shows, in words."""
    weeks = check.horizon if check.time_unit == "week" else check.horizon / 7
    aggregate = check.aggregate
    found = [f"Fitted on {check.customers:,} customers' purchases up to {check.calibration_end:%Y-%m-%d}, checked on "
             f"what they bought up to {check.holdout_end:%Y-%m-%d} ({weeks:,.1f} weeks): "
             f"{aggregate['actual'].iloc[0]:,.0f} repeat purchases."]
    found.append("; ".join(f"{row.model} predicted {row.predicted:,.1f} ({row.error_pct:+.1f}%)"
                           for row in aggregate.itertuples()) + ".")
    churn = check.churn.set_index("score")
    model, baseline = churn.iloc[0], churn.iloc[1]
    better = ("better than" if model["roc_auc"] > baseline["roc_auc"] + 0.01 else
              "no better than" if model["roc_auc"] >= baseline["roc_auc"] - 0.01 else "worse than")
    found.append(f"Churn risk tells who bought nothing in the holdout with a ROC AUC of {model['roc_auc']:.3f}, "
                 f"{better} recency alone ({baseline['roc_auc']:.3f}); BG/NBD's 1 - P(alive) scores "
                 f"{churn.iloc[2]['roc_auc']:.3f} (0.5 is chance), which is why it is not used.")
    capture = check.capture_top10["share"]
    found.append(f"The top 10% of customers by predicted value bought {percent(capture.iloc[0])} of the holdout "
                 f"revenue; the top 10% by RFM score {percent(capture.iloc[1])}.")
    return found
