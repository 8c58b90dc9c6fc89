"""Transactions to one row per customer: recency, frequency and monetary value.

Definitions (the README explains why):

- ``as_of`` defaults to the day after the latest transaction date. Recency is the number
  of calendar days from the date of the customer's last purchase to ``as_of``; the time
  of day is ignored. Transactions dated after ``as_of`` are left out (that is how an
  analysis "as of" a past date works) and counted in the quality report.
- Frequency counts distinct orders when an order column exists, else transaction rows.
- Monetary is net total spend: cancellation and return lines subtract.
- A cancellation line (order id starting with "C"/"c", or a negative quantity or amount)
  counts in monetary but neither as an order nor as a purchase: it does not move the last
  purchase date. Customers with cancellation lines only are left out.
- Rows with no customer are dropped. With an order column, exact duplicate rows are
  dropped (a repeated identical line of one invoice is an export duplicate); without
  one, identical rows are kept as separate purchases and reported as possible duplicates.

Everything that is dropped, kept or left out is counted in a :class:`QualityReport`.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Iterable

import numpy as np
import pandas as pd

from .columns import RFM_COLUMNS, ColumnMap, resolve_columns, resolve_keep  # noqa: F401 (RFM_COLUMNS re-exported)
from .errors import DataError, RfmError
from .parsing import read_dates, read_ids, read_numbers, source_row
from .quality import QualityReport



@dataclass
class RfmResult:
    """A customer table with what is needed to explain it.

    Attributes
    ----------
    table : DataFrame
        One row per customer (see :func:`rfm_table`).
    quality : QualityReport
        Every cleaning step, counted.
    as_of : Timestamp
        The date recency is measured to.
    columns : ColumnMap
        Which source columns were used for which role.
    frequency_basis : str
        "distinct orders (<column>)" or "transaction rows", for every output to state.
    """

    table: pd.DataFrame
    quality: QualityReport
    as_of: pd.Timestamp
    columns: ColumnMap
    frequency_basis: str


def parse_as_of(as_of: object, dayfirst: bool | None = None) -> pd.Timestamp | None:
    """Read an ``as_of`` argument (date, datetime, text) as a midnight Timestamp.

    Text is read by the same rules as a date column: ISO, or day-first / month-first as
    ``dayfirst`` says; text that could be either ("03/04/2024") is an error without it.
    """
    if as_of is None or (isinstance(as_of, str) and not as_of.strip()):
        return None
    if isinstance(as_of, str):
        try:
            read = read_dates(pd.Series([as_of.strip()], dtype=object), "as_of", 1, dayfirst=dayfirst)
        except DataError as exc:
            if "day-first or month-first" in str(exc):
                raise RfmError(f"as_of {as_of!r}: {str(exc).split(': ', 1)[-1]}") from exc
            raise RfmError(f"as_of {as_of!r} is not a date; write it as YYYY-MM-DD.") from exc
        return pd.Timestamp(read[0]).normalize()
    try:
        stamp = pd.Timestamp(as_of)
    except (ValueError, TypeError) as exc:
        raise RfmError(f"as_of {as_of!r} is not a date; write it as YYYY-MM-DD.") from exc
    if pd.isna(stamp):
        raise RfmError(f"as_of {as_of!r} is not a date; write it as YYYY-MM-DD.")
    if stamp.tzinfo is not None:
        stamp = stamp.tz_localize(None)
    return stamp.normalize()


#: What the customer cell of a totals row at the end of an export says (case and a colon ignored).
TOTALS_WORDS = frozenset({"total", "totals", "grand total", "sum", "summe", "gesamt", "total général", "totaal"})


def _totals_rows(cust_codes: np.ndarray, cust_ids: pd.Index) -> np.ndarray:
    """The totals rows at the end of the data: the last rows, up to the last real customer,
    whose customer cell is a totals word ("Total", "Grand Total", "Sum"); blank rows between
    them are passed over. A customer called "Total" earlier in the data is a customer."""
    mask = np.zeros(len(cust_codes), dtype=bool)
    words = np.array([str(i).strip().rstrip(":").strip().casefold() in TOTALS_WORDS for i in cust_ids], dtype=bool)
    if not words.any():
        return mask
    for i in range(len(cust_codes) - 1, -1, -1):
        code = cust_codes[i]
        if code < 0:
            continue
        if not words[code]:
            break
        mask[i] = True
    return mask


def _totals_amount(frame: pd.DataFrame, cols: ColumnMap, totals: np.ndarray, first_row: int, decimal: str,
                   thousands: str | None) -> float | None:
    """The amount of the totals rows, for the quality report (None when it is not a plain number)."""
    if cols.amount is None:
        return None
    try:
        return float(np.nansum(read_numbers(frame[cols.amount][totals], cols.amount, first_row, decimal, thousands)))
    except RfmError:
        return None


def _missing_values_error(column: str, positions: np.ndarray, first_row: int, what: str) -> DataError:
    rows = [source_row(first_row, p) for p in positions[:5]]
    more = f" and {len(positions) - len(rows)} more" if len(positions) > len(rows) else ""
    plural = len(positions) > 1
    return DataError(f"Column {column!r}: {what} is empty in {len(positions)} row{'s' if plural else ''} "
                     f"that {'have' if plural else 'has'} a customer (row{'s' if plural else ''} "
                     f"{', '.join(map(str, rows))}{more}). "
                     "Fill them in or remove those rows.", column=column, rows=rows)


@dataclass
class Lines:
    """The transaction rows read column by column (stage 1, :func:`parse_lines`).

    ``cust_codes``/``order_codes`` index ``cust_ids``/``order_ids`` (-1: no id); ``dates`` is
    datetime64 (NaT: none); ``amounts`` float (NaN: none; quantity x price without an
    amount column), ``quantity``/``price`` only when those columns are used; ``totals`` marks
    the totals rows at the end of the data.
    """

    frame: pd.DataFrame
    cols: ColumnMap
    cust_codes: np.ndarray
    cust_ids: pd.Index
    dates: np.ndarray
    amounts: np.ndarray
    quantity: np.ndarray | None
    price: np.ndarray | None
    order_codes: np.ndarray | None
    order_ids: pd.Index | None
    totals: np.ndarray


def parse_lines(frame: pd.DataFrame, cols: ColumnMap, report: QualityReport, *, first_row: int = 2,
                decimal: str = ".", thousands: str | None = None, dayfirst: bool | None = None,
                date_system: int = 1900) -> Lines:
    """Stage 1: read ids, dates and amounts (errors name rows and column); totals rows left out, counted."""
    cust_codes, cust_ids = read_ids(frame[cols.customer], cols.customer, first_row)
    totals = _totals_rows(cust_codes, cust_ids)
    if totals.any():
        total_amount = _totals_amount(frame, cols, totals, first_row, decimal, thousands)
        frame = frame.copy()
        frame.loc[totals, [c for c in cols.used if c != cols.customer]] = None
        cust_codes = np.where(totals, -1, cust_codes)
        report.add("totals_rows", "Totals rows at the end of the data", int(totals.sum()), "rows", "left out",
                   amount=total_amount)
    dates = read_dates(frame[cols.date], cols.date, first_row, date_system, dayfirst)
    quantity = read_numbers(frame[cols.quantity], cols.quantity, first_row, decimal, thousands) if cols.quantity else None
    price = read_numbers(frame[cols.price], cols.price, first_row, decimal, thousands) \
        if cols.price and cols.amount is None else None
    if cols.amount is not None:
        amounts = read_numbers(frame[cols.amount], cols.amount, first_row, decimal, thousands)
    else:
        amounts = quantity * price
    if cols.order is not None:
        order_codes, order_ids = read_ids(frame[cols.order], cols.order, first_row, sort=False)
    else:
        order_codes, order_ids = None, None
    return Lines(frame, cols, cust_codes, cust_ids, dates, amounts, quantity, price, order_codes, order_ids, totals)


def clean(lines: Lines, report: QualityReport, *, first_row: int = 2) -> np.ndarray:
    """Stage 2: the rows kept (True), after blank rows, rows without a customer and exact duplicates;
    a kept row without a date or an amount is an error naming the rows."""
    cols, cust_codes, dates, amounts = lines.cols, lines.cust_codes, lines.dates, lines.amounts
    blank = (cust_codes < 0) & np.isnat(dates) & np.isnan(amounts)
    for extra in (lines.quantity, lines.price):
        if extra is not None:
            blank &= np.isnan(extra)
    if lines.order_codes is not None:
        blank &= lines.order_codes < 0
    blank &= ~lines.totals
    report.add("blank_rows", "Blank rows skipped", int(blank.sum()), "rows", "skipped")

    no_customer = (cust_codes < 0) & ~blank & ~lines.totals
    report.add("no_customer", "Rows without a customer id", int(no_customer.sum()), "rows", "dropped",
               amount=float(np.nansum(amounts[no_customer])))
    rows = ~blank & ~no_customer & ~lines.totals
    for values, column, what in ((np.isnat(dates), cols.date, "the date"),
                                 (np.isnan(amounts), cols.amount or f"{cols.quantity} x {cols.price}", "the amount")):
        missing = np.flatnonzero(values & rows)
        if len(missing):
            raise _missing_values_error(column, missing, first_row, what)
    if cols.amount is None:
        report.add("amount_from_lines", f"Amount computed as {cols.quantity} x {cols.price}", int(rows.sum()),
                   "rows", "computed")
    _drop_duplicates(lines, rows, report)
    return rows


def _drop_duplicates(lines: Lines, rows: np.ndarray, report: QualityReport) -> None:
    """With an order column, exact duplicate rows are dropped (``rows`` updated); without one,
    identical rows are only counted as possible duplicates."""
    frame, cols, order_codes = lines.frame, lines.cols, lines.order_codes
    if order_codes is None:
        report.add("possible_duplicates", "Identical rows (no order column, so possible duplicates)",
                   _identical_rows(lines, rows), "rows", "kept as separate purchases")
        return
    key = {"_c": lines.cust_codes, "_d": lines.dates, "_a": lines.amounts, "_o": order_codes}
    key.update({f"_{i}": frame[c].to_numpy() for i, c in enumerate(frame.columns) if c not in cols.used})
    if lines.quantity is not None:
        key["_q"] = lines.quantity
    if lines.price is not None:
        key["_p"] = lines.price      # every column equal: two lines of quantity 0 at different prices differ
    # Only rows of orders with two or more rows can repeat a line: compare just those.
    lines_per_order = np.bincount(order_codes[rows & (order_codes >= 0)], minlength=len(lines.order_ids))
    shared = np.concatenate([lines_per_order, [2]])[order_codes] > 1   # rows without an order id: compare
    index = np.flatnonzero(rows & shared)
    duplicated = pd.DataFrame({k: v[index] for k, v in key.items()}).duplicated(keep="first").to_numpy()
    dup_rows = index[duplicated]
    report.add("duplicate_rows", "Exact duplicate rows (same order, every column equal)", len(dup_rows),
               "rows", "dropped", amount=float(lines.amounts[dup_rows].sum()))
    rows[dup_rows] = False


def _identical_rows(lines: Lines, rows: np.ndarray) -> int:
    """How many of the kept ``rows`` repeat an earlier one in every column of the raw frame.

    Comparing the raw frame's columns of every row (``DataFrame.duplicated``) hashed each text
    value again: half of ``rfm_table``'s time at 1M rows. Two rows equal in the raw frame are
    equal in the parsed customer, date and amount, so only the rows whose parsed triple repeats
    (one 64-bit hash per row, exact equality checked after) can be duplicates; the raw
    comparison then runs on those alone, and the count is the same.
    """
    index = np.flatnonzero(rows)
    if len(index) < 2:
        return 0
    mixed = pd.util.hash_array(lines.cust_codes[index].astype(np.int64))
    for part in (lines.dates[index].view(np.int64), lines.amounts[index].view(np.int64)):
        mixed = mixed * np.uint64(0x9E3779B97F4A7C15) ^ pd.util.hash_array(part)
    candidates = index[pd.Series(mixed).duplicated(keep=False).to_numpy()]
    if len(candidates) == 0:
        return 0
    return int(lines.frame.iloc[candidates].duplicated(keep="first").sum())


def classify_lines(lines: Lines) -> tuple[np.ndarray, np.ndarray]:
    """Stage 3: which lines are cancellations or returns (negative amount or quantity, or an
    order id starting with C), and every line's signed amount (cancellations always subtract)."""
    cancel = lines.amounts < 0
    if lines.quantity is not None:
        cancel |= lines.quantity < 0
    if lines.order_codes is not None and len(lines.order_ids):
        starts_c = np.asarray(lines.order_ids.str.slice(stop=1).isin(["C", "c"]), dtype=bool)
        cancel |= (lines.order_codes >= 0) & starts_c[np.maximum(lines.order_codes, 0)]
    return cancel, np.where(cancel, -np.abs(lines.amounts), lines.amounts)


