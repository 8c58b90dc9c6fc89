"""The values desktop Excel for Windows hands over, on every face: worksheet functions through
xlwings' own ``call_udf`` (:mod:`desktop_harness`), ribbon macros reading a book through the
Windows engine's value cleaning, and the Mac reader.

Expected values are the results of the same inputs as plain floats and datetimes (the
remote-engine and direct-call tests check those against hand-worked figures).
"""
from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest
from desktop_harness import ComSheet, ComWorkbook, com_time, currency, error, windows_xlwings
from excel_payloads import by_func, iso, sheet
from test_macros import EXPECTED_CUSTOMERS, PURCHASES, SETTINGS, transactions, values_written

from rfm_addin.excel import cell_values, macros, udfs

D = dt.datetime

#: Every error code of Excel's XlCVError enumeration and the text a cell shows.
ERRORS = {2000: "#NULL!", 2007: "#DIV/0!", 2015: "#VALUE!", 2023: "#REF!", 2029: "#NAME?", 2036: "#NUM!",
          2042: "#N/A", 2043: "#GETTING_DATA", 2045: "#SPILL!", 2046: "#CONNECT!", 2047: "#BLOCKED!",
          2048: "#UNKNOWN!", 2049: "#FIELD!", 2050: "#CALC!"}


@pytest.fixture(scope="module")
def excel():
    with windows_xlwings() as harness:
        yield harness


# Transactions: a buys on 01-01 (10) and 01-10 (5), b on 01-05 (7), c on 01-02 (1).
TRANSACTIONS = {
    "A": ["Customer", "a", "a", "b", None, "c"],
    "B": ["Date", com_time(2024, 1, 1), com_time(2024, 1, 10), com_time(2024, 1, 5), None, com_time(2024, 1, 2)],
    "C": ["Amount", currency("10"), currency("5"), currency("7"), None, currency("1")],
}
TABLE = [["Customer", "Recency", "Frequency", "Monetary"], ["a", 1, 2, 15.0], ["b", 6, 1, 7.0], ["c", 9, 1, 1.0]]


def columns(sheet_: ComSheet, *letters: str):
    return [sheet_.column(f"{letter}:{letter}") for letter in letters]


def test_error_codes_agree_with_xlwings_windows_table(excel):
    # xlwings maps seven codes to text itself; ours must agree on those and add the rest.
    theirs = {key - cell_values.ERROR_BASE: text for key, text in excel.xlwindows.cell_errors.items()}
    assert len(theirs) == 7
    assert {code: cell_values.ERROR_CODES[code] for code in theirs} == theirs
    assert cell_values.ERROR_CODES == ERRORS
    # The worked example: #SPILL! arrives as -2,146,826,243.
    assert error(2045) == -2_146_826_243
    assert cell_values.cell(-2_146_826_243) == "#SPILL!"
    assert cell_values.cell(cell_values.ERROR_BASE + 2099) == "Excel error code 2099"
    assert cell_values.cell(-2_146_828_289) == -2_146_828_289       # just outside the range: a number
    assert cell_values.cell(Decimal("10.1235")) == 10.1235
    assert cell_values.cell(True) is True


def test_rfm_table_currency_cells_and_com_dates(excel):
    book_sheet = ComSheet.from_columns("Data", TRANSACTIONS)
    assert excel.call("RFM_TABLE", *columns(book_sheet, "A", "B", "C")) == TABLE
    # the same with plain floats and datetimes, called directly
    plain = [[v] for v in ["Customer", "a", "a", "b", None, "c"]]
    dates = [[v] for v in ["Date", D(2024, 1, 1), D(2024, 1, 10), D(2024, 1, 5), None, D(2024, 1, 2)]]
    amounts = [[v] for v in ["Amount", 10.0, 5.0, 7.0, None, 1.0]]
    assert udfs.RFM_TABLE(plain, dates, amounts) == TABLE


