"""The RFM aggregation as one Ibis expression, run inside the engine (DuckDB, PostgreSQL, Spark).

:func:`customer_expression` is the only place where the engine path's cleaning and
aggregation are written. It follows the rules of the DataFrame path (module docstring of
:mod:`rfm_addin.rfm`) step by step, and returns one row per customer (plus one row for
the transactions without a customer) carrying, next to recency/frequency/monetary, the
partial quality counts of that customer. :func:`result_from_rows` then adds those few
columns up into the same :class:`~rfm_addin.quality.QualityReport` and builds the same
customer table, so only one row per customer ever leaves the engine.

How each rule maps to the expression (stage A groups identical rows, stage C customers):

- ids: text ids are trimmed, empty text is missing, "12346.0" is "12346" (as
  :func:`rfm_addin.parsing.read_ids`); numeric ids stay numbers in the engine and become
  text in Python on the per-customer rows.
- blank rows: every used column missing; counted, skipped.
- rows without a customer: counted with their amount, then ignored.
- a customer row without date or amount: counted; any such row is an error (as in the
  DataFrame path), naming the column.
- duplicates: stage A groups rows by every column that the DataFrame path compares
  (cleaned customer and order, date, amount, quantity and every unused column) when an
  order column exists: one row of each group is kept, ``n - 1`` are counted as dropped;
  without an order column the group is the whole raw row and all ``n`` rows are kept,
  ``n - 1`` counted as possible duplicates.
- cancellations: order id starting with C/c or negative quantity/amount; they count in
  monetary as ``-abs(amount)`` but are neither purchases nor orders.
- as_of: a stated as_of leaves later rows out (counted); the default (day after the last
  transaction of a customer row) needs no filter and is taken in Python from the
  per-customer last purchase and last cancellation, so the engine reads the data once.
- frequency: distinct order ids among a customer's purchases (a filtered COUNT DISTINCT),
  plus purchase rows without an order id, one each; without an order column, rows.
- recency: calendar days from the last purchase date (dates cast to ``date``) to as_of.
- customers with cancellations only: present in the engine's output, left out (counted).

Speed (DuckDB, 10M rows): the per-customer measures that touch every row (rows kept,
monetary, first/last purchase, distinct orders) carry no "has a customer" filter; the
quality counts are filtered sums over the few rows they concern (duplicates: groups with
``n > 1``), and totals that follow from others (lines, rows read, rows without a
customer) are derived in :func:`result_from_rows`. Each filtered aggregate costs DuckDB a
pass over its input, so there are as few as the rules allow.
"""
from __future__ import annotations

import datetime as dt
from typing import Any

import numpy as np
import pandas as pd

from ..columns import ColumnMap
from ..errors import DataError, RfmError
from ..parsing import EXCEL_ERRORS, id_texts
from ..quality import QualityReport



def _type_name(dtype: Any) -> str:
    return str(dtype).lower()


def check_types(schema: Any, cols: ColumnMap, where: str) -> None:
    """Engines take typed columns: a wrong type is an error naming the column and its type."""
    def bad(role: str, name: str, expected: str, hint: str) -> RfmError:
        return RfmError(f"Column {name!r} ({role}) has type {_type_name(schema[name])} in {where}; "
                        f"the database engine needs {expected}. {hint}")

    cast_hint = ("Convert it in the source (query=\"select ..., cast(...) as ...\") or read the data as a "
                 "DataFrame, whose reader understands text values.")
    for role, name in (("customer", cols.customer), ("order", cols.order)):
        if name is None:
            continue
        dtype = schema[name]
        if not (dtype.is_string() or dtype.is_integer() or dtype.is_floating() or dtype.is_null()):
            raise bad(role, name, "text or whole numbers", cast_hint)
    dtype = schema[cols.date]
    if not (dtype.is_date() or dtype.is_timestamp() or dtype.is_null()):
        raise bad("date", cols.date, "a date or timestamp column", cast_hint)
    for role, name in (("amount", cols.amount), ("quantity", cols.quantity),
                       ("price", cols.price if cols.amount is None else None)):
        if name is None:
            continue
        dtype = schema[name]
        if dtype.is_boolean() or not (dtype.is_numeric() or dtype.is_null()):
            raise bad(role, name, "a numeric column", cast_hint)


