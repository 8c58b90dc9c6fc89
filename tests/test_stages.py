"""Each named stage of the two RFM implementations alone, on hand-built lines (issue 14).

pandas (rfm_addin.core.rfm): parse_lines -> clean -> classify_lines -> cut_at_as_of -> aggregate -> finish.
The engine's expression (rfm_addin.sources.ibis_rfm): clean_stage -> classify_stage -> aggregate_stage,
checked against the pandas stages on the same rows.
"""
from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from rfm_addin.core.columns import resolve_columns
from rfm_addin.core.errors import DataError
from rfm_addin.core.quality import QualityReport
from rfm_addin.core.rfm import classify_lines, clean, cut_at_as_of, parse_lines

FRAME = pd.DataFrame({
    "Customer": ["a", "a", "a", None, None, "b", "b", "Total"],
    "Invoice": ["1", "1", "C2", "3", None, "4", "4", None],
    "Date": ["2024-01-01", "2024-01-01", "2024-01-03", "2024-01-04", None, "2024-01-05", "2024-01-06", None],
    "Amount": [10.0, 10.0, 4.0, 7.0, None, 5.0, -2.0, 28.0],
})


def staged(frame=FRAME):
    cols = resolve_columns(frame.columns, None, None, None, None)
    report = QualityReport()
    lines = parse_lines(frame, cols, report)
    return cols, report, lines


def counts(report):
    return report.to_frame().set_index("check")["count"].to_dict()


def test_parse_lines_reads_columns_and_leaves_out_the_totals_row():
    cols, report, lines = staged()
    assert (cols.customer, cols.order, cols.date, cols.amount) == ("Customer", "Invoice", "Date", "Amount")
    assert lines.totals.tolist() == [False] * 7 + [True]
    assert lines.cust_codes.tolist()[3:5] == [-1, -1] and lines.cust_codes[7] == -1
    assert np.isnan(lines.amounts[4]) and lines.amounts[0] == 10.0
    assert counts(report)["Totals rows at the end of the data"] == 1


def test_clean_drops_blank_rows_rows_without_customer_and_exact_duplicates():
    _, report, lines = staged()
    rows = clean(lines, report)
    # row 1 repeats row 0 (same invoice, every column equal); 3 has no customer; 4 is blank; 7 totals
    assert rows.tolist() == [True, False, True, False, False, True, True, False]
    got = counts(report)
    assert got["Blank rows skipped"] == 1 and got["Rows without a customer id"] == 1
    assert got["Exact duplicate rows (same order, every column equal)"] == 1


def test_clean_names_the_rows_that_lack_a_date():
    frame = FRAME.iloc[:3].assign(Date=["2024-01-01", None, "2024-01-03"], Invoice=["1", "2", "3"])
    _, report, lines = staged(frame)
    with pytest.raises(DataError, match=r"Column 'Date': the date is empty in 1 row .*row 3"):
        clean(lines, report)


def test_classify_lines_cancellations_always_subtract():
    _, _, lines = staged()
    cancel, signed = classify_lines(lines)
    # C2 is a cancelled invoice (its amount is written positive), -2.0 a return
    assert cancel.tolist() == [False, False, True, False, False, False, True, False]
    assert signed[2] == -4.0 and signed[6] == -2.0 and signed[0] == 10.0


def test_cut_at_as_of_default_and_stated():
    days = np.array([10, 12, 20, 25])
    rows = np.array([True, True, True, False])
    cancel = np.array([False, True, False, False])
    amounts = np.array([5.0, -1.0, 3.0, 9.0])
    report = QualityReport()
    day, stamp = cut_at_as_of(days, rows.copy(), cancel, amounts, None, report)
    assert day == 21 and stamp == pd.Timestamp(np.datetime64(21, "D"))   # the day after the last kept row
    kept = rows.copy()
    day, stamp = cut_at_as_of(days, kept, cancel, amounts, pd.Timestamp(np.datetime64(12, "D")), QualityReport())
    assert day == 12 and kept.tolist() == [True, True, False, False]


def test_engine_stages_classify_the_same_lines_as_pandas():
    ibis = pytest.importorskip("ibis")
    from rfm_addin.sources import ibis_rfm

    frame = FRAME.iloc[:7].assign(Date=pd.to_datetime(FRAME["Date"].iloc[:7]))
    t = ibis.duckdb.connect().create_table("t", frame)
    cols = resolve_columns(frame.columns, None, None, None, None)
    plan = ibis_rfm._plan(t, cols, [], False)
    grouped = ibis_rfm.clean_stage(plan)
    classified = ibis_rfm.classify_stage(grouped, plan, None).to_pandas()
    # stage A grouped the duplicate pair: six groups, the pair counted twice
    assert len(classified) == 6 and classified["n"].sum() == 7
    kinds = {v: k for k, v in ibis_rfm.KINDS.items()}
    records = classified.to_dict("records")
    # (text order ids are grouped by their 64-bit hash in DuckDB, so rows are told apart by customer and amount)
    by_id = {(r["_c"] if isinstance(r["_c"], str) else None, r["_a"]): kinds[r["_kind"]] for r in records}
    assert by_id[("a", 10.0)] == "purchase" and by_id[("a", 4.0)] == "cancel"      # C2: a cancelled invoice
    assert by_id[("b", 5.0)] == "purchase" and by_id[("b", -2.0)] == "cancel"
    assert by_id[(None, 7.0)] == "no_customer"
    assert [k for key, k in by_id.items() if key[0] is None and np.isnan(key[1])] == ["blank"]
    # the same cancellations and signed amounts as the pandas stages on the same rows
    _, report, lines = staged(FRAME.iloc[:7])
    rows = clean(lines, report)
    cancel, signed = classify_lines(lines)
    engine = classified.loc[classified["_c"].notna()]
    assert sorted(engine["_signed"]) == sorted(signed[rows]) == [-4.0, -2.0, 5.0, 10.0]
    assert (engine["_kind"] == ibis_rfm.KINDS["cancel"]).sum() == int(cancel[rows].sum()) == 2
