"""compare_groups (issue 18): every row against scipy's tests and hand formulas; Benjamini-Hochberg by
hand (and against statsmodels where installed); profiles of kept columns appended after the
existing ones."""
from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest
from scipy import stats

import rfm_addin as rfm
from rfm_addin.core.compare import benjamini_hochberg
from rfm_addin.core.errors import RfmError


@pytest.fixture(scope="module")
def customers() -> pd.DataFrame:
    rng = np.random.default_rng(4)
    n = 400
    frame = pd.DataFrame({
        "group": np.repeat(["A", "B"], n // 2),
        "recency": np.r_[rng.integers(1, 100, n // 2), rng.integers(50, 400, n // 2)],
        "frequency": rng.integers(1, 10, n), "monetary": rng.gamma(2.0, 40.0, n),
        "Adoption: Reports": np.r_[rng.uniform(0.3, 0.7, n // 2), rng.uniform(0.0, 0.3, n // 2)],
        "Region": rng.choice(["North", "South", "East"], n),
    }, index=pd.Index([f"c{i}" for i in range(n)], name="customer"))
    frame.attrs["profile_columns"] = ["Adoption: Reports", "Region"]
    return frame


def test_numbers_against_scipy(customers):
    result = rfm.compare_groups(customers, "group", "A", "B")
    row = result.table.set_index("column").loc["recency"]
    a = customers.loc[customers.group == "A", "recency"].astype(float)
    b = customers.loc[customers.group == "B", "recency"].astype(float)
    pooled = math.sqrt(((len(a) - 1) * a.var() + (len(b) - 1) * b.var()) / (len(a) + len(b) - 2))
    assert row["value_a"] == pytest.approx(a.mean()) and row["difference"] == pytest.approx(a.mean() - b.mean())
    assert row["smd"] == pytest.approx((a.mean() - b.mean()) / pooled)
    assert row["p_value"] == pytest.approx(stats.ttest_ind(a, b, equal_var=False).pvalue)
    assert row["relative_difference"] == pytest.approx((a.mean() - b.mean()) / b.mean())
    assert set(result.table["column"]) == {"recency", "frequency", "monetary", "Adoption: Reports", "Region"}


def test_shares_by_hand(customers):
    table = rfm.compare_groups(customers, "group", "A", "B").table
    row = table.loc[(table.column == "Region") & (table.category == "North")].iloc[0]
    in_a = customers.group == "A"
    x_a, x_b = int((customers.Region[in_a] == "North").sum()), int((customers.Region[~in_a] == "North").sum())
    p_a, p_b = x_a / 200, x_b / 200
    assert (row["value_a"], row["value_b"]) == (p_a, p_b)
    assert row["smd"] == pytest.approx((p_a - p_b) / math.sqrt((p_a * (1 - p_a) + p_b * (1 - p_b)) / 2))
    pooled = (x_a + x_b) / 400
    z = (p_a - p_b) / math.sqrt(pooled * (1 - pooled) * (2 / 200))
    assert row["p_value"] == pytest.approx(2 * stats.norm.sf(abs(z)))


def test_sorted_adjusted_and_said(customers):
    result = rfm.compare_groups(customers, "group", "A", "B")
    smd = result.table["smd"].abs().to_numpy()
    assert (smd[:-1] >= smd[1:]).all()
    assert result.table["p_adjusted"].to_numpy() == pytest.approx(benjamini_hochberg(result.table["p_value"]))
    top = result.table.iloc[0]
    assert top["column"] in ("Adoption: Reports", "recency")
    first = result.sentences[0]
    assert first.endswith("the largest gap.") and len(result.sentences) == 3
    adoption = next(s for s in result.sentences if "Reports" in s)
    assert adoption.startswith("A used Reports in ") and " of active weeks, B in " in adoption


def test_benjamini_hochberg_by_hand():
    # p sorted 0.01, 0.02, 0.03, 0.5 (m = 4): 0.04, 0.04, 0.04, 0.5; NaN stays NaN
    got = benjamini_hochberg([0.03, 0.01, np.nan, 0.5, 0.02])
    assert got[[1, 4, 0, 3]] == pytest.approx([0.04, 0.04, 0.04, 0.5]) and np.isnan(got[2])
    multitest = pytest.importorskip("statsmodels.stats.multitest")
    p = np.random.default_rng(1).uniform(0, 0.2, 30)
    assert benjamini_hochberg(p) == pytest.approx(multitest.multipletests(p, method="fdr_bh")[1])


def test_bad_groups(customers):
    with pytest.raises(RfmError, match="No customer has group = 'C'"):
        rfm.compare_groups(customers, "group", "A", "C")
    with pytest.raises(RfmError, match="the same group"):
        rfm.compare_groups(customers, "group", "A", "A")
    with pytest.raises(RfmError, match="'plan' is not a column"):
        rfm.compare_groups(customers, "group", "A", "B", columns=["plan"])


def test_kept_columns_are_profiled_after_the_existing_columns():
    tx = rfm.demo_transactions(n_customers=300)
    tx["Region"] = np.where(tx["CustomerID"].astype(int) % 3 == 0, "North", "South")
    tx["Age"] = tx["CustomerID"].astype(int) % 50 + 20
    plain = rfm.analyze(tx)
    kept = rfm.analyze(tx, keep=["Region", "Age"])
    assert list(kept.segment_summary.columns[:len(plain.segment_summary.columns)]) == \
        list(plain.segment_summary.columns)
    extra = list(kept.segment_summary.columns[len(plain.segment_summary.columns):])
    assert extra == ["Region: South (share)", "Region: North (share)", "Age (mean)", "Age (median)"]
    champions = kept.customers.loc[kept.customers.segment == "Champions"]
    assert kept.segment_summary.loc["Champions", "Age (median)"] == champions["Age"].median()
    assert kept.segment_summary.loc["Champions", "Region: North (share)"] == pytest.approx(
        (champions["Region"] == "North").mean())
    assert list(kept.cluster_profile.columns[-4:]) == extra
    # profile() itself: explicit columns, and never scores or labels
    table = rfm.profile(kept.customers, "segment", columns=["Age", "r_score"])
    assert "Age (mean)" in table.columns and not any(c.startswith("r_score") for c in table.columns)
