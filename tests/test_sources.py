"""Engine sources through DuckDB (always run): files, globs, folders, Ibis tables, DuckDB URLs,
named connections; the result equals the DataFrame path; bad input gives clear errors."""
from __future__ import annotations

import socket
import sys
import time
from datetime import date

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from sources_helpers import assert_same_result, padded_ids

import rfm_addin
from rfm_addin.sources.route import compute_rfm
from rfm_addin.core.errors import ColumnError, DataError, RfmError

ibis = pytest.importorskip("ibis")
duckdb = pytest.importorskip("duckdb")

from rfm_addin.sources import connections  # noqa: E402


def messy() -> pd.DataFrame:
    """Every cleaning rule at least once, with an order column."""
    rows = [
        ("1001", "A", "2024-01-03 10:00", 10.0, "x"),
        ("1001", "A", "2024-01-03 10:00", 10.0, "x"),       # exact duplicate: dropped
        ("1001", "A", "2024-01-03 10:00", 5.0, "x"),        # second line of the order
        ("1002", " A ", "2024-02-01", 20.0, "x"),           # id trimmed
        ("C1003", "A", "2024-02-03", 7.5, "x"),             # cancellation by order id
        ("1004", "B", "2024-01-10", 30.0, "y"),
        ("1005", "B", "2024-01-11", -4.0, "y"),             # negative amount: a return
        ("1006", None, "2024-01-12", 99.0, "z"),            # no customer
        (None, None, None, None, None),                      # blank row
        ("C1007", "D", "2024-01-15", 12.0, "w"),            # cancellation-only customer
        ("1008", "E", "2024-03-20", 8.0, "v"),              # after a stated as_of
        (None, "F", "2024-01-20", 3.0, "u"),                # purchase without an order id
        (None, "F", "2024-01-21", 4.0, "u"),
        ("1009", "12.0", "2024-01-22", 6.0, "t"),            # "12.0" is customer "12"
        ("1010", "0042", "2024-01-23", 9.99, "s"),           # leading zeros kept
    ]
    frame = pd.DataFrame(rows, columns=["InvoiceNo", "CustomerID", "InvoiceDate", "Amount", "Country"])
    frame["InvoiceDate"] = pd.to_datetime(frame["InvoiceDate"], format="ISO8601")
    return frame


@pytest.fixture
def con():
    backend = ibis.duckdb.connect()
    yield backend
    backend.disconnect()


@pytest.mark.parametrize("as_of", [None, "2024-03-01"])
def test_messy_data_same_as_dataframe_path(con, as_of):
    frame = messy()
    expected = compute_rfm(frame, as_of=as_of)
    got = compute_rfm(con.create_table("t", frame), as_of=as_of)
    assert_same_result(expected, got)
    assert got.quality.counts["duplicate_rows"] == 1
    assert got.quality.counts["cancel_only_customers"] == 1
    assert "0042" in got.table.index and "12" in got.table.index


def test_without_order_column_counts_possible_duplicates(con):
    frame = messy().drop(columns="InvoiceNo")
    expected = compute_rfm(frame)
    got = compute_rfm(con.create_table("t", frame))
    assert_same_result(expected, got)
    assert got.quality.counts["possible_duplicates"] == 1
    assert got.frequency_basis == "transaction rows"


def test_quantity_times_price_and_negative_quantity(con):
    frame = pd.DataFrame({
        "InvoiceNo": ["1", "1", "2", "3", "3"], "CustomerID": [1, 1, 2, 2, 3],
        "InvoiceDate": pd.to_datetime(["2024-01-01", "2024-01-01", "2024-01-05", "2024-01-06", "2024-01-07"]),
        "Quantity": [2, 1, 3, -1, 4], "UnitPrice": [1.25, 3.0, 2.0, 2.0, 0.5]})
    expected = compute_rfm(frame)
    got = compute_rfm(con.create_table("t", frame))
    assert_same_result(expected, got)
    assert got.quality.counts["amount_from_lines"] == 5
    assert got.table.loc["2", "monetary"] == pytest.approx(4.0)