def cut_at_as_of(days: np.ndarray, rows: np.ndarray, cancel: np.ndarray, amounts: np.ndarray,
                 as_of: pd.Timestamp | None, report: QualityReport) -> tuple[int, pd.Timestamp]:
    """Stage 4: the as-of day (stated, or the day after the last kept row); later rows leave
    ``rows`` (counted), and the cancellations kept are counted."""
    if as_of is None:
        if not rows.any():
            raise RfmError("No transactions with a customer were found.")
        as_of_day = int(days[rows].max()) + 1
        as_of = pd.Timestamp(np.datetime64(as_of_day, "D"))
    else:
        as_of_day = int(np.datetime64(as_of.date(), "D").astype(np.int64))
    after = rows & (days > as_of_day)
    report.add("after_as_of", f"Transactions after the as-of date {as_of:%Y-%m-%d}", int(after.sum()),
               "rows", "left out", amount=float(amounts[after].sum()))
    rows &= ~after
    report.add("cancellations", "Cancellation and return lines", int((cancel & rows).sum()), "rows",
               "subtracted from monetary; not counted as orders", amount=float(amounts[cancel & rows].sum()))
    return as_of_day, as_of


def _check_separators(decimal: str, thousands: str | None) -> None:
    if decimal not in (".", ","):
        raise RfmError(f"decimal must be '.' or ',', not {decimal!r}.")
    if thousands is not None and (thousands == decimal or thousands not in (",", ".", " ", "'", "\u00a0")):
        raise RfmError(f"thousands must be one of ',', '.', ' ', \"'\" and differ from decimal, not {thousands!r}.")


