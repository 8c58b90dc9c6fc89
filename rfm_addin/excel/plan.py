"""The ribbon's "Plan test" button: a campaign test plan for the segments of the Settings sheet.

The transactions on the active sheet (read as the Analyze button reads them) are planned with
:func:`rfm_addin.plan_campaign` for the Settings' "Test segments", "Test lift", "Test holdout"
and "Test window (days)"; the sheets are the ones ``rfm-addin plan`` writes
(:func:`rfm_addin.writers.layout.plan_sheets`): "RFM Test Plan" and "RFM Test Customers", the
latter with the arm of each customer, ready to filter and export per arm.
"""
from __future__ import annotations

from typing import Any

from ..api import plan_campaign
from ..writers.layout import plan_sheets
from . import cell_values, live_writer, settings
from .actions import action


@action("Plan test")
def plan_test(book: Any, feedback: Any) -> None:
    """Plan a campaign test on the active sheet's transactions with the Settings sheet's values.

    Called as ``plan_test(book=None)``: ``book`` is by default ``xw.Book.caller()``.
    """
    from .convert import frame_from_rows
    from .macros import read_source

    options = settings.read_settings(book)
    source = book.sheets.active
    feedback.progress(f"Reading {source.name}")
    rows, first_row = read_source(source)
    feedback.progress("Learning each segment's baseline from its history")
    plan = plan_campaign(frame_from_rows(rows), **options.plan_kwargs(), first_row=first_row,
                         date_system=cell_values.date_system(book))
    live_writer.write_sheets(book, plan_sheets(plan), progress=feedback.progress)
