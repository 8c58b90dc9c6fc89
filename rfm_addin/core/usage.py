"""A modified RFM table for subscription products, from a product event log and payments.

One row per user, as of ``as_of`` (default: the day after the last event):

- ``recency``: days from the day of the user's last event to ``as_of``;
- ``frequency``: mean sessions per week over the activity window. A *session* is a run of
  events less than :data:`SESSION_GAP` (30 minutes) apart; the *window* is the
  :data:`WINDOW_WEEKS` (8) weeks of 7 days before ``as_of``, counted back from it; a user
  first seen inside the window is averaged over the weeks since their first event;
- ``monetary``: current MRR, the user's latest payment as a monthly amount (its period from a
  ``period``/``plan`` column: monthly, quarterly, yearly, weekly; else inferred from the median
  spacing of the user's payments; a single payment is taken as monthly and counted), and 0 when
  that payment's period plus half of it has passed by ``as_of`` (the subscription lapsed);
- ``tenure``: days from the user's first event or payment to ``as_of``;
- ``adoption: <feature>``: the share of the user's active weeks (weeks of 7 days counted back
  from ``as_of`` with an event, over the whole log) in which they used the feature, for the
  :data:`TOP_FEATURES` (10) features used by the most users (ties by name). Over the whole log,
  not the window, so that a user who stopped still shows what they used.

Cleaning, counted in the quality report: events without a user, events after ``as_of``,
timestamps with different UTC offsets (all converted to UTC), refunds and zero payments (not an
MRR), users with payments but no events (kept; recency empty, frequency 0, adoption 0).
"""
from __future__ import annotations

import re

import numpy as np
import pandas as pd

from .columns import normalise_header
from .errors import ColumnError, DataError, RfmError
from .parsing import read_dates, read_numbers
from .quality import QualityReport

SESSION_GAP = pd.Timedelta(minutes=30)
WINDOW_WEEKS = 8
TOP_FEATURES = 10
ADOPTION_PREFIX = "adoption: "

#: Normalised headers recognised in event logs and payment tables.
EVENT_SYNONYMS = {
    "user": ("userid", "user", "accountid", "account", "customerid", "customer", "memberid", "distinctid", "uid"),
    "timestamp": ("timestamp", "time", "eventtime", "eventtimestamp", "ts", "datetime", "createdat", "occurredat",
                  "eventdate", "date"),
    "event": ("event", "eventname", "feature", "action", "eventtype", "name", "featurename"),
}
PAYMENT_SYNONYMS = {
    "user": EVENT_SYNONYMS["user"],
    "date": ("date", "paymentdate", "paidat", "invoicedate", "chargedate", "createdat", "timestamp", "billingdate"),
    "amount": ("amount", "paid", "total", "amountpaid", "price", "revenue", "charge"),
    "period": ("period", "interval", "billingperiod", "billinginterval", "plan", "billingcycle", "cycle", "term"),
}
#: Days per billing period, by the words a period or plan name may contain.
PERIOD_DAYS = {"week": 7.0, "month": 365.25 / 12, "quarter": 365.25 / 4, "year": 365.25, "annual": 365.25}
_PERIOD_WORDS = {"weekly": "week", "week": "week", "monthly": "month", "month": "month", "mo": "month",
                 "quarterly": "quarter", "quarter": "quarter", "yearly": "year", "year": "year", "annual": "year",
                 "annually": "year", "yr": "year"}


def _find(columns: list, role: str, synonyms: dict, given: str | None, what: str) -> str | None:
    if given is not None:
        if given not in columns:
            raise ColumnError(f"The {what} have no column {given!r}; columns: {', '.join(map(str, columns))}.")
        return given
    matches = [c for c in columns if normalise_header(c) in synonyms[role]]
    if len(matches) > 1:
        # the most specific synonym wins (userid before user): the earliest in the list
        rank = {name: i for i, name in enumerate(synonyms[role])}
        matches.sort(key=lambda c: rank[normalise_header(c)])
    return matches[0] if matches else None


def _resolve(frame: pd.DataFrame, synonyms: dict, given: dict, required: tuple, what: str, how: str) -> dict:
    """The column of each role (given names win over detection); a required role without one is an error."""
    columns = list(frame.columns)
    found = {role: _find(columns, role, synonyms, given.get(role), what) for role in synonyms}
    missing = [role for role in required if found[role] is None]
    if missing:
        raise ColumnError(f"The {what} need a {', '.join(missing)} column; columns: {', '.join(map(str, columns))} "
                          f"(name them with {how}).")
    return found


