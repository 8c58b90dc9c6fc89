"""The RFM aggregation as one Ibis expression, run inside the engine (DuckDB, PostgreSQL, Spark).

:func:`customer_expression` is the only place where the engine path's cleaning and
aggregation are written. It follows the rules of the DataFrame path (module docstring of
:mod:`rfm_addin.core.rfm`) step by step, and returns one row per customer (plus one row for
the transactions without a customer) carrying, next to recency/frequency/monetary, the
partial quality counts of that customer. :func:`result_from_rows` then adds those few
columns up into the same :class:`~rfm_addin.core.quality.QualityReport` and builds the same
customer table, so only one row per customer ever leaves the engine.

How each rule maps to the expression. Stage A groups identical rows; stage B gives each
group one kind (:data:`KINDS`: purchase, cancellation, after as_of, no customer, blank...)
and adds up a customer's groups of one kind; stage C adds up the kinds of each customer:

- ids: text ids are trimmed of what ``str.strip()`` removes, empty text is missing,
  "12346.0" is "12346" (as :func:`rfm_addin.core.parsing.read_ids`; see :func:`_clean_id`);
  numeric ids stay numbers in the engine and become text in Python on the per-customer
  rows; in DuckDB, text order ids are then grouped by their hash (:func:`_hashed_columns`).
- blank rows: every used column missing; counted, skipped.
- rows without a customer: counted with their amount, then ignored.
- a customer row without date or amount: counted; any such row is an error (as in the
  DataFrame path), naming the column.
- duplicates: stage A groups rows by every column, as the DataFrame path compares them
  (customer and order ids cleaned, the other columns as stored; in DuckDB, text order ids
  and text columns outside RFM by their 64-bit hash, see :func:`_hashed_columns`) when an order column
  exists: one row of each group is kept, ``n - 1`` are counted as dropped; without an
  order column the group is the whole raw row and all ``n`` rows are kept,
  ``n - 1`` counted as possible duplicates.
- cancellations: order id starting with C/c or negative quantity/amount; they count in
  monetary as ``-abs(amount)`` but are neither purchases nor orders.
- as_of: a stated as_of leaves later rows out (counted); the default (day after the last
  transaction of a customer row) needs no filter and is taken in Python from the
  per-customer last purchase and last cancellation, so the engine reads the data once.
- frequency: distinct order ids among a customer's purchases (a COUNT DISTINCT over the
  groups of kind "purchase"), plus purchase rows without an order id, one each; without an
  order column, rows.
- recency: calendar days from the last purchase date (dates cast to ``date``) to as_of.
- customers with cancellations only: present in the engine's output, left out (counted).

Speed (DuckDB, 10M rows): the quality counts are group keys (the kind), not aggregates.
Counting them as filtered aggregates over every row, as an earlier version did, cost a
pass over the rows each (0.7 s of 3.1 s); as a key they cost one CASE per row, and stage B
carries seven aggregates whatever the number of counts. Stage C works on about one row
per customer and kind. The one COUNT DISTINCT (orders) is restricted to purchases in
stage B; replacing it by an explicit grouping on (customer, order) was slower (measured).
"""
from __future__ import annotations

import datetime as dt
import functools
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from ..core.columns import ColumnMap
from ..core.errors import DataError, RfmError
from ..core.parsing import EXCEL_ERRORS, id_texts
from ..core.quality import QualityReport



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


#: The characters Python's ``str.strip()`` (and so the DataFrame path's id cleaning) removes.
_WHITESPACE = "".join(c for c in map(chr, range(0x3001)) if c.isspace())

#: Backends whose regular expressions are RE2's (a character written as ``\x{3000}``).
_RE2_BACKENDS = {"duckdb", "bigquery", "clickhouse"}


