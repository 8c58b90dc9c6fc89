"""Generated event logs for the usage-table tests: realistic activity plus the awkward rows
(no user, padded and numeric-looking ids, no timestamp, no event name, events exactly 30
minutes apart, ties, midnights on week boundaries), and the check that two tables agree."""
from __future__ import annotations

import numpy as np
import pandas as pd


def awkward_log(n_users: int = 300, n_events: int = 20_000, seed: int = 3,
                end: str = "2024-06-30") -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    stop = pd.Timestamp(end)
    users = np.array([f"u{i:04d}" for i in range(n_users)], dtype=object)
    who = users[rng.zipf(1.6, n_events) % n_users]
    # minutes over 200 days, on a coarse grid so that gaps of exactly 30 minutes and ties happen
    when = stop - pd.to_timedelta(rng.integers(0, 200 * 24 * 6, n_events) * 10, unit="min")
    features = np.array(["Reports", "Dashboard", "Export", "Alerts", "Sharing", "API", "Billing", "Search",
                         "Import", "Admin", "Mobile", "Comments"], dtype=object)
    event = features[np.minimum(rng.geometric(0.25, n_events) - 1, len(features) - 1)]
    frame = pd.DataFrame({"user_id": who, "timestamp": when, "event": event})
    odd = pd.DataFrame({
        "user_id": [None, "  u0001 ", "u0002", "u0003", "u0003", "u0004", "u0004", "u0005", "u0005", "u0006"],
        "timestamp": [stop - pd.Timedelta(days=1), stop - pd.Timedelta(days=2), None,
                      # exactly 30 minutes apart: two sessions; the same instant twice: one
                      stop - pd.Timedelta(days=3), stop - pd.Timedelta(days=3, minutes=30),
                      stop - pd.Timedelta(days=4), stop - pd.Timedelta(days=4),
                      # midnights on week boundaries, and the first day of the window
                      stop.normalize() - pd.Timedelta(days=6), stop.normalize() - pd.Timedelta(days=55),
                      stop.normalize() - pd.Timedelta(days=13)],
        "event": ["Reports", "Reports", "Export", None, "Reports", "  Dashboard ", "Dashboard", "Export", "",
                  "Alerts"],
    })
    return pd.concat([frame, odd], ignore_index=True).sample(frac=1.0, random_state=seed).reset_index(drop=True)


def awkward_payments(log: pd.DataFrame, seed: int = 4) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    users = sorted({u.strip() for u in log["user_id"].dropna()})
    rows = []
    stop = pd.Timestamp(log["timestamp"].max()).normalize()
    for i, u in enumerate(users + ["nobody1", "nobody2"]):
        plan = ["monthly", "yearly", "quarterly"][i % 3]
        step = {"monthly": 30, "yearly": 365, "quarterly": 91}[plan]
        for k in range(int(rng.integers(1, 5))):
            rows.append({"user_id": u, "date": stop - pd.Timedelta(days=int(rng.integers(0, 20)) + k * step),
                         "amount": float(rng.choice([-15.0, 15.0, 49.0, 120.0], p=[0.05, 0.45, 0.3, 0.2])),
                         "plan": plan})
    return pd.DataFrame(rows)


def assert_same_usage(expected: pd.DataFrame, got: pd.DataFrame) -> None:
    """Same users in the same order, same columns, the same values and the same quality report."""
    assert list(expected.index) == list(got.index)
    assert expected.index.name == got.index.name
    assert list(expected.columns) == list(got.columns)
    pd.testing.assert_frame_equal(expected, got, check_exact=False, rtol=1e-12, check_dtype=False)
    for key in ("profile_columns", "as_of", "window", "features"):
        assert expected.attrs[key] == got.attrs[key], key
    pd.testing.assert_frame_equal(pd.DataFrame(expected.attrs["quality"]), pd.DataFrame(got.attrs["quality"]))
