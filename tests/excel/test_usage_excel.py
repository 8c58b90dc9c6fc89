"""Subscription products in Excel (remote engine): Build usage table writes an input sheet the
Cluster button then clusters; Compare groups writes RFM Compare; RFM_COMPARE against the library."""
from __future__ import annotations

import pandas as pd
import pytest
from excel_payloads import iso, sheet
from test_macros import settings_values
from test_rerun import run

import rfm_addin as rfm
from rfm_addin.core.demo import demo_usage
from rfm_addin.excel import macros, udfs


@pytest.fixture(scope="module")
def logs():
    events, payments = demo_usage(n_users=300, random_state=3)
    return events, payments


def _rows(frame: pd.DataFrame) -> list[list]:
    out = [list(frame.columns)]
    for row in frame.itertuples(index=False):
        out.append([iso(f"{v:%Y-%m-%d}")[:10] + f"T{v:%H:%M:%S}.000Z" if isinstance(v, pd.Timestamp) else v
                    for v in row])
    return out


def test_build_usage_then_cluster_then_compare(make_book, logs):
    events, payments = logs
    options = settings_values(**{"Usage events sheet": "Events", "Usage payments sheet": "Payments",
                                 "Compare groups by": "Cluster", "Compare group A": 1, "Compare group B": 2})
    sheets = [sheet("Events", _rows(events)), sheet("Payments", _rows(payments)), sheet("RFM Settings", options)]
    first, done = run(make_book, sheets, [], lambda book: macros.ribbon("usage", book))
    assert not [a for a in done if a["func"] == "alert"]
    usage = next(s for s in first["sheets"] if s["name"] == "RFM Usage")
    header = usage["values"][3]
    assert header[:4] == ["user_id", "Days since last activity", "Weekly sessions", "MRR"]
    expected = rfm.usage_table(events, payments=payments)
    expected = expected.loc[expected["recency"].notna()]
    listed = [row for row in usage["values"][4:4 + len(expected)]]
    assert [str(r[0]).lstrip("'") for r in listed] == list(expected.index)
    assert [r[3] for r in listed] == pytest.approx(expected["monetary"].tolist())

    def on(name: str, button: str):
        def click(book):
            book.sheets[name].activate()
            macros.ribbon(button, book)
        return click

    # the Cluster button accepts the usage sheet (marked as an input), though the add-in wrote it
    second, done = run(make_book, first["sheets"], first["names"], on("RFM Usage", "cluster"))
    assert not [a for a in done if a["func"] == "alert"], [a for a in done if a["func"] == "alert"]
    assert "RFM Clustered Data" in [a["args"][1] for a in done if a["func"] == "addSheet"]
    # the sheet's other number columns (tenure, adoption) are profiled per cluster, after the usual ones
    written = [a["values"] for a in done if a["func"] == "setValues" and a["values"] and a["values"][0]
               and a["values"][0][0] == "Cluster"]
    profile_header = next(v[0] for v in written if "Cluster name" in v[0] and "Customers" in v[0])
    assert "Adoption: Reports (mean)" in profile_header and "Tenure (days) (median)" in profile_header
    assert profile_header.index("Adoption: Reports (mean)") > profile_header.index("Recommended action")
    # Compare groups reads the clustered copy (results) and writes RFM Compare
    third, done = run(make_book, second["sheets"], second["names"], on("RFM Clustered Data", "comparegroups"))
    assert not [a for a in done if a["func"] == "alert"], [a for a in done if a["func"] == "alert"]
    # with "Usage events sheet" set, a retention test for the weaker group is planned too, and said on RFM Compare
    assert [a["args"][1] for a in done if a["func"] == "addSheet"] == ["RFM Compare", "RFM Test Plan",
                                                                         "RFM Test Customers"]
    tables = {a["args"][3] for a in done if a["func"] == "addTable"}
    assert {"RFM_CompareFindings", "RFM_Compare", "RFM_CompareChart", "RFM_TestPlan", "RFM_TestCustomers"} <= tables
    compare = next(s for s in third["sheets"] if s["name"] == "RFM Compare")["values"]
    finding = next(str(c) for row in compare for c in row if str(c).startswith("A 30-day retention test for Cluster "))
    plan = next(s for s in third["sheets"] if s["name"] == "RFM Test Plan")["values"]
    header = next(i for i, row in enumerate(plan) if row and row[0] == "Segment" and "Customers" in row)
    planned = plan[header + 1]
    assert finding.startswith(f"A 30-day retention test for {planned[0]} is planned on the RFM Test Plan sheet")
    clustered = next(s for s in second["sheets"] if s["name"] == "RFM Clustered Data")["values"]
    top = next(i for i, row in enumerate(clustered) if row and "Cluster" in row)
    cluster_of = [row[clustered[top].index("Cluster")] for row in clustered[top + 1:] if row and row[0] not in (None, "")]
    group = int(str(planned[0]).split()[-1])
    customers = planned[plan[header].index("Customers")]
    assert customers == sum(1 for c in cluster_of if c == group) > 0     # the group's users, all of them
    # a user's own sheet written by nobody: still refused? no - only the add-in's results need the mark
    fourth, done = run(make_book, third["sheets"], third["names"], on("RFM Compare", "cluster"))
    alert = [a for a in done if a["func"] == "alert"][0]["args"][0]
    assert "holds results of the RFM add-in" in alert


