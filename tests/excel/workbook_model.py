"""The workbook a run leaves behind, for tests that run a macro twice on the remote engine.

:func:`apply` plays the recorded actions onto the payload the run started from, as Excel
applies them, for the kinds of action the add-in's writer issues: new sheets, values,
sheet-scoped names, tables (added, resized, renamed), and cells inserted (shift down) or
deleted (shift up or left). Cells inserted or deleted across a table's rows move the
tables below and grow or shrink the table they fall inside, which is what Excel does with
``Range.Insert`` / ``Range.Delete`` on whole table rows. Formats, charts and other
cosmetics are not modelled (they do not change values or table extents).
"""
from __future__ import annotations

import copy
import re
from typing import Any

_ADDRESS = re.compile(r"\$?([A-Z]+)\$?(\d+)(?::\$?([A-Z]+)\$?(\d+))?")


def _col_number(letters: str) -> int:
    n = 0
    for ch in letters:
        n = n * 26 + ord(ch) - 64
    return n


def _letters(n: int) -> str:
    out = ""
    while n:
        n, r = divmod(n - 1, 26)
        out = chr(65 + r) + out
    return out


def parse(address: str) -> tuple[int, int, int, int]:
    """'$A$4:$E$9' -> (top row, left column, bottom row, right column), 1-based."""
    m = _ADDRESS.fullmatch(address)
    c1, r1, c2, r2 = m.group(1), int(m.group(2)), m.group(3) or m.group(1), int(m.group(4) or m.group(2))
    return r1, _col_number(c1), r2, _col_number(c2)


def address(top: int, left: int, bottom: int, right: int) -> str:
    return f"${_letters(left)}${top}:${_letters(right)}${bottom}"


class _Sheet:
    def __init__(self, data: dict):
        self.data = data
        self.cells: dict[tuple[int, int], Any] = {(r, c): v for r, row in enumerate(data["values"], start=1)
                                                  for c, v in enumerate(row, start=1) if v not in (None, "")}

    def tables(self) -> list[dict]:
        return self.data["tables"]

    def set_table(self, table: dict, top: int, left: int, bottom: int, right: int) -> None:
        table["range_address"] = address(top, left, bottom, right)
        table["header_row_range_address"] = address(top, left, top, right)
        table["data_body_range_address"] = address(top + 1, left, bottom, right) if bottom > top else None

    def shift_down(self, top: int, left: int, rows: int, right: int) -> None:
        moved = {}
        for (r, c), v in self.cells.items():
            moved[(r + rows, c) if r >= top and left <= c <= right else (r, c)] = v
        self.cells = moved
        for t in self.tables():
            t1, l1, b1, r1 = parse(t["range_address"])
            if l1 >= left and r1 <= right:
                if t1 >= top:
                    self.set_table(t, t1 + rows, l1, b1 + rows, r1)
                elif b1 >= top:
                    self.set_table(t, t1, l1, b1 + rows, r1)

    def delete_up(self, top: int, left: int, bottom: int, right: int) -> None:
        n = bottom - top + 1
        moved = {}
        for (r, c), v in self.cells.items():
            if left <= c <= right and top <= r <= bottom:
                continue
            moved[(r - n, c) if r > bottom and left <= c <= right else (r, c)] = v
        self.cells = moved
        for t in self.tables():
            t1, l1, b1, r1 = parse(t["range_address"])
            if l1 >= left and r1 <= right:
                if t1 > bottom:
                    self.set_table(t, t1 - n, l1, b1 - n, r1)
                elif b1 >= top:
                    if top <= t1:
                        raise AssertionError(f"deleting rows {top}..{bottom} would remove the header of {t['name']}")
                    self.set_table(t, t1, l1, b1 - (min(bottom, b1) - top + 1), r1)

    def delete_left(self, top: int, left: int, bottom: int, right: int) -> None:
        n = right - left + 1
        moved = {}
        for (r, c), v in self.cells.items():
            if top <= r <= bottom and left <= c <= right:
                continue
            moved[(r, c - n) if top <= r <= bottom and c > right else (r, c)] = v
        self.cells = moved
        for t in self.tables():
            t1, l1, b1, r1 = parse(t["range_address"])
            if t1 >= top and b1 <= bottom and l1 <= left <= r1:
                self.set_table(t, t1, l1, b1, r1 - n)

    def write(self, top: int, left: int, values: list[list]) -> None:
        for i, row in enumerate(values):
            for j, v in enumerate(row):
                key = (top + i, left + j)
                if v in (None, ""):
                    self.cells.pop(key, None)
                else:
                    # A leading apostrophe marks text; Excel keeps the text without it.
                    self.cells[key] = v[1:] if isinstance(v, str) and v.startswith("'") else v

    def finish(self) -> dict:
        rows = max([r for r, _ in self.cells] or [0])
        cols = max([c for _, c in self.cells] or [0])
        self.data["values"] = [[self.cells.get((r, c), "") for c in range(1, cols + 1)] for r in range(1, rows + 1)]
        return self.data


