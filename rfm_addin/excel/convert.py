"""Convert between what xlwings delivers and what the core takes, with row-numbered errors.

xlwings hands worksheet ranges to Python as nested lists (``ndim=2``: one inner list per
row) whose cells are ``float`` (integers too), ``str``, ``bool``, ``datetime`` or
``None`` (empty cell); with ``err_to_str=True`` an error cell arrives as its text
(``"#N/A"``, ``"#VALUE!"``...). This module turns such ranges into flat columns, numpy
arrays and DataFrames for the core, and core results back into 2-D lists for cells.

Row numbers in messages count from the first cell of the range the user passed (row 1
is that first cell, a header row included), so "row 5" is the fifth cell of the range.
No analysis happens here.
"""
from __future__ import annotations

import datetime as dt
import math
import re
from operator import itemgetter
from typing import Any, Iterable, Sequence

import numpy as np
import pandas as pd

from ..core.errors import RfmError
from ..core.parsing import is_excel_error, serial_to_datetime

#: Excel's grid.
EXCEL_MAX_ROWS = 1_048_576
EXCEL_MAX_COLUMNS = 16_384

#: Every message shown in a cell starts with this.
ERROR_PREFIX = "#RFM!"

_NONE_TYPE = type(None)
_PLAIN_NUMBER = re.compile(r"^\s*[+-]?(\d+(\.\d*)?|\.\d+)([eE][+-]?\d+)?\s*$")
_MAX_LISTED = 3


class ArgumentError(RfmError):
    """A worksheet-function argument that cannot be used; the message names it and the row."""


# --------------------------------------------------------------------------------------
# Shapes
# --------------------------------------------------------------------------------------
def as_rows(value: Any) -> list[list]:
    """Any xlwings argument as a list of rows: a scalar is one cell, a flat list one column."""
    if isinstance(value, (list, tuple)):
        if not value:
            return []
        if all(isinstance(row, (list, tuple)) for row in value):
            return [list(row) for row in value]
        return [[v] for v in value]
    if isinstance(value, np.ndarray):
        return as_rows(value.tolist())
    return [[value]]


def is_blank(value: Any) -> bool:
    """True for an empty cell: None, NaN or text of only white space."""
    if value is None:
        return True
    if isinstance(value, float):
        return math.isnan(value)
    if isinstance(value, str):
        return not value.strip()
    return False


def column_of(name: str, value: Any) -> list:
    """A one-column argument as a flat list of cells.

    Raises
    ------
    ArgumentError
        The range has more than one column.
    """
    if isinstance(value, list) and value and all(type(r) is list for r in value[:1]):
        if type(value[-1]) is list and min(map(len, value)) == 1 == max(map(len, value)):
            return list(map(itemgetter(0), value))
    rows = as_rows(value)
    if not rows:
        return []
    width = max(len(r) for r in rows)
    if width == 1:
        return [r[0] if r else None for r in rows]
    raise ArgumentError(f"{name}: pass a single column; the range has {width} columns.")


def last_filled(values: Sequence) -> int:
    """Number of cells up to and including the last non-blank one."""
    for i in range(len(values) - 1, -1, -1):
        if not is_blank(values[i]):
            return i + 1
    return 0


def align(columns: dict[str, list | None]) -> dict[str, list]:
    """Give the argument columns one common length, ignoring trailing empty rows.

    Whole-column references (A:A) arrive with a million trailing ``None``; rows after
    the last non-empty cell of every argument are dropped. An argument (None = omitted)
    that ends before the last filled row of another one is an error: the ranges do not
    line up.

    Returns
    -------
    dict
        The given (non-None) columns, each cut to the common length.
    """
    given = {k: v for k, v in columns.items() if v is not None}
    ends = {k: last_filled(v) for k, v in given.items()}
    n = max(ends.values(), default=0)
    short = [k for k, v in given.items() if len(v) < n]
    if short:
        longest = max(ends, key=ends.get)
        raise ArgumentError(
            f"{short[0]}: the range has {len(given[short[0]])} rows but {longest} has values down to "
            f"row {n}; pass ranges of the same height.")
    return {k: v[:n] for k, v in given.items()}


def blank_rows(columns: Iterable[list]) -> np.ndarray:
    """Boolean mask of rows that are empty in every column."""
    mask = None
    for col in columns:
        cells = blank_cells(col)
        mask = cells if mask is None else mask & cells
    return np.zeros(0, dtype=bool) if mask is None else mask


