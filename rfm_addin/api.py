"""The package's face: ``rfm_table``, ``analyze`` and ``Analysis.to_excel``.

A thin layer above the input router (:mod:`rfm_addin.sources.route`) and the writers
(:mod:`rfm_addin.writers`): the computations live in :mod:`rfm_addin.core`, which imports
neither engines, file formats, writers nor Excel.
"""
from __future__ import annotations

import os
from dataclasses import dataclass
from typing import Any, Callable, Iterable

import pandas as pd

from .core import analysis as _core
from .core.clustering import SILHOUETTE_SAMPLE
from .core.errors import RfmError
from .core.migration import History, Migration, history_of, migration_of
from .core.rfm import parse_as_of, rfm_from_prepared
from .core.clv import clv_summary_from_frame, clv_summary_from_prepared, customer_values
from .core.clv_check import ClvCheck, clv_check_from_prepared
from .core.baselines import segment_baselines
from .core.lapse import lapse_threshold
from .core.plan import CampaignPlan, campaign_plan
from .core.scoring import score
from .core.segments import segment
from .sources.route import (compute_rfm, compute_snapshots, compute_tables, frame_of, goes_to_engine,
                            pandas_input, prepared_lines)
from .writers.xlsx import write_analysis


@dataclass
class Analysis(_core.Analysis):
    __doc__ = _core.Analysis.__doc__

    def to_excel(self, path: str | os.PathLike) -> str:
        """Write the results workbook (one sheet and named Excel Table per result).

        The file is written to a temporary file beside ``path`` and renamed into place, so
        a failure leaves no partial file and an existing file untouched.

        Returns
        -------
        str
            The path written.
        """
        return write_analysis(self, path)


def rfm_table(
    transactions: Any,
    *,
    customer: str | None = None,
    date: str | None = None,
    amount: str | None = None,
    order: str | None = None,
    as_of: object = None,
    keep: Iterable[str] | str | None = None,
    decimal: str = ".",
    thousands: str | None = None,
    dayfirst: bool | None = None,
    date_system: int = 1900,
    first_row: int = 2,
    table: str | None = None,
    query: str | None = None,
) -> pd.DataFrame:
    """One row per customer with recency, frequency and monetary value.

    Parameters
    ----------
    transactions : DataFrame, path, glob, Ibis table or connection
        One row per transaction (or per order line). A DataFrame (or an XLSX file, or a
        CSV/Parquet file with text dates or amounts) is cleaned in pandas. Parquet and CSV
        files with typed columns, globs (``transactions/*.parquet``) and folders are
        aggregated by an embedded DuckDB; an Ibis table expression or Spark DataFrame by
        its engine; a URL (``duckdb:///shop.duckdb``, ``postgresql://user@host/db``) or a
        named connection (see :mod:`rfm_addin.sources.connections`) with ``table`` or
        ``query`` by that database. Same rules, same result; only one row per customer
        leaves the engine. Needs ``pip install "rfm-addin[sql]"``.
    customer, date, amount, order : str, optional
        Column names; None detects them from common headers (CustomerID, InvoiceDate,
        Amount / Sales / Revenue or Quantity x UnitPrice, InvoiceNo...). Without an order
        column, frequency counts transaction rows.
    as_of : date-like, optional
        The date recency is measured to; default the day after the latest transaction.
        Later transactions are left out.
    keep : str or list of str, optional
        Customer-level columns to carry over (first non-empty value per customer), so
        segments can go back to a CRM. A column named like a result column or its label,
        in any case ("Segment", "cluster", "R score"), is kept as "Segment (input)".
    decimal, thousands : str
        How text amounts are written: decimal mark ("." or ","), thousands separator
        (None: grouped text amounts such as "1,234.50" are errors, not guesses).
    dayfirst : bool, optional
        For text dates such as 03/04/2024: True day-first, False month-first, None raises
        an error when the text is ambiguous.
    date_system : {1900, 1904}
        The Excel date system of serial-number dates.
    first_row : int
        Row number of the first data row in the source, for error messages (2 for a sheet
        or CSV whose header is row 1).
    table, query : str, optional
        With a connection URL or name: the table to read (checked and quoted, never
        inserted into SQL) or a SELECT query of your own.

    Returns
    -------
    DataFrame
        Indexed by customer id as text (12346, not 12346.0; leading zeros kept), sorted by
        id, named after the customer column; columns ``recency`` (int days),
        ``frequency`` (int), ``monetary`` (float), ``first_purchase``, ``last_purchase``,
        ``avg_order_value`` (monetary / frequency), then the ``keep`` columns.
        ``table.attrs`` holds ``as_of`` and ``frequency_basis``.

    Raises
    ------
    RfmError
        Missing or ambiguous columns, unreadable values (naming rows and column), no data.
    """
    result = compute_rfm(transactions, customer=customer, date=date, amount=amount, order=order, as_of=as_of,
                         keep=keep, decimal=decimal, thousands=thousands, dayfirst=dayfirst,
                         date_system=date_system, first_row=first_row, table=table, query=query)
    out = result.table
    out.attrs.update(as_of=result.as_of, frequency_basis=result.frequency_basis)
    return out


