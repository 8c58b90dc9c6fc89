"""Plain words for a group of customers: what it is, what to call it, what to do.

One rule base serves segments and clusters. A group is judged on what its typical customer
(its centre: mean recency, frequency and monetary back-transformed from the mean of their
logs, as the clusters are fitted) *is*, against cut points taken from this data
(:class:`Tiers`), never against a skewed average:

- **recency**: "recent" within the typical gap between purchases, "lapsed" beyond the lapse
  threshold (:mod:`rfm_addin.core.lapse`), "lapsing" between. A table without purchase dates has
  no threshold: "recent", "less recent" and "least recent" by the thirds of recency.
- **frequency**: "one-time" when the centre rounds to one purchase, "frequent" from the
  top 20% of frequency (at least 3), else "repeat".
- **value**: "high" from the top 20% of monetary, "low" below the 40th percentile, else "mid".

The name of a group says those three facts ("Lapsed low-value one-time buyers"); the action
(:func:`action`) is a function of the same facts, so an action cannot contradict a name.
Clusters whose facts are the same get words that tell them apart ("..., higher spend"),
never a number.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from .lapse import LapseThreshold, lapse_threshold

#: Quantiles of the customers' values behind the words.
HIGH_VALUE_QUANTILE = 0.8
LOW_VALUE_QUANTILE = 0.4
FREQUENT_QUANTILE = 0.8
#: "frequent" needs at least this many purchases at the centre, whatever the quantile says.
FREQUENT_MIN = 3.0

METRICS = ("recency", "frequency", "monetary")


@dataclass(frozen=True)
class Nouns:
    """The words of a customer table's metrics (they follow what frequency counts)."""

    purchase: str = "purchase"
    purchases: str = "purchases"
    people: str = "buyers"
    spend: str = "spend"
    #: The words of the frequency facts "one-time", "repeat", "frequent" in a name.
    frequency_words: tuple[str, str, str] = ("one-time", "repeat", "frequent")


def nouns_for(frequency_basis: str | None) -> Nouns:
    """The nouns for what frequency counts.

    "distinct orders (...)" counts orders and "transaction rows" transactions (the bases of
    :func:`rfm_addin.rfm_table`); a customer-level table's frequency header names its own
    noun: sessions, logins or visits (usage data: users, and MRR for monetary), orders,
    transactions; anything else counts purchases.
    """
    basis = (frequency_basis or "").casefold()
    for word, people, spend in (("session", "users", "MRR"), ("login", "users", "MRR"), ("visit", "users", "MRR")):
        if word in basis:
            return Nouns(word, word + "s", people, spend, ("light", "regular", "heavy"))
    if "order" in basis:
        return Nouns("order", "orders")
    if "transaction" in basis:
        return Nouns("transaction", "transactions")
    return Nouns()


def count_text(count: float, singular: str, plural: str, decimals: int = 0) -> str:
    """'1 order', '2 orders', '1.5 orders' (plural unless the shown number is exactly 1)."""
    shown = f"{count:,.{decimals}f}"
    return f"{shown} {singular if float(shown.replace(',', '')) == 1 else plural}"


@dataclass(frozen=True)
class Tiers:
    """The cut points of this data that the words are judged against."""

    recent_days: float
    lapse: LapseThreshold | None
    high_value: float
    low_value: float
    frequent: float
    least_recent_days: float
    nouns: Nouns = Nouns()


def tiers(table: pd.DataFrame, *, frequency_basis: str | None = None) -> Tiers:
    """The cut points of a customer table (with ``recency``, ``frequency``, ``monetary``;
    purchase dates give the lapse threshold). ``frequency_basis`` defaults to
    ``table.attrs["frequency_basis"]``."""
    recency = table["recency"].to_numpy(dtype=np.float64)
    monetary = table["monetary"].to_numpy(dtype=np.float64)
    frequency = table["frequency"].to_numpy(dtype=np.float64)
    lapse = lapse_threshold(table)
    if lapse is not None:
        recent, least = lapse.typical_gap, lapse.days
    else:
        recent, least = (float(q) for q in np.quantile(recency, [1 / 3, 2 / 3]))
    basis = frequency_basis if frequency_basis is not None else table.attrs.get("frequency_basis")
    return Tiers(recent_days=float(recent), lapse=lapse, least_recent_days=float(least),
                 high_value=float(np.quantile(monetary, HIGH_VALUE_QUANTILE)),
                 low_value=float(np.quantile(monetary, LOW_VALUE_QUANTILE)),
                 frequent=max(FREQUENT_MIN, float(np.quantile(frequency, FREQUENT_QUANTILE))),
                 nouns=nouns_for(basis))


@dataclass(frozen=True)
class Facts:
    """What a group's centre is: ``recency`` in ("recent", "lapsing", "lapsed"),
    ``frequency`` in ("one-time", "repeat", "frequent"), ``value`` in ("high", "mid", "low")."""

    recency: str
    frequency: str
    value: str


