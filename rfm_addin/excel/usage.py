"""The ribbon's "Build usage table" and "Compare groups" buttons (subscription products).

Build usage table
    Reads the event log from the Settings' "Usage events sheet" (a sheet, or an Excel Table
    by its name; default: the active sheet) and payments from "Usage payments sheet", builds :func:`rfm_addin.usage_table` and writes
    it to the "RFM Usage" sheet, marked as an input: the Cluster button then clusters it like
    any customer-level sheet (its headers, "Days since last activity", "Weekly sessions",
    "MRR", are what that button detects).
Compare groups
    Compares groups "Compare group A" and "Compare group B" of the column "Compare groups by"
    of the active sheet (a clustered table, a usage table, the RFM Customers sheet) with
    :func:`rfm_addin.compare_groups`, and writes the "RFM Compare" sheet
    (:func:`rfm_addin.writers.layout.compare_sheets`), as ``rfm-addin compare-groups -o`` does.
    When "Usage events sheet" names the event log, it also plans a retention test ("Test
    window (days)", "Test lift", "Test holdout") for the weaker group
    (:func:`rfm_addin.core.plan.retention_test_plan`) on "RFM Test Plan" and "RFM Test
    Customers", and says so on RFM Compare, as ``compare-groups --events`` does.
"""
from __future__ import annotations

from typing import Any

import pandas as pd

from ..api import usage_table
from ..core.compare import compare_groups
from ..core.errors import RfmError
from ..core.plan import retention_test_plan
from ..writers.layout import SheetSpec, checked, compare_sheets, plan_sheets, planned_finding, table_spec, usage_table_spec
from . import live_writer, settings
from .actions import action


def _source(book: Any, name: str | None, what: str) -> tuple[Any, Any]:
    """The sheet (and Excel Table, or None) a Settings entry names: a sheet name, else the name
    of an Excel Table on any sheet; no name is the active sheet."""
    if name is None:
        return book.sheets.active, None
    wanted = name.strip().casefold()
    for sheet in book.sheets:
        if sheet.name.strip().casefold() == wanted:
            return sheet, None
    for sheet in book.sheets:
        for table in sheet.tables:
            if table.name.casefold() == wanted:
                return sheet, table
    raise RfmError(f"The {what} sheet or table {name!r} (RFM Settings) is not in this workbook; the sheets are "
                   f"{', '.join(s.name for s in book.sheets)}.")


def _read(book: Any, name: str | None, what: str, feedback: Any) -> pd.DataFrame:
    """The data of the sheet or Excel Table a Settings entry names, as a DataFrame."""
    from .convert import frame_from_rows
    from .macros import read_source

    sheet, table = _source(book, name, what)
    feedback.progress(f"Reading {table.name if table is not None else sheet.name}")
    return frame_from_rows(read_source(sheet, table=table)[0])


@action("Build usage table")
def build_usage_table(book: Any, feedback: Any) -> None:
    """Build the usage table of the Settings' event log (and payments) sheets.

    Called as ``build_usage_table(book=None)``: ``book`` is by default ``xw.Book.caller()``.
    """
    options = settings.read_settings(book)
    events = _read(book, options.usage_events, "Usage events", feedback)
    payments = None
    if options.usage_payments is not None:
        payments = _read(book, options.usage_payments, "Usage payments", feedback)
    feedback.progress("Building the usage table")
    table = usage_table(events, payments=payments, as_of=options.as_of)
    quality = pd.DataFrame(table.attrs["quality"])
    window = table.attrs["window"]
    active = table.loc[table["recency"].notna()]
    spec = SheetSpec("RFM Usage", "Users: activity, MRR and adoption",
                     f"One row per user with activity, as of {table.attrs['as_of']:%Y-%m-%d}; weekly sessions over "
                     f"{window[0]:%Y-%m-%d} to {window[1] - pd.Timedelta(days=1):%Y-%m-%d}. Click Cluster sheet on "
                     "this sheet to cluster the users; below the table, the cleaning counted (users who paid but "
                     "never used the product are counted there, not listed).",
                     [usage_table_spec("RFM_Usage", active), table_spec("RFM_UsageQuality", quality)])
    live_writer.write_sheets(book, checked([spec]), progress=feedback.progress, after_sheet=live_writer.mark_input)


@action("Compare groups")
def compare_groups_sheet(book: Any, feedback: Any) -> None:
    """Compare two groups of the active sheet and write the RFM Compare sheet.

    Called as ``compare_groups_sheet(book=None)``: ``book`` is by default ``xw.Book.caller()``.
    """
    from .convert import frame_from_rows
    from .macros import read_source

    options = settings.read_settings(book)
    if options.compare_a is None or options.compare_b is None:
        raise RfmError(f"Set 'Compare group A' and 'Compare group B' on the {settings.SHEET_NAME} sheet (click Settings "
                       f"to create it) to the two groups of '{options.compare_by}' to compare.")
    source = book.sheets.active
    feedback.progress(f"Reading {source.name}")
    frame = frame_from_rows(read_source(source, results=True)[0])
    result = compare_groups(frame, options.compare_by, options.compare_a, options.compare_b)
    sheets = []
    if options.usage_events is not None:
        events = _read(book, options.usage_events, "Usage events", feedback)
        feedback.progress("Learning the weaker group's retention")
        plan = retention_test_plan(frame, result, events, lift=options.test_lift[0], relative=options.test_lift[1],
                                   holdout=options.test_holdout, window=options.test_window,
                                   random_state=options.seed)
        result.sentences.append(planned_finding(plan, options.test_window))
        sheets = plan_sheets(plan)
    live_writer.write_sheets(book, compare_sheets(result) + sheets, progress=feedback.progress)
