"""Render the layout (:mod:`rfm_addin.writers.layout`) into an open workbook through xlwings.

The same code serves every xlwings engine: desktop Excel (``RunPython``), the remote
engine (xlwings Server) and xlwings Lite. It uses only the Book / Sheet / Range / Table
API: ``sheets.add``, ``Range.value``, ``Range.number_format``, ``tables.add``,
``names.add``, ``Sheet.delete`` and ``Sheet.name``.

Ownership
    Every sheet written here carries a sheet-scoped defined name :data:`OWNER_NAME`
    (pointing at its A1 cell). A sheet with that mark and the name of a sheet being
    written is updated in place; a user's own sheet with such a name is never touched
    (the run stops with a message first), and a marked sheet the user renamed is left
    alone.

Re-runs keep the user's work
    A re-run never deletes or renames a sheet or a table: each table keeps its name and
    is resized by inserting or deleting cells inside it, so the tables below move with
    it and formulas (``RFM_Customers[Segment]``), pivot sources, slicers and chart series
    that refer to it follow, as when a user inserts rows. Columns are matched by header
    (columns no longer written are deleted, new ones appended at the right), and charts
    are re-pointed where the engine can find them (:func:`update_sheet`).

All or nothing
    Everything is checked before the first write (names, sizes). If writing fails, the
    sheets this run added are deleted again; on the remote engine the macro drops every
    queued action, so the workbook is as it was; on desktop Excel the error names the
    sheets that were partly updated (:class:`PartlyUpdated`), which a re-run repairs.

Text
    Text from the data is written with a leading apostrophe when Excel would otherwise
    read it as a formula (``=``, ``+``, ``-``, ``@``, tab, carriage return) or convert it
    (numbers with leading zeros, dates, TRUE/FALSE): see :func:`convert.safe_text`.

Charts, colour scales, colours, freeze panes
    The layout's charts (:class:`~rfm_addin.writers.layout.ChartSpec`) are added with
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
from dataclasses import dataclass, replace
from typing import Any, Callable, Sequence

import numpy as np
import pandas as pd

from ..core.errors import RfmError
from ..writers.layout import (NUMBER_FORMATS, TABLE_START_ROW, ChartSpec, ConditionalFormatSpec, SheetSpec, TableSpec,
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


#: Sheet-scoped name of the add-in's sheets that are inputs to other buttons (a usage table).
INPUT_NAME = "RFM_ADDIN_INPUT"


def is_input(sheet: Any) -> bool:
    """Whether one of the add-in's sheets is marked as an input (the Cluster button may read it)."""
    try:
        names = list(sheet.names)
    except Exception:
        return False
    return any(n.name.rsplit("!", 1)[-1].casefold() == INPUT_NAME.casefold() for n in names)


def mark_input(sheet: Any, spec: Any = None) -> None:
    """Mark a written sheet as an input of the other buttons (once); usable as ``after_sheet``."""
    if not is_input(sheet):
        sheet.names.add(INPUT_NAME, f"={_quoted(sheet.name)}!$A$1")


def _table_names(sheet: Any) -> list[str]:
    try:
        return [t.name for t in sheet.tables]
    except Exception:
        return []


# --------------------------------------------------------------------------------------
# Writing
# --------------------------------------------------------------------------------------
class _Plan:
    """What a run will do, decided and checked before anything is written.

    Each spec either updates an existing sheet of the add-in's (same name, marked) in
    place, or adds a new sheet after the last one.
    """

    def __init__(self, book: Any, specs: Sequence[SheetSpec]):
        self.specs = list(specs)
        sheets = list(book.sheets)
        by_name = {s.name.casefold(): s for s in sheets}
        self.targets: list[Any | None] = []
        for spec in self.specs:
            _check_fits(spec)
            old = by_name.get(spec.name.casefold())
            if old is not None and not is_owned(old):
                raise RfmError(f"The workbook already has a sheet named {spec.name!r} that the RFM add-in did not "
                               "create, so it was left alone. Rename or delete it, then run again.")
            self.targets.append(old)
        target_of = {t.name.casefold(): spec.name for spec in self.specs for t in spec.tables}
        for sheet in sheets:
            for name in _table_names(sheet):
                wanted = target_of.get(name.casefold())
                if wanted is not None and wanted.casefold() != sheet.name.casefold():
                    raise RfmError(f"The sheet {sheet.name!r} has a table named {name!r}, a name the RFM add-in "
                                   f"needs for its results on {wanted!r}. Rename that table, then run again.")


