"""The words a business user reads (issue 13): facts, names, actions, sentences and findings,
asserted as exact text on hand-built inputs for every branch of the rule base."""
from __future__ import annotations

import itertools

import numpy as np
import pandas as pd
import pytest

import rfm_addin as rfm
from rfm_addin.core import describe
from rfm_addin.core.describe import Facts, Nouns, Tiers, action, count_text, facts, name, nouns_for
from rfm_addin.core.insights import (cluster_sentence, empty_segments_finding, lapsed_finding, lapsed_revenue_finding)
from rfm_addin.core.lapse import LapseThreshold, lapse_threshold
from rfm_addin.core.ranges import range_text

ORDERS = Nouns("order", "orders")
LAPSE = LapseThreshold(days=90.0, typical_gap=30.0, multiple=3, repeat_customers=10)
CUTS = Tiers(recent_days=30.0, lapse=LAPSE, high_value=500.0, low_value=50.0, frequent=5.0, least_recent_days=90.0,
             nouns=ORDERS)


@pytest.mark.parametrize("basis, nouns", [
    ("distinct orders (InvoiceNo)", ("order", "orders", "buyers", "spend", ("one-time", "repeat", "frequent"))),
    ("transaction rows", ("transaction", "transactions", "buyers", "spend", ("one-time", "repeat", "frequent"))),
    ("Weekly sessions", ("session", "sessions", "users", "MRR", ("light", "regular", "heavy"))),
    ("Logins per week", ("login", "logins", "users", "MRR", ("light", "regular", "heavy"))),
    ("Orders", ("order", "orders", "buyers", "spend", ("one-time", "repeat", "frequent"))),
    ("Frequency", ("purchase", "purchases", "buyers", "spend", ("one-time", "repeat", "frequent"))),
    (None, ("purchase", "purchases", "buyers", "spend", ("one-time", "repeat", "frequent"))),
])
def test_nouns_follow_what_frequency_counts(basis, nouns):
    got = nouns_for(basis)
    assert (got.purchase, got.purchases, got.people, got.spend, got.frequency_words) == nouns


@pytest.mark.parametrize("count, decimals, text", [(1, 0, "1 order"), (2, 0, "2 orders"), (0, 0, "0 orders"),
                                                   (1234, 0, "1,234 orders"), (1.04, 1, "1.0 order"),
                                                   (2.46, 1, "2.5 orders"), (0.96, 0, "1 order")])
def test_count_text_grammar(count, decimals, text):
    assert count_text(count, "order", "orders", decimals) == text


@pytest.mark.parametrize("recency, word", [(0, "recent"), (30, "recent"), (30.01, "lapsing"), (90, "lapsing"),
                                           (90.01, "lapsed")])
def test_recency_facts_against_the_typical_gap_and_the_lapse_threshold(recency, word):
    assert facts(recency, 3, 100, CUTS).recency == word


@pytest.mark.parametrize("frequency, word", [(1, "one-time"), (1.49, "one-time"), (1.51, "repeat"),
                                             (4.99, "repeat"), (5, "frequent"), (40, "frequent")])
def test_frequency_facts(frequency, word):
    assert facts(10, frequency, 100, CUTS).frequency == word


@pytest.mark.parametrize("monetary, word", [(500, "high"), (499.99, "mid"), (50, "mid"), (49.99, "low"), (0, "low")])
def test_value_facts(monetary, word):
    assert facts(10, 3, monetary, CUTS).value == word


