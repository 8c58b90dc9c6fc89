"""usage_table on a large event log against a hand-written DuckDB query computing the same
columns (issue 18). A script: nothing asserts on time; ratios within one run.

Four timings, best of ``--repeat``:

1. ``rfm.usage_table("events.parquet", as_of=...)``: the engine path (DuckDB over the Parquet
   file; only per-user rows come back, then the table is built in pandas);
2. the hand-written query over the same Parquet file: one SQL text with the same rules
   (sessions by ``lag()`` from 30 minutes before the window, weeks of 7 days counted back from
   as_of, adoption of the top 10 features as ``count(DISTINCT week) FILTER (...)``), after a
   small query for the top features, fetched as a DataFrame;
3. ``rfm.usage_table(frame, as_of=...)``: the DataFrame path on the log held in pandas;
4. the same query over that DataFrame (DuckDB scans the pandas frame: the hand-over included).

Targets: (1) within 3x of (2); (3) within 2x of (4). The query's result is checked equal to
ours (recency, frequency, tenure, adoption) before any time is reported.

The log: ``--events`` events (default 10M) of ``--users`` users (default 200k, Zipf-like
activity) over 26 weeks, with a time of day to the second, 20 features of skewed popularity,
user ids as text ("u0000123").

Usage::

    python benchmarks/bench_usage.py                     # 10M events, best of 3
    python benchmarks/bench_usage.py --events 1m --repeat 1
"""
from __future__ import annotations

import argparse
import json
import os
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import pandas as pd

AS_OF = pd.Timestamp("2024-07-01")


sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from bench_core import parse_size  # noqa: E402  (the benchmarks' one size parser)


def generate(n_events: int, n_users: int, seed: int = 0) -> pd.DataFrame:
    """A seeded event log, vectorised."""
    rng = np.random.default_rng(seed)
    weights = 1.0 / np.arange(1, n_users + 1) ** 0.7
    who = rng.choice(n_users, n_events, p=weights / weights.sum())
    # each user's activity stops at a user-specific point (churn) for a third of the users
    stop_days = np.where(rng.random(n_users) < 0.33, rng.integers(0, 150, n_users), 0)
    seconds = rng.integers(0, 26 * 7 * 86400, n_events) + stop_days[who] * 86400
    seconds = np.minimum(seconds, 26 * 7 * 86400 - 1)
    when = AS_OF - pd.to_timedelta(1, unit="s") - pd.to_timedelta(seconds, unit="s")
    features = np.array([f"Feature {i:02d}" for i in range(20)], dtype=object)
    p = 1.0 / np.arange(1, 21)
    event = features[rng.choice(20, n_events, p=p / p.sum())]
    users = np.array([f"u{i:07d}" for i in range(n_users)], dtype=object)
    return pd.DataFrame({"user_id": users[who], "timestamp": when.to_numpy(), "event": event})


def top_features_sql(source: str) -> str:
    return (f"SELECT event FROM {source} WHERE user_id IS NOT NULL AND timestamp < TIMESTAMP '{AS_OF}' "
            "AND event IS NOT NULL GROUP BY event ORDER BY count(DISTINCT user_id) DESC, event LIMIT 10")


