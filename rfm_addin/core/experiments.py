"""Campaign experiments: how many customers a test needs, who is held out, and what the result says.

Sizing follows statsmodels (``NormalIndPower`` with ``proportion_effectsize``, the arcsine
effect size, two-sided, both tails in the power) or the classic pooled two-proportion formula.
``ratio`` is n_holdout / n_treatment, as statsmodels' ``nobs2 = ratio * nobs1``; the treatment
arm has the baseline plus the lift, the holdout the baseline.

The readout's intervals are statsmodels' ``confint_proportions_2indep``: Newcombe's hybrid score
interval for the difference (Wilson intervals of each arm combined), and the Koopman score
interval with the Miettinen-Nurminen correction for the ratio (minus 1: the relative lift); the
p-value is the pooled two-proportion z test (``proportions_ztest``). The label rule is stated
with every readout (:data:`LABEL_RULE`).
"""
from __future__ import annotations

import math

import numpy as np
import pandas as pd

from .errors import RfmError

METHODS = ("arcsine", "pooled_z")
#: How a readout is labelled, in words (the readout carries it as ``rule``).
LABEL_RULE = ("inconclusive if either arm is below its planned size; otherwise significant if p < alpha; "
              "otherwise promising if the difference is positive and p < 0.2; otherwise not significant")
#: The p-value below which a positive difference is "promising" (Klaviyo's word for it).
PROMISING_P = 0.2


def parse_lift(value) -> tuple[float, bool]:
    """A lift as ``(lift, relative)``: ``2pp`` (percentage points) or a number (0.02) is absolute,
    ``20%`` relative to the baseline."""
    if isinstance(value, (int, float, np.integer, np.floating)) and not isinstance(value, bool):
        return float(value), False
    raw = str(value).strip().lower().replace(" ", "")
    try:
        if raw.endswith("pp"):
            return float(raw[:-2]) / 100, False
        if raw.endswith("%"):
            return float(raw[:-1]) / 100, True
        return float(raw), False
    except ValueError:
        raise RfmError(f"A lift is 2pp (percentage points), 0.02 (the same) or 20% (relative to the baseline), "
                       f"not {value!r}.") from None


def parse_share(value) -> float:
    """A share from ``10%`` or ``0.1``."""
    if isinstance(value, (int, float, np.integer, np.floating)) and not isinstance(value, bool):
        return float(value)
    raw = str(value).strip()
    try:
        return float(raw[:-1]) / 100 if raw.endswith("%") else float(raw)
    except ValueError:
        raise RfmError(f"A share is 10% or 0.1, not {value!r}.") from None


def _probability(name: str, value: float) -> float:
    if not (isinstance(value, (int, float, np.integer, np.floating)) and not isinstance(value, bool)):
        raise RfmError(f"{name} must be a number between 0 and 1, not {value!r}.")
    value = float(value)
    if not 0 < value < 1:
        raise RfmError(f"{name} must be between 0 and 1 (exclusive), not {value:g}.")
    return value


def _check(baseline: float, alpha: float, power: float, ratio: float, method: str) -> tuple[float, float, float]:
    baseline = _probability("baseline", baseline)
    alpha = _probability("alpha", alpha)
    power = _probability("power", power)
    if not (np.isfinite(ratio) and ratio > 0):
        raise RfmError(f"ratio (holdout / treatment customers) must be above 0, not {ratio!r}.")
    if method not in METHODS:
        raise RfmError(f"method must be one of {', '.join(METHODS)}, not {method!r}.")
    return baseline, alpha, power


def _treated(baseline: float, lift: float, relative: bool) -> float:
    treated = baseline * (1 + lift) if relative else baseline + lift
    if not lift > 0:
        raise RfmError(f"lift must be above 0 (an increase to detect), not {lift:g}.")
    if not treated < 1:
        raise RfmError(f"A lift of {lift:g}{' (relative)' if relative else ''} takes the rate from {baseline:g} to "
                       f"{treated:g}, past 1: give a smaller lift.")
    return treated


