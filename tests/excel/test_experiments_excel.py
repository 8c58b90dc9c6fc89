"""Campaign tests in Excel: the worksheet functions (called with what xlwings delivers), the Settings
entries, and the Plan test button on the remote engine; expected values from the library
(tests/test_experiments*.py check it against statsmodels and hand-worked figures)."""
from __future__ import annotations

import pandas as pd
import pytest
from excel_payloads import by_func, iso, sheet
from test_macros import settings_values, values_written

import rfm_addin as rfm
from rfm_addin.excel import macros, settings, udfs


def test_sample_size_and_detectable_lift():
    assert udfs.RFM_SAMPLE_SIZE(0.1, 0.02) == 3835
    assert udfs.RFM_SAMPLE_SIZE("10%", "2pp") == 3835 and udfs.RFM_SAMPLE_SIZE(0.1, "20%") == 3835
    assert udfs.RFM_SAMPLE_SIZE(0.1, 0.02, None, None, 1 / 9) == 19173
    assert udfs.RFM_SAMPLE_SIZE(0.1, 0.95)[0][0].startswith("#RFM! A lift of 0.95 takes the rate from 0.1 to 1.05")
    assert udfs.RFM_SAMPLE_SIZE(1.5, 0.02)[0][0].startswith("#RFM! baseline must be between 0 and 1")
    assert udfs.RFM_DETECTABLE_LIFT(0.1, 1000) == pytest.approx(rfm.detectable_lift(0.1, 1000))
    assert udfs.RFM_DETECTABLE_LIFT(0.1, 193, 21) == pytest.approx(rfm.detectable_lift(0.1, 193, n_holdout=21))
    assert udfs.RFM_DETECTABLE_LIFT(0.5, 3) == "no lift up to a rate of 1 is detectable"


def test_assign_keeps_rows_and_header():
    ids = [["Customer ID"], ["a"], ["b"], [None], ["c"], ["d"]]
    got = udfs.RFM_ASSIGN(ids, "50%", 7)
    frame = pd.DataFrame(index=pd.Index(["a", "b", "c", "d"]))
    expected = rfm.assign(frame, holdout=0.5, random_state=7, strata=None).arm.tolist()
    assert got == [["Arm"], [expected[0]], [expected[1]], [""], [expected[2]], [expected[3]]]
    # the same ids in another order: the same arms
    again = udfs.RFM_ASSIGN([["d"], ["c"], ["b"], ["a"]], 0.5, 7)
    assert [row[0] for row in again] == expected[::-1]
    strata = udfs.RFM_ASSIGN([["a"], ["b"], ["c"], ["d"]], 0.5, 7, [["x"], ["x"], ["y"], ["y"]])
    assert sorted(row[0] for row in strata[:2]) == ["holdout", "treatment"]
    assert udfs.RFM_ASSIGN([["a"], ["b"], ["a"]])[0][0] == "#RFM! Each customer must appear once; 'a' appear more than once."


def test_readout():
    got = dict((k, v) for k, v in udfs.RFM_READOUT(130, 1000, 100, 1000)[1:])
    expected = rfm.readout(130, 1000, 100, 1000)
    assert got["Difference"] == pytest.approx(expected["difference"])
    assert got["Difference, 95% low"] == pytest.approx(expected["difference_ci"][0])
    assert got["Relative lift, 95% high"] == pytest.approx(expected["relative_lift_ci"][1])
    assert got["p-value"] == pytest.approx(expected["p_value"]) and got["Label"] == "significant"
    assert udfs.RFM_READOUT(11, 10, 1, 10)[0][0] == "#RFM! An arm has more conversions than customers."


def test_settings_for_the_plan():
    parsed = settings.parse_rows(settings_values(**{"Test segments": "At Risk, Lost", "Test lift": "20%",
                                                    "Test holdout": "5%", "Test window (days)": 60}))
    kwargs = parsed.plan_kwargs()
    assert kwargs["segments"] == ["At Risk", "Lost"] and (kwargs["lift"], kwargs["relative"]) == (0.2, True)
    assert kwargs["holdout"] == 0.05 and kwargs["window"] == 60
    assert settings.Settings().plan_kwargs()["lift"] == 0.02
    with pytest.raises(rfm.RfmError, match="row 5: Test window \\(days\\): must be 30, 60 or 90"):
        settings.parse_rows(settings_values(**{"Test window (days)": 45}))
    with pytest.raises(rfm.RfmError, match="row 5: Test holdout: must be between 0 and 1"):
        settings.parse_rows(settings_values(**{"Test holdout": "150%"}))


def test_plan_test_button(make_book):
    frame = rfm.demo_transactions()
    rows = [["Customer ID", "Order Date", "Amount"]] + [
        [str(c), iso(f"{pd.Timestamp(d):%Y-%m-%d}"), float(a)] for c, d, a in frame.to_numpy()]
    options = settings_values(**{"Test segments": "At Risk, Lost", "Test lift": "10pp"})
    book = make_book([sheet("Data", rows), sheet("RFM Settings", options)])
    macros.ribbon("plantest", book)
    assert not by_func(book, "alert")
    assert [a["args"][1] for a in by_func(book, "addSheet")] == ["RFM Test Plan", "RFM Test Customers"]
    tables = {a["args"][3] for a in by_func(book, "addTable")}
    assert {"RFM_TestVerdicts", "RFM_TestPlan", "RFM_TestBaselines", "RFM_TestBalance", "RFM_TestCustomers"} <= tables
    expected = rfm.plan_campaign(frame.assign(CustomerID=frame["CustomerID"].astype(str)).rename(
        columns={"CustomerID": "Customer ID", "OrderDate": "Order Date"}), segments=["At Risk", "Lost"], lift=0.1)
    verdicts = values_written(book, 2, 3)
    assert [row[1] for row in verdicts[1:]] == expected.findings
    listed = values_written(book, 3, 3)
    arm = listed[0].index("Arm")
    assert sorted(row[arm] for row in listed[1:]) == sorted(expected.customers["arm"])


def test_desktop_excel_values():
    """Through xlwings' own Windows call_udf: ids as COM numbers, rates as currency cells."""
    from desktop_harness import ComSheet, currency, windows_xlwings

    ids = ["Customer ID", *[float(10000 + i) for i in range(40)]]
    data = ComSheet.from_columns("Data", {"A": ids, "B": ["Segment", *(["x", "y"] * 20)]})
    with windows_xlwings() as excel:
        got = excel.call("RFM_ASSIGN", data.column("A:A"), 0.25, 3, data.column("B:B"))
        plain = udfs.RFM_ASSIGN([[v] for v in ids], 0.25, 3, [[v] for v in ["Segment", *(["x", "y"] * 20)]])
        assert got == plain and got[0] == ["Arm"]
        frame = pd.DataFrame({"segment": ["x", "y"] * 20}, index=pd.Index([str(10000 + i) for i in range(40)]))
        assert [row[0] for row in got[1:]] == rfm.assign(frame, holdout=0.25, random_state=3).arm.tolist()
        assert excel.call("RFM_SAMPLE_SIZE", currency("0.1"), currency("0.02")) == [[3835]]   # one cell
