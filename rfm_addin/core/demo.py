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


#: Features of the demo product; "Reports" is the one healthy users adopt and others do not.
DEMO_FEATURES = ("Dashboard", "Reports", "Export", "Alerts", "Search", "Integrations")
#: The demo's plans: name, price, days per period.
DEMO_PLANS = (("Basic monthly", 10.0, 30), ("Pro monthly", 30.0, 30), ("Team yearly", 1200.0, 365))


def demo_usage(*, n_users: int = 2000, random_state: int = 42, as_of: str = "2025-12-31") -> tuple[pd.DataFrame,
                                                                                                 pd.DataFrame]:
    """A synthetic SaaS product: an event log and payments, with a planted effect.

    Users sign up over the year before ``as_of`` on one of :data:`DEMO_PLANS` and pay each
    period while subscribed. Three kinds of user: *healthy* (60%), *at risk* (25%: as active,
    but they use Reports in about 10% of their weeks against 60% for healthy users) and
    *churned* (15%: like the at-risk users until they stop, 9 to 20 weeks before ``as_of``, and
    stop paying). Each active week a user has a Poisson number of sessions of 1 to 4 events.

    Returns
    -------
    (events, payments)
        ``events``: user_id, timestamp, event; ``payments``: user_id, date, amount, plan. The
        kind of each user is ``events.attrs["kinds"]`` (a Series), for checking the effect.
    """
    rng = np.random.default_rng(random_state)
    end = pd.Timestamp(as_of)
    users = np.array([f"U{i:05d}" for i in range(1, n_users + 1)])
    kind = rng.choice(np.array(["healthy", "at risk", "churned"]), n_users, p=[0.6, 0.25, 0.15])
    signup = (end - pd.to_timedelta(rng.integers(60, 365, n_users), unit="D")).to_numpy()
    stop = np.where(kind == "churned", (end - pd.to_timedelta(rng.integers(63, 140, n_users), unit="D")).to_numpy(),
                    np.datetime64(end))
    rate = rng.gamma(2.0, 0.75, n_users)                     # sessions per active week
    reports = np.where(kind == "healthy", 0.6, 0.1)
    plan = rng.choice(len(DEMO_PLANS), n_users, p=[0.5, 0.35, 0.15])
    others = np.array([f for f in DEMO_FEATURES if f != "Reports"])
    parts = []
    end64 = np.datetime64(end, "s")
    for week in range(53):
        week_start = end64 - np.timedelta64(7 * (week + 1), "D")
        live = (signup <= week_start + np.timedelta64(7, "D")) & (stop > week_start)
        idx = np.flatnonzero(live & (rng.random(n_users) < 0.85))
        sessions = rng.poisson(rate[idx])
        owner = np.repeat(idx, sessions)                                   # one entry per session
        first_of_week = np.r_[True, owner[1:] != owner[:-1]] if len(owner) else np.zeros(0, bool)
        start = week_start + rng.integers(0, 7 * 86400, len(owner)).astype("timedelta64[s]")
        with_reports = first_of_week & (rng.random(len(owner)) < reports[owner])
        sizes = rng.integers(1, 5, len(owner))
        event_owner = np.repeat(owner, sizes)
        step = np.arange(len(event_owner)) - np.repeat(np.cumsum(sizes) - sizes, sizes)     # 0.. within session
        names = others[rng.integers(0, len(others), len(event_owner))].astype(object)
        names[(step == 0) & np.repeat(with_reports, sizes)] = "Reports"
        stamps = np.repeat(start, sizes) + (3 * 60 * step).astype("timedelta64[s]")
        parts.append(pd.DataFrame({"user_id": users[event_owner], "timestamp": stamps, "event": names}))
    events = pd.concat(parts, ignore_index=True)
    events = events.loc[(events["timestamp"] < end64) & (events["timestamp"].to_numpy()
                                                           >= signup[pd.Index(users).get_indexer(events["user_id"])])]
    events = events.sort_values("timestamp", kind="stable").reset_index(drop=True)
    pays = []
    for u in range(n_users):
        name, price, days = DEMO_PLANS[plan[u]]
        date = pd.Timestamp(signup[u])
        while date < min(pd.Timestamp(stop[u]), end):
            pays.append((users[u], date.normalize(), price, name))
            date += pd.Timedelta(days=days)
    payments = pd.DataFrame(pays, columns=["user_id", "date", "amount", "plan"])
    events.attrs["kinds"] = pd.Series(kind, index=users, name="kind")
    return events, payments
