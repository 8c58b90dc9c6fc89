"""Customer lifetime value models on scipy: BG/NBD (Fader, Hardie & Lee 2005), Pareto/NBD and Gamma-Gamma.

Definitions (the literature's, on the calibration period up to ``as_of``, inclusive):

- ``x``: repeat purchase days (purchases on the same day merged; the first day not counted);
- ``t_x``: time from the first to the last purchase day; ``T``: from the first purchase day to
  ``as_of`` (1997-09-30 gives T = 38.86 weeks for a first purchase on 1997-01-01);
- times in days or weeks (days / 7), ``attrs["time_unit"]``;
- ``repeat_spend``: the mean net amount of the repeat purchase days (the first day excluded).

Fitting maximises the total log-likelihood (natural log, every constant term included) in
the log domain (no overflow of the Gamma and Beta functions on frequent buyers, Hardie's note
on the BG/NBD "#NUM!" problem), on log-parameters, from several starting points; identical rows
are grouped and weighted, so the cost grows with distinct rows, not customers. Standard errors
come from the inverse of a central-difference Hessian of the log-likelihood at the optimum.
"""
from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from .errors import RfmError
from .rfm import cut_at_as_of, prepare_lines

TIME_UNITS = {"day": 1.0, "week": 7.0}
SUMMARY_COLUMNS = ["x", "t_x", "T", "repeat_spend", "repeat_days", "no_repeat"]


def clv_summary_from_frame(frame: pd.DataFrame, *, as_of: pd.Timestamp | None = None, time_unit: str = "week",
                           customer: str | None = None, date: str | None = None, amount: str | None = None,
                           order: str | None = None, decimal: str = ".", thousands: str | None = None,
                           dayfirst: bool | None = None, date_system: int = 1900, first_row: int = 2) -> pd.DataFrame:
    """The per-customer summary of the CLV models from transactions (see the module for the columns)."""
    if time_unit not in TIME_UNITS:
        raise RfmError(f"time_unit must be 'day' or 'week', not {time_unit!r}.")
    p = prepare_lines(frame, customer=customer, date=date, amount=amount, order=order, decimal=decimal,
                      thousands=thousands, dayfirst=dayfirst, date_system=date_system, first_row=first_row)
    lines, rows, cancel, amounts, days, report, cols = p.lines, p.rows, p.cancel, p.amounts, p.days, p.report, p.cols
    as_of_day, stamp = cut_at_as_of(days, rows, cancel, amounts, as_of, report)
    if as_of is None:   # the literature's T runs to the last day of the period, not the day after
        as_of_day -= 1
        stamp = stamp - pd.Timedelta(days=1)
    kept = np.flatnonzero(rows)
    per_day = pd.DataFrame({"c": lines.cust_codes[kept], "d": days[kept], "a": amounts[kept],
                            "p": ~cancel[kept]}).groupby(["c", "d"], sort=True).agg(a=("a", "sum"), p=("p", "any"))
    per_day = per_day.loc[per_day["p"]].reset_index()
    if per_day.empty:
        raise RfmError("No purchases were found on or before the as-of date, so there is no customer to analyse.")
    grouped = per_day.groupby("c", sort=True)
    first, last = grouped["d"].min(), grouped["d"].max()
    n_days = grouped.size()
    first_amount = per_day.groupby("c", sort=True)["a"].first()
    total = grouped["a"].sum()
    unit = TIME_UNITS[time_unit]
    x = (n_days - 1).astype(np.int64)
    spend = ((total - first_amount) / x.where(x > 0)).astype(float)
    out = pd.DataFrame({
        "x": x.to_numpy(),
        "t_x": ((last - first) / unit).to_numpy(dtype=float),
        "T": ((as_of_day - first) / unit).to_numpy(dtype=float),
        "repeat_spend": spend.to_numpy(),
        "repeat_days": x.to_numpy(),
        "no_repeat": (x == 0).to_numpy(),
    }, index=pd.Index(lines.cust_ids[first.index.to_numpy()].to_numpy(dtype=object), dtype=object,
                      name=str(cols.customer)))
    out.attrs.update(time_unit=time_unit, as_of=stamp)
    return out


def _grouped(summary: pd.DataFrame, columns: list[str]) -> tuple[np.ndarray, np.ndarray]:
    """Distinct rows of ``columns`` and how many customers share each."""
    values = summary[columns].to_numpy(dtype=np.float64)
    distinct, counts = np.unique(values, axis=0, return_counts=True)
    return distinct, counts.astype(np.float64)


