"""Render the layout (:mod:`rfm_addin.layout`) into an open workbook through xlwings.

The same code serves every xlwings engine: desktop Excel (``RunPython``), the remote
engine (xlwings Server) and xlwings Lite. It uses only the Book / Sheet / Range / Table
API: ``sheets.add``, ``Range.value``, ``Range.number_format``, ``tables.add``,
``names.add``, ``Sheet.delete`` and ``Sheet.name``.

Ownership
    Every sheet written here carries a sheet-scoped defined name :data:`OWNER_NAME`
    (pointing at its A1 cell). Re-running replaces a sheet only when it has that mark
    and the name of a sheet being written; a user's own sheet with such a name is never
    touched (the run stops with a message first), and a marked sheet the user renamed
    is left alone.

All or nothing
    Everything is checked before the first write. Sheets that replace older ones are
    first written under temporary names, with temporary table names; only when all of
    them are complete are the old sheets deleted and the new ones renamed. If writing
    fails, the sheets added so far are deleted again, so the workbook is as it was.

Text
    Text from the data is written with a leading apostrophe when Excel would otherwise
    read it as a formula (``=``, ``+``, ``-``, ``@``, tab, carriage return) or convert it
    (numbers with leading zeros, dates, TRUE/FALSE): see :func:`convert.safe_text`.

Charts, colour scales, colours, freeze panes
    The layout's charts (:class:`~rfm_addin.layout.ChartSpec`) are added with
    ``sheet.charts.add`` (anchored at their cell), ``chart.set_source_data`` (the series
    columns, side by side, header row included, plotted by columns),
    ``chart.set_x_axis_values`` (the category column), ``chart.title``, the axes' titles
    and number formats and ``legend.position``; series colours, markers and the secondary
    axis through the chart's series. The R x F heat maps get
    ``Range.conditional_formats.add_color_scale`` (3 colours), segment cells
    ``Range.color``, one-table sheets ``sheet.freeze_panes.freeze_at``. Everything
    cosmetic is optional: an engine that lacks it raises ``NotImplementedError`` and the
    data, tables and charts are still written (see :func:`_optional`).

Remote engine
    Number formats, tables, names, sheet operations, column autofit, charts (type, source,
    x values, title, axes, legend, series colours, markers and axis group), colour scales,
    cell colours and freeze panes are all recorded as actions. What it cannot do:
    per-point colours of a bar (the segment colours of the Summary's bars; the bars get the
    default series colours there, the table cells keep the segment colours) and data
    labels (xlwings has no API for either); and it cannot index ``chart.series``
    synchronously (that would need a read from Excel), so series are addressed by the
    engine's own series object, built from the count this writer set (see
    :func:`_series`). Reads come from the payload the client sent, so nothing here reads
    back what it wrote: ranges are sized from the data written.
"""
from __future__ import annotations

import datetime as dt
import importlib
import math
from typing import Any, Callable, Sequence

import numpy as np
import pandas as pd

from ..errors import RfmError
from ..layout import (NUMBER_FORMATS, TABLE_START_ROW, ChartSpec, ConditionalFormatSpec, SheetSpec, TableSpec,
                      checked, locate, segment_colour, table_tops)
from .convert import EXCEL_MAX_ROWS, safe_text

#: Sheet-scoped defined name that marks a sheet as written by the add-in.
OWNER_NAME = "RFM_ADDIN_OWNED"
#: Style of every result table.
TABLE_STYLE = "TableStyleMedium2"

Progress = Callable[[str], None]


# --------------------------------------------------------------------------------------
# Values
# --------------------------------------------------------------------------------------
def write_value(value: Any) -> Any:
    """A value as it should be written into a cell (None for an empty cell)."""
    if value is None or value is pd.NA or value is pd.NaT:
        return None
    if isinstance(value, str):
        return safe_text(value)
    if isinstance(value, (bool, np.bool_)):
        return bool(value)
    if isinstance(value, (int, np.integer)):
        return int(value)
    if isinstance(value, (float, np.floating)):
        return float(value) if math.isfinite(value) else None
    if isinstance(value, pd.Timestamp):
        return value.to_pydatetime()
    if isinstance(value, np.datetime64):
        return None if np.isnat(value) else pd.Timestamp(value).to_pydatetime()
    if isinstance(value, (dt.date, dt.datetime)):
        return value
    return safe_text(str(value))


