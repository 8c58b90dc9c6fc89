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
from .rfm import Prepared, cut_at_as_of, prepare_lines

TIME_UNITS = {"day": 1.0, "week": 7.0}
SUMMARY_COLUMNS = ["x", "t_x", "T", "repeat_spend", "repeat_days", "no_repeat"]


def clv_summary_from_frame(frame: pd.DataFrame, *, as_of: pd.Timestamp | None = None, time_unit: str = "week",
                           customer: str | None = None, date: str | None = None, amount: str | None = None,
                           order: str | None = None, decimal: str = ".", thousands: str | None = None,
                           dayfirst: bool | None = None, date_system: int = 1900, first_row: int = 2) -> pd.DataFrame:
    """The per-customer summary of the CLV models from transactions (see the module for the columns)."""
    p = prepare_lines(frame, customer=customer, date=date, amount=amount, order=order, decimal=decimal,
                      thousands=thousands, dayfirst=dayfirst, date_system=date_system, first_row=first_row)
    return clv_summary_from_prepared(p, as_of, time_unit=time_unit)


def purchase_days(p: Prepared, rows: np.ndarray) -> pd.DataFrame:
    """One row per (customer code ``c``, day ``d``) with a purchase among ``rows``: the net
    amount ``a`` of the day (returns included), sorted by customer and day."""
    kept = np.flatnonzero(rows)
    per_day = pd.DataFrame({"c": p.lines.cust_codes[kept], "d": p.days[kept], "a": p.amounts[kept],
                            "p": ~p.cancel[kept]}).groupby(["c", "d"], sort=True).agg(a=("a", "sum"), p=("p", "any"))
    return per_day.loc[per_day["p"], ["a"]].reset_index()


def clv_summary_from_prepared(p: Prepared, as_of: pd.Timestamp | None, *, time_unit: str = "week") -> pd.DataFrame:
    """:func:`clv_summary_from_frame` from lines already prepared (:func:`prepare_lines`), not changed."""
    if time_unit not in TIME_UNITS:
        raise RfmError(f"time_unit must be 'day' or 'week', not {time_unit!r}.")
    rows = p.rows.copy()
    as_of_day, stamp = cut_at_as_of(p.days, rows, p.cancel, p.amounts, as_of, p.report.copy())
    if as_of is None:   # the literature's T runs to the last day of the period, not the day after
        as_of_day -= 1
        stamp = stamp - pd.Timedelta(days=1)
    per_day = purchase_days(p, rows)
    if per_day.empty:
        raise RfmError("No purchases were found on or before the as-of date, so there is no customer to analyse.")
    grouped = per_day.groupby("c", sort=True)
    first, last = grouped["d"].min(), grouped["d"].max()
    n_days = grouped.size()
    first_amount = grouped["a"].first()
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
    }, index=pd.Index(p.lines.cust_ids[first.index.to_numpy()].to_numpy(dtype=object), dtype=object,
                      name=str(p.cols.customer)))
    out.attrs.update(time_unit=time_unit, as_of=stamp)
    return out


