"""Read ids, amounts and dates as analysts' exports hold them, with row-numbered errors.

Exports mix types: ids as numbers (12346.0) or text with leading zeros ("00123"), amounts
as text ("$1,234.50", "1.234,50"), dates as datetimes, ISO text, day-first text or Excel
serial numbers, and Excel error values such as ``#N/A``. Every reader here works on the
*distinct* values of a column (``pd.factorize``) and maps the result back, so a 10-million
row column with 50,000 distinct dates is parsed 50,000 times, not 10 million.

A value that cannot be read is an error naming the column, the first bad rows (numbered
as in the source: ``first_row`` is the row number of the first data row) and the value.
"""
from __future__ import annotations

import re
from decimal import Decimal
from dataclasses import dataclass
from typing import Callable

import numpy as np
import pandas as pd

from .errors import DataError

#: Excel error values as they arrive in exports and through xlwings' err_to_str.
EXCEL_ERRORS = frozenset({
    "#N/A", "#VALUE!", "#REF!", "#DIV/0!", "#NUM!", "#NAME?", "#NULL!", "#SPILL!", "#CALC!",
    "#GETTING_DATA", "#FIELD!", "#BLOCKED!", "#CONNECT!", "#BUSY!", "#UNKNOWN!", "#DATA!", "#N/A N/A",
})

#: The text :mod:`rfm_addin.excel.cell_values` gives an error value whose code it does not know.
_UNKNOWN_ERROR = re.compile(r"Excel error code -?\d+")


def is_excel_error(value: object) -> bool:
    """True for the text of an Excel error value (``#N/A``, ``#SPILL!``, "Excel error code 2099")."""
    if not isinstance(value, str):
        return False
    text = value.strip()
    return text in EXCEL_ERRORS or bool(_UNKNOWN_ERROR.fullmatch(text))


#: Excel's last valid serial date (9999-12-31 in the 1900 system).
_MAX_SERIAL = 2958465
_MAX_LISTED = 5


def _is_blank_value(value: object) -> bool:
    """True for an empty cell: None, NaN, NaT, pd.NA or text of only white space."""
    if value is None or value is pd.NA or value is pd.NaT:
        return True
    if isinstance(value, (float, np.floating)):
        return bool(np.isnan(value))
    if isinstance(value, str):
        return not value.strip()
    return False


@dataclass(frozen=True)
class SourceRows:
    """The source line of each data row, where lines are not consecutive: ``lines[i]`` is
    the line of data row ``i`` (a quoted CSV field spans lines), and ``files[i]`` its file
    when the rows come from several files."""

    lines: np.ndarray
    files: np.ndarray | None = None


def source_row(first_row: "int | SourceRows", position: int) -> int | str:
    """The row number, as in the source, of the data row at ``position`` (0-based); with
    several files, "7 of two.csv"."""
    if isinstance(first_row, SourceRows):
        line = int(first_row.lines[int(position)])
        return line if first_row.files is None else f"{line} of {first_row.files[int(position)]}"
    return int(position) + first_row


def _shown(value: object, limit: int = 60) -> str:
    """A value as quoted in a message, cut short when long (an id of 40,000 characters)."""
    text = repr(value)
    return text if len(text) <= limit else f"{text[:limit - 3]}...({len(str(value)):,} characters)"


def _bad_rows_error(column: str, what: str, codes: np.ndarray, bad_unique: np.ndarray,
                    uniques: np.ndarray, first_row: int, hint: str = "") -> DataError:
    """Build the error for values whose distinct-value index is flagged in ``bad_unique``."""
    positions = np.flatnonzero(bad_unique[codes])
    rows = [source_row(first_row, p) for p in positions[:_MAX_LISTED]]
    listed = ", ".join(f"row {r}: {_shown(uniques[codes[p]])}" for r, p in zip(rows, positions))
    more = f" and {len(positions) - len(rows)} more" if len(positions) > len(rows) else ""
    return DataError(
        f"Column {column!r}: {len(positions)} value{'s' if len(positions) != 1 else ''} {what} "
        f"({listed}{more}).{(' ' + hint) if hint else ''}",
        column=column, rows=rows,
    )