def _check_fits(spec: SheetSpec) -> None:
    rows = (table_tops(spec)[-1] + max(len(spec.tables[-1].frame), 1)) if spec.tables else TABLE_START_ROW
    if rows > EXCEL_MAX_ROWS:
        biggest = max(spec.tables, key=lambda t: len(t.frame))
        raise RfmError(f"The sheet {spec.name!r} would need {rows:,} rows ({len(biggest.frame):,} in "
                       f"{biggest.name}), more than an Excel sheet holds ({EXCEL_MAX_ROWS:,}). "
                       "Filter the data first, or use the command line to write a file.")


def _write_cells(sheet: Any, spec: TableSpec, top: int) -> int:
    """Header and data values and number formats of a table at row ``top``; returns its row count."""
    rows = table_rows(spec)
    sheet.range((top, 1)).value = rows
    for j, kind in enumerate(spec.formats, start=1):
        if kind != "general":
            sheet.range((top + 1, j), (top + len(rows) - 1, j)).number_format = NUMBER_FORMATS[kind]
    return len(rows)


def write_table(sheet: Any, spec: TableSpec, top: int, name: str) -> Any:
    """Write one table with its header at row ``top`` (1-based) and make it an Excel Table.

    Returns
    -------
    xlwings Table
    """
    n_rows, n_cols = _write_cells(sheet, spec, top), len(spec.headers)
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
CHART_TYPES = {"bar": "bar_clustered", "bar_stacked_100": "bar_stacked_100", "column": "column_clustered",
               "line": "line_markers",
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


def render_sheet(sheet: Any, spec: SheetSpec) -> None:
    """Write a layout sheet into an empty sheet."""
    sheet.range("A1").value = [[safe_text(spec.title)], [safe_text(spec.note)]]
    try:
        sheet.range("A1").font.bold = True
        sheet.range("A1").font.size = 14
    except Exception:  # cosmetic; an engine without font support still gets the data
        pass
    for table, top in zip(spec.tables, table_tops(spec)):
        write_table(sheet, table, top, table.name)
        if table.colour_by:
            _colour_cells(sheet, table, top)
    for cf in spec.conditional_formats:
        render_conditional_format(sheet, spec, cf)
    if spec.frozen_rows:
        _optional(lambda: sheet.freeze_panes.freeze_at(f"1:{spec.frozen_rows}"))
    for chart in spec.charts:
        render_chart(sheet, spec, chart)


# --------------------------------------------------------------------------------------
# Updating a sheet in place
# --------------------------------------------------------------------------------------
@dataclass
class _OldTable:
    """A table already on a sheet, as the workbook says at the start of the run."""

    table: Any
    name: str
    row: int
    column: int
    rows: int            # header row included
    columns: int
    headers: list[str]


def _old_tables(sheet: Any) -> list[_OldTable]:
    try:
        tables = list(sheet.tables)
    except Exception:  # an engine without tables: nothing to update
        return []
    out = []
    for t in tables:
        area = t.range
        header = t.header_row_range
        values = header.value if header is not None else []
        values = values if isinstance(values, list) else [values]
        if values and isinstance(values[0], list):
            values = values[0]
        out.append(_OldTable(t, t.name, area.row, area.column, area.shape[0], area.shape[1],
                             ["" if v is None else str(v) for v in values]))
    return sorted(out, key=lambda o: (o.row, o.column))


def in_old_order(spec: TableSpec, headers: Sequence[str]) -> TableSpec:
    """The table with its columns in the order of an earlier run's ``headers`` (matched by
    name, case-insensitively, as Excel does); new columns follow at the end."""
    new = [h.casefold() for h in spec.headers]
    old = [h.casefold() for h in headers]
    order = [new.index(h) for h in old if h in new] + [j for j, h in enumerate(new) if h not in old]
    if order == list(range(len(new))):
        return spec
    return replace(spec, frame=spec.frame.iloc[:, order], headers=[spec.headers[j] for j in order],
                   formats=[spec.formats[j] for j in order])


def _shift_rows(sheet: Any, first: int, count: int, width: int) -> None:
    """Insert (``count`` > 0) or delete (< 0) ``abs(count)`` rows of cells at row ``first``,
    over columns 1..``width``, so the tables below move as a whole and formulas follow."""
    if count > 0:
        sheet.range((first, 1), (first + count - 1, width)).insert("down")
    elif count < 0:
        sheet.range((first, 1), (first - count - 1, width)).delete("up")


def _with_dropped(tables: list[TableSpec], previous: list[_OldTable]) -> list[TableSpec]:
    """The new tables, with an empty stand-in (its old headers, no rows) for each of the add-in's
    tables of the sheet that the new results no longer have, where it stood: before the next
    table that is still written. So a table dropped between two others keeps its header and one
    empty row, and the tables around it are moved, not written over it."""
    wanted = {t.name.casefold() for t in tables}
    out = list(tables)
    for i, o in enumerate(previous):
        if o.name.casefold() in wanted or not o.name.upper().startswith("RFM_"):
            continue
        stand_in = TableSpec(o.name, pd.DataFrame(columns=o.headers), list(o.headers), ["general"] * len(o.headers))
        after = next((p.name.casefold() for p in previous[i + 1:] if p.name.casefold() in wanted), None)
        at = next((k for k, t in enumerate(out) if t.name.casefold() == after), len(out)) if after else len(out)
        out.insert(at, stand_in)
    return out


def update_sheet(sheet: Any, spec: SheetSpec) -> tuple[SheetSpec, set[str]]:
    """Update one of the add-in's sheets in place to ``spec``.

    The sheet, its tables and their names stay: each table is resized by inserting or
    deleting cells inside it (so the tables below move with it, and formulas, pivot
    sources and chart series that refer to the table follow, as when a user inserts
    rows), its columns are matched by header (columns no longer written are deleted, new
    ones appended) and its values written over. A table of the add-in's ("RFM_...") that
    the new results no longer have is kept with its header and one empty row. Nothing is
    read back after the first write: positions come from the workbook as it was.

    Returns
    -------
    (SheetSpec, set of str)
        ``spec`` with each table's columns in the sheet's order (where charts must point),
        and the names of the tables created by this update.
    """
    sheet.range("A1").value = [[safe_text(spec.title)], [safe_text(spec.note)]]
    previous = _old_tables(sheet)
    old = {o.name.casefold(): o for o in previous}
    tables = [in_old_order(t, old[t.name.casefold()].headers) if t.name.casefold() in old else t
              for t in _with_dropped(spec.tables, previous)]
    spec = replace(spec, tables=tables)
    width = max([len(t.headers) for t in tables] + [o.column + o.columns - 1 for o in old.values()] + [1])
    shift = 0
    created: set[str] = set()
    for table, top in zip(tables, table_tops(spec)):
        o = old.pop(table.name.casefold(), None)
        n_rows = max(len(table.frame), 1) + 1
        if o is None:
            if any(other.row + shift >= top for other in old.values()):
                _shift_rows(sheet, top, n_rows + 2, width)
                shift += n_rows + 2
            write_table(sheet, table, top, table.name)
            created.add(table.name)
            continue
        _shift_rows(sheet, min(top, o.row + shift), top - (o.row + shift), width)
        shift += top - (o.row + shift)
        kept = {h.casefold() for h in table.headers}
        for j in reversed([j for j, h in enumerate(o.headers) if h.casefold() not in kept]):
            sheet.range((top, o.column + j), (top + o.rows - 1, o.column + j)).delete("left")
        grow = n_rows - o.rows
        # Inside the table: at its last data row when growing, its last rows when shrinking.
        _shift_rows(sheet, top + max(o.rows - 1, 1) if grow > 0 else top + n_rows, grow, width)
        shift += grow
        _write_cells(sheet, table, top)
        o.table.resize(sheet.range((top, 1), (top + n_rows - 1, len(table.headers))))
        if table.fit_width:
            sheet.range((top, 1), (top + n_rows - 1, len(table.headers))).columns.autofit()
    # What is left in ``old`` are the user's own tables on our sheet: left as they are.
    for table, top in zip(tables, table_tops(spec)):
        if table.colour_by:
            _colour_cells(sheet, table, top)
    for cf in spec.conditional_formats:
        if cf.table in created:
            render_conditional_format(sheet, spec, cf)
    return spec, created


def _existing_charts(sheet: Any) -> dict[str, Any] | None:
    """The sheet's charts by name, or None where the engine cannot list them: the remote
    engine knows a sheet's charts only when the client sent them (xlwings' Office Scripts
    client does not)."""
    api = getattr(sheet, "api", None)
    if isinstance(api, dict) and "charts" not in api:
        return None
    try:
        return {c.name.casefold(): c for c in sheet.charts}
    except Exception:
        return None


def repoint_chart(sheet: Any, spec: SheetSpec, chart: ChartSpec, xl: Any) -> None:
    """Point an existing chart at its table's cells as they are now, and move it to its anchor."""
    cats = locate(spec, chart.table, chart.categories)
    cells = [locate(spec, chart.table, s.column) for s in chart.series]
    first, last = min(c.column for c in cells), max(c.column for c in cells)
    xl.set_source_data(sheet.range((cats.header + 1, first + 1), (cats.last + 1, last + 1)), plot_by="columns")
    xl.set_x_axis_values(sheet.range((cats.first + 1, cats.column + 1), (cats.last + 1, cats.column + 1)))
    xl.title = chart.title
    anchor = sheet.range((chart.anchor[0] + 1, chart.anchor[1] + 1))
    _optional(lambda: (setattr(xl, "top", anchor.top), setattr(xl, "left", anchor.left)))


def _update_charts(sheet: Any, spec: SheetSpec, created: set[str]) -> None:
    """Charts of an updated sheet: re-pointed where the engine can find them, added where new.

    Where the engine cannot list charts (the remote engine), a chart of a table that
    existed before is left to Excel: its series refer to the table's cells, which moved
    and grew with the inserted and deleted cells.
    """
    existing = _existing_charts(sheet)
    for chart in spec.charts:
        if existing is not None and chart.name.casefold() in existing:
            repoint_chart(sheet, spec, chart, existing[chart.name.casefold()])
        elif existing is not None or chart.table in created:
            render_chart(sheet, spec, chart)


class PartlyUpdated(RfmError):
    """Writing failed after some existing sheets were changed (desktop Excel); a re-run repairs them."""

    def __init__(self, message: str, sheets: list[str]):
        super().__init__(message)
        self.sheets = sheets


def write_sheets(book: Any, specs: Sequence[SheetSpec], progress: Progress | None = None,
                 after_sheet: Callable[[Any, SheetSpec], None] | None = None) -> list[Any]:
    """Write layout sheets into ``book``: the add-in's own earlier sheets are updated in place.

    Parameters
    ----------
    book : xlwings.Book
        The open workbook.
    specs : list of SheetSpec
        The sheets to write, in order. A sheet that exists and carries the add-in's mark
        is updated in place (:func:`update_sheet`): same sheet, same table names, so what
        the user built on it keeps working. Others are added after the last sheet.
    progress : callable, optional
        Called with a short text per sheet.
    after_sheet : callable, optional
        ``after_sheet(sheet, spec)`` writes extras (e.g. help text) into each sheet.

    Returns
    -------
    list of xlwings.Sheet
        The written sheets, in order.

    Raises
    ------
    RfmError
        A sheet or table name the add-in needs is taken by the user, or a result does not
        fit on a sheet; nothing has been written then.
    PartlyUpdated
        Writing failed after existing sheets were changed; the sheets added by this run
        are deleted again, and the message names the sheets to repair by running again.
    """
    plan = _Plan(book, checked(list(specs)))
    say = progress or (lambda text: None)
    added: list[Any] = []
    written: list[Any] = []
    updated: list[str] = []
    try:
        for spec, target in zip(plan.specs, plan.targets):
            say(f"Writing {spec.name}")
            if target is None:
                sheet = book.sheets.add(spec.name, after=book.sheets[len(book.sheets) - 1])
                added.append(sheet)
                mark(sheet)
                render_sheet(sheet, spec)
            else:
                sheet = target
                updated.append(sheet.name)
                final, created = update_sheet(sheet, spec)
                _update_charts(sheet, final, created)
            written.append(sheet)
            if after_sheet is not None:
                after_sheet(sheet, spec)
    except Exception as exc:
        for sheet in reversed(added):
            try:
                sheet.delete()
            except Exception:
                pass
        if updated:
            detail = str(exc) if isinstance(exc, RfmError) else f"{type(exc).__name__}: {exc}"
            raise PartlyUpdated(f"{detail}\n\nThese sheets were partly updated: {', '.join(updated)}. Run again "
                                "to bring them up to date.", updated) from exc
        raise
    if written:
        written[0].activate()
    return written
