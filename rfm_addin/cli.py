"""The ``rfm-addin`` command: the same analysis as the Excel ribbon, from a terminal.

Bad input prints one clear line (``rfm-addin: error: ...``) and exits with status 2; no
traceback. Nothing is written when a run fails: the analysis runs completely before any
file is written, and files are written atomically.
"""
from __future__ import annotations

import argparse
import re
import sys
from pathlib import Path
from typing import Sequence

import pandas as pd

from ._version import __version__
from .api import Analysis, analyze
from .core.demo import demo_transactions
from .core.clv import parse_horizon
from .core.experiments import parse_lift, parse_share
from .core.errors import RfmError
from .sources.files import read_transactions
from .writers.safe import StagedFiles, atomic_write, check_target, prepare_folder
from .writers.segment_csv import file_stem, remove_stale, stage_segments
from .writers.xlsx import write_analysis

EXIT_BAD_INPUT = 2


def _progress(quiet: bool):
    """Progress lines on stderr when it is a terminal (not in pipes, logs or tests)."""
    if quiet or not sys.stderr.isatty():
        return None

    def say(text: str) -> None:
        sys.stderr.write(f"\r\033[K{text}...")
        sys.stderr.flush()

    return say


def _weights(text: str) -> tuple[float, float, float]:
    parts = [p for p in re.split(r"[,;\s]+", text.strip()) if p]
    try:
        values = tuple(float(p) for p in parts)
    except ValueError as exc:
        raise argparse.ArgumentTypeError(f"weights must be three numbers like 1,1,1, not {text!r}") from exc
    if len(values) != 3:
        raise argparse.ArgumentTypeError(f"weights must be three numbers like 1,1,1, not {text!r}")
    return values


def _k_range(text: str) -> range:
    match = re.fullmatch(r"\s*(\d+)\s*(?:\.\.|-|:)\s*(\d+)\s*", text)
    if not match or int(match.group(1)) < 2 or int(match.group(2)) < int(match.group(1)):
        raise argparse.ArgumentTypeError(f"k range must look like 2..10, not {text!r}")
    return range(int(match.group(1)), int(match.group(2)) + 1)


def _separator(text: str) -> str:
    names = {"comma": ",", "dot": ".", "period": ".", "space": " ", "apostrophe": "'"}
    return names.get(text.lower(), text)