def _by_uniques(values: pd.Series, parse: Callable[[np.ndarray], tuple[np.ndarray, np.ndarray]]):
    """Apply ``parse`` to the distinct values; return (codes, uniques, parsed, bad)."""
    codes, uniques = pd.factorize(values, use_na_sentinel=False)
    uniques = np.asarray(uniques, dtype=object)
    parsed, bad = parse(uniques)
    return codes, uniques, parsed, bad


def _text_of(value: object) -> str | None:
    """An id as text: integral numbers without '.0', strings stripped; None for blanks."""
    if _is_blank_value(value):
        return None
    if isinstance(value, (float, np.floating)) and float(value).is_integer():
        return str(int(value))
    return str(value)


#: "12346.0": a numeric id that went through a float (pandas, some exports) is "12346".
_FLOAT_ID = r"\d+\.0"


def id_texts(uniques: pd.Index) -> tuple[pd.Series, bool]:
    """Distinct raw ids as cleaned text, vectorised.

    Returns
    -------
    texts : Series of dtype "str"
        One per unique, missing where the id is blank.
    merged : bool
        True when cleaning may have made two distinct raw ids equal (" A" and "A"), so the
        caller must group them again; False lets it skip that pass.
    """
    if pd.api.types.is_integer_dtype(uniques.dtype):
        return pd.Series(uniques.astype(str), dtype="str"), False
    if pd.api.types.is_float_dtype(uniques.dtype):
        numbers = uniques.to_numpy(dtype=np.float64)
        whole = np.isfinite(numbers) & (numbers == np.floor(numbers))
        # A copy: without pyarrow, pandas 3 hands out a read-only view of its str array.
        out = np.array(uniques.astype(str), dtype=object)
        out[whole] = numbers[whole].astype(np.int64).astype(str)
        out[np.isnan(numbers)] = None
        return pd.Series(out, dtype="str"), False
    converted = False
    if not pd.api.types.is_string_dtype(uniques.dtype) or pd.api.types.infer_dtype(uniques, skipna=True) != "string":
        uniques = pd.Index([_text_of(u) for u in uniques], dtype=object)
        converted = True          # the number 5001 and the text "5001" are now one text
    # pandas' "str" dtype runs the string operations in C (pyarrow) when available.
    raw = pd.Series(uniques, dtype="str")
    cleaned = raw.str.strip()
    floaty = cleaned.str.fullmatch(_FLOAT_ID).fillna(False).to_numpy(dtype=bool)
    if floaty.any():
        cleaned[floaty] = cleaned[floaty].str.slice(stop=-2)
    empty = cleaned.eq("").fillna(False).to_numpy(dtype=bool)
    if empty.any():
        cleaned[empty] = pd.NA
    # Compared as plain objects: on pandas 2 the "str" dtype is object, where NA == text raises.
    same = cleaned.fillna("").to_numpy(dtype=object) == raw.fillna("").to_numpy(dtype=object)
    merged = converted or bool(floaty.any()) or not bool(np.all(same))
    return cleaned, merged


#: The most characters an Excel cell holds.
EXCEL_CELL_CHARS = 32_767
#: Whole numbers above this are not all exact as floats (2**53): such float ids could merge.
_EXACT_FLOAT = 2.0**53


def _rows_where(column: str, mask: np.ndarray, values: pd.Series, first_row: int, what: str,
                hint: str) -> DataError:
    positions = np.flatnonzero(mask)
    shown = values.to_numpy(dtype=object)
    rows = [source_row(first_row, p) for p in positions[:_MAX_LISTED]]
    listed = ", ".join(f"row {r}: {_shown(shown[p])}" for r, p in zip(rows, positions))
    more = f" and {len(positions) - len(rows)} more" if len(positions) > len(rows) else ""
    return DataError(f"Column {column!r}: {len(positions)} value{'s' if len(positions) != 1 else ''} {what} "
                     f"({listed}{more}). {hint}", column=column, rows=rows)


