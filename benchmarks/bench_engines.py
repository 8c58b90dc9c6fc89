"""Benchmark: rfm_table on Parquet through DuckDB (the Ibis expression) against hand-written
DuckDB SQL and against reading the file into pandas first.

Two hand-written queries: ``HAND_SQL`` drops exact duplicates but skips every quality count
(a lower bound), ``HAND_SQL_SAME`` does the work the engine path does (the comparison the
1.3x target is about; both ratios are printed).

Usage:  python benchmarks/bench_engines.py [--rows 10000000 100000000] [--dir /tmp/rfm_bench]

Data are generated chunk-wise (1M rows at a time) into one Parquet file per size and shape,
so 100M rows never sit in pandas at once; ~1 customer per 20 rows, 0.5% exact duplicate
lines, timestamps over two years, int ids (text invoice numbers in "retail"). Three shapes (``--shape``):

- ``lines`` (the figures of earlier runs): three lines per order id, but each line with its own
  random customer and time, one Amount column, 2% negative amounts;
- ``orders``: order lines as shops export them (UCI Online Retail's columns): an order has one
  customer and one time and 1-5 products with quantity and unit price (amount = quantity x
  price), 2% of orders cancelled (negative quantities), 5% without a customer id;
- ``retail``: the ``orders`` lines with the types of the UCI export as pandas reads it: text
  invoice numbers ("C" before a cancelled order's), floating-point customer ids.
Every measurement runs in a fresh Python process (``--repeat`` of them, taken in turns, the
fastest shown: the machine may be shared); time is wall-clock of the call (the
imports before it are printed apart and in the total; the engine call includes importing
Ibis, which is also timed alone), peak memory the process's maximum resident set size
(ru_maxrss), so DuckDB's memory counts. The pandas baseline is skipped at a size whose
estimated peak (peak per row at a smaller size) would not fit in the available memory.
"""
from __future__ import annotations

import argparse
import json
import os
import platform
import subprocess
import sys
import time
from pathlib import Path

CHUNK = 1_000_000
#: Version of the generated data (files of an older version are generated again).
VERSION = b"2"


SHAPES = ("lines", "orders", "retail")


def _random_lines(rng, offset: int, n: int, customers: int):
    """Shape "lines" (version 2, the figures of earlier runs): int order ids, three lines per
    order, but each line with its own random customer and time (so ~every (customer, order)
    pair is distinct), one Amount column, 2% negative amounts."""
    import numpy as np
    import pandas as pd

    start = np.datetime64("2024-01-01T00:00:00", "s")
    order = offset // 3 + np.arange(n) // 3            # three lines per order
    frame = pd.DataFrame({
        "InvoiceNo": order.astype(np.int64),
        "CustomerID": rng.integers(1, customers + 1, n).astype(np.int64),
        "InvoiceDate": start + rng.integers(0, 730 * 86400, n).astype("timedelta64[s]"),
        "Amount": np.round(rng.lognormal(3.0, 0.8, n), 2),
    })
    frame.loc[rng.random(n) < 0.02, "Amount"] *= -1
    return frame


_PRODUCTS = None


