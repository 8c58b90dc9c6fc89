"""Campaign tests on the command line: `rfm-addin plan` (workbook read back with openpyxl, arms
exported per arm) and `rfm-addin readout` (with and without the plan)."""
from __future__ import annotations

from pathlib import Path

import numpy as np
import openpyxl
import pandas as pd
import pytest

import rfm_addin as rfm
from workbook_helpers import cli, table




@pytest.fixture(scope="module")
def demo_csv(tmp_path_factory) -> Path:
    path = tmp_path_factory.mktemp("demo") / "demo.csv"
    rfm.demo_transactions().to_csv(path, index=False)
    return path


@pytest.fixture(scope="module")
def planned(demo_csv, tmp_path_factory):
    folder = tmp_path_factory.mktemp("plan")
    out, arms = folder / "plan.xlsx", folder / "arms"
    done = cli("plan", str(demo_csv), "--segment", "At Risk", "--segment", "Lost", "--lift", "10pp", "--holdout", "20%",
               "-o", str(out), "--export-arms", str(arms))
    assert done.returncode == 0, done.stderr
    return out, arms, done.stdout


def test_plan_workbook(demo_csv, planned):
    out, arms, stdout = planned
    expected = rfm.plan_campaign(pd.read_csv(demo_csv, dtype={"CustomerID": str}), segments=["At Risk", "Lost"],
                                 lift=0.1, holdout=0.2)
    assert all(f"- {text}" in stdout for text in expected.findings)
    figures = table(out, "RFM Test Plan", "RFM_TestPlan").set_index("Segment")
    assert list(figures.index) == ["At Risk", "Lost"]
    assert figures.loc["At Risk", "Customers needed"] == expected.table.loc["At Risk", "needed_total"]
    assert figures.loc["Lost", "Detectable lift"] == pytest.approx(expected.table.loc["Lost", "detectable_lift"])
    verdicts = table(out, "RFM Test Plan", "RFM_TestVerdicts")
    assert list(verdicts["Verdict"]) == expected.findings
    customers = table(out, "RFM Test Customers", "RFM_TestCustomers")
    assert customers["Arm"].value_counts().to_dict() == expected.customers["arm"].value_counts().to_dict()
    # one CSV per arm, each carrying its arm
    holdout = pd.read_csv(arms / "holdout.csv", dtype={"CustomerID": str})
    assert set(holdout["arm"]) == {"holdout"} and len(holdout) == (expected.customers["arm"] == "holdout").sum()
    assert (arms / "treatment.csv").is_file()


def test_readout_from_the_plan(planned, tmp_path):
    out, arms, _ = planned
    listed = pd.concat([pd.read_csv(arms / f"{a}.csv", dtype={"CustomerID": str}) for a in ("holdout", "treatment")])
    rng = np.random.default_rng(3)
    outcomes = pd.DataFrame({"CustomerID": listed["CustomerID"], "converted": (rng.random(len(listed)) < 0.3).astype(int)})
    path = tmp_path / "outcomes.csv"
    outcomes.to_csv(path, index=False)
    done = cli("readout", str(path), "--plan", str(out))
    assert done.returncode == 0, done.stderr
    merged = outcomes.assign(arm=listed["arm"].to_numpy())
    expected = rfm.readout_table(merged)
    assert f"treatment {expected['conversions_treatment']:,} of {expected['n_treatment']:,}" in done.stdout
    assert done.stdout.startswith(expected["label"].capitalize())
    # a customer who is not in the plan is named
    stranger = pd.concat([outcomes, pd.DataFrame({"CustomerID": ["X999"], "converted": [1]})])
    stranger.to_csv(path, index=False)
    done = cli("readout", str(path), "--plan", str(out))
    assert done.returncode != 0 and "not in the plan, e.g. 'X999'" in done.stderr


def test_readout_with_arms_in_the_file(tmp_path):
    path = tmp_path / "outcomes.csv"
    pd.DataFrame({"id": range(400), "arm": ["treatment"] * 300 + ["holdout"] * 100,
                  "converted": [1] * 60 + [0] * 240 + [1] * 10 + [0] * 90}).to_csv(path, index=False)
    done = cli("readout", str(path), "--planned", "250")
    assert done.returncode == 0, done.stderr
    assert done.stdout.startswith("Inconclusive: treatment 60 of 300 (20.00%), holdout 10 of 100 (10.00%).")
    assert "+10.00 points" in done.stdout