def _check_id_values(values: pd.Series, column: str, first_row: int) -> None:
    """Ids that cannot be ids: TRUE/FALSE, lists and records, and floats too large to be exact."""
    if pd.api.types.is_bool_dtype(values.dtype):
        raise DataError(f"Column {column!r} holds TRUE/FALSE values, not ids.", column=column)
    if pd.api.types.is_float_dtype(values.dtype):
        numbers = values.to_numpy(dtype=np.float64, na_value=np.nan)
        with np.errstate(invalid="ignore"):
            big = np.abs(numbers) >= _EXACT_FLOAT
        if big.any():
            raise _rows_where(column, big, values, first_row, "too large to be exact as numbers",
                              "Numbers above 9,007,199,254,740,992 lose digits (two ids could become one): "
                              "store the ids as text.")
        return
    if values.dtype != object:
        return
    kind = pd.api.types.infer_dtype(values, skipna=True)
    if kind in ("string", "empty", "integer"):
        return
    booleans = values.map(lambda v: isinstance(v, (bool, np.bool_))).to_numpy(dtype=bool)
    if booleans.any():
        raise _rows_where(column, booleans, values, first_row, "holding TRUE/FALSE instead of an id",
                          "Fix those cells or remove the rows.")
    nested = values.map(lambda v: isinstance(v, (list, tuple, dict, set, np.ndarray))).to_numpy(dtype=bool)
    if nested.any():
        raise _rows_where(column, nested, values, first_row, "holding a list or a record instead of an id",
                          "Give one id per row (flatten the column first).")
    big = values.map(lambda v: isinstance(v, (float, np.floating)) and abs(v) >= _EXACT_FLOAT).to_numpy(dtype=bool)
    if big.any():
        raise _rows_where(column, big, values, first_row, "too large to be exact as numbers",
                          "Numbers above 9,007,199,254,740,992 lose digits (two ids could become one): "
                          "store the ids as text.")


def read_ids(values: pd.Series, column: str, first_row: int, sort: bool = True) -> tuple[np.ndarray, pd.Index]:
    """Read an id column (customers, orders) as text.

    Parameters
    ----------
    sort : bool
        Sort the distinct ids as text (customers, for a stable output order); orders need
        no order and skip the cost.

    Returns
    -------
    codes : ndarray of int64
        Index into ``ids`` per row; -1 where the id is blank.
    ids : Index of str
        The distinct ids.

    Raises
    ------
    DataError
        An id is an Excel error value such as ``#N/A``.
    """
    _check_id_values(values, column, first_row)
    codes, uniques = pd.factorize(values, use_na_sentinel=True)
    texts, merged = id_texts(pd.Index(uniques))
    long = (texts.str.len() > EXCEL_CELL_CHARS).fillna(False).to_numpy(dtype=bool)
    if long.any():
        raise _bad_rows_error(column, f"longer than Excel's {EXCEL_CELL_CHARS:,} characters per cell", codes, long,
                              np.asarray(texts, dtype=object), first_row,
                              "Such ids would be cut short in Excel and could collide; shorten them.")
    present = texts.notna().to_numpy(dtype=bool)
    bad = (texts.isin(EXCEL_ERRORS) | texts.str.fullmatch(_UNKNOWN_ERROR.pattern)).fillna(False).to_numpy(
        dtype=bool) & present
    if bad.any():
        raise _bad_rows_error(column, "holding an Excel error instead of an id", codes, bad,
                              np.asarray(uniques, dtype=object), first_row,
                              "Fix the formulas or lookups that produced them, or remove those rows.")
    kept = texts[present]
    if sort or merged:
        remap, ids = pd.factorize(kept, sort=sort)
    else:
        remap, ids = np.arange(len(kept)), kept
    full = np.full(len(texts) + 1, -1, dtype=np.int64)   # the extra slot maps code -1 (blank) to -1
    full[:-1][present] = remap
    return full[codes], pd.Index(ids, dtype="str")


