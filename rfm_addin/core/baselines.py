"""Historical baselines of a campaign test: how often each segment's customers came back on their own.

For as-of dates at the end of each of the last ``months`` months whose longest window is fully
observed (the latest is the last month end at least ``max(windows)`` days before the last
purchase), the customers as of that date are scored and segmented with that date's own cut
points; then, per segment, the share who made a purchase within each window after the date
(30, 60 and 90 days by default) and the mean net spend, in the longest window, of those who
came back within it. Rates are averaged over the dates weighting by customers: the pooled
share over all (customer, date) pairs.
"""
from __future__ import annotations

import numpy as np
import pandas as pd

from .errors import RfmError
from .rfm import Prepared, rfm_from_prepared
from .scoring import score
from .segments import segment

WINDOWS = (30, 60, 90)


def baseline_dates(last_purchase: pd.Timestamp, *, months: int = 12, longest: int = 90) -> list[pd.Timestamp]:
    """The as-of dates: month ends, the latest at least ``longest`` days before ``last_purchase``."""
    latest = (last_purchase - pd.Timedelta(days=longest)).normalize()
    end = latest if latest.is_month_end else (latest - pd.offsets.MonthEnd(1))
    return [end - pd.offsets.MonthEnd(i) for i in range(months - 1, -1, -1)]


def segment_baselines(p: Prepared, *, windows=WINDOWS, months: int = 12, bins: int = 5, method: str = "balanced",
                      rules: pd.DataFrame | None = None) -> pd.DataFrame:
    """Per segment: ``customers`` (customer-dates counted), ``dates``, ``rate_<w>d`` for each
    window and ``spend_returners`` (mean net spend in the longest window of those who came back).

    Parameters
    ----------
    p : Prepared
        The transactions read once (:func:`rfm_addin.core.rfm.prepare_lines`).
    windows : tuple of int
        Days after each as-of date.
    months : int
        How many monthly as-of dates.
    bins, method, rules
        As for :func:`rfm_addin.analyze`.
    """
    windows = tuple(sorted(int(w) for w in windows))
    if not windows or windows[0] < 1:
        raise RfmError("windows must be positive numbers of days.")
    longest = windows[-1]
    purchase = p.rows & ~p.cancel
    if not purchase.any():
        raise RfmError("No purchases were found, so there is no history to learn a baseline from.")
    last = pd.Timestamp(np.datetime64(int(p.days[purchase].max()), "D"))
    first = pd.Timestamp(np.datetime64(int(p.days[purchase].min()), "D"))
    dates = [d for d in baseline_dates(last, months=months, longest=longest) if d >= first]
    if not dates:
        raise RfmError(f"The data span {first:%Y-%m-%d} to {last:%Y-%m-%d}: there is no month end with {longest} days "
                       "of purchases after it to learn a baseline from.")
    codes, days, amounts = p.lines.cust_codes, p.days, p.amounts
    ids = pd.Index(p.lines.cust_ids.to_numpy(dtype=object))
    pieces = []
    for as_of in dates:
        table = rfm_from_prepared(p, as_of).table
        segments = segment(score(table, bins=bins, method=method), rules=rules, bins=bins)["segment"]
        day = int(np.datetime64(as_of.date(), "D").astype(np.int64))
        after = p.rows & (days > day) & (days <= day + longest)
        bought = after & ~p.cancel
        first_after = pd.Series(days[bought] - day).groupby(codes[bought]).min()
        spend = pd.Series(amounts[after]).groupby(codes[after]).sum()
        position = ids.get_indexer(table.index)
        frame = pd.DataFrame({"segment": segments.to_numpy(), "gap": first_after.reindex(position).to_numpy(),
                              "spend": spend.reindex(position).to_numpy()})
        pieces.append(frame)
    every = pd.concat(pieces, ignore_index=True)
    grouped = every.groupby("segment", sort=False)
    out = pd.DataFrame({"customers": grouped.size()})
    for w in windows:
        out[f"rate_{w}d"] = grouped["gap"].agg(lambda g, w=w: float((g <= w).mean()))
    came_back = every.loc[every["gap"] <= longest]
    out["spend_returners"] = came_back.groupby("segment")["spend"].mean().reindex(out.index)
    out.insert(1, "dates", len(dates))
    out.index.name = "segment"
    out.attrs.update(dates=dates, windows=windows)
    return out