def _order_lines(rng, offset: int, n: int, customers: int):
    """Shape "orders": order lines as a shop exports them (the layout of the UCI Online Retail
    data). An order has one customer and one time and 1-5 lines (3 on average), each a product
    (4,000 stock codes) with a quantity and a unit price, no amount column (the amount is
    quantity x unit price); 2% of orders are cancellations (negative quantities); 5% of orders
    have no customer id."""
    import numpy as np
    import pandas as pd

    global _PRODUCTS
    if _PRODUCTS is None:
        _PRODUCTS = np.array([f"{85000 + i}{'ABC'[i % 3]}" for i in range(4000)], dtype=object)
    start = np.datetime64("2024-01-01T00:00:00", "s")
    sizes = rng.integers(1, 6, n)           # at most n orders; the first that cover n lines are used
    ends = np.cumsum(sizes)
    n_orders = int(np.searchsorted(ends, n)) + 1
    line_order = np.repeat(np.arange(n_orders), sizes[:n_orders])[:n]
    customer = rng.integers(1, customers + 1, n_orders).astype(np.float64)
    customer[rng.random(n_orders) < 0.05] = np.nan
    when = start + rng.integers(0, 730 * 86400, n_orders).astype("timedelta64[s]")
    sign = np.where(rng.random(n_orders) < 0.02, -1, 1)
    return pd.DataFrame({
        "InvoiceNo": (offset + line_order).astype(np.int64),   # unique: an order starts at most once per row
        "StockCode": _PRODUCTS[rng.integers(0, len(_PRODUCTS), n)],
        "Quantity": (rng.integers(1, 13, n) * sign[line_order]).astype(np.int64),
        "InvoiceDate": when[line_order],
        "UnitPrice": np.round(rng.lognormal(1.0, 0.7, n), 2),
        "CustomerID": pd.array(customer[line_order], dtype="Int64"),
    })


def _retail_lines(rng, offset: int, n: int, customers: int):
    """Shape "retail": the "orders" lines with the types of the UCI Online Retail export as
    pandas reads it: text invoice numbers, "C" before those of cancelled orders, and
    floating-point customer ids (missing ones as NULL)."""
    import numpy as np

    frame = _order_lines(rng, offset, n, customers)
    invoice = frame["InvoiceNo"].astype(str).to_numpy(dtype=object)
    cancelled = frame["Quantity"].to_numpy() < 0
    invoice[cancelled] = "C" + invoice[cancelled]
    frame["InvoiceNo"] = invoice
    frame["CustomerID"] = frame["CustomerID"].astype("float64")
    return frame