def _missing(x):
    """NULL, and NaN for floating columns (pandas' missing value)."""
    if x.type().is_floating():
        return x.isnull() | x.isnan().fill_null(False)
    return x.isnull()


def _clean_id(x):
    """An id as the DataFrame path reads it: trimmed text, '' missing, '12.0' -> '12'."""
    import ibis

    dtype = x.type()
    if dtype.is_string():
        s = x.strip()
        s = ibis.cases((s.re_search(r"^[0-9]+\.0$"), s.substr(0, s.length() - 2)), else_=s)
        return s.nullif("")
    if dtype.is_floating():
        return ibis.ifelse(x.isnan(), ibis.null(dtype), x)
    return x


def customer_expression(t: Any, cols: ColumnMap, as_of: pd.Timestamp | None,
                        keep: list[str] | None = None) -> Any:
    """The one Ibis expression: transactions -> one row per customer with quality counts.

    Parameters
    ----------
    t : ibis Table
        The transactions (typed columns: see :func:`check_types`).
    cols : ColumnMap
        Roles resolved on ``t``'s columns.
    as_of : Timestamp or None
        Stated as-of date; None for the default (computed from the result).
    keep : list of str
        Customer-level columns carried over (smallest non-empty value per customer).

    Returns
    -------
    ibis Table
        Columns ``_c`` (customer; NULL for rows without one), the measures of ``_SUMS``,
        ``first``/``last``/``maxday`` (dates), ``frequency`` and ``_k0``... for ``keep``.
    """
    import ibis

    keep = list(keep or [])
    names = list(t.columns)
    with_order = cols.order is not None
    amount_col = cols.amount
    price_col = cols.price if amount_col is None else None

    def derived(tab, col):
        """Cleaned role columns of ``tab``; ``col`` maps a source column name to its name in tab."""
        out = {"_c": _clean_id(tab[col(cols.customer)]), "_d": tab[col(cols.date)]}
        if amount_col is not None:
            out["_a"] = tab[col(amount_col)].cast("float64")
        else:
            out["_a"] = tab[col(cols.quantity)].cast("float64") * tab[col(cols.price)].cast("float64")
        if cols.quantity is not None:
            out["_q"] = tab[col(cols.quantity)].cast("float64")
        if with_order:
            out["_o"] = _clean_id(tab[col(cols.order)])
        blank = out["_c"].isnull() & out["_d"].isnull() & _missing(out["_a"])
        if cols.quantity is not None:
            blank &= _missing(out["_q"])
        if price_col is not None:
            blank &= _missing(tab[col(price_col)])
        if with_order:
            blank &= out["_o"].isnull()
        out["_blank"] = blank
        return out

    raw = {name: f"_x{i}" for i, name in enumerate(names)}
    if with_order:
        # Stage A: exact duplicates = rows equal in every column the DataFrame path compares.
        others = [n for n in names if n not in cols.used]
        role_cols = derived(t, lambda n: n)
        keys = dict(role_cols)
        keys.update({raw[n]: t[n] for n in others})
        role_names = {cols.date: "_d", cols.amount: "_a", cols.order: "_o", cols.quantity: "_q"}
        extra = [k for k in keep if k not in others and k not in role_names]   # e.g. a price column
        keys.update({raw[k]: t[k] for k in extra})
        a = t.group_by(**keys).aggregate(n=t.count())
        keep_cols = {f"_k{j}": a[role_names.get(k, raw[k]) if k not in others else raw[k]]
                     for j, k in enumerate(keep)}
    else:
        # Stage A: identical raw rows (possible duplicates, all kept).
        a = t.group_by(**{raw[n]: t[n] for n in names}).aggregate(n=t.count())
        a = a.mutate(**derived(a, lambda n: raw[n]))
        keep_cols = {f"_k{j}": a[raw[k]] for j, k in enumerate(keep)}

    n = a.n
    has_c = a._c.notnull()
    day = a._d.cast("date")
    cancel = (a._a < 0).fill_null(False)
    if cols.quantity is not None:
        cancel |= (a._q < 0).fill_null(False)
    if with_order and a._o.type().is_string():
        cancel |= a._o.substr(0, 1).isin(["C", "c"]).fill_null(False)
    signed = ibis.ifelse(cancel, -a._a.abs(), a._a)
    no_c = ~has_c & ~a._blank

    # Rows kept per stage-A group: one (duplicates dropped) with an order column, else all n.
    def rows_kept(where=None):
        return n.count(where=where) if with_order else n.sum(where=where)

    def money_kept(where=None):
        return signed.sum(where=where) if with_order else (n * signed).sum(where=where)

    def both(x, y):
        return y if x is None else x & y

    # Measures over (nearly) every row: not filtered by "has a customer" (the row of the
    # transactions without a customer is read only for the counts below it), so DuckDB
    # updates them without a filter pass. ``live`` is "on or before the stated as_of".
    if as_of is not None:
        after = (day > ibis.literal(as_of.date(), type="date")).fill_null(False)
        live = ~after
    else:
        after = live = None
    measures = {
        "used": rows_kept(live),
        "monetary": money_kept(live),
        "first": day.min(where=both(live, ~cancel)),
        "last": day.max(where=both(live, ~cancel)),
    }
    if with_order:
        # Distinct orders with a purchase (a filtered COUNT DISTINCT), plus purchase rows
        # without an order id (counted below).
        measures["_orders"] = a._o.nunique(where=both(live, ~cancel) & a._o.notnull())
    else:
        measures["purchases"] = rows_kept(both(live, ~cancel))
    # Quality counts: filters that select few rows. Lines per customer, rows read, rows
    # without a customer and the default as_of are derived in result_from_rows.
    measures.update({
        "nc_rows": n.sum(where=~has_c),
        "blank": n.sum(where=a._blank),
        "nocust_amt": (n * a._a).sum(where=no_c & ~_missing(a._a)),
        "miss_date": n.sum(where=has_c & a._d.isnull()),
        "miss_amt": n.sum(where=has_c & _missing(a._a)),
        "cancel": rows_kept(has_c & both(live, cancel)),
        "cancel_amt": money_kept(has_c & both(live, cancel)),
    })
    repeated = has_c & (n > 1)
    if with_order:
        measures["dup"] = (n - 1).sum(where=repeated)
        measures["dup_amt"] = ((n - 1) * a._a).sum(where=repeated)
        measures["noorder"] = rows_kept(has_c & both(live, ~cancel) & a._o.isnull())
    else:
        measures["possdup"] = (n - 1).sum(where=repeated)
    if as_of is not None:
        measures["after"] = rows_kept(has_c & after)
        measures["after_amt"] = money_kept(has_c & after)
    else:
        # The last transaction of a customer row is its last purchase or a later cancellation.
        measures["cancel_last"] = day.max(where=has_c & cancel)
    measures.update({k: v.min(where=live) for k, v in keep_cols.items()})

    c = a.group_by("_c").aggregate(**measures)
    if with_order:
        c = c.mutate(frequency=(c._orders + c.noorder).cast("int64"))
    else:
        c = c.mutate(frequency=c.purchases)
    return c


