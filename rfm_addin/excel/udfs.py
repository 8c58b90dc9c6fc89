"""RFM worksheet functions (xlwings UDFs): put ``rfm_addin.excel.udfs`` in "UDF Modules".

Every function takes whole columns (or tables) and returns one spilled 2-D array: one call
per column, never one call per cell (each UDF call costs a round trip to Python).

Conventions shared by all functions
-----------------------------------
- Inputs arrive as xlwings delivers them: nested lists of floats, text, datetimes and
  ``None``; error cells are read as text (``err_to_str``) so ``#N/A`` is reported by
  row, never mistaken for an empty cell.
- A header row is detected: when the first row holds column titles (text where numbers
  or dates are expected), it is skipped. Per-row results (``RFM_SCORE``,
  ``RFM_SEGMENT``, ``RFM_CLUSTER``) then start with a header row too, so the spilled
  result lines up with the input rows whether or not the ranges include their titles.
  Table results (``RFM_TABLE``, ``RFM_KSELECT``, ``RFM_PROFILE``) always have a header.
- Rows that are empty in every argument are skipped anywhere in the range (per-row
  results show an empty row there); trailing empty rows of whole-column references
  (``A:A``) are ignored.
- Row numbers in messages count from the first cell of the range passed (row 1).
- An error is one cell of text starting with ``#RFM!`` that names the argument and the
  first bad row; never a Python traceback. A result taller than Excel's grid
  (1,048,576 rows) is an error saying so.

Arguments are deliberately left without type annotations: xlwings reads annotations of a
UDF as converters.
"""
from __future__ import annotations

import functools
import gc
import inspect
from typing import Any, Callable

import numpy as np
import pandas as pd
import xlwings as xw

from ..core.columns import SYNONYMS, normalise_header
from .. import choose_k, cluster, clv_table, compare_groups, migration, profile, rfm_table, score, segment
from ..writers.layout import COLUMNS
from ..core.validation import MAX_SEED
from . import used_rows
from .cell_values import cells, date_system
from .convert import (
    ArgumentError,
    align,
    as_rows,
    blank_cells,
    check_numbers,
    check_grid,
    column_of,
    error_text,
    excel_date,
    frame_to_grid,
    has_header,
    is_blank,
    labels_of,
    parse_numbers,
    real_number,
    spread,
    text_option,
    trim_rows,
    weights_of,
    whole_number,
)

CATEGORY = "RFM"

#: Column arguments: 2-D lists, error cells as text, only the used rows of a reference (:mod:`.used_rows`).
_COLUMN = {"ndim": 2, "err_to_str": True, "convert": used_rows.CONVERT}
_METRIC_DOCS = {
    "recency": "Days since the last purchase, one row per customer (lower is better).",
    "frequency": "Number of purchases or orders per customer.",
    "monetary": "Total spend per customer.",
}


def _label(column: str) -> str:
    return COLUMNS[column][0]


def _guarded(func: Callable[..., Any]) -> Callable[..., Any]:
    """Turn any exception into one cell of ``#RFM! ...`` text (the signature is kept)."""

    @functools.wraps(func)
    def wrapper(*args: Any) -> Any:
        # Whole-column inputs are millions of small lists; the cyclic garbage collector
        # would rescan them on every allocation burst (5x slower on a million rows).
        # Nothing here makes reference cycles, so collection waits until the call ends.
        collecting = gc.isenabled()
        gc.disable()
        try:
            return func(*map(cells, args))
        except Exception as exc:  # a worksheet cell must never show a traceback
            return [[error_text(exc)]]
        finally:
            if collecting:
                gc.enable()

    return wrapper


class _Metrics:
    """Recency, frequency and monetary arguments read into a customer table."""

    def __init__(self, recency: Any, frequency: Any, monetary: Any, labels: dict[str, Any] | None = None,
                 whole: bool = False, names: tuple[str, str, str] = ("recency", "frequency", "monetary")):
        self.names = names
        raw = {names[0]: column_of(names[0], recency), names[1]: column_of(names[1], frequency),
               names[2]: column_of(names[2], monetary)}
        raw.update({k: column_of(k, v) for k, v in (labels or {}).items()})
        columns = align(raw)
        n = len(columns[names[0]])
        if n == 0:
            raise ArgumentError(f"{names[0]}: the range is empty.")
        label_names = list(labels or {})
        self.header = has_header(labels=[columns[k][0] for k in label_names],
                                 numbers=[columns[k][0] for k in names])
        start = 1 if self.header else 0
        self.header_cells = {k: v[0] for k, v in columns.items()} if self.header else {}
        self.first_row = start + 1
        body = {k: v[start:] for k, v in columns.items()}
        parsed = {k: parse_numbers(body[k]) for k in names}
        blank = parsed[names[0]][1] & parsed[names[1]][1] & parsed[names[2]][1]
        for k in label_names:
            blank &= blank_cells(body[k])
        self.keep = ~blank
        if not self.keep.any():
            raise ArgumentError(f"{names[0]}: there are no rows of data"
                                f"{' under the header' if self.header else ''}.")
        self.values = {k: check_numbers(k, parsed[k], self.first_row, self.keep, whole) for k in names}
        self.labels = {k: labels_of(k, body[k], self.first_row, self.keep) for k in label_names}
        self.index = pd.RangeIndex(len(self.keep))[self.keep]

    def table(self, columns: tuple[str, str, str] = ("recency", "frequency", "monetary")) -> pd.DataFrame:
        """The kept rows as a DataFrame with the given column names."""
        return pd.DataFrame({c: self.values[n][self.keep] for c, n in zip(columns, self.names)}, index=self.index)

    def per_row(self, header: list[str], rows: list[list]) -> list[list]:
        """Results of the kept rows at their input positions, under a header if the input had one."""
        out = spread(rows, self.keep, len(header))
        return ([header] if self.header else []) + out


