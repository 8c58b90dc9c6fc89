"""usage_table through DuckDB (issue 18): the engine path equals the DataFrame path on
generated logs with awkward rows, from Parquet files, a DuckDB database and an Ibis table.
PostgreSQL: tests/test_sources_postgres.py."""
from __future__ import annotations

import pandas as pd
import pytest
from usage_helpers import assert_same_usage, awkward_log, awkward_payments

import rfm_addin as rfm
from rfm_addin.core.demo import demo_usage
from rfm_addin.core.errors import RfmError

ibis = pytest.importorskip("ibis")
pytest.importorskip("duckdb")


@pytest.fixture(scope="module")
def log():
    return awkward_log()


@pytest.mark.parametrize("as_of", [None, "2024-05-20"])
def test_parquet_equals_dataframe(tmp_path, log, as_of):
    path = tmp_path / "events.parquet"
    log.to_parquet(path)
    payments = awkward_payments(log)
    expected = rfm.usage_table(log, payments=payments, as_of=as_of)
    got = rfm.usage_table(str(path), payments=payments, as_of=as_of)
    assert_same_usage(expected, got)
    quality = pd.DataFrame(got.attrs["quality"]).set_index("check")["count"]
    assert quality["Events without a user"] == 1 and quality["Events of a user without a timestamp"] == 1
    assert "u0001" in got.index and " u0001 " not in got.index


def test_hand_worked_edges_in_both_paths():
    """as_of 2024-03-10. User a: 10:00, 10:30 (exactly 30 minutes later: a new session), 10:30
    again (the same instant), 10:59 (29 minutes): 2 sessions. User b: 2024-03-03 00:00 is 7 days
    before as_of (week 0, with 03-09), 2024-03-02 20:00 is 8 days before (week 1)."""
    log = pd.DataFrame({"user": ["a", "a", "a", "a", "b", "b", "b"],
                        "time": pd.to_datetime(["2024-03-08 10:00", "2024-03-08 10:30", "2024-03-08 10:30",
                                                "2024-03-08 10:59", "2024-03-03 00:00", "2024-03-09 12:00",
                                                "2024-03-02 20:00"]),
                        "event": ["x", "y", "y", "x", "x", "y", "y"]})
    con = ibis.duckdb.connect()
    for table in (rfm.usage_table(log, as_of="2024-03-10"),
                  rfm.usage_table(con.create_table("log", log), as_of="2024-03-10")):
        assert table.loc["a", "frequency"] == 2.0               # first seen in the last week: 2 sessions / 1
        # b: first seen 2024-03-02, 8 days before as_of: 2 weeks; sessions 3
        assert table.loc["b", "frequency"] == 1.5
        assert table.loc["b", "adoption: x"] == 0.5 and table.loc["b", "adoption: y"] == 1.0


def test_duckdb_database_and_ibis_table(tmp_path):
    events, payments = demo_usage(n_users=400, random_state=5)
    events.attrs, payments.attrs = {}, {}
    expected = rfm.usage_table(events, payments=payments)
    db = tmp_path / "product.duckdb"
    con = ibis.duckdb.connect(str(db))
    con.create_table("events", events)
    con.create_table("payments", payments)
    assert_same_usage(expected, rfm.usage_table(con.table("events"), payments=con.table("payments")))
    con.disconnect()
    url = f"duckdb:///{db}"
    got = rfm.usage_table(url, table="events", payments=url, payments_table="payments")
    assert_same_usage(expected, got)
    said = []
    rfm.usage_table(url, query="select * from events", payments=payments, progress=said.append)
    assert said and all("duckdb" in s for s in said)


def test_zoned_timestamps_are_instants(tmp_path, log):
    """A zoned Parquet column: sessions and days in UTC, as the DataFrame path converts them."""
    zoned = log.assign(timestamp=log["timestamp"].dt.tz_localize("UTC").dt.tz_convert("America/New_York"))
    path = tmp_path / "zoned.parquet"
    zoned.to_parquet(path)
    assert_same_usage(rfm.usage_table(zoned), rfm.usage_table(str(path)))
    assert_same_usage(rfm.usage_table(log), rfm.usage_table(str(path)))


def test_numeric_ids_and_text_timestamps(tmp_path, log):
    numeric = log.assign(user_id=log["user_id"].str.strip().str[1:].astype(float))
    path = tmp_path / "numeric.parquet"
    numeric.to_parquet(path)
    got = rfm.usage_table(str(path))
    assert_same_usage(rfm.usage_table(numeric), got)
    assert "1" in got.index           # 1.0 is the user "1", as on a sheet
    # text timestamps in a single file go back to the DataFrame reader, which reads them
    text = log.assign(timestamp=log["timestamp"].dt.strftime("%Y-%m-%d %H:%M:%S"))
    path = tmp_path / "text.parquet"
    text.to_parquet(path)
    assert_same_usage(rfm.usage_table(log), rfm.usage_table(str(path)))


def test_engine_errors_are_clear(tmp_path):
    con = ibis.duckdb.connect()
    t = con.create_table("e", pd.DataFrame({"user": ["a"], "time": ["yesterday"], "event": ["x"]}))
    with pytest.raises(RfmError, match=r"Column 'time' \(timestamp\) has type string"):
        rfm.usage_table(t)
    t = con.create_table("f", pd.DataFrame({"user": ["a"], "when": [pd.Timestamp("2024-01-01")], "event": ["x"]}))
    with pytest.raises(RfmError, match="The events need a timestamp column"):
        rfm.usage_table(t)
    empty = con.create_table("g", pd.DataFrame({"user": pd.Series([], dtype=str),
                                                 "time": pd.Series([], dtype="datetime64[ns]"),
                                                 "event": pd.Series([], dtype=str)}))
    with pytest.raises(RfmError, match="header but no events"):
        rfm.usage_table(empty)


def test_cli_usage_from_a_database_equals_the_file_path(tmp_path):
    from workbook_helpers import cli, table

    events, payments = demo_usage(n_users=300, random_state=9)
    events.attrs, payments.attrs = {}, {}
    events.to_csv(tmp_path / "events.csv", index=False)
    payments.to_csv(tmp_path / "payments.csv", index=False)
    con = ibis.duckdb.connect(str(tmp_path / "product.duckdb"))
    con.create_table("events", events)
    con.create_table("payments", payments)
    con.disconnect()
    done = cli("usage", str(tmp_path / "events.csv"), "--payments", str(tmp_path / "payments.csv"), "-q")
    assert done.returncode == 0, done.stderr
    done = cli("usage", "--db", f"duckdb:///{tmp_path / 'product.duckdb'}", "--table", "events",
               "--payments-table", "payments", "-o", str(tmp_path / "db.xlsx"), "-q")
    assert done.returncode == 0, done.stderr
    from_file = table(tmp_path / "events_usage.xlsx", "RFM Usage", "RFM_Usage")
    from_db = table(tmp_path / "db.xlsx", "RFM Usage", "RFM_Usage")
    pd.testing.assert_frame_equal(from_file, from_db)
    done = cli("usage", "--table", "events", str(tmp_path / "events.csv"))
    assert done.returncode != 0 and "go with --db" in done.stderr