def _num(frame: pd.DataFrame, column: str) -> float:
    if column not in frame:
        return 0.0
    values = frame[column]
    if not (pd.api.types.is_float_dtype(values.dtype) or pd.api.types.is_integer_dtype(values.dtype)):
        values = pd.to_numeric(values, errors="coerce")   # Decimal objects (PostgreSQL numeric)
    return float(np.nansum(values.to_numpy(dtype=np.float64, na_value=np.nan)))


_NAT_DAY = np.iinfo(np.int64).min      # a missing date in day numbers (NaT's integer value)


def _floats(column: Any) -> np.ndarray:
    """An Arrow column as float64 (NaN for NULL); decimals with a fraction go through Decimal
    objects, as pandas reads them (correctly rounded)."""
    import pyarrow as pa

    if pa.types.is_decimal(column.type) and column.type.scale > 0:
        return pd.to_numeric(pd.Series(column.to_pylist(), dtype=object), errors="coerce").to_numpy(
            dtype=np.float64, na_value=np.nan)
    if not pa.types.is_floating(column.type) or column.type != pa.float64():
        column = column.cast(pa.float64())
    return np.asarray(column.to_numpy(zero_copy_only=False), dtype=np.float64)


def _ints(column: Any) -> np.ndarray:
    """An Arrow column of counts as int64, NULL as 0."""
    import pyarrow as pa
    import pyarrow.compute as pc

    if pa.types.is_integer(column.type) or (pa.types.is_decimal(column.type) and column.type.scale == 0):
        return pc.fill_null(column.cast(pa.int64()), 0).to_numpy(zero_copy_only=False).astype(np.int64, copy=False)
    return np.nan_to_num(_floats(column), nan=0.0).astype(np.int64)


