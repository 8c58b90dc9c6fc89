"""usage_table (issue 18): a hand-worked log for sessions, weekly activity, MRR normalisation,
tenure and adoption; the cleaning counted; column detection of the sheet headers."""
from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import rfm_addin as rfm
from rfm_addin.core.errors import DataError, RfmError

# as_of = 2024-03-06 (the day after the last event); the window is the 8 weeks from 2024-01-10.
EVENTS = pd.DataFrame({
    "user_id": ["u1", "u1", "u1", "u2", "u2", None, "u3"],
    "timestamp": ["2024-03-01 10:00", "2024-03-01 10:20", "2024-03-01 11:00",   # u1: 20 min, then 40 min
                  "2024-02-20 09:00", "2024-03-05 09:00", "2024-03-01 00:00", "2024-01-01 00:00"],
    "event": ["Reports", "Dashboard", "Reports", "Dashboard", "Export", "Reports", "Dashboard"],
})
PAYMENTS = pd.DataFrame({"user_id": ["u1", "u1", "u2", "u4", "u3"],
                         "date": ["2024-01-05", "2024-02-05", "2024-01-10", "2024-03-01", "2023-11-01"],
                         "amount": [30, 30, 1200, 10, 50],
                         "plan": ["Pro monthly", "Pro monthly", "Team yearly", "Basic monthly", "Pro monthly"]})


@pytest.fixture(scope="module")
def table() -> pd.DataFrame:
    return rfm.usage_table(EVENTS, payments=PAYMENTS)


def test_hand_worked(table):
    assert table.attrs["as_of"] == pd.Timestamp("2024-03-06")
    assert table.attrs["window"] == (pd.Timestamp("2024-01-10"), pd.Timestamp("2024-03-06"))
    u1, u2, u3, u4 = (table.loc[u] for u in ("u1", "u2", "u3", "u4"))
    # u1: two sessions (10:00-10:20, 11:00), first seen inside the window's last week
    assert (u1["recency"], u1["frequency"]) == (5.0, 2.0)
    # u2: two sessions over the 3 weeks since 02-20 (15 days -> 3 weeks of 7 days)
    assert u2["recency"] == 1.0 and u2["frequency"] == pytest.approx(2 / 3)
    # u3: last seen before the window; u4: payments only
    assert (u3["recency"], u3["frequency"]) == (65.0, 0.0)
    assert np.isnan(u4["recency"]) and u4["frequency"] == 0.0
    # MRR: monthly as paid, yearly / 12, lapsed (u3 paid monthly on 2023-11-01) -> 0
    assert (u1["monetary"], u2["monetary"], u3["monetary"], u4["monetary"]) == (30.0, 100.0, 0.0, 10.0)
    # tenure from the first event or payment
    assert (u1["tenure"], u2["tenure"], u3["tenure"], u4["tenure"]) == (61.0, 56.0, 126.0, 5.0)
    # adoption: u2 was active in 2 weeks (02-20 and 03-05), used Export in one
    assert u2["adoption: Export"] == 0.5 and u2["adoption: Dashboard"] == 0.5 and u1["adoption: Reports"] == 1.0
    # features by users (Dashboard 3; Export and Reports 1 each, by name); u3 used only Dashboard, in one week
    assert table.attrs["profile_columns"] == ["tenure", "adoption: Dashboard", "adoption: Export", "adoption: Reports"]
    assert u3["adoption: Dashboard"] == 1.0 and u4["adoption: Dashboard"] == 0.0


def test_cleaning_is_counted(table):
    quality = pd.DataFrame(table.attrs["quality"]).set_index("check")["count"]
    assert quality["Events without a user"] == 1
    assert quality["Users with payments but no events"] == 1
    assert quality["Users whose latest payment's period has passed"] == 1


def test_periods_time_zones_and_bad_input():
    spaced = rfm.usage_table(EVENTS, payments=PAYMENTS.drop(columns="plan").iloc[:3])
    # u1 paid twice 31 days apart: monthly; u2 once: taken as monthly (counted), so 56 days later lapsed
    assert spaced.loc["u1", "monetary"] == 30.0 and spaced.loc["u2", "monetary"] == 0.0
    assert pd.DataFrame(spaced.attrs["quality"]).set_index("check")["count"]["Users with a single payment (no period column)"] == 1
    with pytest.raises(DataError, match="period\\(s\\) not known, e.g. 'lifetime'"):
        rfm.usage_table(EVENTS, payments=PAYMENTS.assign(plan="lifetime"))
    zoned = EVENTS.assign(timestamp=["2024-03-01T10:00:00+01:00", "2024-03-01T09:20:00Z", "2024-03-01T11:00:00+01:00",
                                     "2024-02-20T09:00:00Z", "2024-03-05T09:00:00Z", "2024-03-01T00:00:00Z",
                                     "2024-01-01T00:00:00Z"])
    z = rfm.usage_table(zoned)
    # 10:00+01:00 is 09:00Z, 09:20Z twenty minutes later: one session; 11:00+01:00 = 10:00Z, a second
    assert z.loc["u1", "frequency"] == 2.0
    assert "different UTC offsets" in " ".join(pd.DataFrame(z.attrs["quality"])["check"])
    with pytest.raises(RfmError, match="The events need a timestamp column"):
        rfm.usage_table(EVENTS.drop(columns="timestamp"))
    late = rfm.usage_table(EVENTS, as_of="2024-03-02")
    assert pd.DataFrame(late.attrs["quality"]).set_index("check")["count"]["Events on or after the as-of date 2024-03-02"] == 1


