"""Ribbon macros of the RFM add-in.

Every macro is declared with :func:`.actions.action` and takes an optional ``book``
(default ``xw.Book.caller()``), so the same function serves VBA's ``RunPython`` (desktop
Excel) and xlwings' remote and Lite engines (which pass the book they built from the
client's payload). Which button runs which macro is the one table of :mod:`.ribbon`.

Buttons (:func:`ribbon` ids)
----------------------------
``analyze``  :func:`analyze_sheet`: the active sheet's transactions -> the result sheets
             of :func:`rfm_addin.writers.layout.analysis_sheets` ("RFM Summary", "RFM Insights",
             "RFM Customers", "RFM Segments", "RFM R x F Grid", "RFM Clusters",
             "RFM K Selection", "RFM Pareto", "RFM Thresholds", "RFM Quality").
``cluster``  :func:`cluster_sheet`: the active sheet is already one row per customer ->
             "RFM Clustered Data" (a copy of the table with Cluster and Cluster name
             columns), "RFM Cluster Profile", "RFM Cluster K".
``settings`` :func:`reset_settings`: creates or resets the "RFM Settings" sheet.
``help``     :func:`show_help`: opens the "Start here" sheet, else shows where the README is.
``share``    a macro-free, formula-free copy of the saved workbook (:mod:`.share`).
``load``     customers aggregated by a database from the Settings' named connection
             (:mod:`rfm_addin.excel.load`), then the analysis as after Analyze.
An id without a feature answers with a message naming it (see :data:`BUTTONS`).

Behaviour shared by all macros
------------------------------
- Settings come from the "RFM Settings" sheet (layout and entries: :mod:`.settings`,
  :data:`rfm_addin.excel.settings.SETTINGS`): as-of date, bins, method, weights, k or
  "auto", largest k, seed, column names, decimal and thousands separators, date order.
- Data: the active sheet's first Excel Table if it has one, else its used range; the
  first row is the header. Row numbers in messages are sheet rows. The source sheet is
  only read.
- Results are named Excel Tables with header rows and number formats, on sheets whose
  names start with "RFM " and which carry the add-in's mark (a sheet-scoped defined
  name, see :mod:`.live_writer`). A re-run updates those sheets in place: same sheets,
  same table names, tables resized and columns matched by name, so formulas, pivots and
  charts built on them keep working.
- One run at a time per workbook on desktop Excel: a second click while a run is going
  (possible on a Mac, where RunPython returns at once) is refused with a message
  (:mod:`.run_lock`).
- Progress shows on the status bar where the engine has one (desktop Excel; not the
  remote engine or xlwings Lite, where it is skipped).
- A failure shows a message box (``app.alert``) with the message, never a traceback.
  On the remote engine the queued actions are dropped, so the workbook is as it was; on
  desktop Excel the sheets added so far are deleted again, and sheets that were already
  partly updated are named in the message (a re-run repairs them).
"""
from __future__ import annotations

import importlib
from pathlib import Path
from typing import Any, Callable

from .. import analyze
from ..core.analysis import cluster_customers
from ..core.errors import RfmError
from ..writers.layout import (CLUSTER_SHEETS, CLV_SHEET, TABLE_START_ROW, SheetSpec, analysis_sheets,  # noqa: F401
                              cluster_sheets, clv_off_sheet)
from . import cell_values, convert, customer_table, live_writer, settings
from . import ribbon as ribbon_table
from .actions import action, caller
from .feedback import TITLE, Feedback

#: Name of the getting-started sheet the "help" button opens.
START_SHEET = "Start here"

#: Sheets written by :func:`cluster_sheet`.


