"""Campaign experiments (issue 17): sizing, detectable lift, readouts, assignment to arms and the
historical baselines. Figures from the issue (statsmodels' published results for 10% -> 12%);
tests/test_experiments_statsmodels.py checks a grid against statsmodels itself; the
assignment's guarantees are properties (hypothesis); the baselines against a loop over the
transactions."""
from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import rfm_addin as rfm
from rfm_addin.core import experiments as E
from rfm_addin.core.baselines import baseline_dates, segment_baselines
from rfm_addin.core.errors import RfmError
from rfm_addin.core.rfm import prepare_lines


def test_sizes_of_the_issue():
    assert E.sample_size(0.10, 0.02) == 3835
    assert E.sample_size(0.10, 0.02, method="pooled_z") == 3841
    assert E.sample_sizes(0.10, 0.02, ratio=1 / 9) == {"treatment": 19173, "holdout": 2131, "total": 21304}
    assert E.sample_size(0.10, 0.2, relative=True) == 3835           # +20% of 10% is 2 points
    # a segment of 2,000 split in half detects about 4.1 points from a 10% baseline
    assert E.detectable_lift(0.10, 1000) == pytest.approx(0.0406, abs=5e-4)
    # consistency: the detectable lift of the size needed for 2 points is 2 points
    assert E.detectable_lift(0.10, 3834.6) == pytest.approx(0.02, abs=1e-5)


def test_sizing_bad_input():
    for call, match in ((lambda: E.sample_size(0, 0.02), "baseline must be between 0 and 1"),
                        (lambda: E.sample_size(0.95, 0.1), "past 1"),
                        (lambda: E.sample_size(0.1, -0.01), "lift must be above 0"),
                        (lambda: E.sample_size(0.1, 0.02, power=1.0), "power must be between"),
                        (lambda: E.sample_size(0.1, 0.02, alpha=0), "alpha must be between"),
                        (lambda: E.sample_size(0.1, 0.02, method="t"), "method must be one of"),
                        (lambda: E.detectable_lift(0.1, 0), "n_treatment must be at least 1")):
        with pytest.raises(RfmError, match=match):
            call()
    assert math.isnan(E.detectable_lift(0.5, 3))          # no lift up to a rate of 1 is detectable


def test_readout_by_hand():
    r = E.readout(130, 1000, 100, 1000)
    assert r["rate_treatment"] == 0.13 and r["rate_holdout"] == 0.1 and r["difference"] == pytest.approx(0.03)
    # pooled z by hand: p = 0.115, se = sqrt(0.115 * 0.885 * 2 / 1000)
    z = 0.03 / math.sqrt(0.115 * 0.885 * 2 / 1000)
    assert r["p_value"] == pytest.approx(math.erfc(z / math.sqrt(2)))
    # Newcombe: Wilson intervals of each arm, combined
    def wilson(c, n, zz=1.959963984540054):
        p = c / n
        centre = (p + zz * zz / (2 * n)) / (1 + zz * zz / n)
        half = zz * math.sqrt(p * (1 - p) / n + zz * zz / (4 * n * n)) / (1 + zz * zz / n)
        return centre - half, centre + half
    (lt, ut), (lh, uh) = wilson(130, 1000), wilson(100, 1000)
    assert r["difference_ci"][0] == pytest.approx(0.03 - math.hypot(0.13 - lt, uh - 0.1))
    assert r["difference_ci"][1] == pytest.approx(0.03 + math.hypot(0.1 - lh, ut - 0.13))
    assert r["relative_lift"] == pytest.approx(0.3) and r["relative_lift_ci"][0] < 0.3 < r["relative_lift_ci"][1]
    assert r["label"] == "significant" and r["rule"] == E.LABEL_RULE


def test_readout_labels():
    assert E.readout(130, 1000, 100, 1000, planned_n=1200)["label"] == "inconclusive"
    assert E.readout(130, 1000, 100, 1000, planned_n={"treatment": 900, "holdout": 1100})["label"] == "inconclusive"
    promising = E.readout(120, 1000, 100, 1000)
    assert 0.05 < promising["p_value"] < 0.2 and promising["label"] == "promising"
    assert E.readout(115, 1000, 100, 1000)["p_value"] > 0.2
    assert E.readout(115, 1000, 100, 1000)["label"] == "not significant"
    assert E.readout(100, 1000, 115, 1000)["label"] == "not significant"
    assert E.readout(101, 1000, 100, 1000)["label"] == "not significant"
    with pytest.raises(RfmError, match="more conversions than customers"):
        E.readout(11, 10, 1, 10)