def _transaction_frame(customers, dates, amounts, orders, caller) -> tuple[pd.DataFrame, int, int, bool]:
    """The transaction columns as a DataFrame (header row detected), the number of header rows,
    the calling workbook's date system and whether there is an order column."""
    columns = align({"customers": column_of("customers", customers), "dates": column_of("dates", dates),
                     "amounts": column_of("amounts", amounts),
                     "orders": None if orders is None else column_of("orders", orders)})
    if not columns["customers"]:
        raise ArgumentError("customers: the range is empty.")
    header = has_header(labels=[columns["customers"][0]] + ([columns["orders"][0]] if "orders" in columns else []),
                        numbers=[columns["amounts"][0]], dates=[columns["dates"][0]])
    start = 1 if header else 0
    data = {}
    for name, values in columns.items():
        body = values[start:]
        if name == "amounts" and set(map(type, body)) <= {float, int, type(None)}:
            data[name] = np.array(body, dtype=np.float64)
        else:
            data[name] = pd.Series(body, dtype=object)
    system = 1900 if caller is None else date_system(caller.sheet.book)
    return pd.DataFrame(data), start, system, "orders" in columns


def _migration(customers, dates, amounts, before, after, mode, orders, caller):
    frame, start, system, with_orders = _transaction_frame(customers, dates, amounts, orders, caller)
    chosen = text_option("mode", mode, ("relative", "absolute"), "relative")
    start_date = excel_date("before", before, date_system=system)
    end_date = excel_date("after", after, date_system=system)
    if start_date is None or end_date is None:
        raise ArgumentError("before and after: give both dates.")
    return migration(frame, start_date, end_date, mode=chosen, customer="customers", date="dates", amount="amounts",
                     order="orders" if with_orders else None, first_row=start + 1, date_system=system)


@xw.func(category=CATEGORY, call_in_wizard=False)
@xw.arg("customers", **_COLUMN, doc="Customer id of each transaction (one column, header optional).")
@xw.arg("dates", **_COLUMN, doc="Date of each transaction: date cells, ISO text or serial numbers.")
@xw.arg("amounts", **_COLUMN, doc="Amount of each transaction; returns and cancellations negative.")
@xw.arg("orders", **_COLUMN, doc="Optional order/invoice id: frequency then counts distinct orders.")
@xw.arg("as_of", doc="Optional date recency is measured to; default the day after the last transaction.")
@xw.ret(index=False, header=False)
@_guarded
def RFM_TABLE(customers, dates, amounts, orders=None, as_of=None, caller=None):
    """One row per customer: Customer, Recency (days), Frequency, Monetary, from transaction columns.

    Parameters
    ----------
    customers, dates, amounts : range
        One column each, same height; a header row is detected and skipped.
    orders : range, optional
        Order ids; frequency counts distinct orders (else transaction rows).
    as_of : date, optional
        Recency is the number of days from the last purchase to this date.
    caller : xlwings.Range, optional
        Set by xlwings (not an Excel argument): serial numbers in ``dates`` follow the
        calling workbook's date system (1900 or 1904).

    Returns
    -------
    list of list
        Header row ``Customer, Recency, Frequency, Monetary`` and one row per customer,
        sorted by customer id.
    """
    frame, start, system, with_orders = _transaction_frame(customers, dates, amounts, orders, caller)
    table = rfm_table(frame, customer="customers", date="dates", amount="amounts",
                      order="orders" if with_orders else None,
                      as_of=excel_date("as_of", as_of, date_system=system), first_row=start + 1,
                      date_system=system)
    check_grid(len(table) + 1, what="The customer table")
    result = pd.DataFrame({"customer": table.index.astype(str), "recency": table["recency"],
                           "frequency": table["frequency"], "monetary": table["monetary"]})
    return frame_to_grid(result, ["Customer", "Recency", "Frequency", "Monetary"])


