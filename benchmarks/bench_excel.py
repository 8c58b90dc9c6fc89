#!/usr/bin/env python
"""Time the Python side of the RFM worksheet functions on Excel-shaped inputs.

Usage::

    python benchmarks/bench_excel.py [--rows 1000000] [--repeat 3]

Inputs are built exactly as xlwings delivers a range to a UDF: a list of one-element
lists per column, numbers as ``float``, dates as ``datetime``, empty cells as ``None``,
with a header row. Each timing includes the conversion from those nested lists and the
conversion of the result back to a 2-D list. Each function is compared with a plain
pandas path doing the same job in the same run (numbers from the same nested lists, no
validation, no row-numbered errors): the ratio is the price of the checks.

This is a script: nothing here asserts on time.
"""
from __future__ import annotations

import argparse
import datetime as dt
import os
import sys
import time

import numpy as np
import pandas as pd

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

from rfm_addin.excel import udfs  # noqa: E402

SEED = 20240611


def excel_column(header: str, values) -> list[list]:
    """A column as xlwings delivers it: [[header], [v1], [v2], ...]."""
    return [[header]] + [[v] for v in values]


def score_inputs(n: int, rng: np.random.Generator) -> tuple[list, list, list]:
    recency = rng.integers(1, 731, n).astype(float)
    frequency = (rng.geometric(0.4, n)).astype(float)
    monetary = np.round(rng.gamma(2.0, 60.0, n) * frequency, 2)
    return (excel_column("Recency", recency.tolist()), excel_column("Frequency", frequency.tolist()),
            excel_column("Monetary", monetary.tolist()))


def table_inputs(n: int, rng: np.random.Generator) -> tuple[list, list, list]:
    customers = rng.integers(10_000, 10_000 + n // 20, n).astype(float)
    start = dt.datetime(2023, 1, 1)
    days = rng.integers(0, 730, n)
    calendar = [start + dt.timedelta(days=int(d)) for d in range(730)]
    dates = [calendar[d] for d in days]
    amounts = np.round(rng.gamma(2.0, 30.0, n), 2)
    return (excel_column("Customer", customers.tolist()), excel_column("Date", dates),
            excel_column("Amount", amounts.tolist()))


def pandas_score(recency, frequency, monetary) -> list[list]:
    """The plain recipe: qcut on ranks, codes by string concatenation, back to lists."""
    frame = pd.DataFrame({"r": [r[0] for r in recency[1:]], "f": [r[0] for r in frequency[1:]],
                          "m": [r[0] for r in monetary[1:]]})
    r = pd.qcut(frame["r"].rank(method="first"), 5, labels=[5, 4, 3, 2, 1]).astype(int)
    f = pd.qcut(frame["f"].rank(method="first"), 5, labels=[1, 2, 3, 4, 5]).astype(int)
    m = pd.qcut(frame["m"].rank(method="first"), 5, labels=[1, 2, 3, 4, 5]).astype(int)
    code = r.astype(str) + f.astype(str) + m.astype(str)
    total = (r + f + m) / 3
    out = pd.DataFrame({"R": r, "F": f, "M": m, "code": code, "score": total})
    return [list(out.columns)] + out.to_numpy(dtype=object).tolist()


def pandas_table(customers, dates, amounts) -> list[list]:
    """The plain recipe: groupby customer on max date, row count and sum."""
    frame = pd.DataFrame({"c": [r[0] for r in customers[1:]], "d": pd.to_datetime([r[0] for r in dates[1:]]),
                          "a": [r[0] for r in amounts[1:]]})
    as_of = frame["d"].max().normalize() + pd.Timedelta(days=1)
    grouped = frame.groupby("c").agg(last=("d", "max"), frequency=("d", "size"), monetary=("a", "sum"))
    grouped["recency"] = (as_of - grouped["last"].dt.normalize()).dt.days
    out = grouped[["recency", "frequency", "monetary"]].reset_index()
    return [["Customer", "Recency", "Frequency", "Monetary"]] + out.to_numpy(dtype=object).tolist()


def best_of(repeat: int, func, *args) -> tuple[float, object]:
    best, result = float("inf"), None
    for _ in range(repeat):
        start = time.perf_counter()
        result = func(*args)
        best = min(best, time.perf_counter() - start)
    return best, result


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args(argv)
    rng = np.random.default_rng(SEED)
    n = args.rows

    print(f"{n:,} rows, best of {args.repeat}")
    inputs = score_inputs(n, rng)
    t_udf, result = best_of(args.repeat, udfs.RFM_SCORE, *inputs)
    assert len(result) == n + 1 and not str(result[0][0]).startswith("#RFM!"), result[:2]
    t_pd, _ = best_of(args.repeat, pandas_score, *inputs)
    print(f"RFM_SCORE  {n:>10,} rows          {t_udf:7.3f} s   pandas recipe {t_pd:7.3f} s   ratio {t_udf / t_pd:5.2f}")

    inputs = table_inputs(n, rng)
    t_udf, result = best_of(args.repeat, udfs.RFM_TABLE, *inputs)
    assert not str(result[0][0]).startswith("#RFM!"), result[:2]
    t_pd, expected = best_of(args.repeat, pandas_table, *inputs)
    assert len(result) == len(expected), (len(result), len(expected))
    print(f"RFM_TABLE  {n:>10,} transactions  {t_udf:7.3f} s   pandas recipe {t_pd:7.3f} s   ratio {t_udf / t_pd:5.2f}"
          f"   ({len(result) - 1:,} customers)")


if __name__ == "__main__":
    main()