def test_duplicates_compare_the_stored_price_not_only_the_computed_amount(con):
    # Lines 1-2 are equal in every column: one is a duplicate. Lines 3-4 differ only in
    # price, with quantity 0 (amount 0 for both): not duplicates, in either path.
    frame = pd.DataFrame({
        "InvoiceNo": ["1", "1", "2", "2"], "CustomerID": [1, 1, 2, 2],
        "InvoiceDate": pd.to_datetime(["2024-01-01"] * 4),
        "Quantity": [2, 2, 0, 0], "UnitPrice": [1.5, 1.5, 2.0, 3.0]})
    expected = compute_rfm(frame)
    got = compute_rfm(con.create_table("t", frame))
    assert_same_result(expected, got)
    assert expected.quality.counts["duplicate_rows"] == 1
    assert got.quality.counts["duplicate_rows"] == 1
    assert got.table.loc["1", "monetary"] == pytest.approx(3.0)


def test_keep_columns_and_named_columns(con):
    frame = messy().rename(columns={"CustomerID": "who", "InvoiceDate": "when"})
    expected = compute_rfm(frame, customer="who", date="when", keep="Country")
    got = compute_rfm(con.create_table("t", frame), customer="who", date="when", keep="Country")
    assert_same_result(expected, got)
    assert got.table["Country"].tolist() == expected.table["Country"].tolist()


def test_ids_padded_with_any_whitespace_are_the_same_ids(con):
    frame = padded_ids()
    expected = compute_rfm(frame)
    got = compute_rfm(con.create_table("t", frame))
    assert_same_result(expected, got)
    assert sorted(got.table.index) == ["42", "7", "8"]
    assert got.table.loc["42", "frequency"] == 2 and got.table.loc["42", "monetary"] == pytest.approx(11.0)
    assert got.table.loc["7", "frequency"] == 2
    assert got.quality.counts["duplicate_rows"] == 1
    assert got.quality.counts["rows_without_order"] == 1
    assert got.quality.counts["no_customer"] == 1


@pytest.mark.parametrize("ids, expected_ids", [
    ([12346.0, 12347.0, 12346.0, np.nan], ["12346", "12347"]),      # UCI's CustomerID as pandas reads it
    ([12346.0, 12.5, 12346.0, np.nan], ["12.5", "12346"]),          # one id not a whole number
])
def test_floating_point_customer_ids(con, ids, expected_ids):
    frame = pd.DataFrame({"InvoiceNo": ["1", "2", "3", "4"], "CustomerID": ids,
                          "InvoiceDate": pd.to_datetime(["2024-01-01", "2024-01-02", "2024-01-03", "2024-01-04"]),
                          "Amount": [1.0, 2.0, 4.0, 8.0]})
    expected = compute_rfm(frame)
    got = compute_rfm(con.create_table("t", frame))
    assert_same_result(expected, got)
    assert list(got.table.index) == expected_ids
    assert got.table.loc["12346", "monetary"] == 5.0


@pytest.mark.parametrize("dialect", ["duckdb", "postgres"])
def test_the_compiled_query_is_ascii(con, dialect):
    # A server whose database is not UTF-8 cannot take other characters (the padded-id
    # cleaning names every Unicode space, as escapes). PostgreSQL's expression is built on
    # an unbound table, as for any backend other than DuckDB.
    from rfm_addin.core.columns import resolve_columns
    from rfm_addin.sources.ibis_rfm import customer_expression

    frame = messy()
    t = con.create_table("t", frame) if dialect == "duckdb" else ibis.table(ibis.memtable(frame).schema(), name="t")
    expr = customer_expression(t, resolve_columns(list(t.columns), None, None, None, None), None)
    sql = str(ibis.to_sql(expr, dialect=dialect))
    assert sql.isascii()
    assert ("\\x{3000}" if dialect == "duckdb" else "\\u3000") in sql


def test_order_column_kept_with_its_values(con):
    # Text order ids are grouped by their hash in DuckDB; a kept order column keeps its text.
    frame = messy()
    expected = compute_rfm(frame, keep="InvoiceNo")
    got = compute_rfm(con.create_table("t", frame), keep="InvoiceNo")
    assert_same_result(expected, got)
    assert got.table["InvoiceNo"].tolist() == expected.table["InvoiceNo"].tolist()
    assert got.table.loc["A", "InvoiceNo"] == "1001"