# --------------------------------------------------------------------------------------
# Headers
# --------------------------------------------------------------------------------------
def _text(value: Any) -> bool:
    return isinstance(value, str) and bool(value.strip()) and not is_excel_error(value)


def _readable_number(value: Any) -> bool:
    if isinstance(value, bool):
        return False
    if isinstance(value, (int, float)):
        return True
    return isinstance(value, str) and bool(_PLAIN_NUMBER.match(value))


def _readable_date(value: Any) -> bool:
    if isinstance(value, (dt.date, int, float)) and not isinstance(value, bool):
        return True
    if isinstance(value, str):
        try:
            return not pd.isna(pd.to_datetime(value.strip(), format="mixed"))
        except (ValueError, TypeError, OverflowError):
            return False
    return False


def has_header(labels: Sequence[Any] = (), numbers: Sequence[Any] = (), dates: Sequence[Any] = ()) -> bool:
    """Whether the first row of the arguments is a header row.

    ``labels`` are the first cells of text-like arguments (ids, groups), ``numbers`` and
    ``dates`` those of numeric and date arguments. The row is a header when every cell is
    text (not an Excel error) and every numeric or date cell is text that cannot be read
    as a number or a date: a first data row with one bad amount is then still data, and
    its error is reported, not hidden as a header.
    """
    cells = [*labels, *numbers, *dates]
    if not cells or not all(_text(c) for c in cells):
        return False
    if not numbers and not dates:
        return False
    return not any(_readable_number(c) for c in numbers) and not any(_readable_date(c) for c in dates)


# --------------------------------------------------------------------------------------
# Values
# --------------------------------------------------------------------------------------
def _listing(name: str, rows: list[int], values: list, what: str) -> ArgumentError:
    """``<name>, row <r>: <value> <what>`` plus how many more rows are affected."""
    shown = "an empty cell" if values[0] is None else repr(values[0])
    more = rows[1:]
    also = ""
    if more:
        listed = ", ".join(map(str, more[:_MAX_LISTED]))
        also = f" (also row{'s' if len(more) > 1 else ''} {listed}{' and more' if len(more) > _MAX_LISTED else ''})"
    return ArgumentError(f"{name}, row {rows[0]}: {shown} {what}{also}.")


def parse_numbers(values: list) -> tuple[np.ndarray, np.ndarray, dict[int, Any]]:
    """Read cells as numbers without judging them.

    Returns
    -------
    numbers : ndarray of float64
        NaN where the cell is empty or unreadable.
    blank : ndarray of bool
        Empty cells (None, NaN, white space).
    bad : dict
        Position -> cell of every cell that is not a number (text, TRUE/FALSE, errors).
    """
    n = len(values)
    if set(map(type, values)) <= {float, int, _NONE_TYPE}:
        numbers = np.array(values, dtype=np.float64) if n else np.empty(0)
        return numbers, np.isnan(numbers), {}
    numbers = np.full(n, np.nan)
    blank = np.zeros(n, dtype=bool)
    bad: dict[int, Any] = {}
    for i, v in enumerate(values):
        kind = type(v)
        if kind is float or kind is int:
            numbers[i] = v
            blank[i] = v != v
        elif v is None:
            blank[i] = True
        elif kind is str and not v.strip():
            blank[i] = True
        elif kind is str and _PLAIN_NUMBER.match(v):
            numbers[i] = float(v)
        else:
            bad[i] = v
    return numbers, blank, bad


