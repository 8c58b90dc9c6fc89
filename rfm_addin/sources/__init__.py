"""Transactions beyond a DataFrame: files, databases and Spark, aggregated inside the engine.

:func:`engine_rfm` is what :func:`rfm_addin.rfm_table` / :func:`rfm_addin.analyze` call
for a non-DataFrame source:

- a Parquet file, a glob (``transactions/*.parquet``, ``exports/*.csv``) or a folder of
  Parquet or CSV files, read by an embedded DuckDB (ids read as text), and a single CSV
  file of :data:`CSV_ENGINE_BYTES` or more. A single Parquet or large CSV file whose
  columns are not typed (text dates or amounts) or that DuckDB cannot read, a smaller CSV
  file (the reader knows dialects, encodings and title rows and numbers bad rows), CSV
  read with ``decimal``/``thousands``/``dayfirst`` options and XLSX files go to the
  DataFrame path instead;
- an Ibis table expression (any Ibis backend: DuckDB, PostgreSQL, Spark...);
- a Spark DataFrame (through Ibis' PySpark backend);
- a connection URL (``duckdb:///path.duckdb``, ``postgresql://user@host/db``) or the name
  of a connection kept outside the workbook (:mod:`.connections`), with ``table=`` or
  ``query=``.

The cleaning, aggregation and quality counts are one Ibis expression
(:func:`.ibis_rfm.customer_expression`); only one row per customer comes back.
Optional dependencies: ``pip install "rfm-addin[sql]"`` (Ibis, DuckDB, PostgreSQL
driver) and ``"rfm-addin[spark]"``.
"""
from __future__ import annotations

import os
import threading
import time
from typing import Any, Callable

import pandas as pd

from ..core.columns import resolve_columns
from ..core.errors import RfmError
from .connections import (DUCKDB_MEMORY_ENV, DUCKDB_THREADS_ENV, MissingExtra, connect_url, duckdb_memory,
                          duckdb_memory_retries, expand_path, first_line, is_out_of_memory, is_url, named_url,
                          open_table, read_files, require_ibis)
from .ibis_rfm import backend_name

__all__ = ["MissingExtra", "engine_rfm", "is_engine_source"]

#: Single files up to this size are re-read by the DataFrame path to explain bad values by row.
_EXPLAIN_LIMIT = 200_000_000

#: A single CSV file this large or larger is read by DuckDB. Smaller ones (an Excel-sized
#: export is at most 60-100 MB) keep the DataFrame reader; larger ones would cost it 5-10x
#: their size in memory (10M order lines, 505 MB: 22 s and 4.7 GB, against 6 s and 1.3 GB).
CSV_ENGINE_BYTES = 100_000_000


def _is_ibis_table(obj: Any) -> bool:
    return type(obj).__module__.startswith("ibis.") and type(obj).__name__ == "Table"


def _is_spark_frame(obj: Any) -> bool:
    return type(obj).__module__.startswith("pyspark.sql") and type(obj).__name__ == "DataFrame"


def typed_csv_reading(decimal: str = ".", thousands: str | None = None, dayfirst: bool | None = None) -> bool:
    """Whether a CSV file may be read with DuckDB's types: no decimal comma, thousands
    separator or day-first dates asked for, which only the DataFrame reader applies."""
    return decimal == "." and thousands is None and dayfirst is None


def is_engine_source(transactions: Any, table: str | None = None, query: str | None = None,
                     csv_as_typed: bool = True) -> bool:
    """True when ``transactions`` goes to an engine rather than the DataFrame path.

    ``csv_as_typed`` False (the caller asked for a decimal comma, a thousands separator or
    day-first dates, which only the DataFrame reader applies) keeps single CSV files there.
    """
    if isinstance(transactions, pd.DataFrame):
        if table is not None or query is not None:
            raise RfmError("table= and query= go with a connection URL or name, not with a DataFrame.")
        return False
    if table is not None or query is not None:
        return True
    if _is_ibis_table(transactions) or _is_spark_frame(transactions):
        return True
    if isinstance(transactions, (str, os.PathLike)):
        text = os.fspath(transactions)
        if is_url(text):
            return True
        # An existing file is that file, even when its name has glob characters ("sales[1].csv").
        if os.path.isfile(text):
            return _single_file_fits(text, csv_as_typed)
        if any(ch in text for ch in "*?[") or os.path.isdir(text):
            return not _small_csv_files(text)
        if isinstance(transactions, str) and named_url(text):
            return True
    return False


