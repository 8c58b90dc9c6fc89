"""Ribbon macros through xlwings' remote engine: build a payload, run the macro, assert
the recorded actions (sheets, values, formats, tables, names, alerts).

The transactions are worked by hand (as_of = day after the last purchase = 2024-03-31):

    customer  purchases (date: amount)                               R   F  M    scores
    A         03-01: 40, 03-15: 30, 03-30: 30                         1   3  100  5 3 5
    B         03-11: 10                                               20  1  10   1 1 1
    C         02-10: 20, 03-26: 30                                    5   2  50   3 2 4
    D         01-05, 02-05, 03-05, 03-28: 10 each                     3   4  40   4 4 3
    =E        03-01, 03-05, 03-10, 03-15, 03-21: 6 each               10  5  30   2 5 2

Five distinct values per metric and five bins: every value is its own band. Segments
(FM = round half up of (F + M) / 2): A R5 FM4 Champions, B R1 FM1 Lost, C R3 FM3 Need
Attention, D R4 FM4 Loyal Customers, =E R2 FM4 At Risk. "=E" must be written as text.
"""
from __future__ import annotations

import pytest
from excel_payloads import actions, by_func, iso, owner_name, sheet, table

from rfm_addin.excel import macros

PURCHASES = [
    ("A", "2024-03-01", 40.0), ("A", "2024-03-15", 30.0), ("A", "2024-03-30", 30.0),
    ("B", "2024-03-11", 10.0),
    ("C", "2024-02-10", 20.0), ("C", "2024-03-26", 30.0),
    ("D", "2024-01-05", 10.0), ("D", "2024-02-05", 10.0), ("D", "2024-03-05", 10.0), ("D", "2024-03-28", 10.0),
    ("=E", "2024-03-01", 6.0), ("=E", "2024-03-05", 6.0), ("=E", "2024-03-10", 6.0), ("=E", "2024-03-15", 6.0),
    ("=E", "2024-03-21", 6.0),
]


def transactions(rows=PURCHASES) -> list[list]:
    values = [["Customer ID", "Invoice Date", "Amount"]]
    values += [[c, iso(d), a] for c, d, a in rows]
    values.insert(6, ["", "", ""])  # a blank row in the middle is skipped
    return values


def settings_values(**values) -> list[list]:
    rows = [["RFM settings", ""], ["", ""], ["", ""], ["Setting", "Value"]]
    return rows + [[k, v] for k, v in values.items()]


#: k = 2 given, k tried up to 3 (5 customers).
SETTINGS = sheet("RFM Settings", settings_values(**{"Clusters (k)": 2.0, "Largest k tried": 3.0}))

CUSTOMERS_HEADER = ["Customer ID", "Recency (days)", "Frequency", "Monetary", "First purchase", "Last purchase",
                    "Avg order value", "R score", "F score", "M score", "RFM code", "RFM score", "Segment",
                    "Cluster", "Cluster name"]
EXPECTED_CUSTOMERS = [  # sorted by id as text ("=" before letters); codes stay text ("'252")
    ["'=E", 10.0, 5.0, 30.0, "2024-03-01", "2024-03-21", 6.0, 2.0, 5.0, 2.0, "'252", 3.0, "At Risk"],
    ["A", 1.0, 3.0, 100.0, "2024-03-01", "2024-03-30", 100 / 3, 5.0, 3.0, 5.0, "'535", 13 / 3, "Champions"],
    ["B", 20.0, 1.0, 10.0, "2024-03-11", "2024-03-11", 10.0, 1.0, 1.0, 1.0, "'111", 1.0, "Lost"],
    ["C", 5.0, 2.0, 50.0, "2024-02-10", "2024-03-26", 25.0, 3.0, 2.0, 4.0, "'324", 3.0, "Need Attention"],
    ["D", 3.0, 4.0, 40.0, "2024-01-05", "2024-03-28", 10.0, 4.0, 4.0, 3.0, "'443", 11 / 3, "Loyal Customers"],
]
LAYOUT_SHEETS = ["RFM Summary", "RFM Insights", "RFM Customers", "RFM Segments", "RFM R x F Grid", "RFM Clusters",
                 "RFM K Selection", "RFM Pareto", "RFM Thresholds", "RFM Quality"]