@dataclass
class Prepared:
    """The transactions through the stages before any as-of date (:func:`prepare_lines`)."""

    cols: ColumnMap
    keep: dict
    report: QualityReport
    lines: Lines
    rows: np.ndarray
    cancel: np.ndarray
    amounts: np.ndarray
    days: np.ndarray


def prepare_lines(frame: pd.DataFrame, *, customer: str | None = None, date: str | None = None,
                  amount: str | None = None, order: str | None = None, keep: Iterable[str] | str | None = None,
                  decimal: str = ".", thousands: str | None = None, dayfirst: bool | None = None,
                  date_system: int = 1900, first_row: int = 2) -> Prepared:
    """Columns resolved and the stages that do not depend on the as-of date run once:
    :func:`parse_lines`, :func:`clean` and :func:`classify_lines` (the quality report counts
    what they did). Every reader of transactions in pandas starts here."""
    _check_separators(decimal, thousands)
    cols = resolve_columns(frame.columns, customer, date, amount, order)
    keep_cols = resolve_keep(keep, list(frame.columns), cols.used)
    report = QualityReport()
    report.add("rows_read", "Rows read", len(frame), "rows", "", always=True)
    if len(frame) == 0:
        raise RfmError("The data has a header but no rows of transactions.")
    lines = parse_lines(frame, cols, report, first_row=first_row, decimal=decimal, thousands=thousands,
                        dayfirst=dayfirst, date_system=date_system)
    rows = clean(lines, report, first_row=first_row)
    cancel, amounts = classify_lines(lines)
    days = lines.dates.astype("datetime64[D]").astype(np.int64)
    return Prepared(cols, keep_cols, report, lines, rows, cancel, amounts, days)


