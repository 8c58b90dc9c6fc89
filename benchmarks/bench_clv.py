"""CLV models: our fits against lifetimes' on the same simulated customers, and what
``analyze(..., clv=True)`` adds to ``analyze()``. A script: nothing asserts on time.

Three measurements, each a ratio within one run (this machine is shared and noisy):

1. **Fit**: BG/NBD + Gamma-Gamma on ``--customers`` simulated customers (default 1M), ours
   (``rfm_addin.fit_clv``) against lifetimes' ``BetaGeoFitter`` and ``GammaGammaFitter`` on the
   same (x, t_x, T, spend) rows. lifetimes is archived and pins old numpy/pandas, so it runs in
   its own interpreter (``--lifetimes-python``, e.g. a venv with ``pip install lifetimes
   "pandas<2.3" "numpy<2"``); without it that column is left empty.
2. **Predictions** for every customer: expected purchases in 39 weeks, P(alive), expected spend.
3. **analyze(clv=True)** minus ``analyze()`` on 1M transactions: the benchmark's own data
   (``bench_core.generate``: uniform purchases, nobody drops out) and transactions simulated
   from the BG/NBD story (customers who do drop out).

The customers are simulated from the BG/NBD story with the published CDNOW parameters (r =
0.243, alpha = 4.414, a = 0.793, b = 2.426; T uniform over 1 to 39 weeks on whole days), spend
from Gamma-Gamma (p = 6.25, q = 3.74, v = 15.44). Each timing is the best of ``--repeat`` runs.

Usage::

    python benchmarks/bench_clv.py --lifetimes-python /path/to/lifetimes-venv/bin/python
"""
from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import pandas as pd

sys.path.insert(0, str(Path(__file__).parent))

CDNOW = {"r": 0.243, "alpha": 4.414, "a": 0.793, "b": 2.426}
SPEND = {"p": 6.25, "q": 3.74, "v": 15.44}

#: What the lifetimes interpreter runs: fit both models on the saved rows, then predict.
LIFETIMES_SCRIPT = r"""
import json, sys, time
import numpy as np, pandas as pd
from lifetimes import BetaGeoFitter, GammaGammaFitter
data = np.load(sys.argv[1])
x, t_x, T, m = data["x"], data["t_x"], data["T"], data["m"]
repeat = x > 0
best = {"fit": np.inf, "predict": np.inf}
for _ in range(int(sys.argv[2])):
    start = time.perf_counter()
    bg = BetaGeoFitter().fit(x, t_x, T)
    gg = GammaGammaFitter().fit(x[repeat], m[repeat])
    best["fit"] = min(best["fit"], time.perf_counter() - start)
    start = time.perf_counter()
    bg.conditional_expected_number_of_purchases_up_to_time(39, x, t_x, T)
    bg.conditional_probability_alive(x, t_x, T)
    gg.conditional_expected_average_profit(pd.Series(x[repeat]), pd.Series(m[repeat]))
    best["predict"] = min(best["predict"], time.perf_counter() - start)
best["params"] = {**{k: float(v) for k, v in bg.params_.items()}, **{k: float(v) for k, v in gg.params_.items()}}
print(json.dumps(best))
"""


def simulate_customers(n: int, seed: int = 0) -> pd.DataFrame:
    """x, t_x, T (weeks, whole days), repeat_days and repeat_spend of n BG/NBD customers."""
    rng = np.random.default_rng(seed)
    lam = rng.gamma(CDNOW["r"], 1 / CDNOW["alpha"], n)
    p = rng.beta(CDNOW["a"], CDNOW["b"], n)
    T = rng.integers(7, 274, n) / 7.0
    x = np.zeros(n, np.int64)
    t_x = np.zeros(n)
    t = np.zeros(n)
    alive = np.ones(n, bool)
    while alive.any():
        idx = np.flatnonzero(alive)
        t[idx] += rng.exponential(1 / np.maximum(lam[idx], 1e-12))
        bought = t[idx] <= T[idx]
        alive[idx[~bought]] = False
        idx = idx[bought]
        x[idx] += 1
        t_x[idx] = t[idx]
        alive[idx[rng.random(len(idx)) < p[idx]]] = False
    t_x = np.floor(t_x * 7) / 7
    nu = rng.gamma(SPEND["q"], 1 / SPEND["v"], n)
    spend = np.where(x > 0, rng.gamma(SPEND["p"] * np.maximum(x, 1), 1 / nu) / np.maximum(x, 1), np.nan)
    frame = pd.DataFrame({"x": x, "t_x": t_x, "T": T, "repeat_days": x, "repeat_spend": spend, "no_repeat": x == 0})
    frame.attrs["time_unit"] = "week"
    return frame