def _bgnbd_ll(params: np.ndarray, x: np.ndarray, t_x: np.ndarray, T: np.ndarray) -> np.ndarray:
    """Per-row log-likelihood of BG/NBD, in the log domain."""
    from scipy.special import betaln, gammaln

    r, alpha, a, b = params
    ln_a1 = gammaln(r + x) - gammaln(r) + r * np.log(alpha)
    ln_a2 = betaln(a, b + x) - betaln(a, b) - (r + x) * np.log(alpha + T)
    with np.errstate(divide="ignore", invalid="ignore"):
        ln_a3 = np.where(x > 0, betaln(a + 1, b + np.maximum(x, 1) - 1) - betaln(a, b)
                         - (r + x) * np.log(alpha + t_x), -np.inf)
    return ln_a1 + np.logaddexp(ln_a2, ln_a3)


def _gamma_gamma_ll(params: np.ndarray, x: np.ndarray, m: np.ndarray) -> np.ndarray:
    """Per-row log-likelihood of the mean spend ``m`` of ``x`` repeat transactions (Gamma-Gamma)."""
    from scipy.special import gammaln

    p, q, v = params
    px = p * x
    return (gammaln(px + q) - gammaln(px) - gammaln(q) + q * np.log(v) + (px - 1) * np.log(m) + px * np.log(x)
            - (px + q) * np.log(x * m + v))


def _pareto_a0_log(r, alpha, s, beta, x, t_x, T):
    """log of A0 of the Pareto/NBD likelihood (Fader, Hardie & Lee's note), for either order of alpha, beta."""
    from scipy.special import hyp2f1

    total = r + s + x
    if alpha >= beta:
        b_param, shift, base = s + 1, alpha - beta, alpha
    else:
        b_param, shift, base = r + x, beta - alpha, beta
    with np.errstate(divide="ignore", invalid="ignore", over="ignore"):
        log1 = np.log(hyp2f1(total, b_param, total + 1, shift / (base + t_x))) - total * np.log(base + t_x)
        log2 = np.log(hyp2f1(total, b_param, total + 1, shift / (base + T))) - total * np.log(base + T)
        return log1 + np.log1p(-np.exp(log2 - log1))


def _pareto_ll(params: np.ndarray, x: np.ndarray, t_x: np.ndarray, T: np.ndarray) -> np.ndarray:
    """Per-row log-likelihood of Pareto/NBD, in the log domain."""
    from scipy.special import gammaln

    r, alpha, s, beta = params
    head = gammaln(r + x) - gammaln(r) + r * np.log(alpha) + s * np.log(beta)
    first = -(r + x) * np.log(alpha + T) - s * np.log(beta + T)
    second = np.log(s) - np.log(r + s + x) + _pareto_a0_log(r, alpha, s, beta, x, t_x, T)
    return head + np.logaddexp(first, second)


_MODELS = {
    "bgnbd": (("r", "alpha", "a", "b"), ["x", "t_x", "T"], _bgnbd_ll),
    "pareto_nbd": (("r", "alpha", "s", "beta"), ["x", "t_x", "T"], _pareto_ll),
    "gamma_gamma": (("p", "q", "v"), ["repeat_days", "repeat_spend"], _gamma_gamma_ll),
}
#: Starting points (per parameter) tried by the fit; the best optimum is kept.
_STARTS = (1.0, 0.5, 2.0)


def _hessian(f, theta: np.ndarray, step: float = 1e-4) -> np.ndarray:
    """Central-difference Hessian of ``f`` at ``theta`` (relative steps)."""
    n = len(theta)
    h = step * np.maximum(np.abs(theta), 1e-3)
    out = np.empty((n, n))
    for i in range(n):
        for j in range(i, n):
            ei, ej = np.eye(n)[i] * h[i], np.eye(n)[j] * h[j]
            out[i, j] = out[j, i] = (f(theta + ei + ej) - f(theta + ei - ej) - f(theta - ei + ej)
                                     + f(theta - ei - ej)) / (4 * h[i] * h[j])
    return out


