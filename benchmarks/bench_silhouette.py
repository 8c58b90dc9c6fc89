#!/usr/bin/env python
"""How large must the silhouette sample be? Measures the sampled estimate against the exact one.

Usage::

    python benchmarks/bench_silhouette.py [--transactions 1m] [--seeds 5]

On the 1M-transaction benchmark data (about 50,000 customers) it computes, for k = 2..10,
the exact silhouette over all customers (slow: n squared distances) and the sampled one
for several sample sizes and seeds, and prints the largest deviation and the time per
estimate. The default ``rfm_addin.core.clustering.SILHOUETTE_SAMPLE`` is chosen from this table.
"""
from __future__ import annotations

import argparse
import os
import sys
import time

import numpy as np
from sklearn.cluster import KMeans
from sklearn.metrics import silhouette_score

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from bench_core import AS_OF, COLS, generate, parse_size  # noqa: E402

import rfm_addin as rfm  # noqa: E402
from rfm_addin.core.clustering import N_INIT, features  # noqa: E402


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--transactions", default="1m")
    parser.add_argument("--seeds", type=int, default=5)
    parser.add_argument("--sizes", default="1000,2000,3000,5000,10000")
    args = parser.parse_args()
    table = rfm.rfm_table(generate(parse_size(args.transactions)), **COLS, as_of=AS_OF)
    x = features(table)
    sizes = [int(s) for s in args.sizes.split(",")]
    print(f"customers: {len(x):,}")
    worst = {s: 0.0 for s in sizes}
    seconds = {s: [] for s in sizes}
    for k in range(2, 11):
        labels = KMeans(n_clusters=k, n_init=N_INIT, random_state=0).fit(x).labels_
        t = time.perf_counter()
        exact = silhouette_score(x, labels)
        exact_time = time.perf_counter() - t
        line = [f"k={k:2d} exact={exact:.4f} ({exact_time:.1f}s)"]
        for s in sizes:
            devs = []
            for seed in range(args.seeds):
                t = time.perf_counter()
                est = silhouette_score(x, labels, sample_size=s, random_state=seed)
                seconds[s].append(time.perf_counter() - t)
                devs.append(abs(est - exact))
            worst[s] = max(worst[s], max(devs))
            line.append(f"n={s}: max|d|={max(devs):.4f}")
        print("  ".join(line), flush=True)
    print("\nsample size | worst |sampled - exact| over k=2..10 and seeds | median seconds per estimate")
    for s in sizes:
        print(f"{s:>11,} | {worst[s]:.4f} | {np.median(seconds[s]):.4f}")


if __name__ == "__main__":
    main()