def simulate_transactions(n_customers: int = 50_000, seed: int = 0, weeks: float = 104) -> pd.DataFrame:
    """Order-level transactions of customers who drop out (BG/NBD, r = 1, alpha = 2, a = 1,
    b = 20: about 14 orders per customer over two years; 50k customers give about 700k rows)."""
    rng = np.random.default_rng(seed)
    lam, p = rng.gamma(1.0, 1 / 2.0, n_customers), rng.beta(1.0, 20.0, n_customers)
    t = rng.uniform(0, weeks, n_customers)
    who, when = [np.arange(n_customers)], [t.copy()]
    alive = rng.random(n_customers) >= p
    while alive.any():
        idx = np.flatnonzero(alive)
        t[idx] += rng.exponential(1 / np.maximum(lam[idx], 1e-9))
        ok = t[idx] < weeks
        alive[idx[~ok]] = False
        idx = idx[ok]
        who.append(idx)
        when.append(t[idx].copy())
        alive[idx[rng.random(len(idx)) < p[idx]]] = False
    c, weeks_in = np.concatenate(who), np.concatenate(when)
    scale = rng.gamma(3.7, 1 / 15.0, n_customers)
    amount = np.round(rng.gamma(6.0, 1 / (6.0 * scale[c])), 2) + 0.01
    dates = np.datetime64("2023-01-01") + (weeks_in * 7 * 86400).astype("timedelta64[s]")
    return pd.DataFrame({"CustomerID": np.char.add("C", c.astype(str)), "OrderDate": dates, "OrderAmount": amount})


def best_of(repeat: int, func) -> tuple[float, object]:
    best, value = np.inf, None
    for _ in range(repeat):
        start = time.perf_counter()
        value = func()
        best = min(best, time.perf_counter() - start)
    return best, value


def ours(summary: pd.DataFrame, repeat: int) -> dict:
    import rfm_addin as rfm

    fit_time, (bg, gg) = best_of(repeat, lambda: (rfm.fit_clv(summary), rfm.fit_clv(summary, model="gamma_gamma")))

    def predict():
        bg.expected_purchases(summary, 39)
        bg.prob_alive(summary)
        gg.expected_spend(summary)

    predict_time, _ = best_of(repeat, predict)
    return {"fit": fit_time, "predict": predict_time, "params": {**bg.params, **gg.params}}


def theirs(summary: pd.DataFrame, python: str | None, repeat: int) -> dict | None:
    if not python:
        return None
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "rows.npz"
        np.savez(path, x=summary["x"].to_numpy(float), t_x=summary["t_x"].to_numpy(), T=summary["T"].to_numpy(),
                 m=summary["repeat_spend"].fillna(0).to_numpy())
        done = subprocess.run([python, "-c", LIFETIMES_SCRIPT, str(path), str(repeat)], capture_output=True, text=True)
    if done.returncode:
        print(done.stderr[-2000:], file=sys.stderr)
        return None
    return json.loads(done.stdout.strip().splitlines()[-1])


def analyze_added(frame: pd.DataFrame, repeat: int) -> tuple[float, float]:
    import rfm_addin as rfm

    plain, _ = best_of(repeat, lambda: rfm.analyze(frame))
    valued, _ = best_of(repeat, lambda: rfm.analyze(frame, clv=True))
    return plain, valued


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--customers", type=int, default=1_000_000)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--lifetimes-python", default=None, help="an interpreter with lifetimes installed")
    parser.add_argument("--no-analyze", action="store_true", help="skip the analyze(clv=True) measurement")
    parser.add_argument("--out", help="write the figures as JSON")
    args = parser.parse_args()

    summary = simulate_customers(args.customers)
    print(f"{len(summary):,} simulated customers, {int((summary['x'] > 0).sum()):,} repeat buyers")
    results = {"customers": len(summary), "ours": ours(summary, args.repeat)}
    results["lifetimes"] = theirs(summary, args.lifetimes_python, args.repeat)
    o, t = results["ours"], results["lifetimes"]
    print(f"fit BG/NBD + Gamma-Gamma: ours {o['fit']:.2f} s" +
          (f", lifetimes {t['fit']:.2f} s: {t['fit'] / o['fit']:.1f}x faster" if t else ""))
    print(f"predictions: ours {o['predict']:.3f} s" +
          (f", lifetimes {t['predict']:.3f} s" if t else ""))
    print("parameters (truth " + ", ".join(f"{k} {v}" for k, v in {**CDNOW, **SPEND}.items()) + "):")
    print("  ours      " + ", ".join(f"{k} {v:.3f}" for k, v in o["params"].items()))
    if t:
        print("  lifetimes " + ", ".join(f"{k} {v:.3f}" for k, v in t["params"].items()))
    if not args.no_analyze:
        from bench_core import generate

        for label, frame in (("bench_core data (nobody drops out)", generate(1_000_000)),
                             ("BG/NBD transactions", simulate_transactions(72_000))):
            plain, valued = analyze_added(frame, args.repeat)
            results[f"analyze: {label}"] = {"rows": len(frame), "plain": plain, "clv": valued}
            print(f"analyze on {len(frame):,} rows, {label}: {plain:.2f} s; with clv=True {valued:.2f} s "
                  f"(+{valued - plain:.2f} s)")
    if args.out:
        Path(args.out).write_text(json.dumps(results, indent=2, default=float))


if __name__ == "__main__":
    main()