#: Currency symbols and ISO codes understood in text amounts (one kind per column).
_SYMBOL = re.compile(r"[$€£¥₹]|^(USD|EUR|GBP|CHF|JPY)(?=[\s\d.,(+-])|(?<=[\s\d.,)])(USD|EUR|GBP|CHF|JPY)$",
                     re.IGNORECASE)
_SPACES = " \u00a0\u202f\t"
_PLAIN_NUMBER = re.compile(r"^[+-]?(\d+(\.\d*)?|\.\d+)([eE][+-]?\d+)?$")


#: The ISO code each symbol stands for in an export ("$10" and "USD 3" are one currency).
_CODES = {"$": "USD", "€": "EUR", "£": "GBP", "¥": "JPY", "₹": "INR"}


def currency_of(text: str) -> str | None:
    """The currency of a text amount as an ISO code ("$10" -> "USD"); None without one."""
    found = _SYMBOL.search(text.strip())
    if not found:
        return None
    symbol = found.group(0).upper()
    return _CODES.get(symbol, symbol)


def _number_of(text: str, decimal: str, thousands: str | None) -> float | None:
    """Parse one text amount in the given locale; None if it is not a number.

    Spaces around the number and its currency are ignored; spaces inside the digits
    ("12 50") only count as a thousands separator when ``thousands`` is a space.
    """
    s = text.strip(_SPACES)
    negative = s.startswith("(") and s.endswith(")")
    if negative:
        s = s[1:-1].strip(_SPACES)
    s = _SYMBOL.sub("", s).strip(_SPACES)
    if s.startswith(("-", "+")) and len(s) > 1 and s[1] in _SPACES:
        s = s[0] + s[1:].lstrip(_SPACES)           # "- 10", after a symbol: "$ -10" or "-$ 10"
    if thousands is not None and thousands in _SPACES:
        s = re.sub(f"[{_SPACES}]", thousands, s)
    elif any(ch in s for ch in _SPACES):
        return None
    if s.endswith("-") and not s.startswith("-"):
        s, negative = s[:-1], not negative
    if thousands:
        integer = s.split(decimal, 1)[0].lstrip("+-")
        if thousands in integer and not re.fullmatch(r"\d{1,3}(" + re.escape(thousands) + r"\d{3})+", integer):
            return None
        s = s.replace(thousands, "")
    if decimal != ".":
        if "." in s:
            return None
        s = s.replace(decimal, ".")
    if not _PLAIN_NUMBER.match(s):
        return None
    number = float(s)
    if not np.isfinite(number):
        return None                                  # "1e400": too large for a number
    return -number if negative else number


def _locale_hint(samples: list[str], decimal: str, thousands: str | None) -> str:
    """Suggest the locale options when bad text amounts look like formatted numbers."""
    if any(_PLAIN_NUMBER.match(t.strip()) and not np.isfinite(float(t.strip())) for t in samples):
        return "Numbers such as 1e400 are too large to be amounts; fix or remove those rows."
    joined = " ".join(samples)
    if any(re.search(r"\d[ \u00a0\u202f]\d", t) for t in samples) and (thousands is None or thousands not in _SPACES):
        return ("They have spaces between digits: if a space separates thousands (1 250,50), use thousands=' ' "
                "(command line --thousands space).")
    if re.search(r"\d,\d{3}\.\d", joined) and (decimal, thousands) != (".", ","):
        return "They look like numbers with ',' thousands separators: use thousands=',' (command line --thousands ,)."
    if re.search(r"\d\.\d{3},\d", joined) and (decimal, thousands) != (",", "."):
        return ("They look like numbers written with ',' as decimal mark and '.' between thousands: use "
                "decimal=',' thousands='.' (command line --decimal , --thousands .).")
    if decimal == "." and thousands is None and re.search(r"\d,\d{1,2}\b", joined):
        return "If ',' is the decimal mark, use decimal=',' (command line --decimal ,)."
    if decimal == "." and thousands is None and re.search(r"\d,\d{3}\b", joined):
        return "If ',' separates thousands, use thousands=',' (command line --thousands ,)."
    return "Amounts must be numbers; fix or remove those rows."