def _arcsine_power(effect: float, n_treatment: float, ratio: float, alpha: float) -> float:
    """Power of the two-sided z test on the arcsine effect size, as statsmodels' NormalIndPower."""
    from scipy.stats import norm

    nobs = 1.0 / (1.0 / n_treatment + 1.0 / (ratio * n_treatment))
    crit = norm.isf(alpha / 2)
    return float(norm.sf(crit - effect * math.sqrt(nobs)) + norm.cdf(-crit - effect * math.sqrt(nobs)))


def _n_treatment(baseline: float, treated: float, alpha: float, power: float, ratio: float, method: str) -> float:
    """The treatment arm's size (not rounded) for the test to have ``power``."""
    from scipy.optimize import brentq
    from scipy.stats import norm

    if method == "pooled_z":
        k = ratio
        pooled = (treated + k * baseline) / (1 + k)
        z_a, z_b = norm.isf(alpha / 2), norm.isf(1 - power)
        spread = (z_a * math.sqrt(pooled * (1 - pooled) * (1 + 1 / k))
                  + z_b * math.sqrt(treated * (1 - treated) + baseline * (1 - baseline) / k))
        return spread ** 2 / (treated - baseline) ** 2
    effect = 2 * math.asin(math.sqrt(treated)) - 2 * math.asin(math.sqrt(baseline))
    # the one-tail closed form, then the root of the two-tailed power (as statsmodels' solve_power)
    guess = (norm.isf(alpha / 2) + norm.isf(1 - power)) ** 2 / effect ** 2 * (1 + 1 / ratio)
    low, high = max(guess * 0.5, 1e-9), guess * 2
    return float(brentq(lambda n: _arcsine_power(effect, n, ratio, alpha) - power, low, high, xtol=1e-12,
                        rtol=4 * np.finfo(float).eps, maxiter=200))


def sample_size(baseline: float, lift: float, *, alpha: float = 0.05, power: float = 0.8, ratio: float = 1.0,
                relative: bool = False, method: str = "arcsine") -> int:
    """Customers needed in the treatment arm to detect ``lift`` over ``baseline``.

    Parameters
    ----------
    baseline : float
        The holdout's expected rate (0.1 = 10% of customers buy again).
    lift : float
        The increase to detect: absolute in proportion units (0.02 = 2 points), or relative
        to the baseline with ``relative=True`` (0.2 = +20%).
    alpha, power : float
        Two-sided significance level and power.
    ratio : float
        Holdout customers per treatment customer (0.1 / 0.9 for a 10% holdout).
    method : {"arcsine", "pooled_z"}
        statsmodels' arcsine effect size with ``NormalIndPower``, or the pooled formula.

    Returns
    -------
    int
        The treatment arm, rounded up; the holdout needs ``ceil(ratio * n)``.
    """
    baseline, alpha, power = _check(baseline, alpha, power, ratio, method)
    treated = _treated(baseline, lift, relative)
    return int(math.ceil(_n_treatment(baseline, treated, alpha, power, ratio, method) - 1e-9))


def sample_sizes(baseline: float, lift: float, *, alpha: float = 0.05, power: float = 0.8, ratio: float = 1.0,
                 relative: bool = False, method: str = "arcsine") -> dict:
    """:func:`sample_size` for both arms: ``{"treatment", "holdout", "total"}`` (each rounded up)."""
    treatment = sample_size(baseline, lift, alpha=alpha, power=power, ratio=ratio, relative=relative, method=method)
    holdout = int(math.ceil(ratio * treatment - 1e-9))
    return {"treatment": treatment, "holdout": holdout, "total": treatment + holdout}


