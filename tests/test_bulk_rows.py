"""The bulk rows (issue 19) write the same workbook as the cell-by-cell path: every cell's
value, type, number format and fill read back with openpyxl, the tables and dimensions,
on generated tables of every column type (hypothesis) and on a real analysis."""
from __future__ import annotations

import datetime as dt

import numpy as np
import openpyxl
import pandas as pd
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import rfm_addin as rfm
from rfm_addin.writers import xlsx
from rfm_addin.writers.layout import SheetSpec, TableSpec, analysis_sheets


def _write_both(sheets, tmp_path, name: str):
    paths = []
    for label, rows in (("cells", 10**12), ("bulk", 1)):
        with pytest.MonkeyPatch.context() as mp:
            mp.setattr(xlsx, "BULK_ROWS", rows)
            paths.append(xlsx.write_sheets(sheets, tmp_path / f"{name}_{label}.xlsx"))
    return paths


def assert_same_workbook(a_path, b_path) -> None:
    # read-only mode trusts each sheet's <dimension> (as this package's reader does): the same rows
    fast_a, fast_b = (openpyxl.load_workbook(p, read_only=True) for p in (a_path, b_path))
    for ws in fast_a.worksheets:
        assert ws.calculate_dimension() == fast_b[ws.title].calculate_dimension(), ws.title
        assert list(ws.iter_rows(values_only=True)) == list(fast_b[ws.title].iter_rows(values_only=True)), ws.title
    a, b = openpyxl.load_workbook(a_path), openpyxl.load_workbook(b_path)
    assert a.sheetnames == b.sheetnames
    for ws in a.worksheets:
        other = b[ws.title]
        assert ws.dimensions == other.dimensions, ws.title
        assert dict(ws.tables.items()) == dict(other.tables.items())
        assert [c.width for c in ws.column_dimensions.values()] == [c.width for c in other.column_dimensions.values()]
        assert len(ws._charts) == len(other._charts)
        for row_a, row_b in zip(ws.iter_rows(), other.iter_rows(), strict=True):
            for x, y in zip(row_a, row_b, strict=True):
                got = (y.value, y.data_type, y.number_format, y.fill.fgColor.rgb, y.font.b, y.font.i)
                assert (x.value, x.data_type, x.number_format, x.fill.fgColor.rgb, x.font.b, x.font.i) == got, \
                    (ws.title, x.coordinate)


TEXT = st.text(alphabet=st.characters(codec="utf-8", exclude_categories=("Cs",)), max_size=12) | st.sampled_from(
    ["=SUM(1)", "@cmd", " padded ", "_x0001_", "a\x01b", "<&>", "\t", "", "Champions", "At Risk"])
ANY = st.one_of(st.none(), TEXT, st.floats(allow_nan=True, allow_infinity=True), st.integers(-10**17, 10**17),
                st.booleans(), st.datetimes(dt.datetime(1899, 12, 30), dt.datetime(2100, 1, 1)),
                st.dates(dt.date(1900, 1, 1), dt.date(2100, 1, 1)))


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(n=st.integers(1, 30), data=st.data())
def test_bulk_equals_cell_by_cell(tmp_path_factory, n, data):
    floats = data.draw(st.lists(st.floats(allow_nan=True, allow_infinity=True, width=64), min_size=n, max_size=n))
    ints = data.draw(st.lists(st.integers(-2**62, 2**62), min_size=n, max_size=n))
    stamps = data.draw(st.lists(st.one_of(st.none(), st.datetimes(dt.datetime(1899, 12, 31), dt.datetime(2200, 1, 1))),
                                min_size=n, max_size=n))
    mixed = data.draw(st.lists(ANY, min_size=n, max_size=n))
    segments = data.draw(st.lists(st.sampled_from(["Champions", "At Risk", "Lost", "Custom"]), min_size=n, max_size=n))
    frame = pd.DataFrame({
        "float": floats, "int": np.array(ints, dtype=np.int64), "bool": [i % 3 == 0 for i in range(n)],
        "when": pd.to_datetime(pd.Series(stamps, dtype=object)) + pd.Timedelta(nanoseconds=789),
        "mixed": pd.Series(mixed, dtype=object), "segment": segments,
        "id": pd.Series([f"C{i:05d}" for i in range(n)], dtype="str"),
    })
    spec = TableSpec("Bulk", frame, list(frame.columns),
                     ["decimal", "int", "text", "date", "text", "text", "text"], colour_by="segment")
    sheets = [SheetSpec("RFM Bulk", "Title", "Note", [spec, TableSpec("After", frame.head(2), list(frame.columns),
                                                                      spec.formats)])]
    folder = tmp_path_factory.mktemp("bulk")
    assert_same_workbook(*_write_both(sheets, folder, "t"))


def test_a_real_analysis_is_the_same_workbook(tmp_path):
    analysis = rfm.analyze(rfm.demo_transactions(n_customers=800), k=4)
    assert len(analysis.customers) >= 200          # the customer table takes the bulk path
    cells, bulk = _write_both(analysis_sheets(analysis), tmp_path, "analysis")
    assert_same_workbook(cells, bulk)