def apply(payload: dict, actions: list[dict]) -> dict:
    """The payload of the workbook after ``actions`` (see the module doc)."""
    out = copy.deepcopy(payload)
    sheets = [_Sheet(s) for s in out["sheets"]]
    for a in actions:
        func, pos = a["func"], a["sheet_position"]
        if func == "addSheet":
            index, name = a["args"]
            data = {"name": name, "values": [], "pictures": [], "tables": [], "pivot_tables": []}
            sheets.insert(index, _Sheet(data))
            continue
        if func == "sheetDelete":
            sheets.pop(pos)
            continue
        if func == "namesAdd" and pos is not None:
            name = sheets[pos].data["name"]
            out["names"].append({"name": a["args"][0], "refers_to": a["args"][1], "sheet_index": pos,
                                 "address": "A1", "book_scope": False, "scope_sheet_index": pos,
                                 "scope_sheet_name": name})
            continue
        if pos is None:
            continue
        sheet = sheets[pos]
        if a["start_row"] is not None:
            top, left = a["start_row"] + 1, a["start_column"] + 1
            bottom, right = top + a["row_count"] - 1, left + a["column_count"] - 1
        if func == "setValues":
            sheet.write(top, left, a["values"])
        elif func == "rangeClearContents":
            sheet.write(top, left, [[None] * (right - left + 1) for _ in range(bottom - top + 1)])
        elif func == "rangeInsert":
            assert a["args"][0] == "down", a
            sheet.shift_down(top, left, bottom - top + 1, right)
        elif func == "rangeDelete":
            (sheet.delete_up if a["args"][0] == "up" else sheet.delete_left)(top, left, bottom, right)
        elif func == "addTable":
            t, l, b, r = parse(a["args"][0])
            table = {"name": a["args"][3], "show_headers": True, "show_totals": False, "total_row_range_address": None,
                     "table_style": a["args"][2], "show_autofilter": True, "show_table_style_first_column": False,
                     "show_table_style_last_column": False, "show_table_style_row_stripes": True,
                     "show_table_style_column_stripes": False}
            sheet.set_table(table, t, l, b, r)
            sheet.tables().append(table)
        elif func == "resizeTable":
            sheet.set_table(sheet.tables()[int(a["args"][0])], *parse(a["args"][1]))
        elif func == "setTableName":
            sheet.tables()[int(a["args"][0])]["name"] = a["args"][1]
    out["sheets"] = [s.finish() for s in sheets]
    return out


def table_values(payload: dict, sheet_name: str, table_name: str) -> list[list]:
    """The cells of a table (header row first) in a payload."""
    sheet = next(s for s in payload["sheets"] if s["name"] == sheet_name)
    table = next(t for t in sheet["tables"] if t["name"] == table_name)
    top, left, bottom, right = parse(table["range_address"])
    grid = sheet["values"]
    return [[grid[r - 1][c - 1] if r - 1 < len(grid) and c - 1 < len(grid[r - 1]) else ""
             for c in range(left, right + 1)] for r in range(top, bottom + 1)]