def test_readout_table_with_revenue():
    rng = np.random.default_rng(1)
    table = pd.DataFrame({"arm": ["treatment"] * 300 + ["holdout"] * 100,
                          "converted": np.r_[rng.random(300) < 0.2, rng.random(100) < 0.1].astype(int),
                          "revenue": rng.gamma(2.0, 10.0, 400)})
    r = E.readout_table(table, revenue="revenue")
    t, h = table[table.arm == "treatment"], table[table.arm == "holdout"]
    assert r["conversions_treatment"] == t.converted.sum() and r["n_holdout"] == 100
    assert r["revenue_difference"] == pytest.approx(t.revenue.mean() - h.revenue.mean())
    # Welch by hand
    va, vb = t.revenue.var() / 300, h.revenue.var() / 100
    dof = (va + vb) ** 2 / (va ** 2 / 299 + vb ** 2 / 99)
    from scipy import stats
    half = stats.t.isf(0.025, dof) * math.sqrt(va + vb)
    assert r["revenue_difference_ci"] == pytest.approx((r["revenue_difference"] - half, r["revenue_difference"] + half))
    with pytest.raises(RfmError, match="must be 1 or 0"):
        E.readout_table(table.assign(converted=table.converted.replace({1: 2})))
    with pytest.raises(RfmError, match="no 'holdout'"):
        E.readout_table(table.assign(arm="treatment"))


# --- assignment ------------------------------------------------------------------------


def _customers(n: int, seed: int = 0) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    return pd.DataFrame({"segment": rng.choice(["A", "B", "C"], n), "recency": rng.integers(1, 400, n),
                         "frequency": rng.integers(1, 20, n), "monetary": rng.gamma(2, 50, n)},
                        index=pd.Index([f"C{i:05d}" for i in range(n)], name="customer"))


def test_assignment_shares_per_stratum():
    customers = _customers(2000)
    result = E.assign(customers, holdout=0.1, arms=("email", "sms"))
    assert result.arm.name == "arm" and result.arm.index.equals(customers.index)
    for _, group in result.arm.groupby(customers["segment"]):
        assert abs((group == "holdout").sum() - 0.1 * len(group)) <= 1
        assert abs((group == "email").sum() - (group == "sms").sum()) <= 1
    assert set(result.balance["arm"]) == {"holdout", "email", "sms"}
    assert list(result.balance.columns) == ["arm", "metric", "mean", "smd", "flagged"]
    email = customers.loc[result.arm == "email", "monetary"]
    held = customers.loc[result.arm == "holdout", "monetary"]
    row = result.balance.query("arm == 'email' and metric == 'monetary'").iloc[0]
    assert row["smd"] == pytest.approx((email.mean() - held.mean()) / math.sqrt((email.var() + held.var()) / 2))


@settings(max_examples=40, deadline=None)
@given(n=st.integers(5, 300), k=st.integers(0, 40), seed=st.integers(0, 1000), share=st.floats(0.05, 0.5))
def test_assignment_is_stable(n, k, seed, share):
    customers = _customers(n + k, seed).assign(segment="one")
    old, grown = customers.iloc[:n], customers
    first = E.assign(old, holdout=share, random_state=seed)
    # the same customers in another order: the same arms
    again = E.assign(old.sample(frac=1.0, random_state=seed), holdout=share, random_state=seed)
    assert again.arm.reindex(old.index).equals(first.arm)
    # k more customers move at most k + 1 of the existing ones
    after = E.assign(grown, holdout=share, random_state=seed).arm.reindex(old.index)
    assert int((after != first.arm).sum()) <= k + 1


def test_assignment_seed_and_bad_input():
    customers = _customers(500)
    a, b = E.assign(customers, random_state=1).arm, E.assign(customers, random_state=2).arm
    assert not a.equals(b) and (a == "holdout").sum() == (b == "holdout").sum()
    with pytest.raises(RfmError, match="fewer customers than arms"):
        E.assign(customers.head(2), arms=("a", "b"))
    with pytest.raises(RfmError, match="strata column"):
        E.assign(customers, strata="region")
    with pytest.raises(RfmError, match="holdout must be between"):
        E.assign(customers, holdout=1.5)


# --- baselines -------------------------------------------------------------------------


def test_baseline_dates():
    assert baseline_dates(pd.Timestamp("2024-12-31"), months=3) == [pd.Timestamp(d) for d in
                                                                    ("2024-07-31", "2024-08-31", "2024-09-30")]
    assert baseline_dates(pd.Timestamp("2025-03-31"), months=1, longest=30)[0] == pd.Timestamp("2025-02-28")


