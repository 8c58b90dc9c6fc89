#!/usr/bin/env python
"""The main job at a million lines, end to end (issue 19): a CSV export to a workbook.

A script, not a test: nothing asserts on time. The machine is shared and noisy, so every
figure that has a target is a RATIO of two timings taken in the same run, each timing the
best (minimum) of ``--repeat`` runs. Correctness is cross-checked (untimed) wherever two
sides are claimed to do the same work.

Usage::

    python benchmarks/bench_e2e.py                        # 1M lines, best of 3
    python benchmarks/bench_e2e.py --lines 200k --repeat 1 --out e2e.json
    python benchmarks/bench_e2e.py --ten-million          # also OURS on 10M lines
    python benchmarks/bench_e2e.py --old-python /path/to/pandas-2.2-venv/bin/python

The data (written into a temporary folder, seeded, vectorised with numpy/pyarrow)
---------------------------------------------------------------------------------
``export.csv`` with columns InvoiceNo, CustomerID, InvoiceDate, Amount, like an order-line
export from a shop system: ``--lines`` rows (default 1M) of ``lines / 20`` customers
(default 50k, gamma(0.4)-weighted so most buy a few times and a few buy a lot; every
customer has at least one order). Orders have 1 + Poisson(3) lines (4 on average) sharing
one InvoiceNo ("536365", numbered in time order); about 2% of orders are cancellations:
InvoiceNo "C536366" and negative Amount on every line. InvoiceDate is text
"2024-05-04 18:55:44", the lines of an order a few seconds apart, so (nearly) every
timestamp is distinct, over two years (2023-01-01 .. 2024-12-31), rows sorted by date.
CustomerID is a whole number (12346...), Amount has two decimals (never 0). About 40 MB.

Reported alongside: the CSV's size on disk, and "the CSV's size in memory as a typed
table": ``pd.read_csv(path, dtype={"InvoiceNo": str, "CustomerID": str},
parse_dates=["InvoiceDate"]).memory_usage(deep=True).sum()``.

1. End to end, each command a fresh child process (best of --repeat, the three commands
   run in turns so noise spreads over all of them). Wall time is the parent's clock around
   the child; peak memory is the child's maximum RSS from ``/usr/bin/time -f "%e %M"`` (or,
   without it, from a small Python launcher reporting ``RUSAGE_CHILDREN.ru_maxrss`` of its
   single child). The largest peak over the runs is reported.

   * OURS: ``python -m rfm_addin.cli analyze export.csv -o OUT.xlsx -q`` (default
     settings: scores, segments, elbow sweep k = 2..10, profiles, the whole workbook);
     a fresh output path every run.
   * TUTORIAL: the usual blog/tutorial script, run with ``OMP_NUM_THREADS=1``:
     ``pd.read_csv``, ``pd.to_datetime``, drop missing CustomerID and cancellations,
     ``groupby("CustomerID").agg(Recency=lambda, Frequency=nunique, Monetary=sum)``,
     ``pd.qcut`` scores (frequency by ``rank(method="first")``), StandardScaler on log1p of
     R/F/M, a K-Means elbow sweep k = 2..10 (``n_init=10, random_state=0``), the final fit
     with k = 4, ``to_excel`` of two sheets (customers, per-cluster means) with openpyxl.
   * FLOOR (the practical floor): DuckDB reads and aggregates the CSV to one row per
     customer (recency in days to the day after the last invoice, distinct non-cancelled
     invoices, net amount), one sklearn KMeans fit (k = 4, ``n_init="auto"``) on scaled
     log1p features, XlsxWriter writes the customer table as one Excel Table
     (``add_table(..., {"data": ...})``) in one sheet.

   Targets: OURS / FLOOR time <= 2.0; OURS / TUTORIAL time < 1.0; OURS peak RSS / typed
   table bytes <= 2.0. For context (no target), OURS also runs once on a 1k-line export of
   the same shape: its peak RSS is the interpreter and its imports with nearly no data, and
   (peak at full size - that) / typed table bytes is printed beside the ratio.

2. In process, component ratios (best of --repeat each):

   a. Dates: ``rfm_addin.core.parsing.read_dates(series, "InvoiceDate", 2)`` on the CSV's
      InvoiceDate column read as text (``dtype=str``) against ``pd.to_datetime(series,
      format="%Y-%m-%d %H:%M:%S")``; and the same instants rendered "%d/%m/%Y %H:%M" with
      ``read_dates(..., dayfirst=True)`` against ``pd.to_datetime(format="%d/%m/%Y %H:%M")``.
      Results checked equal. Target: each ratio <= 2.0.
   b. Workbook writer: ``analysis = rfm_addin.analyze(csv)`` once, then
      ``rfm_addin.writers.xlsx.write_analysis(analysis, out)`` with
      ``rfm_addin.writers.xlsx.BULK_ROWS = 10**12`` (every cell written by XlsxWriter, the
      old path, "today") against its default (the bulk path). Target: old / new >= 3.0.
   c. rfm_table without an order column: the typed table above without InvoiceNo;
      ``rfm_addin.rfm_table(frame)`` against one DuckDB query over the same (registered)
      DataFrame doing the same work: drop rows without a customer; per customer recency
      (days from the last purchase day to the day after the last transaction), frequency
      (rows with amount > 0), monetary (sum of amount), customers with no purchase left
      out, sorted by customer; and the number of exact duplicate rows (``sum(n - 1)`` over
      groups of all columns); fetched as a DataFrame. Checked equal to ours (the duplicate
      count against the quality report). Target: ours / DuckDB <= 3.0. 1% of the rows are
      appended again (seeded), so that the duplicate count has duplicates to find. With
      ``--old-python``, the same ``rfm_table`` timing in that interpreter (the oldest pandas
      the package allows): target within 1.5x of this interpreter's.

3. ``--ten-million`` (off by default): a 10M-line CSV of the same shape, OURS only: time
   and peak RSS. Target: peak RSS < 3 GB.

A final table lists each figure, its target and met / not met; ``--out`` writes every
figure (and the machine, versions, load) as JSON.
"""
from __future__ import annotations

