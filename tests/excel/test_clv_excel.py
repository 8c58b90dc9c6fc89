"""CLV in Excel: RFM_CLV and RFM_CHURN (called with what xlwings delivers, and through xlwings'
own Windows ``call_udf`` with currency cells and COM dates), the Settings entries, the Analyze
button with "Lifetime value" on, and the "CLV check" button. Expected values are the library's
(:func:`rfm_addin.clv_table`, :func:`rfm_addin.analyze`), which tests/test_clv.py checks against
the published CDNOW figures."""
from __future__ import annotations

import datetime as dt

import numpy as np
import pandas as pd
import pytest
from desktop_harness import ComSheet, com_time, currency, windows_xlwings
from excel_payloads import by_func, iso, sheet
from test_macros import settings_values, values_written

import rfm_addin as rfm
from rfm_addin.excel import macros, settings, udfs


@pytest.fixture(scope="module")
def purchases() -> pd.DataFrame:
    frame = rfm.demo_transactions(n_customers=150)
    frame["OrderDate"] = pd.to_datetime(frame["OrderDate"])
    return frame


def col(header: str, values) -> list[list]:
    return [[header]] + [[v] for v in values]


def _columns(frame: pd.DataFrame):
    return (col("Customer", frame["CustomerID"].astype(str)),
            col("Date", [d.to_pydatetime() for d in frame["OrderDate"]]),
            col("Amount", frame["OrderAmount"].astype(float)))


def test_rfm_clv_and_rfm_churn_are_the_library_values(purchases):
    customers, dates, amounts = _columns(purchases)
    got = udfs.RFM_CLV(customers, dates, amounts, 180, "5%")
    assert got[0] == ["Customer", "Expected purchases", "Expected spend", "CLV"]
    frame = purchases.assign(CustomerID=purchases["CustomerID"].astype(str))
    expected = rfm.clv_table(frame, horizon_days=180, annual_discount=0.05)
    assert [row[0] for row in got[1:]] == list(expected.index.astype(str))
    assert np.allclose([row[3] for row in got[1:]], expected["clv"])
    assert np.allclose([row[1] for row in got[1:]], expected["expected_purchases"])
    churn = udfs.RFM_CHURN(customers, dates, amounts)
    assert churn[0] == ["Customer", "Churn risk"]
    assert np.allclose([row[1] for row in churn[1:]], expected["churn_risk"])
    default = rfm.clv_table(frame)
    assert np.allclose([row[1] for row in udfs.RFM_CHURN(customers, dates, amounts, 90)[1:]],
                       rfm.clv_table(frame, churn_days=90)["churn_risk"])
    assert default.attrs["churn_days"] == rfm.lapse_threshold(rfm.rfm_table(frame)).days


def test_rfm_clv_bad_arguments(purchases):
    customers, dates, amounts = _columns(purchases)
    text = udfs.RFM_CLV(customers, dates, amounts, -3)[0][0]
    assert text.startswith("#RFM! horizon_days: must be more than 0")
    assert udfs.RFM_CLV(customers, dates, amounts, 365, "lots")[0][0].startswith("#RFM! discount: 'lots' is not")
    few = udfs.RFM_CLV(col("Customer", ["a", "b"]), col("Date", [dt.datetime(2024, 1, 1)] * 2),
                       col("Amount", [1.0, 2.0]))[0][0]
    assert few.startswith("#RFM! ") and "repeat" in few


def test_desktop_excel_currency_cells_and_com_dates(purchases):
    head = purchases.head(600)
    data = ComSheet.from_columns("Data", {
        "A": ["Customer", *head["CustomerID"].astype(str)],
        "B": ["Date", *(com_time(d.year, d.month, d.day) for d in head["OrderDate"])],
        "C": ["Amount", *(currency(f"{a:.2f}") for a in head["OrderAmount"])],
    })
    plain = (col("Customer", head["CustomerID"].astype(str)), col("Date", [d.to_pydatetime() for d in head["OrderDate"]]),
             col("Amount", [float(f"{a:.2f}") for a in head["OrderAmount"]]))
    with windows_xlwings() as excel:
        args = [data.column(f"{c}:{c}") for c in "ABC"]
        for name in ("RFM_CLV", "RFM_CHURN"):
            got = excel.call(name, *args)
            assert not str(got[0][0]).startswith("#RFM!"), got[0][0]
            assert got == getattr(udfs, name)(*plain), name
            assert excel.xlfunc(name)["call_in_wizard"] is False


def test_settings_entries():
    parsed = settings.parse_rows(settings_values(**{"Lifetime value": "on", "CLV horizon": "6m",
                                                    "Yearly discount rate": "10%", "Margin": 0.4,
                                                    "Churn horizon": "90d", "CLV check from": "2025-06-30"}))
    assert parsed.clv is True and parsed.clv_horizon == pytest.approx(365.25 / 2)
    assert parsed.clv_discount == pytest.approx(0.1) and parsed.clv_margin == 0.4 and parsed.churn_days == 90
    assert parsed.clv_calibration_end == pd.Timestamp("2025-06-30")
    kwargs = parsed.analyze_kwargs()
    assert (kwargs["clv"], kwargs["horizon_days"], kwargs["annual_discount"], kwargs["margin"]) == (
        True, parsed.clv_horizon, 0.1, 0.4)
    assert settings.parse_rows(settings_values(**{"Lifetime value": True})).clv is True
    assert settings.Settings().clv is False and settings.Settings().clv_horizon == 365
    with pytest.raises(rfm.RfmError, match=r"RFM Settings, row 5: CLV horizon: .*12m"):
        settings.parse_rows(settings_values(**{"CLV horizon": "a year"}))
    with pytest.raises(rfm.RfmError, match="row 5: Margin: must be at least 0"):
        settings.parse_rows(settings_values(**{"Margin": -1}))


