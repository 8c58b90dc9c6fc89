"""Who moved between segments from one as-of date to a later one, and what the movement is worth.

Definitions (docs/definitions.md, *Migration*):

- A **snapshot** is the cumulative customer table to its as-of date, inclusive (as
  ``rfm_table(as_of=...)`` computes it). With ``window`` (days), a snapshot keeps only the
  customers with a purchase in its last ``window`` days (recency below ``window``), so a
  customer can be **gone**; a customer in the later snapshot only is **new**.
- ``mode="relative"`` scores each snapshot on its own cut points (each is a ranking of its
  day); ``mode="absolute"`` applies the earlier snapshot's cut points to the later one, so a
  decaying base shows as decay. CDNOW, 1997-10-01 to 1998-01-01: 25.8% of customers change
  segment relatively, 62.6% absolutely.
- **Revenue at stake**: a customer's net spend in the period of the same length as
  ``after - before`` that ends at ``before``; **revenue after**: net spend in (``before``,
  ``after``]. Both are differences of cumulative monetary values.
- **Better and worse** follow the order of the rule table (its first segment is the best):
  ``up`` is a move to an earlier segment, ``down`` to a later one; ``revenue_lost`` is the
  revenue at stake of the customers who moved down or are gone.
- **PSI** (population stability index) of R, F and M over the earlier snapshot's score bands in
  both modes, and of the segment shares: sum of (a - e) ln(a / e) over the bands, where e is
  the earlier share and a the later; a band's share of 0 counts as :data:`PSI_FLOOR`. Bands:
  below 0.1 "no change", 0.1 to 0.25 "moderate", above 0.25 "major".
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from .errors import RfmError
from .rfm import RfmResult
from .scoring import fit_binning
from .segments import rules_used, segment_of
from .validation import check_bins, check_method

MODES = ("relative", "absolute")
#: The share an empty band counts as in the PSI (so ln(a / e) stays finite).
PSI_FLOOR = 1e-4
#: PSI bands: below 0.1 no change, 0.1 to 0.25 moderate, above 0.25 major.
PSI_BANDS = ((0.1, "no change"), (0.25, "moderate"), (np.inf, "major"))
STATUSES = ("stay", "up", "down", "new", "gone")
_METRICS = (("recency", "r_score", "R", False), ("frequency", "f_score", "F", True),
            ("monetary", "m_score", "M", True))


@dataclass
class Migration:
    """The outcome of :func:`rfm_addin.migration`.

    Attributes
    ----------
    matrix : DataFrame of int
        Customers by segment before (rows: every segment of the rule table in its order, then
        "new") and after (columns: every segment, then "gone"); empty rows and columns kept.
    revenue : DataFrame of float
        The same shape: those customers' revenue at stake (net spend in the period before).
    revenue_after : DataFrame of float
        The same shape: their net spend in (before, after].
    revenue_lost : float
        Revenue at stake of the customers who moved to a worse segment or are gone.
    changed_share : float
        Share of the customers in both snapshots whose segment differs.
    psi : DataFrame
        Indexed recency, frequency, monetary, segment: ``psi`` and ``band``.
    threshold_changes : DataFrame
        Per metric and score: the boundary before and after, and a sentence.
    customers : DataFrame
        One row per customer of either snapshot: segment and R, F, M scores before and after,
        ``revenue_before``, ``revenue_after``, ``status``.
    before, after : Timestamp
        The two as-of dates.
    mode : str
        "relative" or "absolute".
    window : int or None
        Days of activity a snapshot requires, or None (everyone who ever bought).
    clusters : ClusterMatch or None
        With ``clusters=True``: the later date's clusters matched to the earlier date's.
    """

    matrix: pd.DataFrame
    revenue: pd.DataFrame
    revenue_after: pd.DataFrame
    revenue_lost: float
    changed_share: float
    psi: pd.DataFrame
    threshold_changes: pd.DataFrame
    customers: pd.DataFrame
    before: pd.Timestamp
    after: pd.Timestamp
    mode: str
    window: int | None
    clusters: "ClusterMatch | None" = None

    @property
    def shares(self) -> pd.DataFrame:
        """The matrix as shares of each earlier segment (rows sum to 1; an empty row stays 0)."""
        totals = self.matrix.sum(axis=1)
        return self.matrix.div(totals.where(totals > 0), axis=0).fillna(0.0)


def check_dates(before: pd.Timestamp | None, after: pd.Timestamp | None) -> None:
    """``before`` and ``after`` are both given and ``after`` is later."""
    if before is None or after is None:
        raise RfmError("A migration needs two as-of dates: before and after (YYYY-MM-DD).")
    if after <= before:
        raise RfmError(f"after ({after:%Y-%m-%d}) must be later than before ({before:%Y-%m-%d}).")


def _check_window(window) -> int | None:
    if window is None:
        return None
    if isinstance(window, bool) or not isinstance(window, (int, np.integer)) or window < 1:
        raise RfmError(f"window must be a whole number of days of at least 1 (or None), not {window!r}.")
    return int(window)


def _active(result: RfmResult | None, window: int | None, when: pd.Timestamp) -> pd.DataFrame:
    """The snapshot's customers (only those active in the window)."""
    if result is None:
        raise RfmError(f"There are no purchases on or before {when:%Y-%m-%d}: choose a later date.")
    table = result.table
    if window is not None:
        table = table.loc[table["recency"].to_numpy() < window]
    if len(table) < 2:
        raise RfmError(f"The snapshot at {when:%Y-%m-%d} has {len(table)} customer"
                       f"{'' if len(table) == 1 else 's'}"
                       f"{f' with a purchase in its last {window} days' if window else ''}; a migration needs "
                       "at least two.")
    return table


