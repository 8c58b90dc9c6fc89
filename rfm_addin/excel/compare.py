"""The ribbon's "Compare periods" button: segment migration between the two dates of the Settings sheet.

The transactions on the active sheet (read as the Analyze button reads them) are compared at the
Settings' "Compare from" and "Compare to" dates, in its "Compare mode" and "Active window (days)",
with :func:`rfm_addin.migration`; the sheets are the ones ``rfm-addin migration`` writes
(:func:`rfm_addin.writers.layout.migration_sheets`), by the same layout, through the live writer.
"""
from __future__ import annotations

from typing import Any

from ..api import migration
from ..core.errors import RfmError
from ..core.migration import migration_findings
from ..writers.layout import migration_sheets
from . import cell_values, live_writer, settings
from .actions import action


@action("Compare periods")
def compare_periods(book: Any, feedback: Any) -> None:
    """Compare the active sheet's transactions at the two dates of the Settings sheet.

    Called as ``compare_periods(book=None)``: ``book`` is by default ``xw.Book.caller()``.
    """
    from .macros import read_source
    from .convert import frame_from_rows

    options = settings.read_settings(book)
    if options.compare_from is None or options.compare_to is None:
        raise RfmError(f"Set 'Compare from' and 'Compare to' on the {settings.SHEET_NAME} sheet (click Settings to "
                       "create it) to the two dates to compare.")
    source = book.sheets.active
    feedback.progress(f"Reading {source.name}")
    rows, first_row = read_source(source)
    result = migration(frame_from_rows(rows), options.compare_from, options.compare_to, **options.migration_kwargs(),
                       first_row=first_row, date_system=cell_values.date_system(book), progress=feedback.progress)
    live_writer.write_sheets(book, migration_sheets(result, migration_findings(result)), progress=feedback.progress)