def table_rows(spec: TableSpec) -> list[list]:
    """Header and data rows of a table as cell values (one empty row if it has no data)."""
    frame = spec.frame
    columns = [[write_value(v) for v in frame[c].tolist()] for c in frame.columns]
    body = [list(r) for r in zip(*columns)] if len(frame) else [[None] * frame.shape[1]]
    return [[safe_text(str(h)) for h in spec.headers]] + body


def _quoted(sheet_name: str) -> str:
    return "'" + sheet_name.replace("'", "''") + "'"


# --------------------------------------------------------------------------------------
# Ownership
# --------------------------------------------------------------------------------------
def is_owned(sheet: Any) -> bool:
    """Whether a sheet carries the add-in's mark."""
    try:
        names = list(sheet.names)
    except Exception:  # engines without sheet-scoped names: nothing is owned
        return False
    return any(n.name.rsplit("!", 1)[-1].casefold() == OWNER_NAME.casefold() for n in names)


def mark(sheet: Any) -> None:
    """Mark a sheet as the add-in's own."""
    sheet.names.add(OWNER_NAME, f"={_quoted(sheet.name)}!$A$1")


def _table_names(sheet: Any) -> list[str]:
    try:
        return [t.name for t in sheet.tables]
    except Exception:
        return []


# --------------------------------------------------------------------------------------
# Writing
# --------------------------------------------------------------------------------------
class _Plan:
    """What a run will do, decided before anything is written."""

    def __init__(self, book: Any, specs: Sequence[SheetSpec]):
        self.specs = list(specs)
        sheets = list(book.sheets)
        by_name = {s.name.casefold(): s for s in sheets}
        self.replace: list[Any] = []
        for spec in self.specs:
            _check_fits(spec)
            old = by_name.get(spec.name.casefold())
            if old is None:
                continue
            if not is_owned(old):
                raise RfmError(f"The workbook already has a sheet named {spec.name!r} that the RFM add-in did not "
                               "create, so it was left alone. Rename or delete it, then run again.")
            self.replace.append(old)
        replaced = {id(s) for s in self.replace}
        kept_tables = {n.casefold(): s.name for s in sheets if id(s) not in replaced for n in _table_names(s)}
        pending_tables = {n.casefold() for s in self.replace for n in _table_names(s)}
        ours = [t.name for spec in self.specs for t in spec.tables]
        for name in ours:
            if name.casefold() in kept_tables:
                raise RfmError(f"The sheet {kept_tables[name.casefold()]!r} has a table named {name!r}, a name the "
                               "RFM add-in needs for its results. Rename that table, then run again.")
        taken = {s.name.casefold() for s in sheets}
        self.sheet_names: list[str] = []
        for i, spec in enumerate(self.specs, start=1):
            name = spec.name
            if name.casefold() in taken:
                k = i
                while f"rfm~{k}" in taken:
                    k += 1
                name = f"RFM~{k}"
                taken.add(name.casefold())
            self.sheet_names.append(name)
        self.table_names = {t: (f"{t}_new" if t.casefold() in pending_tables else t) for t in ours}


def _check_fits(spec: SheetSpec) -> None:
    rows = (table_tops(spec)[-1] + max(len(spec.tables[-1].frame), 1)) if spec.tables else TABLE_START_ROW
    if rows > EXCEL_MAX_ROWS:
        biggest = max(spec.tables, key=lambda t: len(t.frame))
        raise RfmError(f"The sheet {spec.name!r} would need {rows:,} rows ({len(biggest.frame):,} in "
                       f"{biggest.name}), more than an Excel sheet holds ({EXCEL_MAX_ROWS:,}). "
                       "Filter the data first, or use the command line to write a file.")


