"""Migration and history on 1M transactions, as ratios against one rfm_table (+ score + segment) in
the same run (issue 15's targets: migration at most 2.2x rfm_table + score + segment; history with 8
quarterly dates at most 4x one rfm_table).

Data: ``bench_core.generate`` (order-level transactions over 2023-2024, 50,000 customers at 1M rows).
Each figure is the best of ``--repeat`` runs, the variants alternating so load hits them alike.

Run: ``python benchmarks/bench_migration.py [--rows 1M] [--repeat 3]``.
"""
from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

import rfm_addin  # noqa: E402
from bench_core import generate, parse_size  # noqa: E402


def timed(fn) -> float:
    start = time.perf_counter()
    fn()
    return time.perf_counter() - start


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", default="1M")
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args(argv)
    tx = generate(parse_size(args.rows))
    tx = tx[[c for c in tx.columns]]

    def one():
        table = rfm_addin.rfm_table(tx, as_of="2024-10-01")
        rfm_addin.segment(rfm_addin.score(table))

    def table_only():
        rfm_addin.rfm_table(tx, as_of="2024-10-01")

    def moved():
        rfm_addin.migration(tx, "2024-07-01", "2024-10-01")

    def over_time():
        rfm_addin.history(tx, freq="QS", start="2023-01-01", end="2024-10-01")

    one()  # imports and warm-up
    best = {"table": [], "one": [], "migration": [], "history": []}
    for _ in range(args.repeat):
        best["table"].append(timed(table_only))
        best["one"].append(timed(one))
        best["migration"].append(timed(moved))
        best["history"].append(timed(over_time))
    t, o, m, h = (min(best[k]) for k in ("table", "one", "migration", "history"))
    dates = len(rfm_addin.history(tx, freq="QS", start="2023-01-01", end="2024-10-01").dates)
    print(f"{len(tx):,} transactions; best of {args.repeat}")
    print("| call | seconds | ratio | target |")
    print("|---|---|---|---|")
    print(f"| rfm_table | {t:.2f} | 1.00 | |")
    print(f"| rfm_table + score + segment | {o:.2f} | {o / t:.2f} | |")
    print(f"| migration (relative) | {m:.2f} | {m / o:.2f} x rfm_table + score + segment | at most 2.2 |")
    print(f"| history ({dates} quarterly dates) | {h:.2f} | {h / t:.2f} x rfm_table | at most 4 |")
    return 0


if __name__ == "__main__":
    sys.exit(main())