def read_numbers(values: pd.Series, column: str, first_row: int, decimal: str = ".",
                 thousands: str | None = None) -> np.ndarray:
    """Read a numeric column (amount, quantity, price) that may hold text numbers.

    Text is read in the given locale: ``decimal`` is the decimal mark, ``thousands`` the
    grouping mark (None: grouped numbers such as "1,234.50" are errors rather than guesses).
    Currency symbols and codes, spaces and accounting negatives "(12.50)" are understood.

    Returns
    -------
    ndarray of float64
        NaN where the cell is blank; the caller decides whether a blank is an error.

    Raises
    ------
    DataError
        Excel error values, booleans and text that is not a number, naming rows.
    """
    if pd.api.types.is_bool_dtype(values.dtype):
        raise DataError(f"Column {column!r} holds TRUE/FALSE values, not numbers.", column=column)
    if pd.api.types.is_numeric_dtype(values.dtype):
        numbers = values.to_numpy(dtype=np.float64, na_value=np.nan)
        bad = np.isinf(numbers)
        if bad.any():
            positions = np.flatnonzero(bad)
            rows = [source_row(first_row, p) for p in positions[:_MAX_LISTED]]
            raise DataError(f"Column {column!r}: infinite values (rows {', '.join(map(str, rows))}).",
                            column=column, rows=rows)
        return numbers

    def parse(uniques):
        out = np.full(len(uniques), np.nan)
        bad = np.zeros(len(uniques), dtype=bool)
        for i, u in enumerate(uniques):
            if _is_blank_value(u):
                continue
            if isinstance(u, (bool, np.bool_)):
                bad[i] = True
            elif isinstance(u, (int, float, np.integer, np.floating, Decimal)):   # Decimal: SQL numeric columns
                out[i] = float(u)
                bad[i] = np.isinf(out[i])
            elif isinstance(u, str):
                number = None if is_excel_error(u) else _number_of(u, decimal, thousands)
                bad[i] = number is None
                out[i] = np.nan if number is None else number
            else:
                bad[i] = True
        return out, bad

    codes, uniques, parsed, bad = _by_uniques(values, parse)
    if bad.any():
        samples = [str(u) for u in uniques[bad][:20]]
        raise _bad_rows_error(column, "not readable as a number", codes, bad, uniques, first_row,
                              _locale_hint(samples, decimal, thousands))
    _check_one_currency(column, codes, uniques, first_row)
    return parsed[codes]


def _check_one_currency(column: str, codes: np.ndarray, uniques: np.ndarray, first_row: int) -> None:
    """Amounts in different currencies ("$10" and "€10") cannot be added up: an error naming them."""
    symbols = np.array([currency_of(u) if isinstance(u, str) else None for u in uniques], dtype=object)
    found = sorted({s for s in symbols if s is not None})
    if len(found) < 2:
        return
    examples = []
    for symbol in found:
        position = int(np.flatnonzero(symbols[codes] == symbol)[0])
        examples.append(f"{symbol} (row {source_row(first_row, position)}: {uniques[codes[position]]!r})")
    raise DataError(f"Column {column!r} holds amounts in {len(found)} currencies: {', '.join(examples)}. "
                    "Convert them to one currency first; adding them up would mix currencies.", column=column)


#: Text date formats tried in order when the values are not ISO 8601.
_DAY_FIRST = ("%d/%m/%Y", "%d.%m.%Y", "%d-%m-%Y", "%d/%m/%y", "%d.%m.%y")
_MONTH_FIRST = ("%m/%d/%Y", "%m-%d-%Y", "%m/%d/%y")
_OTHER = ("%Y/%m/%d", "%Y.%m.%d", "%d %b %Y", "%d-%b-%Y", "%d-%b-%y", "%b %d %Y", "%b %d, %Y",
          "%d %B %Y", "%B %d %Y", "%B %d, %Y", "%Y%m%d")