def _scores(table: pd.DataFrame, binnings: dict) -> pd.DataFrame:
    return pd.DataFrame({score: binnings[metric].apply(table[metric].to_numpy(dtype=np.float64))
                         for metric, score, _, _ in _METRICS}, index=table.index)


def _binnings(table: pd.DataFrame, bins: int, method: str) -> dict:
    return {metric: fit_binning(table[metric].to_numpy(dtype=np.float64), bins=bins, method=method,
                                higher_is_better=higher) for metric, _, _, higher in _METRICS}


def psi_value(expected: np.ndarray, actual: np.ndarray, floor: float = PSI_FLOOR) -> float:
    """PSI of two share vectors over the same bands: sum of (a - e) ln(a / e), 0 shares as ``floor``."""
    e = np.where(np.asarray(expected, dtype=float) > 0, expected, floor)
    a = np.where(np.asarray(actual, dtype=float) > 0, actual, floor)
    return float(np.sum((a - e) * np.log(a / e)))


def psi_band(value: float) -> str:
    """"no change" below 0.1, "moderate" from 0.1 to 0.25, "major" above 0.25."""
    if value < 0.1:
        return "no change"
    return "moderate" if value <= 0.25 else "major"


def _shares(values, levels) -> np.ndarray:
    counts = pd.Series(values).value_counts().reindex(levels, fill_value=0).to_numpy(dtype=float)
    return counts / counts.sum() if counts.sum() else counts


def _threshold_changes(before: pd.DataFrame, after: pd.DataFrame, scores_before: pd.DataFrame,
                       scores_after: pd.DataFrame, bins: int) -> pd.DataFrame:
    """The boundary of each score before and after: R by its longest recency, F and M by their
    smallest value (the value a customer needs for that score)."""
    rows = []
    for metric, score, letter, higher in _METRICS:
        for level in range(bins, 0, -1):
            was = before.loc[scores_before[score] == level, metric]
            now = after.loc[scores_after[score] == level, metric]
            pick = (lambda v: float(v.min())) if higher else (lambda v: float(v.max()))
            b = pick(was) if len(was) else np.nan
            a = pick(now) if len(now) else np.nan
            rows.append((letter, level, b, a, _threshold_text(letter, level, b, a)))
    return pd.DataFrame(rows, columns=["score", "level", "before", "after", "text"])


def _number(value: float) -> str:
    return "no customer" if not np.isfinite(value) else (f"{value:,.0f}" if float(value).is_integer()
                                                            else f"{value:,.2f}")


def _threshold_text(letter: str, level: int, before: float, after: float) -> str:
    """"R = 5 was within 85 days, now within 61"; "F = 5 was from 8, now from 7"."""
    def show(value: float, unit: bool = True) -> str:
        if not np.isfinite(value):
            return "no customer"
        if letter == "R":
            return f"within {_number(value)}{' days' if unit else ''}"
        return f"from {_number(value)}"

    same = (before == after) or (not np.isfinite(before) and not np.isfinite(after))
    if same:
        return f"{letter} = {level} is {show(before)}, as before"
    return f"{letter} = {level} was {show(before)}, now {show(after, unit=False)}"