def test_demo_data_through_every_file_source(tmp_path):
    demo = rfm_addin.demo_transactions()
    expected = compute_rfm(demo)
    single = tmp_path / "one.parquet"
    demo.to_parquet(single)
    folder = tmp_path / "parts"
    folder.mkdir()
    for i, part in enumerate(demo.iloc[j::4] for j in range(4)):
        part.to_parquet(folder / f"part-{i}.parquet")
    csvs = tmp_path / "csvs"
    csvs.mkdir()
    for i, part in enumerate(demo.iloc[j::2] for j in range(2)):
        part.assign(CustomerID="00" + part["CustomerID"]).to_csv(csvs / f"{i}.csv", index=False)
    expected_csv = compute_rfm(demo.assign(CustomerID="00" + demo["CustomerID"]))
    assert_same_result(expected_csv, compute_rfm(csvs))          # ids stay text: leading zeros kept
    for source in (single, str(folder), str(folder / "*.parquet")):
        assert_same_result(expected, compute_rfm(source))


def test_csv_with_text_values_goes_to_the_dataframe_path(tmp_path):
    path = tmp_path / "eu.csv"
    path.write_text("CustomerID;Date;Amount\n007;31/01/2024;1.234,50\n008;01/02/2024;10,00\n", encoding="utf-8")
    table = rfm_addin.rfm_table(path, decimal=",", thousands=".", dayfirst=True)
    assert table.loc["007", "monetary"] == pytest.approx(1234.5)


@pytest.fixture
def engine_calls(monkeypatch):
    """What each engine_rfm call returned: a result, or None for "the DataFrame path reads it"."""
    import rfm_addin.sources.route as route

    calls = []
    real = route.engine_rfm
    monkeypatch.setattr(route, "engine_rfm", lambda *a, **k: calls.append(real(*a, **k)) or calls[-1])
    return calls


def test_a_large_csv_file_is_read_by_duckdb(tmp_path, monkeypatch, engine_calls):
    import rfm_addin.sources as sources

    demo = rfm_addin.demo_transactions(n_customers=200)
    demo["CustomerID"] = "00" + demo["CustomerID"]                      # leading zeros kept as text
    path = tmp_path / "big.csv"
    demo.to_csv(path, index=False)
    expected = compute_rfm(demo)
    assert not sources.is_engine_source(str(path))                      # small: the DataFrame reader
    monkeypatch.setattr(sources, "CSV_ENGINE_BYTES", path.stat().st_size)
    assert sources.is_engine_source(str(path))
    assert not sources.is_engine_source(str(path), csv_as_typed=False)
    assert_same_result(expected, compute_rfm(str(path)))
    assert engine_calls and engine_calls[-1] is not None                # DuckDB did it
    engine_calls.clear()
    compute_rfm(str(path), dayfirst=True)                            # an option only the reader applies
    assert engine_calls == []


def test_a_large_csv_file_duckdb_cannot_read_goes_to_the_dataframe_reader(tmp_path, monkeypatch, engine_calls):
    import rfm_addin.sources as sources

    demo = rfm_addin.demo_transactions(n_customers=50)
    demo.loc[0, "CustomerID"] = "Müller"
    path = tmp_path / "latin1.csv"
    demo.to_csv(path, index=False, encoding="latin-1")
    monkeypatch.setattr(sources, "CSV_ENGINE_BYTES", 1)
    got = compute_rfm(str(path))
    assert engine_calls == [None]                                        # DuckDB could not: the reader could
    assert_same_result(compute_rfm(demo), got)
    assert "Müller" in got.table.index
    with pytest.raises(RfmError, match="DuckDB reads CSV files in UTF-8"):  # a glob has no such fallback
        compute_rfm(str(tmp_path / "latin1*.csv"))


def test_duckdb_url_with_table_and_query(tmp_path, monkeypatch):
    path = tmp_path / "shop.duckdb"
    demo = rfm_addin.demo_transactions()
    with duckdb.connect(str(path)) as db:
        db.register("demo", demo)
        db.execute("create table sales as select * from demo")
    expected = compute_rfm(demo)
    url = f"duckdb:///{path}"
    assert_same_result(expected, compute_rfm(url, table="sales"))
    assert_same_result(expected, compute_rfm(url, query="select * from sales"))
    table = rfm_addin.rfm_table(url, table="sales")
    assert table.attrs["frequency_basis"] == "transaction rows"
    # duckdb:///shop.duckdb as docs/engines.md writes it: the file in the working folder
    monkeypatch.chdir(tmp_path)
    assert_same_result(expected, compute_rfm("duckdb:///shop.duckdb", table="sales"))


