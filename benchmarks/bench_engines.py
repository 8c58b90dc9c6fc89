"""Benchmark: rfm_table on Parquet through DuckDB (the Ibis expression) against a hand-written
DuckDB SQL query of the same aggregation and against reading the file into pandas first.

Usage:  python benchmarks/bench_engines.py [--rows 10000000 100000000] [--dir /tmp/rfm_bench]

Data are generated chunk-wise (1M rows at a time) into one Parquet file per size, so 100M
rows never sit in pandas at once: order lines with int order ids, ~1 customer per 20 rows,
2% returns (negative amounts), 0.5% exact duplicate lines, timestamps over two years.
Every measurement runs in a fresh Python process; time is wall-clock of the call, peak
memory the process's maximum resident set size (ru_maxrss), so DuckDB's memory counts.
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


def generate(path: Path, rows: int, seed: int = 1) -> None:
    import numpy as np
    import pandas as pd
    import pyarrow as pa
    import pyarrow.parquet as pq

    if path.exists() and pq.ParquetFile(path).metadata.num_rows == rows:
        return
    rng = np.random.default_rng(seed)
    customers = max(1, rows // 20)
    start = np.datetime64("2024-01-01T00:00:00", "s")
    writer = None
    tmp = path.with_suffix(".tmp")
    try:
        for offset in range(0, rows, CHUNK):
            n = min(CHUNK, rows - offset)
            order = offset // 3 + np.arange(n) // 3            # three lines per order
            frame = pd.DataFrame({
                "InvoiceNo": order.astype(np.int64),
                "CustomerID": rng.integers(1, customers + 1, n).astype(np.int64),
                "InvoiceDate": start + rng.integers(0, 730 * 86400, n).astype("timedelta64[s]"),
                "Amount": np.round(rng.lognormal(3.0, 0.8, n), 2),
            })
            frame.loc[rng.random(n) < 0.02, "Amount"] *= -1
            dup = frame.sample(frac=0.005, random_state=int(rng.integers(1 << 31)))
            frame = pd.concat([frame, dup], ignore_index=True).iloc[:n]
            table = pa.Table.from_pandas(frame, preserve_index=False)
            if writer is None:
                writer = pq.ParquetWriter(tmp, table.schema)
            writer.write_table(table, row_group_size=CHUNK)
    finally:
        if writer is not None:
            writer.close()
    tmp.replace(path)


HAND_SQL = """
with lines as (      -- exact duplicate lines dropped
    select distinct CustomerID, InvoiceNo, InvoiceDate, Amount from read_parquet(?)
    where CustomerID is not null
), flagged as (
    select CustomerID, InvoiceNo, cast(InvoiceDate as date) as day,
           case when Amount < 0 then -abs(Amount) else Amount end as money, Amount < 0 as cancel
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

CHILD = r"""
import json, resource, sys, time
mode, path = sys.argv[1], sys.argv[2]
start = time.perf_counter()
if mode == "engine":
    import rfm_addin
    table = rfm_addin.rfm_table(path)
    n = len(table)
elif mode == "sql":
    import duckdb, os, tempfile
    con = duckdb.connect()
    con.execute("SET memory_limit = ?", [os.environ.get("RFM_DUCKDB_MEMORY", "1GB")])
    con.execute("SET temp_directory = ?", [os.path.join(tempfile.gettempdir(), "rfm_addin_duckdb")])
    con.execute("SET preserve_insertion_order = false")
    n = len(con.execute(HAND_SQL, [path]).fetch_df())
else:
    import pandas as pd, rfm_addin
    frame = pd.read_parquet(path)
    n = len(rfm_addin.rfm_table(frame))
seconds = time.perf_counter() - start
print(json.dumps({"seconds": seconds, "peak_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
                  "customers": n}))
"""


def measure(mode: str, path: Path, timeout: float) -> dict:
    code = f"HAND_SQL = {HAND_SQL!r}\n" + CHILD
    try:
        done = subprocess.run([sys.executable, "-c", code, mode, str(path)], capture_output=True, text=True,
                              timeout=timeout)
    except subprocess.TimeoutExpired:
        return {"error": f"over {timeout:.0f} s"}
    if done.returncode != 0:
        last = (done.stderr.strip().splitlines() or ["?"])[-1]
        return {"error": f"exit {done.returncode}: {last[:120]}"}
    return json.loads(done.stdout.strip().splitlines()[-1])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, nargs="+", default=[10_000_000, 100_000_000])
    parser.add_argument("--dir", default="/tmp/rfm_bench")
    parser.add_argument("--skip-pandas-above", type=int, default=10**12,
                        help="skip the pandas measurement above this many rows")
    parser.add_argument("--timeout", type=float, default=3600)
    args = parser.parse_args()
    folder = Path(args.dir)
    folder.mkdir(parents=True, exist_ok=True)
    commit = subprocess.run(["git", "rev-parse", "--short", "HEAD"], capture_output=True, text=True,
                            cwd=Path(__file__).parent).stdout.strip()
    print(f"rfm_addin {commit}, Python {platform.python_version()}, {os.cpu_count()} CPUs, "
          f"load average {os.getloadavg()[0]:.2f}, DuckDB memory_limit {os.environ.get('RFM_DUCKDB_MEMORY', '1GB')}")
    for rows in args.rows:
        path = folder / f"transactions_{rows}.parquet"
        start = time.perf_counter()
        generate(path, rows)
        print(f"\n{rows:,} rows ({path.stat().st_size / 1e6:,.0f} MB Parquet, ready in "
              f"{time.perf_counter() - start:.0f} s)")
        results = {"engine": measure("engine", path, args.timeout), "sql": measure("sql", path, args.timeout)}
        if rows <= args.skip_pandas_above:
            results["pandas"] = measure("pandas", path, args.timeout)
        labels = {"engine": "rfm_table(parquet) via Ibis/DuckDB", "sql": "hand-written DuckDB SQL",
                  "pandas": "pandas.read_parquet + rfm_table"}
        for mode, result in results.items():
            if "error" in result:
                print(f"  {labels[mode]:<38} {result['error']}")
            else:
                print(f"  {labels[mode]:<38} {result['seconds']:8.1f} s  peak {result['peak_mb']:8,.0f} MB  "
                      f"{result['customers']:,} customers")
        e, s, p = results["engine"], results["sql"], results.get("pandas", {})
        if "seconds" in e and "seconds" in s:
            print(f"  engine / hand-written SQL: {e['seconds'] / s['seconds']:.2f}x (target <= 1.3x)")
        if "seconds" in e and "seconds" in p:
            print(f"  pandas / engine: {p['seconds'] / e['seconds']:.1f}x faster (target >= 5x)")


if __name__ == "__main__":
    main()