def facts(recency: float, frequency: float, monetary: float, cuts: Tiers) -> Facts:
    """The facts of a centre (recency in days, frequency, monetary)."""
    if recency <= cuts.recent_days:
        r = "recent"
    elif recency > cuts.least_recent_days:
        r = "lapsed"
    else:
        r = "lapsing"
    if round(frequency) <= 1:
        f = "one-time"
    elif frequency >= cuts.frequent:
        f = "frequent"
    else:
        f = "repeat"
    if monetary >= cuts.high_value:
        m = "high"
    elif monetary < cuts.low_value:
        m = "low"
    else:
        m = "mid"
    return Facts(r, f, m)


def centres(table: pd.DataFrame, groups) -> pd.DataFrame:
    """Each group's centre: mean recency, and frequency and monetary back-transformed from the
    mean of ``log1p`` (monetary clipped at 0), the scale the clusters are fitted on."""
    values = pd.DataFrame({
        "recency": table["recency"].to_numpy(dtype=np.float64),
        "frequency": np.log1p(np.clip(table["frequency"].to_numpy(dtype=np.float64), 0, None)),
        "monetary": np.log1p(np.clip(table["monetary"].to_numpy(dtype=np.float64), 0, None)),
    })
    means = values.groupby(np.asarray(groups), sort=True).mean()
    means["frequency"] = np.expm1(means["frequency"])
    means["monetary"] = np.expm1(means["monetary"])
    return means


_RECENCY_WORDS = {True: {"recent": "Recent", "lapsing": "Lapsing", "lapsed": "Lapsed"},
                  False: {"recent": "Recent", "lapsing": "Less recent", "lapsed": "Least recent"}}


def name(group: Facts, cuts: Tiers) -> str:
    """The name of a group's facts, e.g. "Lapsed low-value one-time buyers"."""
    value = "value" if cuts.nouns.spend == "spend" else cuts.nouns.spend
    frequency = dict(zip(("one-time", "repeat", "frequent"), cuts.nouns.frequency_words))[group.frequency]
    return (f"{_RECENCY_WORDS[cuts.lapse is not None][group.recency]} {group.value}-{value} "
            f"{frequency} {cuts.nouns.people}")


def action(group: Facts) -> str:
    """The recommended action for a group's facts: the one rule base of segments and clusters."""
    r, f, m = group.recency, group.frequency, group.value
    if r == "recent":
        if m == "high":
            return ("follow up their large first purchase personally to earn a second one" if f == "one-time"
                    else "reward and retain them: loyalty perks, early access, ask for reviews and referrals")
        if f == "one-time":
            return "welcome them towards a second purchase: a welcome series and a timely follow-up offer"
        return "grow their spend: bundles, cross-selling and higher-value products"
    if r == "lapsing":
        if m == "high":
            return "reach out personally before they lapse: they are in your top 20% by spend"
        if f == "one-time":
            return "send a second-purchase offer before they lapse"
        return "remind them with an offer on what they usually buy before they lapse"
    if m == "high":
        return "win them back with a personal offer on what they bought: they are in your top 20% by spend"
    if f == "one-time" and m == "low":
        return LOW_PRIORITY
    return "reactivate them with a reminder or a small incentive"


#: The one action that gives a group up; never for a segment whose name says it matters.
LOW_PRIORITY = "low priority: include them in occasional reactivation campaigns"
#: Default segments whose names say they matter: their action is never :data:`LOW_PRIORITY`.
SEGMENTS_THAT_MATTER = frozenset({"Champions", "Loyal Customers", "Potential Loyalists", "New Customers", "Promising",
                                  "Need Attention", "At Risk", "Can't Lose Them"})


def segment_action(segment: str, group: Facts) -> str:
    """The action for a segment's customers: :func:`action` of their facts, except that a segment
    whose name says it matters ("At Risk") is never given up as low priority."""
    todo = action(group)
    if todo == LOW_PRIORITY and segment in SEGMENTS_THAT_MATTER:
        return "reactivate them with a reminder or a small incentive"
    return todo


def _qualifiers(metric: str, nouns: Nouns) -> tuple[str, str]:
    """(word for the higher half, word for the lower half) of a metric."""
    return {"recency": ("less recent", "more recent"),
            "frequency": (f"more {nouns.purchases}", f"fewer {nouns.purchases}"),
            "monetary": (f"higher {nouns.spend}", f"lower {nouns.spend}")}[metric]


def _split(members: list, position: pd.DataFrame, nouns: Nouns, used: tuple[str, ...]) -> dict:
    """Words that tell apart clusters of the same name: the metric where their centres differ
    most is split at its widest gap into a higher and a lower part, and each part again."""
    if len(members) == 1:
        return {members[0]: []}
    free = [m for m in METRICS if m not in used] or list(METRICS)
    spread = position.loc[members, free].max() - position.loc[members, free].min()
    metric = str(spread.idxmax())
    ordered = position.loc[members, metric].sort_values(ascending=False, kind="stable")
    ranked = ordered.index.tolist()
    half = int(np.argmax(-np.diff(ordered.to_numpy()))) + 1  # split at the widest gap
    high, low = _qualifiers(metric, nouns)
    words: dict = {}
    for part, word in ((ranked[:half], high), (ranked[half:], low)):
        for member, rest in _split(part, position, nouns, used + (metric,)).items():
            words[member] = [word, *rest]
    return words