def values_written(book, sheet_position: int, start_row: int, start_column: int = 0) -> list[list]:
    found = [a for a in by_func(book, "setValues") if a["sheet_position"] == sheet_position
             and a["start_row"] == start_row and a["start_column"] == start_column]
    assert len(found) == 1, found
    return found[0]["values"]


def test_analyze_writes_the_layout_sheets(make_book):
    book = make_book([sheet("Data", transactions()), SETTINGS])
    macros.analyze_sheet(book)
    assert [a["args"][1] for a in by_func(book, "addSheet")] == LAYOUT_SHEETS
    assert [a["args"][0] for a in by_func(book, "addSheet")] == list(range(2, 12))  # after the last sheet
    assert not by_func(book, "alert")
    # The source and settings sheets (positions 0 and 1) are never written.
    assert not [a for a in actions(book) if a["sheet_position"] in (0, 1) and a["func"] != "addSheet"]
    # Every result sheet is marked as the add-in's own.
    marks = by_func(book, "namesAdd")
    assert [(a["sheet_position"], a["args"]) for a in marks] == [
        (i, ["RFM_ADDIN_OWNED", f"='{name}'!$A$1"]) for i, name in enumerate(LAYOUT_SHEETS, start=2)]


def test_analyze_customer_table_values_formats_and_table(make_book):
    book = make_book([sheet("Data", transactions()), SETTINGS])
    macros.analyze_sheet(book)
    customers = 4  # sheet position of "RFM Customers"
    written = values_written(book, customers, 3)  # header at row 4 (0-based 3)
    assert written[0] == CUSTOMERS_HEADER
    body = [row[:13] for row in written[1:]]
    for got, expected in zip(body, EXPECTED_CUSTOMERS):
        assert got[:6] == expected[:6] and got[7:11] == expected[7:11] and got[12] == expected[12]
        assert got[6] == pytest.approx(expected[6]) and got[11] == pytest.approx(expected[11])
    assert len(body) == 5
    clusters = {row[13] for row in written[1:]}
    assert clusters == {1.0, 2.0}
    table_actions = [a for a in by_func(book, "addTable") if a["sheet_position"] == customers]
    assert [a["args"] for a in table_actions] == [["$A$4:$O$9", True, "TableStyleMedium2", "RFM_Customers"]]
    formats = {a["start_column"]: a["args"][0] for a in by_func(book, "setNumberFormat")
               if a["sheet_position"] == customers}
    assert formats[0] == "@" and formats[1] == "#,##0" and formats[3] == "#,##0.00"
    assert formats[4] == "yyyy-mm-dd" and formats[7] == "0" and formats[10] == "@"
    assert all(a["start_row"] == 4 and a["row_count"] == 5 for a in by_func(book, "setNumberFormat")
               if a["sheet_position"] == customers)


def test_analyze_tables_are_named_and_sized_from_the_data(make_book):
    book = make_book([sheet("Data", transactions()), SETTINGS])
    macros.analyze_sheet(book)
    tables = {a["args"][3]: (a["sheet_position"], a["args"][0]) for a in by_func(book, "addTable")}
    assert tables["RFM_Customers"] == (4, "$A$4:$O$9")
    assert tables["RFM_KSelection"] == (8, "$A$4:$G$6")  # k = 2, 3 (the chosen-k column, its stability)
    assert tables["RFM_Thresholds"] == (10, "$A$4:$F$19")  # 3 metrics x 5 scores
    assert tables["RFM_Clusters"][1].startswith("$A$4:") and tables["RFM_Clusters"][1].endswith("$6")
    segments = values_written(book, 5, 3)  # "RFM Segments"
    assert [row[0] for row in segments[1:]] == ["Champions", "Need Attention", "Loyal Customers", "At Risk",
                                                "Lost"]  # most revenue first: 100, 50, 40, 30, 10
    assert [row[1] for row in segments[1:]] == [1.0] * 5
    assert set(tables) == {"RFM_Headline", "RFM_Findings", "RFM_Insights", "RFM_Overview", "RFM_GridCustomers", "RFM_GridMonetary",
                           "RFM_ClusterSnake", "RFM_ClusterSegments", "RFM_Pareto",
                           "RFM_Customers", "RFM_Segments", "RFM_Clusters", "RFM_KSelection",
                           "RFM_Thresholds", "RFM_Quality", "RFM_Parameters"}
    quality = values_written(book, 11, 3)
    assert quality[0][0] == "Check"
    assert ["Blank rows skipped", 1.0] == quality[[r[0] for r in quality].index("Blank rows skipped")][:2]


