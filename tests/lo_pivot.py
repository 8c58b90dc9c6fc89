"""Build a pivot table (DataPilot) in LibreOffice over a range of a workbook; print its cells as JSON.

Run with the Python that has LibreOffice's ``uno`` module (Debian: ``/usr/bin/python3`` with
``python3-uno``), not the project's environment::

    /usr/bin/python3 tests/lo_pivot.py BOOK.xlsx SHEET "A4:O9" ROW_FIELD SUM_FIELD COUNT_FIELD

Fields are 0-based column positions within the range. The pivot has the row field as
rows, and two data fields: the sum of one column and the count of another, exactly as an
analyst builds it in Excel or Calc. Its output range is printed as a JSON list of rows.
"""
from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import tempfile
import time

import uno
from com.sun.star.beans import PropertyValue
from com.sun.star.connection import NoConnectException
from com.sun.star.sheet.DataPilotFieldOrientation import DATA, ROW
from com.sun.star.sheet.GeneralFunction import COUNT, SUM
from com.sun.star.table import CellAddress, CellRangeAddress


def _column(letters: str) -> int:
    n = 0
    for ch in letters:
        n = n * 26 + ord(ch) - 64
    return n - 1


def _cell(ref: str) -> tuple[int, int]:
    letters = "".join(ch for ch in ref if ch.isalpha())
    return _column(letters.upper()), int(ref[len(letters):]) - 1


def main(path: str, sheet_name: str, area: str, row_field: int, sum_field: int, count_field: int) -> None:
    profile = tempfile.mkdtemp(prefix="rfm-lo-pivot-")
    pipe = f"rfmpivot{os.getpid()}"
    office = subprocess.Popen(["soffice", "--headless", "--invisible", "--norestore", "--nologo",
                               f"-env:UserInstallation=file://{profile}",
                               f"--accept=pipe,name={pipe};urp;StarOffice.ComponentContext"],
                              stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        local = uno.getComponentContext()
        resolver = local.ServiceManager.createInstanceWithContext("com.sun.star.bridge.UnoUrlResolver", local)
        context = None
        for _ in range(120):
            try:
                context = resolver.resolve(f"uno:pipe,name={pipe};urp;StarOffice.ComponentContext")
                break
            except NoConnectException:
                time.sleep(0.5)
        if context is None:
            raise SystemExit("LibreOffice did not start")
        desktop = context.ServiceManager.createInstanceWithContext("com.sun.star.frame.Desktop", context)
        hidden = PropertyValue()
        hidden.Name, hidden.Value = "Hidden", True
        doc = desktop.loadComponentFromURL(uno.systemPathToFileUrl(os.path.abspath(path)), "_blank", 0, (hidden,))
        sheets = doc.Sheets
        index = list(sheets.ElementNames).index(sheet_name)
        sheet = sheets.getByIndex(index)
        first, last = area.split(":")
        (c1, r1), (c2, r2) = _cell(first), _cell(last)
        pilots = sheet.DataPilotTables
        descriptor = pilots.createDataPilotDescriptor()
        descriptor.SourceRange = CellRangeAddress(index, c1, r1, c2, r2)
        fields = descriptor.DataPilotFields
        fields.getByIndex(row_field).Orientation = ROW
        total = fields.getByIndex(sum_field)
        total.Orientation = DATA
        total.Function = SUM
        count = fields.getByIndex(count_field)
        count.Orientation = DATA
        count.Function = COUNT
        pilots.insertNewByName("RfmPivot", CellAddress(index, c2 + 3, r1), descriptor)
        output = pilots.getByName("RfmPivot").OutputRange
        cells = sheet.getCellRangeByPosition(output.StartColumn, output.StartRow, output.EndColumn, output.EndRow)
        print(json.dumps([list(row) for row in cells.DataArray]))
        doc.close(True)
        try:
            desktop.terminate()
        except Exception:
            pass
    finally:
        try:
            office.wait(timeout=30)
        except subprocess.TimeoutExpired:
            office.kill()
        shutil.rmtree(profile, ignore_errors=True)


if __name__ == "__main__":
    main(sys.argv[1], sys.argv[2], sys.argv[3], int(sys.argv[4]), int(sys.argv[5]), int(sys.argv[6]))