def _rows(frame: pd.DataFrame) -> list[list]:
    return [["Customer ID", "Order Date", "Amount"]] + [
        [str(c), iso(f"{d:%Y-%m-%d}"), float(a)] for c, d, a in frame[["CustomerID", "OrderDate", "OrderAmount"]].to_numpy()]


def test_analyze_button_with_lifetime_value(make_book, purchases):
    book = make_book([sheet("Data", _rows(purchases)), sheet("RFM Settings", settings_values(**{"Lifetime value": "on"}))])
    macros.ribbon("analyze", book)
    assert not by_func(book, "alert")
    names = [a["args"][1] for a in by_func(book, "addSheet")]
    assert "RFM CLV" in names
    position = 2 + names.index("RFM CLV")
    segments = values_written(book, position, 3)
    assert segments[0][:4] == ["Segment", "Customers", "Revenue", "Future value (CLV)"]
    frame = purchases.assign(CustomerID=purchases["CustomerID"].astype(str)).rename(
        columns={"CustomerID": "Customer ID", "OrderDate": "Order Date"})
    expected = rfm.analyze(frame, clv=True, k_range=range(2, 11))
    got = {row[0]: row[3] for row in segments[1:]}
    assert got == pytest.approx(expected.segment_summary["clv_total"].to_dict())
    customers = values_written(book, 2 + names.index("RFM Customers"), 3)
    assert customers[0][-5:] == ["Expected purchases", "Churn risk", "Expected spend", "CLV",
                                 "Spend from population mean"]


def test_clv_check_button(make_book, purchases):
    options = settings_values(**{"CLV check from": "2025-06-30"})
    book = make_book([sheet("Data", _rows(purchases)), sheet("RFM Settings", options)])
    macros.ribbon("clvcheck", book)
    assert not by_func(book, "alert")
    assert [a["args"][1] for a in by_func(book, "addSheet")] == ["RFM CLV Check"]
    tables = {a["args"][3] for a in by_func(book, "addTable")}
    assert {"RFM_CLVCheck", "RFM_CLVCheckDeciles", "RFM_CLVCheckChurn", "RFM_CLVCheckCapture"} <= tables
    assert [a["args"][1] for a in by_func(book, "addChart")] == ["ColumnClustered"]
    frame = purchases.assign(CustomerID=purchases["CustomerID"].astype(str))
    expected = rfm.clv_check(frame, calibration_end="2025-06-30")
    written = [a["values"] for a in by_func(book, "setValues") if a["sheet_position"] == 2]
    models = next(v for v in written if v[0] == ["Model", "Predicted", "Actual", "Error (%)"])
    assert [row[0] for row in models[1:]] == ["BG/NBD", "Pareto/NBD"]
    assert [row[1] for row in models[1:]] == pytest.approx(expected.aggregate["predicted"].tolist())
    # without the date: a message, nothing written
    book = make_book([sheet("Data", _rows(purchases))])
    macros.ribbon("clvcheck", book)
    assert "Set 'CLV check from' on the RFM Settings sheet" in by_func(book, "alert")[0]["args"][0]
    assert not by_func(book, "addSheet")


def test_turning_lifetime_value_off_empties_the_clv_sheet_in_place(make_book, purchases):
    from test_rerun import by_func_of, run, tables_of
    from workbook_model import table_values

    on = sheet("RFM Settings", settings_values(**{"Lifetime value": "on"}))
    first, _ = run(make_book, [sheet("Data", _rows(purchases)), on], [], macros.analyze_sheet)
    assert len(table_values(first, "RFM CLV", "RFM_CLV")) > 2
    settings_sheet = next(s for s in first["sheets"] if s["name"] == "RFM Settings")
    settings_sheet["values"] = settings_values(**{"Lifetime value": "off"})
    second, done = run(make_book, first["sheets"], first["names"], macros.analyze_sheet)
    assert not by_func_of(done, "alert") and not by_func_of(done, "addSheet")
    for func in ("sheetDelete", "deleteTable", "tableDelete"):
        assert not by_func_of(done, func), func
    assert set(tables_of(second)) == set(tables_of(first))
    emptied = table_values(second, "RFM CLV", "RFM_CLV")
    assert len(emptied) == 2 and all(v in ("", None) for v in emptied[1])
    title = next(s for s in second["sheets"] if s["name"] == "RFM CLV")["values"][0][0]
    assert title == "Expected future value: not computed in this analysis"
    # and the customer table no longer carries last run's values
    assert "CLV" not in table_values(second, "RFM Customers", "RFM_Customers")[0]
