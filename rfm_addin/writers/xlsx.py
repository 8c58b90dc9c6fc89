"""Render the layout (:mod:`rfm_addin.writers.layout`) into a new .xlsx file with XlsxWriter.

XlsxWriter writes new workbooks with real Excel Tables and number formats (openpyxl is
kept for reading and editing existing files). Charts (:class:`~rfm_addin.writers.layout.ChartSpec`)
become native, editable Excel charts whose series refer to the cells of their table;
colour scales (:class:`~rfm_addin.writers.layout.ConditionalFormatSpec`) become 3-colour-scale
conditional formats; segment cells are filled with the segment's colour. Text from the data is always written with
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

from .layout import (NUMBER_FORMATS, ChartSpec, ConditionalFormatSpec, SheetSpec, TableSpec, analysis_sheets,
                      checked, locate, segment_colour, table_tops)
from . import bulk_rows
from .bulk_rows import cell_value
from .safe import StagedFiles, atomic_write

#: Workbook options that stop XlsxWriter from turning text into formulas, links or numbers.
SAFE_OPTIONS = {"strings_to_formulas": False, "strings_to_urls": False, "strings_to_numbers": False}

_MIN_WIDTH, _MAX_WIDTH = 8, 60

#: Tables with at least this many rows have their data rows written by :mod:`.bulk_rows`
#: (the same cells, written into the sheet's XML by columns); smaller ones cell by cell.
BULK_ROWS = 200


def _write_cell(sheet, row: int, col: int, value, fmt) -> None:
    value = cell_value(value)
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
        longest = max((len(str(v)) for v in sample if cell_value(v) is not None), default=0)
    return float(min(_MAX_WIDTH, max(_MIN_WIDTH, len(header) + 2, longest + 2)))


class _Formats:
    """Cache of XlsxWriter formats by number-format kind (and fill colour)."""

    def __init__(self, book):
        self.book = book
        self.cache = {}
        self.title = book.add_format({"bold": True, "font_size": 14})
        self.note = book.add_format({"italic": True, "font_color": "#595959"})

    def __call__(self, kind: str, fill: str | None = None):
        key = (kind, fill)
        if key not in self.cache:
            props = {"num_format": NUMBER_FORMATS[kind]}
            if kind == "text":
                props = {"num_format": "@", "text_wrap": False}
            if fill:
                props["bg_color"] = fill
                props["pattern"] = 1
            self.cache[key] = self.book.add_format(props)
        return self.cache[key]


def _bulk_block(sheet, spec: TableSpec, top: int, formats: _Formats) -> tuple[int, int, int, list[str]]:
    """The table's data rows as a :mod:`.bulk_rows` block (the cell formats numbered now)."""
    frame = spec.frame
    styles, same = [], []
    for c, column in enumerate(frame.columns):
        kind = spec.formats[c]
        if column == spec.colour_by:
            by_colour = {colour: f' s="{formats(kind, colour)._get_xf_index()}"'
                         for colour in {segment_colour(v) for v in frame[column]}}
            styles.append(lambda v, k=by_colour: k[segment_colour(v)])
            same.append(False)
        else:
            style = f' s="{formats(kind)._get_xf_index()}"'
            styles.append(lambda v, s=style: s)
            same.append(True)
    chunks = bulk_rows.rows_xml(frame, top + 1, styles, same, formats.book.date_1904,
                                sheet.str_table._get_shared_string_index)
    return top + 1, top + len(frame), len(frame.columns) - 1, chunks


def _write_table(sheet, spec: TableSpec, top: int, formats: _Formats, widths: dict, blocks: list | None = None) -> int:
    """Write one table with its header at row ``top`` (0-based); return the row after it.

    With ``blocks`` (a list :func:`.bulk_rows.hook` will write), a table of :data:`BULK_ROWS`
    rows or more adds its data rows there instead of writing them cell by cell."""
    frame = spec.frame
    n_rows = max(len(frame), 1)
    bulk = blocks is not None and len(frame) >= BULK_ROWS
    if bulk:
        blocks.append(_bulk_block(sheet, spec, top, formats))
    for c, column in enumerate(frame.columns):
        kind = spec.formats[c]
        if not bulk:
            for r, value in enumerate(frame[column].tolist(), start=top + 1):
                fmt = formats(kind, segment_colour(value)) if column == spec.colour_by else formats(kind)
                _write_cell(sheet, r, c, value, fmt)
        if spec.fit_width:
            widths[c] = max(widths.get(c, 0), _width(spec.headers[c], frame[column], kind))
    sheet.add_table(top, 0, top + n_rows, len(frame.columns) - 1, {
        "name": spec.name,
        "style": "Table Style Medium 2",
        "columns": [{"header": h, "format": formats(k)} for h, k in zip(spec.headers, spec.formats)],
    })
    return top + n_rows + 1