def build_parser() -> argparse.ArgumentParser:
    """The argument parser (also the source of the CLI table in docs/cli.md)."""
    parser = argparse.ArgumentParser(prog="rfm-addin", description="RFM scores, segments and K-Means clusters "
                                     "from a transactions file, written as an Excel workbook.")
    parser.add_argument("--version", action="version", version=f"rfm-addin {__version__}")
    sub = parser.add_subparsers(dest="command", required=True)

    run = sub.add_parser("analyze", help="analyse transactions from a file, a folder or glob of files, or a database")
    run.add_argument("input", nargs="?", default=None,
                     help="transactions: a .csv, .xlsx, .xlsm or .parquet file, a glob such as "
                          "'transactions/*.parquet', or a folder of Parquet/CSV files (large ones aggregated by DuckDB)")
    run.add_argument("-o", "--output", help="workbook to write (default: INPUT_rfm.xlsx beside the input; "
                                            "with --db: rfm_TABLE.xlsx here)")
    db = run.add_argument_group("database (pip install \"rfm-addin[sql]\"); the aggregation runs in the database")
    db.add_argument("--db", metavar="URL_OR_NAME",
                    help="duckdb:///file.duckdb, postgresql://user@host/db, or the name of a connection from "
                         "RFM_CONNECTION_<NAME> or the user's connections.toml (keeps passwords off the command line)")
    what = db.add_mutually_exclusive_group()
    what.add_argument("--table", help="table to read (schema.table allowed)")
    what.add_argument("--query", help="SELECT query to read")
    run.set_defaults(parser=run)
    _analysis_options(run)

    demo = sub.add_parser("demo", help="write the built-in demo transactions and analyse them")
    demo.add_argument("-o", "--output-dir", default="rfm-demo", help="folder for the demo files (default: rfm-demo)")
    demo.add_argument("--customers", type=int, default=1000, help="number of demo customers (default 1000)")
    demo.add_argument("--saas", action="store_true",
                      help="a subscription product instead: event log and payments of 2,000 users, through usage, "
                           "clusters and a comparison of two clusters")
    _analysis_options(demo, with_columns=False)

    tpl = sub.add_parser("template", help="write the Excel workbook template (RFM ribbon, VBA callbacks, demo data)")
    tpl.add_argument("output", nargs="?", default="workbook_template.xlsm",
                     help="workbook to write (default: workbook_template.xlsm in the current folder)")

    setup = sub.add_parser("excel-setup", help="let Excel find this Python (xlwings' user configuration) and "
                                              "write the RFM workbook to a folder")
    setup.add_argument("--folder", help="where to write 'RFM workbook.xlsm' (default: Documents)")
    setup.add_argument("--platform", choices=["windows", "mac"], default=None,
                       help="the Excel the configuration is for (default: this machine's)")

    mig = sub.add_parser("migration", help="who moved between segments from one as-of date to a later one")
    mig.add_argument("input", help="transactions: a file, a folder or glob of files (as for analyze)")
    mig.add_argument("--before", required=True, help="the earlier as-of date (YYYY-MM-DD, inclusive)")
    mig.add_argument("--after", required=True, help="the later as-of date (YYYY-MM-DD, inclusive)")
    mig.add_argument("--mode", choices=["relative", "absolute"], default="relative",
                     help="relative: each date on its own cut points; absolute: both on the earlier date's "
                          "(default relative)")
    mig.add_argument("--window", type=int, default=None, metavar="DAYS",
                     help="keep only customers with a purchase in the last DAYS days of each date (so customers "
                          "can be gone); default: everyone who bought")
    mig.add_argument("-o", "--output", help="workbook to write (default: INPUT_migration.xlsx beside the input)")
    mig.add_argument("-q", "--quiet", action="store_true", help="no progress and no summary")
    _column_options(mig, keep=False)
    _scoring_options(mig, as_of=False)

    hist = sub.add_parser("history", help="segment counts and revenue at a series of as-of dates")
    hist.add_argument("input", help="transactions: a file, a folder or glob of files (as for analyze)")
    hist.add_argument("--every", default="quarter",
                      help="the period between as-of dates: week, month, quarter (default) or year, or a pandas "
                           "frequency such as 2MS")
    hist.add_argument("--start", help="first as-of date considered (default: the first transaction)")
    hist.add_argument("--end", help="last as-of date (default: the last transaction)")
    hist.add_argument("--mode", choices=["relative", "absolute"], default="relative",
                      help="relative: each date on its own cut points; absolute: all on the first date's")
    hist.add_argument("--window", type=int, default=None, metavar="DAYS",
                      help="keep only customers with a purchase in the last DAYS days of each date")
    hist.add_argument("-o", "--output", help="workbook to write (default: INPUT_history.xlsx beside the input)")
    hist.add_argument("--export-segments", metavar="DIR",
                      help="also write one CSV per segment of the last date (customer id, segment, previous "
                           "segment, in segment since, periods in segment) into DIR, for a CRM")
    hist.add_argument("-q", "--quiet", action="store_true", help="no progress and no summary")
    _column_options(hist, keep=False)
    _scoring_options(hist, as_of=False)

    check = sub.add_parser("clv-check", help="fit the CLV models on a calibration period and check them on the "
                                             "period after it")
    check.add_argument("input", help="transactions: a .csv, .xlsx or .xlsm file (read in pandas)")
    check.add_argument("--calibration-end", required=True, metavar="DATE",
                       help="last day the models learn from (YYYY-MM-DD, inclusive)")
    check.add_argument("--holdout-end", default=None, metavar="DATE",
                       help="last day of the holdout (default: the last transaction)")
    check.add_argument("-o", "--output", help="workbook to write (default: INPUT_clv_check.xlsx beside the input)")
    check.add_argument("-q", "--quiet", action="store_true", help="no progress and no summary")
    _column_options(check, keep=False)

    plan = sub.add_parser("plan", help="plan a campaign test for segments: sizes, baselines from history, arms")
    plan.add_argument("input", help="transactions: a .csv, .xlsx or .xlsm file (read in pandas)")
    plan.add_argument("--segment", action="append", default=None, metavar="NAME",
                      help="segment to plan for (repeat for several; default: every segment)")
    plan.add_argument("--lift", type=_lift, default=(0.02, False), metavar="LIFT",
                      help="lift hoped for: 2pp (percentage points), 0.02 (the same), or 20%% (relative to the "
                           "baseline); default 2pp")
    plan.add_argument("--holdout", type=_share, default=0.1, metavar="SHARE", help="share held out: 10%% or 0.1 "
                                                                                  "(default 10%%)")
    plan.add_argument("--window", type=int, choices=[30, 60, 90], default=30,
                      help="days after the campaign in which a purchase counts (default 30)")
    plan.add_argument("--arms", default="treatment", help="treatment arm names, comma-separated (default treatment)")
    plan.add_argument("--seed", type=int, default=0, help="salt of the assignment (default 0)")
    plan.add_argument("--as-of", help="segment the customers as of this date (default: the day after the last "
                                      "transaction)")
    plan.add_argument("-o", "--output", help="workbook to write (default: INPUT_plan.xlsx beside the input)")
    plan.add_argument("--export-arms", metavar="DIR", help="also write one CSV per arm (customer id, segment, "
                                                           "R, F, M, arm) to DIR")
    plan.add_argument("-q", "--quiet", action="store_true", help="no progress and no summary")
    _column_options(plan, keep=False)

    out = sub.add_parser("readout", help="read a campaign test's outcomes: rates, lift, intervals, p-value, label")
    out.add_argument("input", help="outcomes: one row per customer, a .csv or .xlsx file")
    out.add_argument("--plan", metavar="PLAN.xlsx", help="the plan workbook of `rfm-addin plan`: arms and sizes from it")
    out.add_argument("--customer", default=None, help="customer id column (with --plan; default: the first column)")
    out.add_argument("--arm", default="arm", help="arm column (default arm; not needed with --plan)")
    out.add_argument("--converted", default="converted", help="converted column, 1/0 or TRUE/FALSE (default converted)")
    out.add_argument("--revenue", default=None, help="revenue column (optional)")
    out.add_argument("--treatment", default=None, help="the treatment arm to read when there are several")
    out.add_argument("--planned", type=int, default=None, metavar="N", help="planned customers per arm")
    out.add_argument("--alpha", type=float, default=0.05, help="significance level (default 0.05)")

    use = sub.add_parser("usage", help="a subscription product's users from an event log (and payments): activity, "
                                       "MRR, adoption, clusters")
    use.add_argument("input", nargs="?", default=None,
                     help="events: one row per event (user, timestamp, event or feature): a .csv, .xlsx or .parquet "
                          "file, a glob or a folder of files (Parquet and large CSV aggregated by DuckDB)")
    use.add_argument("--payments", help="payments: user, date, amount and optionally a period or plan (a file)")
    use_db = use.add_argument_group("database (pip install \"rfm-addin[sql]\"); the events are aggregated in it")
    use_db.add_argument("--db", metavar="URL_OR_NAME", help="duckdb:///file.duckdb, postgresql://user@host/db, or a "
                                                            "connection name, as for analyze")
    use_what = use_db.add_mutually_exclusive_group()
    use_what.add_argument("--table", help="table of events")
    use_what.add_argument("--query", help="SELECT query of events")
    use_paid = use_db.add_mutually_exclusive_group()
    use_paid.add_argument("--payments-table", help="table of payments in the same database")
    use_paid.add_argument("--payments-query", help="SELECT query of payments in the same database")
    use.add_argument("--as-of", help="the date activity is measured to (default: the day after the last event)")
    use.add_argument("--user", help="user column of the events (default: detected)")
    use.add_argument("--timestamp", help="timestamp column of the events (default: detected)")
    use.add_argument("--event", help="event or feature column (default: detected)")
    use.add_argument("--features", type=int, default=10, help="features with an adoption column (default 10)")
    use.add_argument("--k", type=int, default=None, help="number of clusters (default: chosen by the elbow)")
    use.add_argument("--seed", type=int, default=0, help="seed of the silhouette and stability samples")
    use.add_argument("-o", "--output", help="workbook to write (default: INPUT_usage.xlsx beside the input; "
                                            "with --db: usage_TABLE.xlsx here)")
    use.add_argument("-q", "--quiet", action="store_true", help="no progress and no summary")
    use.set_defaults(parser=use)

    cmp = sub.add_parser("compare-groups", help="compare two groups of a customer table on every column")
    cmp.add_argument("input", help="a customer-level table: .csv or .xlsx (e.g. the RFM Usage or RFM Customers sheet)")
    cmp.add_argument("--sheet", help="sheet of an Excel file (default: the first)")
    cmp.add_argument("--by", required=True, help="the grouping column, e.g. cluster or segment")
    cmp.add_argument("--a", required=True, help="the first group")
    cmp.add_argument("--b", required=True, help="the group it is compared with")
    cmp.add_argument("-o", "--output", help="also write the comparison as a workbook (an RFM Compare sheet)")
    cmp.add_argument("--events", metavar="EVENTS", help="the event log the table was built from: with it, a test plan "
                                                        "for the less active group (30-day retention) is added")
    cmp.add_argument("--lift", type=_lift, default=(0.05, False), metavar="LIFT",
                     help="retention lift the test should detect (default 5pp)")

    share = sub.add_parser("share", help="write a macro-free, formula-free .xlsx copy of a results workbook")
    share.add_argument("input", help="workbook saved by Excel: .xlsx or .xlsm (only read)")
    share.add_argument("-o", "--output", help="the .xlsx to write (default: INPUT_share.xlsx beside the input)")
    share.add_argument("--title", help="document title (default: 'RFM results as of <date>')")
    share.add_argument("-q", "--quiet", action="store_true", help="print nothing on success")
    return parser


