"""What xlwings delivers from each Excel, made into the cell values the Excel layer reads.

Every read of worksheet values in the Excel layer (worksheet-function arguments, the
ribbon macros' source sheet, the Settings sheet) goes through this module, so desktop
Excel, Excel on a Mac and the remote engine reach the rest of the code alike:

- **Windows** (pywin32 and COM; ``xlwings._xlwindows``). A cell with a Currency or
  Accounting number format arrives as :class:`decimal.Decimal` (COM's VT_CY, 4 decimals):
  made a float. xlwings' ``err_to_str`` turns seven error values into their text
  (``#N/A``, ``#VALUE!``...); every other error value (``#SPILL!``, ``#CALC!``...)
  arrives as a negative int, the signed 32-bit ``0x800A0000 | code``: made its text
  (``"#SPILL!"``), or ``"Excel error code N"`` for a code this module does not know, so
  that it is reported by name and row, never used as a number or taken for an empty
  cell. Dates arrive as datetimes (xlwings rebuilds them from pywin32's time type).
- **macOS** (AppleScript; ``xlwings._xlmac``). Currency cells arrive as floats; error
  values other than xlwings' seven read as empty, and xlwings 0.37.8's ``err_to_str``
  fails on a range of more than one row and one column (its ``ensure_2d`` returns
  None). So on a Mac the values are read without ``err_to_str`` and the range's
  displayed text (``string_value``) is laid over them: an empty cell that shows an error
  value gets that text.
- **Remote engine** (Office.js / Office Scripts clients): errors arrive as their text and
  dates as ISO text; nothing to change.

Serial numbers in date columns follow the workbook's date system: :func:`date_system`
reads ``Workbook.Date1904`` on Windows and ``date 1904`` on a Mac; the remote engine's
payload does not carry it, so there the 1900 system is assumed (every workbook made by
Excel for Windows, and by Excel for Mac since 2011, unless changed by hand).
"""
from __future__ import annotations

from decimal import Decimal
from typing import Any

from xlwings.conversion.standard import _rows_2d

from ..core.parsing import EXCEL_ERRORS

#: ``0x800A0000`` as a signed 32-bit int: an error cell of code ``c`` arrives as ``c + ERROR_BASE``.
ERROR_BASE = -2_146_828_288
#: The ints that are error values (``0x800A0000`` to ``0x800AFFFF``, signed).
ERROR_INTS = (ERROR_BASE, ERROR_BASE + 0xFFFF)

#: Excel's error codes (the ``XlCVError`` enumeration) and the text a cell shows.
ERROR_CODES: dict[int, str] = {
    2000: "#NULL!", 2007: "#DIV/0!", 2015: "#VALUE!", 2023: "#REF!", 2029: "#NAME?", 2036: "#NUM!",
    2042: "#N/A", 2043: "#GETTING_DATA", 2045: "#SPILL!", 2046: "#CONNECT!", 2047: "#BLOCKED!",
    2048: "#UNKNOWN!", 2049: "#FIELD!", 2050: "#CALC!",
}


def error_text(code_int: int) -> str:
    """The text of the error value that arrives as ``code_int`` (see :data:`ERROR_BASE`)."""
    code = code_int - ERROR_BASE
    return ERROR_CODES.get(code, f"Excel error code {code}")


def cell(value: Any) -> Any:
    """One cell as desktop Excel delivers it, as the Excel layer reads it (see the module doc)."""
    kind = type(value)
    if kind is Decimal:
        return float(value)
    if kind is int and ERROR_INTS[0] <= value <= ERROR_INTS[1]:
        return error_text(value)
    return value


def _needs_work(kinds: set[type]) -> bool:
    return Decimal in kinds or int in kinds


def cells(value: Any) -> Any:
    """:func:`cell` applied to a scalar, a list of cells or a list of rows; fast when nothing changes."""
    if isinstance(value, (list, tuple)):
        if value and isinstance(value[0], (list, tuple)):
            if not _needs_work({type(c) for row in value for c in row}):
                return value
            return [[cell(c) for c in row] for row in value]
        if not _needs_work(set(map(type, value))):
            return value
        return [cell(c) for c in value]
    return cell(value)


def _engine_module(rng: Any) -> str:
    return type(getattr(rng, "impl", None)).__module__ or ""


def _rows(value: Any) -> list[list]:
    """A read as a list of row lists, by xlwings' own rule (a scalar is one cell, a flat list one row)."""
    if isinstance(value, (list, tuple)) and not value:
        return []
    return [list(row) for row in _rows_2d(value)]


def read_values(rng: Any) -> list[list]:
    """The values of an xlwings range as a list of rows, error cells as their text.

    Parameters
    ----------
    rng : xlwings.Range
        On any engine: Windows, macOS or the remote engine.
    """
    if _engine_module(rng).endswith("_xlmac"):
        values = _rows(rng.options(ndim=2).value)
        shown = _rows(rng.api.string_value.get())
        for r, row in enumerate(values):
            for c, value in enumerate(row):
                if value is None and r < len(shown) and c < len(shown[r]):
                    text = shown[r][c]
                    if isinstance(text, str) and text.strip() in EXCEL_ERRORS:
                        row[c] = text.strip()
        return values
    return cells(_rows(rng.options(ndim=2, err_to_str=True).value))


def date_system(book: Any) -> int:
    """The workbook's date system, 1900 or 1904 (see the module doc for each engine)."""
    module = type(getattr(book, "impl", None)).__module__ or ""
    try:
        if module.endswith("_xlwindows"):
            return 1904 if book.api.Date1904 else 1900
        if module.endswith("_xlmac"):
            return 1904 if book.api.date_1904.get() else 1900
    except Exception:  # an engine that cannot say: the default system
        return 1900
    return 1900
