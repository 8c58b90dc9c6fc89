"""Clusters a marketer can trust (issue 13): seed-to-seed agreement, quality of the fixed starts,
and what restarts and the stability figure cost.

For each data set: the lowest adjusted Rand index between the labels of seeds 0..9 (k given and
chosen) and after shuffling the rows; the final fit's inertia against the best of 100 seeded
k-means++ starts (how much the fixed starts give up); and the seconds of ``cluster()`` without
and with the final fit's restarts and the stability figure, paired in one run (median of 5), so
each extra cost is a difference measured under the same load.

Run: ``python benchmarks/bench_clusters.py [--quick]``.
"""
from __future__ import annotations

import argparse
import itertools
import statistics
import sys
import time
from pathlib import Path

import numpy as np
import pandas as pd
from sklearn.cluster import KMeans
from sklearn.metrics import adjusted_rand_score
from threadpoolctl import threadpool_limits

import rfm_addin
from rfm_addin.core import clustering
from rfm_addin.core.clustering import features

CDNOW = Path(__file__).resolve().parents[1] / "tests" / "data" / "CDNOW_master.txt"


def cdnow() -> pd.DataFrame:
    raw = pd.read_csv(CDNOW, sep=r"\s+", dtype={"customer_id": str, "date": str})
    raw["date"] = pd.to_datetime(raw["date"], format="%Y%m%d")
    return rfm_addin.rfm_table(raw, customer="customer_id", date="date", amount="dollar_value")


def lowest_ari(table: pd.DataFrame, k) -> tuple[float, set[int]]:
    runs = [rfm_addin.cluster(table, k=k, random_state=seed, stability=False) for seed in range(10)]
    labels = [r.labels.to_numpy() for r in runs]
    return min(adjusted_rand_score(a, b) for a, b in itertools.combinations(labels, 2)), {r.k for r in runs}


def shuffled_ari(table: pd.DataFrame) -> float:
    base = rfm_addin.cluster(table, stability=False).labels
    worst = 1.0
    for seed in range(3):
        other = rfm_addin.cluster(table.sample(frac=1.0, random_state=seed), stability=False).labels
        worst = min(worst, adjusted_rand_score(base.to_numpy(), other.reindex(base.index).to_numpy()))
    return worst


def inertia_gap(table: pd.DataFrame, k: int) -> float:
    x = features(table)
    result = rfm_addin.cluster(table, k=k, stability=False)
    ours = result.k_selection.loc[result.k_selection["chosen"], "inertia"].iloc[0]
    with threadpool_limits(1, "openmp"):
        best = KMeans(k, n_init=100, tol=1e-6, random_state=12345).fit(x).inertia_
    return ours / best - 1


def seconds(table: pd.DataFrame, stability: bool, restarts: bool = True) -> float:
    """Seconds of one ``cluster()`` call; ``restarts=False`` fits the chosen k like the sweep
    (one start, default tolerance): the baseline of what the final fit's restarts cost."""
    saved = clustering.FINAL_N_INIT, clustering.FINAL_TOL
    if not restarts:
        clustering.FINAL_N_INIT, clustering.FINAL_TOL = 1, 1e-4
    try:
        start = time.perf_counter()
        rfm_addin.cluster(table, stability=stability)
        return time.perf_counter() - start
    finally:
        clustering.FINAL_N_INIT, clustering.FINAL_TOL = saved


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="skip the 50,000-customer timing")
    args = parser.parse_args(argv)
    sets = [("CDNOW", cdnow(), 5), ("demo, 1,000 customers", rfm_addin.rfm_table(rfm_addin.demo_transactions()), 5),
            ("demo, 5,000 customers", rfm_addin.rfm_table(rfm_addin.demo_transactions(n_customers=5000)), 4)]
    if not args.quick:
        sets.append(("demo, 50,000 customers", rfm_addin.rfm_table(rfm_addin.demo_transactions(n_customers=50_000)), None))
    rfm_addin.cluster(sets[1][1])  # imports and warm-up
    print("| data | customers | lowest ARI, k given | lowest ARI, k chosen | rows shuffled | inertia vs best of 100 "
          "| one final start s | cluster() s | restarts extra s | with stability s | stability extra s |")
    print("|---|---|---|---|---|---|---|---|---|---|---|")
    for label, table, k in sets:
        if k is not None:
            given, _ = lowest_ari(table, k)
            chosen, ks = lowest_ari(table, None)
            shuffle = shuffled_ari(table)
            gap = inertia_gap(table, k)
            quality = f"k = {k}: {given:.3f} | {chosen:.3f} (k = {sorted(ks)}) | {shuffle:.3f} | {gap:+.3%}"
        else:
            quality = "- | - | - | -"
        single, plain, stable = [], [], []
        for _ in range(5):  # paired: the variants alternate under the same load
            single.append(seconds(table, False, restarts=False))
            plain.append(seconds(table, False))
            stable.append(seconds(table, True))
        o, a, b = (statistics.median(t) for t in (single, plain, stable))
        print(f"| {label} | {len(table):,} | {quality} | {o:.2f} | {a:.2f} | {a - o:+.2f} | {b:.2f} | {b - a:+.2f} |",
              flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