def write_table(sheet: Any, spec: TableSpec, top: int, name: str) -> Any:
    """Write one table with its header at row ``top`` (1-based) and make it an Excel Table.

    Returns
    -------
    xlwings Table
    """
    rows = table_rows(spec)
    n_rows, n_cols = len(rows), len(spec.headers)
    sheet.range((top, 1)).value = rows
    for j, kind in enumerate(spec.formats, start=1):
        if kind != "general":
            sheet.range((top + 1, j), (top + n_rows - 1, j)).number_format = NUMBER_FORMATS[kind]
    area = sheet.range((top, 1), (top + n_rows - 1, n_cols))
    table = sheet.tables.add(source=area, name=name, table_style_name=TABLE_STYLE)
    area.columns.autofit()
    return table


def _optional(action: Callable[[], Any]) -> bool:
    """Run a cosmetic step; an engine that lacks the feature skips it. Returns True when done."""
    try:
        action()
    except NotImplementedError:
        return False
    return True


#: xlwings chart type of each :attr:`ChartSpec.kind`.
CHART_TYPES = {"bar": "bar_clustered", "column": "column_clustered", "line": "line_markers",
               "scatter": "xy_scatter_lines_no_markers"}
#: Points per pixel (chart sizes in the layout are pixels; xlwings takes points).
POINTS_PER_PIXEL = 0.75


def _series(chart: Any, index: int) -> Any:
    """The ``index``-th (0-based) series of a chart this writer just created.

    Desktop Excel indexes ``chart.series`` directly. The remote engine cannot (it would
    have to read the series count from Excel), but it records series changes by position:
    its own series object is built here from the count we set with the source data.
    """
    try:
        return chart.series[index]
    except NotImplementedError:
        impl_module = importlib.import_module(type(chart.impl).__module__)
        series_class = getattr(impl_module, "ChartSeries", None)
        if series_class is None:
            raise
        import xlwings as xw

        return xw.main.ChartSeries(impl=series_class(chart.impl, index + 1))


def render_chart(sheet: Any, spec: SheetSpec, chart: ChartSpec) -> Any:
    """Add one native chart of the layout, drawn from its table's cells."""
    cats = locate(spec, chart.table, chart.categories)
    cells = [locate(spec, chart.table, s.column) for s in chart.series]
    first, last = min(c.column for c in cells), max(c.column for c in cells)
    if last - first + 1 != len(cells):
        raise RfmError(f"Chart {chart.name}: its series must be side by side in {chart.table}.")
    row, col = chart.anchor
    width, height = chart.size
    xl = sheet.charts.add(width=width * POINTS_PER_PIXEL, height=height * POINTS_PER_PIXEL,
                          chart_type=CHART_TYPES[chart.kind], name=chart.name, anchor=sheet.range((row + 1, col + 1)))
    xl.set_source_data(sheet.range((cats.header + 1, first + 1), (cats.last + 1, last + 1)), plot_by="columns")
    xl.set_x_axis_values(sheet.range((cats.first + 1, cats.column + 1), (cats.last + 1, cats.column + 1)))
    xl.title = chart.title
    category, value = xl.category_axis, xl.value_axis
    if chart.x_title:
        _optional(lambda: setattr(category, "title", chart.x_title))
    if chart.x_format:
        _optional(lambda: setattr(category, "number_format", chart.x_format))
    if chart.reverse_categories:
        _optional(lambda: setattr(category, "reverse_order", True))
    if chart.y_title:
        _optional(lambda: setattr(value, "title", chart.y_title))
    if chart.y_format:
        _optional(lambda: setattr(value, "number_format", chart.y_format))
    for position in sorted(range(len(chart.series)), key=lambda i: cells[i].column):
        s = chart.series[position]
        props: dict[str, Any] = {}
        if s.secondary:
            props["axis_group"] = "secondary"
        if s.colour:
            props["line_color" if chart.kind in ("line", "scatter") else "fill_color"] = s.colour
        if s.marker and chart.kind in ("line", "scatter"):
            props["marker_style"] = s.marker
            if s.colour:
                props.update(marker_foreground_color=s.colour, marker_background_color=s.colour)
            if not s.line:
                props["marker_size"] = 9
        if props:
            index = cells[position].column - first
            # A marker-only series (the chosen k) has one value, so no line is drawn anyway.
            _optional(lambda: _series(xl, index).set(**props))
    if any(s.secondary for s in chart.series):
        axis = xl.secondary_value_axis
        if chart.y2_title:
            _optional(lambda: setattr(axis, "title", chart.y2_title))
        if chart.y2_format:
            _optional(lambda: setattr(axis, "number_format", chart.y2_format))
    if len(chart.series) > 1:
        _optional(lambda: setattr(xl.legend, "position", "bottom"))
    else:
        _optional(lambda: setattr(xl.legend, "visible", False))
    return xl