def analyze(
    transactions: Any,
    *,
    customer: str | None = None,
    date: str | None = None,
    amount: str | None = None,
    order: str | None = None,
    as_of: object = None,
    keep: Iterable[str] | str | None = None,
    bins: int = 5,
    method: str = "balanced",
    weights=(1, 1, 1),
    rules: pd.DataFrame | None = None,
    k: int | None = None,
    k_range: Iterable[int] = range(2, 11),
    random_state: int = 0,
    decimal: str = ".",
    thousands: str | None = None,
    dayfirst: bool | None = None,
    date_system: int = 1900,
    first_row: int = 2,
    sample_size: int = SILHOUETTE_SAMPLE,
    progress: Callable[[str], None] | None = None,
    table: str | None = None,
    query: str | None = None,
    clv: bool = False,
    horizon_days: float = 365,
    annual_discount: float = 0.1,
    margin: float = 1.0,
    churn_days: float | None = None,
) -> Analysis:
    """Run the full RFM analysis on transactions.

    Parameters are those of :func:`rfm_table` (including the sources it accepts and
    ``table``/``query``), :func:`rfm_addin.score`, :func:`rfm_addin.segment` and
    :func:`rfm_addin.cluster`; ``weights`` serves both the combined score and the
    clustering. ``progress`` is called with a short text at each step (the CLI shows it on
    a terminal, the ribbon on Excel's status bar).

    When ``k`` is None and there are too few distinct customers to cluster (one customer,
    or all identical), scores and segments are still computed and clustering is skipped
    with the reason in the insights; with an explicit ``k`` that is an error.

    With ``clv=True`` (transactions pandas reads: a DataFrame, CSV or XLSX file), Pareto/NBD
    and Gamma-Gamma are fitted on the same customers (:func:`clv_summary` with the same
    ``as_of``), and the customer table gains ``expected_purchases`` (in ``horizon_days``),
    ``churn_risk`` (the probability of no purchase in the next ``churn_days``; default the
    lapse threshold, :func:`rfm_addin.lapse_threshold`), ``expected_spend``, ``clv`` (see
    :func:`rfm_addin.clv` for ``annual_discount`` and ``margin``) and
    ``spend_from_population``; the segment summary and the cluster profile gain
    ``clv_total``, ``clv_mean``, ``clv_share`` and ``churn_risk_mean``.

    Returns
    -------
    Analysis
    """
    say = progress or (lambda text: None)
    say("Reading transactions")
    options = dict(customer=customer, date=date, amount=amount, order=order, keep=keep, decimal=decimal,
                   thousands=thousands, dayfirst=dayfirst, date_system=date_system, first_row=first_row, table=table,
                   query=query)
    values = None
    if clv:
        lines = prepared_lines(transactions, what="analyze(clv=True)", **options)
        base, values = _valued(lines, parse_as_of(as_of, dayfirst), horizon_days=horizon_days,
                               annual_discount=annual_discount, margin=margin, churn_days=churn_days, progress=say)
    else:
        base = compute_rfm(transactions, as_of=as_of, **options, progress=say)
    return _core.analyze_result(base, bins=bins, method=method, weights=weights, rules=rules, k=k, k_range=k_range,
                                random_state=random_state, sample_size=sample_size, progress=say,
                                result_type=Analysis, values=values)