#: The rule base, written out by hand for every combination of facts.
EXPECTED_ACTIONS = {
    ("recent", "one-time", "high"): "follow up their large first purchase personally to earn a second one",
    ("recent", "repeat", "high"): "reward and retain them: loyalty perks, early access, ask for reviews and referrals",
    ("recent", "frequent", "high"): "reward and retain them: loyalty perks, early access, ask for reviews and referrals",
    ("recent", "one-time", "mid"): "welcome them towards a second purchase: a welcome series and a timely follow-up offer",
    ("recent", "one-time", "low"): "welcome them towards a second purchase: a welcome series and a timely follow-up offer",
    ("recent", "repeat", "mid"): "grow their spend: bundles, cross-selling and higher-value products",
    ("recent", "repeat", "low"): "grow their spend: bundles, cross-selling and higher-value products",
    ("recent", "frequent", "mid"): "grow their spend: bundles, cross-selling and higher-value products",
    ("recent", "frequent", "low"): "grow their spend: bundles, cross-selling and higher-value products",
    ("lapsing", "one-time", "high"): "reach out personally before they lapse: they are in your top 20% by spend",
    ("lapsing", "repeat", "high"): "reach out personally before they lapse: they are in your top 20% by spend",
    ("lapsing", "frequent", "high"): "reach out personally before they lapse: they are in your top 20% by spend",
    ("lapsing", "one-time", "mid"): "send a second-purchase offer before they lapse",
    ("lapsing", "one-time", "low"): "send a second-purchase offer before they lapse",
    ("lapsing", "repeat", "mid"): "remind them with an offer on what they usually buy before they lapse",
    ("lapsing", "repeat", "low"): "remind them with an offer on what they usually buy before they lapse",
    ("lapsing", "frequent", "mid"): "remind them with an offer on what they usually buy before they lapse",
    ("lapsing", "frequent", "low"): "remind them with an offer on what they usually buy before they lapse",
    ("lapsed", "one-time", "high"): ("win them back with a personal offer on what they bought: they are in your top "
                                     "20% by spend"),
    ("lapsed", "repeat", "high"): ("win them back with a personal offer on what they bought: they are in your top "
                                   "20% by spend"),
    ("lapsed", "frequent", "high"): ("win them back with a personal offer on what they bought: they are in your top "
                                     "20% by spend"),
    ("lapsed", "one-time", "mid"): "reactivate them with a reminder or a small incentive",
    ("lapsed", "one-time", "low"): "low priority: include them in occasional reactivation campaigns",
    ("lapsed", "repeat", "mid"): "reactivate them with a reminder or a small incentive",
    ("lapsed", "repeat", "low"): "reactivate them with a reminder or a small incentive",
    ("lapsed", "frequent", "mid"): "reactivate them with a reminder or a small incentive",
    ("lapsed", "frequent", "low"): "reactivate them with a reminder or a small incentive",
}


def test_every_branch_of_the_rule_base():
    combos = list(itertools.product(("recent", "lapsing", "lapsed"), ("one-time", "repeat", "frequent"),
                                    ("high", "mid", "low")))
    assert set(combos) == set(EXPECTED_ACTIONS)
    for combo in combos:
        assert action(Facts(*combo)) == EXPECTED_ACTIONS[combo], combo


def test_a_segment_that_matters_is_never_low_priority():
    lost = Facts("lapsed", "one-time", "low")
    assert describe.segment_action("Lost", lost) == "low priority: include them in occasional reactivation campaigns"
    assert describe.segment_action("Hibernating", lost) == describe.action(lost)
    for name in ("At Risk", "Can't Lose Them", "Champions", "Need Attention"):
        assert describe.segment_action(name, lost) == "reactivate them with a reminder or a small incentive"
    assert describe.segment_action("At Risk", Facts("lapsed", "repeat", "high")) == action(
        Facts("lapsed", "repeat", "high"))


def test_no_action_contradicts_its_name():
    # what a name says rules out some actions: the rule base never gives them
    forbidden = {"Recent": ("low priority", "win them back", "before they lapse", "reactivate"),
                 "Lapsed": ("reward and retain", "welcome", "grow their spend", "before they lapse"),
                 "high-value": ("low priority",), "one-time": ("grow their spend", "reward and retain", "usually buy"),
                 "repeat": ("second purchase", "second-purchase"), "frequent": ("second purchase", "second-purchase")}
    for combo in EXPECTED_ACTIONS:
        text, todo = name(Facts(*combo), CUTS), action(Facts(*combo))
        for word, actions in forbidden.items():
            if word in text.split() or word.capitalize() in text.split() or word in text:
                assert not any(a in todo for a in actions), (text, todo)


@pytest.mark.parametrize("combo, cuts, text", [
    (("lapsed", "one-time", "low"), CUTS, "Lapsed low-value one-time buyers"),
    (("recent", "frequent", "high"), CUTS, "Recent high-value frequent buyers"),
    (("lapsing", "repeat", "mid"), CUTS, "Lapsing mid-value repeat buyers"),
    (("lapsed", "repeat", "mid"), Tiers(10, None, 500, 50, 5, 90, ORDERS), "Least recent mid-value repeat buyers"),
    (("lapsing", "repeat", "mid"), Tiers(10, None, 500, 50, 5, 90, ORDERS), "Less recent mid-value repeat buyers"),
    (("recent", "frequent", "high"), Tiers(10, None, 500, 50, 5, 90, nouns_for("Weekly sessions")),
     "Recent high-MRR heavy users"),
    (("recent", "one-time", "low"), Tiers(10, None, 500, 50, 5, 90, nouns_for("Weekly sessions")),
     "Recent low-MRR light users"),
])
def test_names(combo, cuts, text):
    assert name(Facts(*combo), cuts) == text


def _customers(rows):
    return pd.DataFrame(rows, columns=["recency", "frequency", "monetary"]).astype(float)