def _whitespace_class(re2: bool) -> str:
    r"""``_WHITESPACE`` as a bracket expression of escapes, so the SQL stays ASCII: a server
    whose database is not UTF-8 (LATIN1, say) cannot take a query holding U+3000. RE2 writes
    a character as \x{3000}; PostgreSQL's and Java's (Spark's) expressions as \u3000."""
    def escape(c: str) -> str:
        return f"\\x{{{ord(c):x}}}" if re2 else f"\\u{ord(c):04x}"
    return "[" + "".join(escape(c) for c in _WHITESPACE) + "]"


def _clean_id(x, re2: bool = True):
    """An id as the DataFrame path reads it (:func:`rfm_addin.core.parsing.id_texts`): trimmed
    text, '' missing, '12.0' -> '12'.

    Both costly steps are guarded, so that they run only on the few ids that need them
    (10M text order ids: 1.22 s -> 0.60 s in DuckDB, against 0.35 s for no cleaning at all):
    the trim only where the first or last character is whitespace, and it removes the same
    characters as Python's ``str.strip()`` (no-break spaces included); the pattern only on
    ids ending in ".0".
    """
    import ibis

    dtype = x.type()
    if dtype.is_string():
        def unfloat(s):
            return ibis.cases((s.endswith(".0") & s.re_search(r"^[0-9]+\.0$"), s.substr(0, s.length() - 2)),
                              else_=s)

        space = _whitespace_class(re2)
        edge = x.re_search(f"^{space}|{space}$") | (x == "")
        # Written out twice rather than nested, so that the trimmed text is only computed
        # (and repeated by the SQL compiler) in the branch of the few ids that need it.
        trimmed = x.re_replace(f"^{space}+|{space}+$", "")
        return ibis.cases((edge, unfloat(trimmed)), else_=unfloat(x)).nullif("")
    if dtype.is_floating():
        return ibis.ifelse(x.isnan(), ibis.null(dtype), x)
    return x


def backend_name(t: Any) -> str:
    """The name of the Ibis backend behind ``t`` ("duckdb", "postgres"...), "engine" if unknown."""
    try:
        return t.get_backend().name
    except Exception:
        return "engine"


def _in_duckdb(t: Any) -> bool:
    """Whether ``t`` is a table of Ibis' DuckDB backend."""
    return backend_name(t) == "duckdb"


def _hashed_columns(t: Any, cols: ColumnMap, keep: list[str]) -> set[str]:
    """Columns that stage A compares by a 64-bit hash instead of by value: in DuckDB only, the
    text (and other variable-width) columns that play no part in RFM and are not kept.

    DuckDB 1.5 cannot always spill a grouping on many distinct text values
    (duckdb/duckdb#22578): on 100M order lines with a product-code column the expression ran
    out of 1 GB (and of 2 GB on some runs); grouped on the code's hash it took 46 s and
    1.5 GB. The price is that two lines equal in customer, order, date, amounts and every
    other column but differing in such a text column are taken for duplicates if the
    hashes collide: about 2**-64 per pair of such lines. PostgreSQL and Spark compare values.

    Text order ids (UCI's InvoiceNo) are hashed in DuckDB too, unless kept, by
    :func:`customer_expression` itself, which decides the cancellation prefix on the text
    first: grouping and counting 10M such ids by value cost 1.2 s more than by hash (5.2 s
    -> 4.0 s for the whole call). Two orders of one customer count as one, and two lines
    differing only in their order id as duplicates, if their hashes collide (2**-64 a pair).
    """
    if not _in_duckdb(t):
        return set()
    schema = t.schema()
    fixed = ("is_numeric", "is_temporal", "is_boolean", "is_null")
    return {name for name in schema.names
            if name not in cols.used and name not in keep
            and not any(getattr(schema[name], test)() for test in fixed)}


