"""Kept columns whose names clash with result columns: both are kept, the user's renamed visibly.

A CRM export often carries its own "Segment" or "Cluster". The user's column keeps its
values under "<name> (input)" in ``Analysis.customers``, so Python, the workbook (a real
Excel Table, headers unique as Excel requires, case-insensitively) and the segment CSVs
agree. Hand-worked: three customers, one purchase each.
"""
from __future__ import annotations

import csv
import importlib.util
import subprocess
import sys
from pathlib import Path

import openpyxl
import pandas as pd
import pytest

import rfm_addin as rfm
from rfm_addin.cli import main
from rfm_addin.core.columns import input_names
from rfm_addin.core.errors import ColumnError

FRAME = pd.DataFrame({
    "Customer": ["a", "b", "c"],
    "Date": pd.to_datetime(["2024-01-01", "2024-01-05", "2024-01-09"]),
    "Amount": [10.0, 20.0, 30.0],
    "Segment": ["gold", "silver", "bronze"],       # the CRM's own segment
    "cluster": [7, 8, 9],
    "R score": ["x", "y", "z"],
    "r score": ["p", "q", "r"],
    "recency": [100, 200, 300],
})


def test_input_names_rule():
    reserved = {"segment", "cluster"}
    assert input_names(["Segment", "Region", "segment", "Segment (input)"], reserved) == {
        "Segment": "Segment (input)", "Region": "Region", "segment": "segment (input 2)",
        "Segment (input)": "Segment (input) (input)"}


def test_analysis_keeps_both_and_renames_the_users_columns():
    analysis = rfm.analyze(FRAME, keep=["Segment", "cluster", "R score", "r score", "recency"], k=2,
                           k_range=range(2, 3))
    customers = analysis.customers
    assert customers["Segment (input)"].tolist() == ["gold", "silver", "bronze"]
    assert customers["cluster (input)"].tolist() == [7, 8, 9]
    assert customers["R score (input)"].tolist() == ["x", "y", "z"]
    assert customers["r score (input 2)"].tolist() == ["p", "q", "r"]
    assert customers["recency (input)"].tolist() == [100, 200, 300]
    # The results are untouched: recency to 2024-01-10 (the day after the last purchase).
    assert customers["recency"].tolist() == [9, 5, 1]
    assert set(customers["segment"]) <= set(analysis.rules["segment"])
    assert customers["cluster"].isin([1, 2]).all()
    folded = [str(c).casefold() for c in customers.columns]
    assert len(folded) == len(set(folded))


def test_workbook_table_and_segment_csvs_carry_both(tmp_path):
    source = tmp_path / "crm.csv"
    FRAME.assign(Date=FRAME["Date"].dt.strftime("%Y-%m-%d")).to_csv(source, index=False)
    out = tmp_path / "out.xlsx"
    folder = tmp_path / "segments"
    assert main(["analyze", str(source), "-o", str(out), "--keep", "Segment", "--k", "2", "--k-range", "2..2",
                 "--export-segments", str(folder), "-q"]) == 0
    validator = Path(__file__).resolve().parents[2] / "shared" / "ooxml" / "validate.py"
    if validator.is_file() and importlib.util.find_spec("lxml"):   # both "Segment" headers: a table Excel accepts
        done = subprocess.run([sys.executable, str(validator), str(out)], capture_output=True, text=True)
        assert done.returncode == 0, done.stdout[-2000:]
    sheet = openpyxl.load_workbook(out)["RFM Customers"]
    assert "RFM_Customers" in sheet.tables
    table = sheet.tables["RFM_Customers"]
    first = openpyxl.utils.cell.range_boundaries(table.ref)
    headers = [c.value for c in next(sheet.iter_rows(min_row=first[1], max_row=first[1], min_col=first[0],
                                                     max_col=first[2]))]
    assert "Segment" in headers and "Segment (input)" in headers
    column = headers.index("Segment (input)") + first[0]
    values = [sheet.cell(first[1] + i, column).value for i in (1, 2, 3)]
    assert values == ["gold", "silver", "bronze"]
    rows = [row for path in sorted(folder.glob("*.csv")) for row in csv.DictReader(path.open(encoding="utf-8-sig"))]
    # The CSVs carry the core's columns: the result "segment" and the user's "Segment (input)".
    assert sorted(r["Segment (input)"] for r in rows) == ["bronze", "gold", "silver"]
    assert {r["segment"] for r in rows} <= set(rfm.DEFAULT_SEGMENTS["segment"])


def test_unknown_kept_column_is_still_an_error():
    with pytest.raises(ColumnError, match="not in the data"):
        rfm.rfm_table(FRAME, keep=["Region"])