#: XlsxWriter chart type (and subtype) of each :attr:`ChartSpec.kind`.
_CHART_TYPES = {"bar": {"type": "bar"}, "bar_stacked_100": {"type": "bar", "subtype": "percent_stacked"},
                "column": {"type": "column"}, "line": {"type": "line"},
                "scatter": {"type": "scatter", "subtype": "straight"}}


def _axis(title: str | None, num_format: str | None, **extra) -> dict:
    axis = {"major_gridlines": {"visible": False}} if extra.pop("no_grid", False) else {}
    if title:
        axis["name"] = title
    if num_format:
        axis["num_format"] = num_format
    axis.update(extra)
    return axis


def _colour_props(kind: str, colour: str | None, line: bool) -> dict:
    props: dict = {}
    if kind in ("line", "scatter"):
        props["line"] = {"none": True} if not line else ({"color": colour, "width": 2.25} if colour else {"width": 2.25})
    elif colour:
        props["fill"] = {"color": colour}
        props["border"] = {"none": True}
    return props


def render_chart(book, sheet, sheet_spec: SheetSpec, chart: ChartSpec) -> None:
    """Add one native chart of the layout to a sheet; its series refer to table cells."""
    xl_chart = book.add_chart(dict(_CHART_TYPES[chart.kind]))
    cats = locate(sheet_spec, chart.table, chart.categories)
    name = sheet_spec.name
    for s in chart.series:
        cells = locate(sheet_spec, chart.table, s.column)
        series = {
            "name": [name, cells.header, cells.column],
            "categories": [name, cats.first, cats.column, cats.last, cats.column],
            "values": [name, cells.first, cells.column, cells.last, cells.column],
        }
        series.update(_colour_props(chart.kind, s.colour, s.line))
        if s.marker:
            marker = {"type": s.marker, "size": 9 if not s.line else 6}
            if s.colour:
                marker.update(fill={"color": s.colour}, border={"color": s.colour})
            series["marker"] = marker
        if s.secondary:
            series["y2_axis"] = True
        if chart.point_colours and s.colour is None:
            series["points"] = [{"fill": {"color": c}, "border": {"none": True}} for c in chart.point_colours]
        if chart.kind in ("bar", "bar_stacked_100", "column"):
            series["gap"] = 60
        if chart.data_labels:
            series["data_labels"] = {"value": True, "num_format": chart.y_format or "General"}
        xl_chart.add_series(series)
    xl_chart.set_title({"name": chart.title, "name_font": {"size": 12}})
    # Reversed categories (first row on top) keep the value axis at the bottom by crossing at the maximum.
    category_axis = _axis(chart.x_title, chart.x_format,
                          **({"reverse": True, "crossing": "max"} if chart.reverse_categories else {}))
    value_axis = _axis(chart.y_title, chart.y_format)
    if chart.kind in ("bar", "bar_stacked_100"):  # XlsxWriter's x axis of a bar chart is its value axis
        xl_chart.set_x_axis(value_axis)
        xl_chart.set_y_axis(category_axis)
    else:
        xl_chart.set_x_axis(category_axis)
        xl_chart.set_y_axis(value_axis)
    if any(s.secondary for s in chart.series):
        xl_chart.set_y2_axis(_axis(chart.y2_title, chart.y2_format))
    xl_chart.set_legend({"position": "bottom"} if len(chart.series) > 1 else {"none": True})
    xl_chart.set_size({"width": chart.size[0], "height": chart.size[1]})
    row, col = chart.anchor
    sheet.insert_chart(row, col, xl_chart, {"object_position": 1, "description": chart.title})


def render_conditional_format(sheet, sheet_spec: SheetSpec, spec: ConditionalFormatSpec) -> None:
    """A 3-colour scale (lowest, 50th percentile, highest) over table columns' data cells."""
    cells = [locate(sheet_spec, spec.table, c) for c in spec.columns]
    low, mid, high = spec.colours
    sheet.conditional_format(cells[0].first, min(c.column for c in cells), cells[0].last,
                             max(c.column for c in cells),
                             {"type": "3_color_scale", "min_color": low, "mid_color": mid, "max_color": high,
                              "mid_type": "percentile", "mid_value": 50})


