"""A campaign test plan per segment: the customers there are, their own baseline, the customers a
test needs for the lift hoped for, the lift the customers there are can detect, and a verdict.

Everything comes from :mod:`rfm_addin.core.experiments` (sizing) and
:mod:`rfm_addin.core.baselines` (the segment's historical rate of a purchase within the
window), so the plan says before a campaign when a segment is too small for its lift.
"""
from __future__ import annotations

import math
from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from .errors import RfmError
from .experiments import Assignment, assign, detectable_lift, sample_sizes
from .insights import percent

#: More waves than this is not advice: the lift is then out of the segment's reach.
MAX_WAVES = 4
PLAN_COLUMNS = ["customers", "baseline", "lift", "needed_treatment", "needed_holdout", "needed_total",
                "treated", "held_out", "detectable_lift", "detectable_lift_even", "enough", "waves", "verdict"]


@dataclass
class CampaignPlan:
    """A test plan (:func:`rfm_addin.plan_campaign`).

    Attributes
    ----------
    table : DataFrame
        Per segment planned: :data:`PLAN_COLUMNS` (lifts and baselines are proportions).
    assignment : Assignment
        The arms of the planned segments' customers (stratified by segment).
    customers : DataFrame
        The planned customers with their segment, R, F, M and ``arm``.
    baselines : DataFrame
        Every segment's historical rates (:func:`rfm_addin.core.baselines.segment_baselines`).
    settings : dict
        lift, relative, holdout, window, alpha, power, method, random_state.
    """

    table: pd.DataFrame
    assignment: Assignment
    customers: pd.DataFrame
    baselines: pd.DataFrame
    settings: dict = field(default_factory=dict)

    @property
    def findings(self) -> list[str]:
        return list(self.table["verdict"])


def _points(lift: float) -> str:
    return f"{lift * 100:.1f} points"


def _nearest(segment: str, baselines: pd.Series) -> str | None:
    others = baselines.drop(index=segment, errors="ignore").dropna()
    return None if others.empty or segment not in baselines.index else str((others - baselines[segment]).abs().idxmin())


def plan_rows(customers: pd.DataFrame, baselines: pd.DataFrame, segments: list[str], *, lift: float,
              relative: bool = False, holdout: float = 0.1, window: int = 30, alpha: float = 0.05,
              power: float = 0.8, method: str = "arcsine") -> pd.DataFrame:
    """The plan table (see :class:`CampaignPlan`) for ``segments`` of segmented ``customers``."""
    column = f"rate_{int(window)}d"
    if column not in baselines.columns:
        raise RfmError(f"There is no baseline for a {window}-day window; the windows are "
                       f"{', '.join(c[5:-1] for c in baselines.columns if c.startswith('rate_'))} days.")
    rates = baselines[column]
    ratio = holdout / (1 - holdout)
    rows = []
    for name in segments:
        n = int((customers["segment"] == name).sum())
        base = float(rates.get(name, np.nan))
        if not 0 < base < 1:
            known = "is not known" if np.isnan(base) else f"was {percent(base)}"
            rows.append({"segment": name, "customers": n, "baseline": base, "enough": False,
                         "verdict": f"{name} has {n:,} customers, but their historical rate of a purchase within "
                                    f"{window} days {known}: there is no baseline to test against; choose a longer "
                                    "window or another segment."})
            continue
        absolute = base * lift if relative else lift
        needed = sample_sizes(base, lift, alpha=alpha, power=power, ratio=ratio, relative=relative, method=method)
        n_hold = int(math.floor(holdout * n + 0.5))
        n_treat = n - n_hold
        reachable = n_treat >= 1 and n_hold >= 1
        detect = detectable_lift(base, n_treat, n_holdout=n_hold, alpha=alpha, power=power,
                                 method=method) if reachable else float("nan")
        half = n // 2
        even = detectable_lift(base, n - half, n_holdout=half, alpha=alpha, power=power,
                               method=method) if half >= 1 else float("nan")
        enough = n_treat >= needed["treatment"] and n_hold >= needed["holdout"]
        waves = 1 if enough else (int(math.ceil(needed["total"] / n)) if n else None)
        hoped = f"{percent(lift)} relative ({_points(absolute)})" if relative else _points(absolute)
        if enough:
            verdict = (f"{name} has {n:,} customers, enough: {hoped} over its {percent(base)} {window}-day baseline needs "
                       f"{needed['treatment']:,} treated and {needed['holdout']:,} held out ({percent(holdout)}).")
        else:
            detect_text = "no lift is detectable" if np.isnan(detect) else \
                f"the smallest detectable lift from its {percent(base)} baseline is {_points(detect)}"
            even_text = "" if np.isnan(even) else f"; split evenly it is {_points(even)}"
            neighbour = _nearest(name, rates)
            if waves and waves <= MAX_WAVES:
                advice = (f"combine it with {neighbour} or " if neighbour else "") + f"run the test in {waves} waves"
            else:
                advice = (f"the lift hoped for is out of its reach: plan for {_points(detect)} or more, or test a group "
                          f"of {needed['total']:,} customers" if not np.isnan(detect) else
                          f"test a group of {needed['total']:,} customers")
            verdict = (f"{name} has {n:,} customers: with a {percent(holdout)} holdout {detect_text} (you hoped for "
                       f"{hoped}, which needs {needed['total']:,}){even_text}; {advice}.")
        rows.append({"segment": name, "customers": n, "baseline": base, "lift": absolute,
                     "needed_treatment": needed["treatment"], "needed_holdout": needed["holdout"],
                     "needed_total": needed["total"], "treated": n_treat, "held_out": n_hold,
                     "detectable_lift": detect, "detectable_lift_even": even, "enough": enough, "waves": waves,
                     "verdict": verdict})
    return pd.DataFrame(rows, columns=["segment", *PLAN_COLUMNS]).set_index("segment")


