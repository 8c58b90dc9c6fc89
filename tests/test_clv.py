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


# --- the fitting machinery against the papers' formulas, written out without logs -------------------------------

ROWS = np.array([[0, 0.0, 38.86], [2, 30.43, 38.86], [1, 5.0, 20.0], [7, 31.0, 32.0], [3, 12.5, 12.5]])


def _bgnbd_likelihood(r, alpha, a, b, x, t_x, T):
    """Fader, Hardie & Lee (2005), eq. 6, in the plain domain."""
    from scipy.special import beta, gamma

    head = gamma(r + x) * alpha ** r / gamma(r)
    value = beta(a, b + x) / beta(a, b) * head / (alpha + T) ** (r + x)
    if x > 0:
        value += beta(a + 1, b + x - 1) / beta(a, b) * head / (alpha + t_x) ** (r + x)
    return value


def _gamma_gamma_density(p, q, v, x, m):
    """Fader & Hardie's Gamma-Gamma note, eq. 3: the density of the mean spend m of x transactions."""
    from scipy.special import gamma

    return gamma(p * x + q) / (gamma(p * x) * gamma(q)) * v ** q * m ** (p * x - 1) * x ** (p * x) / (v + m * x) ** (
        p * x + q)


def _numeric_gradient(f, theta, h=1e-6):
    return np.array([(f(theta + h * e) - f(theta - h * e)) / (2 * h) for e in np.eye(len(theta))])


def test_bgnbd_total_and_gradient_match_the_paper():
    from rfm_addin.core.clv import _bgnbd_data, _bgnbd_value_grad

    weights = np.array([3.0, 1.0, 2.0, 1.0, 5.0])
    theta = np.array([0.243, 4.414, 0.793, 2.426])
    data = _bgnbd_data(ROWS)

    def reference(th):
        return sum(w * np.log(_bgnbd_likelihood(*th, *row)) for w, row in zip(weights, ROWS))

    value, grad = _bgnbd_value_grad(theta, data, weights)
    assert value == pytest.approx(reference(theta), rel=1e-12)
    assert grad == pytest.approx(_numeric_gradient(reference, theta), rel=1e-6)


def test_gamma_gamma_total_and_gradient_match_the_paper():
    from rfm_addin.core.clv import _gamma_gamma_data, _gamma_gamma_value_grad

    rows = np.array([[1, 20.0], [2, 35.5], [6, 12.25], [3, 80.0]])
    weights = np.array([1.0, 4.0, 2.0, 1.0])
    theta = np.array([6.25, 3.74, 15.44])

    def reference(th):
        return sum(w * np.log(_gamma_gamma_density(*th, *row)) for w, row in zip(weights, rows))

    value, grad = _gamma_gamma_value_grad(theta, _gamma_gamma_data(rows), weights)
    assert value == pytest.approx(reference(theta), rel=1e-12)
    assert grad == pytest.approx(_numeric_gradient(reference, theta), rel=1e-6)


def test_grouping_counts_identical_rows():
    from rfm_addin.core.clv import _grouped

    rng = np.random.default_rng(3)
    values = np.column_stack([rng.integers(0, 4, 500), rng.integers(0, 6, 500) / 7, rng.integers(1, 3, 500) / 7.0])
    rows, counts = _grouped(values)
    expected, expected_counts = np.unique(values, axis=0, return_counts=True)
    order = np.lexsort(rows.T[::-1])
    assert np.array_equal(rows[order], expected) and np.array_equal(counts[order], expected_counts)


def _simulate_bgnbd(n, r, alpha, a, b, seed):
    """x, t_x, T of n customers from the BG/NBD story, by a loop over purchases (T uniform, 1 to 39 weeks)."""
    rng = np.random.default_rng(seed)
    out = []
    for _ in range(n):
        lam, p, T = rng.gamma(r, 1 / alpha), rng.beta(a, b), rng.integers(7, 274) / 7
        t, x, t_x = 0.0, 0, 0.0
        while True:
            t += rng.exponential(1 / lam)
            if t > T:
                break
            x, t_x = x + 1, t
            if rng.random() < p:
                break
        out.append((x, t_x, T))
    frame = pd.DataFrame(out, columns=["x", "t_x", "T"])
    frame.attrs["time_unit"] = "week"
    return frame