def render_conditional_format(sheet: Any, spec: SheetSpec, cf: ConditionalFormatSpec) -> None:
    """A 3-colour scale (lowest, 50th percentile, highest) over table columns' data cells."""
    cells = [locate(spec, cf.table, c) for c in cf.columns]
    area = sheet.range((cells[0].first + 1, min(c.column for c in cells) + 1),
                       (cells[0].last + 1, max(c.column for c in cells) + 1))
    _optional(lambda: area.conditional_formats.add_color_scale(list(cf.colours)))


def _colour_cells(sheet: Any, table: TableSpec, top: int) -> None:
    """Fill the cells of the table's ``colour_by`` column with the segment colours."""
    j = list(table.frame.columns).index(table.colour_by) + 1
    for i, value in enumerate(table.frame[table.colour_by].tolist(), start=top + 1):
        if not _optional(lambda: setattr(sheet.range((i, j)), "color", segment_colour(value))):
            return


def render_sheet(sheet: Any, spec: SheetSpec, table_names: dict[str, str]) -> list[tuple[Any, str]]:
    """Write a layout sheet into an empty sheet; return (table, final name) pairs."""
    sheet.range("A1").value = [[safe_text(spec.title)], [safe_text(spec.note)]]
    try:
        sheet.range("A1").font.bold = True
        sheet.range("A1").font.size = 14
    except Exception:  # cosmetic; an engine without font support still gets the data
        pass
    tables = []
    for table, top in zip(spec.tables, table_tops(spec)):
        written = write_table(sheet, table, top, table_names.get(table.name, table.name))
        tables.append((written, table.name))
        if table.colour_by:
            _colour_cells(sheet, table, top)
    for cf in spec.conditional_formats:
        render_conditional_format(sheet, spec, cf)
    if spec.frozen_rows:
        _optional(lambda: sheet.freeze_panes.freeze_at(f"1:{spec.frozen_rows}"))
    for chart in spec.charts:
        render_chart(sheet, spec, chart)
    return tables


def write_sheets(book: Any, specs: Sequence[SheetSpec], progress: Progress | None = None,
                 after_sheet: Callable[[Any, SheetSpec], None] | None = None) -> list[Any]:
    """Write layout sheets into ``book``, replacing only the add-in's own earlier sheets.

    Parameters
    ----------
    book : xlwings.Book
        The open workbook.
    specs : list of SheetSpec
        The sheets to write, in order; they are added after the last sheet.
    progress : callable, optional
        Called with a short text per sheet.
    after_sheet : callable, optional
        ``after_sheet(sheet, spec)`` writes extras (e.g. help text) into a new sheet.

    Returns
    -------
    list of xlwings.Sheet
        The written sheets, in order.

    Raises
    ------
    RfmError
        A sheet or table name the add-in needs is taken by the user, or a result does not
        fit on a sheet; nothing has been written then.
    """
    plan = _Plan(book, checked(list(specs)))
    say = progress or (lambda text: None)
    added: list[Any] = []
    renames: list[tuple[Any, str]] = []
    try:
        for spec, name in zip(plan.specs, plan.sheet_names):
            say(f"Writing {spec.name}")
            sheet = book.sheets.add(name, after=book.sheets[len(book.sheets) - 1])
            added.append(sheet)
            mark(sheet)
            tables = render_sheet(sheet, spec, plan.table_names)
            renames.extend((t, final) for t, final in tables if plan.table_names.get(final, final) != final)
            if after_sheet is not None:
                after_sheet(sheet, spec)
    except Exception:
        for sheet in reversed(added):
            try:
                sheet.delete()
            except Exception:
                pass
        raise
    for old in plan.replace:
        old.delete()
    for sheet, spec in zip(added, plan.specs):
        if sheet.name != spec.name:
            sheet.name = spec.name
    for table, final in renames:
        table.name = final
    if added:
        added[0].activate()
    return added