@xw.func(category=CATEGORY, call_in_wizard=False)
@xw.arg("recency", **_COLUMN, doc=_METRIC_DOCS["recency"])
@xw.arg("frequency", **_COLUMN, doc=_METRIC_DOCS["frequency"])
@xw.arg("monetary", **_COLUMN, doc=_METRIC_DOCS["monetary"])
@xw.arg("bins", doc="Optional number of score levels, 2 to 9 (default 5).")
@xw.arg("weights", ndim=2, doc="Optional weights of R, F and M: three cells or text such as 2,1,1.")
@xw.arg("output", doc='Optional: "all" (default), "code" (e.g. 545) or "score" (weighted score).')
@xw.ret(index=False, header=False)
@_guarded
def RFM_SCORE(recency, frequency, monetary, bins=None, weights=None, output=None):
    """R, F and M scores (higher is better), the RFM code and the weighted score of each row.

    Parameters
    ----------
    recency, frequency, monetary : range
        One column each, one row per customer; a header row is detected.
    bins : int, optional
        Score levels, 2..9 (default 5). Customers with equal values share a score.
    weights : range or text, optional
        Weights of R, F and M in the weighted score (default 1,1,1).
    output : {"all", "code", "score"}, optional
        "code" returns only the code column (e.g. "545"), "score" only the weighted score.

    Returns
    -------
    list of list
        Per input row: R score, F score, M score, RFM code, RFM score.
    """
    n_bins = whole_number("bins", bins, 5, 2, 9)
    w = (1.0, 1.0, 1.0) if weights is None or all(is_blank(c) for r in as_rows(weights) for c in r) \
        else weights_of("weights", weights)
    what = text_option("output", output, ("all", "code", "score"), "all")
    metrics = _Metrics(recency, frequency, monetary)
    scored = score(metrics.table(), bins=n_bins, weights=w)
    names = {"all": ["r_score", "f_score", "m_score", "rfm_code", "rfm_score"],
             "code": ["rfm_code"], "score": ["rfm_score"]}[what]
    header = [_label(c) for c in names]
    rows = frame_to_grid(scored[names], None)
    return metrics.per_row(header, rows)


def _rules_frame(rules: Any) -> pd.DataFrame | None:
    """A rule table from a range laid out like ``DEFAULT_SEGMENTS`` (header row optional)."""
    from ..core.segments import RULE_COLUMNS

    rows = [r for r in trim_rows(as_rows(rules)) if not all(is_blank(c) for c in r)]
    if not rows:
        return None
    first = [str(c).strip().lower() if isinstance(c, str) else "" for c in rows[0]]
    if "segment" in first:
        names, body = [c or f"column{i}" for i, c in enumerate(first)], rows[1:]
    else:
        names, body = RULE_COLUMNS[:len(rows[0])], rows
        if len(rows[0]) > len(RULE_COLUMNS):
            raise ArgumentError(f"rules: expected the columns {', '.join(RULE_COLUMNS)}; "
                                f"the range has {len(rows[0])} columns and no header row.")
    return pd.DataFrame([list(r) + [None] * (len(names) - len(r)) for r in body], columns=names)


@xw.func(category=CATEGORY, call_in_wizard=False)
@xw.arg("r_scores", **_COLUMN, doc="R score of each customer (whole numbers 1..bins).")
@xw.arg("f_scores", **_COLUMN, doc="F score of each customer.")
@xw.arg("m_scores", **_COLUMN, doc="M score of each customer.")
@xw.arg("rules", **_COLUMN, doc="Optional rule table: segment, r_min, r_max, fm_min, fm_max[, description, action].")
@xw.arg("bins", doc="Optional number of score levels the scores use, 2 to 9 (default 5).")
@xw.ret(index=False, header=False)
@_guarded
def RFM_SEGMENT(r_scores, f_scores, m_scores, rules=None, bins=None):
    """Segment name (Champions, Loyal Customers, At Risk...) of each row of R, F and M scores.

    Parameters
    ----------
    r_scores, f_scores, m_scores : range
        Whole-number scores, one column each (e.g. from RFM_SCORE).
    rules : range, optional
        A rule table in the layout of ``rfm_addin.DEFAULT_SEGMENTS`` (header row
        ``segment, r_min, r_max, fm_min, fm_max, description, action``); it must give
        every R and FM score exactly one segment.
    bins : int, optional
        The number of score levels the scores were made with (default 5).

    Returns
    -------
    list of list
        One segment name per input row.
    """
    n_bins = whole_number("bins", bins, 5, 2, 9)
    rule_table = None if rules is None else _rules_frame(rules)
    metrics = _Metrics(r_scores, f_scores, m_scores, whole=True, names=("r_scores", "f_scores", "m_scores"))
    for name in metrics.names:
        values = metrics.values[name]
        outside = np.flatnonzero(metrics.keep & ((values < 1) | (values > n_bins)))
        if len(outside):
            row = int(outside[0]) + metrics.first_row
            raise ArgumentError(f"{name}, row {row}: {values[outside[0]]:g} is not a score from 1 to {n_bins}.")
    table = metrics.table(("r_score", "f_score", "m_score")).astype(np.int64)
    named = segment(table, rules=rule_table, bins=n_bins)
    return metrics.per_row([_label("segment")], [[s] for s in named["segment"].tolist()])


