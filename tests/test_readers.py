"""Reading transactions files: CSV dialects and encodings, workbooks, Parquet, and bad files."""
from __future__ import annotations

import datetime as dt

import pandas as pd
import pytest
from openpyxl import Workbook

import rfm_addin
from rfm_addin import RfmError
from rfm_addin.sources.route import compute_rfm


def ts(text: str) -> pd.Timestamp:
    return pd.Timestamp(text)


# --------------------------------------------------------------------------- CSV


def test_semicolon_separator_with_decimal_comma(tmp_path):
    path = tmp_path / "semi.csv"
    path.write_text("CustomerID;InvoiceDate;Amount\na;2024-01-01;1,5\nb;2024-01-02;2\na;2024-01-03;0,25\n",
                    encoding="utf-8")
    read = rfm_addin.read_transactions(path)
    assert read.frame.columns.tolist() == ["CustomerID", "InvoiceDate", "Amount"]
    assert read.frame["Amount"].tolist() == ["1,5", "2", "0,25"]
    assert read.first_row == 2
    table = rfm_addin.rfm_table(path, decimal=",")
    assert table["monetary"].to_dict() == {"a": 1.75, "b": 2.0}
    assert table["frequency"].to_dict() == {"a": 2, "b": 1}


def test_tab_separated_file(tmp_path):
    path = tmp_path / "t.tsv"
    path.write_text("CustomerID\tInvoiceDate\tAmount\na\t2024-01-01\t3\n", encoding="utf-8")
    table = rfm_addin.rfm_table(path)
    assert table["monetary"].to_dict() == {"a": 3.0}


def test_cp1252_encoding(tmp_path):
    path = tmp_path / "cp.csv"
    text = "CustomerID,Name,InvoiceDate,Amount\na,Müller,2024-01-01,1\nb,Straße,2024-01-02,2\na,,2024-01-03,4\n"
    path.write_bytes(text.encode("cp1252"))
    read = rfm_addin.read_transactions(path)
    assert read.frame["Name"].tolist()[:2] == ["Müller", "Straße"]
    table = rfm_addin.rfm_table(path, keep="Name")
    assert table["Name"].to_dict() == {"a": "Müller", "b": "Straße"}
    assert table["monetary"].to_dict() == {"a": 5.0, "b": 2.0}


def test_utf8_bom_is_not_part_of_the_first_header(tmp_path):
    path = tmp_path / "bom.csv"
    path.write_bytes("CustomerID,InvoiceDate,Amount\nä,2024-01-01,1\n".encode("utf-8-sig"))
    read = rfm_addin.read_transactions(path)
    assert read.frame.columns.tolist() == ["CustomerID", "InvoiceDate", "Amount"]
    table = rfm_addin.rfm_table(path)
    assert table.index.name == "CustomerID"
    assert table.index.tolist() == ["ä"]


def test_quoted_fields_with_separators(tmp_path):
    path = tmp_path / "q.csv"
    path.write_text('CustomerID,Name,InvoiceDate,Amount\n1,"Smith, John",2024-01-01,"1,234.50"\n', encoding="utf-8")
    table = rfm_addin.rfm_table(path, keep="Name", thousands=",")
    assert table.loc["1", "Name"] == "Smith, John"
    assert table.loc["1", "monetary"] == 1234.5


def test_blank_lines_keep_file_line_numbers(tmp_path):
    # line 1 header, 2 blank, 3 a, 4 blank, 5 blank, 6 b (bad date)
    path = tmp_path / "bl.csv"
    path.write_text("CustomerID,InvoiceDate,Amount\n\na,2024-01-01,1\n\n\nb,bad,2\n", encoding="utf-8")
    read = rfm_addin.read_transactions(path)
    assert len(read.frame) == 5
    with pytest.raises(RfmError) as info:
        rfm_addin.rfm_table(path)
    assert "(row 6: 'bad')" in str(info.value)
    assert info.value.rows == [6]


def test_blank_lines_are_counted_as_blank_rows(tmp_path):
    path = tmp_path / "bl.csv"
    path.write_text("CustomerID,InvoiceDate,Amount\n\na,2024-01-01,1\n\n\nb,2024-01-02,2\n", encoding="utf-8")
    result = compute_rfm(path)
    assert result.quality.counts["blank_rows"] == 3
    assert result.table["monetary"].to_dict() == {"a": 1.0, "b": 2.0}


