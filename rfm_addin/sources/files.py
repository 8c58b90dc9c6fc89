"""Read transactions files (CSV, XLSX/XLSM, Parquet) without losing what the user wrote.

CSV cells are read as text (ids keep leading zeros, ``#N/A`` stays visible instead of
becoming a silent blank) and parsed later with row-numbered errors. Blank lines are kept
so that row numbers in messages are the line numbers of the file. Excel files are read
with openpyxl, which knows the workbook's date system (1900 or 1904).
"""
from __future__ import annotations

import csv
import io
import os
import re
import zipfile
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from ..core.errors import RfmError
from ..core.parsing import SourceRows


@dataclass
class Transactions:
    """A transactions table read from a file.

    Attributes
    ----------
    frame : DataFrame
        The rows, every column as the file holds it.
    first_row : int or SourceRows
        Row (line) number of the first data row, for messages; the line of every data row
        when a quoted CSV field spans lines (:class:`rfm_addin.core.parsing.SourceRows`).
    date_system : int
        1900, or 1904 for workbooks using the Mac 1904 date system.
    source : str
        The path read.
    """

    frame: pd.DataFrame
    first_row: int | SourceRows = 2
    date_system: int = 1900
    source: str = ""


def _sniff_separator(header: str) -> str:
    counts = {sep: header.count(sep) for sep in (",", ";", "\t", "|")}
    return max(counts, key=counts.get) if max(counts.values()) else ","


#: Byte-order marks and the encodings they announce, longest first.
_BOMS = ((b"\xef\xbb\xbf", "utf-8-sig"), (b"\xff\xfe", "utf-16"), (b"\xfe\xff", "utf-16"))


def detect_encoding(raw: bytes, name: str) -> str:
    """The text encoding of a whole CSV file: its byte-order mark, else UTF-8 if every byte
    decodes, else Windows-1252 (what Excel on Windows saves as "CSV")."""
    for bom, encoding in _BOMS:
        if raw.startswith(bom):
            return encoding
    if raw.startswith(b"%PDF"):
        raise RfmError(f"{name} is a PDF document, not a CSV file: export the data as CSV or Excel.")
    if raw.startswith((b"PK\x03\x04", b"\xd0\xcf\x11\xe0")):
        raise RfmError(f"{name} is a workbook or an archive, not a CSV file: save it as CSV, or give it its "
                       ".xlsx name.")
    if b"\x00" in raw[:65536]:
        raise RfmError(f"{name} is not a text file (it holds binary data): export the data as CSV or Excel.")
    try:
        raw.decode("utf-8")
        return "utf-8"
    except UnicodeDecodeError:
        pass
    try:
        raw.decode("cp1252")
        return "cp1252"
    except UnicodeDecodeError as exc:
        raise RfmError(f"{name} is neither UTF-8 nor Windows-1252 text (byte {exc.start:,} cannot be read); "
                       "save it as UTF-8 CSV.") from exc


def duplicate_headers(names: list[str], name: str) -> None:
    """Two columns with the same header cannot be told apart (pandas would silently rename the
    second "Amount.1"): an error naming both."""
    seen: dict[str, int] = {}
    for position, header in enumerate(names, start=1):
        key = str(header).strip()
        if key and key in seen:
            raise RfmError(f"{name} has two columns named {str(header).strip()!r} (columns {seen[key]} and "
                           f"{position}); rename one of them so it is clear which to use.")
        seen.setdefault(key, position)


def read_csv(path: Path) -> Transactions:
    """Read a CSV export as text; separator (, ; tab |) and encoding (BOM, UTF-8, cp1252) detected over the whole file."""
    raw = path.read_bytes()
    encoding = detect_encoding(raw, path.name)
    # UTF-8 and Windows-1252 files go to pandas as bytes: a decoded copy in a StringIO
    # cost 190 MB more at the peak for a 39 MB export (pandas decodes the same way).
    as_bytes = encoding in _BYTE_NEWLINE_ENCODINGS
    text = None if as_bytes else raw.decode(encoding)
    header = raw.split(b"\n", 1)[0].decode(encoding) if as_bytes else text.split("\n", 1)[0]
    if not header.strip():
        raise RfmError(f"{path.name} is empty: expected a header row and transactions.")
    separator = _sniff_separator(header)
    duplicate_headers(next(csv.reader([header.strip("\r\ufeff")], delimiter=separator)), path.name)
    try:
        source = io.BytesIO(raw) if as_bytes else io.StringIO(text)
        frame = pd.read_csv(source, sep=separator, dtype=str, keep_default_na=False, na_values=[""],
                            skip_blank_lines=False, quoting=csv.QUOTE_MINIMAL,
                            **({"encoding": encoding} if as_bytes else {}))
    except pd.errors.ParserError as exc:
        raise RfmError(f"{path.name} is not a readable CSV file: {exc}") from exc
    if as_bytes:
        first_row = _record_lines_of_bytes(raw, encoding, separator, len(frame))
    else:
        first_row = _record_lines(text, separator, len(frame))
    return Transactions(frame=frame, first_row=first_row, source=str(path))