def _k_option(name: str, value: Any) -> int | None:
    cells = [c for r in as_rows(value) for c in r if not is_blank(c)] if value is not None else []
    if not cells or (len(cells) == 1 and isinstance(cells[0], str) and cells[0].strip().lower() == "auto"):
        return None
    return whole_number(name, value, None, 2)


def _k_range(n_customers: int, k_max: int) -> range:
    """k = 2..k_max, but below the number of customers (a silhouette needs k < n)."""
    if n_customers < 3:
        raise ArgumentError(f"recency: clustering needs at least 3 customers; there are {n_customers}.")
    return range(2, min(k_max, n_customers - 1) + 1)


@xw.func(category=CATEGORY, call_in_wizard=False)
@xw.arg("recency", **_COLUMN, doc=_METRIC_DOCS["recency"])
@xw.arg("frequency", **_COLUMN, doc=_METRIC_DOCS["frequency"])
@xw.arg("monetary", **_COLUMN, doc=_METRIC_DOCS["monetary"])
@xw.arg("k", doc='Optional number of clusters (2 or more); empty or "auto" chooses it by the elbow method.')
@xw.arg("seed", doc="Optional seed of the silhouette sample that helps choose k (default 0).")
@xw.ret(index=False, header=False)
@_guarded
def RFM_CLUSTER(recency, frequency, monetary, k=None, seed=None):
    """K-Means cluster number of each customer (1 = highest mean spend); the same customers give the same clusters.

    Parameters
    ----------
    recency, frequency, monetary : range
        One column each, one row per customer; a header row is detected.
    k : int or "auto", optional
        Number of clusters; by default chosen by the elbow of the inertia curve.
    seed : int, optional
        Seed of the silhouette sample that helps choose k (default 0).

    Returns
    -------
    list of list
        One cluster number per input row.
    """
    n_clusters = _k_option("k", k)
    random_state = whole_number("seed", seed, 0, 0, MAX_SEED)
    metrics = _Metrics(recency, frequency, monetary)
    table = metrics.table()
    result = cluster(table, k=n_clusters, random_state=random_state, k_range=_k_range(len(table), 10),
                     stability=False)
    return metrics.per_row([_label("cluster")], [[int(c)] for c in result.labels.tolist()])


@xw.func(category=CATEGORY, call_in_wizard=False)
@xw.arg("recency", **_COLUMN, doc=_METRIC_DOCS["recency"])
@xw.arg("frequency", **_COLUMN, doc=_METRIC_DOCS["frequency"])
@xw.arg("monetary", **_COLUMN, doc=_METRIC_DOCS["monetary"])
@xw.arg("k_max", doc="Optional largest k to try, 2 or more (default 10).")
@xw.ret(index=False, header=False)
@_guarded
def RFM_KSELECT(recency, frequency, monetary, k_max=None):
    """Inertia and silhouette for k = 2..k_max clusters, and the k the elbow method chooses.

    Parameters
    ----------
    recency, frequency, monetary : range
        One column each, one row per customer; a header row is detected.
    k_max : int, optional
        Largest number of clusters tried (default 10).

    Returns
    -------
    list of list
        Header ``k, Inertia, Silhouette, Chosen`` and one row per k tried.
    """
    top = whole_number("k_max", k_max, 10, 2, 100)
    metrics = _Metrics(recency, frequency, monetary)
    table = metrics.table()
    selection = choose_k(table, k_range=_k_range(len(table), top))
    names = ["k", "inertia", "silhouette", "chosen"]
    return frame_to_grid(selection[names], [_label(c) for c in names])


@xw.func(category=CATEGORY, call_in_wizard=False)
@xw.arg("groups", **_COLUMN, doc="Group of each customer: a segment name or cluster number.")
@xw.arg("recency", **_COLUMN, doc=_METRIC_DOCS["recency"])
@xw.arg("frequency", **_COLUMN, doc=_METRIC_DOCS["frequency"])
@xw.arg("monetary", **_COLUMN, doc=_METRIC_DOCS["monetary"])
@xw.ret(index=False, header=False)
@_guarded
def RFM_PROFILE(groups, recency, frequency, monetary):
    """Profile of each group: customers, shares, mean and median R, F, M, revenue, order value.

    Parameters
    ----------
    groups : range
        Segment or cluster of each customer (e.g. from RFM_SEGMENT or RFM_CLUSTER).
    recency, frequency, monetary : range
        One column each, same height as ``groups``; a header row is detected.

    Returns
    -------
    list of list
        A header row and one row per group, groups in sorted order.
    """
    metrics = _Metrics(recency, frequency, monetary, labels={"groups": groups})
    heading = metrics.header_cells.get("groups")
    name = str(heading).strip() if heading is not None else "Group"
    labels = [g for g, k in zip(metrics.labels["groups"], metrics.keep) if k]
    table = metrics.table()
    frame = profile(table, pd.Series(labels, index=table.index, name=name))
    frame = frame.reset_index(names=name)
    return frame_to_grid(frame, [name] + [_label(c) for c in frame.columns[1:]])


