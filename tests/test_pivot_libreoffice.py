"""A pivot table over RFM_Customers (built by LibreOffice, as an analyst would build one in Excel)
gives the same customers and revenue per segment as the RFM Segments table: the customer
table is pivot-ready, and the two views of the workbook agree."""
from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import openpyxl
import pytest
from openpyxl.utils.cell import range_boundaries

from rfm_addin.cli import main

HERE = Path(__file__).resolve().parent
UNO_PYTHON = "/usr/bin/python3"


def _has_uno() -> bool:
    if not (Path(UNO_PYTHON).exists() and shutil.which("soffice")):
        return False
    return subprocess.run([UNO_PYTHON, "-c", "import uno"], capture_output=True).returncode == 0


pytestmark = pytest.mark.skipif(not _has_uno() and os.environ.get("CI") != "true",
                                reason="needs LibreOffice and its Python bridge (Debian: python3-uno)")


def table(book: openpyxl.Workbook, sheet: str, name: str) -> tuple[str, list[str], list[list]]:
    ws = book[sheet]
    ref = ws.tables[name].ref
    left, top, right, bottom = range_boundaries(ref)
    rows = [[c.value for c in row] for row in ws.iter_rows(min_row=top, max_row=bottom, min_col=left, max_col=right)]
    return ref, rows[0], rows[1:]


def test_libreoffice_pivot_equals_the_segments_table(tmp_path):
    folder = tmp_path / "demo"
    assert main(["demo", "-o", str(folder), "--customers", "300", "-q"]) == 0
    path = folder / "rfm_demo.xlsx"
    book = openpyxl.load_workbook(path)
    ref, headers, _ = table(book, "RFM Customers", "RFM_Customers")
    _, seg_headers, seg_rows = table(book, "RFM Segments", "RFM_Segments")
    done = subprocess.run([UNO_PYTHON, str(HERE / "lo_pivot.py"), str(path), "RFM Customers", ref,
                           str(headers.index("Segment")), str(headers.index("Monetary")), "0"],
                          capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr
    cells = json.loads(done.stdout)
    pivot: dict[str, dict[str, float]] = {}
    current = None
    for label, data, value in cells:           # rows: segment (first line only), "Sum - ..."/"Count - ...", value
        if " - " not in str(data):
            continue                              # the Filter, blank and header rows
        current = label or current
        pivot.setdefault(current, {})[data.split(" - ")[0]] = value
    segments = {row[seg_headers.index("Segment")]: (row[seg_headers.index("Customers")],
                                                    row[seg_headers.index("Revenue")]) for row in seg_rows}
    assert sorted(pivot) == sorted(segments)
    for name, (customers, revenue) in segments.items():
        assert pivot[name]["Count"] == customers, name
        assert pivot[name]["Sum"] == pytest.approx(revenue, abs=0.005), name
    assert sum(c for c, _ in segments.values()) == 300