def usage_sql(source: str, features: list[str]) -> str:
    """The hand-written query: the usage table's columns by the rules of rfm_addin.core.usage."""
    as_of, start = AS_OF, AS_OF - pd.Timedelta(weeks=8)
    adoption = ",\n       ".join(
        f"count(DISTINCT week) FILTER (WHERE event = '{f}') / count(DISTINCT week) AS \"adoption: {f}\""
        for f in features)
    return f"""
WITH e AS (
    SELECT user_id AS u, timestamp AS ts, event,
           (date_diff('day', CAST(timestamp AS DATE), DATE '{as_of:%Y-%m-%d}') - 1) // 7 AS week
    FROM {source} WHERE user_id IS NOT NULL AND timestamp < TIMESTAMP '{as_of}'),
recent AS (
    SELECT u, ts, lag(ts) OVER (PARTITION BY u ORDER BY ts) AS prev
    FROM e WHERE ts >= TIMESTAMP '{start}' - INTERVAL 30 MINUTE),
sessions AS (
    SELECT u, count(*) AS n FROM recent
    WHERE ts >= TIMESTAMP '{start}' AND (prev IS NULL OR ts >= prev + INTERVAL 30 MINUTE) GROUP BY u),
users AS (
    SELECT u, min(ts) AS first, max(ts) AS last,
       {adoption}
    FROM e GROUP BY u)
SELECT users.* EXCLUDE (first, last),
       date_diff('day', CAST(last AS DATE), DATE '{as_of:%Y-%m-%d}') AS recency,
       coalesce(sessions.n, 0) / least(8, greatest(1, ceil(date_diff('day', greatest(CAST(first AS DATE),
           DATE '{start:%Y-%m-%d}'), DATE '{as_of:%Y-%m-%d}') / 7))) AS frequency,
       date_diff('day', CAST(first AS DATE), DATE '{as_of:%Y-%m-%d}') AS tenure
FROM users LEFT JOIN sessions USING (u)
"""


def hand_written(con, source: str) -> pd.DataFrame:
    features = [row[0] for row in con.sql(top_features_sql(source)).fetchall()]
    return con.sql(usage_sql(source, features)).df()


def best(work, repeat: int) -> tuple[float, object]:
    times, value = [], None
    for _ in range(repeat):
        start = time.perf_counter()
        value = work()
        times.append(time.perf_counter() - start)
    return min(times), value


def check_same(ours: pd.DataFrame, query: pd.DataFrame) -> None:
    q = query.set_index("u").sort_index()
    assert list(q.index) == list(ours.index), "different users"
    for column in ("recency", "frequency", "tenure", *[c for c in ours.columns if c.startswith("adoption: ")]):
        np.testing.assert_allclose(ours[column].to_numpy(float), q[column].to_numpy(float), rtol=1e-12,
                                   err_msg=column)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--events", type=parse_size, default=parse_size("10m"))
    parser.add_argument("--users", type=parse_size, default=parse_size("200k"))
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--out", help="write the figures as JSON")
    args = parser.parse_args(argv)

    import duckdb

    import rfm_addin as rfm

    print(f"generating {args.events:,} events of {args.users:,} users ...", flush=True)
    log = generate(args.events, args.users)
    with tempfile.TemporaryDirectory() as folder:
        path = os.path.join(folder, "events.parquet")
        log.to_parquet(path, row_group_size=1_000_000)
        con = duckdb.connect()
        source_file = f"read_parquet('{path}')"
        con.register("log", log)

        engine_time, ours = best(lambda: rfm.usage_table(path, as_of=AS_OF), args.repeat)
        check_same(ours, hand_written(con, source_file))
        query_time, _ = best(lambda: hand_written(con, source_file), args.repeat)
        frame_time, ours_frame = best(lambda: rfm.usage_table(log, as_of=AS_OF), args.repeat)
        check_same(ours_frame, hand_written(con, "log"))
        handover_time, _ = best(lambda: hand_written(con, "log"), args.repeat)
    figures = {
        "events": args.events, "users": args.users, "repeat": args.repeat, "cores": os.cpu_count(),
        "load": os.getloadavg()[0],
        "engine_s": engine_time, "query_parquet_s": query_time, "engine_ratio": engine_time / query_time,
        "dataframe_s": frame_time, "query_dataframe_s": handover_time, "dataframe_ratio": frame_time / handover_time,
    }
    print(f"usage_table on {args.events:,} events ({len(ours):,} users), best of {args.repeat}, "
          f"{os.cpu_count()} cores, load {figures['load']:.1f}:")
    print(f"  Parquet:   usage_table {engine_time:6.2f} s   hand-written DuckDB query {query_time:6.2f} s   "
          f"ratio {figures['engine_ratio']:.2f} (target <= 3)")
    print(f"  DataFrame: usage_table {frame_time:6.2f} s   the query over the DataFrame {handover_time:6.2f} s   "
          f"ratio {figures['dataframe_ratio']:.2f} (target <= 2)")
    if args.out:
        Path(args.out).write_text(json.dumps(figures, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