def test_bgnbd_recovers_simulated_parameters_on_a_sample_start():
    """Above START_SAMPLE customers the starts are tried on a sample; the optimum is still the whole data's."""
    from scipy.optimize import minimize

    from rfm_addin.core.clv import START_SAMPLE, _bgnbd_data, _bgnbd_value_grad, _grouped

    truth = {"r": 0.5, "alpha": 3.0, "a": 0.8, "b": 2.5}
    summary = _simulate_bgnbd(3 * START_SAMPLE, **truth, seed=5)
    model = rfm.fit_clv(summary)
    for key, value in truth.items():      # within 3 standard errors of the truth
        assert abs(model.params[key] - value) < 3 * model.standard_errors[key], key
    # the whole data's optimum: Nelder-Mead from there finds nothing better
    rows, weights = _grouped(summary[["x", "t_x", "T"]].to_numpy(float))
    data = _bgnbd_data(rows)
    polish = minimize(lambda lt: -_bgnbd_value_grad(np.exp(lt), data, weights)[0],
                      np.log(list(model.params.values())), method="Nelder-Mead",
                      options={"xatol": 1e-9, "fatol": 1e-9, "maxiter": 4000})
    assert -polish.fun <= model.log_likelihood + 1e-6


def test_pareto_prob_no_purchase_by_integration(summary):
    """P(no purchase in t) from the story, integrated numerically (independent of the hyp2f1 closed form).

    Alive at T, the rates are Gamma(r + x, alpha + T) and Gamma(s, beta + T). No purchase in t:
    alive and silent all along, (a / (a + t))^r' (b / (b + t))^s, or dying at u < t before any
    purchase, integral of (a / (a + u))^r' s / b (b / (b + u))^(s + 1) du.
    """
    from scipy import integrate

    model = rfm.fit_clv(summary, model="pareto_nbd")
    r, alpha, s, beta = (model.params[k] for k in ("r", "alpha", "s", "beta"))
    rows = pd.DataFrame({"x": [0, 2, 26], "t_x": [0.0, 30.43, 30.86], "T": [38.86, 38.86, 31.0]})
    t = 10.0
    got = model.prob_no_purchase(rows, t).to_numpy()
    alive = model.prob_alive(rows).to_numpy()
    for i, (x, t_x, T) in enumerate(rows.to_numpy()):
        a_, b_, r_ = alpha + T, beta + T, r + x
        silent = (a_ / (a_ + t)) ** r_ * (b_ / (b_ + t)) ** s
        dying, _ = integrate.quad(lambda u: (a_ / (a_ + u)) ** r_ * s / b_ * (b_ / (b_ + u)) ** (s + 1), 0, t,
                                  epsabs=1e-13, epsrel=1e-12)
        assert got[i] == pytest.approx(1 - alive[i] + alive[i] * (silent + dying), abs=1e-10)
    # more time, more chance of a purchase
    assert (model.prob_no_purchase(summary, 20).to_numpy() <= model.prob_no_purchase(summary, 10).to_numpy()).all()


# --- CLV ------------------------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def fitted(summary):
    return rfm.fit_clv(summary, model="bgnbd"), rfm.fit_clv(summary, model="gamma_gamma")


def test_clv_without_discount_is_purchases_times_spend(summary, fitted):
    purchases, spend = fitted
    values = rfm.clv(summary, purchases, spend, horizon_days=365, annual_discount=0.0, margin=0.3)
    expected = purchases.expected_purchases(summary, 365 / 7).to_numpy()
    assert np.allclose(values["expected_purchases"], expected)
    assert np.allclose(values["clv"], expected * values["expected_spend"] * 0.3)