# --------------------------------------------------------------------------------------
# Reading the active sheet
# --------------------------------------------------------------------------------------
def read_source(sheet: Any, *, results: bool = False, table: Any = None) -> tuple[list[list], int]:
    """The active sheet's data: header and rows, and the sheet row of the first data row.

    A sheet the add-in wrote is refused (a click on the wrong sheet), unless it is marked as
    an input (the usage table) or ``results`` (the Compare groups button reads results).

    Reads ``table`` (an Excel Table of the sheet) when given, else the sheet's first Excel
    Table if there is one, else its used range, through :func:`.cell_values.read_values`:
    error cells as text (``#N/A``, ``#SPILL!``) so they are reported, not taken for blanks;
    currency cells as numbers.
    """
    if live_writer.is_owned(sheet) and not (results or live_writer.is_input(sheet)):
        raise RfmError(f"The active sheet {sheet.name!r} holds results of the RFM add-in. "
                       "Select the sheet with your data, then click the button again.")
    tables = [table] if table is not None else (list(sheet.tables) if hasattr(sheet, "tables") else [])
    area = tables[0].range if tables else sheet.used_range
    rows = convert.trim_rows(cell_values.read_values(area))
    if len(rows) < 2 or all(convert.is_blank(c) for c in rows[0]):
        raise RfmError(f"The active sheet {sheet.name!r} has no data: expected a header row and rows below it.")
    return rows, area.row + 1


def _read_active(book: Any, feedback: Feedback) -> tuple[Any, int, "settings.Settings"]:
    """The active sheet's data as a DataFrame, the sheet row of its first data row, and the settings."""
    source = book.sheets.active
    options = settings.read_settings(book)
    feedback.progress(f"Reading {source.name}")
    rows, first_row = read_source(source)
    return convert.frame_from_rows(rows), first_row, options


# --------------------------------------------------------------------------------------
# Analyze
# --------------------------------------------------------------------------------------
@action("Analyze")
def analyze_sheet(book: Any, feedback: Feedback) -> None:
    """Analyze the transactions on the active sheet and write the result sheets.

    Called as ``analyze_sheet(book=None)``: ``book`` is by default ``xw.Book.caller()``.
    """
    frame, first_row, options = _read_active(book, feedback)
    analysis = analyze(frame, **options.analyze_kwargs(), first_row=first_row,
                       date_system=cell_values.date_system(book), progress=feedback.progress)
    sheets = analysis_sheets(analysis)
    if analysis.values is None and any(s.name.casefold() == CLV_SHEET.casefold() and live_writer.is_owned(s)
                                       for s in book.sheets):
        sheets.append(clv_off_sheet())     # last run's CLV figures must not stand beside this analysis
    live_writer.write_sheets(book, sheets, progress=feedback.progress)


# --------------------------------------------------------------------------------------
# Cluster a customer-level table
# --------------------------------------------------------------------------------------
@action("Cluster")
def cluster_sheet(book: Any, feedback: Feedback) -> None:
    """Cluster the customer-level table on the active sheet (one row per customer).

    The recency, frequency and monetary columns are found by their headers in any common
    naming (e.g. "Days since last login", "Weekly sessions", "MRR"), or named on the
    RFM Settings sheet. Writes a copy of the table with the cluster of each row, the
    cluster profiles and the k-selection table.

    Called as ``cluster_sheet(book=None)``: ``book`` is by default ``xw.Book.caller()``.
    """
    frame, first_row, options = _read_active(book, feedback)
    columns = customer_table.detect([str(c) for c in frame.columns], options.recency, options.frequency,
                                    options.monetary, options.customer)
    table, keep = customer_table.metrics_table(frame, columns, first_row)
    if len(table) < 3:
        raise RfmError(f"Clustering needs at least 3 customers; the active sheet has {len(table)}.")
    done = cluster_customers(table, k=options.k, weights=options.weights, random_state=options.seed,
                             k_range=range(2, min(options.k_max, len(table) - 1) + 1), bins=options.bins,
                             method=options.method, frequency_basis=columns.frequency, progress=feedback.progress)
    result = done.clusters
    specs = cluster_sheets(frame, keep, result.labels, result.names, done.profile, result.k_selection,
                           done.segments)
    live_writer.write_sheets(book, specs, progress=feedback.progress)