def _analysis_options(parser: argparse.ArgumentParser, with_columns: bool = True) -> None:
    if with_columns:
        _column_options(parser)
    _scoring_options(parser, as_of=True)
    opts = parser.add_argument_group("clusters and output")
    opts.add_argument("--weights", type=_weights, default=(1, 1, 1), help="weights of R,F,M (default 1,1,1)")
    opts.add_argument("--k", type=int, default=None, help="number of clusters (default: chosen by the elbow)")
    opts.add_argument("--k-range", type=_k_range, default=range(2, 11), help="k values tried (default 2..10)")
    opts.add_argument("--seed", type=int, default=0, help="seed of the silhouette and cluster-stability samples (default 0)")
    opts.add_argument("--export-segments", metavar="DIR",
                      help="also write one CSV per segment (customer id, kept columns, scores) into DIR")
    opts.add_argument("-q", "--quiet", action="store_true", help="no progress and no summary")
    value = parser.add_argument_group("lifetime value (files pandas reads: CSV, XLSX)")
    value.add_argument("--clv", action="store_true",
                       help="add expected purchases, churn risk, expected spend and CLV (Pareto/NBD + Gamma-Gamma)")
    value.add_argument("--horizon", type=_horizon, default=365.0, metavar="SPAN",
                       help="future period valued: days, or 12m, 52w, 365d (default 365 days)")
    value.add_argument("--discount", type=float, default=0.1, help="yearly discount rate of CLV (default 0.1)")
    value.add_argument("--margin", type=float, default=1.0, help="share of spend that is profit (default 1.0)")
    value.add_argument("--churn-days", type=_horizon, default=None, metavar="SPAN",
                       help="churn risk = no purchase within this span (default: the data's lapse threshold)")