_MIGRATION_ARGS = {
    "before": "The earlier as-of date (inclusive).",
    "after": "The later as-of date (inclusive).",
    "mode": 'Optional: "relative" (default; each date on its own cut points) or "absolute" (the earlier date\'s).',
}


@xw.func(category=CATEGORY, call_in_wizard=False)
@xw.arg("customers", **_COLUMN, doc="Customer id of each transaction (one column, header optional).")
@xw.arg("dates", **_COLUMN, doc="Date of each transaction: date cells, ISO text or serial numbers.")
@xw.arg("amounts", **_COLUMN, doc="Amount of each transaction; returns and cancellations negative.")
@xw.arg("before", doc=_MIGRATION_ARGS["before"])
@xw.arg("after", doc=_MIGRATION_ARGS["after"])
@xw.arg("mode", doc=_MIGRATION_ARGS["mode"])
@xw.arg("orders", **_COLUMN, doc="Optional order/invoice id: frequency then counts distinct orders.")
@xw.ret(index=False, header=False)
@_guarded
def RFM_MIGRATION(customers, dates, amounts, before, after, mode=None, orders=None, caller=None):
    """Customers from each segment at the earlier date (rows, then "new") to each at the later (columns, then "gone").

    Parameters
    ----------
    customers, dates, amounts : range
        Transaction columns, as for RFM_TABLE.
    before, after : date
        The two as-of dates; after must be later.
    mode : str, optional
        "relative" (default) or "absolute".
    orders : range, optional
        Order ids.

    Returns
    -------
    list of list
        A header row (``Segment before`` and the later segments, then ``gone``) and one row per
        earlier segment, then ``new``: the counts of :func:`rfm_addin.migration`'s matrix.
    """
    matrix = _migration(customers, dates, amounts, before, after, mode, orders, caller).matrix
    header = ["Segment before", *[str(c) for c in matrix.columns]]
    return [header] + [[str(name), *map(int, row)] for name, row in zip(matrix.index, matrix.to_numpy())]


@xw.func(category=CATEGORY, call_in_wizard=False)
@xw.arg("customers", **_COLUMN, doc="Customer id of each transaction (one column, header optional).")
@xw.arg("dates", **_COLUMN, doc="Date of each transaction: date cells, ISO text or serial numbers.")
@xw.arg("amounts", **_COLUMN, doc="Amount of each transaction; returns and cancellations negative.")
@xw.arg("before", doc=_MIGRATION_ARGS["before"])
@xw.arg("after", doc=_MIGRATION_ARGS["after"])
@xw.arg("mode", doc=_MIGRATION_ARGS["mode"])
@xw.arg("orders", **_COLUMN, doc="Optional order/invoice id: frequency then counts distinct orders.")
@xw.ret(index=False, header=False)
@_guarded
def RFM_MOVED(customers, dates, amounts, before, after, mode=None, orders=None, caller=None):
    """One row per customer: Customer, Segment before, Segment after, Status (stay, up, down, new, gone).

    Parameters
    ----------
    customers, dates, amounts, before, after, mode, orders
        As for RFM_MIGRATION.

    Returns
    -------
    list of list
        Header ``Customer, Segment before, Segment after, Status`` and one row per customer,
        sorted by customer id as in RFM_TABLE; a segment is empty where the customer is new
        or gone.
    """
    moved = _migration(customers, dates, amounts, before, after, mode, orders, caller).customers
    check_grid(len(moved) + 1, what="The customer list")
    rows = [[str(i), None if pd.isna(b) else b, None if pd.isna(a) else a, status]
            for i, b, a, status in zip(moved.index, moved["segment_before"], moved["segment_after"], moved["status"])]
    return [["Customer", "Segment before", "Segment after", "Status"]] + rows


def _values(customers, dates, amounts, orders, caller, **options) -> pd.DataFrame:
    """Expected purchases, churn risk, expected spend and CLV per customer (:func:`rfm_addin.clv_table`)."""
    frame, start, system, with_orders = _transaction_frame(customers, dates, amounts, orders, caller)
    table = clv_table(frame, customer="customers", date="dates", amount="amounts",
                      order="orders" if with_orders else None, first_row=start + 1, date_system=system, **options)
    check_grid(len(table) + 1, what="The customer table")
    return table


