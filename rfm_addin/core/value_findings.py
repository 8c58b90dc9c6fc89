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