def rfm_from_frame(
    frame: pd.DataFrame,
    *,
    customer: str | None = None,
    date: str | None = None,
    amount: str | None = None,
    order: str | None = None,
    as_of: pd.Timestamp | None = None,
    keep: Iterable[str] | str | None = None,
    decimal: str = ".",
    thousands: str | None = None,
    dayfirst: bool | None = None,
    date_system: int = 1900,
    first_row: int = 2,
) -> RfmResult:
    """The customer table and its quality report from a DataFrame of transactions, in pandas.

    The parameters are those of :func:`rfm_addin.rfm_table`, with ``as_of`` already read
    (:func:`parse_as_of`); :func:`rfm_addin.sources.route.compute_rfm` sends DataFrames and
    files here and other sources to their engine. The stages, in order (the engine's
    expression, :mod:`rfm_addin.sources.ibis_rfm`, has the same ones): :func:`parse_lines`,
    :func:`clean`, :func:`classify_lines`, :func:`cut_at_as_of`, :func:`aggregate`,
    :func:`finish`.
    """
    p = prepare_lines(frame, customer=customer, date=date, amount=amount, order=order, keep=keep, decimal=decimal,
                      thousands=thousands, dayfirst=dayfirst, date_system=date_system, first_row=first_row)
    return rfm_from_prepared(p, as_of)


