"""Re-running Analyze or Cluster updates the add-in's sheets in place (remote engine).

The first run's actions are applied to its payload with :mod:`workbook_model` (as Excel
applies them), and the second run starts from that workbook. A second run must add and
delete no sheet, delete no table, keep every table name, and leave each table holding
exactly the new results: checked cell by cell against the layout of an independent
analysis of the same data.
"""
from __future__ import annotations

import copy

import pytest
from excel_payloads import actions, by_func, iso, sheet
from test_macros import PURCHASES, SAAS, SETTINGS, transactions
from workbook_model import apply, table_values

from rfm_addin import analyze
from rfm_addin.excel import live_writer, macros, settings
from rfm_addin.excel.convert import frame_from_rows
from rfm_addin.writers.layout import analysis_sheets, checked

#: More purchases: a new customer F and more lines for A, so tables grow and move.
MORE = PURCHASES + [("F", "2024-03-29", 500.0), ("F", "2024-03-02", 5.0), ("A", "2024-02-01", 1.0),
                    ("G", "2024-01-02", 2.0), ("G", "2024-01-02", 2.0),      # a duplicate line
                    ("B", "2024-03-12", -4.0)]                               # a return


def run(make_book, sheets: list[dict], names: list[dict], macro) -> tuple[dict, list[dict]]:
    """Run a macro on a book built from ``sheets``; return the workbook after it and its actions."""
    # The remote engine edits the payload it is given (sheets.add): give it a copy.
    book = make_book(copy.deepcopy(sheets), names=copy.deepcopy(names))
    macro(book)
    done = actions(book)
    after = apply({"sheets": sheets, "names": list(names)}, done)
    return after, done


def expected_tables(rows: list[list], old: dict) -> dict[str, list[list]]:
    """Each result table as cells, from an independent analysis, in the sheet's column order."""
    frame = frame_from_rows(rows)
    options = settings.parse_rows(SETTINGS["values"])
    analysis = analyze(frame, **options.analyze_kwargs(), first_row=2)
    out = {}
    for spec in checked(analysis_sheets(analysis)):
        for t in spec.tables:
            headers = old.get(t.name, t.headers)
            cells = live_writer.table_rows(live_writer.in_old_order(t, headers))
            out[t.name] = [[(v[1:] if isinstance(v, str) and v.startswith("'") else ("" if v is None else v))
                            for v in row] for row in cells]
    return out


def comparable(cells: list[list]) -> list[list]:
    def norm(v):
        if hasattr(v, "isoformat"):
            return v.isoformat()[:10]
        if isinstance(v, str) and len(v) >= 10 and v[4:5] == "-" and v[7:8] == "-":
            return v[:10]
        if isinstance(v, float):
            return round(v, 9)
        return v
    return [[norm(v) for v in row] for row in cells]


def tables_of(payload: dict) -> dict[str, tuple[str, str]]:
    return {t["name"]: (s["name"], t["range_address"]) for s in payload["sheets"] for t in s["tables"]}


def test_second_analyze_updates_every_sheet_in_place(make_book):
    first, _ = run(make_book, [sheet("Data", transactions()), SETTINGS], [], macros.analyze_sheet)
    before = tables_of(first)
    data = next(s for s in first["sheets"] if s["name"] == "Data")
    data["values"] = transactions(MORE)
    second, done = run(make_book, first["sheets"], first["names"], macros.analyze_sheet)
    assert not by_func_of(done, "alert")
    for func in ("addSheet", "sheetDelete", "setSheetName", "setTableName", "deleteTable", "tableDelete"):
        assert not by_func_of(done, func), func
    assert not by_func_of(done, "addTable")                 # every table existed: resized, not re-added
    assert [s["name"] for s in second["sheets"]] == [s["name"] for s in first["sheets"]]
    after = tables_of(second)
    assert sorted(after) == sorted(before)
    assert {k: v[0] for k, v in after.items()} == {k: v[0] for k, v in before.items()}
    # The customer table grew by two rows (F and G), and the tables below grown ones moved.
    assert before["RFM_Customers"][1] == "$A$4:$O$9" and after["RFM_Customers"][1] == "$A$4:$O$11"
    # On the Quality sheet the first table grew (the duplicate, the return) and the second moved down.
    grown = len(table_values(second, "RFM Quality", "RFM_Quality")) - len(table_values(first, "RFM Quality",
                                                                                          "RFM_Quality"))
    assert grown > 0
    assert int(after["RFM_Parameters"][1].split("$")[2].rstrip(":")) == \
        int(before["RFM_Parameters"][1].split("$")[2].rstrip(":")) + grown
    old_headers = {name: table_values(first, sheet_name, name)[0] for name, (sheet_name, _) in before.items()}
    expected = expected_tables(transactions(MORE), old_headers)
    for name, (sheet_name, _) in after.items():
        assert comparable(table_values(second, sheet_name, name)) == comparable(expected[name]), name