def detectable_lift(baseline: float, n_treatment: int, *, n_holdout: int | None = None, alpha: float = 0.05,
                    power: float = 0.8, method: str = "arcsine") -> float:
    """The smallest absolute lift over ``baseline`` that ``n_treatment`` and ``n_holdout``
    customers (default as many as the treatment) detect with ``power``; ``nan`` when no lift
    up to a rate of 1 is detectable with so few."""
    from scipy.optimize import brentq

    n_holdout = n_treatment if n_holdout is None else n_holdout
    for name, n in (("n_treatment", n_treatment), ("n_holdout", n_holdout)):
        if not (isinstance(n, (int, float, np.integer, np.floating)) and n >= 1):
            raise RfmError(f"{name} must be at least 1 customer, not {n!r}.")
    ratio = float(n_holdout) / float(n_treatment)
    baseline, alpha, power = _check(baseline, alpha, power, ratio, method)
    top = 1 - 1e-12

    def gap(treated: float) -> float:
        return _n_treatment(baseline, treated, alpha, power, ratio, method) - float(n_treatment)

    if gap(top) > 0:
        return float("nan")
    return float(brentq(gap, baseline + 1e-12, top, xtol=1e-13, maxiter=300)) - baseline


def _wilson(count: int, n: int, alpha: float) -> tuple[float, float]:
    from scipy.stats import norm

    z = norm.isf(alpha / 2)
    p = count / n
    denominator = 1 + z * z / n
    centre = (p + z * z / (2 * n)) / denominator
    half = z * math.sqrt(p * (1 - p) / n + z * z / (4 * n * n)) / denominator
    return centre - half, centre + half


def _ratio_score_interval(count_t: int, n_t: int, count_h: int, n_h: int, alpha: float) -> tuple[float, float]:
    """Koopman's score interval of p_t / p_h with Miettinen and Nurminen's n / (n - 1) correction
    (Nam 1995, equations 5 and 6), as statsmodels' ``_confint_riskratio_koopman``."""
    from scipy.stats import norm

    x0, x1, n0, n1 = count_h, count_t, n_h, n_t
    x, n = x0 + x1, n0 + n1
    z = norm.isf(alpha / 2) ** 2 * n / (n - 1)
    a1 = n0 * (n0 * n * x1 + n1 * (n0 + x1) * z)
    a2 = -n0 * (n0 * n1 * x + 2 * n * x0 * x1 + n1 * (n0 + x0 + 2 * x1) * z)
    a3 = 2 * n0 * n1 * x0 * x + n * x0 * x0 * x1 + n0 * n1 * x * z
    a4 = -n1 * x0 * x0 * x
    roots = np.sort(np.roots([a1, a2, a3, a4]))[:2][::-1]
    ci = (1 - (n1 - x1) * (1 - roots) / (x0 + n1 - n * roots)) / roots
    return float(np.real(ci[0])), float(np.real(ci[1]))