def test_named_connection_from_environment_and_config_file(tmp_path, monkeypatch):
    path = tmp_path / "shop.duckdb"
    demo = rfm_addin.demo_transactions(n_customers=50)
    with duckdb.connect(str(path)) as db:
        db.execute("create table sales as select * from demo")
    expected = compute_rfm(demo)
    monkeypatch.setenv("RFM_CONNECTION_MY_SHOP", f"duckdb:///{path}")
    assert_same_result(expected, compute_rfm("my shop", table="sales"))
    monkeypatch.delenv("RFM_CONNECTION_MY_SHOP")
    config = tmp_path / "connections.toml"
    config.write_text(f'shop = "duckdb:///{path.as_posix()}"\n[other]\nurl = "postgresql://u:p@h/db"\n')
    monkeypatch.setenv("RFM_CONNECTIONS_FILE", str(config))
    assert connections.named_url("Shop") == f"duckdb:///{path.as_posix()}"
    assert connections.named_url("other") == "postgresql://u:p@h/db"
    assert_same_result(expected, compute_rfm("shop", table="sales"))
    with pytest.raises(RfmError, match="no connection named 'nowhere'.*RFM_CONNECTION_NOWHERE"):
        compute_rfm("nowhere", table="sales")


def test_config_path_follows_platform(monkeypatch, tmp_path):
    monkeypatch.delenv("RFM_CONNECTIONS_FILE", raising=False)
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path))
    assert connections.config_path() == tmp_path / "rfm_addin" / "connections.toml"
    monkeypatch.setattr(sys, "platform", "win32")
    monkeypatch.setenv("APPDATA", str(tmp_path / "Roaming"))
    assert connections.config_path() == tmp_path / "Roaming" / "rfm_addin" / "connections.toml"


# ---------------------------------------------------------------------------------------
# Bad input
# ---------------------------------------------------------------------------------------
@pytest.fixture
def shop(tmp_path):
    path = tmp_path / "shop.duckdb"
    demo = rfm_addin.demo_transactions(n_customers=30)
    with duckdb.connect(str(path)) as db:
        db.register("demo", demo)
        db.execute("create table sales as select * from demo")
        db.execute("create table x (a int)")
        db.execute("create table texts as select CustomerID, cast(OrderDate as varchar) as OrderDate, "
                   "OrderAmount from demo")
        db.execute("create table flags as select CustomerID, OrderDate, OrderAmount > 50 as OrderAmount from demo")
        db.execute('create table weird as select CustomerID as "a"" ; --", OrderDate, OrderAmount from demo')
    return f"duckdb:///{path}", path


def test_missing_table_names_the_tables_found(shop):
    url, _ = shop
    with pytest.raises(RfmError, match=r"table 'nosuch' was not found.*Tables found: flags, sales"):
        compute_rfm(url, table="nosuch")


def test_missing_column_lists_the_columns(shop):
    url, _ = shop
    with pytest.raises(ColumnError, match=r"customer column 'Client' is not in the data.*'CustomerID'"):
        compute_rfm(url, table="sales", customer="Client")


def test_wrong_column_type_names_column_and_type(shop):
    url, _ = shop
    with pytest.raises(RfmError, match=r"Column 'OrderDate' \(date\) has type string.*date or timestamp"):
        compute_rfm(url, table="texts")
    with pytest.raises(RfmError, match=r"Column 'OrderAmount' \(amount\) has type boolean.*numeric"):
        compute_rfm(url, table="flags")


@pytest.mark.parametrize("name", ["sales; DROP TABLE x", 'sales" ; DROP TABLE x; --', "sales--x",
                                  "sales/*", "a.b.c.d", "x'); drop table x; --", ""])
def test_sql_injection_through_table_name_is_rejected(shop, name):
    url, path = shop
    with pytest.raises(RfmError, match="not a valid table name|table name is empty"):
        compute_rfm(url, table=name)
    with duckdb.connect(str(path), read_only=True) as db:
        assert db.execute("select count(*) from x").fetchone() == (0,)


