"""Where transactions are aggregated: the one input router of the package.

A DataFrame, an XLSX file and a CSV file that the DataFrame reader explains best go to the
pandas implementation (:func:`rfm_addin.core.rfm.rfm_from_frame`); Parquet files, large or
typed CSV files, folders, globs, Ibis tables, Spark DataFrames and database connections go to
their engine (:func:`rfm_addin.sources.engine_rfm`). Both give the same :class:`RfmResult`.
"""
from __future__ import annotations

import os
from typing import Any, Callable, Iterable

import pandas as pd

from ..core.errors import RfmError
from ..core.rfm import (Prepared, RfmResult, cumulative_tables, parse_as_of, prepare_lines, rfm_from_frame,
                        snapshots_from_frame)
from . import engine_rfm, is_engine_source, typed_csv_reading
from .files import read_transactions


def goes_to_engine(transactions: Any, table: str | None = None, query: str | None = None, *, decimal: str = ".",
                   thousands: str | None = None, dayfirst: bool | None = None) -> bool:
    """Whether an engine aggregates ``transactions`` (the rest is read by pandas)."""
    return not isinstance(transactions, pd.DataFrame) and is_engine_source(
        transactions, table, query, csv_as_typed=typed_csv_reading(decimal, thousands, dayfirst))


def pandas_input(transactions: Any, *, table: str | None = None, query: str | None = None, first_row: int = 2,
                 date_system: int = 1900) -> tuple[pd.DataFrame, int, int]:
    """A source pandas reads, as (frame, first row, date system): a DataFrame, or a file read by
    :func:`.files.read_transactions` (with its own row numbering and date system)."""
    if isinstance(transactions, pd.DataFrame):
        if table is not None or query is not None:
            raise RfmError("table= and query= go with a connection URL or name, not with a DataFrame.")
        return transactions, first_row, date_system
    if not isinstance(transactions, (str, os.PathLike)):
        raise RfmError(f"transactions must be a pandas DataFrame or a file path, not {type(transactions).__name__}.")
    read = read_transactions(transactions)
    return read.frame, read.first_row, read.date_system


def compute_rfm(
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
    progress: Callable[[str], None] | None = None,
) -> RfmResult:
    """Build the customer table and its quality report; see :func:`rfm_addin.rfm_table` for parameters.

    ``progress`` (a callable taking a short text) hears how long an engine has been working.
    """
    stated_as_of = parse_as_of(as_of, dayfirst)
    if goes_to_engine(transactions, table, query, decimal=decimal, thousands=thousands, dayfirst=dayfirst):
        result = engine_rfm(transactions, customer, date, amount, order, stated_as_of, keep, table=table,
                            query=query, progress=progress)
        if result is not None:
            return result
    transactions, first_row, date_system = pandas_input(transactions, table=table, query=query, first_row=first_row,
                                                        date_system=date_system)
    return rfm_from_frame(transactions, customer=customer, date=date, amount=amount, order=order, as_of=stated_as_of,
                          keep=keep, decimal=decimal, thousands=thousands, dayfirst=dayfirst,
                          date_system=date_system, first_row=first_row)


def compute_snapshots(
    transactions: Any,
    as_ofs: list[object],
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
    table: str | None = None,
    query: str | None = None,
    progress: Callable[[str], None] | None = None,
) -> list[RfmResult | None]:
    """The customer table at each as-of date (inclusive; None before the first purchase).

    A DataFrame or a file the DataFrame reader takes is read and cleaned once
    (:func:`rfm_addin.core.rfm.snapshots_from_frame`); an engine source aggregates once per date.
    """
    dates = [parse_as_of(d, dayfirst) for d in as_ofs]
    if goes_to_engine(transactions, table, query, decimal=decimal, thousands=thousands, dayfirst=dayfirst):
        out: list[RfmResult | None] = []
        for d in dates:
            try:
                out.append(compute_rfm(transactions, customer=customer, date=date, amount=amount, order=order,
                                       as_of=d, table=table, query=query, progress=progress))
            except RfmError as exc:
                if "No purchases were found on or before the as-of date" not in str(exc):
                    raise
                out.append(None)
        return out
    transactions, first_row, date_system = pandas_input(transactions, table=table, query=query, first_row=first_row,
                                                        date_system=date_system)
    return snapshots_from_frame(transactions, dates, customer=customer, date=date, amount=amount, order=order,
                                decimal=decimal, thousands=thousands, dayfirst=dayfirst, date_system=date_system,
                                first_row=first_row)