@xw.func(category=CATEGORY, call_in_wizard=False)
@xw.arg("customers", **_COLUMN, doc="Customer id of each transaction (one column, header optional).")
@xw.arg("dates", **_COLUMN, doc="Date of each transaction: date cells, ISO text or serial numbers.")
@xw.arg("amounts", **_COLUMN, doc="Amount of each transaction; returns and cancellations negative.")
@xw.arg("horizon_days", doc="Optional future period valued, in days (default 365).")
@xw.arg("discount", doc="Optional yearly discount rate, e.g. 0.1 or 10% (default 0.1).")
@xw.arg("orders", **_COLUMN, doc="Optional order/invoice id: frequency then counts distinct orders.")
@xw.ret(index=False, header=False)
@_guarded
def RFM_CLV(customers, dates, amounts, horizon_days=None, discount=None, orders=None, caller=None):
    """Expected purchases, expected spend and customer lifetime value over a horizon, per customer.

    Parameters
    ----------
    customers, dates, amounts : range
        One column each, same height; a header row is detected and skipped.
    horizon_days : number, optional
        The future period valued, in days (default 365).
    discount : number, optional
        Yearly discount rate (default 0.1); each month is discounted at its end.
    orders : range, optional
        Order ids; a purchase day counts once whatever its orders.
    caller : xlwings.Range, optional
        Set by xlwings: serial dates follow the calling workbook's date system.

    Returns
    -------
    list of list
        Header ``Customer, Expected purchases, Expected spend, CLV`` and one row per customer,
        sorted by customer id as in RFM_TABLE. Pareto/NBD purchases x Gamma-Gamma spend
        (:func:`rfm_addin.clv_table`), fitted on these transactions at each recalculation.
    """
    table = _values(customers, dates, amounts, orders, caller,
                    horizon_days=real_number("horizon_days", horizon_days, 365.0, above=0),
                    annual_discount=real_number("discount", discount, 0.1, above=-1))
    result = pd.DataFrame({"customer": table.index.astype(str), "expected_purchases": table["expected_purchases"],
                           "expected_spend": table["expected_spend"], "clv": table["clv"]})
    return frame_to_grid(result, ["Customer", _label("expected_purchases"), _label("expected_spend"), _label("clv")])


@xw.func(category=CATEGORY, call_in_wizard=False)
@xw.arg("customers", **_COLUMN, doc="Customer id of each transaction (one column, header optional).")
@xw.arg("dates", **_COLUMN, doc="Date of each transaction: date cells, ISO text or serial numbers.")
@xw.arg("amounts", **_COLUMN, doc="Amount of each transaction; returns and cancellations negative.")
@xw.arg("horizon_days", doc="Optional days without a purchase that count as churn (default: the lapse threshold).")
@xw.arg("orders", **_COLUMN, doc="Optional order/invoice id: frequency then counts distinct orders.")
@xw.ret(index=False, header=False)
@_guarded
def RFM_CHURN(customers, dates, amounts, horizon_days=None, orders=None, caller=None):
    """Churn risk per customer: the probability of no purchase in the next horizon_days (Pareto/NBD).

    Parameters
    ----------
    customers, dates, amounts : range
        One column each, same height; a header row is detected and skipped.
    horizon_days : number, optional
        Days ahead (default: the data's lapse threshold, 3 typical gaps between purchases).
    orders : range, optional
        Order ids; a purchase day counts once whatever its orders.
    caller : xlwings.Range, optional
        Set by xlwings: serial dates follow the calling workbook's date system.

    Returns
    -------
    list of list
        Header ``Customer, Churn risk`` and one row per customer, sorted by customer id as in
        RFM_TABLE (:func:`rfm_addin.clv_table`).
    """
    table = _values(customers, dates, amounts, orders, caller,
                    churn_days=real_number("horizon_days", horizon_days, None, above=0))
    result = pd.DataFrame({"customer": table.index.astype(str), "churn_risk": table["churn_risk"]})
    return frame_to_grid(result, ["Customer", _label("churn_risk")])


def _rate(name: str, value, default: float | None = None) -> float:
    number = real_number(name, value, default)
    if number is None:
        raise ArgumentError(f"{name}: give a rate between 0 and 1 (0.1 or 10%).")
    return number


def _lift_of(value) -> tuple[float, bool]:
    from ..core.experiments import parse_lift

    cells = [c for row in as_rows(value) for c in row if not is_blank(c)]
    if len(cells) != 1:
        raise ArgumentError("lift: give one value: 0.02 or 2pp (points), or 20% (relative to the baseline).")
    return parse_lift(cells[0])


@xw.func(category=CATEGORY)
@xw.arg("baseline", doc="The holdout's expected conversion rate, e.g. 0.1 or 10%.")
@xw.arg("lift", doc='The lift to detect: 0.02 or "2pp" (points), or "20%" (relative to the baseline).')
@xw.arg("alpha", doc="Optional two-sided significance level (default 0.05).")
@xw.arg("power", doc="Optional power (default 0.8).")
@xw.arg("ratio", doc="Optional holdout customers per treated customer (default 1; 0.111 for a 10% holdout).")
@xw.ret(index=False, header=False)
@_guarded
def RFM_SAMPLE_SIZE(baseline, lift, alpha=None, power=None, ratio=None):
    """Customers needed in the treatment arm to detect a lift over a baseline conversion rate.

    Parameters
    ----------
    baseline, lift : number or text
        See the argument help; a lift that takes the rate past 1 is an error.
    alpha, power, ratio : number, optional
        As for :func:`rfm_addin.sample_size` (arcsine effect size, two-sided).

    Returns
    -------
    int
        The treatment arm, rounded up; the holdout needs CEILING(ratio x n).
    """
    from ..core.experiments import sample_size

    amount, relative = _lift_of(lift)
    return sample_size(_rate("baseline", baseline), amount, alpha=_rate("alpha", alpha, 0.05),
                       power=_rate("power", power, 0.8), ratio=real_number("ratio", ratio, 1.0, above=0),
                       relative=relative)