def test_whole_column_reference_transfers_only_the_used_rows(excel):
    book_sheet = ComSheet.from_columns("Data", TRANSACTIONS)
    assert excel.call("RFM_TABLE", *columns(book_sheet, "A", "B", "C")) == TABLE
    assert book_sheet.transferred == 3 * 6           # 6 used rows of 3 columns, not 3 * 1,048,576
    # A reference that ends inside the used range is read as it is.
    book_sheet.transferred = 0
    top = [book_sheet.Range(book_sheet.Cells(1, c), book_sheet.Cells(4, c)) for c in (1, 2, 3)]
    assert excel.call("RFM_TABLE", *top) == [TABLE[0], ["a", 1, 2, 15.0], ["b", 6, 1, 7.0]]
    assert book_sheet.transferred == 3 * 4


def test_array_constant_arguments_still_work(excel):
    # Values that are not ranges (an array constant, FILTER's result) arrive as tuples of rows.
    customers = (("a",), ("a",), ("b",))
    dates = ((com_time(2024, 1, 1),), (com_time(2024, 1, 10),), (com_time(2024, 1, 5),))
    amounts = ((currency("10"),), (5.0,), (7.0,))
    assert excel.call("RFM_TABLE", customers, dates, amounts) == [TABLE[0], ["a", 1, 2, 15.0], ["b", 6, 1, 7.0]]


@pytest.mark.parametrize("code", sorted(ERRORS) + [2099])
def test_every_error_value_is_named_with_its_row(excel, code):
    data = dict(TRANSACTIONS)
    data["C"] = ["Amount", currency("10"), error(code), currency("7"), None, currency("1")]
    result = excel.call("RFM_TABLE", *columns(ComSheet.from_columns("Data", data), "A", "B", "C"))
    name = ERRORS.get(code, f"Excel error code {code}")
    assert result == [[f"#RFM! Column 'amounts': 1 value not readable as a number (row 3: {name!r}). "
                       "Amounts must be numbers; fix or remove those rows."]]


def test_error_values_in_ids_and_dates_are_named(excel):
    data = dict(TRANSACTIONS)
    data["A"] = ["Customer", "a", error(2045), "b", None, "c"]
    result = excel.call("RFM_TABLE", *columns(ComSheet.from_columns("Data", data), "A", "B", "C"))
    assert "row 3: '#SPILL!'" in result[0][0] and "Excel error" in result[0][0]
    data = dict(TRANSACTIONS)
    data["B"] = ["Date", com_time(2024, 1, 1), error(2050), com_time(2024, 1, 5), None, com_time(2024, 1, 2)]
    result = excel.call("RFM_TABLE", *columns(ComSheet.from_columns("Data", data), "A", "B", "C"))
    assert "row 3: '#CALC!'" in result[0][0] and "not readable as a date" in result[0][0]


def test_serial_dates_follow_the_workbook_date_system(excel):
    # 45292 is 2024-01-01 in the 1900 system and 2028-01-02 in the 1904 system.
    data = dict(TRANSACTIONS)
    data["B"] = ["Date", 45292.0, 45301.0, 45296.0, None, 45293.0]
    for date1904, as_of in ((False, D(2024, 1, 11)), (True, D(2028, 1, 12))):
        book = ComWorkbook(date1904=date1904)
        book_sheet = ComSheet.from_columns("Data", data, book)
        caller = ComSheet("Calc", {}, book).Cells(1, 1)
        # as_of is the day after the last date in both systems: recency is the same...
        assert excel.call("RFM_TABLE", *columns(book_sheet, "A", "B", "C"), caller=caller) == TABLE
        # ...and an explicit as-of date pins which system was used.
        result = excel.call("RFM_TABLE", *columns(book_sheet, "A", "B", "C"), None, as_of, caller=caller)
        assert result == TABLE, date1904