def _day_numbers(column: Any) -> np.ndarray:
    """An Arrow column of dates as days since 1970 (int64; NULL as NaT's integer value)."""
    import pyarrow as pa
    import pyarrow.compute as pc

    if pa.types.is_date32(column.type):   # int32 (half the memory); NULL as the smallest int32
        return pc.fill_null(column.cast(pa.int32()), np.iinfo(np.int32).min).to_numpy(zero_copy_only=False)
    return _days(pd.Series(column.to_pandas()))


class EngineRows:
    """What :func:`fetch_rows` keeps of the engine's rows.

    Per customer row only the columns the table needs (ids, ``monetary``, ``first``/``last``
    as day numbers, ``frequency``, ``active`` = ``used > 0``, keep columns), as NumPy arrays;
    the quality counts and ``used`` of the customer rows already added up and the latest
    ``cancel_last`` (``sums``); the row without a customer as a DataFrame.
    """

    def __init__(self, ids: Any, arrays: dict[str, np.ndarray], keep: dict[str, Any],
                 sums: dict[str, float], rest: pd.DataFrame):
        self.ids, self.arrays, self.keep, self.sums, self.rest = ids, arrays, keep, sums, rest

    def __len__(self) -> int:
        return len(self.arrays["frequency"])


def fetch_rows(expr: Any, chunk_size: int = 262_144) -> EngineRows:
    """Run :func:`customer_expression` and keep only what :func:`result_from_rows` needs.

    The rows arrive as Arrow record batches. Each batch's quality columns are reduced to
    their non-missing values (most are NULL for most customers) and added up at the end;
    the per-customer columns become NumPy arrays once, so the millions of customer rows
    never sit in Python as a wide table, a pandas copy of it and a filtered copy. Ibis'
    ``to_pandas`` is not used: it turns every column holding a NULL into Python objects.
    Splitting off the row without a customer keeps integer ids integers (no float round trip).
    """
    import ibis
    import pyarrow as pa
    import pyarrow.compute as pc
    from ibis.formats.pandas import PandasData

    schema = expr.schema()
    reader = expr.to_pyarrow_batches(chunk_size=chunk_size)
    ids = ["_c"] + [name for name in schema.names if name.startswith("_k")]
    rest_parts: list[Any] = []
    id_parts: dict[str, list[Any]] = {name: [] for name in ids}
    kept: dict[str, list[np.ndarray]] = {}
    used_total, latest = 0, _NAT_DAY
    quality: dict[str, list[np.ndarray]] = {}
    try:
        for batch in reader:
            has_c = pc.is_valid(batch.column("_c"))
            if batch.column("_c").null_count:
                rest_parts.append(batch.filter(pc.invert(has_c)))
                batch = batch.filter(has_c)
            for name in batch.schema.names:
                column = batch.column(name)
                if name in id_parts:
                    id_parts[name].append(column)
                elif name in ("first", "last"):
                    kept.setdefault(name, []).append(_day_numbers(column))
                elif name == "cancel_last":      # only its maximum is needed
                    if len(column):
                        latest = max(latest, int(_day_numbers(column).max()))
                elif name == "used":             # its total, and whether it is positive
                    values = _ints(column)
                    used_total += int(values.sum())
                    kept.setdefault("active", []).append(values > 0)
                elif name == "frequency":
                    kept.setdefault(name, []).append(_ints(column))
                elif name == "monetary":
                    kept.setdefault(name, []).append(_floats(column))
                else:
                    values = _floats(column.drop_null() if column.null_count else column)
                    quality.setdefault(name, []).append(values[~np.isnan(values)])
            del batch
    finally:
        close = getattr(reader, "close", None)
        if close is not None:
            close()
    arrays = {name: (np.concatenate(parts) if parts else np.empty(0)) for name, parts in kept.items()}
    arrays["frequency"] = arrays.get("frequency", np.empty(0)).astype(np.int64, copy=False)
    arrays["active"] = arrays.get("active", np.empty(0)).astype(bool, copy=False)
    sums = {name: float(np.sum(np.concatenate(parts))) if parts else 0.0 for name, parts in quality.items()}
    sums["used"] = float(used_total)
    sums["cancel_last"] = float(latest)

    def id_column(name: str) -> pd.Series:
        chunks = id_parts[name]
        column = pa.chunked_array(chunks, type=chunks[0].type if chunks else schema[name].to_pyarrow()).combine_chunks()
        id_parts[name] = []
        values = pd.Series(column.to_pylist(), dtype=object) if column.null_count else column.to_pandas()
        frame = PandasData.convert_table(pd.DataFrame({name: values}), ibis.schema({name: schema[name]}))
        return frame[name]

    id_values = id_column("_c")
    keep = {name: id_column(name) for name in ids[1:]}

    if rest_parts:
        part = pa.Table.from_batches(rest_parts)
        out = part.drop_columns(ids).to_pandas(date_as_object=False)
        objects = pd.DataFrame({name: part[name].to_pylist() for name in ids}, index=out.index)
        objects = PandasData.convert_table(objects, ibis.schema({name: schema[name] for name in ids}))
        rest = pd.concat([objects, out], axis=1)
    else:
        rest = pd.DataFrame()
    return EngineRows(id_values, arrays, keep, sums, rest)


