"""CLV on the command line and in the written workbooks: `analyze --clv`, `clv-check`, the
"RFM CLV" and "RFM CLV Check" sheets read back with openpyxl against the library's numbers."""
from __future__ import annotations

from pathlib import Path

import numpy as np
import openpyxl
import pandas as pd
import pytest

import rfm_addin as rfm
from workbook_helpers import cli, table
from rfm_addin.core.clv import MONTH_DAYS, parse_horizon
from rfm_addin.core.errors import RfmError

SAMPLE = Path(__file__).parent / "data" / "CDNOW_sample.txt"


@pytest.fixture(scope="module")
def cdnow_csv(tmp_path_factory) -> Path:
    raw = pd.read_csv(SAMPLE, sep=r"\s+", header=None, names=["CustomerID", "master", "Date", "cds", "Amount"],
                      dtype={"CustomerID": str, "master": str, "Date": str})
    raw["Date"] = pd.to_datetime(raw["Date"], format="%Y%m%d")
    path = tmp_path_factory.mktemp("cdnow") / "cdnow.csv"
    raw[["CustomerID", "Date", "Amount"]].to_csv(path, index=False)
    return path




def test_horizons():
    assert parse_horizon("12m") == pytest.approx(365.25)
    assert parse_horizon("52w") == 364 and parse_horizon("365d") == 365 and parse_horizon("90") == 90
    assert parse_horizon(" 6M ") == pytest.approx(6 * MONTH_DAYS) and parse_horizon(30) == 30
    for bad in ("twelve months", "0d", "-3m", "12y"):
        with pytest.raises(RfmError, match="horizon"):
            parse_horizon(bad)


def test_analyze_clv_workbook(cdnow_csv, tmp_path):
    out = tmp_path / "valued.xlsx"
    done = cli("analyze", str(cdnow_csv), "--clv", "--horizon", "6m", "--discount", "0.05", "-o", str(out))
    assert done.returncode == 0, done.stderr
    assert "Expected value of the next 6 months" in done.stdout
    expected = rfm.analyze(pd.read_csv(cdnow_csv, dtype={"CustomerID": str}), clv=True,
                           horizon_days=6 * MONTH_DAYS, annual_discount=0.05)
    customers = table(out, "RFM Customers", "RFM_Customers").set_index("CustomerID")
    assert list(customers.columns[-5:]) == ["Expected purchases", "Churn risk", "Expected spend", "CLV",
                                            "Spend from population mean"]
    assert np.allclose(customers["CLV"].astype(float), expected.customers["clv"].to_numpy())
    assert np.allclose(customers["Churn risk"].astype(float), expected.customers["churn_risk"].to_numpy())
    segments = table(out, "RFM CLV", "RFM_CLV").set_index("Segment")
    summary = expected.segment_summary
    assert list(segments.index) == list(summary.sort_values("clv_total", ascending=False, kind="stable").index)
    assert np.allclose(segments.loc[summary.index, "Future value (CLV)"].astype(float), summary["clv_total"])
    assert segments["Share of future value"].astype(float).sum() == pytest.approx(1.0)
    model = table(out, "RFM CLV", "RFM_CLVModel").set_index("Parameter")["Value"]
    assert float(model["Pareto/NBD r"]) == pytest.approx(expected.values.purchases.params["r"])
    assert float(model["Horizon (days)"]) == pytest.approx(6 * MONTH_DAYS)
    sheet = openpyxl.load_workbook(out)["RFM CLV"]
    assert len(sheet._charts) == 1


def test_analyze_clv_reads_files_and_says_why_not_a_database(tmp_path, cdnow_csv):
    duckdb = pytest.importorskip("duckdb")
    frame = pd.read_csv(cdnow_csv, dtype={"CustomerID": str}, parse_dates=["Date"])
    parquet = tmp_path / "cdnow.parquet"
    frame.to_parquet(parquet)
    done = cli("analyze", str(parquet), "--clv", "-q", "-o", str(tmp_path / "p.xlsx"))
    assert done.returncode == 0, done.stderr
    base = tmp_path / "shop.duckdb"
    with duckdb.connect(str(base)) as con:
        con.execute("create table sales as select * from frame")
    done = cli("analyze", "--db", f"duckdb:///{base}", "--table", "sales", "--clv", "-q", "-o", str(tmp_path / "d.xlsx"))
    assert done.returncode != 0 and "reads the transactions in pandas" in done.stderr, done.stderr
    assert not (tmp_path / "d.xlsx").exists()


def test_clv_check_workbook(cdnow_csv, tmp_path):
    out = tmp_path / "check.xlsx"
    done = cli("clv-check", str(cdnow_csv), "--calibration-end", "1997-09-30", "--holdout-end", "1998-06-30",
               "-o", str(out))
    assert done.returncode == 0, done.stderr
    assert "BG/NBD predicted 1,653.4" in done.stdout and "Pareto/NBD predicted 1,665.5" in done.stdout
    models = table(out, "RFM CLV Check", "RFM_CLVCheck").set_index("Model")
    assert models.loc["BG/NBD", "Actual"] == 1882
    assert float(models.loc["Pareto/NBD", "Predicted"]) == pytest.approx(1665.5, rel=0.005)
    deciles = table(out, "RFM CLV Check", "RFM_CLVCheckDeciles")
    assert list(deciles["Decile"]) == list(range(1, 11)) and deciles["Customers"].sum() == 2357
    churn = table(out, "RFM CLV Check", "RFM_CLVCheckChurn")
    assert churn["Used"].tolist() == [True, False, False]
    assert len(openpyxl.load_workbook(out)["RFM CLV Check"]._charts) == 1
    # the source file is not touched, and a bad period writes nothing
    bad = tmp_path / "bad.xlsx"
    done = cli("clv-check", str(cdnow_csv), "--calibration-end", "1999-01-01", "-o", str(bad))
    assert done.returncode != 0 and "must end after the calibration end" in done.stderr and not bad.exists()