def test_analyze_reads_the_excel_table_and_reports_sheet_rows(make_book):
    rows = [["Sales export", None, None, None], [None, None, None, None]]
    rows += [[None] + r for r in transactions()]
    rows[2 + 3][3] = "#N/A"  # the third transaction, sheet row 6
    data = sheet("Data", rows, [table("Sales", "$B$3:$D$19", "$B$3:$D$3", "$B$4:$D$19")])
    book = make_book([data, SETTINGS])
    macros.analyze_sheet(book)
    assert [a["func"] for a in actions(book)] == ["alert"]  # nothing else: the workbook is unchanged
    message = by_func(book, "alert")[0]["args"][0]
    assert "row 6" in message and "#N/A" in message and "Amount" in message
    assert "Traceback" not in message and "not changed" in message


def test_rerun_updates_owned_sheets_in_place(make_book):
    old = sheet("RFM Customers", [["old"], [""], [""], ["Customer ID", "Recency (days)"], ["x", 1.0]],
                [table("RFM_Customers", "$A$4:$B$5", "$A$4:$B$4", "$A$5:$B$5")])
    book = make_book([sheet("Data", transactions()), SETTINGS, old, sheet("My notes", [["mine"]])],
                     names=[owner_name("RFM Customers", 2)])
    macros.analyze_sheet(book)
    assert not by_func(book, "alert")
    added = [a["args"][1] for a in by_func(book, "addSheet")]
    assert "RFM Customers" not in added and added[:2] == ["RFM Summary", "RFM Insights"]
    assert not by_func(book, "sheetDelete") and not by_func(book, "setSheetName")
    assert "RFM_Customers" not in [a["args"][3] for a in by_func(book, "addTable")]
    # The old table (2 columns, 1 row) is resized to the 15 columns and 5 customers, in place.
    resized = [a for a in by_func(book, "resizeTable") if a["sheet_position"] == 2]
    assert [a["args"] for a in resized] == [[0, "$A$4:$O$9"]]
    assert [a["args"] for a in by_func(book, "rangeInsert") if a["sheet_position"] == 2] == [
        ["down", "format_from_left_or_above"]]
    written = values_written(book, 2, 3)
    assert written[0] == CUSTOMERS_HEADER and [row[:13] for row in written[1:]] == EXPECTED_CUSTOMERS
    # The user's sheet (position 3) is never touched.
    assert not [a for a in actions(book) if a["sheet_position"] == 3]


def test_user_sheet_with_a_result_name_is_never_overwritten(make_book):
    book = make_book([sheet("Data", transactions()), SETTINGS, sheet("RFM Segments", [["my own work"]])])
    macros.analyze_sheet(book)
    assert [a["func"] for a in actions(book)] == ["alert"]
    assert "'RFM Segments'" in by_func(book, "alert")[0]["args"][0]


def test_results_sheet_as_source_is_refused(make_book):
    book = make_book([sheet("Data", transactions()), sheet("RFM Customers", [["x", "y"], [1.0, 2.0]])],
                     active=1, names=[owner_name("RFM Customers", 1)])
    macros.analyze_sheet(book)
    assert [a["func"] for a in actions(book)] == ["alert"]
    assert "holds results" in by_func(book, "alert")[0]["args"][0]


def test_missing_column_message(make_book):
    rows = [["Who", "When", "Amount"], ["a", iso("2024-01-01"), 1.0]]
    book = make_book([sheet("Data", rows)])
    macros.analyze_sheet(book)
    message = by_func(book, "alert")[0]["args"][0]
    assert "customer" in message and "'Who'" in message