def readout(conversions_treatment: int, n_treatment: int, conversions_holdout: int, n_holdout: int, *,
            alpha: float = 0.05, planned_n: int | dict | None = None) -> dict:
    """What a campaign test shows: rates, their difference and relative lift with intervals, the
    p-value and a label.

    Parameters
    ----------
    conversions_treatment, n_treatment, conversions_holdout, n_holdout : int
        Customers who converted, and customers, in each arm.
    alpha : float
        Two-sided significance level (the intervals are 1 - alpha).
    planned_n : int or dict, optional
        The planned size of each arm (an int for both, or ``{"treatment": .., "holdout": ..}``);
        an arm below it makes the result "inconclusive".

    Returns
    -------
    dict
        ``n_treatment``, ``n_holdout``, ``conversions_treatment``, ``conversions_holdout``,
        ``rate_treatment``, ``rate_holdout``, ``difference``, ``difference_ci``,
        ``relative_lift``, ``relative_lift_ci``, ``p_value``, ``revenue_difference`` and
        ``revenue_difference_ci`` (None here; see :func:`readout_table`), ``label``, ``rule``.
    """
    from scipy.stats import norm

    alpha = _probability("alpha", alpha)
    counts = {"conversions_treatment": conversions_treatment, "n_treatment": n_treatment,
              "conversions_holdout": conversions_holdout, "n_holdout": n_holdout}
    for name, value in counts.items():
        if not (isinstance(value, (int, float, np.integer, np.floating)) and float(value).is_integer() and value >= 0):
            raise RfmError(f"{name} must be a whole number of customers, not {value!r}.")
    c_t, n_t, c_h, n_h = (int(counts[k]) for k in counts)
    if n_t < 1 or n_h < 1:
        raise RfmError("Each arm needs at least one customer.")
    if c_t > n_t or c_h > n_h:
        raise RfmError("An arm has more conversions than customers.")
    p_t, p_h = c_t / n_t, c_h / n_h
    difference = p_t - p_h
    low_t, high_t = _wilson(c_t, n_t, alpha)
    low_h, high_h = _wilson(c_h, n_h, alpha)
    difference_ci = (difference - math.sqrt((p_t - low_t) ** 2 + (high_h - p_h) ** 2),
                     difference + math.sqrt((p_h - low_h) ** 2 + (high_t - p_t) ** 2))
    pooled = (c_t + c_h) / (n_t + n_h)
    se = math.sqrt(pooled * (1 - pooled) * (1 / n_t + 1 / n_h))
    p_value = float(2 * norm.sf(abs(difference) / se)) if se > 0 else float("nan")
    relative = difference / p_h if p_h > 0 else float("nan")
    if c_h > 0 and c_t > 0:
        low, high = _ratio_score_interval(c_t, n_t, c_h, n_h, alpha)
        relative_ci = (low - 1, high - 1)
    else:
        relative_ci = (float("nan"), float("nan"))
    planned = planned_n if isinstance(planned_n, dict) else {"treatment": planned_n, "holdout": planned_n}
    short = any(p is not None and n < p for n, p in ((n_t, planned.get("treatment")), (n_h, planned.get("holdout"))))
    if short:
        label = "inconclusive"
    elif p_value < alpha:
        label = "significant"
    elif difference > 0 and p_value < PROMISING_P:
        label = "promising"
    else:
        label = "not significant"
    return {"n_treatment": n_t, "n_holdout": n_h, "conversions_treatment": c_t, "conversions_holdout": c_h,
            "rate_treatment": p_t, "rate_holdout": p_h, "difference": difference, "difference_ci": difference_ci,
            "relative_lift": relative, "relative_lift_ci": relative_ci, "p_value": p_value,
            "revenue_difference": None, "revenue_difference_ci": None, "label": label, "rule": LABEL_RULE}