def generate(path: Path, rows: int, shape: str = "lines", seed: int = 1) -> None:
    import numpy as np
    import pyarrow as pa
    import pyarrow.parquet as pq

    version = {"lines": VERSION, "orders": b"3orders", "retail": b"4retail"}[shape]   # earlier files stay valid
    if path.exists():
        meta = pq.ParquetFile(path).metadata
        if meta.num_rows == rows and (meta.metadata or {}).get(b"rfm_bench") == version:
            return
    rng = np.random.default_rng(seed)
    customers = max(1, rows // 20)
    make = {"lines": _random_lines, "orders": _order_lines, "retail": _retail_lines}[shape]
    writer = None
    tmp = path.with_suffix(".tmp")
    try:
        for offset in range(0, rows, CHUNK):
            n = min(CHUNK, rows - offset)
            frame = make(rng, offset, n, customers)
            # The last 0.5% of the chunk are copies of earlier lines: exact duplicates.
            copies = int(n * 0.005)
            take = np.arange(n)
            take[n - copies:] = rng.integers(0, n - copies, copies)
            frame = frame.iloc[take].reset_index(drop=True)
            table = pa.Table.from_pandas(frame, preserve_index=False)
            table = table.replace_schema_metadata({**(table.schema.metadata or {}), b"rfm_bench": version})
            if writer is None:
                writer = pq.ParquetWriter(tmp, table.schema)
            writer.write_table(table, row_group_size=CHUNK)
    finally:
        if writer is not None:
            writer.close()
    tmp.replace(path)


#: Per shape: the file's columns, the amount, the cancellation test, what "blank" adds.
SHAPE_SQL = {
    "lines": {"columns": "CustomerID, InvoiceNo, InvoiceDate, Amount", "amount": "Amount",
              "cancel": "Amount < 0", "blank": "(Amount is null or isnan(Amount))"},
    "orders": {"columns": "InvoiceNo, StockCode, Quantity, InvoiceDate, UnitPrice, CustomerID",
               "amount": "Quantity * UnitPrice", "cancel": "Quantity < 0 or Quantity * UnitPrice < 0",
               "blank": "StockCode is null and Quantity is null and (UnitPrice is null or isnan(UnitPrice))"},
}
SHAPE_SQL["retail"] = {**SHAPE_SQL["orders"],
                       "cancel": "InvoiceNo like 'C%' or Quantity < 0 or Quantity * UnitPrice < 0"}

# The aggregation written by hand, without the cleaning rules: exact duplicates dropped
# (SELECT DISTINCT), but no quality counts (rows without a customer, blank rows, missing
# dates or amounts, duplicates and cancellations counted with their amounts), no id cleaning.
HAND_SQL = """
with lines as (      -- exact duplicate lines dropped
    select distinct {columns} from read_parquet(?) where CustomerID is not null
), flagged as (
    select CustomerID, InvoiceNo, cast(InvoiceDate as date) as day,
           case when {cancel} then -abs({amount}) else {amount} end as money, {cancel} as cancel
    from lines
)
select CustomerID,
       (select max(day) from flagged) + 1 - max(day) filter (where not cancel) as recency,
       count(distinct InvoiceNo) filter (where not cancel) as frequency,
       sum(money) as monetary,
       min(day) filter (where not cancel) as first_purchase,
       max(day) filter (where not cancel) as last_purchase
from flagged group by CustomerID having count(*) filter (where not cancel) > 0
"""

# The same work as the engine path, written by hand for this file's columns (integer ids,
# so no id cleaning): duplicates counted and dropped, rows without a customer and blank
# rows counted, missing dates/amounts counted, cancellations and their amounts, purchase
# rows without an order id, the default as_of. One row per customer (NULL: no customer).
HAND_SQL_SAME = """
with lines as (      -- identical lines grouped: one kept, n - 1 counted as duplicates
    select {columns}, count(*) as n from read_parquet(?) group by all
), flagged as (
    select *, cast(InvoiceDate as date) as day, {amount} as amount, coalesce({cancel}, false) as cancel,
           {amount} is null or isnan({amount}) as no_amount,
           CustomerID is null and InvoiceNo is null and InvoiceDate is null and {blank} as blank
    from lines
), customers as (
    select CustomerID,
           sum(n) as rows_read,
           sum(n) filter (where blank) as blank_rows,
           sum(n * amount) filter (where CustomerID is null and not blank and not no_amount) as no_customer_amount,
           sum(n) filter (where CustomerID is not null and InvoiceDate is null) as missing_dates,
           sum(n) filter (where CustomerID is not null and no_amount) as missing_amounts,
           sum(n - 1) filter (where CustomerID is not null) as duplicates,
           sum((n - 1) * amount) filter (where CustomerID is not null) as duplicate_amount,
           count(*) filter (where CustomerID is not null and cancel) as cancellations,
           sum(-abs(amount)) filter (where CustomerID is not null and cancel) as cancelled_amount,
           count(*) filter (where CustomerID is not null and not cancel and InvoiceNo is null) as without_order,
           count(*) filter (where CustomerID is not null) as transactions_used,
           sum(case when cancel then -abs(amount) else amount end) filter (where CustomerID is not null) as monetary,
           min(day) filter (where CustomerID is not null and not cancel) as first_purchase,
           max(day) filter (where CustomerID is not null and not cancel) as last_purchase,
           max(day) filter (where CustomerID is not null) as last_transaction,
           count(distinct InvoiceNo) filter (where CustomerID is not null and not cancel) as orders
    from flagged group by CustomerID
)
select *, max(last_transaction) over () + 1 - last_purchase as recency, orders + without_order as frequency
from customers
"""


def hand_sql(mode: str, shape: str) -> str:
    """The hand-written query of ``mode`` ("sql" or "sql_same") for a file of ``shape``."""
    return (HAND_SQL if mode == "sql" else HAND_SQL_SAME).format(**SHAPE_SQL[shape])


CHILD = r"""
import json, resource, sys, time
mode, path, sql = sys.argv[1], sys.argv[2], sys.argv[3]
start = time.perf_counter()
if mode in ("sql", "sql_same"):
    import duckdb
elif mode == "ibis_import":
    import ibis
    ibis.duckdb.connect().disconnect()
else:
    import pandas as pd
    import rfm_addin
imported = time.perf_counter()
n = 0
if mode == "engine":
    table = rfm_addin.rfm_table(path)
    n = len(table)
elif mode in ("sql", "sql_same"):
    import os, tempfile
    con = duckdb.connect()
    con.execute("SET memory_limit = ?", [os.environ.get("RFM_DUCKDB_MEMORY", "1GB")])
    if os.environ.get("RFM_DUCKDB_THREADS"):
        con.execute("SET threads = ?", [int(os.environ["RFM_DUCKDB_THREADS"])])
    con.execute("SET temp_directory = ?", [os.path.join(tempfile.gettempdir(), "rfm_addin_duckdb")])
    con.execute("SET preserve_insertion_order = false")
    con.execute("SET enable_progress_bar = false")
    frame = con.execute(sql, [path]).fetch_df()
    n = len(frame) if mode == "sql" else int((frame["CustomerID"].notna() & (frame["frequency"] > 0)).sum())
elif mode == "pandas":
    frame = pd.read_parquet(path)
    n = len(rfm_addin.rfm_table(frame))
done = time.perf_counter()
print(json.dumps({"seconds": done - imported, "import_seconds": imported - start, "total_seconds": done - start,
                  "peak_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, "customers": n}))
"""


def measure(mode: str, path: Path, timeout: float, shape: str = "lines") -> dict:
    sql = hand_sql(mode, shape) if mode in ("sql", "sql_same") else ""
    try:
        done = subprocess.run([sys.executable, "-c", CHILD, mode, str(path), sql], capture_output=True, text=True,
                              timeout=timeout)
    except subprocess.TimeoutExpired:
        return {"error": f"over {timeout:.0f} s"}
    if done.returncode != 0:
        last = (done.stderr.strip().splitlines() or ["?"])[-1]
        return {"error": f"exit {done.returncode}: {last[:120]}"}
    return json.loads(done.stdout.strip().splitlines()[-1].split("\r")[-1])


def available_mb() -> float | None:
    """MemAvailable of /proc/meminfo (Linux), else None."""
    try:
        with open("/proc/meminfo") as f:
            for line in f:
                if line.startswith("MemAvailable:"):
                    return int(line.split()[1]) / 1024
    except OSError:
        pass
    return None


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, nargs="+", default=[10_000_000, 100_000_000])
    parser.add_argument("--shape", nargs="+", choices=SHAPES, default=list(SHAPES),
                        help="lines: one random customer per line (earlier runs); orders: order lines as shops "
                             "export them; retail: the same with UCI's types (text invoice numbers, float customer ids)")
    parser.add_argument("--threads", type=int, default=None,
                        help="DuckDB threads for the engine and the hand-written SQL (RFM_DUCKDB_THREADS); "
                             "default one per CPU")
    parser.add_argument("--dir", default="/tmp/rfm_bench")
    parser.add_argument("--skip-pandas-above", type=int, default=10**12,
                        help="skip the pandas measurement above this many rows")
    parser.add_argument("--timeout", type=float, default=3600)
    parser.add_argument("--repeat", type=int, default=3,
                        help="fresh processes per measurement, taken in turns; the fastest is shown")
    args = parser.parse_args()
    if args.threads is not None:
        os.environ["RFM_DUCKDB_THREADS"] = str(args.threads)
    folder = Path(args.dir)
    folder.mkdir(parents=True, exist_ok=True)
    commit = subprocess.run(["git", "rev-parse", "--short", "HEAD"], capture_output=True, text=True,
                            cwd=Path(__file__).parent).stdout.strip()
    print(f"rfm_addin {commit}, Python {platform.python_version()}, {os.cpu_count()} CPUs, "
          f"load average {os.getloadavg()[0]:.2f}, DuckDB memory_limit {os.environ.get('RFM_DUCKDB_MEMORY', '1GB')}, "
          f"threads {os.environ.get('RFM_DUCKDB_THREADS', 'one per CPU')}")
    print(f"Fastest of {max(1, args.repeat)} runs each. Times are the call (reading, aggregating, building the result) in a fresh process; the imports "
          "before it\n(rfm_addin with pandas, scikit-learn, SciPy; or duckdb) are shown apart and in 'total'. "
          "The engine call\nincludes importing Ibis and its DuckDB backend, also timed alone below.")
    ibis_import = measure("ibis_import", folder, args.timeout)
    if "seconds" in ibis_import:
        print(f"import ibis + DuckDB backend alone: {ibis_import['import_seconds']:.2f} s")
    # Peak of the pandas baseline per row: measured at the sizes run so far, else the 2.3 GB
    # measured for 10M rows (the frame, the cleaned columns and their copies).
    pandas_mb_per_row = 2300 / 10_000_000
    for rows, shape in [(rows, shape) for rows in args.rows for shape in args.shape]:
        name = f"transactions_{rows}.parquet" if shape == "lines" else f"{shape}_{rows}.parquet"
        path = folder / name
        start = time.perf_counter()
        generate(path, rows, shape)
        print(f"\n{rows:,} rows, shape {shape!r} ({path.stat().st_size / 1e6:,.0f} MB Parquet, ready in "
              f"{time.perf_counter() - start:.0f} s), load average {os.getloadavg()[0]:.2f}")
        modes = ["engine", "sql", "sql_same"]
        skipped = None
        free = available_mb()
        if rows > args.skip_pandas_above:
            skipped = f"not run (--skip-pandas-above {args.skip_pandas_above:,})"
        elif pandas_mb_per_row is not None and free is not None and pandas_mb_per_row * rows > 0.8 * free:
            skipped = (f"not run: would need about {pandas_mb_per_row * rows / 1024:,.0f} GB (peak per row "
                       f"measured above), {free / 1024:,.0f} GB available")
        if skipped is None:
            modes.append("pandas")
        results: dict[str, dict] = {}
        for _ in range(max(1, args.repeat)):     # in turns, so a burst of load hits every mode alike
            for mode in modes:
                got = measure(mode, path, args.timeout, shape)
                if "seconds" in got and got["seconds"] < results.get(mode, {}).get("seconds", float("inf")):
                    results[mode] = got
                results.setdefault(mode, got)
        if "peak_mb" in results.get("pandas", {}):
            pandas_mb_per_row = results["pandas"]["peak_mb"] / rows
        labels = {"engine": "rfm_table(parquet) via Ibis/DuckDB",
                  "sql": "hand-written SQL, no quality counts",
                  "sql_same": "hand-written SQL, same work",
                  "pandas": "pandas.read_parquet + rfm_table"}
        for mode, result in results.items():
            if "error" in result:
                print(f"  {labels[mode]:<38} {result['error']}")
            else:
                print(f"  {labels[mode]:<38} {result['seconds']:6.1f} s  (import {result['import_seconds']:.1f} s, "
                      f"total {result['total_seconds']:5.1f} s)  peak {result['peak_mb']:7,.0f} MB  "
                      f"{result['customers']:,} customers")
        if skipped:
            print(f"  {labels['pandas']:<38} {skipped}")
        e, p = results["engine"], results.get("pandas", {})
        for mode in ("sql", "sql_same"):
            s = results[mode]
            if "seconds" in e and "seconds" in s:
                print(f"  engine / {labels[mode]}: {e['seconds'] / s['seconds']:.2f}x "
                      f"(totals {e['total_seconds'] / s['total_seconds']:.2f}x; target <= 1.3x)")
        if "seconds" in e and "seconds" in p:
            print(f"  pandas / engine: {p['seconds'] / e['seconds']:.1f}x faster "
                  f"(totals {p['total_seconds'] / e['total_seconds']:.1f}x; target >= 5x)")


if __name__ == "__main__":
    main()
