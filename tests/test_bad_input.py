"""Every kind of bad input an analyst's export can hold gets a clear RfmError (or is cleaned and counted).

Expected values are worked out by hand from the small inputs written in each test.
"""
from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from openpyxl import Workbook
from openpyxl.utils.datetime import CALENDAR_MAC_1904

import rfm_addin
from rfm_addin import RfmError
from rfm_addin.cli import main as cli_main
from rfm_addin.sources.route import compute_rfm

HEADER = "CustomerID,InvoiceDate,Amount\n"


def write_csv(path, text: str, encoding: str = "utf-8"):
    path.write_bytes(text.encode(encoding))
    return path


def frame(customers, dates, amounts, **extra) -> pd.DataFrame:
    data = {"CustomerID": customers, "InvoiceDate": dates, "Amount": amounts}
    data.update(extra)
    return pd.DataFrame(data)


def ts(text: str) -> pd.Timestamp:
    return pd.Timestamp(text)


# --------------------------------------------------------------------------- columns


def test_missing_amount_column_lists_the_columns_found():
    df = pd.DataFrame({"CustomerID": ["a"], "InvoiceDate": ["2024-01-01"], "Foo": [1]})
    with pytest.raises(RfmError) as info:
        rfm_addin.rfm_table(df)
    message = str(info.value)
    assert "Could not find the amount column" in message
    assert "Columns found: 'CustomerID', 'InvoiceDate', 'Foo'." in message
    assert "--amount" in message


def test_missing_customer_and_date_columns_are_both_named():
    df = pd.DataFrame({"Who": ["a"], "When": ["2024-01-01"], "Amount": [1.0]})
    with pytest.raises(RfmError) as info:
        rfm_addin.rfm_table(df)
    message = str(info.value)
    assert "Could not find the customer and date columns" in message
    assert "Columns found: 'Who', 'When', 'Amount'." in message


def test_named_column_that_is_not_in_the_data():
    df = pd.DataFrame({"CustomerID": ["a"], "InvoiceDate": ["2024-01-01"], "Amount": [1.0]})
    with pytest.raises(RfmError) as info:
        rfm_addin.rfm_table(df, amount="Total")
    assert str(info.value) == ("The amount column 'Total' is not in the data. "
                               "Columns found: 'CustomerID', 'InvoiceDate', 'Amount'.")


def test_ambiguous_amount_columns_are_both_named():
    df = pd.DataFrame({"CustomerID": ["a"], "InvoiceDate": ["2024-01-01"], "Amount": [1.0], "Sales": [2.0]})
    with pytest.raises(RfmError) as info:
        rfm_addin.rfm_table(df)
    message = str(info.value)
    assert "Several columns could be the amount column: 'Amount', 'Sales'." in message
    assert "amount=" in message and "--amount" in message


def test_ambiguous_customer_columns_are_both_named_and_naming_one_resolves_it():
    df = pd.DataFrame({"CustomerID": ["a", "b"], "Client": ["x", "x"], "InvoiceDate": ["2024-01-01", "2024-01-02"],
                       "Amount": [1.0, 2.0]})
    with pytest.raises(RfmError, match=r"Several columns could be the customer column: 'CustomerID', 'Client'\."):
        rfm_addin.rfm_table(df)
    table = rfm_addin.rfm_table(df, customer="Client")
    assert table.index.tolist() == ["x"]
    assert table.loc["x", "monetary"] == 3.0
    assert table.loc["x", "frequency"] == 2


# --------------------------------------------------------------------------- empty input


def test_empty_file(tmp_path):
    path = tmp_path / "empty.csv"
    path.write_bytes(b"")
    with pytest.raises(RfmError) as info:
        rfm_addin.rfm_table(path)
    assert str(info.value) == "empty.csv is empty: expected a header row and transactions."


def test_header_only_file(tmp_path):
    path = write_csv(tmp_path / "header.csv", HEADER)
    with pytest.raises(RfmError) as info:
        rfm_addin.rfm_table(path)
    assert str(info.value) == "The data has a header but no rows of transactions."


def test_header_only_dataframe():
    df = pd.DataFrame({"CustomerID": [], "InvoiceDate": [], "Amount": []})
    with pytest.raises(RfmError, match="has a header but no rows"):
        rfm_addin.rfm_table(df)


def test_only_blank_rows_is_an_error(tmp_path):
    path = write_csv(tmp_path / "blank.csv", HEADER + ",,\n\n,,\n")
    with pytest.raises(RfmError, match="No transactions with a customer were found"):
        rfm_addin.rfm_table(path)


# --------------------------------------------------------------------------- blank rows


def test_blank_rows_are_skipped_and_counted(tmp_path):
    # line 1 header, 2 a, 3 empty line, 4 empty cells, 5 b, 6 empty line
    path = write_csv(tmp_path / "t.csv", HEADER + "a,2024-01-01,10\n\n,,\nb,2024-01-02,5\n\n")
    result = compute_rfm(path)
    assert result.quality.counts["blank_rows"] == 3
    assert result.quality.counts["rows_read"] == 5
    assert result.quality.counts["transactions_used"] == 2
    assert result.table["monetary"].to_dict() == {"a": 10.0, "b": 5.0}


def test_row_numbers_after_blank_rows_are_file_line_numbers(tmp_path):
    path = write_csv(tmp_path / "t.csv", HEADER + "a,2024-01-01,10\n\n,,\nb,2024-01-02,x\n")
    with pytest.raises(RfmError) as info:
        rfm_addin.rfm_table(path)
    assert str(info.value).startswith("Column 'Amount': 1 value not readable as a number (row 5: 'x').")
    assert info.value.rows == [5]


# --------------------------------------------------------------------------- text amounts


def test_grouped_dollar_amount_is_an_error_naming_row_and_column_with_a_hint():
    df = frame(["a", "b"], ["2024-01-01", "2024-01-02"], ["7", "$1,234.50"])
    with pytest.raises(RfmError) as info:
        rfm_addin.rfm_table(df)
    message = str(info.value)
    assert "Column 'Amount'" in message
    assert "(row 3: '$1,234.50')" in message
    assert "thousands=','" in message and "--thousands ," in message


def test_grouped_dollar_amount_with_thousands_comma():
    df = frame(["a", "b", "c"], ["2024-01-01"] * 3, ["$1,234.50", "USD 3", "12,000"])
    table = rfm_addin.rfm_table(df, thousands=",")
    assert table["monetary"].to_dict() == {"a": 1234.5, "b": 3.0, "c": 12000.0}


