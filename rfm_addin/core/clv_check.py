"""Checking the CLV models on a holdout period: fit on the calibration period, compare with what happened.

The transactions are read once (:func:`rfm_addin.core.rfm.prepare_lines`); the customers are
those who bought on or before ``calibration_end``; the holdout is the days after it, up to
``holdout_end`` inclusive. What happened in the holdout, per customer:

- *purchases*: repeat purchase days (purchases on the same day merged, as in the summary);
- *revenue*: the net amount (returns subtracted);
- *churned*: no purchase in the holdout.

The predictions are those of the calibration fit for a horizon the length of the holdout:
expected purchases (BG/NBD and Pareto/NBD), the churn risk (Pareto/NBD's probability of no
purchase, the one :func:`rfm_addin.analyze` uses), and the predicted value (Pareto/NBD expected
purchases x Gamma-Gamma expected spend, undiscounted). Baselines: recency alone for churn,
the RFM score (:func:`rfm_addin.score`) for value; BG/NBD's 1 - P(alive) is shown for
reference only (it scores every one-time buyer as certainly alive).
"""
from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from .clv import TIME_UNITS, ClvModel, clv_summary_from_prepared, fit_clv, purchase_days
from .errors import RfmError
from .rfm import Prepared, rfm_from_prepared
from .scoring import score

#: The purchase models compared on the holdout, in the order shown.
PURCHASE_MODELS = {"bgnbd": "BG/NBD", "pareto_nbd": "Pareto/NBD"}
#: The model whose predictions the calibration, churn and capture tables use.
MAIN_MODEL = "pareto_nbd"


@dataclass
class ClvCheck:
    """The holdout check of the CLV models (:func:`rfm_addin.clv_check`).

    Attributes
    ----------
    aggregate : DataFrame
        One row per purchase model: ``model``, ``predicted`` (total expected repeat purchases
        in the holdout), ``actual``, ``error_pct`` ((predicted - actual) / actual x 100).
    per_customer_mae : dict of float
        Per model, the mean absolute error of the expected purchases per customer.
    calibration : DataFrame
        Customers in ten equal groups by Pareto/NBD expected purchases (``decile`` 1 = the
        highest), with ``customers`` and the mean ``predicted`` and ``actual`` purchases per
        customer.
    churn : DataFrame
        One row per churn score: ``score``, ``roc_auc``, ``pr_auc`` (average precision) for
        "no purchase in the holdout", and ``used`` (whether analyze uses it).
    capture_top10 : DataFrame
        ``ranking`` ("Predicted value", "RFM score") and ``share``: the share of holdout revenue
        bought by the top 10% of customers by that ranking.
    calibration_end, holdout_end : Timestamp
    horizon : float
        The holdout length in the time unit.
    time_unit : str
    customers : int
    models : dict of ClvModel
        The calibration fits (bgnbd, pareto_nbd, gamma_gamma).
    per_customer : DataFrame
        Per customer: predicted and actual purchases, churn risk, churned, predicted value,
        revenue.
    """

    aggregate: pd.DataFrame
    per_customer_mae: dict
    calibration: pd.DataFrame
    churn: pd.DataFrame
    capture_top10: pd.DataFrame
    calibration_end: pd.Timestamp
    holdout_end: pd.Timestamp
    horizon: float
    time_unit: str
    customers: int
    models: dict = field(default_factory=dict)
    per_customer: pd.DataFrame = field(default_factory=pd.DataFrame)


def _top_share(order: np.ndarray, revenue: np.ndarray) -> float:
    """Share of the total revenue bought by the first 10% of customers in ``order``."""
    total = revenue.sum()
    top = order[: max(1, int(np.ceil(0.1 * len(order))))]
    return float(revenue[top].sum() / total) if total > 0 else float("nan")


def _deciles(predicted: pd.Series, actual: pd.Series) -> pd.DataFrame:
    ranked = np.argsort(-predicted.to_numpy(), kind="stable")
    decile = np.empty(len(ranked), dtype=np.int64)
    decile[ranked] = np.arange(len(ranked)) * 10 // len(ranked) + 1
    frame = pd.DataFrame({"decile": decile, "predicted": predicted.to_numpy(), "actual": actual.to_numpy()})
    out = frame.groupby("decile").agg(customers=("predicted", "size"), predicted=("predicted", "mean"),
                                      actual=("actual", "mean")).reset_index()
    return out