def _valued(lines, as_of: pd.Timestamp | None, *, horizon_days: float, annual_discount: float, margin: float,
            churn_days: float | None, progress: Callable[[str], None] | None = None):
    """The customer table and the customer values of prepared lines: the one place ``analyze``
    and :func:`clv_table` compute them (churn horizon by default the lapse threshold)."""
    base = rfm_from_prepared(lines, as_of)
    if progress:
        progress("Fitting the CLV models")
    if churn_days is None:
        lapse = lapse_threshold(base.table)
        if lapse is None:
            raise RfmError("CLV needs repeat customers; none of these customers bought twice.")
        churn_days = lapse.days
    values = customer_values(clv_summary_from_prepared(lines, as_of), horizon_days=horizon_days,
                             annual_discount=annual_discount, margin=margin, churn_days=churn_days)
    return base, values


def clv_table(
    transactions: Any,
    *,
    horizon_days: float = 365,
    annual_discount: float = 0.1,
    margin: float = 1.0,
    churn_days: float | None = None,
    as_of: object = None,
    customer: str | None = None,
    date: str | None = None,
    amount: str | None = None,
    order: str | None = None,
    decimal: str = ".",
    thousands: str | None = None,
    dayfirst: bool | None = None,
    date_system: int = 1900,
    first_row: int = 2,
) -> pd.DataFrame:
    """Expected purchases, churn risk, expected spend and CLV per customer, from transactions.

    The columns ``analyze(..., clv=True)`` adds to its customer table, by the same code:
    Pareto/NBD and Gamma-Gamma fitted on these customers (see :func:`rfm_addin.clv`). The
    worksheet functions ``RFM_CLV`` and ``RFM_CHURN`` call it.

    Parameters
    ----------
    transactions
        A DataFrame, or a CSV or XLSX file.
    horizon_days, annual_discount, margin
        As for :func:`rfm_addin.clv`.
    churn_days : float, optional
        Churn risk is the probability of no purchase within this many days; default the
        lapse threshold (:func:`rfm_addin.lapse_threshold`).
    as_of, customer, date, amount, order, decimal, thousands, dayfirst, date_system, first_row
        As for :func:`rfm_table`.

    Returns
    -------
    DataFrame
        Indexed by customer id (sorted as :func:`rfm_table`): ``expected_purchases``,
        ``churn_risk``, ``expected_spend``, ``clv``, ``spend_from_population``;
        ``attrs["churn_days"]`` and ``attrs["horizon_days"]``.
    """
    lines = prepared_lines(transactions, what="clv_table", customer=customer, date=date, amount=amount, order=order,
                           decimal=decimal, thousands=thousands, dayfirst=dayfirst, date_system=date_system,
                           first_row=first_row)
    base, values = _valued(lines, parse_as_of(as_of, dayfirst), horizon_days=horizon_days,
                           annual_discount=annual_discount, margin=margin, churn_days=churn_days)
    out = values.table.reindex(base.table.index)
    out.attrs.update(churn_days=values.churn_days, horizon_days=values.horizon_days)
    return out


def migration(
    transactions: Any,
    before: object,
    after: object,
    *,
    mode: str = "relative",
    window: int | None = None,
    customer: str | None = None,
    date: str | None = None,
    amount: str | None = None,
    order: str | None = None,
    bins: int = 5,
    method: str = "balanced",
    rules: pd.DataFrame | None = None,
    decimal: str = ".",
    thousands: str | None = None,
    dayfirst: bool | None = None,
    date_system: int = 1900,
    first_row: int = 2,
    table: str | None = None,
    query: str | None = None,
    clusters: bool = False,
    random_state: int = 0,
    progress: Callable[[str], None] | None = None,
) -> Migration:
    """Who moved between segments from the as-of date ``before`` to ``after`` (both inclusive).

    Parameters
    ----------
    transactions
        As for :func:`rfm_table` (a DataFrame, a file, a folder, a database...).
    before, after : date-like
        The two as-of dates; ``after`` must be later.
    mode : {"relative", "absolute"}
        "relative" scores each snapshot on its own cut points; "absolute" applies the earlier
        snapshot's cut points to the later one (a decaying base shows as decay).
    window : int, optional
        Days: a snapshot keeps only customers with a purchase in its last ``window`` days,
        so customers can be "gone". None: everyone who bought up to the date.
    customer, date, amount, order, bins, method, rules, decimal, thousands, dayfirst,
    date_system, first_row, table, query
        As for :func:`analyze`.
    clusters : bool
        Also cluster both dates (k by the elbow method at each) and match the later clusters to
        the earlier ones (:func:`rfm_addin.core.migration.match_clusters`), so their numbers and
        names carry over; ``random_state`` as for :func:`rfm_addin.cluster`.

    Returns
    -------
    Migration
        See :class:`rfm_addin.core.migration.Migration` (the definitions are in its module).
    """
    start, end = parse_as_of(before, dayfirst), parse_as_of(after, dayfirst)
    from .core.migration import check_dates

    check_dates(start, end)
    stake_date = start - (end - start)
    say = progress or (lambda text: None)
    say("Reading transactions")
    stake, early, late = compute_snapshots(transactions, [stake_date, start, end], customer=customer, date=date,
                                           amount=amount, order=order, decimal=decimal, thousands=thousands,
                                           dayfirst=dayfirst, date_system=date_system, first_row=first_row,
                                           table=table, query=query, progress=say)
    say("Comparing the two dates")
    return migration_of(early, late, stake, before_date=start, after_date=end, mode=mode, window=window, bins=bins,
                        method=method, rules=rules, clusters=clusters, random_state=random_state)


