"""A built-in, seeded, realistic transactions data set for demos, docs and tests.

1,000 customers over two years (2024-01-01 to 2025-12-31) with what real shops show:
purchase rates that differ a lot between customers (many buy once, a few buy every
month), spend levels that differ per customer, customers who stop buying (churn) at a
random point, late newcomers, and a few returns (negative amounts).
"""
from __future__ import annotations

import numpy as np
import pandas as pd

from .errors import RfmError
from .validation import check_seed

START = pd.Timestamp("2024-01-01")
END = pd.Timestamp("2025-12-31")


def demo_transactions(*, n_customers: int = 1000, random_state: int = 42) -> pd.DataFrame:
    """Synthetic transactions with columns CustomerID, OrderDate, OrderAmount.

    Parameters
    ----------
    n_customers : int
        Number of customers (each buys at least once).
    random_state : int
        Seed; the same seed always gives the same rows.

    Returns
    -------
    DataFrame
        Sorted by date; CustomerID is text ("10001"...), OrderDate a date, OrderAmount a
        float with two decimals (returns are negative).
    """
    if isinstance(n_customers, bool) or not isinstance(n_customers, (int, np.integer)) or n_customers < 1:
        raise RfmError(f"The number of demo customers must be a whole number of at least 1, not {n_customers!r}.")
    rng = np.random.default_rng(check_seed(random_state))
    span = (END - START).days + 1
    # Newcomers keep arriving, a bit more often early on.
    joined = np.floor(rng.beta(1.0, 1.6, n_customers) * span).astype(int)
    # Purchases per year: gamma-distributed, so many customers buy rarely and a few often.
    rate = rng.gamma(shape=0.7, scale=5.0, size=n_customers) + 0.2
    # Churn: exponential lifetime (mean ~ 400 days) after joining.
    lifetime = rng.exponential(400.0, n_customers)
    spend = rng.lognormal(mean=3.8, sigma=0.6, size=n_customers)
    rows_customer, rows_day, rows_amount = [], [], []
    for c in range(n_customers):
        active_until = min(span - 1, joined[c] + lifetime[c])
        days_active = max(1.0, active_until - joined[c])
        n_orders = 1 + rng.poisson(rate[c] * days_active / 365.0)
        days = np.concatenate([[joined[c]], joined[c] + rng.uniform(0, days_active, n_orders - 1)])
        amounts = np.round(spend[c] * rng.lognormal(0.0, 0.35, n_orders), 2)
        returns = rng.random(n_orders) < 0.02
        amounts[returns] = -np.round(amounts[returns] * rng.uniform(0.2, 1.0, returns.sum()), 2)
        amounts[0] = abs(amounts[0])
        rows_customer.extend([str(10001 + c)] * n_orders)
        rows_day.extend(np.floor(days).astype(int).tolist())
        rows_amount.extend(amounts.tolist())
    frame = pd.DataFrame({
        "CustomerID": rows_customer,
        "OrderDate": START + pd.to_timedelta(rows_day, unit="D"),
        "OrderAmount": rows_amount,
    })
    return frame.sort_values(["OrderDate", "CustomerID"], kind="stable").reset_index(drop=True)