def test_sql_injection_through_column_names_is_quoted(shop):
    url, path = shop
    with pytest.raises(ColumnError, match="not in the data"):
        compute_rfm(url, table="sales", customer='a" ; --')
    with pytest.raises(ColumnError, match="not in the data"):
        compute_rfm(url, table="sales", amount='OrderAmount"); DROP TABLE x; --')
    # A column really named a" ; -- is quoted, not executed.
    table = rfm_addin.rfm_table(url, table="weird", customer='a" ; --')
    assert table.index.name == 'a" ; --' and len(table) == 30
    with duckdb.connect(str(path), read_only=True) as db:
        assert db.execute("select count(*) from x").fetchone() == (0,)


def test_bad_query_and_missing_file(tmp_path, shop):
    url, _ = shop
    with pytest.raises(RfmError, match="The query failed"):
        compute_rfm(url, query="select * from nowhere")
    with pytest.raises(RfmError, match="table=.*query="):
        compute_rfm(url)
    with pytest.raises(RfmError, match="no DuckDB database file"):
        compute_rfm(f"duckdb:///{tmp_path / 'none.duckdb'}", table="sales")
    with pytest.raises(RfmError, match="No files match"):
        compute_rfm(str(tmp_path / "none" / "*.parquet"))
    with pytest.raises(RfmError, match="Unsupported connection URL 'mysql://u:\\*\\*\\*@h/db'"):
        compute_rfm("mysql://u:secret@h/db", table="sales")
    with pytest.raises(RfmError, match="not with a DataFrame"):
        compute_rfm(messy(), table="sales")


def test_unreachable_server_fails_fast_without_showing_the_password():
    with socket.socket() as s:          # a port nobody listens on
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    start = time.monotonic()
    with pytest.raises(RfmError) as info:
        compute_rfm(f"postgresql://u:topsecret@127.0.0.1:{port}/db", table="sales")
    assert time.monotonic() - start < 10
    assert "Could not connect to PostgreSQL at 127.0.0.1" in str(info.value)
    assert "topsecret" not in str(info.value)


def test_connect_timeout_on_a_silent_server():
    """A server that accepts but never answers: the 5 s connect timeout ends the wait."""
    with socket.socket() as server:
        server.bind(("127.0.0.1", 0))
        server.listen(1)
        port = server.getsockname()[1]
        start = time.monotonic()
        with pytest.raises(RfmError, match="waited at most 2 s"):
            compute_rfm(f"postgresql://u@127.0.0.1:{port}/db?connect_timeout=2", table="sales")
        assert time.monotonic() - start < 8


def test_missing_extra_is_named(monkeypatch, tmp_path):
    demo = rfm_addin.demo_transactions(n_customers=20)
    (tmp_path / "parts").mkdir()
    demo.to_parquet(tmp_path / "parts" / "a.parquet")
    monkeypatch.setitem(sys.modules, "ibis", None)
    with pytest.raises(connections.MissingExtra, match=r'pip install "rfm-addin\[sql\]"'):
        compute_rfm(str(tmp_path / "parts"))
    with pytest.raises(connections.MissingExtra, match=r"rfm-addin\[sql\]"):
        compute_rfm("postgresql://u@localhost/db", table="sales")
    # A single Parquet file is still read by the DataFrame path without the extra.
    demo.to_parquet(tmp_path / "one.parquet")
    assert len(rfm_addin.rfm_table(tmp_path / "one.parquet")) == 20
    monkeypatch.setitem(sys.modules, "ibis", ibis)
    monkeypatch.setitem(sys.modules, "pyspark", None)
    with pytest.raises(connections.MissingExtra, match=r"rfm-addin\[spark\]"):
        connections.require_ibis("spark", "pyspark")


def test_password_in_settings_is_refused_and_names_where_to_put_it():
    with pytest.raises(RfmError, match="password.*RFM_CONNECTION_WAREHOUSE.*connections.toml"):
        connections.check_setting("Connection", "postgresql://me:secret@db/sales")
    assert connections.check_setting("Connection", " warehouse ") == "warehouse"
    assert connections.check_setting("Connection", "postgresql://me@db/sales") == "postgresql://me@db/sales"
    assert connections.redact("postgresql://me:secret@db/sales") == "postgresql://me:***@db/sales"


