"""One CSV per segment (``--export-segments DIR``), for a CRM or an e-mail tool.

Each file holds the segment's customers: id, kept columns, R/F/M, scores, segment and
cluster, as in ``Analysis.customers``. Rules:

- **Safe to open in a spreadsheet** (OWASP's CSV injection advice): a text field that
  starts with ``=``, ``+``, ``-``, ``@``, a tab or a carriage return gets a leading
  apostrophe, so Excel, LibreOffice or Google Sheets show it as text instead of running
  it; fields with line breaks, commas or quotes are quoted (:mod:`csv`'s minimal quoting).
  Numbers are written as numbers (a negative amount stays ``-5.0``).
- **One file per segment**, named after the segment with the characters that file
  systems refuse replaced by ``_``; two segments whose names come out the same (``VIP/A``,
  ``VIP:A``), in any case (Windows and macOS compare names without case), get ``(2)``,
  ``(3)``... in segment order.
- **No stale files**: the folder gets a manifest, :data:`MANIFEST`, listing the files a run
  wrote. The next run removes the files of the previous manifest that it does not write
  again (a segment that became empty), and never any other file of the folder.
- **All or nothing with the workbook**: the files are staged with the workbook
  (:class:`~rfm_addin.writers.safe.StagedFiles`) and renamed into place only when every
  file is complete.
"""
from __future__ import annotations

import csv
import json
import os
import re
from pathlib import Path

import pandas as pd

from .safe import StagedFiles, prepare_folder

#: The manifest of the files a run wrote, in the export folder.
MANIFEST = ".rfm-export.json"
#: Leading characters that make a spreadsheet read a cell as a formula (OWASP).
FORMULA_START = ("=", "+", "-", "@", "\t", "\r")


def file_stem(name: str) -> str:
    """A segment name as a file name: characters outside letters, digits, space, - and _ become _."""
    return re.sub(r"[^\w\- ]+", "_", name).strip() or "segment"


def unique_stems(names: list[str]) -> dict[str, str]:
    """Segment -> file stem, unique case-insensitively ("VIP_A", "VIP_A (2)")."""
    taken: set[str] = set()
    out = {}
    for name in names:
        stem, n = file_stem(name), 2
        candidate = stem
        while candidate.casefold() in taken:
            candidate, n = f"{stem} ({n})", n + 1
        taken.add(candidate.casefold())
        out[name] = candidate
    return out


_PLAIN_NUMBER = re.compile(r"[+-]?(\d+(\.\d*)?|\.\d+)([eE][+-]?\d+)?")


def inert(value: object) -> object:
    """A text cell that a spreadsheet would run as a formula, made plain text with an apostrophe.

    Text that is a plain signed number ("-7") is left as it is: a spreadsheet reads it as the
    number it is, never as a formula ("-2+3" is one, and is escaped).
    """
    if isinstance(value, str) and value.startswith(FORMULA_START) and not _PLAIN_NUMBER.fullmatch(value):
        return "'" + value
    return value


def safe_frame(rows: pd.DataFrame) -> pd.DataFrame:
    """``rows`` with every text cell (and header) made inert; numbers and dates untouched."""
    out = rows.copy()
    for column in out.columns:
        if out[column].dtype == object or pd.api.types.is_string_dtype(out[column].dtype):
            out[column] = out[column].map(inert, na_action="ignore")
    out.columns = [inert(str(c)) for c in out.columns]
    return out


def _previous(folder: Path) -> list[str]:
    try:
        listed = json.loads((folder / MANIFEST).read_text(encoding="utf-8")).get("files", [])
    except (OSError, ValueError, AttributeError):
        return []
    # Only plain file names inside the folder: a manifest can never point elsewhere.
    return [n for n in listed if isinstance(n, str) and n == Path(n).name and n not in ("", ".", "..")]


def stage_segments(customers: pd.DataFrame, folder: str | os.PathLike, files: StagedFiles, *,
                   by: str = "segment") -> list[Path]:
    """Stage one CSV per segment (or per value of ``by``, e.g. "arm") and the manifest; returns the
    stale files to remove after the commit.

    Parameters
    ----------
    customers : DataFrame
        ``Analysis.customers`` (the customer id as the index).
    folder : path
        The export folder (created if missing).
    files : StagedFiles
        Where the files are staged, beside the workbook.
    by : str
        The column whose values name the files.
    """
    target = prepare_folder(folder)
    table = customers.reset_index()
    groups = {str(name): rows for name, rows in table.groupby(by, sort=True)}
    stems = unique_stems(list(groups))
    written = []
    for name, rows in groups.items():
        file_name = f"{stems[name]}.csv"
        frame = safe_frame(rows)
        files.add(target / file_name, lambda temp, frame=frame: frame.to_csv(
            temp, index=False, date_format="%Y-%m-%d", quoting=csv.QUOTE_MINIMAL))
        written.append(file_name)
    manifest = json.dumps({"files": written, "written_by": "rfm_addin --export-segments"}, indent=1)
    files.add(target / MANIFEST, lambda temp: Path(temp).write_text(manifest, encoding="utf-8"))
    keep = {n.casefold() for n in written}
    return [target / n for n in _previous(target) if n.casefold() not in keep and (target / n).is_file()]


def remove_stale(paths: list[Path]) -> None:
    """Remove the files an earlier export wrote and this one did not write again."""
    for path in paths:
        try:
            path.unlink()
        except FileNotFoundError:
            pass
