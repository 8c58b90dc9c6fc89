#!/usr/bin/env python
"""Benchmark rfm_addin.rfm_table / rfm_addin.analyze against DuckDB and a pandas recipe.

Usage::

    python benchmarks/bench_core.py [--sizes 10k,100k,1m,10m] [--repeat 3]
                                    [--analyze-max 1m] [--out results.json]

This is a script, not a test: nothing here asserts on timings. The only assertion is a
correctness cross-check (on the smallest size, or any size <= 10k rows) that
``rfm_table`` and the DuckDB query compute the same numbers, so the comparison is
between equal work. See benchmarks/README.md for what each column means.
"""
from __future__ import annotations

import argparse
import gc
import json
import os
import platform
import resource
import subprocess
import sys
import time

import numpy as np
import pandas as pd

SEED = 20240611
START = np.datetime64("2023-01-01T00:00:00", "s")
SPAN_DAYS = 730  # ~2 years of orders: 2023-01-01 .. 2024-12-31
AS_OF = pd.Timestamp("2025-01-01")  # the day after the last possible order
RETURN_RATE = 0.02  # share of rows that are returns (negative amount, invoice "C...")
ROWS_PER_CUSTOMER = 20  # n / 20 customers
GAMMA_SHAPE = 0.4  # heterogeneous purchase rates: many buy once, few buy a lot

# run from a checkout without `pip install -e .`: import the package next to benchmarks/
_REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
try:
    import rfm_addin  # noqa: F401
except ImportError:
    sys.path.insert(0, _REPO)

COLS = dict(customer="CustomerID", date="OrderDate", amount="OrderAmount", order="InvoiceNo")


# --------------------------------------------------------------------------- data
def parse_size(text: str) -> int:
    text = text.strip().lower().replace("_", "")
    mult = {"k": 1_000, "m": 1_000_000, "g": 1_000_000_000}
    if text and text[-1] in mult:
        return int(float(text[:-1]) * mult[text[-1]])
    return int(text)


def size_label(n: int) -> str:
    for div, suf in ((1_000_000, "m"), (1_000, "k")):
        if n >= div and n % div == 0:
            return f"{n // div}{suf}"
    return str(n)


def _prefixed(prefix: str, numbers: np.ndarray, width: int):
    """Vectorised f"{prefix}{number:0{width}d}" -> pyarrow string array."""
    import pyarrow as pa
    import pyarrow.compute as pc

    digits = pc.utf8_lpad(pc.cast(pa.array(numbers), pa.string()), width=width, padding="0")
    return pc.binary_join_element_wise(pa.scalar(prefix), digits, "")