def test_engine_errors_in_a_single_file_are_explained_by_row(tmp_path):
    frame = messy()
    frame.loc[3, "Amount"] = np.nan
    path = tmp_path / "gap.parquet"
    frame.to_parquet(path)
    with pytest.raises(DataError, match=r"Column 'Amount': the amount is empty in 1 row .*row 5"):
        compute_rfm(path)
    folder = tmp_path / "parts"
    folder.mkdir()
    frame.to_parquet(folder / "a.parquet")
    with pytest.raises(DataError, match=r"Column 'Amount': the amount is empty in 1 row that has a customer"):
        compute_rfm(folder)


def test_analyze_from_a_parquet_folder_equals_dataframe(tmp_path):
    demo = rfm_addin.demo_transactions(n_customers=200)
    folder = tmp_path / "tx"
    folder.mkdir()
    for i, part in enumerate(demo.iloc[j::3] for j in range(3)):
        part.to_parquet(folder / f"{i}.parquet")
    seen = []
    a = rfm_addin.analyze(demo, k=3)
    b = rfm_addin.analyze(str(folder / "*.parquet"), k=3, progress=seen.append)
    pd.testing.assert_frame_equal(a.customers, b.customers)
    assert any("duckdb" in s for s in seen)


def test_analyze_with_table_keyword(shop):
    url, _ = shop
    result = rfm_addin.analyze(url, table="sales", k=2)
    assert len(result.customers) == 30


# ---------------------------------------------------------------------------------------
# Random data: DuckDB equals the DataFrame path
# ---------------------------------------------------------------------------------------
row_strategy = st.tuples(
    st.sampled_from(["1", "2", "3", "C4", "5", "c6", None, " 7 ", "\u00a0C4", ""]),
    st.sampled_from(["a", "b", " a", "10", "10.0", None, "", "a\u00a0", "\u300010.0"]),
    st.one_of(st.none(), st.datetimes(min_value=pd.Timestamp("2024-01-01").to_pydatetime(),
                                      max_value=pd.Timestamp("2024-01-31").to_pydatetime())),
    st.sampled_from([-5.0, 0.0, 2.5, 10.0, 99.99, 0.01]),
    st.sampled_from([1.0, 2.0, -1.0]),
    st.sampled_from(["x", "y"]),
)


@settings(max_examples=120, deadline=None)
@given(st.lists(row_strategy, min_size=1, max_size=30),
       st.one_of(st.none(), st.dates(min_value=date(2024, 1, 10), max_value=date(2024, 2, 5))),
       st.booleans(), st.booleans())
def test_random_data_duckdb_equals_dataframe_path(rows, as_of, with_order, with_quantity):
    frame = pd.DataFrame(rows, columns=["InvoiceNo", "CustomerID", "InvoiceDate", "Amount", "Quantity", "Note"])
    frame["InvoiceDate"] = pd.to_datetime(frame["InvoiceDate"])
    # Rows with a customer need a date (missing dates are an error in both paths).
    has_customer = frame["CustomerID"].fillna("").str.strip() != ""
    frame.loc[has_customer & frame["InvoiceDate"].isna(), "InvoiceDate"] = pd.Timestamp("2024-01-15 12:00")
    if not with_order:
        frame = frame.drop(columns="InvoiceNo")
    if not with_quantity:
        frame = frame.drop(columns="Quantity")
    try:
        expected = compute_rfm(frame, as_of=as_of)
    except RfmError as exc:
        with pytest.raises(RfmError) as info:
            compute_rfm(ibis.memtable(frame), as_of=as_of)
        assert type(info.value) is type(exc)
        return
    got = compute_rfm(ibis.memtable(frame), as_of=as_of)
    assert_same_result(expected, got)


def test_duckdb_threads_from_the_environment(monkeypatch):
    monkeypatch.setenv("RFM_DUCKDB_THREADS", "1")
    con = connections._duckdb_connect(ibis)
    try:
        assert con.con.execute("select current_setting('threads')").fetchone()[0] == 1
    finally:
        con.disconnect()
    monkeypatch.setenv("RFM_DUCKDB_THREADS", "two")
    with pytest.raises(RfmError, match="RFM_DUCKDB_THREADS must be a whole number"):
        connections._duckdb_connect(ibis)