def _small_csv_files(path: str) -> bool:
    """True for a folder or glob of CSV files under :data:`CSV_ENGINE_BYTES` in all: the
    DataFrame reader reads them, with the same rules as one file (encodings, date order and
    its ambiguity, row numbers), as it reads a single CSV file of that size."""
    try:
        found = expand_path(path)
    except RfmError:
        return False
    if found is None or found[1] != "csv":
        return False
    return sum(os.path.getsize(f) for f in found[0]) < CSV_ENGINE_BYTES


def _single_file_fits(path: str, csv_as_typed: bool = True) -> bool:
    """A single Parquet file, or CSV file of :data:`CSV_ENGINE_BYTES` or more, goes to DuckDB
    when [sql] is installed (and comes back to the DataFrame path if its columns are not typed)."""
    found = expand_path(path)
    if found is None or found[1] not in ("parquet", "csv"):
        return False
    if found[1] == "csv" and (not csv_as_typed or os.path.getsize(path) < CSV_ENGINE_BYTES):
        return False   # the DataFrame reader: dialects, encodings, blank lines, row numbers
    try:
        require_ibis()
    except MissingExtra:
        return False
    return True


class _Source:
    """An opened engine source: the Ibis table, where it is, and what to close after."""

    def __init__(self, table: Any, where: str, close: Callable[[], None] | None = None,
                 single_file: str | None = None, backend: str = "engine"):
        self.table, self.where, self.close, self.single_file, self.backend = table, where, close, single_file, backend


def open_source(transactions: Any, table: str | None, query: str | None,
                text_columns: list[str] | None = None, zoned_as_local: bool = True) -> _Source:
    """Open any engine source as an Ibis table (``zoned_as_local``: see :func:`.connections.read_files`)."""
    if _is_ibis_table(transactions):
        if table is not None or query is not None:
            raise RfmError("table= and query= go with a connection URL or name, not with an Ibis table.")
        return _Source(transactions, "the Ibis table", backend=backend_name(transactions))
    if _is_spark_frame(transactions):
        ibis = require_ibis("spark", "pyspark")
        con = ibis.pyspark.connect(session=transactions.sparkSession)
        name = f"rfm_source_{id(transactions):x}"
        transactions.createOrReplaceTempView(name)
        return _Source(con.table(name), "the Spark DataFrame", backend="pyspark")
    text = os.fspath(transactions) if isinstance(transactions, (str, os.PathLike)) else None
    if text is None:
        raise RfmError("transactions must be a pandas DataFrame, a file path or glob, an Ibis table, or a "
                       f"connection URL or name with table= or query=, not {type(transactions).__name__}.")
    url = text if is_url(text) else None
    if url is None and (table is not None or query is not None):
        url = named_url(text)
        if url is None:
            from .connections import where_to_put

            raise RfmError(f"There is no connection named {text!r}. " + where_to_put(text))
    if url is not None:
        con, where = connect_url(url)
        try:
            t = open_table(con, where, table, query)
        except BaseException:
            con.disconnect()
            raise
        return _Source(t, where, con.disconnect, backend=con.name)
    if url is None and not os.path.exists(text) and not any(ch in text for ch in "*?[") and named_url(text):
        raise RfmError(f"Say what to read from the connection {text!r}: table=\"name\" or query=\"select ...\".")
    files, kind = expand_path(text)
    con, t, where = read_files(files, kind, text_columns, zoned_as_local)
    return _Source(t, where, con.disconnect, single_file=text if len(files) == 1 else None, backend="duckdb")


def _with_progress(work: Callable[[], Any], say: Callable[[str], None] | None, label: list[str]) -> Any:
    """Run ``work`` in a thread, telling ``say`` ``label[0]`` and the elapsed time every second
    (``work`` may change ``label[0]``)."""
    if say is None:
        return work()
    box: dict[str, Any] = {}

    def target() -> None:
        try:
            box["value"] = work()
        except BaseException as exc:  # handed to the caller below
            box["error"] = exc

    thread = threading.Thread(target=target, daemon=True)
    start = time.monotonic()
    thread.start()
    say(label[0])
    while thread.is_alive():
        thread.join(1.0)
        if thread.is_alive():
            say(f"{label[0]} ({time.monotonic() - start:.0f} s)")
    if "error" in box:
        raise box["error"]
    return box["value"]


def _set_duckdb_memory(table: Any, limit: str) -> None:
    """Raise the memory limit of the DuckDB connection behind ``table`` (one of ours)."""
    table.get_backend().con.execute("SET memory_limit = ?", [limit])


