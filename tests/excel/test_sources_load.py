"""The ribbon's "Load data" button through xlwings' remote engine: customers from a named
DuckDB connection into "RFM Customers", the same as the DataFrame path; refusals."""
from __future__ import annotations

import pytest
from excel_payloads import by_func, sheet

import rfm_addin
from rfm_addin.excel import macros

duckdb = pytest.importorskip("duckdb")
pytest.importorskip("ibis")


def settings_sheet(**values) -> dict:
    rows = [["RFM settings", ""], ["", ""], ["", ""], ["Setting", "Value"]]
    return sheet("RFM Settings", rows + [[k, v] for k, v in values.items()])


@pytest.fixture
def shop(tmp_path, monkeypatch):
    demo = rfm_addin.demo_transactions(n_customers=60)
    path = tmp_path / "shop.duckdb"
    with duckdb.connect(str(path)) as db:
        db.execute("create table sales as select * from demo")
    monkeypatch.setenv("RFM_CONNECTION_SHOP", f"duckdb:///{path}")
    return demo


def alerts(book) -> list[str]:
    return [a["args"][0] for a in by_func(book, "alert")]


def test_load_writes_the_customers_of_the_named_connection(make_book, shop):
    book = make_book([settings_sheet(Connection="shop", Table="sales", **{"Clusters (k)": 3.0})])
    macros.ribbon("load", book)
    assert not alerts(book)
    added = [a["args"][1] for a in by_func(book, "addSheet")]
    assert "RFM Customers" in added
    position = added.index("RFM Customers") + 1
    written = [a for a in by_func(book, "setValues") if a["sheet_position"] == position and a["start_row"] == 3]
    assert len(written) == 1
    header, *body = written[0]["values"]
    expected = rfm_addin.analyze(shop, k=3).customers
    assert header[0] == "CustomerID" and header[1] == "Recency (days)"
    assert [str(row[0]).lstrip("'") for row in body] == list(expected.index)   # ids written as text
    assert [row[1] for row in body] == [float(v) for v in expected["recency"]]
    assert [row[2] for row in body] == [float(v) for v in expected["frequency"]]
    assert [round(row[3], 2) for row in body] == [round(v, 2) for v in expected["monetary"]]
    assert [row[12] for row in body] == list(expected["segment"])


def test_password_in_the_settings_sheet_is_refused(make_book, shop):
    book = make_book([settings_sheet(Connection="postgresql://me:secret@db/sales", Table="sales")])
    macros.ribbon("load", book)
    (message,) = alerts(book)
    assert "password" in message and "RFM_CONNECTION_" in message and "connections.toml" in message
    assert not by_func(book, "addSheet")


@pytest.mark.parametrize("table, expected", [("sales; DROP TABLE x", "not a valid table name"),
                                             ("nosuch", "table 'nosuch' was not found"),
                                             ("", "Set 'Table'")])
def test_bad_table_settings_are_clear(make_book, shop, table, expected):
    book = make_book([settings_sheet(Connection="shop", Table=table)])
    macros.ribbon("load", book)
    (message,) = alerts(book)
    assert expected in message and "The workbook was not changed" in message
    assert not by_func(book, "addSheet")


def test_unknown_connection_says_where_to_define_it(make_book, shop):
    book = make_book([settings_sheet(Connection="warehouse", Table="sales")])
    macros.ribbon("load", book)
    (message,) = alerts(book)
    assert "no connection named 'warehouse'" in message and "RFM_CONNECTION_WAREHOUSE" in message