def _text_heavy_parquet(path, rows=300_000):
    rng = np.random.default_rng(0)
    pd.DataFrame({
        "InvoiceNo": np.arange(rows) // 3,
        "StockCode": [f"P{i:06d}xx" for i in rng.integers(0, 10**6, rows)],
        "CustomerID": rng.integers(1, 5000, rows),
        "InvoiceDate": pd.Timestamp("2024-01-01") + pd.to_timedelta(rng.integers(0, 10**7, rows), unit="s"),
        "Amount": rng.random(rows).round(2),
    }).to_parquet(path)
    return path


def test_out_of_memory_in_duckdb_is_retried_with_more_memory(tmp_path, monkeypatch):
    import rfm_addin.sources as sources

    path = _text_heavy_parquet(tmp_path / "t.parquet")
    monkeypatch.setattr(connections, "DUCKDB_MEMORY", "2MB")      # far too little for this file
    monkeypatch.setattr(sources, "duckdb_memory_retries", lambda: ["8MB", "1GB"])
    limits = []
    real_set = sources._set_duckdb_memory
    monkeypatch.setattr(sources, "_set_duckdb_memory", lambda t, limit: (limits.append(limit), real_set(t, limit)))
    got = compute_rfm(str(path))
    assert limits[-1] == "1GB"                                    # retried until it fitted
    assert_same_result(compute_rfm(pd.read_parquet(path)), got)


def _plans(monkeypatch, force_hash: bool = False) -> list[bool]:
    """Record hash_customers of every expression the engine builds (optionally forcing it)."""
    from rfm_addin.sources import ibis_rfm

    plans = []
    real = ibis_rfm.customer_expression

    def spy(*args, **kwargs):
        if force_hash and not plans:
            kwargs["hash_customers"] = True
        plans.append(kwargs.get("hash_customers", False))
        return real(*args, **kwargs)

    monkeypatch.setattr(ibis_rfm, "customer_expression", spy)
    return plans


@pytest.mark.parametrize("frame", [messy(), messy().drop(columns="InvoiceNo"), padded_ids()],
                         ids=["orders", "no order column", "padded ids"])
def test_customer_ids_grouped_by_hash_give_the_same_result(con, monkeypatch, frame):
    plans = _plans(monkeypatch, force_hash=True)
    assert_same_result(compute_rfm(frame), compute_rfm(con.create_table("t", frame)))
    assert plans == [True]


def test_out_of_memory_on_text_customer_ids_groups_them_by_hash_first(tmp_path, monkeypatch):
    import rfm_addin.sources as sources

    path = tmp_path / "t.parquet"
    frame = pd.read_parquet(_text_heavy_parquet(tmp_path / "raw.parquet"))
    frame["CustomerID"] = "C" + frame["CustomerID"].astype(str)
    frame.to_parquet(path)
    monkeypatch.setattr(connections, "DUCKDB_MEMORY", "2MB")      # too little by value and by hash
    monkeypatch.setattr(sources, "duckdb_memory_retries", lambda: ["1GB"])
    plans = _plans(monkeypatch)
    assert_same_result(compute_rfm(frame), compute_rfm(str(path)))
    assert plans == [False, True]                                 # by hash first, then with more memory


def test_customer_ids_whose_hashes_collide_are_grouped_by_value_again(con, monkeypatch):
    from rfm_addin.sources import ibis_rfm

    # Every id of one length shares a "hash": the run notices and is repeated by value.
    monkeypatch.setattr(ibis_rfm, "_customer_key",
                        lambda x: ibis.ifelse(x.isnull(), ibis.null("uint64"), x.length().cast("uint64")))
    plans = _plans(monkeypatch, force_hash=True)
    frame = messy()
    assert_same_result(compute_rfm(frame), compute_rfm(con.create_table("t", frame)))
    assert plans == [True, False]


def test_out_of_memory_with_a_set_limit_says_which_setting_to_change(tmp_path, monkeypatch):
    path = _text_heavy_parquet(tmp_path / "t.parquet")
    monkeypatch.setenv("RFM_DUCKDB_MEMORY", "2MB")
    assert connections.duckdb_memory_retries() == []              # the user's limit is kept
    with pytest.raises(RfmError, match=r"needed more than 2MB of memory; set the environment variable "
                                       r"RFM_DUCKDB_MEMORY"):
        compute_rfm(str(path))