def render_sheet(book, spec: SheetSpec, formats: _Formats) -> None:
    """Add one sheet of the layout to an open XlsxWriter workbook."""
    sheet = book.add_worksheet(spec.name)
    sheet.write_string(0, 0, spec.title, formats.title)
    sheet.write_string(1, 0, spec.note, formats.note)
    widths: dict[int, float] = {}
    blocks: list | None = [] if bulk_rows.available(sheet) else None
    for table, top in zip(spec.tables, table_tops(spec)):
        _write_table(sheet, table, top - 1, formats, widths, blocks)
    if blocks:
        bulk_rows.hook(sheet, blocks)
    for col, width in widths.items():
        sheet.set_column(col, col, width)
    if spec.frozen_rows:
        sheet.freeze_panes(spec.frozen_rows, 0)
    for cf in spec.conditional_formats:
        render_conditional_format(sheet, spec, cf)
    for chart in spec.charts:
        render_chart(book, sheet, spec, chart)


def write_sheets(sheets: list[SheetSpec], path: str | os.PathLike, properties: dict | None = None,
                 inputs: tuple = (), files: StagedFiles | None = None) -> str:
    """Write the sheets to a new ``.xlsx`` workbook at ``path`` atomically; return the path.

    With ``files``, the workbook is staged there (renamed into place with the other staged
    files when they are committed) instead of being renamed at once.
    """

    def write(temp: str) -> None:
        book = xlsxwriter.Workbook(temp, SAFE_OPTIONS)
        formats = _Formats(book)
        for spec in checked(list(sheets)):
            render_sheet(book, spec, formats)
            sheet = book.get_worksheet_by_name(spec.name)
            sheet.set_landscape()
            sheet.fit_to_pages(1, 0)  # printed (or converted to PDF) one page wide
        if properties:
            book.set_properties(properties)
        book.close()

    if files is not None:
        return files.add(path, write, inputs, suffix=".xlsx")
    return atomic_write(path, write, inputs, suffix=".xlsx")


def write_analysis(analysis, path: str | os.PathLike, inputs: tuple = (), files: StagedFiles | None = None) -> str:
    """Write an :class:`~rfm_addin.core.analysis.Analysis` as a workbook (see the layout and :func:`write_sheets`)."""
    properties = {
        "title": f"RFM analysis as of {analysis.as_of:%Y-%m-%d}",
        "subject": "Customer segmentation (RFM scores, segments, K-Means clusters)",
        "comments": f"Generated by rfm_addin; as of {analysis.as_of:%Y-%m-%d}",
    }
    return write_sheets(analysis_sheets(analysis), path, properties, inputs, files)


def write_migration(migration, findings: list[str], path: str | os.PathLike, inputs: tuple = ()) -> str:
    """Write a migration (:func:`rfm_addin.migration`) as a workbook of its two sheets."""
    from ..writers.layout import migration_sheets

    m = migration
    properties = {
        "title": f"RFM migration {m.before:%Y-%m-%d} to {m.after:%Y-%m-%d}",
        "subject": "Customer segment migration between two dates",
        "comments": f"Generated by rfm_addin; {m.mode} scores",
    }
    return write_sheets(migration_sheets(m, findings), path, properties, inputs)


def write_history(history, path: str | os.PathLike, inputs: tuple = (), files: StagedFiles | None = None) -> str:
    """Write a history (:func:`rfm_addin.history`) as a workbook of its two sheets."""
    from ..writers.layout import history_sheets

    h = history
    properties = {
        "title": f"RFM segments {h.dates[0]:%Y-%m-%d} to {h.dates[-1]:%Y-%m-%d}",
        "subject": "Customer segments over time",
        "comments": f"Generated by rfm_addin; {h.mode} scores",
    }
    return write_sheets(history_sheets(h), path, properties, inputs, files)


def write_clv_check(check, path: str | os.PathLike, inputs: tuple = ()) -> str:
    """Write a holdout check (:func:`rfm_addin.clv_check`) as a workbook of its sheet."""
    from ..writers.layout import clv_check_sheets

    properties = {
        "title": f"CLV check {check.calibration_end:%Y-%m-%d} to {check.holdout_end:%Y-%m-%d}",
        "subject": "Customer lifetime value models checked on a holdout period",
        "comments": "Generated by rfm_addin",
    }
    return write_sheets(clv_check_sheets(check), path, properties, inputs)


def write_plan(plan, path: str | os.PathLike, inputs: tuple = (), files: StagedFiles | None = None) -> str:
    """Write a campaign plan (:func:`rfm_addin.plan_campaign`) as a workbook of its two sheets."""
    from ..writers.layout import plan_sheets

    properties = {"title": "RFM campaign test plan", "subject": "Sizes, baselines and arms of a campaign test",
                  "comments": "Generated by rfm_addin"}
    return write_sheets(plan_sheets(plan), path, properties, inputs, files)