def test_settings_override_columns(make_book):
    rows = [["Who", "When", "Paid"]] + [[c, iso(d), a] for c, d, a in PURCHASES]
    settings = sheet("RFM Settings", settings_values(**{
        "Clusters (k)": 2.0, "Largest k tried": 3.0, "Customer column": "Who", "Date column": "When",
        "Amount column": "Paid", "As-of date": iso("2024-04-30")}))
    book = make_book([sheet("Data", rows), settings])
    macros.analyze_sheet(book)
    assert not by_func(book, "alert")
    written = values_written(book, 4, 3)
    assert written[0][0] == "Who"
    assert [row[1] for row in written[1:]] == [40.0, 31.0, 50.0, 35.0, 33.0]  # days to 2024-04-30


def test_bad_setting_is_reported_by_row(make_book):
    settings = sheet("RFM Settings", settings_values(Bins="many"))
    book = make_book([sheet("Data", transactions()), settings])
    macros.analyze_sheet(book)
    message = by_func(book, "alert")[0]["args"][0]
    assert "RFM Settings, row 5" in message and "Bins" in message
    assert [a["func"] for a in actions(book)] == ["alert"]


# --------------------------------------------------------------------------------------
# cluster_sheet
# --------------------------------------------------------------------------------------
SAAS = [["Account", "Days since last login", "Weekly sessions", "MRR"],
        ["acme", 1.0, 20.0, 900.0], ["-bolt", 2.0, 25.0, 1000.0], ["core", 3.0, 30.0, 1100.0],
        [None, None, None, None],
        ["dune", 200.0, 1.0, 20.0], ["echo", 210.0, 2.0, 30.0], ["fern", 220.0, 1.0, 40.0]]


def test_cluster_sheet_saas_table(make_book):
    book = make_book([sheet("Accounts", SAAS), SETTINGS])
    macros.cluster_sheet(book)
    assert not by_func(book, "alert")
    assert [a["args"][1] for a in by_func(book, "addSheet")] == list(macros.CLUSTER_SHEETS)
    copy = values_written(book, 2, 3)
    assert copy[0] == ["Account", "Days since last login", "Weekly sessions", "MRR", "Cluster", "Cluster name"]
    assert [row[:5] for row in copy[1:]] == [
        ["acme", 1.0, 20.0, 900.0, 1], ["'-bolt", 2.0, 25.0, 1000.0, 1], ["core", 3.0, 30.0, 1100.0, 1],
        ["dune", 200.0, 1.0, 20.0, 2], ["echo", 210.0, 2.0, 30.0, 2], ["fern", 220.0, 1.0, 40.0, 2]]
    tables = {a["args"][3]: a["args"][0] for a in by_func(book, "addTable")}
    # profile: cluster, name, stability, Jaccard, 11 profile columns, action; then the segment mix
    # (cluster, name, 11 segments); k selection with the chosen k's stability
    assert tables == {"RFM_ClusteredData": "$A$4:$F$10", "RFM_ClusterProfile": "$A$4:$P$6",
                      "RFM_ClusterProfileSegments": "$A$9:$M$11", "RFM_ClusterK": "$A$4:$G$6"}
    profile = values_written(book, 3, 3)
    assert profile[0][:6] == ["Cluster", "Cluster name", "Stability", "Stability (Jaccard)", "Customers",
                              "Share of customers"]
    assert [row[0] for row in profile[1:]] == [1, 2]
    # Usage words from the headers; no purchase dates, so recency by thirds ("least recent", never
    # "lapsed"): recency thirds 2.67 and 203.3 days; MRR top 20% from 1,000 (the centre of cluster 1
    # is 995), bottom 40% below 40; heavy from 25 sessions (cluster 1's centre: 24.7).
    assert [row[1] for row in profile[1:]] == ["Recent mid-MRR regular users", "Least recent low-MRR light users"]
    assert [row[4:7] for row in profile[1:]] == [[3, 0.5, 2.0], [3, 0.5, 210.0]]  # mean recency
    assert [row[12] for row in profile[1:]] == [3000.0, 90.0]  # revenue
    assert all(row[2] in ("highly stable", "stable", "doubtful", "do not use") and 0 <= row[3] <= 1
               for row in profile[1:])


def test_cluster_sheet_ambiguous_columns(make_book):
    rows = [["Customer", "Recency", "Orders", "Revenue", "Sales"], ["a", 1.0, 2.0, 3.0, 4.0]]
    book = make_book([sheet("Customers", rows)])
    macros.cluster_sheet(book)
    message = by_func(book, "alert")[0]["args"][0]
    assert "monetary" in message and "'Revenue'" in message and "Monetary column" in message


