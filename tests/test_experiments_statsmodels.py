"""Sizing and readouts against statsmodels itself (a test-only reference, in the test extra):
a grid of baselines, lifts, ratios and methods, and readouts to 1e-9."""
from __future__ import annotations

import math

import numpy as np
import pytest

from rfm_addin.core import experiments as E

power_module = pytest.importorskip("statsmodels.stats.power")
proportion = pytest.importorskip("statsmodels.stats.proportion")


def _pooled(p_h, p_t, ratio, alpha, power):
    """The classic pooled formula, written out (Fleiss), treatment n with holdout ratio x n."""
    from scipy.stats import norm

    k = ratio
    pbar = (p_t + k * p_h) / (1 + k)
    za, zb = norm.isf(alpha / 2), norm.isf(1 - power)
    n = (za * math.sqrt(pbar * (1 - pbar) * (1 + 1 / k)) + zb * math.sqrt(p_t * (1 - p_t) + p_h * (1 - p_h) / k)) ** 2
    return n / (p_t - p_h) ** 2


@pytest.mark.parametrize("baseline", [0.01, 0.05, 0.1, 0.3, 0.6])
@pytest.mark.parametrize("lift", [0.005, 0.02, 0.1])
@pytest.mark.parametrize("ratio", [1.0, 1 / 9, 0.25, 3.0])
def test_sample_size_grid(baseline, lift, ratio):
    effect = proportion.proportion_effectsize(baseline + lift, baseline)
    for alpha, power in ((0.05, 0.8), (0.1, 0.9)):
        theirs = power_module.NormalIndPower().solve_power(effect, alpha=alpha, power=power, ratio=ratio)
        assert E.sample_size(baseline, lift, alpha=alpha, power=power, ratio=ratio) == math.ceil(theirs)
        assert E.sample_size(baseline, lift, alpha=alpha, power=power, ratio=ratio, method="pooled_z") == \
            math.ceil(_pooled(baseline, baseline + lift, ratio, alpha, power))
        sizes = E.sample_sizes(baseline, lift, alpha=alpha, power=power, ratio=ratio)
        assert sizes["holdout"] == math.ceil(ratio * sizes["treatment"] - 1e-9)


@pytest.mark.parametrize("baseline,n,n_holdout", [(0.1, 1000, None), (0.05, 500, 50), (0.3, 200, 800)])
def test_detectable_lift_against_statsmodels(baseline, n, n_holdout):
    ratio = 1.0 if n_holdout is None else n_holdout / n
    ours = E.detectable_lift(baseline, n, n_holdout=n_holdout)
    # statsmodels' power at our lift is the power asked for, to 1e-9 ...
    effect = proportion.proportion_effectsize(baseline + ours, baseline)
    assert power_module.NormalIndPower().power(effect, nobs1=n, alpha=0.05, ratio=ratio) == pytest.approx(0.8, abs=1e-9)
    # ... and its own solver, which stops earlier (power 0.7999987 at n = 1,000), agrees to 1e-6
    solved = power_module.NormalIndPower().solve_power(None, nobs1=n, alpha=0.05, power=0.8, ratio=ratio)
    assert ours == pytest.approx(math.sin(math.asin(math.sqrt(baseline)) + solved / 2) ** 2 - baseline, abs=1e-6)


@pytest.mark.parametrize("counts", [(130, 1000, 100, 1000), (12, 200, 3, 50), (40, 90, 38, 110), (5, 5000, 2, 600)])
def test_readout_against_statsmodels(counts):
    c_t, n_t, c_h, n_h = counts
    ours = E.readout(c_t, n_t, c_h, n_h)
    low, high = proportion.confint_proportions_2indep(c_t, n_t, c_h, n_h, method="newcomb")
    assert ours["difference_ci"] == pytest.approx((low, high), abs=1e-9)
    low, high = proportion.confint_proportions_2indep(c_t, n_t, c_h, n_h, compare="ratio", method="score")
    assert ours["relative_lift_ci"] == pytest.approx((low - 1, high - 1), abs=1e-9)
    _, p_value = proportion.proportions_ztest(np.array([c_t, c_h]), np.array([n_t, n_h]))
    assert ours["p_value"] == pytest.approx(p_value, abs=1e-9)