def readout_table(table: pd.DataFrame, *, arm: str = "arm", converted: str = "converted", revenue: str | None = None,
                  treatment: str | None = None, alpha: float = 0.05, planned_n: int | dict | None = None,
                  plan: pd.Series | None = None, customer: str | None = None) -> dict:
    """:func:`readout` from one row per customer: the arm (``"holdout"`` or a treatment arm's
    name), whether they converted (1/0 or True/False), and optionally the revenue each brought
    (then ``revenue_difference`` is the difference of the mean revenue per customer, treatment
    minus holdout, with Welch's interval). With several treatment arms, name one in ``treatment``.

    With ``plan`` (the planned arms, a Series indexed by customer id, as
    ``Assignment.arm``), the arms come from it: ``customer`` names the id column of ``table``
    (default its index), every customer must be in the plan, and the planned sizes of the arms
    default to the plan's.
    """
    from scipy import stats

    if plan is not None:
        ids = (table.index if customer is None else table[customer]).astype(str)
        planned = pd.Series(plan.to_numpy(), index=plan.index.astype(str))
        unknown = ids[~ids.isin(planned.index)]
        if len(unknown):
            raise RfmError(f"{len(unknown):,} customer(s) of the outcomes are not in the plan, e.g. "
                           f"{', '.join(map(repr, unknown[:3]))}: read the outcomes of the planned customers only.")
        table = table.assign(**{arm: planned.reindex(ids).to_numpy()})
        if planned_n is None:
            sizes = planned.value_counts()
            planned_n = {"holdout": int(sizes.get("holdout", 0)),
                         "treatment": int(sizes.get(treatment, 0)) if treatment else
                         int(sizes.drop("holdout", errors="ignore").max()) if len(sizes) > 1 else 0}
    for column in (arm, converted, *([revenue] if revenue else [])):
        if column not in table.columns:
            raise RfmError(f"The outcomes have no column {column!r}; columns: {', '.join(map(str, table.columns))}.")
    arms = table[arm].astype(str).str.strip()
    if not (arms == "holdout").any():
        raise RfmError(f"No customer is in the holdout (column {arm!r} has no 'holdout').")
    treated_arms = sorted(set(arms) - {"holdout"})
    if treatment is None:
        if len(treated_arms) != 1:
            raise RfmError(f"Name the treatment arm to read: the outcomes have {', '.join(treated_arms) or 'none'}.")
        treatment = treated_arms[0]
    elif treatment not in treated_arms:
        raise RfmError(f"No customer is in the arm {treatment!r}; the arms are {', '.join(treated_arms)}.")
    flags = table[converted]
    if flags.dtype == bool:
        values = flags.astype(float)
    else:
        values = pd.to_numeric(flags, errors="coerce")
    bad = ~values.isin([0.0, 1.0])
    if bad.any():
        first = table.index[bad.to_numpy()][0]
        raise RfmError(f"Column {converted!r} must be 1 or 0 (or TRUE/FALSE) for every customer; row {first} has "
                       f"{flags.loc[first]!r}.")
    in_t, in_h = arms == treatment, arms == "holdout"
    out = readout(int(values[in_t].sum()), int(in_t.sum()), int(values[in_h].sum()), int(in_h.sum()), alpha=alpha,
                  planned_n=planned_n)
    if revenue:
        money = pd.to_numeric(table[revenue], errors="coerce")
        if money.isna().any():
            first = table.index[money.isna().to_numpy()][0]
            raise RfmError(f"Column {revenue!r} must be a number for every customer; row {first} is not.")
        a, b = money[in_t].to_numpy(float), money[in_h].to_numpy(float)
        difference = float(a.mean() - b.mean())
        va, vb = a.var(ddof=1) / len(a) if len(a) > 1 else np.nan, b.var(ddof=1) / len(b) if len(b) > 1 else np.nan
        se = math.sqrt(va + vb)
        dof = (va + vb) ** 2 / (va ** 2 / (len(a) - 1) + vb ** 2 / (len(b) - 1)) if se > 0 else np.nan
        half = stats.t.isf(alpha / 2, dof) * se if se > 0 else np.nan
        out["revenue_difference"] = difference
        out["revenue_difference_ci"] = (difference - half, difference + half)
    return out


# --------------------------------------------------------------------------------------
# Assignment to arms
# --------------------------------------------------------------------------------------
#: The standardised mean difference above which an arm is flagged as unbalanced on a metric.
SMD_FLAG = 0.1
BALANCE_METRICS = ("recency", "frequency", "monetary")


class Assignment:
    """Customers split into arms (:func:`assign`).

    Attributes
    ----------
    arm : Series
        Named "arm", indexed like the customers: "holdout" or a treatment arm's name.
    balance : DataFrame
        Per arm and metric (recency, frequency, monetary, where present): ``arm``, ``metric``,
        ``mean``, ``smd`` (standardised mean difference from the holdout, pooled standard
        deviation; 0 for the holdout itself) and ``flagged`` (``|smd| > 0.1``).
    counts : DataFrame
        Customers per stratum and arm.
    """

    def __init__(self, arm: pd.Series, balance: pd.DataFrame, counts: pd.DataFrame):
        self.arm, self.balance, self.counts = arm, balance, counts

    def __repr__(self) -> str:
        sizes = ", ".join(f"{k} {v:,}" for k, v in self.arm.value_counts().sort_index().items())
        return f"Assignment({sizes})"


def _hashes(ids: pd.Index, random_state: int) -> np.ndarray:
    """A 64-bit number per customer id (its text), salted with ``random_state``: the same
    customer gets the same number in every run, input order and workbook (BLAKE2b)."""
    import hashlib

    salt = str(int(random_state)).encode("utf-8")[:16]
    return np.fromiter((int.from_bytes(hashlib.blake2b(str(i).encode("utf-8"), digest_size=8, key=salt).digest(),
                                       "big") for i in ids), dtype=np.uint64, count=len(ids))