#: Words accepted for the period of a history, as pandas period-start frequencies.
EVERY = {"week": "W-MON", "month": "MS", "quarter": "QS", "year": "YS"}


def history(
    transactions: Any,
    *,
    freq: str = "QS",
    start: object = None,
    end: object = None,
    mode: str = "relative",
    window: int | None = None,
    customer: str | None = None,
    date: str | None = None,
    amount: str | None = None,
    order: str | None = None,
    bins: int = 5,
    method: str = "balanced",
    rules: pd.DataFrame | None = None,
    decimal: str = ".",
    thousands: str | None = None,
    dayfirst: bool | None = None,
    date_system: int = 1900,
    first_row: int = 2,
    table: str | None = None,
    query: str | None = None,
    progress: Callable[[str], None] | None = None,
) -> History:
    """Segment counts and revenue at a series of as-of dates, and each customer's run in its segment.

    Parameters
    ----------
    transactions
        As for :func:`rfm_table`.
    freq : str
        The as-of dates: a pandas frequency of period starts ("QS" quarters, "MS" months, "YS"
        years, "W-MON" weeks) or one of "week", "month", "quarter", "year". Each date is
        inclusive, as in :func:`migration`.
    start, end : date-like, optional
        The first and last date considered; default the first and the last transaction.
    mode, window, customer, date, amount, order, bins, method, rules, decimal, thousands,
    dayfirst, date_system, first_row, table, query
        As for :func:`migration`.

    Returns
    -------
    History
        See :class:`rfm_addin.core.migration.History`.
    """
    alias = EVERY.get(str(freq).strip().lower(), freq)
    options = dict(customer=customer, date=date, amount=amount, order=order, decimal=decimal, thousands=thousands,
                   dayfirst=dayfirst, date_system=date_system, first_row=first_row, table=table, query=query)
    say = progress or (lambda text: None)
    say("Reading transactions")
    def as_of_dates(first_day: pd.Timestamp, last_day: pd.Timestamp) -> list[pd.Timestamp]:
        first = parse_as_of(start, dayfirst) or first_day
        last = parse_as_of(end, dayfirst) or last_day
        try:
            dates = list(pd.date_range(first, last, freq=alias))
        except ValueError as exc:
            raise RfmError(f"freq {freq!r} is not a period: use week, month, quarter, year or a pandas frequency "
                           "such as QS.") from exc
        if last not in dates:
            dates.append(last)
        if len(dates) < 2:
            raise RfmError(f"From {first:%Y-%m-%d} to {last:%Y-%m-%d} there is only one {freq} date; choose a "
                           "shorter period or a longer span.")
        say(f"Aggregating {len(dates)} dates")
        return dates

    tables, dates = compute_tables(transactions, as_of_dates, **options, progress=say)
    return history_of(tables, dates, mode=mode, window=window, bins=bins, method=method, rules=rules)