def generate(n: int, seed: int = SEED) -> pd.DataFrame:
    """Order-level transactions: one row per invoice, ~2% of them returns.

    * ``n / 20`` customers ("C000123"), each with at least one purchase; the remaining
      purchases are spread with gamma-distributed weights (heavy-tailed: most customers
      buy once or twice, a few buy hundreds of times).
    * Purchases uniform over two years with a time of day; sorted by date like an
      export from an order system, invoice numbers increase with date.
    * Returns (~2% of rows) copy an earlier purchase of the same customer, 0-30 days
      later (within the period), with a negative amount of 10-100% of it and an
      invoice number starting with "C".
    """
    import pyarrow as pa

    rng = np.random.default_rng(seed)
    n_customers = max(1, n // ROWS_PER_CUSTOMER)
    n_returns = int(round(n * RETURN_RATE))
    n_purchases = n - n_returns
    if n_purchases < n_customers:
        raise ValueError(f"size {n} too small")

    # customer of each purchase: one guaranteed purchase each, the rest by weight
    weights = rng.gamma(GAMMA_SHAPE, 1.0, n_customers)
    weights /= weights.sum()
    extra = rng.choice(n_customers, size=n_purchases - n_customers, p=weights)
    cust = np.concatenate([np.arange(n_customers, dtype=np.int64), extra.astype(np.int64)])
    del extra
    secs = rng.integers(0, SPAN_DAYS * 86_400, n_purchases, dtype=np.int64)
    # lognormal order values, median ~ 40, two decimals; never 0
    amount = np.round(rng.lognormal(mean=3.7, sigma=0.9, size=n_purchases), 2)
    np.maximum(amount, 0.01, out=amount)

    # returns: copy random purchases, later, negative part of the amount
    src = rng.integers(0, n_purchases, n_returns)
    room = np.minimum(31 * 86_400, SPAN_DAYS * 86_400 - 1 - secs[src])  # stay inside the period
    r_secs = secs[src] + (rng.random(n_returns) * room).astype(np.int64)
    del room
    r_amount = -np.round(amount[src] * rng.uniform(0.1, 1.0, n_returns), 2)
    np.minimum(r_amount, -0.01, out=r_amount)

    cust = np.concatenate([cust, cust[src]])
    secs = np.concatenate([secs, r_secs])
    amount = np.concatenate([amount, r_amount])
    is_return = np.zeros(n, dtype=bool)
    is_return[n_purchases:] = True
    del src, r_secs, r_amount

    order = np.argsort(secs, kind="stable")
    cust, secs, amount, is_return = cust[order], secs[order], amount[order], is_return[order]
    del order

    cust_ids = _prefixed("C", np.arange(n_customers, dtype=np.int64), 6)
    customer = pa.array(cust_ids).take(pa.array(cust))
    del cust
    inv_num = np.arange(1, n + 1, dtype=np.int64)
    purchase_inv = _prefixed("I", inv_num, 8)
    return_inv = _prefixed("C", inv_num, 8)
    import pyarrow.compute as pc

    invoice = pc.if_else(pa.array(is_return), return_inv, purchase_inv)
    del purchase_inv, return_inv, inv_num

    dates = (START + secs.astype("timedelta64[s]")).astype("datetime64[ns]")
    del secs
    df = pd.DataFrame(
        {
            "CustomerID": pd.Series(customer, dtype="str"),
            "OrderDate": dates,
            "OrderAmount": amount,
            "InvoiceNo": pd.Series(invoice, dtype="str"),
        }
    )
    del customer, invoice, is_return
    # hand freed Arrow buffers back to the OS so RSS after generation ~ the data itself
    pa.default_memory_pool().release_unused()
    return df


# --------------------------------------------------------------------------- baselines
# Recency in calendar days from the last non-cancelled order to as_of, time of day
# ignored -- rfm_addin's definition. DuckDB's date_diff('day', ts, ts) counts day
# boundaries, which is exactly that. (The pandas recipe's (as_of - last).days floors the
# elapsed time instead, one day less for orders with a time of day.)
RECENCY_SQL = "date_diff('day', max(OrderDate) FILTER (WHERE NOT is_cancel), $as_of)"

DUCKDB_SQL = """
SELECT
    CustomerID,
    {recency}                                                            AS recency,
    count(DISTINCT InvoiceNo) FILTER (WHERE NOT is_cancel)               AS frequency,
    sum(OrderAmount)                                                     AS monetary,
    min(OrderDate) FILTER (WHERE NOT is_cancel)                          AS first_purchase,
    max(OrderDate) FILTER (WHERE NOT is_cancel)                          AS last_purchase,
    sum(OrderAmount)
      / nullif(count(DISTINCT InvoiceNo) FILTER (WHERE NOT is_cancel), 0) AS avg_order_value
FROM (
    SELECT *, (OrderAmount < 0 OR starts_with(InvoiceNo, 'C')) AS is_cancel
    FROM {table}
)
GROUP BY CustomerID
"""


def duckdb_rfm(con, table: str = "tx", as_of: pd.Timestamp = AS_OF) -> pd.DataFrame:
    sql = DUCKDB_SQL.format(table=table, recency=RECENCY_SQL)
    return con.execute(sql, {"as_of": as_of.to_pydatetime()}).df()


def pandas_recipe(df: pd.DataFrame, as_of: pd.Timestamp = AS_OF) -> pd.DataFrame:
    return df.groupby("CustomerID").agg(
        recency=("OrderDate", lambda x: (as_of - x.max()).days),
        frequency=("InvoiceNo", "nunique"),
        monetary=("OrderAmount", "sum"),
    )


def cross_check(rfm: pd.DataFrame, duck: pd.DataFrame) -> None:
    d = duck.set_index("CustomerID").sort_index()
    r = rfm.sort_index()
    assert len(r) == len(d), f"customer count differs: rfm_table {len(r)} vs duckdb {len(d)}"
    assert (r.index.astype(str) == d.index.astype(str)).all(), "customer ids differ"
    rec_r = r["recency"].to_numpy(dtype="int64")
    rec_d = d["recency"].to_numpy(dtype="int64")
    bad = np.flatnonzero(rec_r != rec_d)
    assert bad.size == 0, f"recency differs for {bad.size} customers, e.g.\n{r.iloc[bad[:5]]}\n{d.iloc[bad[:5]]}"
    fr_r = r["frequency"].to_numpy(dtype="int64")
    fr_d = d["frequency"].to_numpy(dtype="int64")
    bad = np.flatnonzero(fr_r != fr_d)
    assert bad.size == 0, f"frequency differs for {bad.size} customers, e.g.\n{r.iloc[bad[:5]]}\n{d.iloc[bad[:5]]}"
    m_r = r["monetary"].to_numpy(dtype="float64")
    m_d = d["monetary"].to_numpy(dtype="float64")
    diff = np.abs(m_r - m_d)
    assert diff.max() <= 1e-6, f"monetary differs by up to {diff.max()}"


# --------------------------------------------------------------------------- timing
def best_of(fn, repeat: int):
    best = float("inf")
    result = None
    for _ in range(repeat):
        result = None
        gc.collect()
        t0 = time.perf_counter()
        result = fn()
        best = min(best, time.perf_counter() - t0)
    return best, result


# --------------------------------------------------------------------------- memory
def _proc_status(key: str) -> float | None:
    """VmHWM / VmRSS of this process in MB from /proc (Linux); None elsewhere."""
    try:
        with open("/proc/self/status") as fh:
            for line in fh:
                if line.startswith(key + ":"):
                    return int(line.split()[1]) / 1024.0
    except OSError:
        pass
    return None


def _reset_peak() -> bool:
    """Reset VmHWM to the current RSS (Linux >= 4.0: write 5 to clear_refs)."""
    try:
        with open("/proc/self/clear_refs", "w") as fh:
            fh.write("5")
        return True
    except OSError:
        return False


def _child(mode: str, n: int) -> None:
    """Run in a fresh interpreter: generate data (and run rfm_table), print memory JSON."""
    import rfm_addin  # noqa: F401  (same imports in both modes, so the baseline is fair)

    df = generate(n)
    gc.collect()
    out = {"gen_peak_mb": _proc_status("VmHWM"), "data_rss_mb": _proc_status("VmRSS")}
    if mode == "rfm_table":
        out["reset"] = _reset_peak()
        rfm_addin.rfm_table(df, **COLS, as_of=AS_OF)
        out["rfm_peak_mb"] = _proc_status("VmHWM")
    out["maxrss_mb"] = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0
    print(json.dumps(out))


def measure_memory(n: int) -> dict:
    """Memory (MB) of two fresh child interpreters, both importing rfm_addin:

    * ``data``: generates the data only; ``data_rss_mb`` is its RSS with the DataFrame
      held (the input alone), ``gen_peak_mb`` its peak while generating.
    * ``rfm_table``: generates the same data, resets the peak (VmHWM) and runs
      rfm_table; ``rfm_peak_mb`` is the peak RSS while rfm_table ran, data included.
      Without the reset (non-Linux) it is the whole child's peak (ru_maxrss).
    ``rusage_children_maxrss_mb`` (RUSAGE_CHILDREN) is the largest child peak overall.
    """
    res = {}
    for mode in ("data", "rfm_table"):
        proc = subprocess.run(
            [sys.executable, os.path.abspath(__file__), "--_child", mode, str(n)],
            capture_output=True, text=True,
        )
        if proc.returncode != 0:
            res[mode] = {"error": (proc.stderr.strip().splitlines() or [f"rc={proc.returncode}"])[-1]}
            continue
        res[mode] = json.loads(proc.stdout.strip().splitlines()[-1])
    res["rusage_children_maxrss_mb"] = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024.0
    data = res.get("data", {})
    rfm = res.get("rfm_table", {})
    res["data_rss_mb"] = data.get("data_rss_mb")
    res["gen_peak_mb"] = data.get("gen_peak_mb")
    if rfm.get("reset") and rfm.get("rfm_peak_mb") is not None:
        res["rfm_peak_mb"] = rfm["rfm_peak_mb"]
    else:
        res["rfm_peak_mb"] = rfm.get("maxrss_mb")
    res["rfm_process_peak_mb"] = rfm.get("maxrss_mb")
    return res


# --------------------------------------------------------------------------- main
def machine_info() -> dict:
    import duckdb

    info = {
        "python": platform.python_version(),
        "platform": platform.platform(),
        "nproc": os.cpu_count(),
        "sched_cpus": len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else None,
        "numpy": np.__version__,
        "pandas": pd.__version__,
        "duckdb": duckdb.__version__,
    }
    try:
        import pyarrow

        info["pyarrow"] = pyarrow.__version__
    except ImportError:
        pass
    try:
        import sklearn

        info["sklearn"] = sklearn.__version__
    except ImportError:
        pass
    if hasattr(os, "getloadavg"):
        # other work on the machine skews every number: quote the load with the results
        info["loadavg_1m"] = round(os.getloadavg()[0], 2)
    try:
        with open("/proc/meminfo") as fh:
            info["mem_total_gb"] = round(int(fh.readline().split()[1]) / 1024**2, 1)
    except OSError:
        pass
    try:
        import rfm_addin

        info["rfm_addin"] = getattr(rfm_addin, "__version__", "?")
    except ImportError:
        pass
    info["git"] = git_state()
    return info


def git_state() -> str | None:
    """Commit of the checkout the package is imported from (+ "-dirty" with local edits)."""
    try:
        import rfm_addin

        where = os.path.dirname(os.path.dirname(os.path.abspath(rfm_addin.__file__)))
        out = subprocess.run(["git", "-C", where, "describe", "--always", "--dirty"],
                             capture_output=True, text=True, timeout=10)
        return out.stdout.strip() or None
    except (ImportError, OSError, subprocess.SubprocessError):
        return None


def fmt(x, spec=".3f", none="-"):
    return none if x is None else format(x, spec)


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--sizes", default="10k,100k,1m,10m", help="comma list, e.g. 10k,100k,1m,10m")
    ap.add_argument("--repeat", type=int, default=3, help="best of N (default 3)")
    ap.add_argument("--analyze-max", default="1m", help="run analyze() only up to this size (0: never)")
    ap.add_argument("--no-memory", action="store_true", help="skip the peak-memory child processes")
    ap.add_argument("--no-recipe", action="store_true", help="skip the pandas lambda recipe")
    ap.add_argument("--out", help="write results JSON here")
    ap.add_argument("--_child", nargs=2, metavar=("MODE", "N"), help=argparse.SUPPRESS)
    args = ap.parse_args(argv)

    if args._child:
        _child(args._child[0], int(args._child[1]))
        return 0

    import duckdb
    import rfm_addin

    sizes = [parse_size(s) for s in args.sizes.split(",") if s.strip()]
    analyze_max = parse_size(args.analyze_max)
    info = machine_info()
    print("machine: " + ", ".join(f"{k}={v}" for k, v in info.items()), flush=True)
    print(f"repeat={args.repeat} (best of), as_of={AS_OF.date()}, seed={SEED}", flush=True)

    results = []
    checked = False
    for n in sizes:
        row = {"size": size_label(n), "rows": n}
        t0 = time.perf_counter()
        df = generate(n)
        row["gen_s"] = time.perf_counter() - t0
        row["customers"] = int(df["CustomerID"].nunique())
        print(f"[{row['size']}] generated {n:,} rows, {row['customers']:,} customers in {row['gen_s']:.2f}s",
              flush=True)

        row["rfm_table_s"], rfm = best_of(lambda: rfm_addin.rfm_table(df, **COLS, as_of=AS_OF), args.repeat)
        print(f"[{row['size']}] rfm_table {row['rfm_table_s']:.3f}s", flush=True)

        con = duckdb.connect()
        con.register("tx", df)
        row["duckdb_s"], duck = best_of(lambda: duckdb_rfm(con), args.repeat)
        print(f"[{row['size']}] duckdb    {row['duckdb_s']:.3f}s", flush=True)

        if n <= 10_000 or not checked:
            cross_check(rfm, duck)
            checked = True
            row["cross_check"] = "ok"
            print(f"[{row['size']}] cross-check rfm_table == duckdb: ok", flush=True)
        del rfm, duck
        con.close()

        if not args.no_recipe:
            row["recipe_s"], _ = best_of(lambda: pandas_recipe(df), args.repeat)
            print(f"[{row['size']}] recipe    {row['recipe_s']:.3f}s", flush=True)
        else:
            row["recipe_s"] = None

        if n <= analyze_max:
            row["analyze_s"], _ = best_of(lambda: rfm_addin.analyze(df, **COLS, as_of=AS_OF), args.repeat)
            print(f"[{row['size']}] analyze   {row['analyze_s']:.3f}s", flush=True)
        else:
            row["analyze_s"] = None

        row["ratio_duckdb"] = row["rfm_table_s"] / row["duckdb_s"]
        row["ratio_recipe"] = row["rfm_table_s"] / row["recipe_s"] if row["recipe_s"] else None
        del df
        gc.collect()

        if not args.no_memory:
            mem = measure_memory(n)
            row["memory"] = mem
            row["data_mb"] = mem["data_rss_mb"]
            row["rfm_peak_mb"] = mem["rfm_peak_mb"]
            print(f"[{row['size']}] memory: data {fmt(mem['data_rss_mb'], '.0f')} MB, "
                  f"rfm_table peak {fmt(mem['rfm_peak_mb'], '.0f')} MB", flush=True)
        else:
            row["data_mb"] = row["rfm_peak_mb"] = None
        results.append(row)

    header = (f"{'size':>5} {'rows':>11} {'customers':>9} {'rfm_table':>9} {'duckdb':>8} {'recipe':>8} "
              f"{'rfm/duck':>8} {'rfm/recipe':>10} {'analyze':>8} {'data MB':>8} {'rfm MB':>8} {'rfm-data':>8}")
    print()
    print(header)
    print("-" * len(header))
    for r in results:
        delta = (r["rfm_peak_mb"] - r["data_mb"]) if r["rfm_peak_mb"] and r["data_mb"] else None
        print(f"{r['size']:>5} {r['rows']:>11,} {r['customers']:>9,} {r['rfm_table_s']:>9.3f} "
              f"{r['duckdb_s']:>8.3f} {fmt(r['recipe_s']):>8} {r['ratio_duckdb']:>8.2f} "
              f"{fmt(r['ratio_recipe'], '.3f'):>10} {fmt(r['analyze_s']):>8} "
              f"{fmt(r['data_mb'], '.0f'):>8} {fmt(r['rfm_peak_mb'], '.0f'):>8} {fmt(delta, '.0f'):>8}")
    if hasattr(os, "getloadavg"):
        info["loadavg_1m_end"] = round(os.getloadavg()[0], 2)
        print(f"load average (1 min): {info['loadavg_1m']} at start, {info['loadavg_1m_end']} at end "
              f"on {info['nproc']} cpus")
    info["git_end"] = git_state()
    if info["git_end"] != info["git"]:
        print(f"note: the package checkout changed during the run ({info['git']} -> {info['git_end']}); "
              "the memory children import it afresh")
    print(f"times in seconds, best of {args.repeat}; data MB = RSS of a child holding only the input "
          "DataFrame; rfm MB = peak RSS of a child while rfm_table ran (input included)")

    if args.out:
        with open(args.out, "w") as fh:
            json.dump({"machine": info, "repeat": args.repeat, "as_of": str(AS_OF), "seed": SEED,
                       "results": results}, fh, indent=2, default=str)
        print(f"wrote {args.out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
