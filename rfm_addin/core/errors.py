"""Errors meant for people: every message says what is wrong and how to fix it.

The command line prints ``RfmError`` messages as one line without a traceback, the Excel
layer shows them in a cell (``#RFM! ...``) or a message box. Anything else that escapes
is a bug in rfm_addin, not bad input.
"""
from __future__ import annotations


class RfmError(ValueError):
    """Bad input or bad parameters; the message is written for the person who can fix it."""


class ColumnError(RfmError):
    """A required column is missing or ambiguous; the message lists the columns found."""


class DataError(RfmError):
    """Values that cannot be read; the message names the column and the first bad rows.

    Parameters
    ----------
    message : str
        The readable message.
    column : str, optional
        The column (as the user named it) holding the bad values.
    rows : list of int, optional
        Source row numbers (spreadsheet numbering: header in row 1) of the first bad rows.
    """

    def __init__(self, message: str, column: str | None = None, rows: list[int] | None = None):
        super().__init__(message)
        self.column = column
        self.rows = list(rows or [])