#: Encodings in which a line break is the byte 0x0A and nothing else contains it.
_BYTE_NEWLINE_ENCODINGS = ("utf-8", "utf-8-sig", "cp1252")


def _record_lines_of_bytes(raw: bytes, encoding: str, separator: str, n_records: int) -> "int | SourceRows":
    """:func:`_record_lines` of the decoded text, decoding it only when quoted fields may span lines."""
    lines = raw.count(b"\n") + (0 if raw.endswith(b"\n") else 1)
    if lines <= n_records + 1 or b'"' not in raw:
        return 2
    return _record_lines(raw.decode(encoding), separator, n_records)


def _record_lines(text: str, separator: str, n_records: int) -> "int | SourceRows":
    """Line 2 for the first record when every record is one line; else the line of each
    record (a quoted field with line breaks spans several lines)."""
    lines = text.count("\n") + (0 if text.endswith("\n") else 1)
    if lines <= n_records + 1 or '"' not in text:
        return 2
    reader = csv.reader(io.StringIO(text), delimiter=separator)
    next(reader, None)
    starts, line = [], reader.line_num
    for _ in reader:
        starts.append(line + 1)
        line = reader.line_num
    return SourceRows(np.asarray(starts[:n_records], dtype=np.int64)) if len(starts) >= n_records else 2


def asks_full_calculation(workbook_xml: str) -> bool:
    """True when a workbook asks for every formula to be calculated on load (``calcPr
    fullCalcOnLoad``), as XlsxWriter and openpyxl write it: its saved formula values are
    placeholders. Excel drops the flag when it calculates and saves."""
    match = re.search(r"<(?:\w+:)?calcPr\b[^>]*>", workbook_xml)
    return bool(match and re.search(r'\bfullCalcOnLoad\s*=\s*"(1|true)"', match.group(0)))


def _uncalculated(path: Path, sheet_name: str) -> bool:
    """Whether the sheet has formulas whose values were never calculated (see :func:`asks_full_calculation`)."""
    from openpyxl import load_workbook

    try:
        with zipfile.ZipFile(path) as archive:
            workbook_xml = archive.read("xl/workbook.xml").decode("utf-8", "replace")
    except (KeyError, OSError, zipfile.BadZipFile):
        return False
    if not asks_full_calculation(workbook_xml):
        return False
    book = load_workbook(path, read_only=True, data_only=False)
    try:
        return any(isinstance(v, str) and v.startswith("=") for row in book[sheet_name].iter_rows(values_only=True)
                   for v in row)
    finally:
        book.close()