def test_score_cluster_profile_take_currency_cells(excel):
    recency = ["Recency", 1.0, 20.0, 5.0, 3.0, 10.0]
    frequency = ["Frequency", 3.0, 1.0, 2.0, 4.0, 5.0]
    monetary = ["Monetary", 100.0, 10.0, 50.0, 40.0, 30.0]
    groups = ["Group", "x", "y", "x", "y", "x"]
    as_currency = ["Monetary"] + [currency(str(v)) for v in monetary[1:]]
    plain = ComSheet.from_columns("Plain", {"A": recency, "B": frequency, "C": monetary, "D": groups})
    money = ComSheet.from_columns("Money", {"A": recency, "B": frequency, "C": as_currency, "D": groups})
    for name, letters in (("RFM_SCORE", "ABC"), ("RFM_CLUSTER", "ABC"), ("RFM_KSELECT", "ABC"),
                          ("RFM_PROFILE", "DABC")):
        expected = excel.call(name, *columns(plain, *letters))
        assert not str(expected[0][0]).startswith("#RFM!"), expected
        assert excel.call(name, *columns(money, *letters)) == expected, name
    # An error value among the scores' inputs is named.
    bad = ComSheet.from_columns("Bad", {"A": recency, "B": frequency, "C": ["Monetary", 1.0, error(2045), 3.0, 4.0, 5.0]})
    result = excel.call("RFM_SCORE", *columns(bad, "A", "B", "C"))
    assert result == [["#RFM! monetary, row 3: '#SPILL!' is an Excel error, not a number."]]


#: Functions of a few numbers (no ranges, no fitting): the Insert Function dialog may show their result.
SCALAR_FUNCTIONS = {"RFM_SAMPLE_SIZE", "RFM_DETECTABLE_LIFT", "RFM_READOUT"}


def test_every_function_that_fits_is_not_run_by_the_insert_function_dialog(excel):
    for name in udfs.__all__:
        assert excel.xlfunc(name)["call_in_wizard"] is (name in SCALAR_FUNCTIONS), name


# --------------------------------------------------------------------------------------
# Ribbon macros: a book whose reads go through the Windows engine's value cleaning
# --------------------------------------------------------------------------------------
@pytest.fixture
def windows_reads(excel, monkeypatch):
    """Remote-engine books whose range reads deliver COM values, cleaned by xlwings' Windows code.

    ``raw[sheet name]`` maps (row, column), 1-based, to what pywin32 returns for the cell.
    Writes are still recorded as remote-engine actions.
    """
    from xlwings.pro import _xlremote

    raw: dict[str, dict[tuple[int, int], object]] = {}
    original = _xlremote.Range.raw_value

    def raw_value(self):
        cells = raw.get(self.sheet.name)
        if cells is None:
            return original.fget(self)
        rows, cols = self.shape
        return [[cells.get((self.row + i, self.column + j)) for j in range(cols)] for i in range(rows)]

    monkeypatch.setattr(_xlremote.Range, "raw_value", property(raw_value, original.fset))
    monkeypatch.setattr(_xlremote.Engine, "clean_value_data", staticmethod(excel.xlwindows.Engine.clean_value_data))
    return raw


def com_cells(values: list[list], convert) -> dict[tuple[int, int], object]:
    return {(r, c): convert(r, c, v) for r, row in enumerate(values, start=1) for c, v in enumerate(row, start=1)
            if v not in ("", None)}


def test_analyze_sheet_with_currency_amounts_and_com_dates(make_book, windows_reads):
    values = transactions()

    def as_com(row, column, value):
        if row == 1:
            return value
        if column == 2:
            return com_time(*map(int, value[:10].split("-")))
        if column == 3:
            return currency(str(value))
        return value

    windows_reads["Data"] = com_cells(values, as_com)
    book = make_book([sheet("Data", values), SETTINGS])
    macros.analyze_sheet(book)
    assert not by_func(book, "alert")
    written = values_written(book, 4, 3)     # RFM Customers: header row then data
    assert [row[:13] for row in written[1:]] == EXPECTED_CUSTOMERS