import argparse
import gc
import json
import os
import platform
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import pandas as pd

SEED = 20240619
START = np.datetime64("2023-01-01T00:00:00", "s")
SPAN_DAYS = 730
LINES_PER_CUSTOMER = 20
MEAN_LINES_PER_ORDER = 4       # 1 + Poisson(3)
CANCEL_RATE = 0.02             # share of orders that are cancellations
FIRST_INVOICE = 536365
FIRST_CUSTOMER = 12346
GAMMA_SHAPE = 0.4
#: GNU time reports the child's peak RSS ("%M", KB); without it a Python launcher does.
TIME = "/usr/bin/time" if os.access("/usr/bin/time", os.X_OK) else None

# run from a checkout without `pip install -e .`: import the package next to benchmarks/
_REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
try:
    import rfm_addin  # noqa: F401
except ImportError:
    sys.path.insert(0, _REPO)


sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from bench_core import parse_size  # noqa: E402  (the benchmarks' one size parser)


# --------------------------------------------------------------------------- data
def write_export(path: str, n: int, seed: int = SEED) -> dict:
    """Write the order-line CSV export (see the module docstring); return facts about it."""
    import pyarrow as pa
    import pyarrow.compute as pc
    import pyarrow.csv as pacsv

    rng = np.random.default_rng(seed)
    n_customers = max(1, n // LINES_PER_CUSTOMER)

    # orders of 1 + Poisson(3) lines, cut to exactly n lines
    sizes = 1 + rng.poisson(MEAN_LINES_PER_ORDER - 1, n // MEAN_LINES_PER_ORDER + 1000)
    while sizes.sum() < n:
        sizes = np.concatenate([sizes, 1 + rng.poisson(MEAN_LINES_PER_ORDER - 1, 1000)])
    ends = np.cumsum(sizes)
    last = int(np.searchsorted(ends, n))
    sizes = sizes[: last + 1]
    sizes[-1] -= int(ends[last] - n)
    n_orders = len(sizes)
    if n_orders < n_customers:
        raise ValueError(f"{n} lines are too few for {n_customers} customers")

    # orders: start time (sorted: invoice numbers follow time), customer, cancellation
    starts = np.sort(rng.integers(0, SPAN_DAYS * 86_400 - 600, n_orders, dtype=np.int64))
    weights = rng.gamma(GAMMA_SHAPE, 1.0, n_customers)
    weights /= weights.sum()
    cust = np.concatenate([np.arange(n_customers, dtype=np.int64),
                           rng.choice(n_customers, n_orders - n_customers, p=weights).astype(np.int64)])
    cust = rng.permutation(cust)
    cancel = rng.random(n_orders) < CANCEL_RATE

    # lines: a few seconds apart within the order
    order_of = np.repeat(np.arange(n_orders, dtype=np.int64), sizes)
    gaps = rng.integers(1, 20, n, dtype=np.int64)
    first_line = np.concatenate([[0], np.cumsum(sizes)[:-1]])
    gaps[first_line] = 0
    within = np.cumsum(gaps)
    within -= np.repeat(within[first_line], sizes)
    secs = starts[order_of] + within
    del gaps, within, first_line
    cents = np.maximum(1, np.round(rng.lognormal(mean=2.6, sigma=1.0, size=n) * 100)).astype(np.int64)
    order = np.argsort(secs, kind="stable")
    secs, order_of, cents = secs[order], order_of[order], cents[order]
    del order
    line_cancel = cancel[order_of]

    number = pc.cast(pa.array(FIRST_INVOICE + order_of), pa.string())
    invoice = pc.if_else(pa.array(line_cancel), pc.binary_join_element_wise("C", number, ""), number)
    customer = pa.array(FIRST_CUSTOMER + cust[order_of])
    stamps = pa.array((START + secs).astype("datetime64[s]"))
    date_text = pc.strftime(stamps, format="%Y-%m-%d %H:%M:%S")
    whole = pc.cast(pa.array(cents // 100), pa.string())
    frac = pc.utf8_lpad(pc.cast(pa.array(cents % 100), pa.string()), width=2, padding="0")
    amount = pc.binary_join_element_wise(whole, frac, ".")
    amount = pc.if_else(pa.array(line_cancel), pc.binary_join_element_wise("-", amount, ""), amount)
    table = pa.table({"InvoiceNo": invoice, "CustomerID": customer, "InvoiceDate": date_text, "Amount": amount})
    with open(path, "wb") as fh:   # a plain header line, as exports write it (pyarrow would quote it)
        fh.write((",".join(table.column_names) + "\n").encode())
        pacsv.write_csv(table, fh, pacsv.WriteOptions(include_header=False, quoting_style="none"))
    facts = {
        "lines": n, "customers": n_customers, "orders": n_orders,
        "cancelled_lines_share": float(line_cancel.mean()),
        "distinct_timestamps": int(len(np.unique(secs))),
        "csv_bytes": os.path.getsize(path),
    }
    del table, invoice, customer, stamps, date_text, amount
    pa.default_memory_pool().release_unused()
    return facts


def read_typed(path: str) -> pd.DataFrame:
    return pd.read_csv(path, dtype={"InvoiceNo": str, "CustomerID": str}, parse_dates=["InvoiceDate"])


# --------------------------------------------------------------------------- child scripts
TUTORIAL = r'''
import sys
import numpy as np
import pandas as pd
from sklearn.cluster import KMeans
from sklearn.preprocessing import StandardScaler

path, out = sys.argv[1], sys.argv[2]
df = pd.read_csv(path)
df["InvoiceDate"] = pd.to_datetime(df["InvoiceDate"])
df = df.dropna(subset=["CustomerID"])
df = df[~df["InvoiceNo"].astype(str).str.startswith("C")]
as_of = df["InvoiceDate"].max() + pd.Timedelta(days=1)

rfm = df.groupby("CustomerID").agg(
    Recency=("InvoiceDate", lambda d: (as_of - d.max()).days),
    Frequency=("InvoiceNo", "nunique"),
    Monetary=("Amount", "sum"),
)
rfm["R"] = pd.qcut(rfm["Recency"], 5, labels=[5, 4, 3, 2, 1])
rfm["F"] = pd.qcut(rfm["Frequency"].rank(method="first"), 5, labels=[1, 2, 3, 4, 5])
rfm["M"] = pd.qcut(rfm["Monetary"], 5, labels=[1, 2, 3, 4, 5])
rfm["RFM_Score"] = rfm["R"].astype(int) + rfm["F"].astype(int) + rfm["M"].astype(int)

X = StandardScaler().fit_transform(np.log1p(rfm[["Recency", "Frequency", "Monetary"]]))
sse = {}
for k in range(2, 11):
    sse[k] = KMeans(n_clusters=k, n_init=10, random_state=0).fit(X).inertia_
rfm["Cluster"] = KMeans(n_clusters=4, n_init=10, random_state=0).fit_predict(X)
profile = rfm.groupby("Cluster")[["Recency", "Frequency", "Monetary"]].mean()
profile["Customers"] = rfm["Cluster"].value_counts().sort_index()

with pd.ExcelWriter(out, engine="openpyxl") as writer:
    rfm.to_excel(writer, sheet_name="RFM")
    profile.to_excel(writer, sheet_name="Clusters")
'''

FLOOR = r'''
import sys
import duckdb
import numpy as np
import xlsxwriter
from sklearn.cluster import KMeans
from sklearn.preprocessing import StandardScaler

path, out = sys.argv[1], sys.argv[2]
source = "read_csv('" + path.replace("'", "''") + "', header=true, types={'InvoiceNo': 'VARCHAR', " \
         "'CustomerID': 'VARCHAR', 'InvoiceDate': 'TIMESTAMP', 'Amount': 'DOUBLE'})"
df = duckdb.sql(f"""
WITH per AS (
    SELECT CustomerID,
           max(InvoiceDate)                                    AS last_any,
           max(InvoiceDate) FILTER (WHERE NOT cancel)          AS last_buy,
           count(DISTINCT InvoiceNo) FILTER (WHERE NOT cancel) AS frequency,
           sum(Amount)                                         AS monetary
    FROM (SELECT *, starts_with(InvoiceNo, 'C') OR Amount < 0 AS cancel FROM {source})
    WHERE CustomerID IS NOT NULL
    GROUP BY CustomerID)
SELECT CustomerID,
       date_diff('day', CAST(last_buy AS DATE), CAST(max(last_any) OVER () AS DATE) + 1) AS recency,
       frequency, monetary
FROM per
QUALIFY frequency > 0
ORDER BY CustomerID
""").df()
X = StandardScaler().fit_transform(np.log1p(df[["recency", "frequency", "monetary"]].clip(lower=0)))
df["cluster"] = KMeans(n_clusters=4, n_init="auto", random_state=0).fit_predict(X)

book = xlsxwriter.Workbook(out)
sheet = book.add_worksheet("Customers")
rows = [list(r) for r in df.itertuples(index=False, name=None)]
sheet.add_table(0, 0, len(rows), len(df.columns) - 1, {
    "name": "Customers", "data": rows, "columns": [{"header": c} for c in df.columns]})
book.close()
'''

LAUNCHER = r'''
import resource, subprocess, sys, time
out = sys.argv[1]
t0 = time.perf_counter()
rc = subprocess.call(sys.argv[2:])
wall = time.perf_counter() - t0
with open(out, "w") as fh:
    fh.write(f"{wall:.2f} {resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss}\n")
sys.exit(rc)
'''


def run_child(cmd: list[str], folder: str, env: dict | None = None) -> tuple[float, float]:
    """Run ``cmd`` as a child; return (wall seconds, peak RSS MB of the child)."""
    report = os.path.join(folder, "time.txt")
    if TIME:
        full = [TIME, "-f", "%e %M", "-o", report, *cmd]
    else:
        full = [sys.executable, "-c", LAUNCHER, report, *cmd]
    gc.collect()
    t0 = time.perf_counter()
    proc = subprocess.run(full, capture_output=True, text=True, env=env)
    wall = time.perf_counter() - t0
    if proc.returncode != 0:
        tail = "\n".join((proc.stderr or proc.stdout).strip().splitlines()[-15:])
        raise RuntimeError(f"{' '.join(cmd)} failed (rc={proc.returncode}):\n{tail}")
    kb = float(Path(report).read_text().strip().splitlines()[-1].split()[1])
    return wall, kb / 1024.0


def end_to_end(csv: str, folder: str, repeat: int, which=("ours", "tutorial", "floor")) -> dict:
    py = sys.executable
    tutorial, floor = os.path.join(folder, "tutorial.py"), os.path.join(folder, "floor.py")
    Path(tutorial).write_text(TUTORIAL)
    Path(floor).write_text(FLOOR)
    one_thread = dict(os.environ, OMP_NUM_THREADS="1")
    times = {w: [] for w in which}
    peaks = {w: [] for w in which}
    for i in range(repeat):
        for w in which:
            out = os.path.join(folder, f"{w}_{i}.xlsx")
            if os.path.exists(out):
                os.remove(out)
            if w == "ours":
                cmd, env = [py, "-m", "rfm_addin.cli", "analyze", csv, "-o", out, "-q"], None
            elif w == "tutorial":
                cmd, env = [py, tutorial, csv, out], one_thread
            else:
                cmd, env = [py, floor, csv, out], None
            wall, peak = run_child(cmd, folder, env)
            if not os.path.exists(out) or os.path.getsize(out) == 0:
                raise RuntimeError(f"{w} wrote no workbook")
            size = os.path.getsize(out)
            os.remove(out)
            times[w].append(wall)
            peaks[w].append(peak)
            print(f"  run {i + 1}/{repeat} {w:9s} {wall:7.2f} s  peak RSS {peak:7.0f} MB  "
                  f"workbook {size / 1e6:5.1f} MB", flush=True)
    return {w: {"s": min(times[w]), "peak_mb": max(peaks[w]), "all_s": times[w]} for w in which}


# --------------------------------------------------------------------------- in process
def best(work, repeat: int, before=None):
    times, value = [], None
    for _ in range(repeat):
        if before is not None:
            before()
        value = None
        gc.collect()
        t0 = time.perf_counter()
        value = work()
        times.append(time.perf_counter() - t0)
    return min(times), value


def bench_dates(csv: str, repeat: int) -> dict:
    import pyarrow as pa
    import pyarrow.compute as pc

    from rfm_addin.core.parsing import read_dates

    text = pd.read_csv(csv, usecols=["InvoiceDate"], dtype=str)["InvoiceDate"]
    iso_fmt, dmy_fmt = "%Y-%m-%d %H:%M:%S", "%d/%m/%Y %H:%M"
    ours_iso, got = best(lambda: read_dates(text, "InvoiceDate", 2), repeat)
    pandas_iso, want = best(lambda: pd.to_datetime(text, format=iso_fmt), repeat)
    assert (got == want.to_numpy("datetime64[ns]")).all(), "read_dates differs from to_datetime (ISO)"
    stamps = pa.array(want.to_numpy("datetime64[s]"))
    dmy = pd.Series(pc.strftime(stamps, format=dmy_fmt).to_numpy(zero_copy_only=False), dtype="str",
                    name="InvoiceDate")
    del got, want, stamps
    ours_dmy, got = best(lambda: read_dates(dmy, "InvoiceDate", 2, dayfirst=True), repeat)
    pandas_dmy, want = best(lambda: pd.to_datetime(dmy, format=dmy_fmt), repeat)
    assert (got == want.to_numpy("datetime64[ns]")).all(), "read_dates differs from to_datetime (day-first)"
    return {"dtype": str(text.dtype), "example_iso": text.iloc[0], "example_dayfirst": dmy.iloc[0],
            "read_dates_iso_s": ours_iso, "to_datetime_iso_s": pandas_iso, "iso_ratio": ours_iso / pandas_iso,
            "read_dates_dayfirst_s": ours_dmy, "to_datetime_dayfirst_s": pandas_dmy,
            "dayfirst_ratio": ours_dmy / pandas_dmy}


def bench_writer(csv: str, folder: str, repeat: int) -> dict:
    import rfm_addin
    import rfm_addin.writers.xlsx as wx

    t0 = time.perf_counter()
    analysis = rfm_addin.analyze(csv)
    analyze_s = time.perf_counter() - t0
    out = os.path.join(folder, "writer.xlsx")

    def clear():
        if os.path.exists(out):
            os.remove(out)

    default = wx.BULK_ROWS
    try:
        wx.BULK_ROWS = 10**12
        old_s, _ = best(lambda: wx.write_analysis(analysis, out), repeat, clear)
        old_bytes = os.path.getsize(out)
    finally:
        wx.BULK_ROWS = default
    new_s, _ = best(lambda: wx.write_analysis(analysis, out), repeat, clear)
    new_bytes = os.path.getsize(out)
    clear()
    return {"analyze_s": analyze_s, "customers": len(analysis.customers),
            "bulk_rows_default": default, "cell_by_cell_s": old_s, "bulk_s": new_s, "speedup": old_s / new_s,
            "cell_by_cell_bytes": old_bytes, "bulk_bytes": new_bytes}


RFM_SQL = """
WITH t AS (SELECT * FROM frame WHERE CustomerID IS NOT NULL),
dups AS (SELECT coalesce(sum(n - 1), 0) AS duplicates
         FROM (SELECT count(*) AS n FROM t GROUP BY CustomerID, InvoiceDate, Amount)),
as_of AS (SELECT CAST(max(InvoiceDate) AS DATE) + 1 AS day FROM t),
per AS (SELECT CustomerID,
               max(InvoiceDate) FILTER (WHERE Amount > 0) AS last_buy,
               count(*) FILTER (WHERE Amount > 0)         AS frequency,
               sum(Amount)                                AS monetary
        FROM t GROUP BY CustomerID HAVING count(*) FILTER (WHERE Amount > 0) > 0)
SELECT per.CustomerID,
       date_diff('day', CAST(per.last_buy AS DATE), as_of.day) AS recency,
       per.frequency, per.monetary, dups.duplicates
FROM per, as_of, dups
ORDER BY per.CustomerID
"""


def with_duplicates(frame: pd.DataFrame) -> pd.DataFrame:
    """The frame and 1% of its rows again (seeded): exact duplicates for the count to find."""
    return pd.concat([frame, frame.sample(frac=0.01, random_state=0)], ignore_index=True)


#: Run by ``--old-python``: the same typed frame, duplicates and timing, on another pandas.
OLD_PANDAS_SCRIPT = r"""
import json, sys, time
import pandas as pd
import rfm_addin
frame = pd.read_csv(sys.argv[1], dtype={"InvoiceNo": str, "CustomerID": str}, parse_dates=["InvoiceDate"])
frame = frame.drop(columns="InvoiceNo")
frame = pd.concat([frame, frame.sample(frac=0.01, random_state=0)], ignore_index=True)
times = []
for _ in range(int(sys.argv[2])):
    start = time.perf_counter()
    rfm_addin.rfm_table(frame)
    times.append(time.perf_counter() - start)
print(json.dumps({"pandas": pd.__version__, "rfm_table_s": min(times)}))
"""


def old_pandas_rfm_table(python: str, csv: str, repeat: int) -> dict:
    """``rfm_table`` without an order column in another interpreter (the oldest pandas the
    package allows), on the same data, best of ``repeat``."""
    done = subprocess.run([python, "-c", OLD_PANDAS_SCRIPT, csv, str(repeat)], capture_output=True, text=True,
                          check=True)
    return json.loads(done.stdout.strip().splitlines()[-1])


def bench_rfm_table(frame: pd.DataFrame, repeat: int) -> dict:
    import duckdb

    import rfm_addin
    from rfm_addin.sources.route import compute_rfm

    con = duckdb.connect()
    con.register("frame", frame)
    ours_s, ours = best(lambda: rfm_addin.rfm_table(frame), repeat)
    duck_s, duck = best(lambda: con.execute(RFM_SQL).df(), repeat)
    # untimed cross-check: same customers, same numbers, same duplicate count
    d = duck.set_index("CustomerID")
    assert list(d.index.astype(str)) == list(ours.index.astype(str)), "customers differ"
    for col in ("recency", "frequency"):
        assert (d[col].to_numpy("int64") == ours[col].to_numpy("int64")).all(), f"{col} differs"
    np.testing.assert_allclose(d["monetary"].to_numpy(float), ours["monetary"].to_numpy(float), atol=1e-6)
    report_dups = compute_rfm(frame).quality.counts.get("possible_duplicates")
    duck_dups = int(duck["duplicates"].iloc[0]) if len(duck) else 0
    assert report_dups == duck_dups, f"duplicates differ: ours {report_dups}, duckdb {duck_dups}"
    con.close()
    return {"rfm_table_s": ours_s, "duckdb_s": duck_s, "ratio": ours_s / duck_s, "customers": len(ours),
            "possible_duplicates": duck_dups, "frequency_basis": ours.attrs.get("frequency_basis")}


# --------------------------------------------------------------------------- main
def machine_info() -> dict:
    import duckdb
    import sklearn
    import xlsxwriter

    import rfm_addin

    info = {"python": platform.python_version(), "platform": platform.platform(), "cores": os.cpu_count(),
            "numpy": np.__version__, "pandas": pd.__version__, "duckdb": duckdb.__version__,
            "sklearn": sklearn.__version__, "xlsxwriter": xlsxwriter.__version__,
            "rfm_addin": getattr(rfm_addin, "__version__", "?"), "peak_rss_from": TIME or "python launcher",
            "OMP_NUM_THREADS": os.environ.get("OMP_NUM_THREADS")}
    try:
        where = os.path.dirname(os.path.dirname(os.path.abspath(rfm_addin.__file__)))
        info["git"] = subprocess.run(["git", "-C", where, "describe", "--always", "--dirty"],
                                     capture_output=True, text=True, timeout=10).stdout.strip() or None
    except (OSError, subprocess.SubprocessError):
        info["git"] = None
    return info


def load() -> float:
    return round(os.getloadavg()[0], 2) if hasattr(os, "getloadavg") else float("nan")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--lines", type=parse_size, default=parse_size("1m"), help="CSV lines (default 1m)")
    parser.add_argument("--repeat", type=int, default=3, help="best of N (default 3)")
    parser.add_argument("--ten-million", action="store_true", help="also run OURS on a 10M-line CSV")
    parser.add_argument("--old-python", metavar="PYTHON",
                        help="an interpreter with the oldest supported pandas and rfm_addin installed: also time "
                             "rfm_table there (target within 1.5x of this interpreter's time)")
    parser.add_argument("--out", help="write the figures as JSON")
    args = parser.parse_args(argv)

    info = machine_info()
    print("machine: " + ", ".join(f"{k}={v}" for k, v in info.items()), flush=True)
    print(f"pandas {pd.__version__}; repeat={args.repeat} (best of); load {load()}", flush=True)
    figures: dict = {"machine": info, "repeat": args.repeat, "load_start": load()}
    targets: list[tuple[str, float, str, float]] = []   # (figure, value, op, target)

    with tempfile.TemporaryDirectory(prefix="bench_e2e_") as folder:
        csv = os.path.join(folder, "export.csv")
        t0 = time.perf_counter()
        data = write_export(csv, args.lines)
        data["generate_s"] = time.perf_counter() - t0
        typed = read_typed(csv)
        data["typed_table_bytes"] = int(typed.memory_usage(deep=True).sum())
        data["typed_dtypes"] = {c: str(t) for c, t in typed.dtypes.items()}
        figures["data"] = data
        print(f"data: {data['lines']:,} lines, {data['orders']:,} orders, {data['customers']:,} customers, "
              f"{data['cancelled_lines_share']:.1%} cancelled lines, {data['distinct_timestamps']:,} distinct "
              f"timestamps; CSV {data['csv_bytes'] / 1e6:.1f} MB, typed table {data['typed_table_bytes'] / 1e6:.1f} MB "
              f"({', '.join(f'{c}: {t}' for c, t in data['typed_dtypes'].items())}); generated in "
              f"{data['generate_s']:.1f} s", flush=True)
        with open(csv) as fh:
            print("  " + "  |  ".join(fh.readline().strip() for _ in range(3)), flush=True)

        # 1. end to end
        print(f"end to end (child processes), best of {args.repeat}:", flush=True)
        e2e = end_to_end(csv, folder, args.repeat)
        e2e["ours_vs_floor"] = e2e["ours"]["s"] / e2e["floor"]["s"]
        e2e["ours_vs_tutorial"] = e2e["ours"]["s"] / e2e["tutorial"]["s"]
        e2e["ours_rss_vs_typed"] = e2e["ours"]["peak_mb"] * 2**20 / data["typed_table_bytes"]
        # context for the memory ratio: the same command on a 1k-line export is the interpreter
        # and its imports, nearly no data
        tiny = os.path.join(folder, "tiny.csv")
        write_export(tiny, 1_000)
        e2e["ours_1k_peak_mb"] = end_to_end(tiny, folder, 1, which=("ours",))["ours"]["peak_mb"]
        os.remove(tiny)
        e2e["ours_rss_above_1k_vs_typed"] = ((e2e["ours"]["peak_mb"] - e2e["ours_1k_peak_mb"]) * 2**20
                                             / data["typed_table_bytes"])
        figures["end_to_end"] = e2e
        for w in ("ours", "tutorial", "floor"):
            print(f"  {w.upper():9s} {e2e[w]['s']:7.2f} s   peak RSS {e2e[w]['peak_mb']:7.0f} MB", flush=True)
        print(f"  OURS on a 1k-line export: peak RSS {e2e['ours_1k_peak_mb']:.0f} MB (interpreter + imports); "
              f"the full-size peak above it / typed table = {e2e['ours_rss_above_1k_vs_typed']:.2f} (no target)",
              flush=True)
        targets += [("OURS / FLOOR time", e2e["ours_vs_floor"], "<=", 2.0),
                    ("OURS / TUTORIAL time", e2e["ours_vs_tutorial"], "<", 1.0),
                    ("OURS peak RSS / typed table", e2e["ours_rss_vs_typed"], "<=", 2.0)]

        # 2a. dates
        print(f"dates (pandas {pd.__version__}), best of {args.repeat}:", flush=True)
        dates = bench_dates(csv, args.repeat)
        figures["dates"] = dates
        print(f"  {dates['example_iso']!r}: read_dates {dates['read_dates_iso_s']:.3f} s, to_datetime(format) "
              f"{dates['to_datetime_iso_s']:.3f} s, ratio {dates['iso_ratio']:.2f}", flush=True)
        print(f"  {dates['example_dayfirst']!r}: read_dates(dayfirst) {dates['read_dates_dayfirst_s']:.3f} s, "
              f"to_datetime(format) {dates['to_datetime_dayfirst_s']:.3f} s, ratio {dates['dayfirst_ratio']:.2f}",
              flush=True)
        targets += [("read_dates / to_datetime (ISO)", dates["iso_ratio"], "<=", 2.0),
                    ("read_dates / to_datetime (day-first)", dates["dayfirst_ratio"], "<=", 2.0)]

        # 2b. writer
        print(f"workbook writer, best of {args.repeat}:", flush=True)
        writer = bench_writer(csv, folder, args.repeat)
        figures["writer"] = writer
        print(f"  analyze {writer['analyze_s']:.2f} s (once); write_analysis cell by cell "
              f"{writer['cell_by_cell_s']:.2f} s, bulk {writer['bulk_s']:.2f} s, old / new {writer['speedup']:.2f}",
              flush=True)
        targets.append(("write_analysis old / new", writer["speedup"], ">=", 3.0))

        # 2c. rfm_table without an order column
        print(f"rfm_table without an order column, best of {args.repeat}:", flush=True)
        frame = with_duplicates(typed.drop(columns="InvoiceNo"))
        del typed
        rt = bench_rfm_table(frame, args.repeat)
        del frame
        figures["rfm_table"] = rt
        print(f"  rfm_table {rt['rfm_table_s']:.3f} s, DuckDB query {rt['duckdb_s']:.3f} s, ratio "
              f"{rt['ratio']:.2f} ({rt['customers']:,} customers, {rt['possible_duplicates']} identical rows)",
              flush=True)
        targets.append(("rfm_table / DuckDB (no order column)", rt["ratio"], "<=", 3.0))
        if args.old_python:
            old = old_pandas_rfm_table(args.old_python, csv, args.repeat)
            figures["rfm_table_old_pandas"] = old
            ratio = old["rfm_table_s"] / rt["rfm_table_s"]
            print(f"  on pandas {old['pandas']} ({args.old_python}): rfm_table {old['rfm_table_s']:.3f} s, "
                  f"{ratio:.2f}x its pandas {pd.__version__} time", flush=True)
            targets.append((f"rfm_table pandas {old['pandas']} / {pd.__version__}", ratio, "<=", 1.5))
        os.remove(csv)

        # 3. ten million
        if args.ten_million:
            big = os.path.join(folder, "export_10m.csv")
            t0 = time.perf_counter()
            big_data = write_export(big, 10_000_000)
            big_data["generate_s"] = time.perf_counter() - t0
            print(f"10M: CSV {big_data['csv_bytes'] / 1e6:.0f} MB generated in {big_data['generate_s']:.1f} s; "
                  f"OURS best of {args.repeat}:", flush=True)
            ten = end_to_end(big, folder, args.repeat, which=("ours",))["ours"]
            ten["data"] = big_data
            figures["ten_million"] = ten
            print(f"  OURS {ten['s']:.1f} s, peak RSS {ten['peak_mb']:.0f} MB", flush=True)
            targets.append(("OURS 10M peak RSS (GB)", ten["peak_mb"] / 1024, "<", 3.0))

    figures["load_end"] = load()
    ops = {"<=": lambda a, b: a <= b, "<": lambda a, b: a < b, ">=": lambda a, b: a >= b}
    figures["targets"] = [{"figure": f, "value": v, "target": f"{op} {t}", "met": bool(ops[op](v, t))}
                          for f, v, op, t in targets]
    width = max(len(f) for f, *_ in targets)
    print(f"\nsummary ({data['lines']:,} lines, best of {args.repeat}, {os.cpu_count()} cores, "
          f"load {figures['load_start']} -> {figures['load_end']}):")
    print(f"  {'figure':{width}s}  {'value':>8s}  {'target':>8s}  met")
    for row in figures["targets"]:
        print(f"  {row['figure']:{width}s}  {row['value']:8.2f}  {row['target']:>8s}  "
              f"{'met' if row['met'] else 'NOT MET'}")
    if args.out:
        Path(args.out).write_text(json.dumps(figures, indent=2, default=str))
    return 0


if __name__ == "__main__":
    sys.exit(main())
