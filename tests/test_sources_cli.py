"""rfm-addin analyze on engine sources: Parquet globs and folders, --db URL --table/--query."""
from __future__ import annotations

import pytest
from openpyxl import load_workbook

import rfm_addin
from rfm_addin.cli import main

duckdb = pytest.importorskip("duckdb")
pytest.importorskip("ibis")


def customer_ids(path) -> list[str]:
    ws = load_workbook(path, read_only=True)["RFM Customers"]
    rows = list(ws.iter_rows(min_row=5, values_only=True))
    return [str(r[0]) for r in rows if r[0] is not None]


@pytest.fixture
def demo():
    return rfm_addin.demo_transactions(n_customers=80)


def test_analyze_a_parquet_glob_and_folder(tmp_path, demo, capsys):
    folder = tmp_path / "transactions"
    folder.mkdir()
    for i in range(3):
        demo.iloc[i::3].to_parquet(folder / f"part-{i}.parquet")
    expected = sorted(rfm_addin.rfm_table(demo).index)
    assert main(["analyze", str(folder / "*.parquet"), "-q", "--k", "3"]) == 0
    assert sorted(customer_ids(tmp_path / "transactions_rfm.xlsx")) == expected
    assert main(["analyze", str(folder), "-o", str(tmp_path / "f.xlsx"), "--k", "3"]) == 0
    assert sorted(customer_ids(tmp_path / "f.xlsx")) == expected
    assert "Wrote" in capsys.readouterr().out


def test_analyze_from_a_database(tmp_path, demo, monkeypatch):
    path = tmp_path / "shop.duckdb"
    with duckdb.connect(str(path)) as db:
        db.execute("create table sales as select * from demo")
    monkeypatch.chdir(tmp_path)
    assert main(["analyze", "--db", f"duckdb:///{path}", "--table", "sales", "-q", "--k", "3"]) == 0
    assert len(customer_ids(tmp_path / "rfm_sales.xlsx")) == 80
    out = tmp_path / "q.xlsx"
    assert main(["analyze", "--db", f"duckdb:///{path}", "--query", "select * from sales where OrderAmount > 0",
                 "-o", str(out), "-q", "--k", "3"]) == 0
    monkeypatch.setenv("RFM_CONNECTION_SHOP", f"duckdb:///{path}")
    assert main(["analyze", "--db", "shop", "--table", "sales", "-o", str(tmp_path / "n.xlsx"), "-q", "--k", "3"]) == 0


def test_analyze_a_large_csv_file_through_duckdb(tmp_path, demo, monkeypatch, capsys):
    import rfm_addin.sources as sources

    path = tmp_path / "export.csv"
    demo.to_csv(path, index=False)
    monkeypatch.setattr(sources, "CSV_ENGINE_BYTES", 1)                  # as if it were 100 MB or more
    monkeypatch.setattr("sys.stderr.isatty", lambda: True)
    assert main(["analyze", str(path), "--k", "3"]) == 0
    assert "Aggregating transactions in duckdb" in capsys.readouterr().err
    assert sorted(customer_ids(tmp_path / "export_rfm.xlsx")) == sorted(rfm_addin.rfm_table(demo).index)
    assert main(["analyze", str(path), "--dayfirst", "-o", str(tmp_path / "d.xlsx"), "--k", "3"]) == 0
    assert "Aggregating transactions" not in capsys.readouterr().err      # the reader's option: the reader


def test_no_source_is_a_usage_error(capsys):
    with pytest.raises(SystemExit) as info:
        main(["analyze", "--table", "sales"])
    assert info.value.code == 2 and "give the transactions" in capsys.readouterr().err


def test_progress_is_shown_while_the_engine_works(tmp_path, demo, monkeypatch, capsys):
    path = tmp_path / "shop.duckdb"
    with duckdb.connect(str(path)) as db:
        db.execute("create table sales as select * from demo")
    monkeypatch.setattr("sys.stderr.isatty", lambda: True)
    assert main(["analyze", "--db", f"duckdb:///{path}", "--table", "sales", "-o", str(tmp_path / "p.xlsx"),
                 "--k", "3"]) == 0
    assert "Aggregating transactions in duckdb" in capsys.readouterr().err


@pytest.mark.parametrize("argv, message", [
    (["analyze", "--db", "duckdb:///nowhere.duckdb", "--table", "sales"], "no DuckDB database file"),
    (["analyze", "--db", "duckdb:///x.duckdb"], "--table NAME or --query"),
    (["analyze", "x.csv", "--table", "sales"], "--table and --query go with --db"),
    (["analyze", "--db", "postgresql://u:secret@127.0.0.1:1/db", "--table", "sales"], "Could not connect"),
])
def test_bad_database_arguments_are_one_line_errors(argv, message, capsys):
    assert main(argv) == 2
    err = capsys.readouterr().err
    assert message in err and "Traceback" not in err and "secret" not in err