def test_top_features_rule():
    rows = [{"user": f"u{i}", "time": "2024-01-02 10:00", "feature": f"f{j}"} for i in range(5) for j in range(i + 1)]
    t = rfm.usage_table(pd.DataFrame(rows), top_features=3)
    # f0 by 5 users, f1 by 4, f2 by 3: the three most used, by users
    assert t.attrs["features"] == ["f0", "f1", "f2"]


def test_sheet_headers_are_found_and_adoption_is_never_a_metric():
    from rfm_addin.excel.customer_table import detect

    headers = ["User", "Days since last activity", "Weekly sessions", "MRR", "Tenure (days)",
               "Adoption: Revenue report", "Adoption: Monthly sessions export"]
    found = detect(headers, None, None, None, None)
    assert (found.recency, found.frequency, found.monetary) == ("Days since last activity", "Weekly sessions", "MRR")


def test_retention_baseline_by_hand():
    from rfm_addin.core.usage import retention_baseline

    # month ends with 30 days after them before the last event (2024-04-20): 2024-01-31 and 2024-02-29 (months=2)
    events = pd.DataFrame({"user": ["a", "a", "b", "b", "c"],
                           "time": ["2024-01-05", "2024-02-10", "2024-01-20", "2024-04-20", "2024-02-15"],
                           "event": "x"})
    # 01-31: a, b seen; within 30 days after: a (02-10) -> 1 of 2.  02-29: a, b, c seen; none in March -> 0 of 3
    assert retention_baseline(events, ["a", "b", "c"], months=2) == pytest.approx(1 / 5)
    assert retention_baseline(events, ["a"], months=2) == pytest.approx(1 / 2)


def _brute_force(events: pd.DataFrame, as_of: pd.Timestamp, top: int) -> pd.DataFrame:
    """The definitions of rfm_addin.core.usage, one user at a time with plain Python."""
    start = as_of - pd.Timedelta(weeks=8)
    rows = [(str(u).strip(), pd.Timestamp(t), e) for u, t, e in events.itertuples(index=False)
            if not pd.isna(u) and str(u).strip() and pd.Timestamp(t) < as_of]
    def week(t):
        return ((as_of.normalize() - t.normalize()).days - 1) // 7
    by_user: dict = {}
    for u, t, e in rows:
        by_user.setdefault(u, []).append((t, e))
    users_of: dict = {}
    for u, items in by_user.items():
        for _, e in items:
            users_of.setdefault(e, set()).add(u)
    features = sorted(users_of, key=lambda f: (-len(users_of[f]), f))[:top]
    out = {}
    for u in sorted(by_user):
        items = sorted(by_user[u], key=lambda x: x[0])
        times = [t for t, _ in items]
        sessions = sum(1 for i, t in enumerate(times)
                       if t >= start and (i == 0 or t - times[i - 1] >= pd.Timedelta(minutes=30)))
        first = max(times[0].normalize(), start)
        weeks_seen = min(8, max(1, -(-(as_of - first).days // 7)))
        weeks = {week(t) for t in times}
        row = {"recency": float((as_of - times[-1].normalize()).days), "frequency": sessions / weeks_seen,
               "monetary": 0.0, "tenure": float((as_of - times[0].normalize()).days)}
        for f in features:
            row[f"adoption: {f}"] = len({week(t) for t, e in items if e == f}) / len(weeks)
        out[u] = row
    return pd.DataFrame.from_dict(out, orient="index")


@settings(max_examples=60, deadline=None)
@given(st.lists(st.tuples(st.sampled_from(["a", "b", " b", "c", "10", None]),
                          st.integers(0, 60 * 24 * 40).map(lambda m: pd.Timestamp("2024-02-01") +
                                                           pd.Timedelta(minutes=10 * (m // 10))),
                          st.sampled_from(["x", "y", "z", "w"])), min_size=1, max_size=60),
       st.integers(1, 3))
def test_usage_table_equals_a_loop_over_users(rows, top):
    events = pd.DataFrame(rows, columns=["user", "time", "event"])
    as_of = pd.Timestamp("2024-03-10")
    if not any(u is not None and t < as_of for u, t, _ in rows):
        return
    got = rfm.usage_table(events, as_of=as_of, top_features=top)
    expected = _brute_force(events, as_of, top)
    assert list(got.index) == list(expected.index)
    assert list(got.columns) == list(expected.columns)
    np.testing.assert_allclose(got.to_numpy(float), expected.to_numpy(float), rtol=1e-12)