def test_european_amounts_need_decimal_comma_and_thousands_dot():
    df = frame(["a", "b"], ["2024-01-01", "2024-01-02"], ["1.234,50", "7,25"])
    with pytest.raises(RfmError) as info:
        rfm_addin.rfm_table(df)
    message = str(info.value)
    assert "(row 2: '1.234,50', row 3: '7,25')" in message
    assert "decimal=','" in message and "thousands='.'" in message


def test_european_amounts_exact_values():
    df = frame(["a", "b", "c", "d"], ["2024-01-01"] * 4, ["1.234,50", "7,25", "€ 2.000.000,01", "0,1"])
    table = rfm_addin.rfm_table(df, decimal=",", thousands=".")
    assert table["monetary"].to_dict() == {"a": 1234.5, "b": 7.25, "c": 2000000.01, "d": 0.1}


def test_european_amounts_with_decimal_comma_only_is_still_an_error():
    df = frame(["a", "b"], ["2024-01-01", "2024-01-02"], ["1.234,50", "7,25"])
    with pytest.raises(RfmError, match=r"row 2: '1\.234,50'"):
        rfm_addin.rfm_table(df, decimal=",")


def test_decimal_comma_only_hint_suggests_thousands_dot():
    df = frame(["a", "b"], ["2024-01-01", "2024-01-02"], ["1.234,50", "7,25"])
    with pytest.raises(RfmError) as info:
        rfm_addin.rfm_table(df, decimal=",")
    assert "thousands='.'" in str(info.value)


def test_bad_decimal_and_thousands_options():
    df = frame(["a"], ["2024-01-01"], [1.0])
    with pytest.raises(RfmError, match=r"decimal must be '\.' or ',', not ';'"):
        rfm_addin.rfm_table(df, decimal=";")
    with pytest.raises(RfmError, match="thousands must be one of"):
        rfm_addin.rfm_table(df, thousands=".", decimal=".")


def test_decimal_amounts_from_a_sql_query_are_numbers():
    """pandas.read_sql and Ibis hand NUMERIC columns over as decimal.Decimal objects (found
    reading payments from PostgreSQL): they are numbers, the same as floats."""
    from decimal import Decimal

    floats = frame(list("aab"), ["2024-01-01", "2024-02-01", "2024-01-15"], [10.25, 20.5, 7.0])
    decimals = floats.assign(Amount=[Decimal("10.25"), Decimal("20.50"), Decimal("7.00")])
    pd.testing.assert_frame_equal(rfm_addin.rfm_table(floats), rfm_addin.rfm_table(decimals))
    with pytest.raises(RfmError, match="not readable as a number"):
        rfm_addin.rfm_table(decimals.assign(Amount=[Decimal("1"), Decimal("Infinity"), Decimal("2")]))


def test_nan_amounts_name_the_rows():
    df = frame(list("abcd"), ["2024-01-01"] * 4, [1.0, np.nan, 3.0, np.nan])
    with pytest.raises(RfmError) as info:
        rfm_addin.rfm_table(df)
    message = str(info.value)
    assert "Column 'Amount': the amount is empty in 2 rows" in message
    assert "(rows 3, 5)" in message
    assert info.value.rows == [3, 5]


def test_missing_date_for_a_customer_names_the_row():
    df = frame(["a", "b"], ["2024-01-01", None], [1.0, 2.0])
    with pytest.raises(RfmError) as info:
        rfm_addin.rfm_table(df)
    assert "Column 'InvoiceDate': the date is empty in 1 row" in str(info.value)
    assert info.value.rows == [3]


# --------------------------------------------------------------------------- dates


def test_unparsable_dates_list_their_source_rows(tmp_path):
    text = (HEADER + "a,2024-01-01,1\nb,2024-01-02,1\nc,not a date,1\nd,2024-01-03,1\n"
            "e,2024-01-04,1\nf,not a date,1\n")
    path = write_csv(tmp_path / "dates.csv", text)
    with pytest.raises(RfmError) as info:
        rfm_addin.rfm_table(path)
    message = str(info.value)
    assert "Column 'InvoiceDate'" in message
    assert "row 4: 'not a date'" in message and "row 7: 'not a date'" in message
    assert info.value.rows == [4, 7]


def test_only_first_five_bad_rows_are_listed():
    dates = ["bad"] * 7 + ["2024-01-01"]
    df = frame(list("abcdefgh"), dates, [1.0] * 8)
    with pytest.raises(RfmError) as info:
        rfm_addin.rfm_table(df)
    message = str(info.value)
    assert "7 values not readable as a date" in message
    assert "row 6: 'bad' and 2 more" in message
    assert "row 7:" not in message
    assert info.value.rows == [2, 3, 4, 5, 6]


def test_excel_serial_numbers_in_a_dataframe_use_the_1900_system():
    df = frame(["a", "b"], [45000, 45000.5], [1.0, 2.0])
    table = rfm_addin.rfm_table(df)
    assert table["last_purchase"].to_dict() == {"a": ts("2023-03-15"), "b": ts("2023-03-15")}
    assert table.attrs["as_of"] == ts("2023-03-16")


def test_excel_serial_numbers_as_text_in_a_csv(tmp_path):
    path = write_csv(tmp_path / "s.csv", HEADER + "a,45000,1\nb,45001,2\n")
    table = rfm_addin.rfm_table(path)
    assert table["last_purchase"].to_dict() == {"a": ts("2023-03-15"), "b": ts("2023-03-16")}


def test_1904_date_system_given_explicitly():
    df = frame(["a"], [45000], [1.0])
    table = rfm_addin.rfm_table(df, date_system=1904)
    assert table.loc["a", "last_purchase"] == ts("2027-03-16")


def _serial_workbook(path, epoch=None):
    wb = Workbook()
    if epoch is not None:
        wb.epoch = epoch
    ws = wb.active
    ws.append(["CustomerID", "InvoiceDate", "Amount"])
    ws.append(["a", 45000, 10.0])  # plain numbers, not formatted as dates
    ws.append(["b", 45001, 5.0])
    wb.save(path)
    return path


def test_workbook_in_1900_system_serial_dates(tmp_path):
    path = _serial_workbook(tmp_path / "win.xlsx")
    read = rfm_addin.read_transactions(path)
    assert read.date_system == 1900
    table = rfm_addin.rfm_table(path)
    assert table["last_purchase"].to_dict() == {"a": ts("2023-03-15"), "b": ts("2023-03-16")}
    assert table["recency"].to_dict() == {"a": 2, "b": 1}