def _lift(text: str) -> tuple[float, bool]:
    try:
        return parse_lift(text)
    except RfmError as exc:
        raise argparse.ArgumentTypeError(str(exc)) from exc


def _share(text: str) -> float:
    try:
        return parse_share(text)
    except RfmError as exc:
        raise argparse.ArgumentTypeError(str(exc)) from exc


def _horizon(text: str) -> float:
    try:
        return parse_horizon(text)
    except RfmError as exc:
        raise argparse.ArgumentTypeError(str(exc)) from exc


def _scoring_options(parser: argparse.ArgumentParser, as_of: bool) -> None:
    opts = parser.add_argument_group("scores")
    if as_of:
        opts.add_argument("--as-of", help="measure recency to this date (YYYY-MM-DD); later transactions are left out")
    opts.add_argument("--bins", type=int, default=5, help="score levels, 2..9 (default 5)")
    opts.add_argument("--method", choices=["balanced", "quantile"], default="balanced",
                      help="how scores are cut (default balanced: ties kept together, every score used)")


def _column_options(parser: argparse.ArgumentParser, keep: bool = True) -> None:
    if True:
        cols = parser.add_argument_group("columns (detected from common headers when not given)")
        cols.add_argument("--customer", help="customer id column")
        cols.add_argument("--date", help="transaction date column")
        cols.add_argument("--amount", help="amount column (default: detected, or Quantity x UnitPrice)")
        cols.add_argument("--order", help="order / invoice id column (frequency counts distinct orders)")
        if keep:
            cols.add_argument("--keep", action="append", default=None, metavar="COL",
                              help="customer-level column to carry to the results (repeatable)")
        cols.add_argument("--sheet", help="sheet to read from an Excel file (default: the first)")
        fmt = parser.add_argument_group("reading text values")
        fmt.add_argument("--decimal", type=_separator, default=".", help="decimal mark of text amounts: . or ,")
        fmt.add_argument("--thousands", type=_separator, default=None,
                         help="thousands separator of text amounts: , . space or '")
        first = fmt.add_mutually_exclusive_group()
        first.add_argument("--dayfirst", dest="dayfirst", action="store_const", const=True, default=None,
                           help="text dates are day-first (31/01/2024)")
        first.add_argument("--monthfirst", dest="dayfirst", action="store_const", const=False,
                           help="text dates are month-first (01/31/2024)")


def _run_analysis(data, args, first_row: int = 2, date_system: int = 1900, **source) -> Analysis:
    return analyze(
        data, customer=getattr(args, "customer", None), date=getattr(args, "date", None),
        amount=getattr(args, "amount", None), order=getattr(args, "order", None), as_of=args.as_of,
        keep=getattr(args, "keep", None), bins=args.bins, method=args.method, weights=args.weights, k=args.k,
        k_range=args.k_range, random_state=args.seed, decimal=getattr(args, "decimal", "."),
        thousands=getattr(args, "thousands", None), dayfirst=getattr(args, "dayfirst", None),
        date_system=date_system, first_row=first_row, progress=_progress(args.quiet), clv=args.clv,
        horizon_days=args.horizon, annual_discount=args.discount, margin=args.margin, churn_days=args.churn_days,
        **source,
    )