def migration_of(before: RfmResult | None, after: RfmResult | None, stake: RfmResult | None, *,
                 before_date: pd.Timestamp, after_date: pd.Timestamp, mode: str = "relative",
                 window: int | None = None, bins: int = 5, method: str = "balanced",
                 rules: pd.DataFrame | None = None, clusters: bool = False, random_state: int = 0) -> Migration:
    """The migration between two snapshots (:func:`rfm_addin.migration` builds them).

    ``stake`` is the snapshot at ``before - (after - before)`` (None: before every purchase),
    whose monetary values subtracted from the earlier snapshot's give the revenue at stake.
    """
    if mode not in MODES:
        raise RfmError(f"mode must be 'relative' or 'absolute', not {mode!r}.")
    check_bins(bins)
    check_method(method)
    check_dates(before_date, after_date)
    window = _check_window(window)
    rule_table = rules_used(rules)
    order = list(dict.fromkeys(rule_table["segment"]))
    rank = {name: i for i, name in enumerate(order)}

    if before is not None and after is not None:
        if after.quality.counts.get("transactions_used") == before.quality.counts.get("transactions_used"):
            raise RfmError(f"There are no transactions after {before_date:%Y-%m-%d} up to {after_date:%Y-%m-%d}: "
                           "nothing happened between the two dates to compare.")
        last = max(after.table["last_purchase"].max(), after.table["first_purchase"].max())
        if after_date > last + pd.Timedelta(days=1):
            raise RfmError(f"after ({after_date:%Y-%m-%d}) is later than the data: the last transaction is on "
                           f"{last:%Y-%m-%d}, so choose {last + pd.Timedelta(days=1):%Y-%m-%d} or earlier.")
    early = _active(before, window, before_date)
    late = _active(after, window, after_date)
    early_bins = _binnings(early, bins, method)
    late_bins = early_bins if mode == "absolute" else _binnings(late, bins, method)
    s_early, s_late = _scores(early, early_bins), _scores(late, late_bins)
    seg_early = pd.Series(segment_of(s_early["r_score"], s_early["f_score"], s_early["m_score"], rules=rules,
                                     bins=bins), index=early.index)
    seg_late = pd.Series(segment_of(s_late["r_score"], s_late["f_score"], s_late["m_score"], rules=rules,
                                    bins=bins), index=late.index)

    # Cumulative monetary at the three dates: its differences are the period revenues.
    ids = early.index.union(late.index, sort=False).sort_values()
    money_before = before.table["monetary"].reindex(ids, fill_value=0.0)
    money_after = after.table["monetary"].reindex(ids, fill_value=0.0)
    money_stake = stake.table["monetary"].reindex(ids, fill_value=0.0) if stake is not None else 0.0
    customers = pd.DataFrame(index=ids)
    customers.index.name = before.table.index.name
    customers["segment_before"] = seg_early.reindex(ids)
    customers["segment_after"] = seg_late.reindex(ids)
    for frame, suffix in ((s_early, "before"), (s_late, "after")):
        for score in ("r_score", "f_score", "m_score"):
            customers[f"{score}_{suffix}"] = frame[score].reindex(ids).astype("Int64")
    customers["revenue_before"] = (money_before - money_stake).astype(float)
    customers["revenue_after"] = (money_after - money_before).astype(float)
    was, now = customers["segment_before"], customers["segment_after"]
    rank_was, rank_now = was.map(rank), now.map(rank)
    customers["status"] = np.select(
        [was.isna(), now.isna(), was == now, rank_now < rank_was],
        ["new", "gone", "stay", "up"], default="down")

    rows, columns = order + ["new"], order + ["gone"]
    frm, to = was.fillna("new"), now.fillna("gone")
    matrix = pd.crosstab(frm, to).reindex(index=rows, columns=columns, fill_value=0).astype(np.int64)
    revenue = customers.groupby([frm, to])["revenue_before"].sum().unstack().reindex(
        index=rows, columns=columns).fillna(0.0)
    revenue_after = customers.groupby([frm, to])["revenue_after"].sum().unstack().reindex(
        index=rows, columns=columns).fillna(0.0)
    for frame in (matrix, revenue, revenue_after):
        frame.index.name, frame.columns.name = "before", "after"
    both = was.notna() & now.notna()
    changed = float((was[both] != now[both]).mean()) if both.any() else 0.0
    lost = float(customers.loc[customers["status"].isin(["down", "gone"]), "revenue_before"].sum())

    psi_rows = []
    for metric, score, _, _ in _METRICS:
        levels = list(range(1, bins + 1))
        e = _shares(s_early[score], levels)
        a = _shares(early_bins[metric].apply(late[metric].to_numpy(dtype=np.float64)), levels)
        psi_rows.append((metric, psi_value(e, a)))
    psi_rows.append(("segment", psi_value(_shares(seg_early, order), _shares(seg_late, order))))
    psi = pd.DataFrame(psi_rows, columns=["metric", "psi"]).set_index("metric")
    psi["band"] = [psi_band(v) for v in psi["psi"]]
    psi.index.name = None

    matched = None
    if clusters:
        from .clustering import cluster

        fit_early = cluster(early, random_state=random_state, stability=False)
        fit_late = cluster(late, random_state=random_state, stability=False)
        matched = match_clusters(early, fit_early, late, fit_late)
    return Migration(matrix=matrix, revenue=revenue, revenue_after=revenue_after, revenue_lost=lost,
                     changed_share=changed, psi=psi,
                     threshold_changes=_threshold_changes(early, late, s_early, s_late, bins),
                     customers=customers, before=before_date, after=after_date, mode=mode, window=window,
                     clusters=matched)