def test_settings_may_name_excel_tables(make_book, logs):
    """"Usage events sheet" / "Usage payments sheet" may name Excel Tables: here both sit on one
    sheet, the payments table to the right of the events, which a used-range read would mix up."""
    from excel_payloads import table as payload_table
    from openpyxl.utils import get_column_letter

    events, payments = logs
    events, payments = events.head(400), payments.head(60)
    left, right = _rows(events), _rows(payments)
    width = len(left[0]) + 1
    height = max(len(left), len(right))
    values = [(left[i] if i < len(left) else [None] * len(left[0])) + [None]
              + (right[i] if i < len(right) else [None] * len(right[0])) for i in range(height)]
    first, last = get_column_letter(width + 1), get_column_letter(width + len(right[0]))
    tables = [payload_table("EventLog", f"$A$1:${get_column_letter(len(left[0]))}${len(left)}",
                            f"$A$1:${get_column_letter(len(left[0]))}$1",
                            f"$A$2:${get_column_letter(len(left[0]))}${len(left)}"),
              payload_table("Paid", f"${first}$1:${last}${len(right)}", f"${first}$1:${last}$1",
                            f"${first}$2:${last}${len(right)}")]
    options = settings_values(**{"Usage events sheet": "eventlog", "Usage payments sheet": "Paid"})
    done_book, done = run(make_book, [sheet("Data", values, tables), sheet("RFM Settings", options)], [],
                          lambda book: macros.ribbon("usage", book))
    assert not [a for a in done if a["func"] == "alert"], [a for a in done if a["func"] == "alert"]
    usage = next(s for s in done_book["sheets"] if s["name"] == "RFM Usage")["values"]
    expected = rfm.usage_table(events, payments=payments)
    expected = expected.loc[expected["recency"].notna()]
    listed = usage[4:4 + len(expected)]
    assert [str(r[0]).lstrip("'") for r in listed] == list(expected.index)
    assert [r[3] for r in listed] == pytest.approx(expected["monetary"].tolist())
    options = settings_values(**{"Usage events sheet": "Nowhere"})
    _, done = run(make_book, [sheet("Data", values, tables), sheet("RFM Settings", options)], [],
                  lambda book: macros.ribbon("usage", book))
    alert = [a for a in done if a["func"] == "alert"][0]["args"][0]
    assert "sheet or table 'Nowhere'" in alert


def test_rfm_compare_against_the_library(logs):
    events, payments = logs
    table = rfm.usage_table(events, payments=payments)
    table = table.loc[table["recency"].notna()]
    labels = rfm.cluster(table, k=3).labels
    columns = ["frequency", "monetary", "adoption: Reports"]
    got = udfs.RFM_COMPARE([["Cluster"]] + [[float(v)] for v in labels],
                           1, 2, [columns] + table[columns].to_numpy().tolist())
    expected = rfm.compare_groups(table.assign(cluster=labels.to_numpy()), "cluster", 1, 2, columns=columns).table
    assert got[0][:4] == ["Column", "Category", "1", "2"]
    assert [row[0] for row in got[1:]] == list(expected["column"])
    assert [row[5] for row in got[1:]] == pytest.approx(expected["smd"].tolist())
    assert udfs.RFM_COMPARE([["g"], ["x"]], "x", "y", [["v"], [1.0]])[0][0].startswith("#RFM! values:")


def test_rfm_compare_through_xlwings_windows_call_udf():
    """Desktop Excel hands groups as COM numbers and MRR as currency cells: the same table as plain values."""
    import desktop_harness
    from desktop_harness import ComSheet, currency, windows_xlwings

    groups = ["Cluster", *[float(1 + i % 2) for i in range(30)]]
    mrr = [10 + (i * 7) % 50 for i in range(30)]
    plans = ["Pro" if i % 3 else "Basic" for i in range(30)]
    data = ComSheet.from_columns("Data", {"A": groups, "B": ["MRR", *(currency(str(v)) for v in mrr)],
                                          "C": ["Plan", *plans]})
    plain = udfs.RFM_COMPARE([[v] for v in groups], 1, 2, [["MRR", "Plan"]] + [[float(m), p] for m, p in zip(mrr, plans)])
    assert not str(plain[0][0]).startswith("#RFM!")
    with windows_xlwings() as excel:
        values = desktop_harness.ComRange(data, 1, 2, 31, 2)                    # B1:C31
        got = excel.call("RFM_COMPARE", data.column("A:A"), 1.0, 2.0, values)
    assert got[1:] == plain[1:] and got[0][:2] == ["Column", "Category"]