def _engine_failure(exc: BaseException, where: str, our_duckdb: bool, limit: str) -> str:
    """The one-line message for an aggregation that failed in the engine."""
    message = f"The aggregation failed in {where}: {first_line(exc)}"
    if our_duckdb and is_out_of_memory(exc):
        message = (f"{message.rstrip('.')}. DuckDB needed more than {limit} of memory; set the environment "
                   f"variable {DUCKDB_MEMORY_ENV} to a larger value (such as 8GB), or {DUCKDB_THREADS_ENV}=1 "
                   "to need less.")
    return message


def _fetch_with_fallbacks(t: Any, cols: Any, as_of: Any, keep: list[str], source: Any
                          ) -> tuple[Callable[[], Any], list[str]]:
    """The engine's run, with its ladder of answers to failure, and the progress label it updates.

    1. Run the expression by value (:func:`.ibis_rfm.customer_expression`, :func:`.ibis_rfm.fetch_rows`).
    2. Out of memory on text customer ids: group them by their 64-bit hash instead, which needs no
       more memory (a hash collision, about 2**-64 a pair, goes back to grouping by value).
    3. Still out of memory, on a DuckDB connection of ours: retry with the larger limits of
       :func:`.connections.duckdb_memory_retries` (a user's own connection keeps its limit).
    4. Otherwise: an ``RfmError`` that says what failed and what to do.
    """
    from .ibis_rfm import HashCollision, can_hash_customers, customer_expression, fetch_rows

    label = [f"Aggregating transactions in {source.backend} ({source.where})"]
    ours = source.backend == "duckdb" and source.close is not None
    retries = duckdb_memory_retries() if ours else []
    state = {"expr": customer_expression(t, cols, as_of, keep), "may_hash": can_hash_customers(t, cols)}

    def run() -> Any:
        limit = duckdb_memory()
        while True:
            try:
                return fetch_rows(state["expr"])
            except HashCollision:
                state["expr"] = customer_expression(t, cols, as_of, keep)
                continue
            except Exception as exc:
                if state["may_hash"] and is_out_of_memory(exc):
                    state["may_hash"] = False
                    state["expr"] = customer_expression(t, cols, as_of, keep, hash_customers=True)
                    label[0] = (f"Aggregating transactions in duckdb ({source.where}), again with customer "
                                f"ids grouped by hash: DuckDB needed more than {limit} by value")
                    continue
                if retries and is_out_of_memory(exc):
                    limit = retries.pop(0)
                    _set_duckdb_memory(t, limit)
                    label[0] = (f"Aggregating transactions in duckdb ({source.where}), again with "
                                f"{limit} of memory: DuckDB needed more than its limit")
                    continue
                raise RfmError(_engine_failure(exc, source.where, ours, limit)) from exc

    return run, label


def _csv_text_columns(path: Any, id_columns: Callable[[list[str]], list[str]]) -> list[str] | None:
    """For CSV files, the id columns to read as text (leading zeros kept): ``id_columns`` of the
    files' column names; None for other sources."""
    if (expand_path(path) or ([], ""))[1] != "csv":
        return None
    probe = open_source(path, None, None)
    try:
        return id_columns(list(probe.table.columns))
    finally:
        probe.close()


def _open_for_engine(source: Any, table: str | None, query: str | None,
                     id_columns: Callable[[list[str]], list[str]], *, zoned_as_local: bool = True
                     ) -> tuple[_Source | None, bool, bool]:
    """Open a source for an engine run, as (opened, single, explain): ``single`` for one file,
    ``explain`` for one small enough for the DataFrame reader to explain its bad rows; opened is
    None when such a file cannot be opened by DuckDB and should go to that reader instead.
    CSV files get their ``id_columns`` read as text."""
    path = isinstance(source, (str, os.PathLike)) and table is None and query is None
    single = path and os.path.isfile(os.fspath(source))
    explain = single and os.path.getsize(os.fspath(source)) <= _EXPLAIN_LIMIT
    try:
        text_columns = _csv_text_columns(source, id_columns) if path and not is_url(os.fspath(source)) else None
        return open_source(source, table, query, text_columns, zoned_as_local), single, explain
    except RfmError:
        if explain:
            return None, single, explain
        raise