def test_clv_discounts_each_month_at_its_end(summary, fitted):
    """A hand loop over the months of one customer (x = 2, t_x = 30.43, T = 38.86)."""
    purchases, spend = fitted
    one = summary.loc[["00004"]]
    month = 365.25 / 12
    ends = [month * i for i in range(1, 12)] + [365.0]
    total, before = 0.0, 0.0
    for end in ends:
        now = purchases.expected_purchases(one, end / 7).iloc[0]
        total += (now - before) / 1.1 ** (end / 365.25)
        before = now
    got = rfm.clv(one, purchases, spend, horizon_days=365, annual_discount=0.1)
    assert got["clv"].iloc[0] == pytest.approx(total * spend.expected_spend(one).iloc[0], rel=1e-12)


def test_clv_is_never_negative_or_missing(summary, fitted):
    purchases, spend = fitted
    odd = summary.copy()
    odd.loc[odd.index[:5], "repeat_spend"] = -12.0     # net returns on the repeat days
    values = rfm.clv(odd, purchases, spend)
    population = spend.params["p"] * spend.params["v"] / (spend.params["q"] - 1)
    assert values["clv"].notna().all() and (values["clv"] >= 0).all()
    assert values["spend_from_population"].equals(odd["no_repeat"] | ~(odd["repeat_spend"] > 0))
    assert np.allclose(values.loc[values["spend_from_population"], "expected_spend"], population)
    with pytest.raises(RfmError, match="horizon_days must be"):
        rfm.clv(summary, purchases, spend, horizon_days=0)
    with pytest.raises(RfmError, match="gamma_gamma"):
        rfm.clv(summary, purchases, purchases)
    with pytest.raises(RfmError, match="bgnbd or pareto_nbd"):
        rfm.clv(summary, spend, spend)


# --- the holdout check on CDNOW -------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def check(sample):
    return rfm.clv_check(sample, calibration_end="1997-09-30", customer="id", date="date", amount="amount")


def _auc(labels: np.ndarray, scores: np.ndarray) -> float:
    """ROC AUC by counting pairs (ties count half): the Mann-Whitney statistic."""
    pos, neg = scores[labels], scores[~labels]
    return float(((pos[:, None] > neg[None, :]).sum() + 0.5 * (pos[:, None] == neg[None, :]).sum())
                 / (len(pos) * len(neg)))


def test_clv_check_on_cdnow(sample, check):
    # what happened, counted with pandas on the raw lines: repeat purchase days in weeks 40-78
    calibration = sample.loc[sample["date"] <= "1997-09-30"]
    holdout = sample.loc[(sample["date"] > "1997-09-30") & (sample["date"] <= "1998-06-30")
                         & sample["id"].isin(calibration["id"])]
    assert holdout.groupby("id")["date"].nunique().sum() == 1882
    aggregate = check.aggregate.set_index("model")
    assert aggregate.loc["BG/NBD", "predicted"] == pytest.approx(1653.4, rel=0.005)
    assert aggregate.loc["Pareto/NBD", "predicted"] == pytest.approx(1665.5, rel=0.005)
    assert (aggregate["actual"] == 1882).all()
    assert aggregate.loc["BG/NBD", "error_pct"] == pytest.approx((1653.4 - 1882) / 1882 * 100, abs=0.6)
    assert check.horizon == pytest.approx(39.0) and check.customers == 2357
    assert check.holdout_end == pd.Timestamp("1998-06-30")
    per = check.per_customer
    assert check.per_customer_mae["Pareto/NBD"] == pytest.approx(np.mean(np.abs(per["predicted"] - per["actual"])))
    # deciles: ten groups of the customers, the highest predictions first, the totals kept
    deciles = check.calibration
    assert list(deciles["decile"]) == list(range(1, 11)) and deciles["customers"].sum() == 2357
    assert (deciles["customers"] * deciles["actual"]).sum() == pytest.approx(1882)
    assert deciles["predicted"].is_monotonic_decreasing
    # churn: AUCs by counting pairs; BG/NBD's 1 - P(alive) is worse than chance (the 0.32)
    churn = check.churn.set_index("score")
    churned = per["churned"].to_numpy()
    assert churn.loc["Pareto/NBD churn risk", "roc_auc"] == pytest.approx(_auc(churned, per["churn_risk"].to_numpy()))
    assert churn.loc["BG/NBD 1 - P(alive) (not used)", "roc_auc"] == pytest.approx(0.32, abs=0.01)
    assert churn.loc["Pareto/NBD churn risk", "roc_auc"] > 0.7
    assert churn["used"].sum() == 1
    # capture: the top 10% by predicted value, counted again
    top = per.sort_values("predicted_value", ascending=False, kind="stable").head(236)
    capture = check.capture_top10.set_index("ranking")["share"]
    assert capture.iloc[0] == pytest.approx(top["revenue"].sum() / per["revenue"].sum())
    assert 0 < capture.iloc[1] < 1