def test_workbook_in_1904_system_serial_dates(tmp_path):
    path = _serial_workbook(tmp_path / "mac.xlsx", CALENDAR_MAC_1904)
    read = rfm_addin.read_transactions(path)
    assert read.date_system == 1904
    table = rfm_addin.rfm_table(path)
    assert table["last_purchase"].to_dict() == {"a": ts("2027-03-16"), "b": ts("2027-03-17")}
    assert table.attrs["as_of"] == ts("2027-03-18")


def test_1900_leap_year_bug_serials_below_61():
    # Excel's 1900 system pretends 1900-02-29 exists (serial 60): serials 1..59 are one day
    # later than "days since 1899-12-30", serials from 61 on are not.
    df = frame(["a", "b", "c", "d"], [1, 31, 59, 61], [1.0, 1.0, 1.0, 1.0])
    table = rfm_addin.rfm_table(df)
    assert table["last_purchase"].to_dict() == {
        "a": ts("1900-01-01"), "b": ts("1900-01-31"), "c": ts("1900-02-28"), "d": ts("1900-03-01")}


def test_ambiguous_day_month_text_dates_need_dayfirst():
    df = frame(["a", "b"], ["03/04/2024", "05/04/2024"], [1.0, 2.0])
    with pytest.raises(RfmError) as info:
        rfm_addin.rfm_table(df)
    message = str(info.value)
    assert "'03/04/2024' could be day-first or month-first" in message
    assert "dayfirst=True/False" in message and "--dayfirst" in message
    assert rfm_addin.rfm_table(df, dayfirst=True)["last_purchase"].to_dict() == {
        "a": ts("2024-04-03"), "b": ts("2024-04-05")}
    assert rfm_addin.rfm_table(df, dayfirst=False)["last_purchase"].to_dict() == {
        "a": ts("2024-03-04"), "b": ts("2024-05-04")}


def test_unambiguous_day_first_text_dates_need_no_option():
    df = frame(["a", "b"], ["03/04/2024", "25/04/2024"], [1.0, 2.0])
    assert rfm_addin.rfm_table(df)["last_purchase"].to_dict() == {"a": ts("2024-04-03"), "b": ts("2024-04-25")}


def test_bad_as_of():
    df = frame(["a"], ["2024-01-01"], [1.0])
    with pytest.raises(RfmError) as info:
        rfm_addin.rfm_table(df, as_of="yesterday")
    assert str(info.value) == "as_of 'yesterday' is not a date; write it as YYYY-MM-DD."


# --------------------------------------------------------------------------- Excel error values


@pytest.mark.parametrize("column, message", [
    ("CustomerID", "Column 'CustomerID': 1 value holding an Excel error instead of an id (row 3: '#N/A')."),
    ("InvoiceDate", "Column 'InvoiceDate': 1 value not readable as a date (row 3: '#N/A')."),
    ("Amount", "Column 'Amount': 1 value not readable as a number (row 3: '#N/A')."),
])
def test_excel_na_error_strings_name_row_column_and_value(column, message):
    data = {"CustomerID": ["a", "b", "c"], "InvoiceDate": ["2024-01-01"] * 3, "Amount": [1.0, 2.0, 3.0]}
    data[column] = list(data[column])
    data[column][1] = "#N/A"
    with pytest.raises(RfmError) as info:
        rfm_addin.rfm_table(pd.DataFrame(data))
    assert str(info.value).startswith(message)
    assert info.value.rows == [3]
    assert info.value.column == column


def test_other_excel_error_values_in_amounts():
    df = frame(list("abcd"), ["2024-01-01"] * 4, [1.0, "#VALUE!", 3.0, "#REF!"])
    with pytest.raises(RfmError) as info:
        rfm_addin.rfm_table(df)
    assert "2 values not readable as a number (row 3: '#VALUE!', row 5: '#REF!')" in str(info.value)


def test_excel_error_in_a_csv_is_not_a_silent_blank(tmp_path):
    path = write_csv(tmp_path / "na.csv", HEADER + "a,2024-01-01,1\n#N/A,2024-01-02,2\n")
    with pytest.raises(RfmError, match=r"Column 'CustomerID': 1 value holding an Excel error .*\(row 3: '#N/A'\)"):
        rfm_addin.rfm_table(path)


# --------------------------------------------------------------------------- ids


def test_float_ids_lose_the_trailing_zero():
    df = frame([12346.0, 12347.0, 12346.0], ["2024-01-01", "2024-01-02", "2024-01-03"], [1.0, 2.0, 4.0])
    table = rfm_addin.rfm_table(df)
    assert table.index.tolist() == ["12346", "12347"]
    assert table.loc["12346", "monetary"] == 5.0


def test_text_ids_keep_leading_zeros():
    df = frame(["00123", "123"], ["2024-01-01", "2024-01-02"], [1.0, 2.0])
    table = rfm_addin.rfm_table(df)
    assert table.index.tolist() == ["00123", "123"]
    assert table["monetary"].to_dict() == {"00123": 1.0, "123": 2.0}


def test_csv_read_keeps_leading_zeros(tmp_path):
    path = write_csv(tmp_path / "z.csv", HEADER + "00123,2024-01-01,1\n123,2024-01-02,2\n0042,2024-01-02,3\n")
    table = rfm_addin.rfm_table(path)
    assert table.index.tolist() == ["00123", "0042", "123"]  # sorted as text


def test_workbook_numeric_ids_become_integral_text(tmp_path):
    wb = Workbook()
    ws = wb.active
    ws.append(["CustomerID", "InvoiceDate", "Amount"])
    ws.append([12346, "2024-01-01", 1.0])
    ws.append([12347.0, "2024-01-02", 2.0])
    ws.append(["00123", "2024-01-02", 3.0])
    wb.save(tmp_path / "ids.xlsx")
    table = rfm_addin.rfm_table(tmp_path / "ids.xlsx")
    assert table.index.tolist() == ["00123", "12346", "12347"]


def test_csv_float_text_ids_are_one_customer(tmp_path):
    path = write_csv(tmp_path / "f.csv", HEADER + "12346.0,2024-01-01,1\n12346,2024-01-02,2\n")
    table = rfm_addin.rfm_table(path)
    assert table.index.tolist() == ["12346"]
    assert table.loc["12346", "monetary"] == 3.0


# --------------------------------------------------------------------------- few customers


def test_single_customer_rfm_table():
    df = frame(["a", "a"], ["2024-01-01", "2024-01-05"], [1.0, 2.0])
    table = rfm_addin.rfm_table(df)
    assert table.index.tolist() == ["a"]
    row = table.loc["a"]
    assert (row["recency"], row["frequency"], row["monetary"], row["avg_order_value"]) == (1, 2, 3.0, 1.5)
    assert row["first_purchase"] == ts("2024-01-01") and row["last_purchase"] == ts("2024-01-05")