def _days(values: pd.Series) -> np.ndarray:
    """Dates from the engine (date objects, datetimes or NaT) as days since 1970."""
    stamps = pd.to_datetime(values)
    if getattr(stamps.dt, "tz", None) is not None:
        stamps = stamps.dt.tz_localize(None)
    return stamps.to_numpy(dtype="datetime64[ns]").astype("datetime64[D]").astype(np.int64)


def result_from_rows(rows: EngineRows, cols: ColumnMap, stated_as_of: pd.Timestamp | None,
                     keep: list[str] | None = None):
    """The customer table and quality report from the engine's rows (:func:`fetch_rows`).

    Mirrors :func:`rfm_addin.rfm.compute_rfm` line by line (same keys, same order, same
    messages), on numbers the engine already added up.
    """
    from ..rfm import finish

    keep = list(keep or [])
    report = QualityReport()
    rest = rows.rest
    arrays = rows.arrays
    n_customers = len(rows)
    monetary_all = arrays["monetary"]
    used_total = rows.sums.get("used", 0.0)
    monetary_total = float(np.nansum(monetary_all))

    def total(key: str) -> float:
        return rows.sums.get(key, 0.0) + _num(rest, key)

    # used/monetary/first/last/frequency of the row without a customer (``rest``) are not
    # filtered out in the engine: only the customer rows count for them.
    # Lines with a customer: groups kept (on or before as_of, or after it) plus duplicates dropped.
    lines = int(used_total + total("after") + total("dup"))
    no_customer = int(total("nc_rows"))
    n_read = no_customer + lines
    report.add("rows_read", "Rows read", n_read, "rows", "", always=True)
    if n_read == 0:
        raise RfmError("The data has a header but no rows of transactions.")
    blank = int(total("blank"))
    report.add("blank_rows", "Blank rows skipped", blank, "rows", "skipped")
    report.add("no_customer", "Rows without a customer id", no_customer - blank, "rows", "dropped",
               amount=total("nocust_amt"))
    amount_name = cols.amount or f"{cols.quantity} x {cols.price}"
    for key, column, what in (("miss_date", cols.date, "the date"), ("miss_amt", amount_name, "the amount")):
        count = int(total(key))
        if count:
            plural = count > 1
            raise DataError(f"Column {column!r}: {what} is empty in {count} row{'s' if plural else ''} that "
                            f"{'have' if plural else 'has'} a customer. Fill them in or remove those rows.",
                            column=column)
    if cols.amount is None:
        report.add("amount_from_lines", f"Amount computed as {cols.quantity} x {cols.price}", lines, "rows",
                   "computed")
    if cols.order is not None:
        report.add("duplicate_rows", "Exact duplicate rows (same order, every column equal)",
                   int(total("dup")), "rows", "dropped", amount=total("dup_amt"))
    else:
        report.add("possible_duplicates", "Identical rows (no order column, so possible duplicates)",
                   int(total("possdup")), "rows", "kept as separate purchases")

    if stated_as_of is None:
        if lines == 0 or n_customers == 0:
            raise RfmError("No transactions with a customer were found.")
        as_of_day = int(max(arrays["last"].max(), rows.sums["cancel_last"])) + 1
        as_of_stamp = pd.Timestamp(np.datetime64(as_of_day, "D"))
    else:
        as_of_stamp = stated_as_of
        as_of_day = int(np.datetime64(as_of_stamp.date(), "D").astype(np.int64))
    report.add("after_as_of", f"Transactions after the as-of date {as_of_stamp:%Y-%m-%d}",
               int(total("after")), "rows", "left out", amount=total("after_amt"))
    report.add("cancellations", "Cancellation and return lines", int(total("cancel")), "rows",
               "subtracted from monetary; not counted as orders", amount=total("cancel_amt"))
    if cols.order is not None:
        report.add("rows_without_order", "Purchase rows without an order id", int(total("noorder")), "rows",
                   "counted as one order each")

    frequency = arrays["frequency"]
    monetary = np.nan_to_num(monetary_all, nan=0.0)
    buyers = frequency > 0
    cancel_only = arrays["active"] & ~buyers
    report.add("cancel_only_customers", "Customers with only cancellations or returns", int(cancel_only.sum()),
               "customers", "left out", amount=float(monetary[cancel_only].sum()))
    del cancel_only
    if not buyers.any():
        raise RfmError("No purchases were found on or before the as-of date, so there is no customer to analyse.")

    everyone = bool(buyers.all())
    raw_ids = rows.ids.to_numpy()
    texts, _ = id_texts(pd.Index(raw_ids if everyone else raw_ids[buyers]))
    del raw_ids
    bad = texts.isin(list(EXCEL_ERRORS)).fillna(False).to_numpy(dtype=bool)
    if bad.any():
        errors = list(texts[bad])
        raise DataError(f"Column {cols.customer!r}: ids holding an Excel error instead of an id "
                        f"({', '.join(map(repr, errors[:5]))}). Fix the formulas or lookups that produced them, "
                        "or remove those rows.", column=cols.customer)
    ids = texts.to_numpy(dtype=object)
    del texts
    index = pd.Index(ids, dtype=object)
    if not index.is_unique:
        raise DataError(f"Column {cols.customer!r}: ids that differ only in spelling as numbers or text "
                        "(such as 12 and 12.5) could not be told apart; give the column one type.",
                        column=cols.customer)
    # Sorted by id text before the columns are built, so the table is not copied to sort it.
    sort = np.argsort(ids.astype(str), kind="stable")
    index = pd.Index(ids[sort], dtype=object)
    del ids
    order = sort if everyone else np.flatnonzero(buyers)[sort]   # positions among all customer rows
    del sort
    first = arrays["first"][order]
    last = arrays["last"][order]
    freq = frequency[order]
    money = monetary[order]
    table = pd.DataFrame(
        {
            "recency": as_of_day - last.astype(np.int64),
            "frequency": freq.astype(np.int64),
            "monetary": money,
            "first_purchase": first.astype("datetime64[D]").astype("datetime64[ns]"),
            "last_purchase": last.astype("datetime64[D]").astype("datetime64[ns]"),
            "avg_order_value": money / freq,
        },
        index=index,
    )
    del first, last, freq, money
    for j, name in enumerate(keep):
        table[name] = rows.keep[f"_k{j}"].to_numpy()[order]
    return finish(table, report, as_of_stamp, cols, int(used_total), monetary_total)


def as_date(value: Any) -> dt.date | None:
    return None if value is None else pd.Timestamp(value).date()