def test_clv_check_bad_periods(sample):
    with pytest.raises(RfmError, match="must end after the calibration end"):
        rfm.clv_check(sample, calibration_end="1998-06-30", customer="id", date="date", amount="amount")


# --- analyze(clv=True) ----------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def valued(sample):
    return rfm.analyze(sample, customer="id", date="date", amount="amount", as_of="1997-09-30", clv=True,
                       horizon_days=180, annual_discount=0.05)


def test_analyze_with_clv_uses_the_same_customers_and_models(sample, valued):
    from rfm_addin.core.clv import VALUE_COLUMNS

    customers = valued.customers
    assert set(VALUE_COLUMNS) <= set(customers.columns) and customers["clv"].notna().all()
    summary = rfm.clv_summary(sample, as_of="1997-09-30", customer="id", date="date", amount="amount")
    assert summary.index.equals(customers.index)
    purchases = rfm.fit_clv(summary, model="pareto_nbd")
    spend = rfm.fit_clv(summary, model="gamma_gamma")
    direct = rfm.clv(summary, purchases, spend, horizon_days=180, annual_discount=0.05)
    assert np.allclose(customers["clv"], direct["clv"])
    churn_days = rfm.lapse_threshold(customers).days
    assert valued.parameters["churn_days"] == churn_days
    assert np.allclose(customers["churn_risk"], purchases.prob_no_purchase(summary, churn_days / 7))


def test_analyze_with_clv_summaries_and_findings(valued):
    segments, clusters = valued.segment_summary, valued.cluster_profile
    total = valued.customers["clv"].sum()
    for frame in (segments, clusters):
        assert frame["clv_share"].sum() == pytest.approx(1.0)
        assert frame["clv_total"].sum() == pytest.approx(total)
    champions = valued.customers.loc[valued.customers["segment"] == "Champions"]
    assert segments.loc["Champions", "clv_mean"] == pytest.approx(champions["clv"].mean())
    assert segments.loc["Champions", "churn_risk_mean"] == pytest.approx(champions["churn_risk"].mean())
    top = segments["clv_share"].idxmax()
    assert any(text.startswith(f"{top} hold {segments.loc[top, 'clv_share']:.1%} of the expected future value")
               for text in valued.insights)
    assert any(text.startswith("Expected value of the next 180 days") for text in valued.insights)


def test_horizon_words():
    from rfm_addin.core.value_findings import horizon_text

    assert [horizon_text(d) for d in (365, 365.25 / 2, 364, 90, 30.4375)] == [
        "12 months", "6 months", "52 weeks", "90 days", "1 month"]


def test_analyze_with_clv_needs_repeat_buyers():
    once = pd.DataFrame({"customer": ["a", "b", "c", "d", "e", "f"], "date": pd.date_range("2024-01-01", periods=6),
                         "amount": [10.0, 20, 30, 40, 50, 60]})
    with pytest.raises(RfmError, match="repeat"):
        rfm.analyze(once, clv=True)