def check_numbers(name: str, parsed: tuple[np.ndarray, np.ndarray, dict[int, Any]], first_row: int,
                  keep: np.ndarray | None = None, whole: bool = False) -> np.ndarray:
    """The numbers of :func:`parse_numbers`, after checking the rows to keep.

    Parameters
    ----------
    name : str
        The argument name, for messages.
    parsed : tuple
        Output of :func:`parse_numbers`.
    first_row : int
        Row number (within the user's range) of the first cell.
    keep : ndarray of bool, optional
        Rows to check; others (e.g. rows empty in every argument) are ignored.
    whole : bool
        Require whole numbers (scores).

    Raises
    ------
    ArgumentError
        An Excel error value, text that is not a number, TRUE/FALSE, an empty cell in a
        kept row, or (``whole``) a fraction; naming the first rows.
    """
    numbers, blank, bad = parsed
    bad_rows = [i for i in sorted(bad) if keep is None or keep[i]]
    if bad_rows:
        first = bad[bad_rows[0]]
        what = "is an Excel error, not a number" if is_excel_error(first) else "is not a number"
        raise _listing(name, [i + first_row for i in bad_rows], [bad[i] for i in bad_rows], what)
    checked = numbers if keep is None else np.where(keep, numbers, 0.0)
    missing = np.flatnonzero(np.isnan(checked))
    if len(missing):
        rows = [int(i) + first_row for i in missing]
        raise _listing(name, rows, [None] * len(rows), "in a row that has other values")
    if np.isinf(checked).any():
        rows = [int(i) + first_row for i in np.flatnonzero(np.isinf(checked))]
        raise _listing(name, rows, [float(numbers[r - first_row]) for r in rows], "is not a finite number")
    if whole:
        fractional = np.flatnonzero(checked != np.floor(checked))
        if len(fractional):
            rows = [int(i) + first_row for i in fractional]
            raise _listing(name, rows, [float(numbers[r - first_row]) for r in rows], "is not a whole number")
    return numbers


def numbers_of(name: str, values: list, first_row: int, keep: np.ndarray | None = None,
               whole: bool = False) -> np.ndarray:
    """A column of cells as float64 (NaN for empty cells); see :func:`check_numbers`."""
    return check_numbers(name, parse_numbers(values), first_row, keep, whole)


def blank_cells(values: list) -> np.ndarray:
    """Boolean mask of the empty cells of a column."""
    if set(map(type, values)) <= {float, int, _NONE_TYPE}:
        return np.isnan(np.array(values, dtype=np.float64)) if values else np.zeros(0, dtype=bool)
    return np.fromiter(map(is_blank, values), dtype=bool, count=len(values))


def labels_of(name: str, values: list, first_row: int, keep: np.ndarray) -> list:
    """A column of labels (groups, ids): integral floats become ints, text stays text.

    Raises
    ------
    ArgumentError
        An Excel error value or an empty cell in a kept row.
    """
    out: list = []
    bad_rows, bad_values = [], []
    for i, v in enumerate(values):
        if not keep[i]:
            out.append(None)
            continue
        if is_blank(v) or is_excel_error(v):
            bad_rows.append(i + first_row)
            bad_values.append(v)
        if isinstance(v, float) and v.is_integer():
            v = int(v)
        elif isinstance(v, str):
            v = v.strip()
        out.append(v)
    if bad_rows:
        first = bad_values[0]
        what = "is an Excel error" if is_excel_error(first) else \
            "in a row that has other values"
        bad_values = [None if is_blank(v) else v for v in bad_values]
        raise _listing(name, bad_rows, bad_values, what)
    kinds = {type(v) for v, k in zip(out, keep) if k}
    if len(kinds) > 1:
        out = [None if v is None else str(v) for v in out]
    return out


def whole_number(name: str, value: Any, default: int | None, low: int | None = None,
                 high: int | None = None) -> int | None:
    """A single-cell whole-number argument (bins, k, seed); empty means ``default``."""
    value = _single(name, value)
    if is_blank(value):
        return default
    number: float | None = None
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        number = float(value)
    elif isinstance(value, str) and _PLAIN_NUMBER.match(value):
        number = float(value)
    if number is None or not math.isfinite(number) or not number.is_integer():
        raise ArgumentError(f"{name}: {value!r} is not a whole number.")
    if (low is not None and number < low) or (high is not None and number > high):
        bounds = f"from {low} to {high}" if high is not None else f"of at least {low}"
        raise ArgumentError(f"{name}: must be a whole number {bounds}, not {int(number)}.")
    return int(number)


def real_number(name: str, value: Any, default: float | None, *, low: float | None = None,
                above: float | None = None) -> float | None:
    """A single-cell number argument (a horizon, a rate); empty means ``default``. Text
    such as "10%" is read as 0.1. ``low`` is inclusive, ``above`` exclusive."""
    value = _single(name, value)
    if is_blank(value):
        return default
    number: float | None = None
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        number = float(value)
    elif isinstance(value, str):
        text = value.strip()
        share = text.endswith("%")
        text = text[:-1].strip() if share else text
        if _PLAIN_NUMBER.match(text):
            number = float(text) / (100 if share else 1)
    if number is None or not math.isfinite(number):
        raise ArgumentError(f"{name}: {value!r} is not a number.")
    if (low is not None and number < low) or (above is not None and number <= above):
        bound = f"at least {low:g}" if low is not None else f"more than {above:g}"
        raise ArgumentError(f"{name}: must be {bound}, not {number:g}.")
    return number