def read_excel(path: Path, sheet: str | None = None) -> Transactions:
    """Read the first (or named) sheet of a workbook; the header is its first non-empty row."""
    from openpyxl import load_workbook
    from openpyxl.utils.datetime import CALENDAR_MAC_1904

    try:
        book = load_workbook(path, read_only=True, data_only=True)
    except Exception as exc:  # openpyxl raises many types for damaged files
        raise RfmError(f"{path.name} is not a readable Excel workbook: {exc}") from exc
    try:
        if sheet is not None and sheet not in book.sheetnames:
            raise RfmError(f"{path.name} has no sheet {sheet!r}; sheets: {', '.join(book.sheetnames)}.")
        ws = book[sheet] if sheet else book.worksheets[0]
        rows = ws.iter_rows(values_only=True)
        header, header_row = None, 0
        for header_row, values in enumerate(rows, start=1):
            # The header is the first row with two or more filled cells: a title or a note
            # above the table fills one cell.
            if sum(v is not None and str(v).strip() != "" for v in values) >= 2:
                header = values
                break
        if header is None:
            raise RfmError(f"Sheet {ws.title!r} of {path.name} has no header row (a row with the column names) "
                           "and transactions.")
        width = max(i for i, v in enumerate(header) if v is not None and str(v).strip()) + 1
        names = [str(v).strip() if v is not None else f"Column{i + 1}" for i, v in enumerate(header[:width])]
        duplicate_headers(names, f"Sheet {ws.title!r} of {path.name}")
        data = [list(r[:width]) + [None] * (width - len(r)) for r in rows]
        while data and all(v is None for v in data[-1]):
            data.pop()
        date_system = 1904 if book.epoch == CALENDAR_MAC_1904 else 1900
    finally:
        book.close()
    if _uncalculated(path, ws.title):
        raise RfmError(f"Sheet {ws.title!r} of {path.name} has formulas that were never calculated (the file was "
                       "written by a program), so their values are unknown. Open it in Excel, let it calculate and "
                       "save it, then run again.")
    frame = pd.DataFrame(data, columns=names, dtype=object)
    return Transactions(frame=frame, first_row=header_row + 1, date_system=date_system, source=str(path))


def read_csv_files(files: list[str]) -> Transactions:
    """Several CSV files (a folder or a glob) as one table, columns matched by name.

    Every file is read as :func:`read_csv` reads one; rows are numbered "line of file".

    Raises
    ------
    RfmError
        The files do not have the same columns (the message names the first that differs).
    """
    parts = [read_csv(Path(f)) for f in files]
    first = list(parts[0].frame.columns)
    lines, names = [], []
    for path, part in zip(files, parts):
        columns = list(part.frame.columns)
        if set(columns) != set(first):
            missing = sorted(set(first) - set(columns))
            extra = sorted(set(columns) - set(first))
            raise RfmError(f"{Path(path).name} does not have the columns of {Path(files[0]).name}"
                           f"{': it lacks ' + ', '.join(map(repr, missing)) if missing else ''}"
                           f"{(' and' if missing else ':') + ' it adds ' + ', '.join(map(repr, extra)) if extra else ''}"
                           ". Give the files of one folder the same columns.")
        n = len(part.frame)
        rows = part.first_row
        lines.append(rows.lines if isinstance(rows, SourceRows) else np.arange(rows, rows + n))
        names.append(np.full(n, Path(path).name, dtype=object))
    frame = pd.concat([p.frame[first] for p in parts], ignore_index=True)
    return Transactions(frame=frame, first_row=SourceRows(np.concatenate(lines), np.concatenate(names)),
                        source=str(files[0]))


def read_transactions(path: str | os.PathLike, *, sheet: str | None = None) -> Transactions:
    """Read a CSV, XLSX/XLSM or Parquet file of transactions.

    Raises
    ------
    RfmError
        Missing, empty or unreadable file, or an unsupported extension.
    """
    path = Path(path).expanduser()
    if not path.is_file() and (path.is_dir() or any(ch in str(path) for ch in "*?[")):
        from .connections import expand_path

        found = expand_path(path)
        if found is not None and found[1] == "csv":
            return read_csv_files(found[0])
    if not path.exists():
        raise RfmError(f"File not found: {str(path)!r}.")
    if path.is_dir():
        raise RfmError(f"{str(path)!r} is a folder; give a CSV, XLSX or Parquet file.")
    if path.stat().st_size == 0:
        raise RfmError(f"{path.name} is empty: expected a header row and transactions.")
    suffix = path.suffix.lower()
    if suffix in (".csv", ".txt", ".tsv"):
        return read_csv(path)
    if suffix in (".xlsx", ".xlsm"):
        return read_excel(path, sheet)
    if suffix in (".parquet", ".pq"):
        try:
            frame = pd.read_parquet(path)
        except ImportError as exc:
            raise RfmError("Reading Parquet needs pyarrow, a dependency of rfm-addin: pip install pyarrow.") from exc
        except (OSError, ValueError) as exc:  # pyarrow's ArrowInvalid is a ValueError
            raise RfmError(f"{path.name} is not a readable Parquet file: {exc}") from exc
        return Transactions(frame=frame, first_row=2, source=str(path))
    raise RfmError(f"Cannot read {path.name}: use a .csv, .xlsx, .xlsm or .parquet file.")