def compute_tables(transactions: Any, as_ofs, **options: Any) -> tuple[list[pd.DataFrame | None], list]:
    """The customer tables at many increasing dates, and the dates: a DataFrame or a file the
    DataFrame reader takes is read and aggregated once for all of them
    (:func:`rfm_addin.core.rfm.cumulative_tables`); an engine source once per date. ``as_ofs``
    may be a function of the first and last purchase days that returns the dates.
    ``options`` are those of :func:`compute_snapshots`."""
    table, query = options.get("table"), options.get("query")
    if goes_to_engine(transactions, table, query, decimal=options.get("decimal", "."),
                      thousands=options.get("thousands"), dayfirst=options.get("dayfirst")):
        if callable(as_ofs):
            whole = compute_rfm(transactions, **{k: v for k, v in options.items() if k != "progress"})
            as_ofs = as_ofs(pd.Timestamp(whole.table["first_purchase"].min()),
                            pd.Timestamp(whole.table["last_purchase"].max()))
        snaps = compute_snapshots(transactions, list(as_ofs), **options)
        return [None if s is None else s.table for s in snaps], list(as_ofs)
    transactions, first_row, date_system = pandas_input(transactions, table=table, query=query,
                                                        first_row=options.get("first_row", 2),
                                                        date_system=options.get("date_system", 1900))
    options = {**options, "first_row": first_row, "date_system": date_system}
    keep = {k: options[k] for k in ("customer", "date", "amount", "order", "decimal", "thousands", "dayfirst",
                                    "date_system", "first_row") if k in options}
    return cumulative_tables(transactions, as_ofs, **keep)


def frame_of(transactions: Any, *, what: str, first_row: int = 2, date_system: int = 1900,
             table: str | None = None, query: str | None = None) -> tuple[pd.DataFrame, int, int]:
    """A source that pandas reads, as (frame, first row, date system); an engine source is an error
    naming ``what`` needs pandas (a DataFrame, or a CSV/XLSX file)."""
    if goes_to_engine(transactions, table, query):
        raise RfmError(f"{what} reads the transactions in pandas: give a DataFrame, or a CSV or XLSX file; "
                       "database, Parquet and folder sources are not supported for it yet.")
    return pandas_input(transactions, table=table, query=query, first_row=first_row, date_system=date_system)


def prepared_lines(transactions: Any, *, what: str, customer: str | None = None, date: str | None = None,
                   amount: str | None = None, order: str | None = None, keep: Iterable[str] | str | None = None,
                   decimal: str = ".", thousands: str | None = None, dayfirst: bool | None = None,
                   date_system: int = 1900, first_row: int = 2, table: str | None = None,
                   query: str | None = None) -> Prepared:
    """The transactions read and cleaned once in pandas (:func:`rfm_addin.core.rfm.prepare_lines`),
    for features that need the lines themselves (the CLV models); ``what`` names the feature in
    the message when the source is an engine's."""
    frame, first_row, date_system = frame_of(transactions, what=what, first_row=first_row, date_system=date_system,
                                             table=table, query=query)
    return prepare_lines(frame, customer=customer, date=date, amount=amount, order=order, keep=keep, decimal=decimal,
                         thousands=thousands, dayfirst=dayfirst, date_system=date_system, first_row=first_row)