@functools.lru_cache(maxsize=None)
def _duckdb_hash_udf() -> Any:
    """Ibis' handle on DuckDB's builtin ``hash(x)`` (UBIGINT), made once, on first use."""
    import ibis
    import ibis.expr.datatypes as dt

    def hash_(value):  # noqa: ANN001, ANN202 - any type in, UBIGINT out (annotations set below)
        """DuckDB's builtin hash."""

    hash_.__annotations__ = {"return": dt.uint64}   # objects, not strings: this module defers annotations
    return ibis.udf.scalar.builtin(name="hash")(hash_)


class HashCollision(Exception):
    """Two customer ids of a run with ``hash_customers=True`` share a 64-bit hash: the run is
    repeated with the ids grouped by value."""


def _id_key(x: Any) -> Any:
    """A text id as a DuckDB grouping key: its 64-bit hash, NULL kept NULL."""
    import ibis

    return ibis.ifelse(x.isnull(), ibis.null("uint64"), _duckdb_hash(x))


def _customer_key(x: Any) -> Any:
    """The grouping key of a text customer id in a ``hash_customers`` run (a hook of its
    own, for the tests that make ids collide)."""
    return _id_key(x)


def can_hash_customers(t: Any, cols: ColumnMap) -> bool:
    """Whether ``hash_customers=True`` changes the expression: text customer ids, in DuckDB."""
    return _in_duckdb(t) and t[cols.customer].type().is_string()


def _duckdb_hash(column: Any) -> Any:
    """DuckDB's ``hash(x)``. Ibis' own ``.hash()`` adds two casts through BIT, which cost
    0.15 s on 10M rows against 0.07 s for the plain call."""
    return _duckdb_hash_udf()(column)


#: The kinds of stage-A groups (:func:`customer_expression`), in the order they are decided:
#: a group takes the first kind that applies.
KINDS = {
    "blank": 0,                  # no customer and every used column missing
    "no_customer_no_amount": 1,  # no customer, no amount (left out of the no-customer amount)
    "no_customer": 2,
    "missing_date": 3,           # a customer row without a date: an error
    "missing_amount": 4,         # a customer row without an amount: an error
    "after": 5,                  # after the stated as_of: left out
    "cancel": 6,
    "purchase_no_order": 7,      # a purchase row without an order id: one order each
    "purchase": 8,
}


@dataclass
class _Plan:
    """What every stage of :func:`customer_expression` needs to know about the table."""

    t: Any
    cols: ColumnMap
    keep: list[str]
    names: list[str]
    raw: dict[str, str]
    hashed: set[str]
    hash_order: bool
    hash_customer: bool
    re2: bool

    @property
    def with_order(self) -> bool:
        return self.cols.order is not None

    @property
    def price_col(self) -> str | None:
        return self.cols.price if self.cols.amount is None else None

    def clean_id(self, x: Any) -> Any:
        return _clean_id(x, self.re2)

    def key(self, name: str) -> Any:
        """A stage-A key: the column, or its 64-bit hash (see :func:`_hashed_columns`)."""
        return _duckdb_hash(self.t[name]) if name in self.hashed else self.t[name]


def _plan(t: Any, cols: ColumnMap, keep: list[str], hash_customers: bool) -> _Plan:
    names = list(t.columns)
    with_order = cols.order is not None
    return _Plan(t=t, cols=cols, keep=keep, names=names, raw={name: f"_x{i}" for i, name in enumerate(names)},
                 hashed=_hashed_columns(t, cols, keep),
                 hash_order=(with_order and cols.order not in keep and _in_duckdb(t)
                             and t[cols.order].type().is_string()),
                 hash_customer=hash_customers and can_hash_customers(t, cols),
                 re2=backend_name(t) in _RE2_BACKENDS)