_TIMES = ("", " %H:%M", " %H:%M:%S", " %I:%M %p", " %I:%M:%S %p")


def serial_to_datetime(serials: np.ndarray, date_system: int = 1900) -> np.ndarray:
    """Convert Excel serial numbers to datetime64[ns].

    The 1900 system counts from 1899-12-31 = 0 and keeps Lotus' fictitious 1900-02-29
    (serial 60), so serials from 61 on are days since 1899-12-30. The 1904 system (old Mac
    workbooks) counts days since 1904-01-01.
    """
    serials = np.asarray(serials, dtype=np.float64)
    if date_system == 1904:
        base = np.datetime64("1904-01-01")
        offset = serials
    else:
        base = np.datetime64("1899-12-30")
        offset = np.where(serials < 61, serials + 1, serials)
    nanos = np.round(offset * 86_400_000_000_000).astype("int64")
    return base.astype("datetime64[ns]") + nanos.astype("timedelta64[ns]")


#: A time of day followed by a UTC offset ("Z", "+02:00", "-0500"): the offset is dropped.
_UTC_OFFSET = re.compile(r"^(.*\d{1,2}:\d{2}(?::\d{2}(?:[.,]\d+)?)?)\s*(?:Z|UTC|GMT|[+-]\d{2}(?::?\d{2})?)$",
                         re.IGNORECASE)


def _parse_text_dates(texts: list[str], dayfirst: bool | None) -> tuple[pd.Series, str | None]:
    """Parse distinct date strings with one format for all of them.

    Returns the parsed values (NaT where unreadable) and, when the strings fit both a
    day-first and a month-first format, the message explaining the ambiguity.
    """
    parsed, message, _ = _parse_text_dates_with_format(texts, dayfirst)
    return parsed, message


def _parse_text_dates_with_format(texts: list[str], dayfirst: bool | None
                                  ) -> tuple[pd.Series, str | None, str | None]:
    """:func:`_parse_text_dates`, and the one format that read every string ("ISO8601" or a
    strptime format; None when it took several, or some are unreadable or ambiguous)."""
    s = pd.Series(texts, dtype=object).str.strip()
    # "2024-03-01T23:30:00+02:00": the local date and time as written (the offset is dropped,
    # as for time-zone-aware datetimes), so summer and winter offsets mix freely.
    s = s.str.replace(_UTC_OFFSET, r"\1", regex=True)
    iso = pd.to_datetime(s, format="ISO8601", errors="coerce")
    if iso.notna().all():
        return iso, None, "ISO8601"
    rest = s[iso.isna()]
    order = {None: _DAY_FIRST + _MONTH_FIRST, True: _DAY_FIRST, False: _MONTH_FIRST}[dayfirst] + _OTHER
    best, best_count, fits = None, -1, []
    for fmt in (f + t for f in order for t in _TIMES):
        parsed = pd.to_datetime(rest, format=fmt, errors="coerce")
        count = int(parsed.notna().sum())
        if count == len(rest):
            fits.append(fmt)
        if count > best_count:
            best, best_count = parsed, count
    if dayfirst is None and any(f.startswith(_DAY_FIRST) for f in fits) and any(
            f.startswith(_MONTH_FIRST) for f in fits):
        return iso, ("Dates such as " + repr(rest.iloc[0]) + " could be day-first or month-first. "
                     "Say which with dayfirst=True/False (command line --dayfirst / --monthfirst)."), None
    if fits:
        best = pd.to_datetime(rest, format=fits[0], errors="coerce")
    out = iso.copy()
    out[rest.index] = best
    return out, None, (fits[0] if fits and len(rest) == len(s) else None)


#: The dates a datetime64[ns] holds (pandas' Timestamp.min and .max, whole days).
_FIRST_STAMP = pd.Timestamp("1677-09-22")
_LAST_STAMP = pd.Timestamp("2262-04-11")
_FIRST_DATE = np.datetime64("1677-09-22")
_LAST_DATE = np.datetime64("2262-04-11")