def test_same_facts_are_told_apart_on_the_metric_where_they_differ_most():
    # Customers give the spread of each metric; three centres share the facts lapsed/one-time/low.
    table = _customers([[0, 1, 10], [100, 1, 20], [200, 1, 30], [300, 10, 1000], [400, 1, 15], [50, 20, 900]])
    cuts = Tiers(recent_days=10, lapse=LapseThreshold(90, 30, 3, 5), high_value=800, low_value=100, frequent=5,
                 least_recent_days=90, nouns=ORDERS)
    centres = pd.DataFrame({"recency": [5.0, 150.0, 155.0, 400.0], "frequency": [12.0, 1.0, 1.0, 1.0],
                            "monetary": [900.0, 20.0, 60.0, 15.0]}, index=[1, 2, 3, 4])
    got = describe.unique_names(centres, table, cuts)
    # Among 2, 3, 4, recency differs most (in standard deviations); its widest gap puts 4 apart (less
    # recent); then 2 and 3 differ most on monetary (recency is used): 3 spends more.
    assert got.tolist() == ["Recent high-value frequent buyers", "Lapsed low-value one-time buyers, more recent, "
                            "lower spend", "Lapsed low-value one-time buyers, more recent, higher spend",
                            "Lapsed low-value one-time buyers, less recent"]


def test_standardised_differences_by_brute_force():
    rng = np.random.default_rng(4)
    table = _customers(np.column_stack([rng.integers(0, 300, 40), rng.integers(1, 9, 40), rng.uniform(0, 900, 40)]))
    groups = rng.integers(1, 4, 40)
    got = describe.standardised_differences(table, groups)
    for g in (1, 2, 3):
        for metric, transform in (("recency", lambda v: v), ("frequency", np.log1p), ("monetary", np.log1p)):
            values = transform(table[metric].to_numpy())
            expected = (values[groups == g].mean() - values[groups != g].mean()) / values.std()
            assert got.loc[g, metric] == pytest.approx(expected, rel=1e-12)


@pytest.mark.parametrize("differences, text", [
    ({"recency": -0.2, "frequency": 2.04, "monetary": 1.5},
     "set apart most by more orders (+2.0 standard deviations from the other customers) and higher spend (+1.5)"),
    ({"recency": 1.1, "frequency": -0.49, "monetary": 0.1},
     "set apart most by older purchases (+1.1 standard deviations from the other customers)"),
    ({"recency": -0.8, "frequency": 0.0, "monetary": -0.5},
     "set apart most by more recent purchases (-0.8 standard deviations from the other customers) and lower "
     "spend (-0.5)"),
    ({"recency": 0.3, "frequency": -0.45, "monetary": 0.1},
     "it differs little from the other customers (at most 0.5 standard deviations)"),
])
def test_what_sets_a_group_apart(differences, text):
    assert describe.what_sets_apart(pd.Series(differences), ORDERS) == text


def test_cluster_sentence_exact_text():
    row = pd.Series({"customers": 1, "customer_share": 0.001, "revenue_share": 0.25})
    centre = pd.Series({"recency": 1.0, "frequency": 1.0, "monetary": 1234.5})
    differences = pd.Series({"recency": -1.2, "frequency": 0.1, "monetary": 2.5})
    stability = pd.Series({"jaccard": 0.912, "stability": "highly stable"})
    text = cluster_sentence(3, "Recent high-value one-time buyers", row, centre, differences,
                            action(Facts("recent", "one-time", "high")), ORDERS, stability)
    assert text == ("Cluster 3 'Recent high-value one-time buyers' (1 customer, 0.1%; 25.0% of revenue; highly "
                    "stable, Jaccard 0.91): at its centre, last purchase 1 day ago, 1.0 order and 1,234.50 spent; "
                    "set apart most by higher spend (+2.5 standard deviations from the other customers) and more "
                    "recent purchases (-1.2). Action: follow up their large first purchase personally to earn a "
                    "second one.")
    plain = cluster_sentence(1, "X", pd.Series({"customers": 2500, "customer_share": 0.5, "revenue_share": 0.5}),
                             pd.Series({"recency": 400.4, "frequency": 2.25, "monetary": 0.5}),
                             pd.Series({"recency": 0.1, "frequency": 0.2, "monetary": 0.3}), "act",
                             nouns_for("Weekly sessions"))
    assert plain == ("Cluster 1 'X' (2,500 customers, 50.0%; 50.0% of revenue): at its centre, last purchase 400 "
                     "days ago, 2.2 sessions and MRR 0.50; it differs little from the other customers (at most 0.3 "
                     "standard deviations). Action: act.")