@xw.func(category=CATEGORY)
@xw.arg("baseline", doc="The holdout's expected conversion rate, e.g. 0.1 or 10%.")
@xw.arg("n", doc="Customers in the treatment arm.")
@xw.arg("n_holdout", doc="Optional customers in the holdout (default: as many as n).")
@xw.arg("alpha", doc="Optional two-sided significance level (default 0.05).")
@xw.arg("power", doc="Optional power (default 0.8).")
@xw.ret(index=False, header=False)
@_guarded
def RFM_DETECTABLE_LIFT(baseline, n, n_holdout=None, alpha=None, power=None):
    """The smallest lift (in proportion points) a test of n treated customers can detect over a baseline.

    Parameters
    ----------
    baseline : number
        The holdout's expected conversion rate.
    n, n_holdout : number
        Customers in each arm (the holdout as many as n by default).
    alpha, power : number, optional
        As for :func:`rfm_addin.detectable_lift`.

    Returns
    -------
    float
        The absolute lift (0.041 = 4.1 points); #N/A-like text when none up to a rate of 1 is.
    """
    from ..core.experiments import detectable_lift

    treated = whole_number("n", n, None, 1)
    if treated is None:
        raise ArgumentError("n: give the customers in the treatment arm.")
    lift = detectable_lift(_rate("baseline", baseline), treated, n_holdout=whole_number("n_holdout", n_holdout, None, 1),
                           alpha=_rate("alpha", alpha, 0.05), power=_rate("power", power, 0.8))
    return "no lift up to a rate of 1 is detectable" if np.isnan(lift) else lift


@xw.func(category=CATEGORY, call_in_wizard=False)
@xw.arg("customers", **_COLUMN, doc="Customer ids, one per row (header optional).")
@xw.arg("holdout", doc="Optional share held out (default 0.1 = 10%).")
@xw.arg("seed", doc="Optional salt of the assignment (default 0): the same ids and seed give the same arms.")
@xw.arg("strata", **_COLUMN, doc="Optional segment of each customer: each is split on its own.")
@xw.ret(index=False, header=False)
@_guarded
def RFM_ASSIGN(customers, holdout=None, seed=None, strata=None):
    """The arm of each customer, "holdout" or "treatment": the same customer and seed give the same arm in any order.

    Parameters
    ----------
    customers : range
        One id per row; a header row is detected.
    holdout : number, optional
        Share held out (default 10%).
    seed : int, optional
        Salt of the hash that ranks the customers.
    strata : range, optional
        A segment per customer (same height): each segment gets its holdout share.

    Returns
    -------
    list of list
        Per input row its arm (rfm_addin.assign), under a header "Arm" when the first cell is a
        customer-id header (Customer, Customer ID, Client, ID...).
    """
    from ..core.experiments import assign, parse_share

    columns = align({"customers": column_of("customers", customers),
                     "strata": None if strata is None else column_of("strata", strata)})
    ids = columns["customers"]
    if not ids:
        raise ArgumentError("customers: the range is empty.")
    # ids are text like their header: a first cell that is a customer-id header ("Customer ID", "Client"...)
    # or "Arm"/"Segment" beside it is the header
    first = normalise_header(ids[0]) if isinstance(ids[0], str) else ""
    start = 1 if len(ids) > 1 and (first in SYNONYMS["customer"] or first in ("id", "customers", "account")) else 0
    body = ids[start:]
    keep = ~blank_cells(body)
    names = [v for v, k in zip(labels_of("customers", body, start + 1, keep), keep) if k]
    frame = pd.DataFrame(index=pd.Index([str(v) for v in names], name="customer"))
    if "strata" in columns:
        groups = labels_of("strata", columns["strata"][start:], start + 1, keep)
        frame["segment"] = [v for v, k in zip(groups, keep) if k]
    share = parse_share(holdout) if not is_blank(holdout) else 0.1
    arms = assign(frame, holdout=share, random_state=whole_number("seed", seed, 0, 0, MAX_SEED),
                  strata="segment" if "strata" in columns else None).arm
    rows = spread([[a] for a in arms.to_list()], keep, 1)
    return ([["Arm"]] if start else []) + rows