def _serial(serial: float, date_system: int) -> tuple[np.datetime64, bool]:
    """One Excel serial as datetime64[ns], and whether it lies outside :data:`_LAST_STAMP`."""
    base = np.datetime64("1904-01-01") if date_system == 1904 else np.datetime64("1899-12-30")
    days = serial if date_system == 1904 or serial >= 61 else serial + 1
    if base + np.timedelta64(int(days), "D") > _LAST_DATE:
        return np.datetime64("NaT", "ns"), True
    return serial_to_datetime(np.array([serial]), date_system)[0], False


def _out_of_range(column: str, mask: np.ndarray, values: pd.Series, first_row: int) -> DataError:
    return _rows_where(column, mask, values, first_row, "outside the dates this tool can hold (1677-09-22 to "
                       "2262-04-11)", "Check those rows: 9999-12-31 and 1900-01-00 are often placeholders for "
                       "'no date'; remove them or give the real dates.")


#: Columns of at least this many rows try :func:`_text_dates_at_once` first.
_AT_ONCE_ROWS = 1000
#: Distinct values of the sample that decides the format.
_AT_ONCE_SAMPLE = 2000
_SERIAL_TEXT = re.compile(r"\d{1,7}(\.\d+)?")


def _text_dates_at_once(values: pd.Series, dayfirst: bool | None) -> np.ndarray | None:
    """A text date column in one vectorised parse, or None to leave it to the general path.

    The general path works per distinct value (serials, errors, blanks, several formats), and
    nearly every timestamp is distinct (1M of them: 20 s). Here a sample of distinct values
    goes through the general rules (:func:`_parse_text_dates_with_format`); when it is plain
    text that one format reads without ambiguity, the whole column is parsed with that format
    by pandas. Only if every non-blank value is read, naive and within range is that the
    answer; otherwise (a serial, an error value, padding, an offset, a second format, an
    ambiguity the sample did not show) the general path reads the column and names the rows.
    The answer is the general path's: any format read the whole column, so the first format
    in order that reads the sample and the column is the general path's choice too.
    """
    if len(values) < _AT_ONCE_ROWS or not (pd.api.types.is_string_dtype(values.dtype)
                                           or values.dtype == object):
        return None
    if not pd.api.types.is_string_dtype(values.dtype) and pd.api.types.infer_dtype(values, skipna=True) != "string":
        return None
    present = values.iloc[: _AT_ONCE_SAMPLE * 4].dropna()      # the head only: no copy of the whole column
    if present.empty:
        return None
    sample = [str(v) for v in pd.unique(present.to_numpy())[:_AT_ONCE_SAMPLE]]
    if any(t != t.strip() or not t or _SERIAL_TEXT.fullmatch(t) or is_excel_error(t) or _UTC_OFFSET.match(t)
           for t in sample):
        return None
    parsed, message, fmt = _parse_text_dates_with_format(sample, dayfirst)
    if message or fmt is None or parsed.isna().any():
        return None
    try:
        full = pd.to_datetime(values, format=fmt, errors="coerce")
    except (ValueError, TypeError, OverflowError):
        return None
    if not pd.api.types.is_datetime64_dtype(full.dtype) or isinstance(full.dtype, pd.DatetimeTZDtype):
        return None
    native = full.to_numpy(dtype="datetime64[ns]")
    if (np.isnat(native) != values.isna().to_numpy()).any():
        return None
    return native