@dataclass
class ClvModel:
    """A fitted CLV model (:func:`fit_clv`).

    Attributes
    ----------
    model : str
        "bgnbd", "pareto_nbd" or "gamma_gamma".
    params : dict of float
        The literature's parameters: r, alpha, a, b (BG/NBD); r, alpha, s, beta (Pareto/NBD);
        p, q, v (Gamma-Gamma).
    log_likelihood : float
        Total over the customers fitted, natural log, every constant term included.
    standard_errors : dict of float
        From the inverse Hessian of the log-likelihood.
    n : int
        Customers fitted.
    time_unit : str
    """

    model: str
    params: dict
    log_likelihood: float
    standard_errors: dict
    n: int
    time_unit: str = "week"
    notes: list = field(default_factory=list)

    def _p(self) -> tuple:
        return tuple(self.params[k] for k in _MODELS[self.model][0])

    def _bgnbd(self) -> tuple:
        if self.model == "gamma_gamma":
            raise RfmError("This is a gamma_gamma model of spend; purchases come from a BG/NBD or Pareto/NBD model.")
        return self._p()

    def prob_alive(self, summary: pd.DataFrame) -> pd.Series:
        """P(alive at T | x, t_x, T)."""
        if self.model == "pareto_nbd":
            r, alpha, s, beta = self._p()
            x, t_x, T = (summary[c].to_numpy(dtype=float) for c in ("x", "t_x", "T"))
            log_odds = (np.log(s) - np.log(r + s + x) + (r + x) * np.log(alpha + T) + s * np.log(beta + T)
                        + _pareto_a0_log(r, alpha, s, beta, x, t_x, T))
            return pd.Series(1.0 / (1.0 + np.exp(log_odds)), index=summary.index, name="prob_alive")
        r, alpha, a, b = self._bgnbd()
        x, t_x, T = (summary[c].to_numpy(dtype=float) for c in ("x", "t_x", "T"))
        with np.errstate(divide="ignore", invalid="ignore"):
            log_ratio = np.log(a) - np.log(np.maximum(b + x - 1, 1e-300)) + (r + x) * (np.log(alpha + T)
                                                                                      - np.log(alpha + t_x))
        alive = np.where(x > 0, 1.0 / (1.0 + np.exp(log_ratio)), 1.0)
        return pd.Series(alive, index=summary.index, name="prob_alive")

    def expected_purchases(self, summary: pd.DataFrame, horizon: float) -> pd.Series:
        """Expected purchases in the next ``horizon`` (time units) given x, t_x, T (FHL 2005, eq. 10)."""
        from scipy.special import hyp2f1

        if self.model == "pareto_nbd":
            r, alpha, s, beta = self._p()
            x, T = summary["x"].to_numpy(dtype=float), summary["T"].to_numpy(dtype=float)
            t = float(horizon)
            expected = ((r + x) * (beta + T) / ((alpha + T) * (s - 1))
                        * (1 - ((beta + T) / (beta + T + t)) ** (s - 1)) * self.prob_alive(summary).to_numpy())
            return pd.Series(expected, index=summary.index, name="expected_purchases")
        r, alpha, a, b = self._bgnbd()
        x, t_x, T = (summary[c].to_numpy(dtype=float) for c in ("x", "t_x", "T"))
        t = float(horizon)
        z = t / (alpha + T + t)
        first = (a + b + x - 1) / (a - 1)
        second = 1 - ((alpha + T) / (alpha + T + t)) ** (r + x) * hyp2f1(r + x, b + x, a + b + x - 1, z)
        with np.errstate(divide="ignore", invalid="ignore"):
            third = 1 + np.where(x > 0, a / (b + x - 1) * ((alpha + T) / (alpha + t_x)) ** (r + x), 0.0)
        return pd.Series(first * second / third, index=summary.index, name="expected_purchases")

    def prob_no_purchase(self, summary: pd.DataFrame, horizon: float) -> pd.Series:
        """P(no purchase in the next ``horizon``): dead, or alive and no purchase at the posterior rate."""
        if self.model == "pareto_nbd":
            raise RfmError("prob_no_purchase of the Pareto/NBD model is not available yet; use bgnbd.")
        r, alpha, a, b = self._bgnbd()
        alive = self.prob_alive(summary).to_numpy()
        x, T = summary["x"].to_numpy(dtype=float), summary["T"].to_numpy(dtype=float)
        quiet = ((alpha + T) / (alpha + T + float(horizon))) ** (r + x)
        return pd.Series(1 - alive + alive * quiet, index=summary.index, name="prob_no_purchase")

    def expected_spend(self, summary: pd.DataFrame) -> pd.Series:
        """E[mean spend | x, m_x] of Gamma-Gamma; customers without a repeat get the population mean."""
        if self.model != "gamma_gamma":
            raise RfmError("Expected spend comes from a gamma_gamma model.")
        p, q, v = self._p()
        x = summary["repeat_days"].to_numpy(dtype=float)
        m = summary["repeat_spend"].to_numpy(dtype=float)
        population = p * v / (q - 1) if q > 1 else np.nan
        with np.errstate(invalid="ignore"):
            spend = (q - 1) / (p * x + q - 1) * population + p * x / (p * x + q - 1) * m
        spend = np.where((x > 0) & np.isfinite(m) & (m > 0), spend, population)
        return pd.Series(spend, index=summary.index, name="expected_spend")