def test_memory_retries_double_up_to_half_the_machine(monkeypatch):
    monkeypatch.delenv("RFM_DUCKDB_MEMORY", raising=False)
    monkeypatch.setattr(connections, "_physical_memory", lambda: 16 * 1024 ** 3)
    assert connections.duckdb_memory_retries() == ["2GB", "4GB", "8GB"]
    monkeypatch.setattr(connections, "_physical_memory", lambda: None)
    assert connections.duckdb_memory_retries() == ["2GB", "4GB"]


def test_text_columns_outside_rfm_are_compared_by_hash_in_duckdb(con):
    from rfm_addin.core.columns import resolve_columns
    from rfm_addin.sources.ibis_rfm import _hashed_columns

    # Lines 1-2 equal in every column: one duplicate. Line 3 differs from them only in the
    # product code (a hashed column), so it is not a duplicate.
    frame = pd.DataFrame({
        "InvoiceNo": ["1", "1", "1"], "CustomerID": [7, 7, 7], "StockCode": ["85123A", "85123A", "85123B"],
        "Country": ["UK", "UK", "UK"], "InvoiceDate": pd.to_datetime(["2024-01-01"] * 3),
        "Amount": [2.5, 2.5, 2.5]})
    t = con.create_table("t", frame)
    cols = resolve_columns(list(t.columns), None, None, None, None)
    assert _hashed_columns(t, cols, keep=["Country"]) == {"StockCode"}      # kept columns keep their values
    expected = compute_rfm(frame)
    got = compute_rfm(t, keep="Country")
    assert got.quality.counts["duplicate_rows"] == expected.quality.counts["duplicate_rows"] == 1
    assert got.table.loc["7", "monetary"] == pytest.approx(5.0)
    assert got.table.loc["7", "Country"] == "UK"


def test_csv_folder_files_with_columns_in_different_orders_are_matched_by_name(tmp_path):
    (tmp_path / "one.csv").write_text("Customer,Date,Amount\na,2024-01-01,10\nb,2024-01-02,5\n")
    (tmp_path / "two.csv").write_text("Amount,Customer,Date\n7,c,2024-01-03\n3,a,2024-01-05\n")
    table = rfm_addin.rfm_table(str(tmp_path))
    assert table["monetary"].to_dict() == {"a": 13.0, "b": 5.0, "c": 7.0}
    assert table["frequency"].to_dict() == {"a": 2, "b": 1, "c": 1}


def test_parquet_folder_files_with_columns_in_different_orders_are_matched_by_name(tmp_path):
    dates = pd.to_datetime(["2024-01-01", "2024-01-02"])
    pd.DataFrame({"Customer": ["a", "b"], "Date": dates, "Amount": [10.0, 5.0]}).to_parquet(tmp_path / "1.parquet")
    pd.DataFrame({"Amount": [7.0], "Date": dates[:1], "Customer": ["a"]}).to_parquet(tmp_path / "2.parquet")
    table = rfm_addin.rfm_table(str(tmp_path))
    assert table["monetary"].to_dict() == {"a": 17.0, "b": 5.0}


def test_time_zone_aware_parquet_gives_the_local_dates_of_the_dataframe_path(tmp_path):
    # 00:30 in Berlin on 2024-03-02 is 23:30 UTC on the 1st; both paths must say the 2nd.
    stamps = pd.to_datetime(["2024-03-01 23:30", "2024-03-02 00:30", "2024-06-01 23:30"]).tz_localize("Europe/Berlin")
    frame_ = pd.DataFrame({"Customer": ["a", "b", "c"], "Date": stamps, "Amount": [1.0, 2.0, 3.0]})
    frame_.to_parquet(tmp_path / "tz.parquet")
    expected = compute_rfm(frame_)
    got = compute_rfm(str(tmp_path / "tz.parquet"))
    assert_same_result(expected, got)
    assert got.table["last_purchase"].dt.strftime("%Y-%m-%d").tolist() == ["2024-03-01", "2024-03-02", "2024-06-01"]