def clv_check_from_prepared(p: Prepared, *, calibration_end: pd.Timestamp, holdout_end: pd.Timestamp | None = None,
                            time_unit: str = "week") -> ClvCheck:
    """The holdout check from lines already prepared; see :func:`rfm_addin.clv_check`."""
    from sklearn.metrics import average_precision_score, roc_auc_score

    if calibration_end is None:
        raise RfmError("clv_check needs calibration_end: the last day of the period the models learn from.")
    purchases_all = p.rows & ~p.cancel
    if not purchases_all.any():
        raise RfmError("No purchases were found, so there is nothing to check.")
    last_day = int(p.days[purchases_all].max())
    end_day = last_day if holdout_end is None else int(np.datetime64(holdout_end.date(), "D").astype(np.int64))
    cal_day = int(np.datetime64(calibration_end.date(), "D").astype(np.int64))
    if end_day <= cal_day:
        raise RfmError(f"The holdout must end after the calibration end {calibration_end:%Y-%m-%d}; it ends "
                       f"{pd.Timestamp(np.datetime64(end_day, 'D')):%Y-%m-%d}.")
    summary = clv_summary_from_prepared(p, calibration_end, time_unit=time_unit)
    horizon = (end_day - cal_day) / TIME_UNITS[time_unit]
    holdout_rows = p.rows & (p.days > cal_day) & (p.days <= end_day)
    after = purchase_days(p, holdout_rows)
    ids = p.lines.cust_ids
    codes = pd.Index(ids.to_numpy(dtype=object)).get_indexer(summary.index)
    count = np.bincount(after["c"], minlength=len(ids))[codes].astype(float)
    kept = np.flatnonzero(holdout_rows)
    revenue = np.bincount(p.lines.cust_codes[kept], weights=p.amounts[kept], minlength=len(ids))[codes]
    models: dict[str, ClvModel] = {name: fit_clv(summary, model=name) for name in (*PURCHASE_MODELS, "gamma_gamma")}
    expected = {name: models[name].expected_purchases(summary, horizon) for name in PURCHASE_MODELS}
    actual = pd.Series(count, index=summary.index)
    aggregate = pd.DataFrame([{"model": PURCHASE_MODELS[name], "predicted": float(expected[name].sum()),
                               "actual": float(count.sum()),
                               "error_pct": float((expected[name].sum() - count.sum()) / count.sum() * 100)
                               if count.sum() else float("nan")} for name in PURCHASE_MODELS])
    mae = {PURCHASE_MODELS[name]: float(np.mean(np.abs(expected[name].to_numpy() - count))) for name in PURCHASE_MODELS}
    main = models[MAIN_MODEL]
    risk = main.prob_no_purchase(summary, horizon)
    churned = count == 0
    cal = rfm_from_prepared(p, calibration_end).table.reindex(summary.index)
    scores = {"Pareto/NBD churn risk": (risk.to_numpy(), True),
              "Recency alone (days since the last purchase)": (cal["recency"].to_numpy(dtype=float), False),
              "BG/NBD 1 - P(alive) (not used)": (1 - models["bgnbd"].prob_alive(summary).to_numpy(), False)}
    if churned.all() or not churned.any():
        raise RfmError("Every customer bought in the holdout, or none did, so churn cannot be checked; choose "
                       "another calibration end.")
    churn = pd.DataFrame([{"score": name, "roc_auc": float(roc_auc_score(churned, values)),
                           "pr_auc": float(average_precision_score(churned, values)), "used": used}
                          for name, (values, used) in scores.items()])
    value = expected[MAIN_MODEL].to_numpy() * models["gamma_gamma"].expected_spend(summary).to_numpy()
    scored = score(cal)
    by_rfm = np.lexsort((-cal["monetary"].to_numpy(dtype=float), -scored["rfm_score"].to_numpy(dtype=float)))
    capture = pd.DataFrame({"ranking": ["Predicted value (Pareto/NBD x Gamma-Gamma)", "RFM score"],
                            "share": [_top_share(np.argsort(-value, kind="stable"), revenue),
                                      _top_share(by_rfm, revenue)]})
    per_customer = pd.DataFrame({"predicted": expected[MAIN_MODEL].to_numpy(), "actual": count,
                                 "churn_risk": risk.to_numpy(), "churned": churned, "predicted_value": value,
                                 "revenue": revenue}, index=summary.index)
    return ClvCheck(aggregate=aggregate, per_customer_mae=mae, calibration=_deciles(expected[MAIN_MODEL], actual),
                    churn=churn, capture_top10=capture, calibration_end=summary.attrs["as_of"],
                    holdout_end=pd.Timestamp(np.datetime64(end_day, "D")), horizon=float(horizon),
                    time_unit=time_unit, customers=int(len(summary)), models=models, per_customer=per_customer)