def test_csv_cells_stay_text(tmp_path):
    path = tmp_path / "t.csv"
    path.write_text("CustomerID,InvoiceDate,Amount\n007,2024-01-01,NA\n", encoding="utf-8")
    read = rfm_addin.read_transactions(path)
    # "NA" is not silently turned into a blank, leading zeros are kept
    assert read.frame.iloc[0].tolist() == ["007", "2024-01-01", "NA"]
    with pytest.raises(RfmError, match=r"Column 'Amount': 1 value not readable as a number \(row 2: 'NA'\)"):
        rfm_addin.rfm_table(path)


# --------------------------------------------------------------------------- XLSX


def test_xlsx_header_below_empty_rows_numbers_rows_from_the_sheet(tmp_path):
    wb = Workbook()
    ws = wb.active
    for col, name in enumerate(["CustomerID", "InvoiceDate", "Amount"], start=1):
        ws.cell(3, col, name)
    ws.cell(4, 1, "a"), ws.cell(4, 2, dt.datetime(2024, 1, 1)), ws.cell(4, 3, 1.0)
    ws.cell(5, 1, "b"), ws.cell(5, 2, dt.datetime(2024, 1, 2)), ws.cell(5, 3, "oops")
    wb.save(tmp_path / "h3.xlsx")
    read = rfm_addin.read_transactions(tmp_path / "h3.xlsx")
    assert read.first_row == 4
    assert read.frame.columns.tolist() == ["CustomerID", "InvoiceDate", "Amount"]
    with pytest.raises(RfmError) as info:
        rfm_addin.rfm_table(tmp_path / "h3.xlsx")
    assert "Column 'Amount': 1 value not readable as a number (row 5: 'oops')" in str(info.value)
    assert info.value.rows == [5]


def _titled_workbook(path):
    wb = Workbook()
    ws = wb.active
    ws["A1"] = "Sales report 2024"
    for col, name in enumerate(["CustomerID", "InvoiceDate", "Amount"], start=1):
        ws.cell(3, col, name)
    ws.cell(4, 1, "a"), ws.cell(4, 2, dt.datetime(2024, 1, 1)), ws.cell(4, 3, 1.0)
    ws.cell(5, 1, "b"), ws.cell(5, 2, dt.datetime(2024, 1, 2)), ws.cell(5, 3, "oops")
    wb.save(path)
    return path


def test_xlsx_title_above_header_numbers_rows_from_the_sheet(tmp_path):
    path = _titled_workbook(tmp_path / "titled.xlsx")
    read = rfm_addin.read_transactions(path)
    assert read.frame.columns.tolist() == ["CustomerID", "InvoiceDate", "Amount"]
    assert read.first_row == 4
    with pytest.raises(RfmError) as info:
        rfm_addin.rfm_table(path)
    assert "(row 5: 'oops')" in str(info.value)


def test_xlsx_trailing_empty_rows_are_dropped(tmp_path):
    wb = Workbook()
    ws = wb.active
    ws.append(["CustomerID", "InvoiceDate", "Amount"])
    ws.append(["a", dt.datetime(2024, 1, 1), 1.0])
    ws.append(["b", dt.datetime(2024, 1, 2, 15, 30), 2.0])
    # formatted but empty cells far below the data, as Excel leaves them
    ws.cell(20, 2).number_format = "yyyy-mm-dd"
    ws.cell(25, 3).number_format = "0.00"
    ws.cell(30, 1).value = None
    wb.save(tmp_path / "trail.xlsx")
    read = rfm_addin.read_transactions(tmp_path / "trail.xlsx")
    assert len(read.frame) == 2
    result = compute_rfm(tmp_path / "trail.xlsx")
    assert result.quality.counts["rows_read"] == 2
    assert result.quality.counts["blank_rows"] == 0
    assert result.table["last_purchase"].to_dict() == {"a": ts("2024-01-01"), "b": ts("2024-01-02")}  # day precision
    assert result.table["recency"].to_dict() == {"a": 2, "b": 1}