def test_a_third_run_with_the_first_data_shrinks_back(make_book):
    first, _ = run(make_book, [sheet("Data", transactions(MORE)), SETTINGS], [], macros.analyze_sheet)
    data = next(s for s in first["sheets"] if s["name"] == "Data")
    data["values"] = transactions()
    second, done = run(make_book, first["sheets"], first["names"], macros.analyze_sheet)
    assert not by_func_of(done, "alert") and not by_func_of(done, "addTable") and not by_func_of(done, "addSheet")
    assert by_func_of(done, "rangeDelete")
    old_headers = {name: table_values(first, s, name)[0] for name, (s, _) in tables_of(first).items()}
    expected = expected_tables(transactions(), old_headers)
    for name, (sheet_name, _) in tables_of(second).items():
        assert comparable(table_values(second, sheet_name, name)) == comparable(expected[name]), name
    assert tables_of(second)["RFM_Customers"][1] == "$A$4:$O$9"


def test_cluster_rerun_matches_columns_by_name(make_book):
    with_plan = [r[:] + [v] for r, v in zip(SAAS, ["Plan", "pro", "pro", "team", None, "free", "free", "free"])]
    first, _ = run(make_book, [sheet("Accounts", with_plan), SETTINGS], [], macros.cluster_sheet)
    assert table_values(first, "RFM Clustered Data", "RFM_ClusteredData")[0] == [
        "Account", "Days since last login", "Weekly sessions", "MRR", "Plan", "Cluster", "Cluster name"]
    with_region = [r[:] + [v] for r, v in zip(SAAS, ["Region", "EU", "US", "EU", None, "US", "EU", "US"])]
    accounts = next(s for s in first["sheets"] if s["name"] == "Accounts")
    accounts["values"] = with_region
    second, done = run(make_book, first["sheets"], first["names"], macros.cluster_sheet)
    assert not by_func_of(done, "alert") and not by_func_of(done, "addTable") and not by_func_of(done, "addSheet")
    cells = table_values(second, "RFM Clustered Data", "RFM_ClusteredData")
    # "Plan" is gone (its table column deleted), "Region" appended; the other columns kept their places.
    assert cells[0] == ["Account", "Days since last login", "Weekly sessions", "MRR", "Cluster", "Cluster name",
                        "Region"]
    assert [row[6] for row in cells[1:]] == ["EU", "US", "EU", "US", "EU", "US"]
    assert [row[4] for row in cells[1:]] == [1, 1, 1, 2, 2, 2]
    deletes = [a for a in by_func_of(done, "rangeDelete") if a["args"] == ["left"]]
    assert len(deletes) == 1 and deletes[0]["start_column"] == 4


def test_settings_reset_updates_the_sheet_in_place(make_book):
    first, _ = run(make_book, [sheet("Data", transactions())], [], macros.reset_settings)
    second, done = run(make_book, first["sheets"], first["names"], macros.reset_settings)
    assert not by_func_of(done, "addSheet") and not by_func_of(done, "sheetDelete")
    assert tables_of(second) == tables_of(first)


def by_func_of(done: list[dict], func: str) -> list[dict]:
    return [a for a in done if a["func"] == func]


def test_failure_after_updating_names_the_sheets(monkeypatch):
    """Desktop Excel has no queue to drop: the message says which sheets are partly updated."""
    from rfm_addin.writers.layout import SheetSpec, table_spec
    import pandas as pd

    class Broken(Exception):
        pass

    calls = []

    def update(sheet, spec):
        calls.append(spec.name)
        if len(calls) == 2:
            raise Broken("disk full")
        return spec, set()

    monkeypatch.setattr(live_writer, "update_sheet", update)
    monkeypatch.setattr(live_writer, "_update_charts", lambda *args: None)
    monkeypatch.setattr(live_writer, "is_owned", lambda sheet: True)

    class Sheet:
        def __init__(self, name):
            self.name = name
            self.tables = []

        def activate(self):
            pass

    class Book:
        sheets = [Sheet("RFM A"), Sheet("RFM B")]

    specs = [SheetSpec(n, n, "", [table_spec(f"RFM_{n[-1]}", pd.DataFrame({"x": [1]}))]) for n in ("RFM A", "RFM B")]
    with pytest.raises(live_writer.PartlyUpdated) as caught:
        live_writer.write_sheets(Book(), specs)
    assert caught.value.sheets == ["RFM A", "RFM B"]
    assert "disk full" in str(caught.value) and "partly updated: RFM A, RFM B" in str(caught.value)