def _write_results(analysis: Analysis, output, inputs: tuple, args) -> None:
    """Write the workbook and, when asked, the segment CSVs: all of them or none; then the summary."""
    say = _progress(args.quiet)
    if say:
        say(f"Writing {Path(output).name}")
    with StagedFiles() as files:
        written = write_analysis(analysis, output, inputs=inputs, files=files)
        stale = stage_segments(analysis.customers, args.export_segments, files) if args.export_segments else []
    remove_stale(stale)
    if say:
        sys.stderr.write("\r\033[K")
    _report(analysis, written, args.quiet)


def _report(analysis: Analysis, output: str, quiet: bool) -> None:
    if quiet:
        return
    print(f"Wrote {output}")
    for line in analysis.insights:
        print(f"- {line}")


def _output_for(args, kind: str = "rfm") -> str:
    """``-o``, or a name from the input: INPUT_rfm.xlsx beside a file, FOLDER_rfm.xlsx beside a
    folder or glob, rfm_TABLE.xlsx here for a database (``kind`` in place of "rfm")."""
    if args.output:
        return args.output
    if args.db is not None:
        name = args.table.split(".")[-1] if args.table else "query"
        return f"{kind}_{file_stem(name)}.xlsx"
    text = args.input.rstrip("/\\")
    if any(ch in text for ch in "*?[") and not Path(text).is_file():
        folder = Path(text).parent
        while any(ch in str(folder) for ch in "*?["):
            folder = folder.parent
        if folder.name in ("", ".", ".."):
            return str(folder / f"{kind}_results.xlsx")
        return str(folder.with_name(f"{folder.name}_{kind}.xlsx"))
    if Path(text).is_dir():
        return str(Path(text).with_name(f"{Path(text).name}_{kind}.xlsx"))
    return str(Path(text).with_name(f"{Path(text).stem}_{kind}.xlsx"))


def _cmd_analyze_engine(args) -> None:
    """Files, globs, folders and databases: the engine aggregates, one row per customer comes back."""
    if args.db is not None and args.input is not None:
        raise RfmError("Give either an input file or --db, not both.")
    if args.db is not None and args.table is None and args.query is None:
        raise RfmError("With --db, say what to read: --table NAME or --query \"select ...\".")
    output = _output_for(args)
    inputs = (args.input,) if args.input is not None and Path(args.input).is_file() else ()
    check_target(output, inputs)
    if args.export_segments:
        prepare_folder(args.export_segments)
    source = args.db if args.db is not None else args.input
    analysis = _run_analysis(source, args, table=args.table, query=args.query)
    _write_results(analysis, output, inputs, args)


def _cmd_analyze(args) -> None:
    from .sources import is_engine_source, typed_csv_reading

    if args.input is None and args.db is None:
        args.parser.error("give the transactions: a file, a folder or glob of files, or --db URL --table NAME")
    if (args.table is not None or args.query is not None) and args.db is None:
        raise RfmError("--table and --query go with --db.")
    typed = typed_csv_reading(args.decimal, args.thousands, args.dayfirst)
    in_pandas = args.clv and args.db is None and Path(args.input).is_file()   # CLV reads the lines in pandas
    if args.db is not None or (args.sheet is None and not in_pandas
                               and is_engine_source(args.input, csv_as_typed=typed)):
        _cmd_analyze_engine(args)
        return
    source = read_transactions(args.input, sheet=args.sheet)
    output = args.output or str(Path(args.input).with_name(Path(args.input).stem + "_rfm.xlsx"))
    check_target(output, (args.input,))
    if args.export_segments:
        prepare_folder(args.export_segments)
    analysis = _run_analysis(source.frame, args, source.first_row, source.date_system)
    _write_results(analysis, output, (args.input,), args)