# --------------------------------------------------------------------------------------
# Settings and help
# --------------------------------------------------------------------------------------
def _describe_settings(sheet: Any, spec: SheetSpec) -> None:
    cells = [["About"]] + settings.descriptions()
    sheet.range((TABLE_START_ROW, settings.DESCRIPTION_COLUMN)).value = cells


@action("Settings")
def reset_settings(book: Any, feedback: Feedback) -> None:
    """Create the "RFM Settings" sheet, or reset an earlier one to the defaults."""
    live_writer.write_sheets(book, [settings.settings_sheet()], progress=feedback.progress,
                             after_sheet=_describe_settings)


def readme_path() -> Path | None:
    """The README next to the package (a source checkout), if there is one."""
    candidate = Path(__file__).resolve().parents[2] / "README.md"
    return candidate if candidate.exists() else None


HELP_TEXT = ("RFM add-in: put transactions on a sheet (a header row, then customer, date and amount columns; "
             "an order id column is optional) and click Analyze. Results appear on sheets named 'RFM ...'. "
             "For a table with one row per customer (recency, frequency, monetary), click Cluster. "
             "Settings (as-of date, bins, weights, k, column names) are on the 'RFM Settings' sheet: click Settings "
             "to create it. Worksheet functions: RFM_TABLE, RFM_SCORE, RFM_SEGMENT, RFM_CLUSTER, RFM_KSELECT, "
             "RFM_PROFILE.")


@action("Help")
def show_help(book: Any, feedback: Feedback) -> None:
    """Open the "Start here" sheet; without one, show a short guide and the README's location."""
    for sheet in book.sheets:
        if sheet.name.strip().casefold() == START_SHEET.casefold():
            sheet.activate()
            return
    readme = readme_path()
    where = f"\n\nMore in the README: {readme}" if readme else ""
    feedback.alert(HELP_TEXT + where, title=f"{TITLE}: help", mode="info")


# --------------------------------------------------------------------------------------
# Ribbon
# --------------------------------------------------------------------------------------
#: Ribbon button id -> (feature name, "module:function"), from the one table of :mod:`.ribbon`.
BUTTONS: dict[str, tuple[str, str]] = {b.id: (b.feature, b.target) for b in ribbon_table.BUTTONS.values() if b.target}


def _resolve(target: str) -> Callable[[Any], None] | None:
    module_name, _, func_name = target.partition(":")
    try:
        module = importlib.import_module(module_name)
    except ModuleNotFoundError as exc:
        if exc.name and module_name.startswith(exc.name):
            return None
        raise
    return getattr(module, func_name, None)


def ribbon(control_id: str, book: Any = None) -> None:
    """The entry point of every ribbon button: run the feature of ``control_id``.

    Parameters
    ----------
    control_id : str
        The button id: "analyze", "cluster", "settings", "help", "share", "load"
        (case-insensitive; an "rfm." or "rfm_" prefix is ignored).
    book : xlwings.Book, optional
        Default ``xw.Book.caller()``.
    """
    book = caller(book)
    key = str(control_id).strip().lower()
    for prefix in ("rfm.", "rfm_"):
        if key.startswith(prefix):
            key = key[len(prefix):]
    if key not in BUTTONS:
        Feedback(book).alert(f"The ribbon button {control_id!r} is unknown to this version of the RFM add-in "
                             f"(known: {', '.join(BUTTONS)}).", mode="critical")
        return
    feature, target = BUTTONS[key]
    try:
        func = _resolve(target)
    except Exception as exc:
        func = None
        detail = f" ({type(exc).__name__}: {exc})"
    else:
        detail = ""
    if func is None:
        Feedback(book).alert(f"The {feature} feature (button {key!r}) is not available in this version of the "
                             f"RFM add-in yet{detail}.", mode="info")
        return
    func(book)