def test_lapse_threshold_by_hand():
    table = pd.DataFrame({
        "recency": [10, 20, 30, 40], "frequency": [3, 2, 1, 5], "monetary": [1.0, 1.0, 1.0, 1.0],
        "first_purchase": pd.to_datetime(["2024-01-01", "2024-01-01", "2024-02-01", "2024-01-01"]),
        "last_purchase": pd.to_datetime(["2024-01-31", "2024-03-01", "2024-02-01", "2024-01-21"])})
    # mean gaps: 30 / 2 = 15, 60 / 1 = 60 (2024 is a leap year), 20 / 4 = 5; the one-time buyer has none
    got = lapse_threshold(table)
    assert got == LapseThreshold(days=45.0, typical_gap=15.0, multiple=3, repeat_customers=3)
    assert got.lapsed([45, 45.5]).tolist() == [False, True]
    assert lapse_threshold(table.drop(columns="first_purchase")) is None
    assert lapse_threshold(table.assign(frequency=1)) is None


@pytest.mark.parametrize("spans, text", [
    (((0, 30), (1, 1), (5.0, 10.5)), "last purchase 0 to 30 days ago; 1 order; 5.00 to 10.50 spent"),
    (((1, 1), (2, 3), (7.0, 7.0)), "last purchase 1 day ago; 2 to 3 orders; 7.00 spent"),
    (((85, 270), (2.5, 4), (1000, 2500.5)), "last purchase 85 to 270 days ago; 2.50 to 4 orders; 1,000.00 to "
                                             "2,500.50 spent"),
])
def test_range_text(spans, text):
    assert range_text(*spans, ORDERS) == text


def _scored(rows, as_of="2024-12-31"):
    frame = pd.DataFrame(rows, columns=["recency", "frequency", "monetary", "segment"])
    frame["last_purchase"] = pd.Timestamp(as_of) - pd.to_timedelta(frame["recency"], unit="D")
    return frame


def test_lapsed_findings_exact_text():
    customers = _scored([[100, 2, 300.0, "At Risk"], [10, 4, 500.0, "Champions"], [200, 1, 100.0, "Lost"],
                         [45, 1, 100.0, "Lost"]])
    assert lapsed_finding(customers, LapseThreshold(45.0, 15.0, 3, 3)) == (
        "50.0% of customers (2), bringing 40.0% of revenue, are lapsed: no purchase for more than 45 days, 3 times "
        "the typical 15 days between a repeat customer's purchases.")
    assert lapsed_finding(customers, None) is None
    assert lapsed_finding(customers, LapseThreshold(500.0, 200.0, 3, 3)) is None
    cuts = Tiers(recent_days=15, lapse=LapseThreshold(45.0, 15.0, 3, 3), high_value=400, low_value=150, frequent=4,
                 least_recent_days=45, nouns=ORDERS)
    # lapsed: At Risk 300 (one customer: 100 days, 2 orders, 300 -> lapsed, repeat, mid) and Lost 100
    assert lapsed_revenue_finding(customers, cuts.lapse, cuts) == (
        "Of the revenue of lapsed customers, the most sits in At Risk: 30.0% of all revenue, from 1 customer; for "
        "them: reactivate them with a reminder or a small incentive.")


def test_empty_segments_say_why():
    tx = pd.DataFrame({"c": ["a", "a", "b", "b", "c", "d", "d", "d", "e"],
                       "d": pd.to_datetime(["2024-01-01", "2024-06-01", "2024-01-05", "2024-12-20", "2024-02-01",
                                            "2024-01-10", "2024-03-01", "2024-12-30", "2024-01-20"]),
                       "a": [10.0, 20, 30, 40, 5, 50, 60, 70, 8]})
    analysis = rfm.analyze(tx, customer="c", date="d", amount="a", as_of="2024-12-31", k=2)
    customers = analysis.customers
    assert set(customers["segment"]) >= {"Champions"}
    text = empty_segments_finding(customers, analysis.rules, analysis.thresholds, 5, analysis.as_of)
    recency = analysis.thresholds.set_index(["metric", "score"])
    r5 = recency.loc[("Recency", 5)]
    # New Customers needs R 5 and FM 1: the one R = 5 customer here (d, 1 day ago) is a repeat buyer
    assert (customers["r_score"] == 5).sum() == 1 and r5["min"] == r5["max"] == 1
    assert "New Customers (the one customer with an R score of 5, last purchase 1 day ago, does not have an FM " \
           "score of 1)" in text
    assert "Potential Loyalists (none of the 2 customers with an R score of 4 to 5, last purchase 1 to 11 days " \
           "ago, has an FM score of 2 to 3)" in text
    assert text.startswith("Empty segments: ")
    assert text.endswith(" The latest first purchase was on 2024-02-01, 334 days before the as-of date: there are "
                         "no recent first-time buyers.")
    full = customers.assign(segment="Champions")
    rules = pd.DataFrame([("Champions", 1, 5, 1, 5, "", "")], columns=rfm.DEFAULT_SEGMENTS.columns)
    assert empty_segments_finding(full, rules, analysis.thresholds, 5, analysis.as_of) is None