def rfm_from_prepared(p: Prepared, as_of: pd.Timestamp | None) -> RfmResult:
    """The customer table of :func:`rfm_from_frame` from lines already prepared
    (:func:`prepare_lines`), which are not changed: several results can share one reading."""
    lines, cancel, amounts, days = p.lines, p.cancel, p.amounts, p.days
    rows = p.rows.copy()
    report = p.report.copy()
    as_of_day, as_of_stamp = cut_at_as_of(days, rows, cancel, amounts, as_of, report)
    table = aggregate(rows, cancel, lines.cust_codes, lines.cust_ids, days, amounts, lines.order_codes, as_of_day,
                      report)
    if p.keep:
        table = _attach_kept(table, lines.frame, p.keep, rows, lines.cust_codes, lines.cust_ids)
        table.attrs["profile_columns"] = list(p.keep.values())
    cols = p.cols
    return finish(table, report, as_of_stamp, cols, int(rows.sum()), float(amounts[rows].sum()))


def snapshots_from_frame(
    frame: pd.DataFrame,
    as_ofs: list[pd.Timestamp],
    *,
    customer: str | None = None,
    date: str | None = None,
    amount: str | None = None,
    order: str | None = None,
    decimal: str = ".",
    thousands: str | None = None,
    dayfirst: bool | None = None,
    date_system: int = 1900,
    first_row: int = 2,
) -> list[RfmResult | None]:
    """One customer table per as-of date (inclusive), as :func:`rfm_from_frame` with that
    ``as_of`` gives it, reading and cleaning the lines once.

    The stages before the as-of date (:func:`parse_lines`, :func:`clean`,
    :func:`classify_lines`) run once; :func:`cut_at_as_of`, :func:`aggregate` and
    :func:`finish` run per date, each on its own copy of the quality report. A date before
    every purchase gives None (no customer yet) instead of an error.
    """
    p = prepare_lines(frame, customer=customer, date=date, amount=amount, order=order, decimal=decimal,
                      thousands=thousands, dayfirst=dayfirst, date_system=date_system, first_row=first_row)
    lines, rows, cancel, amounts, days, report, cols = p.lines, p.rows, p.cancel, p.amounts, p.days, p.report, p.cols
    out: list[RfmResult | None] = []
    for as_of in as_ofs:
        own = report.copy()
        kept = rows.copy()
        as_of_day, stamp = cut_at_as_of(days, kept, cancel, amounts, as_of, own)
        if not (kept & ~cancel).any():
            out.append(None)
            continue
        table = aggregate(kept, cancel, lines.cust_codes, lines.cust_ids, days, amounts, lines.order_codes,
                          as_of_day, own)
        out.append(finish(table, own, stamp, cols, int(kept.sum()), float(amounts[kept].sum())))
    return out