def test_cluster_sheet_bad_value_names_sheet_row(make_book):
    rows = [r[:] for r in SAAS]
    rows[5][3] = "#VALUE!"
    book = make_book([sheet("Accounts", rows)])
    macros.cluster_sheet(book)
    message = by_func(book, "alert")[0]["args"][0]
    assert "Column 'MRR', row 6" in message and "#VALUE!" in message


# --------------------------------------------------------------------------------------
# ribbon, settings, help
# --------------------------------------------------------------------------------------
def test_ribbon_settings_creates_the_sheet(make_book):
    from rfm_addin.excel import settings

    book = make_book([sheet("Data", transactions())])
    macros.ribbon("settings", book)
    assert [a["args"][1] for a in by_func(book, "addSheet")] == ["RFM Settings"]
    written = values_written(book, 1, 3)
    assert written[0] == ["Setting", "Value"]
    assert [row[0] for row in written[1:]] == [s.label for s in settings.SETTINGS]
    assert dict((row[0], row[1]) for row in written[1:])["Bins"] == 5
    assert dict((row[0], row[1]) for row in written[1:])["Weights"] == "'1,1,1"
    n = len(settings.SETTINGS)
    assert [a["args"] for a in by_func(book, "addTable")] == [
        [f"$A$4:$B${4 + n}", True, "TableStyleMedium2", "RFM_Settings"]]
    about = [a for a in by_func(book, "setValues") if a["start_column"] == 3]
    assert about[0]["values"][0] == ["About"] and len(about[0]["values"]) == n + 1
    # What was written reads back as the defaults (Excel drops the apostrophe text marker).
    as_read = [[c[1:] if isinstance(c, str) and c.startswith("'") else c for c in row] for row in written]
    parsed = settings.parse_rows(as_read, 4)
    assert parsed == settings.Settings()


def test_ribbon_unknown_and_missing_features(make_book):
    book = make_book([sheet("Data", transactions())])
    macros.ribbon("share", book)
    macros.ribbon("LOAD", book)
    macros.ribbon("bogus", book)
    messages = [a["args"][0] for a in by_func(book, "alert")]
    assert "Share copy" in messages[0] and "desktop Excel" in messages[0]  # the remote engine has no file
    assert "Connection" in messages[1] and "RFM Settings" in messages[1]  # no connection named yet
    assert "'bogus'" in messages[2] and "unknown" in messages[2]


def test_ribbon_help(make_book):
    book = make_book([sheet("Data", transactions()), sheet("Start here", [["Welcome"]])])
    macros.ribbon("help", book)
    assert [(a["func"], a["args"]) for a in actions(book)] == [("activateSheet", [1])]
    book = make_book([sheet("Data", transactions())])
    macros.ribbon("rfm.help", book)
    assert "Analyze" in by_func(book, "alert")[0]["args"][0]


def test_ribbon_analyze_dispatches(make_book):
    book = make_book([sheet("Data", transactions()), SETTINGS])
    macros.ribbon("analyze", book)
    assert [a["args"][1] for a in by_func(book, "addSheet")] == LAYOUT_SHEETS


def test_book_caller_is_the_default(make_book):
    book = make_book([sheet("Data", transactions()), SETTINGS])
    book.set_mock_caller()
    try:
        macros.analyze_sheet()
    finally:
        del type(book)._mock_caller
    assert len(by_func(book, "addSheet")) == len(LAYOUT_SHEETS)


def test_status_bar_and_alert_on_desktop_like_app():
    from rfm_addin.excel.feedback import Feedback

    class App:
        def __init__(self):
            self.status = []
            self.alerts = []

        @property
        def status_bar(self):
            return self.status[-1]

        @status_bar.setter
        def status_bar(self, value):
            self.status.append(value)

        def alert(self, prompt, title=None, mode=None):
            self.alerts.append((prompt, title, mode))

    class Book:
        app = App()

    feedback = Feedback(Book())
    feedback.progress("Clustering")
    feedback.clear()
    feedback.alert("done")
    assert Book.app.status == ["RFM: Clustering", False]
    assert Book.app.alerts == [("done", "RFM add-in", "info")]