def _grouped(values: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Distinct rows of ``values`` and how many customers share each (by hashing, not sorting)."""
    key = np.zeros(len(values), dtype=np.int64)
    for column in values.T:
        codes, uniques = pd.factorize(column)
        key = key * (len(uniques) + 1) + codes
        key, _ = pd.factorize(key)     # keeps the key below the number of rows, so it never overflows
    first = pd.Series(np.arange(len(key))).groupby(key).first().to_numpy()
    counts = np.bincount(key)
    return values[first], counts.astype(np.float64)


def _pareto_hyp_log(r, alpha, s, beta, x, t):
    """log(2F1(r+s+x, b; r+s+x+1; |alpha-beta| / (max + t)) / (max + t)^(r+s+x)): one of the two
    terms of A0 (b = s + 1 when alpha >= beta, else r + x); scalars or arrays per row."""
    from scipy.special import hyp2f1

    total = r + s + x
    b_param = np.where(np.asarray(alpha >= beta), s + 1, r + x)
    base = np.maximum(alpha, beta) + t
    with np.errstate(divide="ignore", invalid="ignore", over="ignore"):
        return np.log(hyp2f1(total, b_param, total + 1, np.abs(alpha - beta) / base)) - total * np.log(base)


def _a0_of(log1, log2):
    """log A0 from its two terms; t_x = T (a purchase on the last day) makes A0 zero, and rounding
    may put log2 a hair above log1."""
    with np.errstate(divide="ignore", invalid="ignore", over="ignore"):
        return log1 + np.log1p(-np.minimum(np.exp(log2 - log1), 1.0))


def _pareto_a0_log(r, alpha, s, beta, x, t_x, T):
    """log of A0 of the Pareto/NBD likelihood (Fader, Hardie & Lee's note), for either order of
    alpha and beta; the parameters may be scalars or arrays (one per row)."""
    return _a0_of(_pareto_hyp_log(r, alpha, s, beta, x, t_x), _pareto_hyp_log(r, alpha, s, beta, x, T))


def _pareto_ll(params, x: np.ndarray, t_x: np.ndarray, T: np.ndarray) -> np.ndarray:
    """Per-row log-likelihood of Pareto/NBD, in the log domain (parameters scalars or per row)."""
    from scipy.special import gammaln

    r, alpha, s, beta = params
    head = gammaln(r + x) - gammaln(r) + r * np.log(alpha) + s * np.log(beta)
    first = -(r + x) * np.log(alpha + T) - s * np.log(beta + T)
    second = np.log(s) - np.log(r + s + x) + _pareto_a0_log(r, alpha, s, beta, x, t_x, T)
    return head + np.logaddexp(first, second)


def _bgnbd_data(rows: np.ndarray) -> tuple:
    """BG/NBD's data for :func:`_bgnbd_value_grad`: the rows, and the distinct x with each row's."""
    x, t_x, T = rows[:, 0], rows[:, 1], rows[:, 2]
    distinct, inverse = np.unique(x, return_inverse=True)
    return x, t_x, T, distinct, inverse.ravel(), x > 0


def _bgnbd_value_grad(params: np.ndarray, data: tuple, weights: np.ndarray) -> tuple[float, np.ndarray]:
    """Total log-likelihood of BG/NBD and its gradient in (r, alpha, a, b), in the log domain.

    The terms that depend on x only (Gamma, Beta and digamma functions) are computed once per
    distinct x; per row there remain two logarithms and the mixing weight of the two branches.
    """
    from scipy.special import betaln, digamma, gammaln

    r, alpha, a, b = params
    x, t_x, T, ux, inv, pos = data
    base = betaln(a, b)
    with np.errstate(divide="ignore", invalid="ignore"):
        beta2 = betaln(a, b + ux) - base
        beta3 = np.where(ux > 0, betaln(a + 1, b + np.maximum(ux, 1) - 1) - base, -np.inf)
    psi_ab, psi_b = digamma(a + b), digamma(b)
    psi_abx = digamma(a + b + ux)
    d2_a, d2_b = psi_ab - psi_abx, digamma(b + ux) - psi_abx - psi_b + psi_ab
    d3_a = digamma(a + 1) - digamma(a) + psi_ab - psi_abx
    d3_b = digamma(b + np.maximum(ux, 1) - 1) - psi_abx - psi_b + psi_ab
    log_T, log_t = np.log(alpha + T), np.log(alpha + t_x)
    rx = r + x
    a2 = beta2[inv] - rx * log_T
    a3 = np.where(pos, beta3[inv] - rx * log_t, -np.inf)
    mixed = np.logaddexp(a2, a3)
    w2 = np.exp(a2 - mixed)
    w3 = np.where(pos, 1.0 - w2, 0.0)
    k = len(ux)
    value = (np.dot(weights, mixed) + np.dot(np.bincount(inv, weights=weights, minlength=k), gammaln(r + ux))
             + weights.sum() * (r * np.log(alpha) - gammaln(r)))
    ww2, ww3 = weights * w2, weights * w3
    by2, by3 = np.bincount(inv, weights=ww2, minlength=k), np.bincount(inv, weights=ww3, minlength=k)
    grad = np.array([
        np.dot(np.bincount(inv, weights=weights, minlength=k), digamma(r + ux))
        + weights.sum() * (np.log(alpha) - digamma(r)) - np.dot(ww2, log_T) - np.dot(ww3, log_t),
        weights.sum() * r / alpha - np.dot(weights * rx, w2 / (alpha + T) + w3 / (alpha + t_x)),
        np.dot(by2, d2_a) + np.dot(by3, np.where(ux > 0, d3_a, 0.0)),
        np.dot(by2, d2_b) + np.dot(by3, np.where(ux > 0, d3_b, 0.0)),
    ])
    return float(value), grad


def _gamma_gamma_data(rows: np.ndarray) -> tuple:
    """Gamma-Gamma's data: per row x, log m, log x and x m; the distinct x with each row's."""
    x, m = rows[:, 0], rows[:, 1]
    distinct, inverse = np.unique(x, return_inverse=True)
    return x, np.log(m), np.log(x), x * m, distinct, inverse.ravel()


def _gamma_gamma_value_grad(params: np.ndarray, data: tuple, weights: np.ndarray) -> tuple[float, np.ndarray]:
    """Total log-likelihood of Gamma-Gamma and its gradient in (p, q, v).

    The Gamma and digamma terms depend on x only and are computed once per distinct x (repeat
    counts are few); per row there remains one logarithm.
    """
    from scipy.special import digamma, gammaln

    p, q, v = params
    x, log_m, log_x, xm, ux, inv = data
    k = len(ux)
    per_x = np.bincount(inv, weights=weights, minlength=k)
    pux = p * ux
    log_xmv = np.log(xm + v)
    px = p * x
    n = weights.sum()
    value = (np.dot(per_x, gammaln(pux + q) - gammaln(pux))
             + np.dot(weights, (px - 1) * log_m + px * log_x - (px + q) * log_xmv) + n * (q * np.log(v) - gammaln(q)))
    psi_pxq, psi_px = digamma(pux + q), digamma(pux)
    wx = weights * x
    grad = np.array([
        np.dot(per_x * ux, psi_pxq - psi_px) + np.dot(wx, log_m + log_x - log_xmv),
        np.dot(per_x, psi_pxq) - np.dot(weights, log_xmv) + n * (np.log(v) - digamma(q)),
        n * q / v - np.dot(weights, (px + q) / (xm + v)),
    ])
    return float(value), grad


def _pareto_data(rows: np.ndarray) -> tuple:
    """Pareto/NBD's data: the rows, and the distinct (x, t_x) and (x, T) pairs with each row's, since
    the hypergeometric terms depend on a pair only (a third as many as the rows, on real data)."""
    pairs = []
    for column in (1, 2):
        distinct, inverse = np.unique(rows[:, [0, column]], axis=0, return_inverse=True)
        pairs.append((distinct[:, 0], distinct[:, 1], inverse.ravel()))
    return rows[:, 0], rows[:, 1], rows[:, 2], pairs[0], pairs[1]


def _pareto_value(params: np.ndarray, data: tuple, weights: np.ndarray) -> float:
    """Total log-likelihood of Pareto/NBD (as :func:`_pareto_ll`, A0 from the distinct pairs)."""
    from scipy.special import gammaln

    r, alpha, s, beta = params
    x, t_x, T, (x1, t1, at1), (x2, t2, at2) = data
    a0 = _a0_of(_pareto_hyp_log(r, alpha, s, beta, x1, t1)[at1], _pareto_hyp_log(r, alpha, s, beta, x2, t2)[at2])
    head = gammaln(r + x) - gammaln(r) + r * np.log(alpha) + s * np.log(beta)
    first = -(r + x) * np.log(alpha + T) - s * np.log(beta + T)
    second = np.log(s) - np.log(r + s + x) + a0
    return float(np.dot(weights, head + np.logaddexp(first, second)))


@dataclass(frozen=True)
class _Spec:
    """How to fit one model: parameter names, summary columns, data preparation, and the
    total log-likelihood (with its gradient when ``gradient``)."""

    names: tuple
    columns: list
    prepare: object
    total: object
    gradient: bool
    ratios: tuple = ()

    def to_search(self) -> np.ndarray:
        """The linear map from log-parameters to the variables searched: each (i, j) of ``ratios``
        replaces log p_j by log(p_i / p_j), a shape over a scale that the data pin down better (the
        Pareto/NBD likelihood has a long ridge along s and beta with s / beta nearly fixed)."""
        matrix = np.eye(len(self.names))
        for i, j in self.ratios:
            matrix[j] = 0.0
            matrix[j, i], matrix[j, j] = 1.0, -1.0
        return matrix


_MODELS = {
    "bgnbd": _Spec(("r", "alpha", "a", "b"), ["x", "t_x", "T"], _bgnbd_data, _bgnbd_value_grad, True),
    "pareto_nbd": _Spec(("r", "alpha", "s", "beta"), ["x", "t_x", "T"], _pareto_data, _pareto_value, False,
                        ratios=((0, 1), (2, 3))),
    "gamma_gamma": _Spec(("p", "q", "v"), ["repeat_days", "repeat_spend"], _gamma_gamma_data,
                         _gamma_gamma_value_grad, True),
}
#: Starting points (per parameter) tried by the fit; the best optimum is kept.
_STARTS = (1.0, 0.5, 2.0)
#: Above this many customers, the starting points are tried on a random sample of this many
#: (seeded); the best is refined on a sample ten times larger when there are more customers, then
#: on the whole data: the optimum is the whole data's, reached in fewer full-data iterations.
START_SAMPLE = 2_000
#: L-BFGS-B tolerances on the mean log-likelihood per customer, with an analytic gradient (True)
#: or a forward-difference one (False). The Pareto/NBD likelihood is flat along beta (its standard
#: error on the CDNOW sample is 6): looser tolerances stop 0.001 short of its optimum there (11.6685
#: against 11.6687, which Nelder-Mead from the optimum confirms).
_TOLERANCES = {True: {"ftol": 1e-12, "gtol": 1e-8}, False: {"ftol": 1e-12, "gtol": 1e-9}}
#: Log-parameter bounds of the optimisation (parameters from 6e-6 to 1.6e5).
_BOUND = 12.0


def _optimise(spec: _Spec, grouped: tuple[np.ndarray, np.ndarray], starts: list[np.ndarray], *, precise: bool = True):
    """The best L-BFGS-B optimum of the negative log-likelihood over log-parameters from ``starts``;
    ``precise=False`` (choosing a start on a sample) uses looser tolerances."""
    from scipy.optimize import minimize

    rows, weights = grouped
    data = spec.prepare(rows)
    # The mean per customer: the tolerances do not depend on n, and forward differences of a total
    # of a million terms would be noise (they stopped Pareto/NBD 40 log-likelihood units short).
    scale = 1.0 / weights.sum()
    to_search = spec.to_search()
    back = np.linalg.inv(to_search)

    def negative(searched: np.ndarray):
        log_theta = back @ searched
        theta = np.exp(log_theta)
        with np.errstate(all="ignore"):
            if spec.gradient:
                value, grad = spec.total(theta, data, weights)
                if not (np.isfinite(value) and np.isfinite(grad).all()):
                    return 1e300, np.zeros_like(log_theta)
                return -value * scale, back.T @ (-grad * theta * scale)
            value = spec.total(theta, data, weights)
        return -value * scale if np.isfinite(value) else 1e300

    best = None
    for start in starts:
        jac = True if spec.gradient else "2-point"
        options = _TOLERANCES[spec.gradient] if precise else {"ftol": 1e-10, "gtol": 1e-6}
        result = minimize(negative, to_search @ start, jac=jac, method="L-BFGS-B",
                          bounds=[(-_BOUND, _BOUND)] * len(start), options=options)
        if best is None or result.fun < best.fun:
            best = result
    best.fun = best.fun / scale
    best.x = back @ best.x
    return best


def _jacobian(g, theta: np.ndarray, step: float = 1e-5) -> np.ndarray:
    """Central-difference Jacobian of the gradient ``g`` at ``theta`` (relative steps), symmetrised."""
    n = len(theta)
    h = step * np.maximum(np.abs(theta), 1e-3)
    out = np.empty((n, n))
    for i in range(n):
        e = np.eye(n)[i] * h[i]
        out[:, i] = (g(theta + e) - g(theta - e)) / (2 * h[i])
    return (out + out.T) / 2


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
        From the inverse Hessian of the log-likelihood (a property, computed on first use).
    n : int
        Customers fitted.
    time_unit : str
    notes : list of str
        What the fit noticed (a parameter at the edge of its range; spend correlated with
        frequency).
    """

    model: str
    params: dict
    log_likelihood: float
    n: int
    time_unit: str = "week"
    notes: list = field(default_factory=list)
    _fitted: tuple | None = field(default=None, repr=False, compare=False)
    _errors: dict | None = field(default=None, repr=False, compare=False)

    @property
    def standard_errors(self) -> dict:
        """Standard errors of ``params`` from the inverse Hessian of the log-likelihood at the
        optimum (computed on first use: a fit for predictions does not pay for them)."""
        if self._errors is None:
            spec = _MODELS[self.model]
            theta = np.array(self._p())
            rows, weights = self._fitted
            data = spec.prepare(rows)
            if spec.gradient:
                hessian = _jacobian(lambda th: spec.total(th, data, weights)[1], theta)
            else:
                hessian = _hessian(lambda th: spec.total(th, data, weights), theta)
            try:
                errors = np.sqrt(np.clip(np.diag(np.linalg.inv(-hessian)), 0, None))
            except np.linalg.LinAlgError:
                errors = np.full(len(theta), np.nan)
            self._errors = dict(zip(spec.names, map(float, errors)))
        return self._errors

    def _p(self) -> tuple:
        return tuple(self.params[k] for k in _MODELS[self.model].names)

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
        """Expected purchases in the next ``horizon`` (time units) given x, t_x, T (FHL 2005, eq. 10;
        for Pareto/NBD, Schmittlein, Morrison & Colombo 1987)."""
        return pd.Series(self._expected(summary, [horizon])[:, 0], index=summary.index, name="expected_purchases")

    def _expected(self, summary: pd.DataFrame, horizons) -> np.ndarray:
        """Expected purchases for several horizons at once (one column each): what depends on the
        customer only (P(alive) of Pareto/NBD, with its hypergeometric terms) is computed once."""
        from scipy.special import hyp2f1

        x, t_x, T = (summary[c].to_numpy(dtype=float) for c in ("x", "t_x", "T"))
        out = np.empty((len(x), len(horizons)))
        if self.model == "pareto_nbd":
            r, alpha, s, beta = self._p()
            scale = (r + x) * (beta + T) / (alpha + T) * self.prob_alive(summary).to_numpy()
            for k, t in enumerate(horizons):
                shrink = np.log((beta + T) / (beta + T + float(t)))       # < 0
                # (1 - e^((s-1) L)) / (s - 1), which tends to -L as s -> 1
                part = -shrink if abs(s - 1) < 1e-9 else -np.expm1((s - 1) * shrink) / (s - 1)
                out[:, k] = scale * part
            return out
        r, alpha, a, b = self._bgnbd()
        first = (a + b + x - 1) / (a - 1)
        with np.errstate(divide="ignore", invalid="ignore"):
            third = 1 + np.where(x > 0, a / (b + x - 1) * ((alpha + T) / (alpha + t_x)) ** (r + x), 0.0)
        for k, t in enumerate(horizons):
            t = float(t)
            second = 1 - ((alpha + T) / (alpha + T + t)) ** (r + x) * hyp2f1(r + x, b + x, a + b + x - 1,
                                                                               t / (alpha + T + t))
            out[:, k] = first * second / third
        return out

    def prob_no_purchase(self, summary: pd.DataFrame, horizon: float) -> pd.Series:
        """P(no purchase in the next ``horizon`` time units | x, t_x, T): the churn risk.

        Dead at ``T``, or alive and no purchase in the horizon. For Pareto/NBD, a customer alive
        at ``T`` is a new Pareto/NBD customer with the posterior parameters (r + x, alpha + T,
        s, beta + T), and no purchase in ``horizon`` is that customer's likelihood of
        (x = 0, t_x = 0, T = horizon). For BG/NBD, death happens only at a purchase, so an
        alive customer makes none with the posterior Poisson-Gamma probability.
        """
        x, T = summary["x"].to_numpy(dtype=float), summary["T"].to_numpy(dtype=float)
        alive = self.prob_alive(summary).to_numpy()
        t = float(horizon)
        if self.model == "pareto_nbd":
            r, alpha, s, beta = self._p()
            zero = np.zeros_like(x)
            quiet = np.exp(_pareto_ll((r + x, alpha + T, s, beta + T), zero, zero, np.full_like(x, t)))
        else:
            r, alpha, a, b = self._bgnbd()
            quiet = ((alpha + T) / (alpha + T + t)) ** (r + x)
        return pd.Series(np.clip(1 - alive + alive * quiet, 0.0, 1.0), index=summary.index, name="prob_no_purchase")

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
    if model not in _MODELS:
        raise RfmError(f"model must be one of {', '.join(_MODELS)}, not {model!r}.")
    spec = _MODELS[model]
    names, columns = spec.names, spec.columns
    missing = [c for c in columns if c not in summary.columns]
    if missing:
        raise RfmError(f"fit_clv needs the columns {columns} of clv_summary(); missing {missing}.")
    used = summary
    notes: list[str] = []
    if model == "gamma_gamma":   # repeat customers with a net repeat spend <= 0 are left out (clv counts them)
        usable = (summary["repeat_days"] > 0) & (summary["repeat_spend"] > 0)
        used = summary.loc[usable]
        if len(used) > 2:
            corr = float(np.corrcoef(used["repeat_days"], used["repeat_spend"])[0, 1])
            if abs(corr) > 0.3:
                notes.append(f"Spend and frequency are correlated among repeat buyers ({corr:.2f}); Gamma-Gamma "
                             "assumes they are independent.")
    if len(used) < len(names) + 1:
        raise RfmError(f"The {model} model needs more than {len(names)} customers to fit; there are {len(used)}.")
    values = used[columns].to_numpy(dtype=np.float64)
    full = _grouped(values)
    starts = [np.full(len(names), np.log(start)) for start in _STARTS]
    order = np.random.default_rng(0).permutation(len(values)) if len(values) > START_SAMPLE else None
    for size in (START_SAMPLE, 10 * START_SAMPLE):   # each sample's optimum starts the next, larger one
        if size < len(values):
            starts = [_optimise(spec, _grouped(values[order[:size]]), starts, precise=False).x]
    best = _optimise(spec, full, starts)
    if not np.isfinite(best.fun) or best.fun >= 1e299:
        raise RfmError(f"The {model} model could not be fitted to these customers (no finite likelihood).")
    theta = np.exp(best.x)
    for name, log_value, value in zip(names, best.x, theta):
        if abs(log_value) >= _BOUND - 0.01:
            notes.append(f"The {model} fit put {name} at the edge of its range ({value:.3g}): the data do not pin "
                         "it down (for a or s near zero: customers hardly drop out in this period).")
    return ClvModel(model=model, params=dict(zip(names, map(float, theta))), log_likelihood=-float(best.fun),
                    n=int(len(used)), time_unit=summary.attrs.get("time_unit", "week"), notes=notes, _fitted=full)


#: Days in a month for horizons and discounting (365.25 / 12).
MONTH_DAYS = 365.25 / 12
CLV_COLUMNS = ["expected_purchases", "expected_spend", "clv", "spend_from_population"]


def _purchase_model(model: ClvModel, what: str) -> ClvModel:
    if not isinstance(model, ClvModel) or model.model not in ("bgnbd", "pareto_nbd"):
        raise RfmError(f"{what} needs a fitted bgnbd or pareto_nbd model (fit_clv(summary, model=...)).")
    return model


def population_spend(spend: ClvModel) -> float:
    """The population mean spend per purchase of a Gamma-Gamma model, p v / (q - 1)."""
    if not isinstance(spend, ClvModel) or spend.model != "gamma_gamma":
        raise RfmError("The spend model must be a fitted gamma_gamma model (fit_clv(summary, model='gamma_gamma')).")
    p, q, v = spend._p()
    if not q > 1:
        raise RfmError(f"The spend model has q = {q:.3g} <= 1, so its mean spend is infinite: the repeat spends are "
                       "too spread to value; check for very large orders or totals rows.")
    return p * v / (q - 1)


def clv(summary: pd.DataFrame, purchases: ClvModel, spend: ClvModel, *, horizon_days: float = 365,
        annual_discount: float = 0.1, margin: float = 1.0) -> pd.DataFrame:
    """Customer lifetime value over a horizon: expected purchases per month x expected spend x margin, discounted.

    Parameters
    ----------
    summary : DataFrame
        :func:`rfm_addin.clv_summary` (its time unit is the models').
    purchases : ClvModel
        A fitted "bgnbd" or "pareto_nbd" model.
    spend : ClvModel
        A fitted "gamma_gamma" model.
    horizon_days : float
        The future period valued, in days (365 = a year).
    annual_discount : float
        Yearly discount rate; each month's value is discounted to today at the end of the
        month, ``(1 + annual_discount) ** -(days / 365.25)``.
    margin : float
        Share of spend that is profit (1.0 values revenue).

    Returns
    -------
    DataFrame
        Indexed like ``summary``: ``expected_purchases`` (in the horizon), ``expected_spend``
        (per purchase), ``clv`` and ``spend_from_population`` (True where the customer's
        spend is the population mean: no repeat purchase, or a net repeat spend at or below
        zero). Never negative, never NaN.

    Notes
    -----
    The months are 365.25 / 12 days; the last one is cut at the horizon. The value of month
    ``i`` is ``(E[purchases by its end] - E[purchases by its start]) x spend x margin``.
    """
    _purchase_model(purchases, "clv")
    population = population_spend(spend)
    if not (np.isfinite(horizon_days) and horizon_days > 0):
        raise RfmError(f"horizon_days must be a positive number of days, not {horizon_days!r}.")
    if not (np.isfinite(annual_discount) and annual_discount > -1):
        raise RfmError(f"annual_discount must be a rate above -1 (0.1 = 10% a year), not {annual_discount!r}.")
    if not (np.isfinite(margin) and margin >= 0):
        raise RfmError(f"margin must be a share of spend at or above zero (1.0 = revenue), not {margin!r}.")
    unit = TIME_UNITS[purchases.time_unit]
    ends = np.append(np.arange(MONTH_DAYS, horizon_days, MONTH_DAYS), float(horizon_days))
    ends = ends[ends > 0]
    previous = np.zeros(len(summary))
    value = np.zeros(len(summary))
    curve = purchases._expected(summary, ends / unit)
    for k, end in enumerate(ends):
        cumulative = np.maximum(curve[:, k], 0.0)
        value += np.maximum(cumulative - previous, 0.0) * (1.0 + annual_discount) ** -(end / 365.25)
        previous = np.maximum(previous, cumulative)
    own = spend.expected_spend(summary).to_numpy()
    m = summary["repeat_spend"].to_numpy(dtype=float)
    from_population = ~((summary["repeat_days"].to_numpy() > 0) & np.isfinite(m) & (m > 0))
    each = np.where(from_population | ~np.isfinite(own), population, own)
    out = pd.DataFrame({"expected_purchases": previous, "expected_spend": each,
                        "clv": np.nan_to_num(value * each * margin, nan=0.0, posinf=0.0).clip(min=0.0),
                        "spend_from_population": from_population}, index=summary.index)
    if not np.isfinite(out[["expected_purchases", "expected_spend"]].to_numpy()).all():
        raise RfmError("The CLV models gave a value that is not a number for some customers; check the fit.")
    out.attrs.update(horizon_days=float(horizon_days), annual_discount=float(annual_discount), margin=float(margin))
    return out


#: The columns :func:`customer_values` adds to a customer table, in order.
VALUE_COLUMNS = ["expected_purchases", "churn_risk", "expected_spend", "clv", "spend_from_population"]
#: The per-group CLV columns appended to the segment summary and the cluster profile.
GROUP_VALUE_COLUMNS = ["clv_total", "clv_mean", "clv_share", "churn_risk_mean"]


@dataclass
class CustomerValues:
    """CLV and churn risk per customer, with the models and settings behind them (:func:`customer_values`)."""

    table: pd.DataFrame
    purchases: ClvModel
    spend: ClvModel
    horizon_days: float
    churn_days: float
    annual_discount: float
    margin: float
    notes: list = field(default_factory=list)
    left_out: int = 0


def customer_values(summary: pd.DataFrame, *, horizon_days: float = 365, annual_discount: float = 0.1,
                    margin: float = 1.0, churn_days: float) -> CustomerValues:
    """Fit Pareto/NBD and Gamma-Gamma to ``summary`` and value each customer.

    Expected purchases and churn risk (the probability of no purchase in the next
    ``churn_days``) come from one Pareto/NBD fit, so a customer likely to churn is never also
    expected to buy often; spend from Gamma-Gamma; CLV from :func:`clv`.
    """
    if not (np.isfinite(churn_days) and churn_days > 0):
        raise RfmError(f"churn_days must be a positive number of days, not {churn_days!r}.")
    purchases = fit_clv(summary, model="pareto_nbd")
    try:
        spend = fit_clv(summary, model="gamma_gamma")
    except RfmError as exc:
        raise RfmError(f"CLV needs repeat buyers to learn spend from: {exc}") from exc
    values = clv(summary, purchases, spend, horizon_days=horizon_days, annual_discount=annual_discount, margin=margin)
    risk = purchases.prob_no_purchase(summary, churn_days / TIME_UNITS[purchases.time_unit])
    values.insert(1, "churn_risk", risk.to_numpy())
    return CustomerValues(table=values[VALUE_COLUMNS], purchases=purchases, spend=spend,
                          horizon_days=float(horizon_days), churn_days=float(churn_days),
                          annual_discount=float(annual_discount), margin=float(margin),
                          notes=[*purchases.notes, *spend.notes],
                          left_out=int(((summary["repeat_days"] > 0) & ~(summary["repeat_spend"] > 0)).sum()))


def value_by(customers: pd.DataFrame, groups: pd.Series) -> pd.DataFrame:
    """Per group: total and mean CLV, the group's share of all future value, mean churn risk."""
    grouped = customers[["clv", "churn_risk"]].groupby(groups.to_numpy(), sort=True)
    total = float(customers["clv"].sum())
    sums = grouped["clv"].sum()
    return pd.DataFrame({"clv_total": sums, "clv_mean": grouped["clv"].mean(),
                         "clv_share": sums / total if total > 0 else np.nan,
                         "churn_risk_mean": grouped["churn_risk"].mean()})


def parse_horizon(text: object) -> float:
    """A horizon in days from ``12m`` (months of 365.25 / 12 days), ``52w``, ``365d`` or a number of days."""
    import re

    if isinstance(text, (int, float, np.integer, np.floating)) and not isinstance(text, bool):
        days = float(text)
    else:
        match = re.fullmatch(r"\s*(\d+(?:\.\d+)?)\s*([mwd]?)\s*", str(text).lower())
        if not match:
            raise RfmError(f"A horizon is a number of days or a count with m, w or d (12m, 52w, 365d), not {text!r}.")
        number, unit = float(match.group(1)), match.group(2) or "d"
        days = number * {"m": MONTH_DAYS, "w": 7.0, "d": 1.0}[unit]
    if not (np.isfinite(days) and days > 0):
        raise RfmError(f"A horizon must be more than zero days, not {text!r}.")
    return days