def test_single_customer_analyze_skips_clustering_and_says_why():
    df = frame(["a", "a"], ["2024-01-01", "2024-01-05"], [1.0, 2.0])
    result = rfm_addin.analyze(df)
    assert result.customers.index.tolist() == ["a"]
    assert result.customers["cluster"].isna().all()
    assert result.parameters["k"] == 0
    skipped = [line for line in result.insights if line.startswith("Clustering was skipped:")]
    assert len(skipped) == 1
    assert "nothing to cluster" in skipped[0]


def test_single_customer_analyze_with_k_is_an_error():
    df = frame(["a", "a"], ["2024-01-01", "2024-01-05"], [1.0, 2.0])
    with pytest.raises(RfmError) as info:
        rfm_addin.analyze(df, k=2)
    assert str(info.value) == "There are 1 customers, fewer than k = 2; choose a smaller k."


def test_fewer_customers_than_k():
    df = frame(list("abc"), ["2024-01-01", "2024-01-05", "2024-01-03"], [1.0, 2.0, 3.0])
    with pytest.raises(RfmError) as info:
        rfm_addin.analyze(df, k=5)
    assert "There are 3 customers, fewer than k = 5" in str(info.value)
    assert "choose a smaller k" in str(info.value)


def test_few_distinct_customers_default_k_does_not_crash():
    # k = number of customers cannot be scored (silhouette needs k < n), so only k = 2 is usable
    df = frame(list("abc"), ["2024-01-01", "2024-01-05", "2024-01-03"], [1.0, 2.0, 30.0])
    result = rfm_addin.analyze(df)
    assert result.customers.index.tolist() == ["a", "b", "c"]
    assert result.parameters["k"] == 2
    assert result.customers["cluster"].notna().all()


def test_all_customers_identical():
    df = frame(list("abcd"), ["2024-01-01"] * 4, [5.0] * 4)
    result = rfm_addin.analyze(df)
    customers = result.customers
    assert customers.index.tolist() == ["a", "b", "c", "d"]
    assert customers["monetary"].tolist() == [5.0] * 4
    assert customers["segment"].nunique() == 1
    assert customers["r_score"].nunique() == 1
    assert customers["cluster"].isna().all()
    assert any(line.startswith("Clustering was skipped: All customers have the same recency, frequency and "
                               "monetary value") for line in result.insights)
    with pytest.raises(RfmError, match="All customers have the same recency, frequency and monetary value"):
        rfm_addin.analyze(df, k=2)


# --------------------------------------------------------------------------- cleaning rules


def test_rows_without_customer_are_dropped_and_counted_with_their_amount():
    df = frame(["a", None, "b", "", "  "], ["2024-01-01"] * 5, [1.0, 7.5, 3.0, 2.5, 1.0])
    result = compute_rfm(df)
    assert result.table.index.tolist() == ["a", "b"]
    assert result.quality.counts["no_customer"] == 3
    assert result.quality.counts["no_customer_amount"] == 11.0
    assert result.quality.counts["transactions_used"] == 2


def test_cancellation_only_customers_are_left_out_and_counted():
    df = frame(["a", "b", "b", "c"], ["2024-01-01", "2024-01-02", "2024-01-03", "2024-01-04"],
               [10.0, -4.0, -6.0, 5.0])
    result = compute_rfm(df)
    assert result.table.index.tolist() == ["a", "c"]
    assert result.quality.counts["cancel_only_customers"] == 1
    assert result.quality.counts["cancel_only_customers_amount"] == -10.0
    assert result.quality.counts["cancellations"] == 2


def test_cancellation_invoices_starting_with_c_do_not_count_as_orders():
    df = pd.DataFrame({"InvoiceNo": ["1", "C2", "C3"], "CustomerID": ["a", "a", "b"],
                       "InvoiceDate": ["2024-01-01", "2024-01-09", "2024-01-03"], "Amount": [10.0, 4.0, 6.0]})
    result = compute_rfm(df)
    assert result.table.index.tolist() == ["a"]
    row = result.table.loc["a"]
    # the cancellation subtracts but does not move the last purchase date
    assert (row["frequency"], row["monetary"], row["recency"]) == (1, 6.0, 9)
    assert result.quality.counts["cancel_only_customers"] == 1


def test_rows_after_as_of_are_left_out_and_counted():
    df = frame(["a", "a", "b", "c"], ["2024-01-01", "2024-02-01", "2024-01-10", "2024-03-01"],
               [10.0, 4.0, 6.0, 5.0])
    result = compute_rfm(df, as_of="2024-01-15")
    assert result.as_of == ts("2024-01-15")
    assert result.table.index.tolist() == ["a", "b"]
    assert result.table["recency"].to_dict() == {"a": 14, "b": 5}
    assert result.table["monetary"].to_dict() == {"a": 10.0, "b": 6.0}
    assert result.quality.counts["after_as_of"] == 2
    assert result.quality.counts["after_as_of_amount"] == 9.0


def test_every_row_after_as_of_is_an_error():
    df = frame(["a"], ["2024-02-01"], [1.0])
    with pytest.raises(RfmError, match="No purchases were found on or before the as-of date"):
        rfm_addin.rfm_table(df, as_of="2024-01-01")


def test_quantity_times_unit_price_when_no_amount_column():
    df = pd.DataFrame({"InvoiceNo": ["1", "1", "2", "C3"], "CustomerID": ["a", "a", "a", "a"],
                       "InvoiceDate": ["2024-01-01", "2024-01-01", "2024-01-05", "2024-01-06"],
                       "Quantity": [2, 3, 1, -1], "UnitPrice": [1.25, 2.5, 10.0, 2.5]})
    result = compute_rfm(df)
    row = result.table.loc["a"]
    # 2*1.25 + 3*2.5 + 1*10 - 1*2.5 = 17.5 over orders 1 and 2
    assert (row["monetary"], row["frequency"], row["avg_order_value"], row["recency"]) == (17.5, 2, 8.75, 2)
    assert result.quality.counts["amount_from_lines"] == 4
    assert result.quality.counts["cancellations"] == 1
    assert result.quality.counts["cancellations_amount"] == -2.5