def unique_names(centre_table: pd.DataFrame, table: pd.DataFrame, cuts: Tiers) -> pd.Series:
    """A name per group (index of ``centre_table``), unique without numbers.

    Groups whose facts give the same name are told apart by comparatives on the metric where
    their centres differ most (in standard deviations of the customers), split at the widest
    gap until each stands alone: "Lapsed low-value one-time buyers, higher spend".
    """
    base = pd.Series({g: name(facts(row.recency, row.frequency, row.monetary, cuts), cuts)
                      for g, row in centre_table.iterrows()}, dtype=object)
    logs = pd.DataFrame({
        "recency": table["recency"].to_numpy(dtype=np.float64),
        "frequency": np.log1p(np.clip(table["frequency"].to_numpy(dtype=np.float64), 0, None)),
        "monetary": np.log1p(np.clip(table["monetary"].to_numpy(dtype=np.float64), 0, None)),
    })
    spread = logs.std(ddof=0).where(lambda s: s > 0, 1.0)
    position = pd.DataFrame({
        "recency": centre_table["recency"],
        "frequency": np.log1p(centre_table["frequency"]),
        "monetary": np.log1p(centre_table["monetary"]),
    }, index=centre_table.index) / spread
    out = base.copy()
    for _, members in base.groupby(base, sort=False):
        if len(members) > 1:
            for member, words in _split(members.index.tolist(), position, cuts.nouns, ()).items():
                out[member] = ", ".join([base[member], *words])
    return out


#: Differences of at least this many standard deviations are named in a group's sentence.
NOTABLE_DIFFERENCE = 0.5


def standardised_differences(table: pd.DataFrame, groups) -> pd.DataFrame:
    """Per group, how far its customers sit from all the other customers on each metric.

    On the scale the clusters are fitted on (recency, log1p frequency, log1p monetary): the
    group's mean minus the other customers' mean, in standard deviations of all customers
    (population; a constant metric gives 0). Positive recency means longer ago.

    Returns
    -------
    DataFrame
        Index: the groups (sorted); columns ``recency``, ``frequency``, ``monetary``.
    """
    values = pd.DataFrame({
        "recency": table["recency"].to_numpy(dtype=np.float64),
        "frequency": np.log1p(np.clip(table["frequency"].to_numpy(dtype=np.float64), 0, None)),
        "monetary": np.log1p(np.clip(table["monetary"].to_numpy(dtype=np.float64), 0, None)),
    })
    groups = np.asarray(groups)
    std = values.std(ddof=0)
    sums, counts = values.groupby(groups, sort=True).sum(), values.groupby(groups, sort=True).size()
    total, n = values.sum(), len(values)
    inside = sums.div(counts, axis=0)
    others = (total - sums).div((n - counts).where(n - counts > 0), axis=0)
    return ((inside - others) / std.where(std > 0)).fillna(0.0)


def difference_words(metric: str, difference: float, nouns: Nouns) -> str:
    """"higher spend", "fewer orders", "older purchases"... for a signed difference."""
    words = {"recency": ("older purchases", "more recent purchases"),
             "frequency": (f"more {nouns.purchases}", f"fewer {nouns.purchases}"),
             "monetary": (f"higher {nouns.spend}", f"lower {nouns.spend}")}[metric]
    return words[0] if difference > 0 else words[1]


def what_sets_apart(differences: pd.Series, nouns: Nouns) -> str:
    """The one or two metrics that set a group apart most, as a clause.

    The largest absolute difference is named; the second too when it is at least
    :data:`NOTABLE_DIFFERENCE`. A group within that of the others on every metric "differs
    little".
    """
    ranked = differences.abs().sort_values(ascending=False, kind="stable").index.tolist()
    first, second = ranked[0], ranked[1]
    d1, d2 = float(differences[first]), float(differences[second])
    if abs(d1) < NOTABLE_DIFFERENCE:
        return f"it differs little from the other customers (at most {abs(d1):.1f} standard deviations)"
    text = (f"set apart most by {difference_words(first, d1, nouns)} ({d1:+.1f} standard deviations from the "
            "other customers)")
    if abs(d2) >= NOTABLE_DIFFERENCE:
        text += f" and {difference_words(second, d2, nouns)} ({d2:+.1f})"
    return text


def centre_text(recency: float, frequency: float, monetary: float, nouns: Nouns) -> str:
    """"last purchase 106 days ago, 11.5 orders and 635.14 spent" (a centre, in words)."""
    spent = f"{monetary:,.2f} spent" if nouns.spend == "spend" else f"{nouns.spend} {monetary:,.2f}"
    return (f"last purchase {count_text(recency, 'day', 'days')} ago, "
            f"{count_text(frequency, nouns.purchase, nouns.purchases, 1)} and {spent}")