def _usage_workbook(table, output, inputs: tuple, *, k=None, seed: int = 0, progress=None, compare: bool = False):
    """Cluster a usage table and write its workbook (with ``compare``, users whose subscription
    lapsed compared with those still paying); returns (path, clusters, comparison or None)."""
    import numpy as np
    import pandas as pd

    from .core.analysis import cluster_customers
    from .core.compare import compare_groups
    from .writers.layout import compare_sheets, usage_sheets
    from .writers.xlsx import write_sheets

    active = table.loc[table["recency"].notna()]
    done = cluster_customers(active, k=k, random_state=seed, frequency_basis="sessions per week", progress=progress)
    sheets = usage_sheets(table, done, pd.DataFrame(table.attrs["quality"]))
    comparison = None
    subscription = pd.Series(np.where(table["monetary"] > 0, "paying", "lapsed"), index=table.index)
    if compare and subscription.nunique() == 2:
        # what did the users whose subscription lapsed use, against those still paying?
        adoption = [c for c in table.columns if str(c).startswith("adoption: ")]
        comparison = compare_groups(table.assign(subscription=subscription), "subscription", "lapsed", "paying",
                                    columns=["frequency", "tenure", *adoption])
        sheets = sheets + compare_sheets(comparison)
    written = write_sheets(sheets, output, {"title": "RFM usage analysis", "subject": "Users of a subscription product",
                                            "comments": "Generated by rfm_addin"}, inputs)
    return written, done, comparison


def _cmd_demo(args) -> None:
    if args.saas:
        _cmd_demo_saas(args)
        return
    folder = prepare_folder(args.output_dir)
    if args.export_segments:
        prepare_folder(args.export_segments)
    data = demo_transactions(n_customers=args.customers)
    analysis = _run_analysis(data, args)
    csv_path = atomic_write(folder / "demo_transactions.csv",
                            lambda temp: data.to_csv(temp, index=False, date_format="%Y-%m-%d"))
    if not args.quiet:
        print(f"Demo transactions: {csv_path}")
    _write_results(analysis, folder / "rfm_demo.xlsx", (), args)


def _cmd_demo_saas(args) -> None:
    from .api import usage_table
    from .core.demo import demo_usage

    folder = prepare_folder(args.output_dir)
    events, payments = demo_usage()
    paths = [atomic_write(folder / name, lambda temp, f=frame: f.to_csv(temp, index=False))
             for name, frame in (("demo_events.csv", events), ("demo_payments.csv", payments))]
    table = usage_table(events, payments=payments)
    written, done, comparison = _usage_workbook(table, folder / "usage_demo.xlsx", (), k=args.k, seed=args.seed,
                                                progress=_progress(args.quiet), compare=True)
    if _progress(args.quiet):
        sys.stderr.write("\r\033[K")
    if not args.quiet:
        print(f"Demo events and payments: {paths[0]}, {paths[1]}")
        print(f"Wrote {written}: {len(table):,} users in {done.clusters.k} clusters.")
        if comparison is not None:
            print(f"Users whose subscription lapsed ({comparison.n_a:,}) against those still paying "
                  f"({comparison.n_b:,}):")
            print("\n".join(f"- {line}" for line in comparison.sentences))


def _cmd_template(args) -> None:
    from .build.template import build_template

    print(f"Workbook template: {build_template(args.output)}")


def _cmd_excel_setup(args) -> None:
    from .excel.install import setup_excel

    print("\n".join(setup_excel(folder=args.folder, platform=args.platform).lines()))


def _cmd_migration(args) -> None:
    from .api import migration
    from .core.migration import migration_findings
    from .writers.xlsx import write_migration

    output = args.output or str(Path(args.input).with_name(Path(args.input).stem + "_migration.xlsx"))
    inputs = (args.input,) if Path(args.input).is_file() else ()
    check_target(output, inputs)
    source = read_transactions(args.input, sheet=args.sheet) if args.sheet else None
    result = migration(source.frame if source else args.input, args.before, args.after, mode=args.mode,
                       window=args.window, customer=args.customer, date=args.date, amount=args.amount,
                       order=args.order, bins=args.bins, method=args.method, decimal=args.decimal,
                       thousands=args.thousands, dayfirst=args.dayfirst,
                       date_system=source.date_system if source else 1900,
                       first_row=source.first_row if source else 2, progress=_progress(args.quiet))
    findings = migration_findings(result)
    written = write_migration(result, findings, output, inputs)
    if _progress(args.quiet):
        sys.stderr.write("\r\033[K")
    if not args.quiet:
        print(f"Wrote {written}")
        print("\n".join(f"- {line}" for line in findings))


def _cmd_history(args) -> None:
    from .api import history
    from .writers.xlsx import write_history

    output = args.output or str(Path(args.input).with_name(Path(args.input).stem + "_history.xlsx"))
    inputs = (args.input,) if Path(args.input).is_file() else ()
    check_target(output, inputs)
    if args.export_segments:
        prepare_folder(args.export_segments)
    source = read_transactions(args.input, sheet=args.sheet) if args.sheet else None
    result = history(source.frame if source else args.input, freq=args.every, start=args.start, end=args.end,
                     mode=args.mode, window=args.window, customer=args.customer, date=args.date,
                     amount=args.amount, order=args.order, bins=args.bins, method=args.method,
                     decimal=args.decimal, thousands=args.thousands, dayfirst=args.dayfirst,
                     date_system=source.date_system if source else 1900,
                     first_row=source.first_row if source else 2, progress=_progress(args.quiet))
    with StagedFiles() as files:
        written = write_history(result, output, inputs, files)
        stale = stage_segments(result.customers, args.export_segments, files) if args.export_segments else []
    remove_stale(stale)
    if _progress(args.quiet):
        sys.stderr.write("\r\033[K")
    if not args.quiet:
        print(f"Wrote {written}: {len(result.dates)} dates from {result.dates[0]:%Y-%m-%d} to "
              f"{result.dates[-1]:%Y-%m-%d}, {len(result.customers):,} customers at the last.")