#: Notable moves the findings and the sheet name: from these segments ...
VALUED = ("Champions", "Loyal Customers")
#: ... to these.
SLIPPING = ("At Risk", "Can't Lose Them", "Hibernating", "Lost")


def notable_moves(m: Migration) -> pd.DataFrame:
    """Moves from a valued segment to a slipping one (or gone): customers, their share of the
    segment they left, their revenue at stake and its share of all revenue at stake."""
    total = float(m.customers["revenue_before"].sum())
    rows = []
    for frm in VALUED:
        if frm not in m.matrix.index:
            continue
        size = int(m.matrix.loc[frm].sum())
        for to in (*SLIPPING, "gone"):
            if to not in m.matrix.columns or not m.matrix.loc[frm, to]:
                continue
            count = int(m.matrix.loc[frm, to])
            revenue = float(m.revenue.loc[frm, to])
            rows.append((frm, to, count, count / size if size else np.nan, revenue,
                         revenue / total if total > 0 else np.nan))
    return pd.DataFrame(rows, columns=["segment_before", "segment_after", "customers", "customer_share",
                                       "revenue_before", "revenue_share"])


def migration_findings(m: Migration) -> list[str]:
    """The migration in sentences, from its numbers."""
    days = (m.after - m.before).days
    both = int(m.customers["segment_before"].notna().sum() - (m.customers["status"] == "gone").sum())
    new, gone = int((m.customers["status"] == "new").sum()), int((m.customers["status"] == "gone").sum())
    how = ("relative scores: each date on its own cut points" if m.mode == "relative"
           else f"absolute scores: both dates on the cut points of {m.before:%Y-%m-%d}")
    active = f", customers with a purchase in the last {m.window} days" if m.window else ""
    found = [f"From {m.before:%Y-%m-%d} to {m.after:%Y-%m-%d} ({how}{active}): {m.changed_share:.1%} of the "
             f"{both:,} customers present at both dates changed segment; {new:,} new, {gone:,} gone."]
    for row in notable_moves(m).itertuples(index=False):
        where = "are gone" if row.segment_after == "gone" else f"moved to {row.segment_after}"
        found.append(f"{row.customers:,} {row.segment_before} ({row.customer_share:.0%}) {where}; they spent "
                     f"{row.revenue_share:.1%} of revenue in the {days} days before {m.before:%Y-%m-%d}.")
    total = float(m.customers["revenue_before"].sum())
    if total > 0 and m.revenue_lost:
        found.append(f"Customers who moved to a worse segment or are gone spent {m.revenue_lost:,.2f} "
                     f"({m.revenue_lost / total:.1%} of all revenue) in the {days} days before {m.before:%Y-%m-%d}.")
    if m.clusters is not None:
        c = m.clusters
        new = c.pairs.loc[~c.pairs["matched"]]
        found.append(f"Clusters refitted at {m.after:%Y-%m-%d}: {int(c.pairs['matched'].sum())} of {len(c.pairs)} match a "
                     f"cluster of {m.before:%Y-%m-%d} and keep its number and name"
                     + (f"; new: {', '.join(map(str, new['earlier']))}" if len(new) else "")
                     + (f"; gone: {', '.join(map(str, c.gone))}" if c.gone else "")
                     + f". {c.stayed_share:.1%} of the customers at both dates stayed in their cluster (adjusted Rand "
                       f"index {c.ari:.2f}).")
    shifted = [f"{metric} (PSI {row.psi:.2f}, {row.band})" for metric, row in m.psi.iterrows() if row.band != "no change"]
    if shifted:
        found.append("The distributions that shifted between the two dates: " + ", ".join(shifted) + ".")
    return found


