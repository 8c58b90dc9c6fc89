"""CLV models (issue 16, first step): BG/NBD and Gamma-Gamma reproduce the published parameters on the
CDNOW sample (tests/data/CDNOW_sample.txt, copied from ../shared/data/cdnow/; Fader, Hardie & Lee 2005 and
Fader & Hardie's Gamma-Gamma note), the published spot value, and lifetimes' holdout aggregate."""
from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

import rfm_addin as rfm
from rfm_addin.core.errors import RfmError

SAMPLE = Path(__file__).parent / "data" / "CDNOW_sample.txt"


@pytest.fixture(scope="module")
def sample() -> pd.DataFrame:
    raw = pd.read_csv(SAMPLE, sep=r"\s+", header=None, names=["id", "master", "date", "cds", "amount"],
                      dtype={"id": str, "master": str, "date": str})
    raw["date"] = pd.to_datetime(raw["date"], format="%Y%m%d")
    return raw


@pytest.fixture(scope="module")
def summary(sample) -> pd.DataFrame:
    return rfm.clv_summary(sample, as_of="1997-09-30", customer="id", date="date", amount="amount")


def test_summary_definitions(summary):
    assert len(summary) == 2357 and int((summary["x"] > 0).sum()) == 946
    assert summary.attrs["time_unit"] == "week" and summary.attrs["as_of"] == pd.Timestamp("1997-09-30")
    # customer 00004 bought on 1997-01-01 (first), 01-18 and 08-02: x = 2, T = 272 / 7 = 38.86 weeks
    row = summary.loc["00004"]
    assert row["x"] == 2 and row["T"] == pytest.approx(272 / 7) and row["t_x"] == pytest.approx(213 / 7)
    assert row["repeat_spend"] == pytest.approx((29.73 + 14.96) / 2)
    assert summary.loc[summary["x"] == 0, "no_repeat"].all() and summary.loc[summary["x"] == 0, "repeat_spend"].isna().all()


def test_bgnbd_published_parameters(summary):
    model = rfm.fit_clv(summary, model="bgnbd")
    expected = {"r": 0.243, "alpha": 4.414, "a": 0.793, "b": 2.426}
    assert {k: round(v, 3) for k, v in model.params.items()} == expected
    assert model.log_likelihood == pytest.approx(-9582.4, abs=0.1)
    assert model.n == 2357 and set(model.standard_errors) == set(expected)
    assert all(0 < se < 1 for se in model.standard_errors.values())
    # the published spot value: 39 weeks for x = 2, t_x = 30.43, T = 38.86
    one = pd.DataFrame({"x": [2], "t_x": [30.43], "T": [38.86]})
    assert model.expected_purchases(one, 39).iloc[0] == pytest.approx(1.226, abs=5e-4)
    # holdout weeks 40-78: lifetimes' aggregate on the same split is 1,653.4 (1,882 actual)
    assert model.expected_purchases(summary, 39).sum() == pytest.approx(1653.4, rel=0.005)


def test_bgnbd_probabilities_are_probabilities(summary):
    model = rfm.fit_clv(summary)
    alive = model.prob_alive(summary)
    quiet = model.prob_no_purchase(summary, 39)
    assert alive.between(0, 1).all() and quiet.between(0, 1).all()
    assert (alive[summary["x"] == 0] == 1.0).all()      # BG/NBD: a one-time buyer is certainly alive
    # no purchase in a longer horizon is less likely
    assert (model.prob_no_purchase(summary, 78) <= quiet + 1e-12).all()


def test_pareto_nbd_published_parameters(summary):
    model = rfm.fit_clv(summary, model="pareto_nbd")
    assert {k: round(v, 3) for k, v in model.params.items()} == {"r": 0.553, "alpha": 10.578, "s": 0.606,
                                                                  "beta": 11.669}
    assert model.log_likelihood == pytest.approx(-9595.0, abs=0.1)
    # the published spot value: P(alive) for x = 26, t_x = 30.86, T = 31
    one = pd.DataFrame({"x": [26], "t_x": [30.86], "T": [31.0]})
    assert model.prob_alive(one).iloc[0] == pytest.approx(0.9979, abs=5e-5)
    # holdout weeks 40-78: lifetimes' aggregate on the same split is 1,665.5
    assert model.expected_purchases(summary, 39).sum() == pytest.approx(1665.5, rel=0.005)
    alive = model.prob_alive(summary)
    assert alive.between(0, 1).all() and (alive[summary["x"] == 0] < 1).all()   # unlike BG/NBD


def test_gamma_gamma_published_parameters(summary):
    model = rfm.fit_clv(summary, model="gamma_gamma")
    assert {k: round(v, 2) for k, v in model.params.items()} == {"p": 6.25, "q": 3.74, "v": 15.44}
    assert model.n == 946
    spend = model.expected_spend(summary)
    p, q, v = (model.params[k] for k in ("p", "q", "v"))
    assert np.allclose(spend[summary["x"] == 0], p * v / (q - 1))   # the population mean
    assert spend.notna().all() and (spend > 0).all()
    with pytest.raises(RfmError, match="Expected spend comes from a gamma_gamma model"):
        rfm.fit_clv(summary).expected_spend(summary)


def test_bad_input():
    with pytest.raises(RfmError, match="model must be one of"):
        rfm.fit_clv(pd.DataFrame({"x": [1], "t_x": [1.0], "T": [2.0]}), model="magic")
    with pytest.raises(RfmError, match="missing"):
        rfm.fit_clv(pd.DataFrame({"x": [1]}))
    with pytest.raises(RfmError, match="needs more than 4 customers"):
        rfm.fit_clv(pd.DataFrame({"x": [1, 0], "t_x": [1.0, 0.0], "T": [2.0, 3.0]}))
    with pytest.raises(RfmError, match="time_unit must be"):
        rfm.clv_summary(rfm.demo_transactions(n_customers=20), time_unit="month")