def _cmd_clv_check(args) -> None:
    from .api import clv_check
    from .core.value_findings import check_findings
    from .writers.xlsx import write_clv_check

    output = args.output or str(Path(args.input).with_name(Path(args.input).stem + "_clv_check.xlsx"))
    check_target(output, (args.input,))
    say = _progress(args.quiet)
    if say:
        say("Reading transactions and fitting the models")
    source = read_transactions(args.input, sheet=args.sheet)
    result = clv_check(source.frame, calibration_end=args.calibration_end, holdout_end=args.holdout_end,
                       customer=args.customer, date=args.date, amount=args.amount, order=args.order,
                       decimal=args.decimal, thousands=args.thousands, dayfirst=args.dayfirst,
                       date_system=source.date_system, first_row=source.first_row)
    written = write_clv_check(result, output, (args.input,))
    if say:
        sys.stderr.write("\r\033[K")
    if not args.quiet:
        print(f"Wrote {written}")
        print("\n".join(f"- {line}" for line in check_findings(result)))


def _cmd_plan(args) -> None:
    from .api import plan_campaign
    from .writers.xlsx import write_plan

    output = args.output or str(Path(args.input).with_name(Path(args.input).stem + "_plan.xlsx"))
    check_target(output, (args.input,))
    if args.export_arms:
        prepare_folder(args.export_arms)
    say = _progress(args.quiet)
    if say:
        say("Reading transactions and the history of each segment")
    source = read_transactions(args.input, sheet=args.sheet)
    lift, relative = args.lift
    plan = plan_campaign(source.frame, segments=args.segment, lift=lift, relative=relative, holdout=args.holdout,
                         window=args.window, arms=[a.strip() for a in args.arms.split(",") if a.strip()],
                         random_state=args.seed, as_of=args.as_of, customer=args.customer, date=args.date,
                         amount=args.amount, order=args.order, decimal=args.decimal, thousands=args.thousands,
                         dayfirst=args.dayfirst, date_system=source.date_system, first_row=source.first_row)
    with StagedFiles() as files:
        written = write_plan(plan, output, (args.input,), files)
        stale = stage_segments(plan.customers, args.export_arms, files, by="arm") if args.export_arms else []
    remove_stale(stale)
    if say:
        sys.stderr.write("\r\033[K")
    if not args.quiet:
        print(f"Wrote {written}")
        print("\n".join(f"- {line}" for line in plan.findings))


def _read_plan(path: str):
    """The planned arms (customer id -> arm) of a plan workbook's RFM_TestCustomers table."""
    import openpyxl
    import pandas as pd

    book = openpyxl.load_workbook(path, read_only=False, data_only=True)
    for sheet in book.worksheets:
        if "RFM_TestCustomers" in sheet.tables:
            rows = [[c.value for c in row] for row in sheet[sheet.tables["RFM_TestCustomers"].ref]]
            frame = pd.DataFrame(rows[1:], columns=rows[0])
            return pd.Series(frame["Arm"].astype(str).to_numpy(), index=frame.iloc[:, 0].astype(str).str.lstrip("'"))
    raise RfmError(f"{path} has no RFM_TestCustomers table: give the workbook `rfm-addin plan` wrote.")


def _cmd_readout(args) -> None:
    from .core.experiments import readout_table

    source = read_transactions(args.input)
    frame = source.frame
    plan = _read_plan(args.plan) if args.plan else None
    customer = args.customer or (str(frame.columns[0]) if plan is not None else None)
    result = readout_table(frame, arm=args.arm, converted=args.converted, revenue=args.revenue,
                           treatment=args.treatment, alpha=args.alpha, planned_n=args.planned, plan=plan,
                           customer=customer)
    lo, hi = result["difference_ci"]
    rlo, rhi = result["relative_lift_ci"]
    print(f"{result['label'].capitalize()}: treatment {result['conversions_treatment']:,} of {result['n_treatment']:,} "
          f"({result['rate_treatment']:.2%}), holdout {result['conversions_holdout']:,} of {result['n_holdout']:,} "
          f"({result['rate_holdout']:.2%}).")
    print(f"- difference {result['difference'] * 100:+.2f} points ({1 - args.alpha:.0%} interval {lo * 100:+.2f} to "
          f"{hi * 100:+.2f}); relative lift {result['relative_lift']:+.1%} ({rlo:+.1%} to {rhi:+.1%}); "
          f"p = {result['p_value']:.4f}.")
    if result["revenue_difference"] is not None:
        rlo, rhi = result["revenue_difference_ci"]
        print(f"- revenue per customer {result['revenue_difference']:+,.2f} ({rlo:+,.2f} to {rhi:+,.2f}, Welch).")
    print(f"- rule: {result['rule']}.")


