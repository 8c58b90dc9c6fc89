#!/usr/bin/env python
"""The Python side of a worksheet function as desktop Excel calls it, per 100k rows.

Usage::

    python benchmarks/bench_udf_desktop.py [--rows 100000] [--repeat 3]

Runs ``RFM_SCORE`` and ``RFM_TABLE`` through xlwings' own ``call_udf`` (the test harness
``tests/excel/desktop_harness.py``: xlwings' installed Windows code over fake COM ranges
that return what pywin32 returns; currency amounts as ``Decimal``), with whole-column
references (``B:B``) and with references of exactly the data. Reported: seconds per call
and per 100k rows, and the cells moved through ``Range.Value``. What COM itself costs to
move those cells in Excel is not measured here (no Excel); the cells moved are what the
accessor in ``rfm_addin/excel/used_rows.py`` keeps proportional to the data.

This is a script: nothing here asserts on time.
"""
from __future__ import annotations

import argparse
import os
import sys
import time

import numpy as np

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, ROOT)
sys.path.insert(0, os.path.join(ROOT, "tests", "excel"))

from desktop_harness import ComSheet, com_time, currency, windows_xlwings  # noqa: E402


def build(n: int, seed: int = 7) -> tuple[ComSheet, ComSheet]:
    rng = np.random.default_rng(seed)
    customers = ["Customer"] + [f"C{c:06d}" for c in rng.integers(0, n // 4, n)]
    days = rng.integers(0, 365, n)
    dates = ["Date"] + [com_time(2024, 1, 1 + int(d) % 28) for d in days]
    amounts = ["Amount"] + [currency(f"{a:.2f}") for a in rng.gamma(2.0, 30.0, n)]
    transactions = ComSheet.from_columns("Transactions", {"A": customers, "B": dates, "C": amounts})
    recency = ["Recency"] + [float(d) for d in days]
    frequency = ["Frequency"] + [float(f) for f in rng.integers(1, 20, n)]
    monetary = ["Monetary"] + [currency(f"{a:.2f}") for a in rng.gamma(2.0, 300.0, n)]
    metrics = ComSheet.from_columns("Customers", {"A": recency, "B": frequency, "C": monetary})
    return transactions, metrics


def timed(call, repeat: int) -> tuple[float, object]:
    best, result = float("inf"), None
    for _ in range(repeat):
        start = time.perf_counter()
        result = call()
        best = min(best, time.perf_counter() - start)
    return best, result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--rows", type=int, default=100_000)
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()
    transactions, metrics = build(args.rows)
    per = 100_000 / args.rows
    with windows_xlwings() as excel:
        for name, sheet in (("RFM_SCORE", metrics), ("RFM_TABLE", transactions)):
            for label, refs in (
                    ("whole columns A:A, B:B, C:C", [sheet.column(f"{c}:{c}") for c in "ABC"]),
                    ("exact ranges", [sheet.Range(sheet.Cells(1, c), sheet.Cells(args.rows + 1, c))
                                      for c in (1, 2, 3)])):
                sheet.transferred = 0
                seconds, result = timed(lambda: excel.call(name, *refs), args.repeat)
                assert not str(result[0][0]).startswith("#RFM!"), result[0][0]
                moved = sheet.transferred // args.repeat
                print(f"{name:10s} {label:28s} {seconds:7.3f} s per call, {seconds * per:6.3f} s per 100k rows, "
                      f"{moved:,} cells through Range.Value")


if __name__ == "__main__":
    main()