def test_failure_while_writing_leaves_the_workbook_unchanged(make_book, monkeypatch):
    from rfm_addin.excel import live_writer

    real = live_writer.render_sheet
    calls = []

    def flaky(sheet_, spec):
        calls.append(spec.name)
        if len(calls) == 3:
            raise OSError("Excel is busy")
        return real(sheet_, spec)

    monkeypatch.setattr(live_writer, "render_sheet", flaky)
    book = make_book([sheet("Data", transactions()), SETTINGS])
    macros.analyze_sheet(book)
    assert [a["func"] for a in actions(book)] == ["alert"]
    message = by_func(book, "alert")[0]["args"][0]
    assert "OSError: Excel is busy" in message and "not changed" in message
    assert len(book.sheets) == 2  # the sheets added before the failure were removed again


def test_cluster_sheet_keeps_a_users_cluster_column(make_book):
    # The user's own "cluster" column stays, renamed, inside the table; the result is "Cluster".
    rows = [r[:] + [v] for r, v in zip(SAAS, ["cluster", "old-a", "old-b", "old-c", None, "old-d", "old-e", "old-f"])]
    book = make_book([sheet("Accounts", rows), SETTINGS])
    macros.cluster_sheet(book)
    assert not by_func(book, "alert")
    copy = values_written(book, 2, 3)
    assert copy[0] == ["Account", "Days since last login", "Weekly sessions", "MRR", "cluster (input)", "Cluster",
                       "Cluster name"]
    assert [row[4:6] for row in copy[1:]] == [["old-a", 1], ["old-b", 1], ["old-c", 1], ["old-d", 2],
                                             ["old-e", 2], ["old-f", 2]]
    tables = {a["args"][3]: a["args"][0] for a in by_func(book, "addTable")}
    assert tables["RFM_ClusteredData"] == "$A$4:$G$10"


def test_two_customers_through_the_ribbon(make_book):
    rows = [["Customer", "Date", "Amount"], ["a", iso("2024-01-01"), 10.0], ["b", iso("2024-01-02"), 5.0]]
    book = make_book([sheet("Data", rows)])
    macros.analyze_sheet(book)
    assert not by_func(book, "alert")
    assert "RFM Customers" in [a["args"][1] for a in by_func(book, "addSheet")]


# --------------------------------------------------------------------------------------
# Compare periods (issue 15)
# --------------------------------------------------------------------------------------
def test_compare_periods_writes_the_migration_sheets_of_the_library(make_book):
    import pandas as pd

    import rfm_addin

    compare = sheet("RFM Settings", settings_values(**{"Compare from": "2024-03-10", "Compare to": "2024-03-31",
                                                        "Bins": 2.0}))
    book = make_book([sheet("Data", transactions()), compare])
    macros.ribbon("compare", book)
    assert not by_func(book, "alert")
    assert [a["args"][1] for a in by_func(book, "addSheet")] == ["RFM Migration", "RFM Migration Customers"]
    tables = {a["args"][3] for a in by_func(book, "addTable")}
    assert {"RFM_MigrationCounts", "RFM_MigrationShares", "RFM_MigrationRevenue", "RFM_MigrationCustomers"} <= tables
    charts = [a["args"][1] for a in by_func(book, "addChart")]
    assert charts == ["BarStacked100"]
    frame = pd.DataFrame([(c, pd.Timestamp(d), a) for c, d, a in PURCHASES], columns=["Customer", "Date", "Amount"])
    m = rfm_addin.migration(frame, "2024-03-10", "2024-03-31", bins=2)
    customers = values_written(book, 3, 3)     # the second new sheet, header in row 4
    assert customers[0][:3] == ["Customer ID", "Segment before", "Segment after"]
    status = customers[0].index("Status")
    got = {str(row[0]).lstrip("'"): row[status] for row in customers[1:]}
    assert got == m.customers["status"].to_dict()


def test_compare_periods_needs_both_dates(make_book):
    book = make_book([sheet("Data", transactions()), SETTINGS])
    macros.ribbon("compare", book)
    alert = by_func(book, "alert")[0]["args"][0]
    assert "Set 'Compare from' and 'Compare to' on the RFM Settings sheet" in alert
    assert not by_func(book, "addSheet")