def _single(name: str, value: Any) -> Any:
    rows = as_rows(value)
    cells = [c for row in rows for c in row if not is_blank(c)]
    if len(cells) > 1:
        raise ArgumentError(f"{name}: pass a single cell or value.")
    return cells[0] if cells else None


def text_option(name: str, value: Any, choices: Sequence[str], default: str | None) -> str | None:
    """A single-cell text argument from a fixed list (case-insensitive)."""
    value = _single(name, value)
    if is_blank(value):
        return default
    text = str(value).strip().lower()
    if text not in choices:
        raise ArgumentError(f"{name}: {value!r} is not one of {', '.join(repr(c) for c in choices)}.")
    return text


def weights_of(name: str, value: Any) -> tuple[float, float, float]:
    """Weights of R, F and M from a range of three cells or text such as "2,1,1"."""
    cells = [c for row in as_rows(value) for c in row if not is_blank(c)]
    if len(cells) == 1 and isinstance(cells[0], str):
        cells = [p for p in re.split(r"[;,\s]+", cells[0].strip()) if p]
    numbers = []
    for c in cells:
        if isinstance(c, (int, float)) and not isinstance(c, bool):
            numbers.append(float(c))
        elif isinstance(c, str) and _PLAIN_NUMBER.match(c):
            numbers.append(float(c))
        else:
            raise ArgumentError(f"{name}: {c!r} is not a number; give three weights for R, F and M, e.g. 2,1,1.")
    if len(numbers) != 3:
        raise ArgumentError(f"{name}: give three weights for R, F and M (e.g. 2,1,1), not {len(numbers)}.")
    return numbers[0], numbers[1], numbers[2]


def excel_date(name: str, value: Any, date_system: int = 1900) -> pd.Timestamp | None:
    """A date argument: a datetime, an Excel serial number (in the workbook's ``date_system``) or date text."""
    value = _single(name, value)
    if is_blank(value):
        return None
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        if not 1 <= value <= 2_958_465:
            raise ArgumentError(f"{name}: {value!r} is not a date.")
        return pd.Timestamp(serial_to_datetime([value], date_system)[0]).normalize()
    if isinstance(value, dt.datetime | dt.date):
        return pd.Timestamp(value).normalize()
    if isinstance(value, str) and not is_excel_error(value):
        try:
            stamp = pd.Timestamp(value.strip())
        except (ValueError, TypeError):
            stamp = None
        if stamp is not None and not pd.isna(stamp):
            return stamp.normalize()
    raise ArgumentError(f"{name}: {value!r} is not a date; use a date cell or text such as 2024-12-31.")


def frame_from_rows(rows: list[list]) -> pd.DataFrame:
    """A header row plus data rows as a DataFrame of object columns (floats kept fast).

    Empty or repeated header cells get unique names ("Column 3", "Amount (2)").
    """
    if not rows:
        raise RfmError("The data is empty: expected a header row and rows of data.")
    width = max(len(r) for r in rows)
    header = list(rows[0]) + [None] * (width - len(rows[0]))
    names: list[str] = []
    for i, h in enumerate(header, start=1):
        name = f"Column {i}" if is_blank(h) else (str(int(h)) if isinstance(h, float) and h.is_integer()
                                                  else str(h).strip())
        base, k = name, 2
        while name in names:
            name, k = f"{base} ({k})", k + 1
        names.append(name)
    body = rows[1:]
    data = {}
    for j, name in enumerate(names):
        col = [r[j] if j < len(r) else None for r in body]
        if set(map(type, col)) <= {float, int, _NONE_TYPE} and col:
            data[name] = np.array(col, dtype=np.float64)
        else:
            data[name] = pd.Series(col, dtype=object)
    return pd.DataFrame(data)


def trim_rows(rows: list[list]) -> list[list]:
    """Drop trailing rows that are empty in every cell."""
    end = len(rows)
    while end and all(is_blank(c) for c in rows[end - 1]):
        end -= 1
    return rows[:end]