@dataclass
class History:
    """The outcome of :func:`rfm_addin.history`.

    Attributes
    ----------
    segments : DataFrame
        Long form, one row per (as_of, segment), every segment of the rule table at every date:
        ``as_of``, ``segment``, ``customers``, ``customer_share``, ``revenue`` (net spend in the
        period that ends at ``as_of``: since the previous date; up to the first date for the
        first) and ``revenue_share``.
    customers : DataFrame
        One row per customer at the last date: ``segment``, ``previous_segment`` (the segment it
        had before its current one, empty if none), ``segment_since`` (the first date of its
        current run in that segment) and ``periods_in_segment``.
    dates : list of Timestamp
        The as-of dates.
    mode : str
    window : int or None
    """

    segments: pd.DataFrame
    customers: pd.DataFrame
    dates: list
    mode: str
    window: int | None


def history_of(tables: list[pd.DataFrame | None], dates: list[pd.Timestamp], *, mode: str = "relative",
               window: int | None = None, bins: int = 5, method: str = "balanced",
               rules: pd.DataFrame | None = None) -> History:
    """Segment counts and revenue at each date, and each customer's run in its segment.

    ``tables`` are the cumulative customer tables at ``dates`` (None before the first
    purchase: that date has no customers). "relative" scores each date on its own cut points;
    "absolute" every date on the first date's.
    """
    if mode not in MODES:
        raise RfmError(f"mode must be 'relative' or 'absolute', not {mode!r}.")
    check_bins(bins)
    check_method(method)
    window = _check_window(window)
    order = list(dict.fromkeys(rules_used(rules)["segment"]))
    present = [(d, t) for d, t in zip(dates, tables) if t is not None]
    if not present:
        raise RfmError("There are no purchases on or before any of the dates.")
    first_bins = None
    labels: dict[pd.Timestamp, pd.Series] = {}
    rows = []
    previous_money = None
    for when, whole in present:
        table = whole if window is None else whole.loc[whole["recency"].to_numpy() < window]
        money = whole["monetary"]
        spent = money if previous_money is None else money.sub(previous_money.reindex(money.index, fill_value=0.0))
        previous_money = money
        if len(table) == 0:
            labels[when] = pd.Series(dtype=object)
            segment = pd.Series(dtype=object)
        else:
            binnings = _binnings(table, bins, method) if mode == "relative" or first_bins is None else first_bins
            first_bins = first_bins or binnings
            scores = _scores(table, binnings)
            segment = pd.Series(segment_of(scores["r_score"], scores["f_score"], scores["m_score"], rules=rules,
                                           bins=bins), index=table.index)
            labels[when] = segment
        counts = segment.value_counts().reindex(order, fill_value=0)
        revenue = spent.reindex(segment.index).groupby(segment).sum().reindex(order, fill_value=0.0) \
            if len(segment) else pd.Series(0.0, index=order)
        total_rev = float(revenue.sum())
        for name in order:
            rows.append((when, name, int(counts[name]), counts[name] / len(segment) if len(segment) else np.nan,
                         float(revenue[name]), revenue[name] / total_rev if total_rev else np.nan))
    segments = pd.DataFrame(rows, columns=["as_of", "segment", "customers", "customer_share", "revenue",
                                           "revenue_share"])
    segments["customers"] = segments["customers"].astype(np.int64)
    return History(segments=segments, customers=_runs(labels), dates=[d for d, _ in present], mode=mode,
                   window=window)


def _runs(labels: dict[pd.Timestamp, pd.Series]) -> pd.DataFrame:
    """Per customer of the last date: its segment, the one before, when its current run began."""
    dates = list(labels)
    wide = pd.DataFrame({d: labels[d] for d in dates})
    last = dates[-1]
    wide = wide.loc[wide[last].notna()]
    out = pd.DataFrame(index=wide.index)
    out["segment"] = wide[last]
    previous, since, periods = [], [], []
    values = wide.to_numpy(dtype=object)
    for row in values:
        current = row[-1]
        j = len(row) - 1
        while j > 0 and row[j - 1] == current:
            j -= 1
        since.append(dates[j])
        periods.append(len(row) - j)
        earlier = [v for v in row[:j] if isinstance(v, str)]
        previous.append(earlier[-1] if earlier else None)
    out["previous_segment"] = previous
    out["segment_since"] = pd.to_datetime(since)
    out["periods_in_segment"] = np.asarray(periods, dtype=np.int64)
    out.index.name = wide.index.name
    return out


