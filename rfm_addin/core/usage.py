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
- ``adoption: <feature>``: the share of the user's active weeks (weeks of 7 calendar days
  counted back from ``as_of``: the 7 days before it are one week, the 7 before those the next;
  active: with an event, over the whole log) in which they used the feature, for the
  :data:`TOP_FEATURES` (10) features used by the most users (ties by name). Over the whole log,
  not the window, so that a user who stopped still shows what they used. An event without a
  name counts as activity and is no feature.

Cleaning, counted in the quality report: events without a user, events of a user without a
timestamp, events after ``as_of``,
timestamps with different UTC offsets (all converted to UTC), refunds and zero payments (not an
MRR), users with payments but no events (kept; recency empty, frequency 0, adoption 0).
"""
from __future__ import annotations

import re
from dataclasses import dataclass

import numpy as np
import pandas as pd

from .columns import normalise_header
from .errors import ColumnError, DataError, RfmError
from .parsing import id_texts, read_dates, read_numbers
from .quality import QualityReport

SESSION_GAP = pd.Timedelta(minutes=30)
_NS_PER_DAY = 86_400_000_000_000
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


def resolve_roles(columns, synonyms: dict, given: dict, required: tuple, what: str, how: str) -> dict:
    """The column of each role among ``columns`` (given names win over detection); a required
    role without one is an error. Used on a DataFrame's and on an engine table's columns."""
    columns = list(columns)
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


def id_text(values: pd.Series) -> pd.Series:
    """User ids as text, by the rule of customer ids (:func:`.parsing.id_texts`: trimmed, 1234.0
    read from a sheet is "1234"; blanks ""), worked out once per distinct id (:func:`_coded`)."""
    codes, labels = _coded(values, _id_labels)
    return pd.Series(np.append(labels, "")[codes], index=values.index)   # code -1 (missing) takes ""


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
    found = resolve_roles(payments.columns, PAYMENT_SYNONYMS, {"user": user, "date": date, "amount": amount, "period": period},
                     ("user", "date", "amount"), "payments", "payment_user=, payment_date=, payment_amount=")
    u, d, a, p = (found[role] for role in ("user", "date", "amount", "period"))
    frame = pd.DataFrame({"user": id_text(payments[u]).to_numpy(), "when": _timestamps(payments[d], d, report,
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


@dataclass
class EventActivity:
    """What the usage table needs from an event log, per user: computed in pandas by
    :func:`event_activity`, or inside an engine by :func:`rfm_addin.sources.ibis_usage.engine_activity`,
    then turned into the table by :func:`usage_from_activity` (one place for the rest)."""

    user_column: str
    as_of: pd.Timestamp
    first_day: pd.Series        # by user: the day of the first event (datetime64)
    last_day: pd.Series         # by user: the day of the last event
    sessions: pd.Series         # by user: sessions that start inside the window
    active_weeks: pd.Series     # by user: distinct weeks with an event (weeks of 7 days back from as_of)
    features: list[str]         # the top features, in order
    feature_weeks: pd.DataFrame  # by user, one column per feature: distinct weeks in which it was used
    report: QualityReport


def default_as_of(last_event: object, as_of: object = None) -> pd.Timestamp:
    """The stated as-of day, or the day after the last event."""
    return (pd.Timestamp(last_event).normalize() + pd.Timedelta(days=1)) if as_of is None \
        else pd.Timestamp(as_of).normalize()


def window_start(as_of: pd.Timestamp) -> pd.Timestamp:
    """The first day of the activity window: :data:`WINDOW_WEEKS` weeks of 7 days before ``as_of``."""
    return as_of - pd.Timedelta(weeks=WINDOW_WEEKS)


def most_used_features(users_per_feature: pd.Series, limit: int) -> list[str]:
    """The ``limit`` features used by the most users; ties by name."""
    counts = {str(name): int(n) for name, n in users_per_feature.items()}
    return sorted(counts, key=lambda f: (-counts[f], f))[:limit]


def count_cleaning(report: QualityReport, *, rows: int, no_user: int, no_time: int, after: int,
                   as_of: pd.Timestamp) -> None:
    """The event log's cleaning counts, the same from pandas and from an engine."""
    report.add("rows_read", "Events read", rows, "rows", "", always=True)
    report.add("no_user", "Events without a user", no_user, "rows", "left out")
    report.add("no_time", "Events of a user without a timestamp", no_time, "rows", "left out")
    report.add("after_as_of", f"Events on or after the as-of date {as_of:%Y-%m-%d}", after, "rows", "left out")


