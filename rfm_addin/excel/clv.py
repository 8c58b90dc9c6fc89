"""The ribbon's "CLV check" button: the CLV models checked on a holdout of the active sheet's transactions.

The transactions on the active sheet (read as the Analyze button reads them) are split at the
Settings' "CLV check from" date (the last day the models learn from) and checked on the days up
to "CLV check to" with :func:`rfm_addin.clv_check`; the sheet is the one ``rfm-addin clv-check``
writes (:func:`rfm_addin.writers.layout.clv_check_sheets`), through the live writer.
"""
from __future__ import annotations

from typing import Any

from ..api import clv_check
from ..core.errors import RfmError
from ..writers.layout import clv_check_sheets
from . import cell_values, live_writer, settings
from .actions import action


@action("CLV check")
def check_clv(book: Any, feedback: Any) -> None:
    """Check the CLV models on the active sheet's transactions at the Settings sheet's dates.

    Called as ``check_clv(book=None)``: ``book`` is by default ``xw.Book.caller()``.
    """
    from .convert import frame_from_rows
    from .macros import read_source

    options = settings.read_settings(book)
    if options.clv_calibration_end is None:
        raise RfmError(f"Set 'CLV check from' on the {settings.SHEET_NAME} sheet (click Settings to create it) to the "
                       "last day the models learn from; the days after it are the holdout.")
    source = book.sheets.active
    feedback.progress(f"Reading {source.name}")
    rows, first_row = read_source(source)
    feedback.progress("Fitting the CLV models")
    result = clv_check(frame_from_rows(rows), calibration_end=options.clv_calibration_end,
                       holdout_end=options.clv_holdout_end, **options.clv_check_kwargs(), first_row=first_row,
                       date_system=cell_values.date_system(book))
    live_writer.write_sheets(book, clv_check_sheets(result), progress=feedback.progress)