def assign(customers: pd.DataFrame, *, holdout: float = 0.1, arms=("treatment",), random_state: int = 0,
           strata: str | None = "segment") -> Assignment:
    """Split customers into a holdout and treatment arms, stratified, reproducibly.

    Within each stratum (e.g. each segment) customers are ranked by a salted hash of their id
    and ``random_state``; the first ``round(holdout x n)`` are the holdout, the rest are shared
    equally by ``arms`` in the same order. So the same customer keeps the same arm across runs,
    input orders and workbooks; each stratum's holdout is its share within one customer; and
    adding k customers to a stratum changes the arm of at most k + 1 of its existing customers
    (one treatment arm).

    Parameters
    ----------
    customers : DataFrame
        One row per customer, indexed by customer id (e.g. ``analyze(...).customers``).
    holdout : float
        Share held out, between 0 and 1 (Braze's global control groups hold out 1 to 10%).
    arms : sequence of str
        Names of the treatment arms.
    random_state : int
        The salt: another value gives another, equally random split.
    strata : str or None
        Column whose groups are split separately; None for one group.

    Returns
    -------
    Assignment
    """
    holdout = _probability("holdout", holdout)
    arms = tuple(str(a) for a in ([arms] if isinstance(arms, str) else arms))
    if not arms or len(set(arms)) != len(arms) or "holdout" in arms:
        raise RfmError("arms must be distinct names other than 'holdout', e.g. ('treatment',) or ('email', 'sms').")
    if customers.index.has_duplicates:
        twice = customers.index[customers.index.duplicated()].unique()[:3]
        raise RfmError(f"Each customer must appear once; {', '.join(map(repr, twice))} appear more than once.")
    if len(customers) < len(arms) + 1:
        raise RfmError(f"There are {len(customers)} customers for {len(arms) + 1} arms (holdout included): fewer "
                       "customers than arms.")
    if strata is not None and strata not in customers.columns:
        raise RfmError(f"strata column {strata!r} is not in the customer table.")
    groups = (pd.Series("all", index=customers.index) if strata is None
              else customers[strata].astype(object).where(customers[strata].notna(), "(none)"))
    keys = _hashes(customers.index, random_state)
    order = np.lexsort((keys, pd.factorize(groups)[0]))        # by stratum, then by hash
    labels = np.empty(len(customers), dtype=object)
    codes = pd.factorize(groups)[0][order]
    starts = np.flatnonzero(np.r_[True, codes[1:] != codes[:-1]])
    ends = np.r_[starts[1:], len(order)]
    for start, end in zip(starts, ends):
        n = end - start
        n_hold = int(math.floor(holdout * n + 0.5))
        labels[order[start:start + n_hold]] = "holdout"
        rest = order[start + n_hold:end]
        cuts = [int(math.floor(len(rest) * j / len(arms) + 0.5)) for j in range(len(arms) + 1)]
        for j, name in enumerate(arms):
            labels[rest[cuts[j]:cuts[j + 1]]] = name
    arm = pd.Series(labels, index=customers.index, name="arm")
    counts = pd.crosstab(groups.rename(strata or "stratum"), arm).reindex(columns=["holdout", *arms], fill_value=0)
    return Assignment(arm, _balance(customers, arm, arms), counts)


def _balance(customers: pd.DataFrame, arm: pd.Series, arms: tuple) -> pd.DataFrame:
    rows = []
    held = arm == "holdout"
    for metric in (m for m in BALANCE_METRICS if m in customers.columns):
        values = pd.to_numeric(customers[metric], errors="coerce").astype(float)
        base = values[held]
        for name in ("holdout", *arms):
            group = values[arm == name]
            pooled = math.sqrt((group.var(ddof=1) + base.var(ddof=1)) / 2) if len(group) > 1 and len(base) > 1 else 0
            smd = 0.0 if name == "holdout" else ((group.mean() - base.mean()) / pooled if pooled > 0 else 0.0)
            rows.append({"arm": name, "metric": metric, "mean": float(group.mean()), "smd": float(smd),
                         "flagged": bool(abs(smd) > SMD_FLAG)})
    return pd.DataFrame(rows, columns=["arm", "metric", "mean", "smd", "flagged"])