def _coded(values: pd.Series, texts) -> tuple[np.ndarray, np.ndarray]:
    """Integer codes of ``values`` by their cleaned text (-1: missing), and the texts in sorted
    order (code i is ``labels[i]``). ``texts`` cleans the distinct raw values (None: missing);
    raw values that clean to one text (" u1" and "u1") get one code."""
    raw, uniques = pd.factorize(values, use_na_sentinel=True)
    cleaned = pd.Series(texts(pd.Index(uniques)), dtype=object)
    merged, labels = pd.factorize(cleaned, sort=True, use_na_sentinel=True)
    codes = np.append(merged, -1)[raw]                   # raw -1 (missing) takes the appended -1
    return codes.astype(np.int64), np.asarray(labels, dtype=object)


def _id_labels(uniques: pd.Index) -> np.ndarray:
    return id_texts(uniques)[0].astype(object).where(lambda t: t.notna(), None).to_numpy()


def _name_labels(uniques: pd.Index) -> np.ndarray:
    return np.array([str(v).strip() or None for v in uniques], dtype=object)


def _per_group_count(groups: np.ndarray, mask: np.ndarray, n: int) -> np.ndarray:
    return np.bincount(groups[mask], minlength=n)


def event_activity(events: pd.DataFrame, *, as_of: object = None, user: str | None = None,
                   timestamp: str | None = None, event: str | None = None,
                   top_features_limit: int = TOP_FEATURES) -> EventActivity:
    """:class:`EventActivity` of an event log held in pandas.

    Users and feature names become integer codes once (per distinct value); the events are
    sorted by user and time, and every count is then a pass over integer arrays: a session
    starts where the user changes or the gap reaches :data:`SESSION_GAP`; within a user, time
    runs forward and weeks back, so a user's distinct weeks are the places where the week
    changes. Distinct (feature, user) and (user, feature, week) pairs are hashed.
    """
    report = QualityReport()
    if len(events) == 0:
        raise RfmError("The event log has a header but no events.")
    found = resolve_roles(events.columns, EVENT_SYNONYMS, {"user": user, "timestamp": timestamp, "event": event},
                     ("user", "timestamp", "event"), "events", "user=, timestamp=, event=")
    u, t, e = (found[role] for role in ("user", "timestamp", "event"))
    users, user_labels = _coded(events[u], _id_labels)
    when = np.asarray(_timestamps(events[t], t, report, "events"), dtype="datetime64[ns]").view(np.int64)
    names, feature_labels = _coded(events[e], _name_labels)
    no_user = users < 0
    missing_time = when == np.iinfo(np.int64).min          # NaT
    no_time = ~no_user & missing_time
    valid = ~no_user & ~missing_time
    if not valid.any():
        raise RfmError("No event has a user and a timestamp.")
    stamp = default_as_of(pd.Timestamp(when[valid].max()), as_of)
    end = pd.Timestamp(stamp).value
    after = valid & (when >= end)
    count_cleaning(report, rows=len(events), no_user=int(no_user.sum()), no_time=int(no_time.sum()),
                   after=int(after.sum()), as_of=stamp)
    keep = valid & ~after
    if not keep.any():
        raise RfmError(f"No event is before the as-of date {stamp:%Y-%m-%d}.")
    users, when, names = users[keep], when[keep], names[keep]
    order = np.lexsort((when, users))                      # by user, then time
    users, when, names = users[order], when[order], names[order]

    n_users = len(user_labels)
    new_user = np.empty(len(users), dtype=bool)
    new_user[0] = True
    np.not_equal(users[1:], users[:-1], out=new_user[1:])
    present = np.unique(users)                             # codes of users left after cleaning
    starts = np.flatnonzero(new_user)
    ends = np.append(starts[1:], len(users)) - 1
    first, last = when[starts], when[ends]
    gaps = np.empty(len(when), dtype=np.int64)
    gaps[0] = 0
    np.subtract(when[1:], when[:-1], out=gaps[1:])
    session_start = new_user | (gaps >= SESSION_GAP.value)
    in_window = when >= pd.Timestamp(window_start(stamp)).value
    sessions = _per_group_count(users, session_start & in_window, n_users)[present]
    # weeks: days 1-7 before as_of are week 0, days 8-14 week 1, ...
    days_before = end // _NS_PER_DAY - when // _NS_PER_DAY   # integer // is floor division, before 1970 too
    week = (days_before - 1) // 7
    new_week = new_user.copy()
    new_week[1:] |= week[1:] != week[:-1]
    active = _per_group_count(users, new_week, n_users)[present]

    named = names >= 0
    pairs = pd.unique(names[named] * np.int64(n_users) + users[named])
    users_per_feature = np.bincount(pairs // n_users, minlength=len(feature_labels))
    seen = np.flatnonzero(users_per_feature)
    features = most_used_features(pd.Series(users_per_feature[seen], index=feature_labels[seen]), top_features_limit)
    slot = np.full(len(feature_labels) + 1, -1, dtype=np.int64)
    position = {name: i for i, name in enumerate(feature_labels)}
    for i, name in enumerate(features):
        slot[position[name]] = i
    chosen = slot[names]                                   # names -1 take the appended -1
    top = chosen >= 0
    n_weeks, width = int(week.max()) + 1, max(len(features), 1)
    keys = pd.unique((users[top] * np.int64(width) + chosen[top]) * n_weeks + week[top])
    pair, weeks_used = np.unique(keys // n_weeks, return_counts=True)      # (user, feature): distinct weeks
    counts = np.zeros((len(present), width), dtype=np.int64)
    counts[np.searchsorted(present, pair // width), pair % width] = weeks_used
    index = pd.Index(list(user_labels[present]))
    feature_weeks = pd.DataFrame(counts[:, :len(features)], index=index, columns=features)

    def days(values: np.ndarray) -> pd.Series:
        return pd.Series(values.view("datetime64[ns]"), index=index).dt.normalize()

    return EventActivity(user_column=str(u), as_of=stamp, first_day=days(first), last_day=days(last),
                         sessions=pd.Series(sessions, index=index), active_weeks=pd.Series(active, index=index),
                         features=features, feature_weeks=feature_weeks, report=report)


def usage_from_activity(activity: EventActivity, *, payments: pd.DataFrame | None = None,
                        payment_user: str | None = None, payment_date: str | None = None,
                        payment_amount: str | None = None, payment_period: str | None = None) -> pd.DataFrame:
    """The usage table (see the module) of an event log's :class:`EventActivity` and its payments."""
    stamp, report = activity.as_of, activity.report
    start = window_start(stamp)
    users = activity.first_day.index
    first = activity.first_day.to_numpy().astype("datetime64[D]")
    weeks_seen = np.clip(np.ceil((np.datetime64(stamp, "D") - np.maximum(first, np.datetime64(start, "D")))
                                 / np.timedelta64(7, "D")), 1, WINDOW_WEEKS)
    out = pd.DataFrame(index=users)
    out["recency"] = ((np.datetime64(stamp, "D") - activity.last_day.reindex(users).to_numpy().astype(
        "datetime64[D]")) / np.timedelta64(1, "D")).astype(float)
    out["frequency"] = activity.sessions.reindex(users, fill_value=0).to_numpy() / weeks_seen
    adoption = activity.feature_weeks.reindex(index=users, columns=activity.features, fill_value=0).div(
        activity.active_weeks.reindex(users), axis=0).fillna(0.0)
    first_seen = activity.first_day
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
        first_seen = pd.concat([first_seen, mrr["first_payment"]]).groupby(level=0).min()
    else:
        out["monetary"] = 0.0
    out["tenure"] = ((np.datetime64(stamp, "D") - first_seen.reindex(out.index).to_numpy().astype("datetime64[D]"))
                     / np.timedelta64(1, "D")).astype(float)
    names = [f"{ADOPTION_PREFIX}{f}" for f in activity.features]
    for name, feature in zip(names, activity.features):
        out[name] = adoption[feature].to_numpy()
    out.index.name = activity.user_column
    report.add("users", "Users", len(out), "users", "", always=True)
    out.attrs.update(profile_columns=["tenure", *names], as_of=stamp, window=(start, stamp),
                     features=list(activity.features), quality=report.to_frame().to_dict("records"),
                     frequency_basis="sessions per week")
    return out


def usage_table(events: pd.DataFrame, *, payments: pd.DataFrame | None = None, as_of: pd.Timestamp | None = None,
                user: str | None = None, timestamp: str | None = None, event: str | None = None,
                payment_user: str | None = None, payment_date: str | None = None,
                payment_amount: str | None = None, payment_period: str | None = None,
                top_features: int = TOP_FEATURES) -> pd.DataFrame:
    """The usage table of an event log held in pandas (see the module for the columns);
    ``attrs`` holds ``profile_columns`` (tenure and the adoption columns), ``as_of``,
    ``window`` (its first day and ``as_of``), ``features`` and ``quality`` (the report's
    rows as dicts, for ``pd.DataFrame``: a DataFrame in ``attrs`` would break pandas' joins)."""
    activity = event_activity(events, as_of=as_of, user=user, timestamp=timestamp, event=event,
                              top_features_limit=top_features)
    return usage_from_activity(activity, payments=payments, payment_user=payment_user, payment_date=payment_date,
                               payment_amount=payment_amount, payment_period=payment_period)


def retention_baseline(events: pd.DataFrame, users, *, window: int = 30, months: int = 12,
                       user: str | None = None, timestamp: str | None = None) -> float:
    """The historical share of ``users`` active within ``window`` days after a month end: over the
    last ``months`` month ends whose window is observed, among the users seen by then, pooled.
    The baseline of a retention test for a group of users (30-day retention by default)."""
    found = resolve_roles(events.columns, EVENT_SYNONYMS, {"user": user, "timestamp": timestamp}, ("user", "timestamp"),
                     "events", "user=, timestamp=")
    frame = pd.DataFrame({"user": id_text(events[found["user"]]).to_numpy(),
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