#: Later clusters farther than this from every earlier one (standard deviations of the earlier
#: customers, in the clustering space: recency, log frequency, log monetary) count as new.
MATCH_DISTANCE = 1.0


@dataclass
class ClusterMatch:
    """Later clusters matched to earlier ones (:func:`match_clusters`).

    Attributes
    ----------
    pairs : DataFrame
        One row per later cluster (its own number ``later``): ``earlier`` (the matched earlier
        number, or the next free number when new), ``distance``, ``matched`` (bool) and ``name``
        (the earlier cluster's name when matched).
    gone : list of int
        Earlier clusters no later cluster matched.
    labels : Series of int
        The later customers' clusters, renumbered to the earlier numbers.
    ari : float
        Adjusted Rand index of the customers present at both dates, earlier labels against the
        renumbered later ones.
    stayed_share : float
        Share of those customers whose (matched) cluster number is the same.
    """

    pairs: pd.DataFrame
    gone: list
    labels: pd.Series
    ari: float
    stayed_share: float


def _cluster_space(values: pd.DataFrame) -> np.ndarray:
    return np.column_stack([values["recency"].to_numpy(dtype=np.float64),
                            np.log1p(np.clip(values["frequency"].to_numpy(dtype=np.float64), 0, None)),
                            np.log1p(np.clip(values["monetary"].to_numpy(dtype=np.float64), 0, None))])


def match_clusters(earlier_table: pd.DataFrame, earlier, later_table: pd.DataFrame, later, *,
                   max_distance: float = MATCH_DISTANCE) -> ClusterMatch:
    """Match the clusters of a later date to those of an earlier one, so numbers and names carry over.

    Both sets of centres are standardised with the earlier customers' means and standard
    deviations (recency, log1p frequency, log1p monetary); the Hungarian assignment
    (``scipy.optimize.linear_sum_assignment``) pairs them at the least total distance; a pair
    farther apart than ``max_distance`` is not a match (the later cluster is new, the earlier one
    gone). Refitting at the later date and numbering by monetary can otherwise swap the numbers.

    Parameters
    ----------
    earlier_table, later_table : DataFrame
        The customer tables the clusters were fitted on.
    earlier, later : ClusterResult
        :func:`rfm_addin.cluster` at each date.
    max_distance : float
        In standard deviations.
    """
    from scipy.optimize import linear_sum_assignment
    from sklearn.metrics import adjusted_rand_score

    space = _cluster_space(earlier_table)
    mean, std = space.mean(axis=0), space.std(axis=0)
    std = np.where(std > 0, std, 1.0)
    a = (_cluster_space(earlier.centers) - mean) / std
    b = (_cluster_space(later.centers) - mean) / std
    distance = np.sqrt(((b[:, None, :] - a[None, :, :]) ** 2).sum(axis=2))
    rows, cols = linear_sum_assignment(distance)
    later_numbers, earlier_numbers = list(later.centers.index), list(earlier.centers.index)
    mapping, matched, dist = {}, {}, {}
    for r, c in zip(rows, cols):
        if distance[r, c] <= max_distance:
            mapping[later_numbers[r]] = earlier_numbers[c]
            matched[later_numbers[r]] = True
            dist[later_numbers[r]] = float(distance[r, c])
    free = max(earlier_numbers) + 1
    out_rows = []
    for i, number in enumerate(later_numbers):
        if number not in mapping:
            mapping[number] = free
            free += 1
            dist[number] = float(distance[i].min())
            matched[number] = False
        name = earlier.names.get(mapping[number]) if matched[number] else later.names.get(number)
        out_rows.append((number, mapping[number], dist[number], matched[number], name))
    pairs = pd.DataFrame(out_rows, columns=["later", "earlier", "distance", "matched", "name"]).set_index("later")
    gone = [n for n in earlier_numbers if n not in set(v for k, v in mapping.items() if matched[k])]
    labels = later.labels.map(mapping).rename("cluster")
    common = earlier.labels.index.intersection(labels.index)
    if len(common):
        ari = float(adjusted_rand_score(earlier.labels[common].to_numpy(), labels[common].to_numpy()))
        stayed = float((earlier.labels[common] == labels[common]).mean())
    else:
        ari, stayed = float("nan"), float("nan")
    return ClusterMatch(pairs=pairs, gone=gone, labels=labels, ari=ari, stayed_share=stayed)
