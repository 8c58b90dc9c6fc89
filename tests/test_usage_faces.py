"""The SaaS path on the command line: `demo --saas` (the planted effect found first), `usage`
(workbook read back, headers the Cluster button detects) and `compare-groups` on its output."""
from __future__ import annotations

from pathlib import Path

import openpyxl
import pandas as pd
import pytest

import rfm_addin as rfm
from workbook_helpers import cli, table
from rfm_addin.core.demo import demo_usage




@pytest.fixture(scope="module")
def saas(tmp_path_factory) -> Path:
    folder = tmp_path_factory.mktemp("saas")
    done = cli("demo", "--saas", "-o", str(folder))
    assert done.returncode == 0, done.stderr
    assert "- lapsed used Reports in " in done.stdout.splitlines()[3]       # the planted effect, first
    return folder


def test_demo_planted_effect_is_the_top_difference():
    events, payments = demo_usage(n_users=1500, random_state=7)
    usage = rfm.usage_table(events, payments=payments)
    kinds = events.attrs["kinds"]
    compared = rfm.compare_groups(usage.join(kinds), "kind", "at risk", "healthy")
    assert compared.table.iloc[0]["column"] == "adoption: Reports"
    assert compared.table.iloc[0]["p_adjusted"] < 0.001


def test_usage_workbook(saas, tmp_path):
    out = tmp_path / "usage.xlsx"
    done = cli("usage", str(saas / "demo_events.csv"), "--payments", str(saas / "demo_payments.csv"), "-o", str(out))
    assert done.returncode == 0, done.stderr
    users = table(out, "RFM Usage", "RFM_Usage")
    assert users.columns[:5].tolist() == ["user_id", "Days since last activity", "Weekly sessions", "MRR",
                                          "Tenure (days)"]
    assert all(c.startswith("Adoption: ") for c in users.columns[5:11])
    expected = rfm.usage_table(pd.read_csv(saas / "demo_events.csv"), payments=pd.read_csv(saas / "demo_payments.csv"))
    got = users.set_index("user_id")
    assert got["MRR"].astype(float).to_numpy() == pytest.approx(expected["monetary"].to_numpy())
    # the headers written are the ones the Cluster button finds again
    from rfm_addin.excel.customer_table import detect

    found = detect([str(c) for c in users.columns])
    assert (found.recency, found.frequency, found.monetary) == ("Days since last activity", "Weekly sessions", "MRR")
    profile = table(out, "RFM Usage Clusters", "RFM_UsageClusters")
    assert any(c.startswith("adoption: Reports") for c in profile.columns)


def test_compare_groups_on_the_usage_workbook(saas, tmp_path):
    out = tmp_path / "compare.xlsx"
    done = cli("compare-groups", str(saas / "usage_demo.xlsx"), "--by", "Cluster", "--a", "1", "--b", "2", "-o", str(out))
    assert done.returncode == 0, done.stderr
    assert done.stdout.splitlines()[1].startswith("Cluster 1 ") or "Cluster 1 " in done.stdout
    compared = table(out, "RFM Compare", "RFM_Compare")
    smd = compared["Standardised difference"].astype(float).abs().to_numpy()
    assert (smd[:-1] >= smd[1:]).all()
    assert "Segment" not in set(compared["Column"]) and "Cluster name" not in set(compared["Column"])
    assert len(openpyxl.load_workbook(out)["RFM Compare"]._charts) == 1
    done = cli("compare-groups", str(saas / "usage_demo.xlsx"), "--by", "Cluster", "--a", "1", "--b", "99")
    assert done.returncode != 0 and "No customer has Cluster = '99'" in done.stderr


def test_compare_groups_with_a_retention_plan(saas, tmp_path):
    out = tmp_path / "plan.xlsx"
    done = cli("compare-groups", str(saas / "usage_demo.xlsx"), "--by", "cluster", "--a", "2", "--b", "3",
               "--events", str(saas / "demo_events.csv"), "--lift", "5pp", "-o", str(out))
    assert done.returncode == 0, done.stderr
    assert "A 30-day retention test for Cluster " in done.stdout
    book = openpyxl.load_workbook(out)
    assert {"RFM Compare", "RFM Test Plan", "RFM Test Customers"} <= set(book.sheetnames)
    plan = table(out, "RFM Test Plan", "RFM_TestPlan")
    arms = table(out, "RFM Test Customers", "RFM_TestCustomers")["Arm"]
    assert int(plan["Customers"].iloc[0]) == len(arms) and set(arms) == {"holdout", "treatment"}
