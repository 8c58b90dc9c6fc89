"""The data rows of large tables, written straight into a worksheet's XML by columns.

XlsxWriter keeps every cell as a Python object (``write_number`` and friends) and turns each
into XML one at a time when the workbook is closed: for the customer table of 1M order lines
(50,000 customers x 15 columns) that was 4.4 s of cell calls and most of a 6.4 s close.
Here a table's data rows are made into XML column by column (one type test per column, not
per cell) when the table is written, and :func:`hook` has XlsxWriter put them between its own
rows when it writes the sheet's ``<sheetData>`` at close.

The XML is what XlsxWriter writes for the same calls, cell for cell: numbers as
``{:.16G}``, dates as XlsxWriter's serials (:func:`excel_serials`), a blank with its format
as an empty ``<c>``, booleans as ``t="b"``, text as an entry of the workbook's shared string
table, taken in the order the cell-by-cell path takes them (column by column), truncated at
32,767 UTF-16 units as XlsxWriter does. ``tests/test_bulk_rows.py`` compares the files cell by
cell with openpyxl.

Four XlsxWriter internals are used: a worksheet's ``_write_rows`` (writes the rows from
``dim_rowmin`` to ``dim_rowmax`` to ``fh``), its ``_check_dimensions`` (widens that range), its
``str_table._get_shared_string_index`` and a format's ``_get_xf_index`` (the number a cell's ``s`` attribute holds, given when first
asked); :func:`available` says whether they are there, and without them the caller writes cell
by cell as before.
"""
from __future__ import annotations

import math
from datetime import date, datetime
from typing import Any, Callable

import numpy as np
import pandas as pd

#: The longest text XlsxWriter writes (UTF-16 units); longer text is truncated, as it does.
MAX_TEXT = 32767
_NS_PER_DAY = 86_400_000_000_000


def cell_value(value: Any) -> Any:
    """A Python value XlsxWriter writes as the right cell type (None for blanks)."""
    if value is None or value is pd.NaT or value is pd.NA:
        return None
    if isinstance(value, (float, np.floating)):
        return None if math.isnan(value) or math.isinf(value) else float(value)
    if isinstance(value, (bool, np.bool_)):
        return bool(value)
    if isinstance(value, (int, np.integer)):
        return int(value)
    if isinstance(value, np.datetime64):
        if np.isnat(value):
            return None
        value = pd.Timestamp(value)
    if isinstance(value, pd.Timestamp):
        # Python datetimes hold microseconds: the nanoseconds are dropped (without pandas' warning)
        return (value - pd.Timedelta(nanoseconds=value.nanosecond)).to_pydatetime()
    if isinstance(value, (datetime, date)):
        return value
    return str(value)


def available(sheet: Any) -> bool:
    """Whether this XlsxWriter worksheet has the internals this module uses."""
    table = getattr(sheet, "str_table", None)
    return (callable(getattr(sheet, "_write_rows", None)) and hasattr(sheet, "dim_rowmin")
            and callable(getattr(sheet, "_check_dimensions", None))
            and callable(getattr(table, "_get_shared_string_index", None)) and not sheet.constant_memory)


def hook(sheet: Any, blocks: list[tuple[int, int, int, list[str]]]) -> None:
    """Make ``sheet`` write ``blocks`` (first row, last row, last column, the rows' XML;
    0-based) between XlsxWriter's own rows when the workbook is closed.

    The sheet's used range (its ``<dimension>``, which openpyxl's read-only mode and other
    readers trust) is widened to the blocks now, as writing their cells would have done.
    """
    for _, last_row, last_col, _ in blocks:
        sheet._check_dimensions(last_row, last_col)
    original = sheet._write_rows

    def write_rows() -> None:
        low, high = sheet.dim_rowmin, sheet.dim_rowmax
        start = low
        try:
            for first, last, _, chunks in sorted(blocks, key=lambda b: b[0]):
                taken = [r for r in range(first, last + 1) if sheet.table.get(r)]
                if taken:
                    raise RuntimeError(f"rows {taken[:3]} of a bulk table also have cells written one by one")
                if start <= first - 1:
                    sheet.dim_rowmin, sheet.dim_rowmax = start, first - 1
                    original()
                for chunk in chunks:
                    sheet.fh.write(chunk)
                start = last + 1
            if start <= high:
                sheet.dim_rowmin, sheet.dim_rowmax = start, high
                original()
        finally:
            sheet.dim_rowmin, sheet.dim_rowmax = low, high

    sheet._write_rows = write_rows


def column_letters(n: int) -> list[str]:
    """Excel column letters of the first ``n`` columns (A, B, ..., Z, AA, ...)."""
    out = []
    for c in range(n):
        name, c = "", c + 1
        while c:
            c, r = divmod(c - 1, 26)
            name = chr(65 + r) + name
        out.append(name)
    return out


def truncated(text: str) -> str:
    """Text as XlsxWriter stores it: at most :data:`MAX_TEXT` UTF-16 units, no character split."""
    if len(text) <= MAX_TEXT // 2:
        return text
    length = 0
    for index, char in enumerate(text):
        length += 2 if ord(char) > 0xFFFF else 1
        if length > MAX_TEXT:
            return text[:index]
    return text