# --------------------------------------------------------------------------------------
# Results to cells
# --------------------------------------------------------------------------------------
def cell(value: Any) -> Any:
    """A Python, numpy or pandas value as a cell value for a worksheet function.

    Missing values become "" (a spilled ``None`` shows as 0 in Excel).
    """
    if value is None or value is pd.NA or value is pd.NaT:
        return ""
    if isinstance(value, (bool, np.bool_)):
        return bool(value)
    if isinstance(value, (int, np.integer)):
        return int(value)
    if isinstance(value, (float, np.floating)):
        return "" if not math.isfinite(value) else float(value)
    if isinstance(value, pd.Timestamp):
        return value.to_pydatetime()
    if isinstance(value, np.datetime64):
        return "" if np.isnat(value) else pd.Timestamp(value).to_pydatetime()
    if isinstance(value, (dt.date, str)):
        return value
    return str(value)


def check_grid(n_rows: int, n_columns: int = 1, what: str = "The result") -> None:
    """Raise when a result would not fit on a worksheet."""
    if n_rows > EXCEL_MAX_ROWS:
        raise RfmError(f"{what} has {n_rows:,} rows, more than an Excel sheet holds "
                       f"({EXCEL_MAX_ROWS:,}); filter the data first or use the command line.")
    if n_columns > EXCEL_MAX_COLUMNS:
        raise RfmError(f"{what} has {n_columns:,} columns, more than an Excel sheet holds ({EXCEL_MAX_COLUMNS:,}).")


def column_cells(series: pd.Series) -> list:
    """One result column as cell values, converted per dtype (fast on a million rows)."""
    kind = series.dtype.kind
    if kind in "iub":
        return series.tolist()
    if kind == "f":
        values = series.to_numpy()
        finite = np.isfinite(values)
        cells = values.tolist()
        if not finite.all():
            for i in np.flatnonzero(~finite).tolist():
                cells[i] = ""
        return cells
    if kind == "M":
        stamps = series.dt.tz_localize(None) if getattr(series.dt, "tz", None) is not None else series
        return ["" if pd.isna(v) else v.to_pydatetime() for v in stamps.tolist()]
    values = series.tolist()
    if all(type(v) is str for v in values):
        return values
    return [cell(v) for v in values]


def frame_to_grid(frame: pd.DataFrame, header: Sequence[str] | None) -> list[list]:
    """A DataFrame as a 2-D list of cell values, with an optional header row."""
    check_grid(len(frame) + (1 if header is not None else 0), frame.shape[1])
    columns = [column_cells(frame.iloc[:, j]) for j in range(frame.shape[1])]
    rows = list(map(list, zip(*columns))) if columns else []
    return ([list(header)] if header is not None else []) + rows


def spread(values: list[list], keep: np.ndarray, width: int) -> list[list]:
    """Place result rows (one per kept row) back at their input positions; "" elsewhere."""
    if keep.all():
        return values
    out: list[list] = [[""] * width for _ in range(len(keep))]
    for position, row in zip(np.flatnonzero(keep).tolist(), values):
        out[position] = row
    return out


def error_text(exc: BaseException) -> str:
    """The one-cell text of an error: ``#RFM! <message>``, never a traceback."""
    if isinstance(exc, RfmError):
        message = str(exc)
    else:
        message = f"unexpected error ({type(exc).__name__}: {exc}). Please report it."
    message = " ".join(message.split())
    return f"{ERROR_PREFIX} {message}"[:1000]


# --------------------------------------------------------------------------------------
# Text that Excel must not reinterpret
# --------------------------------------------------------------------------------------
_FORMULA_START = ("=", "+", "-", "@", "\t", "\r", "'")
_COERCIBLE = re.compile(r"^\s*[-+(]?[\d.,:/\s%$€£¥-]*\d[\d.,:/\s%$€£¥)eE-]*$|^\s*(true|false)\s*$",
                        re.IGNORECASE)


def safe_text(value: str) -> str:
    """Text that Excel stores as typed: an apostrophe (Excel's invisible text marker) is
    put before text that would become a formula (``=``, ``+``, ``-``, ``@``, tab, carriage
    return), lose a leading apostrophe, or be turned into a number, date or TRUE/FALSE
    ("00123", "1/2", "true")."""
    if not value:
        return value
    if value.startswith(_FORMULA_START) or _COERCIBLE.match(value):
        return "'" + value
    return value