def test_segment_baselines_against_a_loop():
    tx = rfm.demo_transactions(n_customers=300)
    got = segment_baselines(prepare_lines(tx), months=4, bins=5)
    dates = got.attrs["dates"]
    assert len(dates) == 4 and dates[-1] == pd.Timestamp("2025-09-30")
    days = pd.to_datetime(tx["OrderDate"])
    counts: dict = {}
    for as_of in dates:
        segments = rfm.segment(rfm.score(rfm.rfm_table(tx, as_of=as_of)))["segment"]
        for customer, name in segments.items():
            mine = tx.loc[(tx["CustomerID"].astype(str) == str(customer)).to_numpy()]
            later = days[mine.index]
            gaps = [(d - as_of).days for d, a in zip(later, mine["OrderAmount"]) if d > as_of and a > 0]
            entry = counts.setdefault(name, {"n": 0, 30: 0, 60: 0, 90: 0, "spend": []})
            entry["n"] += 1
            for w in (30, 60, 90):
                entry[w] += bool(gaps) and min(gaps) <= w
            if gaps and min(gaps) <= 90:
                window = (later > as_of) & (later <= as_of + pd.Timedelta(days=90))
                entry["spend"].append(float(mine.loc[window.to_numpy(), "OrderAmount"].sum()))
    for name, entry in counts.items():
        row = got.loc[name]
        assert row["customers"] == entry["n"]
        for w in (30, 60, 90):
            assert row[f"rate_{w}d"] == pytest.approx(entry[w] / entry["n"]), (name, w)
        if entry["spend"]:
            assert row["spend_returners"] == pytest.approx(np.mean(entry["spend"]))


# --- the plan --------------------------------------------------------------------------


def test_plan_campaign_on_the_demo_data():
    tx = rfm.demo_transactions()
    plan = rfm.plan_campaign(tx, segments=["At Risk", "Lost"], lift=0.1, holdout=0.1)
    table = plan.table
    assert list(table.index) == ["At Risk", "Lost"]
    row = table.loc["At Risk"]
    base = plan.baselines.loc["At Risk", "rate_30d"]
    assert row["baseline"] == base
    sizes = rfm.sample_sizes(base, 0.1, ratio=0.1 / 0.9)
    assert (row["needed_treatment"], row["needed_holdout"]) == (sizes["treatment"], sizes["holdout"])
    n = int(row["customers"])
    assert row["held_out"] == round(0.1 * n) and row["treated"] == n - row["held_out"]
    assert row["detectable_lift"] == pytest.approx(
        rfm.detectable_lift(base, int(row["treated"]), n_holdout=int(row["held_out"])))
    assert row["verdict"].startswith(f"At Risk has {n:,} customers: with a 10.0% holdout the smallest detectable lift")
    # the arms: only the planned customers, stratified by segment
    assert set(plan.customers["segment"]) == {"At Risk", "Lost"} and "arm" in plan.customers.columns
    counts = plan.assignment.counts
    assert counts.loc["At Risk", "holdout"] == row["held_out"]
    with pytest.raises(RfmError, match="No customer is in 'VIP'"):
        rfm.plan_campaign(tx, segments="VIP")


def test_plan_a_big_enough_segment():
    customers = pd.DataFrame({"segment": ["Big"] * 9000, "recency": 1, "frequency": 1, "monetary": 1.0},
                             index=pd.Index([f"c{i}" for i in range(9000)]))
    baselines = pd.DataFrame({"rate_30d": [0.1]}, index=pd.Index(["Big"], name="segment"))
    from rfm_addin.core.plan import plan_rows

    row = plan_rows(customers, baselines, ["Big"], lift=0.02, holdout=0.5).loc["Big"]
    assert row["enough"] and row["waves"] == 1 and row["needed_treatment"] == 3835
    assert row["verdict"] == ("Big has 9,000 customers, enough: 2.0 points over its 10.0% 30-day baseline needs "
                              "3,835 treated and 3,835 held out (50.0%).")


@settings(max_examples=40, deadline=None)
@given(sizes=st.lists(st.integers(1, 120), min_size=1, max_size=5), share=st.floats(0.01, 0.6),
       arms=st.integers(1, 3), seed=st.integers(0, 10_000))
def test_each_stratum_gets_its_holdout_share_within_one_customer(sizes, share, arms, seed):
    segments = np.repeat([f"s{i}" for i in range(len(sizes))], sizes)
    customers = pd.DataFrame({"segment": segments}, index=pd.Index([f"id{i}" for i in range(len(segments))]))
    if len(customers) < arms + 1:
        return
    names = tuple(f"arm{j}" for j in range(arms))
    result = E.assign(customers, holdout=share, arms=names, random_state=seed)
    for _, group in result.arm.groupby(customers["segment"]):
        assert abs((group == "holdout").sum() - share * len(group)) <= 1
        counts = [(group == name).sum() for name in names]
        assert max(counts) - min(counts) <= 1