def test_negative_quantity_lines_are_returns():
    df = pd.DataFrame({"CustomerID": ["a", "a", "b"], "InvoiceDate": ["2024-01-01", "2024-01-05", "2024-01-03"],
                       "Quantity": [2, -1, 3], "UnitPrice": [1.25, 1.25, 0.5]})
    result = compute_rfm(df)
    table = result.table
    assert table["monetary"].to_dict() == {"a": 1.25, "b": 1.5}
    assert table["frequency"].to_dict() == {"a": 1, "b": 1}
    # the return on 2024-01-05 does not count as the last purchase
    assert table.loc["a", "last_purchase"] == ts("2024-01-01")
    assert table.loc["a", "recency"] == 5
    assert result.quality.counts["cancellations"] == 1
    assert result.quality.counts["cancellations_amount"] == -1.25


def test_text_quantity_and_price_in_a_csv(tmp_path):
    path = write_csv(tmp_path / "lines.csv",
                     "Customer ID;Invoice Date;Qty;Unit Price\nx;2024-01-01;3;1,50\nx;2024-01-02;2;0,25\n")
    table = rfm_addin.rfm_table(path, decimal=",")
    assert table.loc["x", "monetary"] == 5.0
    assert table.loc["x", "frequency"] == 2


# --------------------------------------------------------------------------- nothing written on failure


def _bad_dates_csv(tmp_path):
    return write_csv(tmp_path / "bad.csv", HEADER + "a,2024-01-01,1\nb,not a date,2\n")


def test_failed_cli_run_writes_no_output(tmp_path, capsys):
    source = _bad_dates_csv(tmp_path)
    out = tmp_path / "out.xlsx"
    assert cli_main(["analyze", str(source), "-o", str(out), "-q"]) == 2
    assert not out.exists()
    assert sorted(p.name for p in tmp_path.iterdir()) == ["bad.csv"]
    err = capsys.readouterr().err
    assert err.startswith("rfm-addin: error: Column 'InvoiceDate': 1 value not readable as a date (row 3: ")


def test_failed_cli_run_leaves_existing_output_untouched(tmp_path, capsys):
    source = _bad_dates_csv(tmp_path)
    out = tmp_path / "out.xlsx"
    out.write_bytes(b"previous results")
    assert cli_main(["analyze", str(source), "-o", str(out), "-q"]) == 2
    assert out.read_bytes() == b"previous results"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["bad.csv", "out.xlsx"]


def test_failed_cli_run_on_missing_column_writes_nothing(tmp_path, capsys):
    source = write_csv(tmp_path / "cols.csv", "CustomerID,InvoiceDate,Foo\na,2024-01-01,1\n")
    out = tmp_path / "out.xlsx"
    assert cli_main(["analyze", str(source), "-o", str(out)]) == 2
    assert not out.exists()
    err = capsys.readouterr().err
    assert "Could not find the amount column" in err
    assert "Columns found: 'CustomerID', 'InvoiceDate', 'Foo'." in err


# --------------------------------------------------------------------------- two customers


TWO = "Customer,Date,Amount\na,2024-01-01,10\nb,2024-01-02,5\n"


def test_two_customers_give_a_full_analysis_with_clustering_skipped(tmp_path):
    # Two customers cannot be split into k >= 2 clusters with a meaning (k = n, no silhouette).
    analysis = rfm_addin.analyze(pd.read_csv(pd.io.common.StringIO(TWO)))
    assert analysis.customers["recency"].tolist() == [2, 1]            # as of 2024-01-03
    assert analysis.customers["monetary"].tolist() == [10.0, 5.0]
    assert analysis.parameters["k"] == 0 and analysis.customers["cluster"].isna().all()
    assert any("Clustering was skipped" in s and "There are 2 customers" in s for s in analysis.insights)
    source = write_csv(tmp_path / "two.csv", TWO)
    out = tmp_path / "two_rfm.xlsx"
    assert cli_main(["analyze", str(source), "-o", str(out), "-q"]) == 0
    from openpyxl import load_workbook

    book = load_workbook(out)
    assert "RFM_Customers" in book["RFM Customers"].tables
    assert "RFM R x F Grid" in book.sheetnames



# --------------------------------------------------------------------------- options


