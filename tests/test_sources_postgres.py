"""PostgreSQL through Ibis against a real server (started by .ci/postgres).

The server is found at RFM_TEST_POSTGRES_URL or postgresql://rfm:rfm@127.0.0.1:54329/rfm_test.
Without a reachable server the tests skip, except in CI (CI=true), where they fail.
"""
from __future__ import annotations

import io
import os

import numpy as np
import pandas as pd
import pytest
from sources_helpers import assert_same_result, padded_ids
from usage_helpers import assert_same_usage, awkward_log, awkward_payments

import rfm_addin
from rfm_addin.sources.route import compute_rfm
from rfm_addin.core.errors import ColumnError, RfmError

pytest.importorskip("ibis")
psycopg = pytest.importorskip("psycopg")

URL = os.environ.get("RFM_TEST_POSTGRES_URL", "postgresql://rfm:rfm@127.0.0.1:54329/rfm_test")


def large_transactions(n_rows: int = 200_000, seed: int = 7) -> pd.DataFrame:
    """Order lines with duplicates, cancellations, returns, missing customers and order ids."""
    rng = np.random.default_rng(seed)
    customers = rng.integers(1, 20_000, n_rows)
    orders = rng.integers(100_000, 180_000, n_rows).astype(str).astype(object)
    cancel = rng.random(n_rows) < 0.02
    orders[cancel] = "C" + orders[cancel]
    orders[rng.random(n_rows) < 0.01] = None
    frame = pd.DataFrame({
        "InvoiceNo": orders,
        "CustomerID": np.where(rng.random(n_rows) < 0.03, None, customers.astype(str)),
        "InvoiceDate": pd.Timestamp("2023-01-01") + pd.to_timedelta(rng.integers(0, 730 * 24, n_rows), unit="h"),
        "Quantity": rng.integers(-2, 12, n_rows),
        "UnitPrice": np.round(rng.lognormal(1.0, 0.8, n_rows), 2),
    })
    frame = pd.concat([frame, frame.iloc[: n_rows // 100]], ignore_index=True)  # exact duplicates
    return frame


def _load(conn, name: str, frame: pd.DataFrame, types: dict[str, str]) -> None:
    with conn.cursor() as cur:
        cur.execute(f'drop table if exists "{name}"')
        cur.execute(f'create table "{name}" ({", ".join(f"{chr(34)}{c}{chr(34)} {t}" for c, t in types.items())})')
        buffer = io.StringIO()
        frame.to_csv(buffer, index=False, header=False, date_format="%Y-%m-%d %H:%M:%S")
        buffer.seek(0)
        with cur.copy(f'copy "{name}" from stdin with (format csv)') as copy:
            copy.write(buffer.read())
    conn.commit()


#: Column types of the padded_ids() table.
PADDED_TYPES = {"InvoiceNo": "text", "CustomerID": "text", "InvoiceDate": "timestamp", "Amount": "double precision"}


def _connect(url: str, what: str):
    """A connection to ``url``; the test skips when there is none, except in CI, where it fails."""
    try:
        return psycopg.connect(url, connect_timeout=5)
    except Exception as exc:
        if os.environ.get("CI") == "true":
            pytest.fail(f"CI=true but no {what} at {url}: {exc} (run .ci/postgres)")
        pytest.skip(f"no {what} at {url} (run .ci/postgres)")


@pytest.fixture(scope="module")
def server():
    conn = _connect(URL, "PostgreSQL server")
    demo = rfm_addin.demo_transactions()
    big = large_transactions()
    _load(conn, "demo_sales", demo, {"CustomerID": "text", "OrderDate": "date", "OrderAmount": "numeric(12,2)"})
    _load(conn, "big_sales", big, {"InvoiceNo": "text", "CustomerID": "text", "InvoiceDate": "timestamp",
                                   "Quantity": "integer", "UnitPrice": "double precision"})
    _load(conn, "padded_ids", padded_ids(), PADDED_TYPES)
    _load(conn, "text_dates", demo.astype({"OrderDate": str}),
          {"CustomerID": "text", "OrderDate": "text", "OrderAmount": "numeric(12,2)"})
    with conn.cursor() as cur:
        cur.execute("drop table if exists victim")
        cur.execute("create table victim (a int)")
    conn.commit()
    yield {"conn": conn, "demo": demo, "big": big}
    conn.close()


def test_demo_data_same_as_dataframe_path(server):
    expected = compute_rfm(server["demo"])
    assert_same_result(expected, compute_rfm(URL, table="demo_sales"))
    assert_same_result(expected, compute_rfm(URL, table="public.demo_sales"))
    assert_same_result(expected, compute_rfm(URL, query='select * from demo_sales where "OrderAmount" is not null'))


@pytest.mark.parametrize("as_of", [None, "2024-06-30"])
def test_larger_data_same_as_dataframe_path(server, as_of):
    expected = compute_rfm(server["big"], as_of=as_of)
    got = compute_rfm(URL, table="big_sales", as_of=as_of)
    assert_same_result(expected, got)
    assert got.quality.counts["duplicate_rows"] > 0 and got.quality.counts["cancellations"] > 0
    assert got.quality.counts["no_customer"] > 0 and got.quality.counts["rows_without_order"] > 0


def test_analysis_from_postgres_equals_dataframe(server):
    a = rfm_addin.analyze(server["demo"], k=3)
    b = rfm_addin.analyze(URL, table="demo_sales", k=3)
    pd.testing.assert_frame_equal(a.customers, b.customers, check_exact=False, atol=0.005)


def test_ids_padded_with_any_whitespace_are_the_same_ids(server):
    assert_same_result(compute_rfm(padded_ids()), compute_rfm(URL, table="padded_ids"))


def test_a_latin1_database_gets_an_ascii_query(server):
    # Ids padded with the whitespace LATIN1 can store (no-break space, NEL, tab); the query
    # itself names every Unicode space, as escapes, so a LATIN1 server can read it.
    url = URL.rsplit("/", 1)[0] + "/rfm_test_latin1"
    frame = padded_ids()
    for column in ("InvoiceNo", "CustomerID"):
        frame[column] = frame[column].map(
            lambda v: None if v is None else "".join(c if ord(c) < 256 else "\u00a0" for c in v))
    with _connect(url, "LATIN1 database") as conn:
        _load(conn, "padded_ids", frame, PADDED_TYPES)
    got = compute_rfm(url, table="padded_ids")
    assert_same_result(compute_rfm(frame), got)
    assert sorted(got.table.index) == ["42", "7", "8"]


def test_named_connection(server, monkeypatch):
    monkeypatch.setenv("RFM_CONNECTION_WAREHOUSE", URL)
    assert len(rfm_addin.rfm_table("warehouse", table="demo_sales")) == 1000


def test_bad_input_through_postgres(server):
    with pytest.raises(RfmError, match="table 'nosuch' was not found.*big_sales"):
        compute_rfm(URL, table="nosuch")
    with pytest.raises(ColumnError, match="customer column 'Client' is not in the data"):
        compute_rfm(URL, table="demo_sales", customer="Client")
    with pytest.raises(RfmError, match=r"Column 'OrderDate' \(date\) has type string"):
        compute_rfm(URL, table="text_dates")
    for name in ("demo_sales; DROP TABLE victim", 'demo_sales"; DROP TABLE victim; --'):
        with pytest.raises(RfmError, match="not a valid table name"):
            compute_rfm(URL, table=name)
    with pytest.raises(ColumnError, match="not in the data"):
        compute_rfm(URL, table="demo_sales", customer='a" ; DROP TABLE victim; --')
    with server["conn"].cursor() as cur:
        cur.execute("select count(*) from victim")
        assert cur.fetchone() == (0,)


def test_wrong_password_is_a_clear_error_without_the_password(server):
    bad = URL.replace("rfm:rfm@", "rfm:wrong-secret@")
    with pytest.raises(RfmError) as info:
        compute_rfm(bad, table="demo_sales")
    assert "Could not connect to PostgreSQL" in str(info.value)
    assert "wrong-secret" not in str(info.value)


@pytest.mark.parametrize("as_of", [None, "2024-05-20"])
def test_usage_table_from_postgres_equals_dataframe(server, as_of):
    """Issue 18: the event log aggregated in PostgreSQL (sessions by lag(), weeks by date
    difference), the payments fetched; zoned timestamps (timestamptz) as instants."""
    log = awkward_log()
    payments = awkward_payments(log)
    _load(server["conn"], "usage_events", log, {"user_id": "text", "timestamp": "timestamp", "event": "text"})
    _load(server["conn"], "usage_payments", payments, {"user_id": "text", "date": "date", "amount": "numeric(10,2)",
                                                        "plan": "text"})
    expected = rfm_addin.usage_table(log, payments=payments, as_of=as_of)
    got = rfm_addin.usage_table(URL, table="usage_events", payments=URL, payments_table="usage_payments", as_of=as_of)
    assert_same_usage(expected, got)
    zoned = log.assign(timestamp=log["timestamp"].dt.strftime("%Y-%m-%d %H:%M:%S+00"))
    _load(server["conn"], "usage_zoned", zoned, {"user_id": "text", "timestamp": "timestamptz", "event": "text"})
    assert_same_usage(rfm_addin.usage_table(log, as_of=as_of),
                      rfm_addin.usage_table(URL, query="select * from usage_zoned", as_of=as_of))