def fit_clv(summary: pd.DataFrame, *, model: str = "bgnbd") -> ClvModel:
    """Fit a CLV model to a summary (:func:`rfm_addin.clv_summary`) by maximum likelihood.

    Parameters
    ----------
    summary : DataFrame
        Columns ``x``, ``t_x``, ``T`` (purchase models) or ``repeat_days``, ``repeat_spend``
        (the spend model), as :func:`rfm_addin.clv_summary` returns them.
    model : {"bgnbd", "pareto_nbd", "gamma_gamma"}

    Returns
    -------
    ClvModel
    """
    from scipy.optimize import minimize

    if model not in _MODELS:
        raise RfmError(f"model must be one of {', '.join(_MODELS)}, not {model!r}.")
    names, columns, loglik = _MODELS[model]
    missing = [c for c in columns if c not in summary.columns]
    if missing:
        raise RfmError(f"fit_clv needs the columns {columns} of clv_summary(); missing {missing}.")
    used = summary
    notes: list[str] = []
    if model == "gamma_gamma":
        usable = (summary["repeat_days"] > 0) & (summary["repeat_spend"] > 0)
        left = int(((summary["repeat_days"] > 0) & ~(summary["repeat_spend"] > 0)).sum())
        if left:
            notes.append(f"{left:,} repeat customers with a net repeat spend of zero or less are left out of the "
                         "spend fit.")
        used = summary.loc[usable]
        if len(used) > 2:
            corr = float(np.corrcoef(used["repeat_days"], used["repeat_spend"])[0, 1])
            if abs(corr) > 0.3:
                notes.append(f"Spend and frequency are correlated among repeat buyers ({corr:.2f}); Gamma-Gamma "
                             "assumes they are independent.")
    if len(used) < len(names) + 1:
        raise RfmError(f"The {model} model needs more than {len(names)} customers to fit; there are {len(used)}.")
    rows, weights = _grouped(used, columns)
    data = [rows[:, i] for i in range(rows.shape[1])]

    def negative(log_theta: np.ndarray) -> float:
        value = -float(np.sum(weights * loglik(np.exp(log_theta), *data)))
        return value if np.isfinite(value) else 1e300

    best = None
    for start in _STARTS:
        # Tight tolerances: the Pareto/NBD likelihood is flat along beta (its standard error on the CDNOW
        # sample is 6), and the default ones stop 0.001 short of the optimum there.
        result = minimize(negative, np.full(len(names), np.log(start)), method="L-BFGS-B",
                          bounds=[(-12.0, 12.0)] * len(names), options={"ftol": 1e-15, "gtol": 1e-12})
        if best is None or result.fun < best.fun:
            best = result
    if best is None or not np.isfinite(best.fun) or best.fun >= 1e299:
        raise RfmError(f"The {model} model could not be fitted to these customers (no finite likelihood).")
    theta = np.exp(best.x)
    if np.any(np.abs(best.x) >= 11.99):
        raise RfmError(f"The {model} fit ran to the edge of its parameter range ({dict(zip(names, theta))}): the "
                       "data do not pin the model down; check the calibration period.")
    hessian = _hessian(lambda th: float(np.sum(weights * loglik(th, *data))), theta)
    try:
        covariance = np.linalg.inv(-hessian)
        errors = np.sqrt(np.clip(np.diag(covariance), 0, None))
    except np.linalg.LinAlgError:
        errors = np.full(len(names), np.nan)
    return ClvModel(model=model, params=dict(zip(names, map(float, theta))), log_likelihood=-float(best.fun),
                    standard_errors=dict(zip(names, map(float, errors))), n=int(len(used)),
                    time_unit=summary.attrs.get("time_unit", "week"), notes=notes)