def _timestamps(values: pd.Series, column: str, report: QualityReport, what: str) -> np.ndarray:
    """Timestamps as naive UTC datetime64[ns]: tz-aware values and text with UTC offsets are
    converted (counted when the offsets differ); other values are read as dates and times."""
    if isinstance(values.dtype, pd.DatetimeTZDtype):
        return values.dt.tz_convert("UTC").dt.tz_localize(None).to_numpy("datetime64[ns]")
    text = values.astype(str) if values.dtype == object or pd.api.types.is_string_dtype(values) else None
    if text is not None and text.str.contains(r"(?:[+-]\d\d:?\d\d|Z)\s*$", regex=True).any():
        parsed = pd.to_datetime(text, utc=True, errors="coerce", format="ISO8601")
        bad = parsed.isna() & values.notna()
        if bad.any():
            rows = list(np.flatnonzero(bad.to_numpy())[:5] + 2)
            raise DataError(f"{what}, column {column!r}: {bad.sum():,} timestamp(s) could not be read, first at row(s) "
                            f"{', '.join(map(str, rows))} ({text[bad].iloc[0]!r}).", column=column, rows=rows)
        offsets = text.str.extract(r"([+-]\d\d:?\d\d|Z)\s*$")[0].fillna("none").nunique()
        if offsets > 1:
            report.add(f"{what}_offsets", f"{what.capitalize()} timestamps with {offsets} different UTC offsets",
                       int(len(values)), "rows", "converted to UTC")
        return parsed.dt.tz_localize(None).to_numpy("datetime64[ns]")
    return read_dates(values, column, 2)


def _id_text(values: pd.Series) -> pd.Series:
    """User ids as text (1234.0 read from a sheet is "1234"; blanks ""), worked out once per distinct id."""
    codes, uniques = pd.factorize(values, use_na_sentinel=True)
    texts = np.array([str(int(v)) if isinstance(v, (float, np.floating)) and float(v).is_integer() else str(v).strip()
                      for v in uniques] + [""], dtype=object)
    return pd.Series(texts[codes], index=values.index)       # code -1 (missing) takes the last entry, ""


def _period_days(value: object) -> float | None:
    words = re.split(r"[^a-z]+", str(value).lower())
    for word in words:
        if word in _PERIOD_WORDS:
            return PERIOD_DAYS[_PERIOD_WORDS[word]]
    return None


def _inferred_period(gaps_days: float) -> float:
    """The billing period closest to a median spacing of payments (in log terms)."""
    choices = np.array([PERIOD_DAYS["week"], PERIOD_DAYS["month"], PERIOD_DAYS["quarter"], PERIOD_DAYS["year"]])
    return float(choices[np.argmin(np.abs(np.log(choices) - np.log(max(gaps_days, 1.0))))])


def _mrr(payments: pd.DataFrame, as_of: pd.Timestamp, report: QualityReport, *, user: str | None, date: str | None,
         amount: str | None, period: str | None) -> pd.DataFrame:
    """Per user: ``monetary`` (current MRR), ``first_payment``."""
    found = _resolve(payments, PAYMENT_SYNONYMS, {"user": user, "date": date, "amount": amount, "period": period},
                     ("user", "date", "amount"), "payments", "payment_user=, payment_date=, payment_amount=")
    u, d, a, p = (found[role] for role in ("user", "date", "amount", "period"))
    frame = pd.DataFrame({"user": _id_text(payments[u]).to_numpy(), "when": _timestamps(payments[d], d, report,
                                                                                             "payments"),
                          "amount": read_numbers(payments[a], a, 2)})
    if p is not None:
        codes, uniques = pd.factorize(payments[p])
        days = np.array([_period_days(v) for v in uniques] + [np.nan], dtype=float)
        frame["period"] = days[codes]
        unknown = payments[p][frame["period"].isna().to_numpy() & payments[p].notna().to_numpy()]
        if len(unknown):
            raise DataError(f"Payments, column {p!r}: {len(unknown):,} period(s) not known, e.g. {unknown.iloc[0]!r}; use "
                            "monthly, quarterly, yearly or weekly (or a plan name containing one of them).", column=p,
                            rows=list(unknown.index[:5] + 2))
    frame = frame.loc[frame["user"].ne("") & frame["user"].ne("nan") & frame["when"].notna()]
    frame = frame.loc[frame["when"] < np.datetime64(as_of)]
    refunds = frame["amount"] <= 0
    report.add("refunds", "Refunds and zero payments", int(refunds.sum()), "payments", "not an MRR",
               amount=float(frame.loc[refunds, "amount"].sum()))
    paid = frame.loc[~refunds].sort_values(["user", "when"], kind="stable")
    grouped = paid.groupby("user", sort=True)
    latest = grouped.tail(1).set_index("user")
    first = grouped["when"].min()
    if "period" not in paid.columns:
        gaps = paid.groupby("user")["when"].apply(
            lambda s: s.diff().dt.total_seconds().median() / 86400 if len(s) > 1 else np.nan)
        single = gaps.isna()
        report.add("single_payment", "Users with a single payment (no period column)", int(single.sum()), "users",
                   "taken as monthly")
        latest["period"] = gaps.map(lambda g: PERIOD_DAYS["month"] if np.isnan(g) else _inferred_period(g))
    elapsed = (np.datetime64(as_of) - latest["when"].to_numpy()) / np.timedelta64(1, "D")
    lapsed = elapsed > 1.5 * latest["period"].to_numpy()
    report.add("lapsed_subscriptions", "Users whose latest payment's period has passed", int(lapsed.sum()), "users",
               "MRR 0")
    mrr = latest["amount"] * PERIOD_DAYS["month"] / latest["period"]
    return pd.DataFrame({"monetary": np.where(lapsed, 0.0, mrr), "first_payment": first.reindex(latest.index)},
                        index=latest.index)