@xw.func(category=CATEGORY)
@xw.arg("conv_t", doc="Customers who converted in the treatment arm.")
@xw.arg("n_t", doc="Customers in the treatment arm.")
@xw.arg("conv_h", doc="Customers who converted in the holdout.")
@xw.arg("n_h", doc="Customers in the holdout.")
@xw.ret(index=False, header=False)
@_guarded
def RFM_READOUT(conv_t, n_t, conv_h, n_h):
    """What a campaign test shows: rates, difference and relative lift with 95% intervals, p-value and label.

    Parameters
    ----------
    conv_t, n_t, conv_h, n_h : int
        Conversions and customers of each arm.

    Returns
    -------
    list of list
        Two columns (Measure, Value), one row per figure of rfm_addin.readout, the label rule last.
    """
    from ..core.experiments import readout

    counts = [whole_number(name, value, None, 0) for name, value in
              (("conv_t", conv_t), ("n_t", n_t), ("conv_h", conv_h), ("n_h", n_h))]
    if any(c is None for c in counts):
        raise ArgumentError("give the four counts: conversions and customers of the treatment and the holdout.")
    r = readout(*counts)
    rows = [["Measure", "Value"], ["Treatment rate", r["rate_treatment"]], ["Holdout rate", r["rate_holdout"]],
            ["Difference", r["difference"]], ["Difference, 95% low", r["difference_ci"][0]],
            ["Difference, 95% high", r["difference_ci"][1]], ["Relative lift", r["relative_lift"]],
            ["Relative lift, 95% low", r["relative_lift_ci"][0]], ["Relative lift, 95% high", r["relative_lift_ci"][1]],
            ["p-value", r["p_value"]], ["Label", r["label"]], ["Rule", r["rule"]]]
    return [[k, None if isinstance(v, float) and np.isnan(v) else v] for k, v in rows]


@xw.func(category=CATEGORY, call_in_wizard=False)
@xw.arg("groups", **_COLUMN, doc="The group of each customer (a cluster or segment column), header optional.")
@xw.arg("a", doc="The first group, e.g. 3.")
@xw.arg("b", doc="The group it is compared with, e.g. 1.")
@xw.arg("values", **_COLUMN, doc="The columns to compare, side by side, with their header row, same height.")
@xw.ret(index=False, header=False)
@_guarded
def RFM_COMPARE(groups, a, b, values):
    """Two groups compared on every column of a range (groups and values with header rows): differences and p-values.

    Parameters
    ----------
    groups : range
        One column: the group of each row.
    a, b : value
        The two groups.
    values : range
        One or more adjacent columns with a header row (the same rows as ``groups``).

    Returns
    -------
    list of list
        rfm_addin.compare_groups' table (Column, Category, A, B, Difference, Standardised
        difference, p-value, Adjusted p-value), largest difference first.
    """
    rows = trim_rows(as_rows(values))
    labels = [row[0] for row in as_rows(groups)][:len(rows)]
    if len(rows) < 3 or not all(isinstance(h, str) and h.strip() for h in rows[0]):
        raise ArgumentError("values: give the columns to compare with their header row and at least two rows.")
    if len(labels) != len(rows):
        raise ArgumentError(f"groups and values must have the same rows ({len(labels)} and {len(rows)}).")
    header_cell = labels[0]
    frame = pd.DataFrame([list(row) for row in rows[1:]], columns=[str(h).strip() for h in rows[0]])
    by = "__group"
    frame[by] = [str(int(v)) if isinstance(v, float) and v.is_integer() else v for v in labels[1:]]
    if isinstance(header_cell, str) and header_cell.strip() in frame.columns:
        frame = frame.drop(columns=header_cell.strip())
    key = {k: str(int(v)) if isinstance(v, float) and float(v).is_integer() else v for k, v in (("a", a), ("b", b))}
    result = compare_groups(frame, by, key["a"], key["b"])
    table = result.table
    out = [["Column", "Category", str(a), str(b), "Difference", "Standardised difference", "p-value",
            "Adjusted p-value"]]
    for row in table.itertuples():
        out.append([row.column, row.category, row.value_a, row.value_b, row.difference, row.smd,
                    None if np.isnan(row.p_value) else row.p_value,
                    None if np.isnan(row.p_adjusted) else row.p_adjusted])
    return out


__all__ = ["RFM_TABLE", "RFM_SCORE", "RFM_SEGMENT", "RFM_CLUSTER", "RFM_KSELECT", "RFM_PROFILE", "RFM_MIGRATION",
           "RFM_MOVED", "RFM_CLV", "RFM_CHURN", "RFM_SAMPLE_SIZE", "RFM_DETECTABLE_LIFT", "RFM_ASSIGN", "RFM_READOUT", "RFM_COMPARE"]

#: Excel's Insert Function dialog shows a function's description up to this many characters.
DESCRIPTION_LIMIT = 255


def excel_description(func: Callable[..., Any]) -> str:
    """What Excel's Insert Function dialog shows: the docstring's first paragraph on one line.

    xlwings' Import functions passes the first 255 characters of the docstring to Excel;
    the numpydoc sections below the first paragraph are for Python readers.
    """
    first = inspect.cleandoc(func.__doc__ or "").split("\n\n", 1)[0]
    return " ".join(first.split())[:DESCRIPTION_LIMIT]


# With xlwings' Windows decorators (desktop Excel), the description xlwings registers is
# the plain sentence; elsewhere ``xw.func`` records nothing and there is nothing to set.
for _name in __all__:
    _info = getattr(globals()[_name], "__xlfunc__", None)
    if _info is not None:
        _info["ret"]["doc"] = excel_description(globals()[_name])
