"""The ribbon's "Load data" button: customers from a named database connection.

The "RFM Settings" sheet names the connection ("Connection": a name, resolved from the
environment variable ``RFM_CONNECTION_<NAME>`` or the user's connections file, never a
password in the workbook) and the table ("Table"). The database aggregates the
transactions (one Ibis expression, see :mod:`rfm_addin.sources.ibis_rfm`); one row per customer comes
back and the analysis continues as after "Analyze": "RFM Customers" and the other result
sheets, written by the same live writer and layout.
"""
from __future__ import annotations

from typing import Any

from ..api import analyze
from ..core.errors import RfmError
from ..sources.connections import is_url, named_url, redact, where_to_put
from ..writers.layout import analysis_sheets
from . import live_writer, settings
from .actions import action


@action("Load data")
def load_data(book: Any, feedback: Any) -> None:
    """Load customers from the connection and table on the Settings sheet and analyse them.

    Called as ``load_data(book=None)``: ``book`` is by default ``xw.Book.caller()``.
    """
    options = settings.read_settings(book)
    if not options.connection:
        raise RfmError(f"Set 'Connection' on the {settings.SHEET_NAME} sheet (click Settings to create it) to "
                       "the name of a database connection. " + where_to_put("warehouse"))
    if not options.table:
        raise RfmError(f"Set 'Table' on the {settings.SHEET_NAME} sheet to the table of transactions to load.")
    source = options.connection
    if not is_url(source) and named_url(source) is None:
        raise RfmError(f"There is no connection named {source!r}. " + where_to_put(source))
    shown = redact(source) if is_url(source) else source
    feedback.progress(f"Loading customers from {shown}, table {options.table}")
    analysis = analyze(source, table=options.table, **options.analyze_kwargs(), progress=feedback.progress)
    live_writer.write_sheets(book, analysis_sheets(analysis), progress=feedback.progress)