def usage_table(events: pd.DataFrame, *, payments: pd.DataFrame | None = None, as_of: pd.Timestamp | None = None,
                user: str | None = None, timestamp: str | None = None, event: str | None = None,
                payment_user: str | None = None, payment_date: str | None = None,
                payment_amount: str | None = None, payment_period: str | None = None,
                top_features: int = TOP_FEATURES) -> pd.DataFrame:
    """The usage table of an event log (see the module for the columns); ``attrs`` holds
    ``profile_columns`` (tenure and the adoption columns), ``as_of``, ``window`` (its first
    day and ``as_of``), ``features`` and ``quality`` (the report's rows as dicts, for
    ``pd.DataFrame``: a DataFrame in ``attrs`` would break pandas' joins)."""
    report = QualityReport()
    report.add("rows_read", "Events read", len(events), "rows", "", always=True)
    if len(events) == 0:
        raise RfmError("The event log has a header but no events.")
    found = _resolve(events, EVENT_SYNONYMS, {"user": user, "timestamp": timestamp, "event": event},
                     ("user", "timestamp", "event"), "events", "user=, timestamp=, event=")
    u, t, e = (found[role] for role in ("user", "timestamp", "event"))
    ids = _id_text(events[u])
    when = _timestamps(events[t], t, report, "events")
    frame = pd.DataFrame({"user": ids.to_numpy(), "when": when, "event": events[e].astype(str).str.strip().to_numpy()})
    no_user = frame["user"].eq("") | frame["user"].eq("nan")
    report.add("no_user", "Events without a user", int(no_user.sum()), "rows", "left out")
    frame = frame.loc[~no_user & frame["when"].notna()]
    if frame.empty:
        raise RfmError("No event has a user and a timestamp.")
    stamp = (pd.Timestamp(frame["when"].max()).normalize() + pd.Timedelta(days=1)) if as_of is None \
        else pd.Timestamp(as_of).normalize()
    after = frame["when"] >= np.datetime64(stamp)
    report.add("after_as_of", f"Events on or after the as-of date {stamp:%Y-%m-%d}", int(after.sum()), "rows",
               "left out")
    frame = frame.loc[~after].sort_values(["user", "when"], kind="stable").reset_index(drop=True)
    if frame.empty:
        raise RfmError(f"No event is before the as-of date {stamp:%Y-%m-%d}.")
    start = stamp - pd.Timedelta(weeks=WINDOW_WEEKS)
    grouped = frame.groupby("user", sort=True)
    first, last = grouped["when"].min(), grouped["when"].max()
    # sessions: a new one where the user changes or the gap reaches SESSION_GAP
    new_session = (frame["user"] != frame["user"].shift()) | (frame["when"].diff() >= SESSION_GAP)
    in_window = frame["when"] >= np.datetime64(start)
    sessions = frame.loc[new_session & in_window].groupby("user").size()
    weeks_seen = np.clip(np.ceil((np.datetime64(stamp) - np.maximum(first.to_numpy(), np.datetime64(start)))
                                 / np.timedelta64(7, "D")), 1, WINDOW_WEEKS)
    out = pd.DataFrame(index=first.index)
    out.index.name = str(u)
    out["recency"] = ((np.datetime64(stamp) - last.to_numpy().astype("datetime64[D]"))
                      / np.timedelta64(1, "D")).astype(float)
    out["frequency"] = sessions.reindex(out.index, fill_value=0).to_numpy() / weeks_seen
    # adoption: share of the user's active weeks (weeks of 7 days counted back from as_of) with the feature
    recent = frame.copy()
    recent["week"] = ((np.datetime64(stamp) - recent["when"].to_numpy()) // np.timedelta64(7, "D")).astype(int)
    active = recent.groupby("user")["week"].nunique()
    users_per_feature = recent.groupby("event")["user"].nunique()
    features = sorted(users_per_feature.index, key=lambda f: (-users_per_feature[f], f))[:top_features]
    used = recent.loc[recent["event"].isin(features)].groupby(["user", "event"])["week"].nunique().unstack(
        fill_value=0)
    adoption = used.reindex(index=out.index, columns=features, fill_value=0).div(
        active.reindex(out.index), axis=0).fillna(0.0)
    first_seen = first
    if payments is not None:
        mrr = _mrr(payments, stamp, report, user=payment_user, date=payment_date, amount=payment_amount,
                   period=payment_period)
        extra = mrr.index.difference(out.index)
        report.add("payments_no_events", "Users with payments but no events", len(extra), "users",
                   "kept; recency empty, frequency and adoption 0")
        out = out.reindex(out.index.union(mrr.index))
        out["frequency"] = out["frequency"].fillna(0.0)
        adoption = adoption.reindex(out.index, fill_value=0.0)
        out["monetary"] = mrr["monetary"].reindex(out.index).fillna(0.0)
        first_seen = pd.concat([first, mrr["first_payment"]]).groupby(level=0).min()
    else:
        out["monetary"] = 0.0
    out["tenure"] = ((np.datetime64(stamp) - first_seen.reindex(out.index).to_numpy().astype("datetime64[D]"))
                     / np.timedelta64(1, "D")).astype(float)
    names = [f"{ADOPTION_PREFIX}{f}" for f in features]
    for name, feature in zip(names, features):
        out[name] = adoption[feature].to_numpy()
    out.index.name = str(u)
    report.add("users", "Users", len(out), "users", "", always=True)
    out.attrs.update(profile_columns=["tenure", *names], as_of=stamp, window=(start, stamp), features=features,
                     quality=report.to_frame().to_dict("records"),
                     frequency_basis="sessions per week")
    return out


def retention_baseline(events: pd.DataFrame, users, *, window: int = 30, months: int = 12,
                       user: str | None = None, timestamp: str | None = None) -> float:
    """The historical share of ``users`` active within ``window`` days after a month end: over the
    last ``months`` month ends whose window is observed, among the users seen by then, pooled.
    The baseline of a retention test for a group of users (30-day retention by default)."""
    found = _resolve(events, EVENT_SYNONYMS, {"user": user, "timestamp": timestamp}, ("user", "timestamp"),
                     "events", "user=, timestamp=")
    frame = pd.DataFrame({"user": _id_text(events[found["user"]]).to_numpy(),
                          "when": _timestamps(events[found["timestamp"]], found["timestamp"], QualityReport(),
                                              "events")})
    frame = frame.loc[frame["when"].notna()]
    if frame.empty:
        raise RfmError("The event log has no timestamps, so there is no history to learn a baseline from.")
    last = pd.Timestamp(frame["when"].max()).normalize()        # the log's end, whoever was active last
    wanted = pd.Index([str(u) for u in users])
    frame = frame.loc[frame["user"].isin(wanted)]
    if frame.empty:
        raise RfmError("None of these users has an event, so there is no history to learn a baseline from.")
    from .baselines import baseline_dates

    seen = frame.groupby("user")["when"].min()
    active, total = 0, 0
    for end in baseline_dates(last, months=months, longest=window):
        stop = end + pd.Timedelta(days=1)
        existing = seen.index[seen.to_numpy() < np.datetime64(stop)]
        after = frame.loc[(frame["when"] >= np.datetime64(stop)) & (frame["when"] < np.datetime64(stop + pd.Timedelta(
            days=window)))]
        active += int(pd.Index(after["user"].unique()).isin(existing).sum())
        total += len(existing)
    if not total:
        raise RfmError(f"No month end has {window} days of events after it for these users.")
    return active / total