def cumulative_tables(frame: pd.DataFrame, as_ofs, **options) -> list[pd.DataFrame | None]:
    """The customer tables of :func:`snapshots_from_frame` at many dates, in one aggregation.

    Each kept line is assigned to the first as-of date on or after its day; sums, counts and
    extremes per (customer, date) are then accumulated along the dates, so the transactions are
    aggregated once, whatever the number of dates. ``as_ofs`` must be increasing; it may be a
    function of the first and last purchase days (Timestamps) that returns them, so the dates
    can follow the data without reading it twice. Returns the
    tables only (``recency``, ``frequency``, ``monetary``, ``first_purchase``,
    ``last_purchase``, ``avg_order_value``, indexed by customer id, sorted), None for a date
    before every purchase. ``options`` are those of :func:`prepare_lines`. Memory grows with
    customers x dates (8 bytes a cell for each of five measures).
    """
    p = prepare_lines(frame, **options)
    lines, rows, cancel, amounts, days, cols = p.lines, p.rows, p.cancel, p.amounts, p.days, p.cols
    if callable(as_ofs):
        purchases = days[rows & ~cancel]
        if not len(purchases):
            raise RfmError("No purchases were found, so there is no customer to analyse.")
        as_ofs = as_ofs(*(pd.Timestamp(np.datetime64(int(d), "D")) for d in (purchases.min(), purchases.max())))
    if any(b <= a for a, b in zip(as_ofs, as_ofs[1:])):
        raise RfmError("The as-of dates must be increasing.")
    n_c, n_d = len(lines.cust_ids), len(as_ofs)
    date_days = np.array([np.datetime64(d.date(), "D").astype(np.int64) for d in as_ofs])
    period = np.searchsorted(date_days, days, side="left")
    kept = rows & (period < n_d)
    codes, per = lines.cust_codes, period
    money = np.bincount(codes[kept] * n_d + per[kept], weights=amounts[kept], minlength=n_c * n_d)
    money = money.reshape(n_c, n_d).cumsum(axis=1)
    bought = kept & ~cancel
    if lines.order_codes is None:
        counts = np.bincount(codes[bought] * n_d + per[bought], minlength=n_c * n_d)
    else:
        orders = lines.order_codes[bought]
        with_id = orders >= 0
        c_id, p_id, o_id = codes[bought][with_id], per[bought][with_id], orders[with_id]
        pairs = pd.DataFrame({"c": c_id, "o": o_id, "p": p_id}).groupby(["c", "o"], sort=False)["p"].min()
        first_c = pairs.index.get_level_values("c").to_numpy()
        counts = np.bincount(first_c * n_d + pairs.to_numpy(), minlength=n_c * n_d)
        counts += np.bincount(codes[bought][~with_id] * n_d + per[bought][~with_id], minlength=n_c * n_d)
    frequency = counts.reshape(n_c, n_d).cumsum(axis=1)
    last = np.full(n_c * n_d, np.iinfo(np.int64).min)
    first = np.full(n_c * n_d, np.iinfo(np.int64).max)
    np.maximum.at(last, codes[bought] * n_d + per[bought], days[bought])
    np.minimum.at(first, codes[bought] * n_d + per[bought], days[bought])
    last = np.maximum.accumulate(last.reshape(n_c, n_d), axis=1)
    first = np.minimum.accumulate(first.reshape(n_c, n_d), axis=1)
    out: list[pd.DataFrame | None] = []
    for i, as_of_day in enumerate(date_days):
        buyers = np.flatnonzero(frequency[:, i] > 0)
        if not len(buyers):
            out.append(None)
            continue
        freq, spent = frequency[buyers, i].astype(np.int64), money[buyers, i]
        table = pd.DataFrame({
            "recency": (as_of_day - last[buyers, i]).astype(np.int64),
            "frequency": freq,
            "monetary": spent,
            "first_purchase": first[buyers, i].astype("datetime64[D]").astype("datetime64[ns]"),
            "last_purchase": last[buyers, i].astype("datetime64[D]").astype("datetime64[ns]"),
            "avg_order_value": spent / freq,
        }, index=pd.Index(lines.cust_ids[buyers].to_numpy(dtype=object), dtype=object))
        table.index.name = str(cols.customer)
        out.append(table)
    return out, list(as_ofs)