def campaign_plan(customers: pd.DataFrame, baselines: pd.DataFrame, *, segments=None, lift: float = 0.02,
                  relative: bool = False, holdout: float = 0.1, window: int = 30, arms=("treatment",),
                  random_state: int = 0, alpha: float = 0.05, power: float = 0.8,
                  method: str = "arcsine") -> CampaignPlan:
    """The plan and the assignment for ``segments`` (default: every segment with customers)."""
    present = list(dict.fromkeys(customers["segment"].dropna().astype(str)))
    chosen = present if segments is None else ([segments] if isinstance(segments, str) else list(segments))
    unknown = [s for s in chosen if s not in present]
    if unknown:
        raise RfmError(f"No customer is in {', '.join(repr(s) for s in unknown)}; the segments are "
                       f"{', '.join(present)}.")
    table = plan_rows(customers, baselines, chosen, lift=lift, relative=relative, holdout=holdout, window=window,
                      alpha=alpha, power=power, method=method)
    planned = customers.loc[customers["segment"].isin(chosen)]
    assignment = assign(planned, holdout=holdout, arms=arms, random_state=random_state, strata="segment")
    keep = [c for c in ("segment", "recency", "frequency", "monetary") if c in planned.columns]
    listed = planned[keep].assign(arm=assignment.arm)
    return CampaignPlan(table=table, assignment=assignment, customers=listed, baselines=baselines,
                        settings={"lift": lift, "relative": relative, "holdout": holdout, "window": window,
                                  "alpha": alpha, "power": power, "method": method, "random_state": random_state})


def group_plan(table: pd.DataFrame, by: str, group, baseline: float, *, lift: float = 0.05, relative: bool = False,
               holdout: float = 0.1, window: int = 30, random_state: int = 0, alpha: float = 0.05,
               power: float = 0.8, method: str = "arcsine") -> CampaignPlan:
    """A test plan for one group of a comparison (:func:`rfm_addin.compare_groups`): its users, a
    baseline (e.g. :func:`rfm_addin.core.usage.retention_baseline`), the sizes and the arms."""
    name = f"Cluster {group}" if str(by).casefold() == "cluster" else str(group)
    members = table.loc[table[by].astype(str) == str(group)] if (table[by] == group).sum() == 0 else \
        table.loc[table[by] == group]
    if members.empty:
        raise RfmError(f"No customer has {by} = {group!r}.")
    customers = members.assign(segment=name)
    history = pd.DataFrame({f"rate_{int(window)}d": [baseline], "customers": [len(members)]},
                           index=pd.Index([name], name="segment"))
    return campaign_plan(customers, history, segments=[name], lift=lift, relative=relative, holdout=holdout,
                         window=window, random_state=random_state, alpha=alpha, power=power, method=method)


def retention_test_plan(table: pd.DataFrame, comparison, events: pd.DataFrame, *, lift: float = 0.05,
                        relative: bool = False, holdout: float = 0.1, window: int = 30, random_state: int = 0,
                        user: str | None = None, timestamp: str | None = None) -> CampaignPlan:
    """From a comparison to a test: the retention test plan of the weaker of the two compared groups.

    Parameters
    ----------
    table : DataFrame
        The customer-level table compared (a usage table, a clustered sheet read back): users in
        its index, or in its first column when the index is a plain row number.
    comparison : GroupComparison
        :func:`rfm_addin.compare_groups` of ``table``; its ``by``, ``a`` and ``b`` pick the groups.
    events : DataFrame
        The event log, for the group's historical ``window``-day retention
        (:func:`rfm_addin.core.usage.retention_baseline`).

    Returns
    -------
    CampaignPlan
        For the group with fewer weekly sessions (the first group when the table has none).
    """
    from .compare import _group
    from .usage import retention_baseline

    by = next(c for c in table.columns if str(c).casefold() == str(comparison.by).casefold())
    sessions = next((c for c in table.columns if str(c) in ("Weekly sessions", "frequency")), None)
    in_a, in_b = _group(table, by, comparison.a), _group(table, by, comparison.b)
    weaker_is_a = sessions is None or (pd.to_numeric(table.loc[in_a, sessions]).mean()
                                       <= pd.to_numeric(table.loc[in_b, sessions]).mean())
    members, group = (in_a, comparison.a) if weaker_is_a else (in_b, comparison.b)
    keyed = table if not isinstance(table.index, pd.RangeIndex) else table.set_index(table.columns[0])
    ids = keyed.index[members.to_numpy()].astype(str).str.lstrip("'")   # a sheet's '00123 is the id 00123
    baseline = retention_baseline(events, ids, window=window, user=user, timestamp=timestamp)
    chosen = keyed.loc[members.to_numpy()].assign(**{str(by): str(group)})
    return group_plan(chosen, str(by), str(group), baseline, lift=lift, relative=relative, holdout=holdout,
                      window=window, random_state=random_state)