def clv_summary(
    transactions: Any,
    *,
    as_of: object = None,
    time_unit: str = "week",
    customer: str | None = None,
    date: str | None = None,
    amount: str | None = None,
    order: str | None = None,
    decimal: str = ".",
    thousands: str | None = None,
    dayfirst: bool | None = None,
    date_system: int = 1900,
    first_row: int = 2,
) -> pd.DataFrame:
    """The summary the CLV models are fitted on, one row per customer (cleaned as for :func:`rfm_table`).

    Parameters
    ----------
    transactions
        A DataFrame, or a CSV or XLSX file.
    as_of : date-like, optional
        The last day of the calibration period (inclusive); default the last transaction's day.
    time_unit : {"week", "day"}
        Times in weeks (days / 7, the literature's unit) or days.
    customer, date, amount, order, decimal, thousands, dayfirst, date_system, first_row
        As for :func:`rfm_table`.

    Returns
    -------
    DataFrame
        Indexed by customer id: ``x`` (repeat purchase days; same-day purchases merged),
        ``t_x``, ``T``, ``repeat_spend`` (mean net amount of the repeat days), ``repeat_days``,
        ``no_repeat``; ``attrs["time_unit"]`` and ``attrs["as_of"]``.
    """
    frame, first_row, date_system = frame_of(transactions, what="clv_summary", first_row=first_row,
                                             date_system=date_system)
    return clv_summary_from_frame(frame, as_of=parse_as_of(as_of, dayfirst), time_unit=time_unit, customer=customer,
                                  date=date, amount=amount, order=order, decimal=decimal, thousands=thousands,
                                  dayfirst=dayfirst, date_system=date_system, first_row=first_row)


def clv_check(
    transactions: Any,
    *,
    calibration_end: object,
    holdout_end: object = None,
    time_unit: str = "week",
    customer: str | None = None,
    date: str | None = None,
    amount: str | None = None,
    order: str | None = None,
    decimal: str = ".",
    thousands: str | None = None,
    dayfirst: bool | None = None,
    date_system: int = 1900,
    first_row: int = 2,
) -> ClvCheck:
    """Check the CLV models on a holdout: fit on the transactions up to ``calibration_end``,
    compare with what the same customers did up to ``holdout_end``.

    Parameters
    ----------
    transactions
        A DataFrame, or a CSV or XLSX file.
    calibration_end : date-like
        The last day the models learn from (inclusive).
    holdout_end : date-like, optional
        The last day of the holdout (inclusive); default the last transaction's day.
    time_unit : {"week", "day"}
        The models' time unit.
    customer, date, amount, order, decimal, thousands, dayfirst, date_system, first_row
        As for :func:`rfm_table`.

    Returns
    -------
    ClvCheck
        Aggregate and per-customer errors of BG/NBD and Pareto/NBD, the calibration by
        decile, churn ROC and PR AUC against recency alone, and the share of holdout revenue
        captured by the top 10% by predicted value and by RFM score
        (:class:`rfm_addin.core.clv_check.ClvCheck`).
    """
    lines = prepared_lines(transactions, what="clv_check", customer=customer, date=date, amount=amount, order=order,
                           decimal=decimal, thousands=thousands, dayfirst=dayfirst, date_system=date_system,
                           first_row=first_row)
    return clv_check_from_prepared(lines, calibration_end=parse_as_of(calibration_end, dayfirst),
                                   holdout_end=parse_as_of(holdout_end, dayfirst), time_unit=time_unit)


def plan_campaign(
    transactions: Any,
    *,
    segments: Iterable[str] | str | None = None,
    lift: float = 0.02,
    relative: bool = False,
    holdout: float = 0.1,
    window: int = 30,
    arms: Iterable[str] = ("treatment",),
    random_state: int = 0,
    alpha: float = 0.05,
    power: float = 0.8,
    method: str = "arcsine",
    as_of: object = None,
    bins: int = 5,
    rules: pd.DataFrame | None = None,
    customer: str | None = None,
    date: str | None = None,
    amount: str | None = None,
    order: str | None = None,
    decimal: str = ".",
    thousands: str | None = None,
    dayfirst: bool | None = None,
    date_system: int = 1900,
    first_row: int = 2,
) -> CampaignPlan:
    """Plan a campaign test for segments: sizes, baselines from the data's history, and the arms.

    The customers are segmented as of ``as_of`` (as :func:`analyze` does); each segment's
    baseline is its customers' historical rate of a purchase within ``window`` days
    (:mod:`rfm_addin.core.baselines`: 30, 60 or 90, over the last 12 month ends); the sizes come
    from :func:`rfm_addin.sample_sizes` with a ``holdout`` share, and the arms from
    :func:`rfm_addin.assign` (stratified by segment).

    Parameters
    ----------
    transactions
        A DataFrame, or a CSV or XLSX file.
    segments : str or list of str, optional
        The segments to plan for; default every segment with customers.
    lift : float
        The lift hoped for: absolute (0.02 = 2 points) or, with ``relative=True``, relative.
    holdout : float
        Share of each segment held out.
    window : {30, 60, 90}
        Days after the campaign in which a purchase counts as a conversion.
    arms, random_state
        As for :func:`rfm_addin.assign`.
    alpha, power, method
        As for :func:`rfm_addin.sample_size`.
    as_of, bins, rules, customer, date, amount, order, decimal, thousands, dayfirst, date_system, first_row
        As for :func:`analyze`.

    Returns
    -------
    CampaignPlan
        ``table`` (per segment: customers, baseline, sizes needed, detectable lifts, verdict),
        ``assignment``, ``customers`` (with ``arm``), ``baselines``, ``findings``.
    """
    lines = prepared_lines(transactions, what="plan_campaign", customer=customer, date=date, amount=amount,
                           order=order, decimal=decimal, thousands=thousands, dayfirst=dayfirst,
                           date_system=date_system, first_row=first_row)
    base = rfm_from_prepared(lines, parse_as_of(as_of, dayfirst))
    customers = segment(score(base.table, bins=bins), rules=rules, bins=bins)
    history = segment_baselines(lines, bins=bins, rules=rules)
    return campaign_plan(customers, history, segments=segments, lift=lift, relative=relative, holdout=holdout,
                         window=window, arms=tuple(arms), random_state=random_state, alpha=alpha, power=power,
                         method=method)