def customer_expression(t: Any, cols: ColumnMap, as_of: pd.Timestamp | None,
                        keep: list[str] | None = None, hash_customers: bool = False) -> Any:
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
    hash_customers : bool
        The plan for when DuckDB runs out of memory on text customer ids (see
        :func:`rfm_addin.sources.engine_rfm`): group them by their 64-bit hash, and take
        their texts from a second reading of the customer column alone, a grouping of one
        row per customer. DuckDB 1.5 cannot always spill a grouping on many distinct texts
        (duckdb/duckdb#22578): 100M order lines with text customer ids ran out of 1 GB by
        value (115-118 s and a 4.4 GB peak after the retry with 2 GB), and took 91-112 s
        and a 2.2-2.5 GB peak within 1 GB by hash (128-137 s after the failed attempt by
        value); at 10M, where memory suffices, by value is faster (4.2 s against 4.9 s).
        The smallest and largest text of each hash differ only if two ids collided:
        :func:`fetch_rows` then raises :class:`HashCollision`.

    Returns
    -------
    ibis Table
        One row per customer: ``_c`` (NULL for the rows without one), ``used``,
        ``monetary``, ``first``/``last`` (dates), ``frequency``, ``_k0``... for ``keep``,
        and the partial quality counts read by :func:`result_from_rows`.
    """
    plan = _plan(t, cols, list(keep or []), hash_customers)
    lines = clean_stage(plan)
    classified = classify_stage(lines, plan, as_of)
    return aggregate_stage(classified, plan, as_of)


def clean_stage(plan: _Plan) -> Any:
    """Stage A (clean): group identical rows (ids compared as cleaned with an order column:
    exact duplicates, dropped; without one: possible duplicates, kept and counted), then the
    role columns ``_c``, ``_o``, ``_d``, ``_a``, ``_q`` from the grouped stored columns."""
    t, cols, raw, names = plan.t, plan.cols, plan.raw, plan.names
    if plan.with_order:
        # Exact duplicates = rows equal in every column, ids compared as cleaned (" 12" is "12"),
        # the other columns as stored: grouping on the stored columns, not on the amount computed
        # from them, is what "every column equal" means and is cheaper (10M order lines: 1.10 s
        # -> 0.96 s).
        ids = {"_c": plan.clean_id(t[cols.customer]), "_o": plan.clean_id(t[cols.order])}
        if plan.hash_customer:
            ids["_c"] = _customer_key(ids["_c"])
        if plan.hash_order:
            # Text order ids by their 64-bit hash (see _hashed_columns); whether the id marks a
            # cancellation is decided on its text here, a key that adds no groups.
            order_id = ids["_o"]
            ids["_o"] = _id_key(order_id)
            ids["_oc"] = order_id.startswith("C") | order_id.startswith("c")
        a = t.group_by(**ids, **{raw[n]: plan.key(n) for n in names if n not in (cols.customer, cols.order)}
                       ).aggregate(n=t.count())
    elif plan.hash_customer:
        # Identical raw rows (possible duplicates, all kept), the stored customer id by its hash,
        # and the cleaned id's hash as a key that adds no groups.
        stored = t[cols.customer]
        a = t.group_by(**{raw[n]: (_customer_key(stored) if n == cols.customer else plan.key(n)) for n in names},
                       _c=_customer_key(plan.clean_id(stored))).aggregate(n=t.count())
    else:
        # Identical raw rows (possible duplicates, all kept).
        a = t.group_by(**{raw[n]: plan.key(n) for n in names}).aggregate(n=t.count())
        a = a.mutate(_c=plan.clean_id(a[raw[cols.customer]]))
    roles = {"_d": a[raw[cols.date]]}
    if cols.amount is not None:
        roles["_a"] = a[raw[cols.amount]].cast("float64")
    else:
        roles["_a"] = a[raw[cols.quantity]].cast("float64") * a[raw[cols.price]].cast("float64")
    if cols.quantity is not None:
        roles["_q"] = a[raw[cols.quantity]].cast("float64")
    return a.mutate(**roles)


def _keep_columns(a: Any, plan: _Plan) -> dict[str, Any]:
    role_names = {plan.cols.customer: "_c", plan.cols.order: "_o"} if plan.with_order else {}
    return {f"_k{j}": a[role_names.get(k, plan.raw[k])] for j, k in enumerate(plan.keep)}


def classify_stage(a: Any, plan: _Plan, as_of: pd.Timestamp | None) -> Any:
    """Classify lines: each stage-A group gets exactly one kind (see :data:`KINDS`: purchase,
    cancellation, blank, without a customer, without a date or amount, after the as-of date)
    and its signed amount (cancellations always subtract). The purchases (nearly every group)
    are picked out by the first test, so the other kinds are only tried on the few groups left."""
    import ibis

    cols = plan.cols
    cancel = (a._a < 0).fill_null(False)
    if cols.quantity is not None:
        cancel |= (a._q < 0).fill_null(False)
    if plan.hash_order:
        cancel |= a._oc.fill_null(False)
    elif plan.with_order and a._o.type().is_string():
        # substr, not startswith: PostgreSQL before 11 has no STARTS_WITH.
        cancel |= a._o.substr(0, 1).isin(["C", "c"]).fill_null(False)
    has_c = a._c.notnull()
    day = a._d.cast("date")
    signed = ibis.ifelse(cancel & has_c, -a._a.abs(), a._a)
    no_amount = _missing(a._a)
    blank = ~has_c & a._d.isnull() & no_amount          # every used column missing
    if cols.quantity is not None:
        blank &= _missing(a._q)
    if plan.price_col is not None:
        blank &= _missing(a[plan.raw[plan.price_col]])
    if plan.with_order:
        blank &= a._o.isnull()
    after = (day > ibis.literal(as_of.date(), type="date")).fill_null(False) if as_of is not None else None
    bought = has_c & a._d.notnull() & ~no_amount & ~cancel
    if after is not None:
        bought &= ~after
    first_tests = [(bought & a._o.notnull(), KINDS["purchase"]),
                   (bought, KINDS["purchase_no_order"])] if plan.with_order else [(bought, KINDS["purchase"])]
    kind = ibis.cases(
        *first_tests,
        (blank, KINDS["blank"]),
        (~has_c & no_amount, KINDS["no_customer_no_amount"]),
        (~has_c, KINDS["no_customer"]),
        (a._d.isnull(), KINDS["missing_date"]),
        (no_amount, KINDS["missing_amount"]),
        *([(after, KINDS["after"])] if after is not None else []),
        else_=KINDS["cancel"],          # the one kind left: a customer row, dated, with an amount, cancelled
    ).cast("int8")
    # Only what the aggregation reads (the other columns of stage A are not carried further).
    return a.select(_c=a._c, n=a.n, _a=a._a, _kind=kind, _day=day, _signed=signed,
                    **({"_o": a._o} if plan.with_order else {}), **_keep_columns(a, plan))


def aggregate_stage(b_in: Any, plan: _Plan, as_of: pd.Timestamp | None) -> Any:
    """Aggregate: stage B adds up a customer's groups of one kind (the quality counts become
    group keys instead of filtered aggregates over every row); stage C makes one row per
    customer (and one for the rows without a customer) with the measures and partial counts
    :func:`result_from_rows` finishes."""
    with_order = plan.with_order
    keep_cols = [f"_k{j}" for j in range(len(plan.keep))]
    stage_b = {
        "lines": b_in.n.sum(),
        "groups": b_in.count(),
        # Money kept: one row per group with an order column (duplicates dropped), else all n.
        "money": b_in._signed.sum() if with_order else (b_in.n * b_in._signed).sum(),
        "first": b_in._day.min(),
        "last": b_in._day.max(),
    }
    if with_order:
        stage_b["dup_amt"] = ((b_in.n - 1) * b_in._a).sum()
        stage_b["orders"] = b_in._o.nunique(where=b_in._kind == KINDS["purchase"])
    stage_b.update({k: b_in[k].min() for k in keep_cols})
    b = b_in.group_by(["_c", "_kind"]).aggregate(**stage_b)

    def of(*names):
        return b._kind.isin([KINDS[name] for name in names])

    live = of("purchase", "purchase_no_order", "cancel")
    kept = b.groups if with_order else b.lines
    purchase = of("purchase", "purchase_no_order")
    customer = of("purchase", "purchase_no_order", "cancel", "after", "missing_date", "missing_amount")
    measures = {
        "used": kept.sum(where=live),
        "monetary": b.money.sum(where=live),
        "first": b["first"].min(where=purchase),
        "last": b["last"].max(where=purchase),
        "nc_rows": b.lines.sum(where=of("blank", "no_customer", "no_customer_no_amount")),
        "blank": b.lines.sum(where=of("blank")),
        "nocust_amt": ((b.money + b.dup_amt) if with_order else b.money).sum(where=of("no_customer")),
        "miss_date": b.lines.sum(where=of("missing_date")),
        "miss_amt": b.lines.sum(where=of("missing_amount")),
        "cancel": kept.sum(where=of("cancel")),
        "cancel_amt": b.money.sum(where=of("cancel")),
    }
    if with_order:
        measures["dup"] = (b.lines - b.groups).sum(where=customer)
        measures["dup_amt"] = b.dup_amt.sum(where=customer)
        measures["_orders"] = b.orders.sum(where=of("purchase"))
        measures["noorder"] = b.groups.sum(where=of("purchase_no_order"))
    else:
        measures["possdup"] = (b.lines - b.groups).sum(where=customer)
        measures["purchases"] = b.lines.sum(where=purchase)
    if as_of is not None:
        measures["after"] = kept.sum(where=of("after"))
        measures["after_amt"] = b.money.sum(where=of("after"))
    else:
        # The last transaction of a customer row is its last purchase or a later cancellation.
        measures["cancel_last"] = b["last"].max(where=of("cancel"))
    measures.update({k: b[k].min(where=live) for k in keep_cols})

    c = b.group_by("_c").aggregate(**measures)
    if plan.hash_customer:
        # The ids' texts, from a second reading of the customer column alone.
        t = plan.t
        customer_id = plan.clean_id(t[plan.cols.customer])
        texts = (t.select(_h=_customer_key(customer_id), _t=customer_id).group_by("_h")
                 .aggregate(_cmin=lambda g: g._t.min(), _cmax=lambda g: g._t.max()))
        c = c.left_join(texts, c._c == texts._h)
        c = c.mutate(_c=c._cmin).drop("_cmin", "_h")     # the id's text in place of its hash
    if with_order:
        c = c.mutate(frequency=(c._orders.fill_null(0) + c.noorder.fill_null(0)).cast("int64"))
    else:
        c = c.mutate(frequency=c.purchases.fill_null(0).cast("int64"))
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


class _BatchCollector:
    """What :func:`fetch_rows` keeps of each Arrow batch: id chunks, per-customer NumPy arrays,
    the non-missing values of the quality columns, and the row without a customer."""

    def __init__(self, ids: list[str]):
        self.id_parts: dict[str, list[Any]] = {name: [] for name in ids}
        self.kept: dict[str, list[np.ndarray]] = {}
        self.quality: dict[str, list[np.ndarray]] = {}
        self.rest_parts: list[Any] = []
        self.used_total, self.latest = 0, _NAT_DAY

    def add(self, batch: Any) -> None:
        import pyarrow.compute as pc

        has_c = pc.is_valid(batch.column("_c"))
        if batch.column("_c").null_count:
            self.rest_parts.append(batch.filter(pc.invert(has_c)))
            batch = batch.filter(has_c)
        for name in batch.schema.names:
            column = batch.column(name)
            if name == "_cmax":              # equal to _c unless two customer ids' hashes collided
                if not pc.all(pc.equal(column, batch.column("_c"))).as_py():
                    raise HashCollision()
            elif name in self.id_parts:
                self.id_parts[name].append(column)
            elif name in ("first", "last"):
                self.kept.setdefault(name, []).append(_day_numbers(column))
            elif name == "cancel_last":      # only its maximum is needed
                if len(column):
                    self.latest = max(self.latest, int(_day_numbers(column).max()))
            elif name == "used":             # its total, and whether it is positive
                values = _ints(column)
                self.used_total += int(values.sum())
                self.kept.setdefault("active", []).append(values > 0)
            elif name == "frequency":
                self.kept.setdefault(name, []).append(_ints(column))
            elif name == "monetary":
                self.kept.setdefault(name, []).append(_floats(column))
            else:
                values = _floats(column.drop_null() if column.null_count else column)
                self.quality.setdefault(name, []).append(values[~np.isnan(values)])

    def arrays(self) -> dict[str, np.ndarray]:
        arrays = {name: (np.concatenate(parts) if parts else np.empty(0)) for name, parts in self.kept.items()}
        arrays["frequency"] = arrays.get("frequency", np.empty(0)).astype(np.int64, copy=False)
        arrays["active"] = arrays.get("active", np.empty(0)).astype(bool, copy=False)
        return arrays

    def sums(self) -> dict[str, float]:
        sums = {name: float(np.sum(np.concatenate(parts))) if parts else 0.0 for name, parts in self.quality.items()}
        sums["used"] = float(self.used_total)
        sums["cancel_last"] = float(self.latest)
        return sums

    def id_column(self, name: str, schema: Any) -> pd.Series:
        """One id column as pandas values of its Ibis type (the chunks are released)."""
        import ibis
        import pyarrow as pa
        from ibis.formats.pandas import PandasData

        chunks = self.id_parts[name]
        column = pa.chunked_array(chunks, type=chunks[0].type if chunks else schema[name].to_pyarrow()).combine_chunks()
        self.id_parts[name] = []
        values = pd.Series(column.to_pylist(), dtype=object) if column.null_count else column.to_pandas()
        frame = PandasData.convert_table(pd.DataFrame({name: values}), ibis.schema({name: schema[name]}))
        return frame[name]

    def rest(self, ids: list[str], schema: Any) -> pd.DataFrame:
        """The row without a customer as a one-row frame (integer ids stay integers)."""
        import ibis
        import pyarrow as pa
        from ibis.formats.pandas import PandasData

        if not self.rest_parts:
            return pd.DataFrame()
        part = pa.Table.from_batches(self.rest_parts)
        out = part.drop_columns(ids).to_pandas(date_as_object=False)
        objects = pd.DataFrame({name: part[name].to_pylist() for name in ids}, index=out.index)
        objects = PandasData.convert_table(objects, ibis.schema({name: schema[name] for name in ids}))
        return pd.concat([objects, out], axis=1)


def fetch_rows(expr: Any, chunk_size: int = 262_144) -> EngineRows:
    """Run :func:`customer_expression` and keep only what :func:`result_from_rows` needs.

    The rows arrive as Arrow record batches. Each batch's quality columns are reduced to
    their non-missing values (most are NULL for most customers) and added up at the end;
    the per-customer columns become NumPy arrays once, so the millions of customer rows
    never sit in Python as a wide table, a pandas copy of it and a filtered copy. Ibis'
    ``to_pandas`` is not used: it turns every column holding a NULL into Python objects.
    Splitting off the row without a customer keeps integer ids integers (no float round trip).
    """
    schema = expr.schema()
    ids = ["_c"] + [name for name in schema.names if name.startswith("_k")]
    collected = _BatchCollector(ids)
    reader = expr.to_pyarrow_batches(chunk_size=chunk_size)
    try:
        for batch in reader:
            collected.add(batch)
            del batch
    finally:
        close = getattr(reader, "close", None)
        if close is not None:
            close()
    arrays, sums = collected.arrays(), collected.sums()
    id_values = collected.id_column("_c", schema)
    keep = {name: collected.id_column(name, schema) for name in ids[1:]}
    return EngineRows(id_values, arrays, keep, sums, collected.rest(ids, schema))


def _days(values: pd.Series) -> np.ndarray:
    """Dates from the engine (date objects, datetimes or NaT) as days since 1970."""
    stamps = pd.to_datetime(values)
    if getattr(stamps.dt, "tz", None) is not None:
        stamps = stamps.dt.tz_localize(None)
    return stamps.to_numpy(dtype="datetime64[ns]").astype("datetime64[D]").astype(np.int64)


def _whole_floats(values: np.ndarray) -> bool:
    """Whether floating-point ids (UCI's CustomerID as pandas reads it) are all whole numbers
    that int64 holds exactly, so they can take the integer ids' fast path (10M order lines:
    0.54 s -> 0.21 s to build the table). A negative zero keeps them on the general path,
    whose uniqueness check reports it when 0 is there too (both are written "0")."""
    if not pd.api.types.is_float_dtype(values.dtype):
        return False
    with np.errstate(invalid="ignore"):
        whole = np.isfinite(values) & (np.abs(values) < 2.0**53) & (values == np.floor(values))
    return bool(whole.all()) and not bool((np.signbit(values) & (values == 0)).any())


def result_from_rows(rows: EngineRows, cols: ColumnMap, stated_as_of: pd.Timestamp | None,
                     keep: dict[str, str] | None = None):
    """The customer table and quality report from the engine's rows (:func:`fetch_rows`).

    ``keep`` maps each kept source column to its name in the table
    (:func:`rfm_addin.core.columns.resolve_keep`).

    Mirrors :func:`rfm_addin.sources.route.compute_rfm` line by line (same keys, same order, same
    messages), on numbers the engine already added up.
    """
    import pyarrow as pa
    import pyarrow.compute as pc

    from ..core.rfm import finish

    kept_names = list((keep or {}).values())
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
    if not everyone:
        raw_ids = raw_ids[buyers]
    if _whole_floats(raw_ids):
        raw_ids = raw_ids.astype(np.int64)   # 12346.0 is "12346", as id_texts writes it
    if pd.api.types.is_integer_dtype(raw_ids.dtype):
        # Whole-number ids: their texts are distinct and never an Excel error; Arrow writes them in C.
        texts = pa.array(raw_ids).cast(pa.string())
    else:
        cleaned, _ = id_texts(pd.Index(raw_ids))
        bad = cleaned.isin(list(EXCEL_ERRORS)).fillna(False).to_numpy(dtype=bool)
        if bad.any():
            errors = list(cleaned[bad])
            raise DataError(f"Column {cols.customer!r}: ids holding an Excel error instead of an id "
                            f"({', '.join(map(repr, errors[:5]))}). Fix the formulas or lookups that produced "
                            "them, or remove those rows.", column=cols.customer)
        if not pd.Index(cleaned).is_unique:
            raise DataError(f"Column {cols.customer!r}: ids that differ only in spelling as numbers or text "
                            "(such as 12 and 12.5) could not be told apart; give the column one type.",
                            column=cols.customer)
        texts = pa.array(cleaned.to_numpy(dtype=object), type=pa.string())
        del cleaned
    del raw_ids
    # Sorted by id text (UTF-8 bytes: code point order, as sorted() in Python) before the
    # columns are built, so the table is not copied to sort it.
    sort = pc.sort_indices(texts).to_numpy()
    index = pd.Index(texts.take(sort).to_numpy(zero_copy_only=False), dtype=object)
    del texts
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
    for j, name in enumerate(kept_names):
        table[name] = rows.keep[f"_k{j}"].to_numpy()[order]
    return finish(table, report, as_of_stamp, cols, int(used_total), monetary_total)


def as_date(value: Any) -> dt.date | None:
    return None if value is None else pd.Timestamp(value).date()