def test_xlsx_named_sheet(tmp_path):
    wb = Workbook()
    wb.active.title = "Notes"
    wb.active["A1"] = "nothing here"
    ws = wb.create_sheet("Data")
    ws.append(["CustomerID", "InvoiceDate", "Amount"])
    ws.append(["a", dt.datetime(2024, 1, 1), 4.5])
    wb.save(tmp_path / "sheets.xlsx")
    read = rfm_addin.read_transactions(tmp_path / "sheets.xlsx", sheet="Data")
    assert read.frame.iloc[0].tolist() == ["a", dt.datetime(2024, 1, 1), 4.5]
    with pytest.raises(RfmError) as info:
        rfm_addin.read_transactions(tmp_path / "sheets.xlsx", sheet="Missing")
    assert str(info.value) == "sheets.xlsx has no sheet 'Missing'; sheets: Notes, Data."


def test_xlsx_empty_sheet(tmp_path):
    Workbook().save(tmp_path / "blank.xlsx")
    with pytest.raises(RfmError) as info:
        rfm_addin.read_transactions(tmp_path / "blank.xlsx")
    message = str(info.value)
    assert message.startswith("Sheet 'Sheet' of blank.xlsx ")
    assert "header row" in message


def test_damaged_xlsx(tmp_path):
    (tmp_path / "bad.xlsx").write_text("not a zip file")
    with pytest.raises(RfmError, match=r"^bad\.xlsx is not a readable Excel workbook"):
        rfm_addin.read_transactions(tmp_path / "bad.xlsx")


# --------------------------------------------------------------------------- Parquet


def test_parquet_round_trip(tmp_path):
    df = pd.DataFrame({
        "CustomerID": ["00123", "b", "00123"],
        "InvoiceDate": pd.to_datetime(["2024-01-01", "2024-01-02", "2024-01-04"]),
        "Amount": [1.5, 2.0, 3.25],
    })
    df.to_parquet(tmp_path / "t.parquet")
    read = rfm_addin.read_transactions(tmp_path / "t.parquet")
    pd.testing.assert_frame_equal(read.frame, df)
    table = rfm_addin.rfm_table(tmp_path / "t.parquet")
    assert table.index.tolist() == ["00123", "b"]
    assert table["monetary"].to_dict() == {"00123": 4.75, "b": 2.0}
    assert table["recency"].to_dict() == {"00123": 1, "b": 3}
    assert table["frequency"].to_dict() == {"00123": 2, "b": 1}
    # same numbers as from the DataFrame itself
    pd.testing.assert_frame_equal(table, rfm_addin.rfm_table(df))


def test_damaged_parquet(tmp_path):
    (tmp_path / "bad.parquet").write_text("garbage")
    with pytest.raises(RfmError, match=r"^bad\.parquet is not a readable Parquet file"):
        rfm_addin.read_transactions(tmp_path / "bad.parquet")


# --------------------------------------------------------------------------- bad paths


def test_unknown_extension(tmp_path):
    (tmp_path / "x.json").write_text("{}")
    with pytest.raises(RfmError) as info:
        rfm_addin.read_transactions(tmp_path / "x.json")
    assert str(info.value) == "Cannot read x.json: use a .csv, .xlsx, .xlsm or .parquet file."


def test_missing_file(tmp_path):
    path = tmp_path / "nope.csv"
    with pytest.raises(RfmError) as info:
        rfm_addin.read_transactions(path)
    assert str(info.value) == f"File not found: {str(path)!r}."


@pytest.mark.parametrize("name", ["empty.csv", "empty.xlsx", "empty.parquet"])
def test_empty_file(tmp_path, name):
    (tmp_path / name).write_bytes(b"")
    with pytest.raises(RfmError) as info:
        rfm_addin.read_transactions(tmp_path / name)
    assert str(info.value) == f"{name} is empty: expected a header row and transactions."


def test_csv_of_only_newlines_is_empty(tmp_path):
    (tmp_path / "nl.csv").write_text("\n\n")
    with pytest.raises(RfmError, match=r"^nl\.csv is empty"):
        rfm_addin.read_transactions(tmp_path / "nl.csv")


def test_folder(tmp_path):
    # A folder is read as its CSV files (tests/test_bad_input.py); an empty one says so.
    folder = tmp_path / "data.csv"
    folder.mkdir()
    with pytest.raises(RfmError) as info:
        rfm_addin.read_transactions(folder)
    assert str(info.value) == f"The folder {str(folder)!r} holds no .parquet or .csv files."


def test_rfm_table_rejects_other_types():
    with pytest.raises(RfmError, match="transactions must be a pandas DataFrame or a file path, not list"):
        rfm_addin.rfm_table([1, 2, 3])