def finish(table: pd.DataFrame, report: QualityReport, as_of: pd.Timestamp, cols: ColumnMap,
           rows_used: int, amount_used: float) -> RfmResult:
    """Stage 6: name the index, add the closing quality lines and wrap up; shared by the DataFrame
    and engine paths."""
    table.index.name = str(cols.customer)
    # NumPy masks: a boolean .loc on a large text index would build the index's hash table.
    monetary = table["monetary"].to_numpy(dtype=np.float64)
    nonpositive = monetary <= 0
    report.add("nonpositive_customers", "Customers with net spend of zero or less", int(nonpositive.sum()),
               "customers", "kept", amount=float(np.nansum(monetary[nonpositive])))
    report.add("customers", "Customers analysed", len(table), "customers", "", always=True,
               amount=float(np.nansum(monetary)))
    basis = f"distinct orders ({cols.order})" if cols.order is not None else "transaction rows"
    report.add("transactions_used", f"Transactions used (frequency counts {basis})", rows_used, "rows",
               "", always=True, amount=amount_used)
    return RfmResult(table=table, quality=report, as_of=as_of, columns=cols, frequency_basis=basis)


def aggregate(rows, cancel, cust_codes, cust_ids, days, amounts, order_codes, as_of_day,
              report: QualityReport) -> pd.DataFrame:
    """Stage 5: per-customer sums and extremes over the kept rows (numpy, one pass per measure):
    monetary over every kept line, frequency and purchase dates over the purchases."""
    n_ids = len(cust_ids)
    codes = cust_codes[rows]
    monetary = np.bincount(codes, weights=amounts[rows], minlength=n_ids)
    present = np.bincount(codes, minlength=n_ids) > 0
    purchase = rows & ~cancel
    p_codes = cust_codes[purchase]
    p_days = days[purchase]
    if order_codes is not None:
        p_orders = order_codes[purchase]
        with_id = p_orders >= 0
        frequency = _distinct_orders(p_codes[with_id], p_orders[with_id], int(order_codes.max()) + 1, n_ids)
        frequency += np.bincount(p_codes[~with_id], minlength=n_ids)
        report.add("rows_without_order", "Purchase rows without an order id", int((~with_id).sum()), "rows",
                   "counted as one order each")
    else:
        frequency = np.bincount(p_codes, minlength=n_ids)
    buyers = frequency > 0
    cancel_only = present & ~buyers
    report.add("cancel_only_customers", "Customers with only cancellations or returns", int(cancel_only.sum()),
               "customers", "left out", amount=float(monetary[cancel_only].sum()))
    if not buyers.any():
        raise RfmError("No purchases were found on or before the as-of date, so there is no customer to analyse.")
    extremes = pd.DataFrame({"c": p_codes, "d": p_days}).groupby("c", sort=True)["d"].agg(["min", "max"])
    first = extremes["min"].to_numpy()
    last = extremes["max"].to_numpy()
    ids = extremes.index.to_numpy()
    freq = frequency[ids].astype(np.int64)
    money = monetary[ids]
    table = pd.DataFrame(
        {
            "recency": (as_of_day - last).astype(np.int64),
            "frequency": freq,
            "monetary": money,
            "first_purchase": first.astype("datetime64[D]").astype("datetime64[ns]"),
            "last_purchase": last.astype("datetime64[D]").astype("datetime64[ns]"),
            "avg_order_value": money / freq,
        },
        index=pd.Index(cust_ids[ids].to_numpy(dtype=object), dtype=object),
    )
    return table


def _distinct_orders(customers: np.ndarray, orders: np.ndarray, n_orders: int, n_customers: int) -> np.ndarray:
    """Number of distinct orders per customer, from row-level customer and order codes.

    Normally each order belongs to one customer: then it is one ``bincount`` over the
    orders (no hashing of pairs). An order id shared by several customers (two systems
    merged, say) is counted once per customer, through the (customer, order) pairs.
    """
    owner = np.full(n_orders, -1, dtype=np.int64)
    owner[orders] = customers
    if np.array_equal(owner[orders], customers):
        return np.bincount(owner[owner >= 0], minlength=n_customers)
    pairs = pd.unique(customers.astype(np.int64) * n_orders + orders)
    return np.bincount(pairs // n_orders, minlength=n_customers)


def _attach_kept(table, frame, keep_cols, rows, cust_codes, cust_ids) -> pd.DataFrame:
    """First non-empty value per customer of each ``keep`` column (source -> output name), in source row order."""
    index = np.flatnonzero(rows)
    kept = frame[list(keep_cols)].iloc[index].rename(columns=keep_cols)
    kept.index = cust_ids[cust_codes[index]].to_numpy(dtype=object)
    firsts = kept.groupby(level=0, sort=False).first()
    return table.join(firsts, how="left")