def read_dates(values: pd.Series, column: str, first_row: int, date_system: int = 1900,
               dayfirst: bool | None = None) -> np.ndarray:
    """Read a date column as datetime64[ns] (time zones dropped, local time kept).

    Accepts datetimes, ISO 8601 text, common day-first / month-first text (ambiguous text
    is an error unless ``dayfirst`` says which), and Excel serial numbers as numbers or
    numeric text, in the workbook's ``date_system`` (1900 or 1904).

    Returns
    -------
    ndarray of datetime64[ns]
        NaT where the cell is blank; the caller decides whether a blank is an error.

    Raises
    ------
    DataError
        Unreadable dates and Excel error values, naming the first rows.
    """
    if date_system not in (1900, 1904):
        raise DataError(f"date_system must be 1900 or 1904, not {date_system!r}.")
    if isinstance(values.dtype, pd.PeriodDtype):
        raise DataError(f"Column {column!r} holds periods ({values.iloc[0]}), not dates: convert them first, e.g. "
                        f"with .dt.to_timestamp().", column=column)
    if isinstance(values.dtype, pd.DatetimeTZDtype):
        values = values.dt.tz_localize(None)
    if pd.api.types.is_datetime64_any_dtype(values.dtype):
        native = values.to_numpy()
        outside = ~np.isnat(native) & ((native < _FIRST_DATE) | (native > _LAST_DATE))
        if outside.any():
            raise _out_of_range(column, outside, values, first_row)
        return native.astype("datetime64[ns]")
    if pd.api.types.is_numeric_dtype(values.dtype) and not pd.api.types.is_bool_dtype(values.dtype):
        values = values.astype(object)
    at_once = _text_dates_at_once(values, dayfirst)
    if at_once is not None:
        return at_once

    ambiguity: list[str] = []
    outside_unique: list[int] = []

    def parse(uniques):
        out = np.full(len(uniques), np.datetime64("NaT"), dtype="datetime64[ns]")
        bad = np.zeros(len(uniques), dtype=bool)
        texts, text_idx = [], []
        for i, u in enumerate(uniques):
            if _is_blank_value(u):
                continue
            if isinstance(u, (bool, np.bool_)):
                bad[i] = True
            elif isinstance(u, pd.Period):
                raise DataError(f"Column {column!r} holds periods ({u}), not dates: convert them first, e.g. "
                                "with .dt.to_timestamp().", column=column)
            elif isinstance(u, (pd.Timestamp, np.datetime64)) or hasattr(u, "year"):
                try:
                    ts = pd.Timestamp(u)
                except (ValueError, TypeError, OverflowError):
                    bad[i] = True
                    continue
                if pd.isna(ts):
                    bad[i] = True
                    continue
                ts = ts.tz_localize(None) if ts.tzinfo else ts
                if not _FIRST_STAMP <= ts <= _LAST_STAMP:
                    outside_unique.append(i)
                else:
                    out[i] = ts.as_unit("ns").to_datetime64()
            elif isinstance(u, (int, float, np.integer, np.floating)):
                if np.isfinite(u) and 1 <= u <= _MAX_SERIAL:
                    out[i], outside = _serial(float(u), date_system)
                    if outside:
                        outside_unique.append(i)
                else:
                    bad[i] = True
            elif isinstance(u, str):
                t = u.strip()
                if re.fullmatch(r"\d{1,7}(\.\d+)?", t) and not re.fullmatch(r"\d{8}", t) and 1 <= float(t) <= _MAX_SERIAL:
                    out[i], outside = _serial(float(t), date_system)
                    if outside:
                        outside_unique.append(i)
                elif not is_excel_error(t):
                    texts.append(t)
                    text_idx.append(i)
                else:
                    bad[i] = True
            else:
                bad[i] = True
        if texts:
            parsed, message = _parse_text_dates(texts, dayfirst)
            if message:
                ambiguity.append(message)
            parsed_values = parsed.to_numpy(dtype="datetime64[ns]")
            out[text_idx] = parsed_values
            bad[text_idx] = np.isnat(parsed_values)
        return out, bad

    codes, uniques, parsed, bad = _by_uniques(values, parse)
    if ambiguity:
        raise DataError(f"Column {column!r}: {ambiguity[0]}", column=column)
    if outside_unique:
        flagged = np.zeros(len(uniques), dtype=bool)
        flagged[outside_unique] = True
        raise _out_of_range(column, flagged[codes], values, first_row)
    if bad.any():
        raise _bad_rows_error(column, "not readable as a date", codes, bad, uniques, first_row,
                              "Use real dates, ISO text such as 2024-01-31, or Excel serial numbers.")
    return parsed[codes]