@pytest.mark.parametrize("seed", [-1, 2**32, 99_999_999_999])
def test_seed_outside_numpys_range_is_one_clear_error(seed, tmp_path, capsys):
    data = rfm_addin.demo_transactions(n_customers=30)
    with pytest.raises(RfmError, match=r"from 0 to 4,294,967,295"):
        rfm_addin.analyze(data, random_state=seed)
    assert cli_main(["demo", "-o", str(tmp_path / "out"), "--customers", "30", "--seed", str(seed), "-q"]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "from 0 to 4,294,967,295" in err[0]
    assert not (tmp_path / "out" / "rfm_demo.xlsx").exists()


def test_largest_seed_is_accepted():
    data = rfm_addin.demo_transactions(n_customers=30)
    assert len(rfm_addin.analyze(data, random_state=2**32 - 1).customers) == 30


@pytest.mark.parametrize("n", ["0", "-5"])
def test_demo_needs_at_least_one_customer(n, tmp_path, capsys):
    assert cli_main(["demo", "-o", str(tmp_path / "out"), "--customers", n, "-q"]) == 2
    assert "at least 1" in capsys.readouterr().err
    with pytest.raises(RfmError, match="at least 1"):
        rfm_addin.demo_transactions(n_customers=0)


# --------------------------------------------------------------------------- outputs

SALES = "Customer,Date,Amount\na,2024-01-01,10\nb,2024-01-05,20\nc,2024-01-09,30\nd,2024-01-10,5\n"


def test_output_with_another_suffix_is_refused(tmp_path, capsys):
    source = write_csv(tmp_path / "in.csv", SALES)
    for name in ("out.csv", "out.xlsm", "out"):
        assert cli_main(["analyze", str(source), "-o", str(tmp_path / name), "-q"]) == 2
        err = capsys.readouterr().err
        assert "name it like out.xlsx" in err and err.count("\n") == 1
        assert not (tmp_path / name).exists()
    assert cli_main(["analyze", str(source), "-o", str(tmp_path / "out.XLSX"), "-q"]) == 0


def test_read_only_target_is_refused_not_replaced(tmp_path, capsys):
    source = write_csv(tmp_path / "in.csv", SALES)
    target = tmp_path / "out.xlsx"
    target.write_bytes(b"keep me")
    target.chmod(0o444)
    assert cli_main(["analyze", str(source), "-o", str(target), "-q"]) == 2
    assert "read-only, so it was not replaced" in capsys.readouterr().err
    assert target.read_bytes() == b"keep me"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["in.csv", "out.xlsx"]


def test_export_is_all_or_nothing_with_the_workbook(tmp_path, monkeypatch, capsys):
    source = write_csv(tmp_path / "in.csv", SALES)
    out, folder = tmp_path / "out.xlsx", tmp_path / "segments"
    real = pd.DataFrame.to_csv
    calls = []

    def failing(self, *args, **kwargs):
        calls.append(1)
        if len(calls) == 2:                       # the second segment's file: the disk is full
            raise OSError(28, "No space left on device")
        return real(self, *args, **kwargs)

    monkeypatch.setattr(pd.DataFrame, "to_csv", failing)
    assert cli_main(["analyze", str(source), "-o", str(out), "-q", "--export-segments", str(folder)]) == 2
    assert "No space left on device" in capsys.readouterr().err
    assert not out.exists()
    assert sorted(p.name for p in folder.iterdir()) == []          # no new file, no half set, no temp file
    assert sorted(p.name for p in tmp_path.iterdir()) == ["in.csv", "segments"]


def test_export_csvs_are_formula_safe_and_quoted(tmp_path):
    import csv as csv_module

    text = ('Customer,Date,Amount,Note\n=cmd|calc,2024-01-01,10,"a\nb"\nb,2024-01-05,20,@sum(1)\n'
            'c,2024-01-09,30,-2+3\nd,2024-01-10,5,+44 20 7946\ne,2024-01-10,6,\tx\nf,2024-01-10,7,-7\n')
    source = write_csv(tmp_path / "in.csv", text)
    folder = tmp_path / "segments"
    assert cli_main(["analyze", str(source), "-o", str(tmp_path / "out.xlsx"), "-q", "--keep", "Note",
                     "--export-segments", str(folder)]) == 0
    rows = [row for path in sorted(folder.glob("*.csv"))
            for row in list(csv_module.DictReader(path.open(encoding="utf-8", newline="")))]
    notes = {r["CustomerID" if "CustomerID" in r else "Customer"]: r["Note"] for r in rows}
    assert notes == {"'=cmd|calc": "a\nb", "b": "'@sum(1)", "c": "'-2+3", "d": "'+44 20 7946", "e": "'\tx",
                     "f": "-7"}
    # Numbers stay numbers: a negative amount or a plain negative number is not a formula.
    assert all(not r["monetary"].startswith("'") for r in rows)


def _number(text: str) -> bool:
    try:
        float(text)
    except ValueError:
        return False
    return True


def test_segment_file_names_stay_unique():
    from rfm_addin.writers.segment_csv import unique_stems

    assert unique_stems(["VIP/A", "VIP:A", "vip_a", "Lost"]) == {"VIP/A": "VIP_A", "VIP:A": "VIP_A (2)",
                                                                "vip_a": "vip_a (3)", "Lost": "Lost"}


def test_export_removes_only_the_files_of_its_previous_run(tmp_path):
    folder = tmp_path / "segments"
    folder.mkdir()
    (folder / "my notes.csv").write_text("mine")
    (folder / "Champions.csv").write_text("not listed by a manifest: never removed")
    first = rfm_addin.analyze(frame(["a", "b", "c"], ["2024-01-01", "2024-01-05", "2024-01-09"], [1.0, 20.0, 30.0]))
    from rfm_addin.writers.safe import StagedFiles
    from rfm_addin.writers.segment_csv import MANIFEST, remove_stale, stage_segments

    with StagedFiles() as files:
        stale = stage_segments(first.customers.assign(segment=["Gone", "Stays", "Stays"]), folder, files)
    remove_stale(stale)
    assert sorted(p.name for p in folder.iterdir()) == [MANIFEST, "Champions.csv", "Gone.csv", "Stays.csv",
                                                        "my notes.csv"]
    with StagedFiles() as files:
        stale = stage_segments(first.customers.assign(segment=["Stays", "Stays", "New"]), folder, files)
    remove_stale(stale)
    assert sorted(p.name for p in folder.iterdir()) == [MANIFEST, "Champions.csv", "New.csv", "Stays.csv",
                                                        "my notes.csv"]
    assert (folder / "Champions.csv").read_text() == "not listed by a manifest: never removed"


# --------------------------------------------------------------------------- amounts (text)


def test_amount_too_large_for_a_number_is_an_error_with_its_row():
    df = frame(["a", "b"], ["2024-01-01", "2024-01-02"], ["10", "1e400"])
    with pytest.raises(RfmError, match=r"row 3: '1e400'.*too large"):
        compute_rfm(df)


def test_spaces_between_digits_need_a_space_thousands_separator():
    df = frame(["a", "b"], ["2024-01-01", "2024-01-02"], ["12 50", "3"])
    with pytest.raises(RfmError, match=r"row 2: '12 50'.*--thousands space"):
        compute_rfm(df)
    ok = frame(["a", "b"], ["2024-01-01", "2024-01-02"], ["1 250", "3\u00a0000"])
    assert compute_rfm(ok, thousands=" ").table["monetary"].tolist() == [1250.0, 3000.0]
    # Spaces around the number and its currency are not digits apart.
    around = frame(["a", "b", "c", "c"], ["2024-01-01"] * 4, [" $ 10 ", "10 $", "USD 7", "- $5"])
    assert compute_rfm(around).table["monetary"].tolist() == [10.0, 10.0, 2.0]


def test_mixed_currencies_are_an_error_naming_them():
    df = frame(["a", "b", "c"], ["2024-01-01"] * 3, ["$10", "€10", "USD 3"])
    with pytest.raises(RfmError, match=r"2 currencies: EUR \(row 3: '€10'\), USD \(row 2: '\$10'\)"):
        compute_rfm(df)


def test_duplicate_header_names_are_an_error_naming_both_columns(tmp_path, capsys):
    source = write_csv(tmp_path / "in.csv", "Customer,Date,Amount,Amount\na,2024-01-01,10,11\n")
    assert cli_main(["analyze", str(source), "-q"]) == 2
    assert "two columns named 'Amount' (columns 3 and 4)" in capsys.readouterr().err
    book = Workbook()
    book.active.append(["Customer", "Date", "Amount", "Amount"])
    book.active.append(["a", "2024-01-01", 1, 2])
    book.save(tmp_path / "in.xlsx")
    with pytest.raises(RfmError, match=r"two columns named 'Amount' \(columns 3 and 4\)"):
        rfm_addin.rfm_table(str(tmp_path / "in.xlsx"))


# --------------------------------------------------------------------------- files


def test_encoding_is_detected_over_the_whole_file(tmp_path):
    lines = [f"c{i},2024-01-01,1" for i in range(1500)]        # more than 8 KiB of plain ASCII first
    text = HEADER + "\n".join(lines) + "\nRenée,2024-01-02,5\n"
    assert len(text.split("Renée")[0].encode()) > 8192
    table = rfm_addin.rfm_table(str(write_csv(tmp_path / "in.csv", text, "cp1252")))
    assert table.loc["Renée", "monetary"] == 5.0


@pytest.mark.parametrize("encoding", ["utf-16", "utf-8-sig"])
def test_files_with_a_byte_order_mark(tmp_path, encoding):
    text = HEADER + "Zoë,2024-01-01,10\nb,2024-01-02,5\n"
    table = rfm_addin.rfm_table(str(write_csv(tmp_path / "in.csv", text, encoding)))
    assert table["monetary"].to_dict() == {"b": 5.0, "Zoë": 10.0}


@pytest.mark.parametrize("content, words", [(b"%PDF-1.7\n%\xe2\xe3\xcf\xd3\n1 0 obj", "is a PDF document"),
                                            (b"PK\x03\x04\x14\x00\x00\x00", "is a workbook or an archive"),
                                            (b"\x00\x01\x02binary\x00data", "is not a text file")])
def test_not_a_csv_is_one_line(tmp_path, capsys, content, words):
    (tmp_path / "export.csv").write_bytes(content)
    assert cli_main(["analyze", str(tmp_path / "export.csv"), "-q"]) == 2
    err = capsys.readouterr().err
    assert words in err and err.count("\n") == 1 and "Traceback" not in err


def test_zip_that_is_not_a_workbook_is_one_line(tmp_path, capsys):
    import zipfile

    with zipfile.ZipFile(tmp_path / "data.xlsx", "w") as archive:
        archive.writestr("readme.txt", "not a workbook")
    assert cli_main(["analyze", str(tmp_path / "data.xlsx"), "-q"]) == 2
    err = capsys.readouterr().err
    assert "is not a readable Excel workbook" in err and err.count("\n") == 1


def test_trailing_comma_on_every_row(tmp_path):
    text = "CustomerID,InvoiceDate,Amount,\na,2024-01-01,10,\nb,2024-01-02,5,\n"
    table = rfm_addin.rfm_table(str(write_csv(tmp_path / "in.csv", text)))
    assert table["monetary"].to_dict() == {"a": 10.0, "b": 5.0}


def test_formulas_never_calculated_in_an_xlsx_are_reported(tmp_path):
    import xlsxwriter

    book = xlsxwriter.Workbook(tmp_path / "in.xlsx")
    sheet = book.add_worksheet("Sales")
    sheet.write_row(0, 0, ["Customer", "Date", "Amount"])
    sheet.write_row(1, 0, ["a", "2024-01-01"])
    sheet.write_formula(1, 2, "=2*5")                  # XlsxWriter saves 0 and asks Excel to calculate
    book.close()
    with pytest.raises(RfmError, match="formulas that were never calculated.*Open it in Excel"):
        rfm_addin.rfm_table(str(tmp_path / "in.xlsx"))


def test_file_name_with_brackets_is_that_file_not_a_glob(tmp_path):
    path = write_csv(tmp_path / "sales[1].csv", HEADER + "a,2024-01-01,10\n")
    write_csv(tmp_path / "sales1.csv", HEADER + "zzz,2024-01-01,99\n")     # what the glob would match
    assert rfm_addin.rfm_table(str(path)).index.tolist() == ["a"]
    assert cli_main(["analyze", str(path), "-q"]) == 0
    assert (tmp_path / "sales[1]_rfm.xlsx").exists()


# --------------------------------------------------------------------------- ids


def test_number_and_text_of_the_same_order_id_are_one_order():
    df = pd.DataFrame({"CustomerID": ["a", "a", "b"], "InvoiceNo": pd.Series([5001, "5001", 7], dtype=object),
                       "InvoiceDate": pd.to_datetime(["2024-01-01", "2024-01-01", "2024-01-02"]),
                       "Amount": [1.0, 1.0, 2.0]})
    result = compute_rfm(df)
    assert result.table["frequency"].tolist() == [1, 1]
    assert result.quality.counts["duplicate_rows"] == 1            # the same line, once as a number
    customers = frame(pd.Series([5001, "5001", " 5001 "], dtype=object), ["2024-01-01", "2024-01-02",
                                                                          "2024-01-03"], [1.0, 2.0, 3.0])
    assert compute_rfm(customers).table.index.tolist() == ["5001"]


def test_true_false_cells_are_never_ids():
    df = frame(pd.Series([1, True, "x"], dtype=object), ["2024-01-01"] * 3, [1.0, 1.0, 2.0])
    with pytest.raises(RfmError, match=r"1 value holding TRUE/FALSE instead of an id \(row 3: True\)"):
        compute_rfm(df)
    with pytest.raises(RfmError, match="TRUE/FALSE values, not ids"):
        compute_rfm(frame([True, False], ["2024-01-01"] * 2, [1.0, 1.0]))


def test_float_ids_beyond_exact_integers_are_rejected_not_merged():
    df = frame([1e20, 1e20 + 65536, 3.0], ["2024-01-01"] * 3, [1.0, 1.0, 2.0])
    with pytest.raises(RfmError, match=r"2 values too large to be exact as numbers \(row 2: 1e\+20"):
        compute_rfm(df)
    assert compute_rfm(frame([2.0**53 - 1, 3.0], ["2024-01-01"] * 2, [1.0, 2.0])).table.index.tolist() == [
        "3", "9007199254740991"]


def test_nested_ids_get_a_clear_message():
    df = frame(pd.Series([[1], {"id": 2}, "x"], dtype=object), ["2024-01-01"] * 3, [1.0, 1.0, 2.0])
    with pytest.raises(RfmError, match="2 values holding a list or a record instead of an id"):
        compute_rfm(df)


def test_ids_longer_than_an_excel_cell_are_an_error():
    df = frame(["a" * 40_000, "a" * 40_000 + "b", "c"], ["2024-01-01"] * 3, [1.0, 1.0, 2.0])
    with pytest.raises(RfmError, match=r"2 values longer than Excel's 32,767 characters") as caught:
        compute_rfm(df)
    assert len(str(caught.value)) < 600                     # the ids are quoted cut short


# --------------------------------------------------------------------------- dates


@pytest.mark.parametrize("value", [pd.Timestamp("2024-01-01").to_pydatetime().replace(year=9999),
                                   pd.Timestamp("2024-01-01").to_pydatetime().replace(year=1500),
                                   2958465.0, "2958465"])
def test_dates_outside_what_a_datetime_holds_are_rejected_with_the_row(value):
    # Before: year 9999 wrapped to 1816 and 1500 to 2084 without a word.
    df = frame(pd.Series(["a", "b"]), pd.Series([pd.Timestamp("2024-01-01").to_pydatetime(), value], dtype=object),
               [1.0, 2.0])
    with pytest.raises(RfmError, match=r"1 value outside the dates this tool can hold.*\(row 3: "):
        compute_rfm(df)


def test_typed_dates_in_another_unit_outside_the_range_are_rejected():
    dates = pd.Series(np.array(["2024-01-01", "9999-12-31"], dtype="datetime64[us]"))
    with pytest.raises(RfmError, match=r"outside the dates this tool can hold.*row 3"):
        compute_rfm(frame(["a", "b"], dates, [1.0, 2.0]))


def test_text_with_utc_offsets_keeps_the_local_date():
    # 00:30 at +02:00 is the 2nd locally (the 1st in UTC); summer and winter offsets mix.
    df = frame(["a", "b", "c"], ["2024-03-02T00:30:00+02:00", "2024-11-02T00:30:00+01:00", "2024-11-03T08:00Z"],
               [1.0, 2.0, 3.0])
    table = compute_rfm(df).table
    assert table["last_purchase"].dt.strftime("%Y-%m-%d").tolist() == ["2024-03-02", "2024-11-02", "2024-11-03"]


def test_as_of_text_follows_the_date_order_and_ambiguity_is_an_error(tmp_path, capsys):
    df = frame(["a", "b"], ["2024-01-01", "2024-03-01"], [1.0, 2.0])
    assert compute_rfm(df, as_of="03/04/2024", dayfirst=True).as_of == ts("2024-04-03")
    assert compute_rfm(df, as_of="03/04/2024", dayfirst=False).as_of == ts("2024-03-04")
    with pytest.raises(RfmError, match="could be day-first or month-first"):
        compute_rfm(df, as_of="03/04/2024")
    source = write_csv(tmp_path / "in.csv", HEADER + "a,2024-01-01,1\nb,2024-03-01,2\n")
    assert cli_main(["analyze", str(source), "-q", "--as-of", "03/04/2024"]) == 2
    assert "could be day-first or month-first" in capsys.readouterr().err
    assert cli_main(["analyze", str(source), "-q", "--as-of", "03/04/2024", "--dayfirst"]) == 0


def test_periods_get_a_clear_message():
    df = frame(["a", "b"], pd.Series(pd.period_range("2024-01", periods=2, freq="M")), [1.0, 2.0])
    with pytest.raises(RfmError, match=r"holds periods \(2024-01\), not dates"):
        compute_rfm(df)


# --------------------------------------------------------------------------- totals rows


def test_totals_rows_at_the_end_are_left_out_and_counted(tmp_path):
    text = (HEADER + "a,2024-01-01,10\nb,2024-01-02,5\n,,\nTotal,,15\nGrand Total:,,\"$15.00\"\n")
    result = compute_rfm(str(write_csv(tmp_path / "in.csv", text)))
    assert result.table.index.tolist() == ["a", "b"]
    assert result.quality.counts["totals_rows"] == 2 and result.quality.counts["totals_rows_amount"] == 30.0
    assert result.quality.counts["blank_rows"] == 1
    line = result.quality.to_frame().set_index("check").loc["Totals rows at the end of the data"]
    assert (line["count"], line["treatment"]) == (2, "left out")


def test_a_customer_called_total_before_other_customers_is_a_customer():
    df = frame(["Total", "b", "SUM"], ["2024-01-01", "2024-01-02", "2024-01-03"], [10.0, 5.0, 15.0])
    result = compute_rfm(df)
    assert result.table.index.tolist() == ["Total", "b"]            # only the last row is a totals row
    assert result.quality.counts["totals_rows"] == 1


def test_row_numbers_are_file_lines_after_a_quoted_field_with_line_breaks(tmp_path):
    text = ('CustomerID,InvoiceDate,Amount,Note\na,2024-01-01,10,"two\nlines"\n'
            'b,2024-01-02,5,"three\nmore\nlines"\nc,2024-01-03,oops,y\n')
    with pytest.raises(RfmError, match=r"row 7: 'oops'"):        # header 1, a 2-3, b 4-6, c 7
        rfm_addin.rfm_table(str(write_csv(tmp_path / "in.csv", text)))
    plain = HEADER + "a,2024-01-01,10\nb,2024-01-02,oops\n"
    with pytest.raises(RfmError, match=r"row 3: 'oops'"):
        rfm_addin.rfm_table(str(write_csv(tmp_path / "plain.csv", plain)))


# --------------------------------------------------------------------------- CSV folders


def test_csv_folder_dates_follow_the_rules_of_one_file(tmp_path, capsys):
    # DuckDB guessed day-first for the second file without a word; now as in one file.
    folder = tmp_path / "exports"
    folder.mkdir()
    write_csv(folder / "one.csv", "Customer,Date,Amount\na,2024-01-01,10\nb,2024-01-02,5\n")
    write_csv(folder / "two.csv", "Amount,Customer,Date\n7,c,05/01/2024\n3,a,06/01/2024\n")
    with pytest.raises(RfmError, match="could be day-first or month-first"):
        rfm_addin.rfm_table(str(folder))
    table = rfm_addin.rfm_table(str(folder), dayfirst=False)
    assert table["last_purchase"].dt.strftime("%Y-%m-%d").to_dict() == {"a": "2024-06-01", "b": "2024-01-02",
                                                                        "c": "2024-05-01"}
    assert table["monetary"].to_dict() == {"a": 13.0, "b": 5.0, "c": 7.0}
    assert cli_main(["analyze", str(folder), "-q"]) == 2
    assert "could be day-first or month-first" in capsys.readouterr().err


def test_csv_folder_messages_name_the_file_and_its_line(tmp_path):
    folder = tmp_path / "exports"
    folder.mkdir()
    write_csv(folder / "one.csv", HEADER + "a,2024-01-01,10\n")
    write_csv(folder / "two.csv", HEADER + "b,2024-01-02,5\nc,2024-01-03,oops\n")
    with pytest.raises(RfmError, match=r"row 3 of two.csv: 'oops'"):
        rfm_addin.rfm_table(str(folder))
    write_csv(folder / "two.csv", "CustomerID,InvoiceDate,Total\nb,2024-01-02,5\n")
    with pytest.raises(RfmError, match=r"two.csv does not have the columns of one.csv: it lacks 'Amount' and it "
                                       r"adds 'Total'"):
        rfm_addin.rfm_table(str(folder))