def usage_table(
    events: Any,
    *,
    payments: Any = None,
    as_of: object = None,
    user: str | None = None,
    timestamp: str | None = None,
    event: str | None = None,
    payment_user: str | None = None,
    payment_date: str | None = None,
    payment_amount: str | None = None,
    payment_period: str | None = None,
    top_features: int = 10,
    table: str | None = None,
    query: str | None = None,
    payments_table: str | None = None,
    payments_query: str | None = None,
    progress: Callable[[str], None] | None = None,
) -> pd.DataFrame:
    """A modified RFM table of a subscription product: one row per user from an event log and payments.

    Parameters
    ----------
    events : DataFrame, path, Ibis table or connection
        One row per event: user, timestamp, event or feature name (columns detected from
        common headers, or named with ``user``, ``timestamp``, ``event``). A DataFrame, a
        CSV or XLSX file is read by pandas; a Parquet file, a folder or glob of files, a CSV
        file of 100 MB or more, an Ibis table, or a connection URL or name with ``table=`` or
        ``query=`` is aggregated inside its engine (DuckDB, PostgreSQL...): only one row per
        user, per feature and per (user, top feature) comes back.
    payments : DataFrame, path, Ibis table or connection, optional
        One row per payment: user, date, amount, and optionally a period or plan (monthly,
        quarterly, yearly, weekly); ``payment_*`` name the columns, ``payments_table`` /
        ``payments_query`` say what to read from a connection. An engine's payments are
        brought to pandas whole (about one row per user and month).
    as_of : date-like, optional
        Default the day after the last event.
    top_features : int
        How many features get an adoption column (those used by the most users).
    progress : callable, optional
        Hears, every second, which step an engine is on.

    Returns
    -------
    DataFrame
        Indexed by user: ``recency`` (days since last activity), ``frequency`` (weekly
        sessions), ``monetary`` (current MRR), ``tenure`` (days), ``adoption: <feature>``; see
        :mod:`rfm_addin.core.usage` for the definitions. ``attrs``: ``profile_columns``,
        ``as_of``, ``window``, ``features``, ``quality``.
    """
    from .core.usage import event_activity, usage_from_activity
    from .sources import engine_frame, engine_usage

    stated = parse_as_of(as_of)
    activity = None
    if goes_to_engine(events, table, query):
        activity = engine_usage(events, user=user, timestamp=timestamp, event=event, as_of=stated,
                                top_features_limit=top_features, table=table, query=query, progress=progress)
    if activity is None:
        frame = pandas_input(events, table=table, query=query)[0]   # the engine may have handed a file back
        activity = event_activity(frame, as_of=stated, user=user, timestamp=timestamp, event=event,
                                  top_features_limit=top_features)
    paid = None
    if payments is not None:
        paid = (engine_frame(payments, table=payments_table, query=payments_query, what="The payments")
                if goes_to_engine(payments, payments_table, payments_query)
                else frame_of(payments, what="usage_table payments")[0])
    return usage_from_activity(activity, payments=paid, payment_user=payment_user, payment_date=payment_date,
                               payment_amount=payment_amount, payment_period=payment_period)