def engine_rfm(transactions: Any, customer: str | None = None, date: str | None = None,
               amount: str | None = None, order: str | None = None, as_of: object = None,
               keep: Any = None, *, table: str | None = None, query: str | None = None,
               progress: Callable[[str], None] | None = None):
    """:func:`rfm_addin.sources.route.compute_rfm` for an engine source; returns the same ``RfmResult``.

    Returns None when a single typed-file check fails and the DataFrame path should read
    the file instead (text dates or amounts, title rows...), or when DuckDB cannot read a
    single file the DataFrame reader can (up to ``_EXPLAIN_LIMIT``: a CSV file not in UTF-8,
    a value DuckDB's type guess did not foresee).
    """
    from ..core.rfm import parse_as_of
    from ..core.columns import resolve_keep
    from .ibis_rfm import check_types, result_from_rows

    stated_as_of = parse_as_of(as_of)

    def ids(names: list[str]) -> list[str]:
        cols = resolve_columns(names, customer, date, amount, order)
        return [c for c in (cols.customer, cols.order) if c is not None]

    source, single, explain = _open_for_engine(transactions, table, query, ids)
    if source is None:
        return None
    try:
        t = source.table
        try:
            columns = list(t.columns)
            cols = resolve_columns(columns, customer, date, amount, order)
            check_types(t.schema(), cols, source.where)
        except RfmError:
            if single:
                return None
            raise
        keep_cols = resolve_keep(keep, columns, cols.used)
        run, label = _fetch_with_fallbacks(t, cols, stated_as_of, list(keep_cols), source)
        try:
            rows = _with_progress(run, progress, label)
        except RfmError as exc:
            if explain and not is_out_of_memory(exc.__cause__):   # a memory limit is the user's: said, not bypassed
                return None
            raise
    finally:
        if source.close is not None:
            source.close()
    try:
        return result_from_rows(rows, cols, stated_as_of, keep_cols)
    except RfmError:
        if explain:
            return None   # the DataFrame path reads the file again and names the bad rows
        raise


def engine_usage(events: Any, *, user: str | None = None, timestamp: str | None = None, event: str | None = None,
                 as_of: pd.Timestamp | None = None, top_features_limit: int = 10, table: str | None = None,
                 query: str | None = None, progress: Callable[[str], None] | None = None):
    """The :class:`~rfm_addin.core.usage.EventActivity` of an engine's event log, aggregated in the
    engine (:func:`.ibis_usage.engine_activity`).

    Returns None when a single file's columns are not typed (text timestamps) and the
    DataFrame path should read it instead, as :func:`engine_rfm` does.
    """
    from ..core.usage import EVENT_SYNONYMS, resolve_roles
    from .ibis_usage import check_event_types, engine_activity

    given = {"user": user, "timestamp": timestamp, "event": event}

    def found(names: list[str]) -> dict:
        return resolve_roles(names, EVENT_SYNONYMS, given, ("user", "timestamp", "event"),
                        "events", "user=, timestamp=, event=")

    source, single, explain = _open_for_engine(events, table, query, lambda names: [found(names)["user"]],
                                               zoned_as_local=False)
    if source is None:
        return None
    try:
        t = source.table
        roles = found(list(t.columns))
        try:
            check_event_types(t.schema(), roles["user"], roles["timestamp"], source.where)
        except RfmError:
            if single:
                return None
            raise
        label = [f"Aggregating events in {source.backend} ({source.where})"]

        def say(step: str) -> None:
            label[0] = f"{step} in {source.backend} ({source.where})"

        def work() -> Any:
            try:
                return engine_activity(t, user=roles["user"], timestamp=roles["timestamp"], event=roles["event"],
                                       as_of=as_of, top_features_limit=top_features_limit, say=say)
            except RfmError:
                raise
            except Exception as exc:
                raise RfmError(_engine_failure(exc, source.where, source.backend == "duckdb"
                                               and source.close is not None, duckdb_memory())) from exc

        return _with_progress(work, progress, label)
    finally:
        if source.close is not None:
            source.close()


def engine_frame(source: Any, *, table: str | None = None, query: str | None = None, what: str = "The table") -> pd.DataFrame:
    """A small engine table (payments: about one row per user and month) brought to pandas
    whole, so that its rules stay in one place, the DataFrame path's."""
    opened = open_source(source, table, query, zoned_as_local=False)
    try:
        return opened.table.to_pyarrow().to_pandas()
    except Exception as exc:
        raise RfmError(f"{what} could not be read from {opened.where}: {first_line(exc)}") from exc
    finally:
        if opened.close is not None:
            opened.close()