def test_analyze_sheet_names_an_error_value_and_its_sheet_row(make_book, windows_reads):
    values = transactions()
    values[3][2] = 0.0         # placeholder in the payload; the COM read delivers #SPILL!
    cells = com_cells(values, lambda r, c, v: v)
    cells[(4, 3)] = error(2045)
    windows_reads["Data"] = cells
    book = make_book([sheet("Data", values), SETTINGS])
    macros.analyze_sheet(book)
    alerts = by_func(book, "alert")
    assert len(alerts) == 1
    assert "row 4: '#SPILL!'" in alerts[0]["args"][0]
    assert not by_func(book, "addSheet")


# --------------------------------------------------------------------------------------
# The Mac reader
# --------------------------------------------------------------------------------------
class _MacRange:
    """What xlwings' Mac engine gives: values without errors (None), and the displayed text."""

    __module__ = "xlwings._xlmac"

    def __init__(self, values, shown):
        self.values, self.shown = values, shown


class _MacXlwingsRange:
    def __init__(self, values, shown):
        self.impl = _MacRange(values, shown)
        self.api = type("Api", (), {"string_value": type("Get", (), {"get": lambda _self: shown})()})()
        self.options_seen = []

    def options(self, **options):
        self.options_seen.append(options)
        return type("Read", (), {"value": self.impl.values})()


def test_mac_reader_overlays_displayed_errors_without_err_to_str():
    values = [["Customer", "Amount"], ["a", 10.0], ["b", None], ["c", None]]
    shown = [["Customer", "Amount"], ["a", "$10.00"], ["b", "#SPILL!"], ["c", ""]]
    rng = _MacXlwingsRange(values, shown)
    assert cell_values.read_values(rng) == [["Customer", "Amount"], ["a", 10.0], ["b", "#SPILL!"], ["c", None]]
    # xlwings 0.37.8's Mac err_to_str fails on 2-D ranges: it must not be asked for.
    assert rng.options_seen == [{"ndim": 2}]


def test_mac_err_to_str_really_fails_on_two_dimensional_ranges():
    """The reason for the reader above, read from xlwings' installed Mac source."""
    import ast
    from pathlib import Path

    import xlwings

    source = (Path(xlwings.__file__).parent / "_xlmac.py").read_text()
    tree = ast.parse(source)
    ensure = next(node for node in ast.walk(tree) if isinstance(node, ast.FunctionDef) and node.name == "ensure_2d")
    namespace: dict = {}
    exec(compile(ast.Module(body=[ensure], type_ignores=[]), "_xlmac.py", "exec"), namespace)
    assert namespace["ensure_2d"]([[1, 2], [3, 4]]) is None       # xlwings then iterates over None


def test_import_functions_registers_plain_descriptions_and_no_wizard_calls(excel):
    """xlwings' own import_udfs on a stand-in workbook: the VBA it generates and what it tells Excel."""
    from pathlib import Path
    from unittest import mock

    workbook = mock.MagicMock()
    workbook.Name = "RFM workbook.xlsm"
    workbook.Application.Version = "16.0"
    generated = []
    workbook.VBProject.VBComponents.Import.side_effect = lambda path: generated.append(Path(path).read_text())
    excel.udfs.import_udfs(excel.module.__name__, workbook)
    vba = generated[0]
    described = {call.args[0].split("!")[1]: call.kwargs for call in workbook.Application.MacroOptions.call_args_list}
    assert sorted(described) == sorted(udfs.__all__)
    for name in udfs.__all__:
        description = described[name]["Description"]
        assert description == udfs.excel_description(getattr(udfs, name))
        assert "Parameters" not in description and "\n" not in description and len(description) <= 255
        assert described[name]["Category"] == "RFM"
        # call_in_wizard=False: the wrapper leaves at once while the Insert Function dialog is open.
        body = vba.split(f"Function {name}(", 1)[1].split("End Function", 1)[0]
        leaves = 'If (Not Application.CommandBars("Standard").Controls(1).Enabled) Then Exit Function' in body
        assert leaves is (name not in SCALAR_FUNCTIONS), name
    # The caller argument is filled in by xlwings, never shown as an Excel argument.
    assert "Function RFM_TABLE(customers, dates, amounts, Optional orders, Optional as_of)" in vba
