"""Render the layout (:mod:`rfm_addin.layout`) into a new .xlsx file with XlsxWriter.

XlsxWriter writes new workbooks with real Excel Tables and number formats (openpyxl is
kept for reading and editing existing files). Text from the data is always written with
``write_string``: a customer id such as ``=HYPERLINK(...)`` or ``@SUM(1)`` stays text and
never becomes a formula or a link.
"""
from __future__ import annotations

import math
import os
from datetime import date, datetime

import numpy as np
import pandas as pd
import xlsxwriter

from ..layout import NUMBER_FORMATS, TABLE_START_ROW, SheetSpec, TableSpec, analysis_sheets
from .safe import atomic_write

#: Workbook options that stop XlsxWriter from turning text into formulas, links or numbers.
SAFE_OPTIONS = {"strings_to_formulas": False, "strings_to_urls": False, "strings_to_numbers": False}

_MIN_WIDTH, _MAX_WIDTH = 8, 60


def _cell_value(value):
    """A Python value XlsxWriter writes as the right cell type (None for blanks)."""
    if value is None or value is pd.NaT or value is pd.NA:
        return None
    if isinstance(value, (float, np.floating)):
        return None if math.isnan(value) or math.isinf(value) else float(value)
    if isinstance(value, (bool, np.bool_)):
        return bool(value)
    if isinstance(value, (int, np.integer)):
        return int(value)
    if isinstance(value, pd.Timestamp):
        return value.to_pydatetime()
    if isinstance(value, np.datetime64):
        return None if np.isnat(value) else pd.Timestamp(value).to_pydatetime()
    if isinstance(value, (datetime, date)):
        return value
    return str(value)


def _write_cell(sheet, row: int, col: int, value, fmt) -> None:
    value = _cell_value(value)
    if value is None:
        sheet.write_blank(row, col, None, fmt)
    elif isinstance(value, str):
        sheet.write_string(row, col, value, fmt)
    elif isinstance(value, bool):
        sheet.write_boolean(row, col, value, fmt)
    elif isinstance(value, (datetime, date)):
        sheet.write_datetime(row, col, value, fmt)
    else:
        sheet.write_number(row, col, value, fmt)


def _width(header: str, values: pd.Series, kind: str) -> float:
    sample = values.iloc[:2000]
    if kind == "date":
        longest = 10
    elif kind in ("money", "decimal", "int", "days"):
        numbers = pd.to_numeric(sample, errors="coerce").abs()
        biggest = float(numbers.max()) if numbers.notna().any() else 0.0
        digits = len(f"{biggest:,.0f}") + (3 if kind in ("money", "decimal") else 0)
        longest = digits
    else:
        longest = max((len(str(v)) for v in sample if _cell_value(v) is not None), default=0)
    return float(min(_MAX_WIDTH, max(_MIN_WIDTH, len(header) + 2, longest + 2)))


class _Formats:
    """Cache of XlsxWriter formats by number-format kind."""

    def __init__(self, book):
        self.book = book
        self.cache = {}
        self.title = book.add_format({"bold": True, "font_size": 14})
        self.note = book.add_format({"italic": True, "font_color": "#595959"})

    def __call__(self, kind: str):
        if kind not in self.cache:
            props = {"num_format": NUMBER_FORMATS[kind]}
            if kind == "text":
                props = {"num_format": "@", "text_wrap": False}
            self.cache[kind] = self.book.add_format(props)
        return self.cache[kind]


def _write_table(sheet, spec: TableSpec, top: int, formats: _Formats, widths: dict) -> int:
    """Write one table with its header at row ``top``; return the row after it."""
    frame = spec.frame
    n_rows = max(len(frame), 1)
    for c, column in enumerate(frame.columns):
        fmt = formats(spec.formats[c])
        values = frame[column].tolist()
        for r, value in enumerate(values, start=top + 1):
            _write_cell(sheet, r, c, value, fmt)
        widths[c] = max(widths.get(c, 0), _width(spec.headers[c], frame[column], spec.formats[c]))
    sheet.add_table(top, 0, top + n_rows, len(frame.columns) - 1, {
        "name": spec.name,
        "style": "Table Style Medium 2",
        "columns": [{"header": h, "format": formats(k)} for h, k in zip(spec.headers, spec.formats)],
    })
    return top + n_rows + 1


def render_sheet(book, spec: SheetSpec, formats: _Formats) -> None:
    """Add one sheet of the layout to an open XlsxWriter workbook."""
    sheet = book.add_worksheet(spec.name)
    sheet.write_string(0, 0, spec.title, formats.title)
    sheet.write_string(1, 0, spec.note, formats.note)
    widths: dict[int, float] = {}
    row = TABLE_START_ROW - 1
    for table in spec.tables:
        row = _write_table(sheet, table, row, formats, widths) + 2
    for col, width in widths.items():
        sheet.set_column(col, col, width)
    if len(spec.tables) == 1:
        sheet.freeze_panes(TABLE_START_ROW, 0)


def write_sheets(sheets: list[SheetSpec], path: str | os.PathLike, properties: dict | None = None,
                 inputs: tuple = ()) -> str:
    """Write the sheets to a new workbook at ``path`` atomically; return the path."""

    def write(temp: str) -> None:
        book = xlsxwriter.Workbook(temp, SAFE_OPTIONS)
        formats = _Formats(book)
        for spec in sheets:
            render_sheet(book, spec, formats)
        if properties:
            book.set_properties(properties)
        book.close()

    return atomic_write(path, write, inputs)


def write_analysis(analysis, path: str | os.PathLike, inputs: tuple = ()) -> str:
    """Write an :class:`~rfm_addin.analysis.Analysis` as a workbook (see the layout)."""
    properties = {
        "title": f"RFM analysis as of {analysis.as_of:%Y-%m-%d}",
        "subject": "Customer segmentation (RFM scores, segments, K-Means clusters)",
        "comments": "Generated by rfm_addin",
    }
    return write_sheets(analysis_sheets(analysis), path, properties, inputs)