def _cmd_usage(args) -> None:
    from .api import usage_table

    if (args.input is None) == (args.db is None):
        args.parser.error("give the events: a file, a folder or glob of files, or --db URL --table NAME (one of them)")
    if args.db is None and (args.table or args.query or args.payments_table or args.payments_query):
        raise RfmError("--table, --query, --payments-table and --payments-query go with --db.")
    if args.db is not None and args.table is None and args.query is None:
        raise RfmError("With --db, say what to read: --table NAME or --query \"select ...\".")
    if args.payments and (args.payments_table or args.payments_query):
        raise RfmError("Give the payments as a file (--payments) or from the database (--payments-table), not both.")
    output = _output_for(args, "usage")
    inputs = tuple(p for p in (args.input, args.payments) if p is not None and Path(p).is_file())
    check_target(output, inputs)
    say = _progress(args.quiet)
    if say:
        say("Reading the events")
    from_db = args.payments_table is not None or args.payments_query is not None
    table = usage_table(args.db or args.input, payments=args.db if from_db else args.payments, as_of=args.as_of,
                        user=args.user, timestamp=args.timestamp, event=args.event, top_features=args.features,
                        table=args.table, query=args.query, payments_table=args.payments_table,
                        payments_query=args.payments_query, progress=say)
    written, done, _ = _usage_workbook(table, output, inputs, k=args.k, seed=args.seed, progress=say)
    if say:
        sys.stderr.write("\r\033[K")
    if not args.quiet:
        active = int(table["recency"].notna().sum())
        print(f"Wrote {written}: {len(table):,} users, {active:,} with activity, in {done.clusters.k} clusters.")
        for number, row in done.profile.iterrows():
            print(f"- Cluster {number} '{row['cluster_name']}': {int(row['customers']):,} users")


def _cmd_compare_groups(args) -> None:
    from .core.compare import compare_groups
    from .core.plan import retention_test_plan
    from .writers.layout import compare_sheets, plan_sheets, planned_finding
    from .writers.xlsx import write_sheets

    frame = read_transactions(args.input, sheet=args.sheet).frame
    result = compare_groups(frame, args.by, args.a, args.b)
    plan = None
    if args.events:
        lift, relative = args.lift
        plan = retention_test_plan(frame, result, read_transactions(args.events).frame, lift=lift, relative=relative)
        result.sentences.append(planned_finding(plan))
    if args.output:
        check_target(args.output, (args.input,))
        sheets = compare_sheets(result) + (plan_sheets(plan) if plan is not None else [])
        written = write_sheets(sheets, args.output, {"title": "RFM group comparison",
                                                     "comments": "Generated by rfm_addin"}, (args.input,))
        print(f"Wrote {written}")
    print(f"{args.by} {result.a} ({result.n_a:,} customers) against {args.by} {result.b} ({result.n_b:,}):")
    print("\n".join(f"- {line}" for line in result.sentences))


def _cmd_share(args) -> None:
    from .writers.share_copy import share_copy

    output = args.output or str(Path(args.input).with_name(Path(args.input).stem + "_share.xlsx"))
    report = share_copy(args.input, output, title=args.title)
    if not args.quiet:
        print("\n".join(report.lines()))


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of ``rfm-addin``; returns the exit status."""
    parser = build_parser()
    args = parser.parse_args(argv)
    try:
        {"analyze": _cmd_analyze, "demo": _cmd_demo, "template": _cmd_template,
         "excel-setup": _cmd_excel_setup, "migration": _cmd_migration, "history": _cmd_history,
         "share": _cmd_share, "clv-check": _cmd_clv_check, "plan": _cmd_plan,
         "readout": _cmd_readout, "usage": _cmd_usage, "compare-groups": _cmd_compare_groups}[args.command](args)
    except RfmError as exc:
        if sys.stderr.isatty():
            sys.stderr.write("\r\033[K")
        print(f"rfm-addin: error: {exc}", file=sys.stderr)
        return EXIT_BAD_INPUT
    except KeyboardInterrupt:
        print("rfm-addin: interrupted; nothing was written.", file=sys.stderr)
        return 130
    return 0


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
