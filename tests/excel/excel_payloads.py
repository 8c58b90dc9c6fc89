"""Builders of xlwings remote-engine payload parts, and readers of the recorded actions."""
from __future__ import annotations

from typing import Any


def sheet(name: str, values: list[list], tables: list[dict] | None = None) -> dict[str, Any]:
    """One sheet of a remote-engine payload."""
    return {"name": name, "values": values, "pictures": [], "tables": tables or [], "pivot_tables": []}


def table(name: str, address: str, header: str, body: str) -> dict[str, Any]:
    """An Excel Table of a payload sheet (addresses like "$B$3:$D$9")."""
    return {"name": name, "range_address": address, "header_row_range_address": header,
            "data_body_range_address": body, "total_row_range_address": None, "show_headers": True,
            "show_totals": False, "table_style": "TableStyleMedium2", "show_autofilter": True,
            "show_table_style_first_column": False, "show_table_style_last_column": False,
            "show_table_style_row_stripes": True, "show_table_style_column_stripes": False}


def owner_name(sheet_name: str, index: int) -> dict[str, Any]:
    """The add-in's ownership mark of the sheet at 0-based ``index``, as a payload name."""
    return {"name": "RFM_ADDIN_OWNED", "refers_to": f"='{sheet_name}'!$A$1", "sheet_index": index,
            "address": "A1", "book_scope": False, "scope_sheet_index": index, "scope_sheet_name": sheet_name}


def actions(book) -> list[dict]:
    """The actions the remote engine recorded."""
    return book.json()["actions"]


def by_func(book, func: str) -> list[dict]:
    """Recorded actions of one kind."""
    return [a for a in actions(book) if a["func"] == func]


def iso(date: str) -> str:
    """A date as the Office.js client sends it."""
    return f"{date}T00:00:00.000Z"