def excel_serials(stamps: np.ndarray, date_1904: bool) -> np.ndarray:
    """Excel serials of naive datetime64 values, by XlsxWriter's arithmetic
    (``_datetime_to_excel_datetime``: days + (seconds + microseconds / 1e6) / 86400 from
    1899-12-31, 1900-01-01 one day less, +1 after 59 for Excel's 1900 leap day), to the bit."""
    epoch = np.datetime64("1904-01-01" if date_1904 else "1899-12-31", "us").astype(np.int64)
    # Python datetimes hold microseconds (the nanoseconds dropped: a floor); in microseconds
    # the distance from 1899 cannot overflow, as it would in nanoseconds after 2192.
    micros = stamps.astype("datetime64[ns]").astype(np.int64) // 1000 - epoch
    days, rest = np.divmod(micros, 86_400_000_000)
    seconds, microseconds = np.divmod(rest, 1_000_000)
    serial = days.astype(np.float64) + (seconds.astype(np.float64) + microseconds.astype(np.float64) / 1e6) / 86400
    if not date_1904:
        new_year = np.datetime64("1900-01-01", "ns").astype(np.int64)
        on_first_day = (stamps.astype(np.int64) >= new_year) & (stamps.astype(np.int64) < new_year + _NS_PER_DAY)
        serial = np.where(on_first_day, serial - 1, serial)
        serial = np.where(serial > 59, serial + 1, serial)
    return serial


def _generic_cells(values: list, ref: list[str], style: Callable[[Any], str], date_1904: bool,
                   shared: Callable[[str], int]) -> list[str]:
    """One cell each, by the value's type, as :func:`cell_value` and XlsxWriter's writers decide."""
    out = []
    for r, raw in zip(ref, values):
        s = style(raw)
        value = cell_value(raw)
        if value is None:
            out.append(f'<c r="{r}"{s}/>')
        elif isinstance(value, str):
            out.append(f'<c r="{r}"{s} t="s"><v>{shared(truncated(value))}</v></c>')
        elif isinstance(value, bool):
            out.append(f'<c r="{r}"{s} t="b"><v>{int(value)}</v></c>')
        elif isinstance(value, (datetime, date)):
            from xlsxwriter.utility import _datetime_to_excel_datetime

            out.append(f'<c r="{r}"{s}><v>{_datetime_to_excel_datetime(value, date_1904, False):.16G}</v></c>')
        else:
            out.append(f'<c r="{r}"{s}><v>{value:.16G}</v></c>')
    return out


def _plain(dtype: Any) -> bool:
    return not isinstance(dtype, pd.api.extensions.ExtensionDtype)


def column_cells(values: pd.Series, ref: list[str], style: Callable[[Any], str], *, same_style: bool,
                 date_1904: bool, shared: Callable[[str], int]) -> list[str]:
    """The ``<c>`` elements of one column (``ref``: the cell references, ``style`` the ``s``
    attribute of a value; ``same_style`` when it is the same for every value; ``shared`` the
    index of a text in the shared string table)."""
    dtype = values.dtype
    s = style(None) if same_style else None
    if same_style and pd.api.types.is_float_dtype(dtype):
        numbers = values.to_numpy(dtype=np.float64, na_value=np.nan)
        finite = np.isfinite(numbers).tolist()
        return [f'<c r="{r}"{s}><v>{v:.16G}</v></c>' if ok else f'<c r="{r}"{s}/>'
                for r, v, ok in zip(ref, numbers.tolist(), finite)]
    if same_style and pd.api.types.is_integer_dtype(dtype) and _plain(dtype):
        return [f'<c r="{r}"{s}><v>{v:.16G}</v></c>' for r, v in zip(ref, values.to_numpy().tolist())]
    if same_style and pd.api.types.is_bool_dtype(dtype) and _plain(dtype):
        return [f'<c r="{r}"{s} t="b"><v>{int(v)}</v></c>' for r, v in zip(ref, values.to_numpy().tolist())]
    if same_style and pd.api.types.is_datetime64_dtype(dtype) and not isinstance(dtype, pd.DatetimeTZDtype):
        stamps = values.to_numpy(dtype="datetime64[ns]")
        blank = np.isnat(stamps)
        serials = excel_serials(np.where(blank, np.datetime64(0, "ns"), stamps), date_1904).tolist()
        return [f'<c r="{r}"{s}/>' if b else f'<c r="{r}"{s}><v>{v:.16G}</v></c>'
                for r, v, b in zip(ref, serials, blank.tolist())]
    if (pd.api.types.is_string_dtype(dtype) or dtype == object) and not values.isna().any() \
            and pd.api.types.infer_dtype(values, skipna=False) == "string":
        texts = values.tolist()
        styles = {t: style(t) for t in dict.fromkeys(texts)} if not same_style else None
        limit = MAX_TEXT // 2
        return [f'<c r="{r}"{s if styles is None else styles[t]} t="s">'
                f'<v>{shared(t if len(t) <= limit else truncated(t))}</v></c>' for r, t in zip(ref, texts)]
    return _generic_cells(values.tolist(), ref, style, date_1904, shared)


def rows_xml(frame: pd.DataFrame, first_row: int, styles: list[Callable[[Any], str]], same_style: list[bool],
             date_1904: bool, shared: Callable[[str], int], chunk_rows: int = 5000) -> list[str]:
    """The ``<row>`` elements of ``frame``'s rows from 0-based sheet row ``first_row`` on, in
    chunks. The columns are made in order, each over all rows, so that texts enter the shared
    string table in the order the cell-by-cell path gives them."""
    letters = column_letters(len(frame.columns))
    numbers = [str(first_row + i + 1) for i in range(len(frame))]
    columns = [column_cells(frame.iloc[:, c], [letter + n for n in numbers], styles[c], same_style=same_style[c],
                            date_1904=date_1904, shared=shared)
               for c, letter in enumerate(letters)]
    rows = [f'<row r="{n}">{"".join(cells)}</row>' for n, cells in zip(numbers, zip(*columns))]
    return ["".join(rows[i:i + chunk_rows]) for i in range(0, len(rows), chunk_rows)]
