"""Named segments from R and FM scores, with rule tables a user can edit on a sheet.

A rule table has one row per rectangle on the R x FM grid (both on the 1..5 scale):
``segment, r_min, r_max, fm_min, fm_max, description, action``. A segment may have several
rows. FM is the mean of the F and M scores rounded half up. For ``bins`` other than 5 a
score s is first mapped to ceil(s * 5 / bins), so rules written once serve every ``bins``.

Rules must cover every (R, FM) cell exactly once: a gap would leave customers without a
segment (R's ``rfm`` "Others"), an overlap would make the answer depend on rule order.
Both are errors that name the cells.
"""
from __future__ import annotations

import numpy as np
import pandas as pd

from .errors import RfmError
from .validation import check_bins, check_columns

RULE_COLUMNS = ["segment", "r_min", "r_max", "fm_min", "fm_max", "description", "action"]

_DEFAULT_ROWS = [
    ("Champions", 5, 5, 4, 5, "Bought recently, buy often and spend the most.",
     "Reward them: early access, loyalty perks, ask for reviews and referrals."),
    ("Loyal Customers", 3, 4, 4, 5, "Buy often and spend well, though less recently than Champions.",
     "Upsell higher-value products; keep them close with a loyalty programme."),
    ("Potential Loyalists", 4, 5, 2, 3, "Recent customers with average frequency and spend.",
     "Offer membership or a loyalty programme; recommend related products."),
    ("New Customers", 5, 5, 1, 1, "Bought very recently, for the first time or for little.",
     "Onboard them: welcome series, help with the first use, a reason to come back."),
    ("Promising", 4, 4, 1, 1, "Recent shoppers who have not spent much yet.",
     "Build awareness: free trials, targeted content, a second-purchase offer."),
    ("Need Attention", 3, 3, 3, 3, "Average recency, frequency and spend; may slip away.",
     "Limited-time offers and recommendations based on past purchases."),
    ("About To Sleep", 3, 3, 1, 2, "Below average recency, frequency and spend.",
     "Share popular products and discounts; reconnect before they are lost."),
    ("At Risk", 1, 2, 3, 4, "Spent well and bought often, but long ago.",
     "Send personalised emails to reconnect; offer renewals and helpful resources."),
    ("Can't Lose Them", 1, 2, 5, 5, "Among the biggest and most frequent buyers, but gone quiet.",
     "Win them back with their favourite products; talk to them personally."),
    ("Hibernating", 2, 2, 1, 2, "Last purchase long ago, few orders, low spend.",
     "Offer other relevant products and special discounts; recreate brand value."),
    ("Lost", 1, 1, 1, 2, "Lowest recency, frequency and spend.",
     "Revive interest with a reach-out campaign, or spend the budget elsewhere."),
]

#: The default rule table: 11 segments that cover the R x FM grid exactly once.
DEFAULT_SEGMENTS = pd.DataFrame(_DEFAULT_ROWS, columns=RULE_COLUMNS)

#: The default segments from the most to the least valuable, for ordering outputs.
SEGMENT_ORDER = [row[0] for row in _DEFAULT_ROWS]


def to_five_point(scores, bins: int) -> np.ndarray:
    """Map scores on 1..bins to the 1..5 scale of the rules: ceil(s * 5 / bins)."""
    scores = np.asarray(scores, dtype=np.int64)
    return -((-scores * 5) // bins)


def fm_score(f_scores, m_scores, bins: int = 5) -> np.ndarray:
    """FM on the 1..5 scale: the mean of F and M (each mapped to 1..5), rounded half up."""
    return (to_five_point(f_scores, bins) + to_five_point(m_scores, bins) + 1) // 2


def _check_rules(rules: pd.DataFrame) -> pd.DataFrame:
    """Validate a rule table's columns and values; return it with integer bounds."""
    if not isinstance(rules, pd.DataFrame):
        raise RfmError(f"rules must be a table (DataFrame) like DEFAULT_SEGMENTS, not {type(rules).__name__}.")
    rules = rules.rename(columns=lambda c: str(c).strip().lower())
    missing = [c for c in RULE_COLUMNS[:5] if c not in rules.columns]
    if missing:
        raise RfmError(f"The segment rules need the columns {RULE_COLUMNS[:5]}; missing {missing}.")
    rules = rules.dropna(how="all").copy()
    if rules.empty:
        raise RfmError("The segment rules are empty.")
    for col in ("description", "action"):
        if col not in rules.columns:
            rules[col] = ""
    for i, row in enumerate(rules.itertuples(index=False), start=1):
        name = row.segment
        if not isinstance(name, str) or not name.strip():
            raise RfmError(f"Segment rule {i} has no segment name.")
        for col in RULE_COLUMNS[1:5]:
            value = getattr(row, col)
            if not isinstance(value, (int, float, np.integer, np.floating)) or isinstance(value, bool) \
                    or not float(value).is_integer() or not 1 <= value <= 5:
                raise RfmError(f"Segment rule {i} ({name}): {col} must be a whole number from 1 to 5, not {value!r}.")
        if row.r_min > row.r_max or row.fm_min > row.fm_max:
            raise RfmError(f"Segment rule {i} ({name}): a minimum is larger than its maximum.")
    for col in RULE_COLUMNS[1:5]:
        rules[col] = rules[col].astype(np.int64)
    rules["segment"] = rules["segment"].str.strip()
    return rules[RULE_COLUMNS].reset_index(drop=True)


def rule_grid(rules: pd.DataFrame | None = None) -> np.ndarray:
    """The 5 x 5 grid of segment names, ``grid[r - 1, fm - 1]``, after checking the rules.

    Raises
    ------
    RfmError
        Cells covered by no rule or by two rules, each named as (R, FM) with an example code.
    """
    rules = DEFAULT_SEGMENTS if rules is None else _check_rules(rules)
    owners: dict[tuple[int, int], list[str]] = {(r, fm): [] for r in range(1, 6) for fm in range(1, 6)}
    for row in rules.itertuples(index=False):
        for r in range(row.r_min, row.r_max + 1):
            for fm in range(row.fm_min, row.fm_max + 1):
                owners[(r, fm)].append(row.segment)
    gaps = [cell for cell, names in owners.items() if not names]
    overlaps = {cell: names for cell, names in owners.items() if len(names) > 1}
    problems = []
    if gaps:
        problems.append("no rule covers " + ", ".join(f"R={r} FM={fm}" for r, fm in gaps))
    if overlaps:
        problems.append("more than one rule covers " + ", ".join(
            f"R={r} FM={fm} ({' and '.join(names)})" for (r, fm), names in overlaps.items()))
    if problems:
        raise RfmError("The segment rules must give every R and FM score from 1 to 5 exactly one segment: "
                       + "; ".join(problems) + ".")
    grid = np.empty((5, 5), dtype=object)
    for (r, fm), names in owners.items():
        grid[r - 1, fm - 1] = names[0]
    return grid


def segment_of(r_scores, f_scores, m_scores, *, rules: pd.DataFrame | None = None, bins: int = 5) -> np.ndarray:
    """Segment name for each (R, F, M) score triple; the one place scores become names."""
    check_bins(bins)
    r = np.asarray(r_scores, dtype=np.int64)
    f = np.asarray(f_scores, dtype=np.int64)
    m = np.asarray(m_scores, dtype=np.int64)
    for name, s in (("R", r), ("F", f), ("M", m)):
        if s.size and (s.min() < 1 or s.max() > bins):
            raise RfmError(f"{name} scores must be from 1 to {bins}; found {int(s.min())} to {int(s.max())}.")
    grid = rule_grid(rules)
    return grid[to_five_point(r, bins) - 1, fm_score(f, m, bins) - 1]


def segment(scored: pd.DataFrame, *, rules: pd.DataFrame | None = None, bins: int = 5) -> pd.DataFrame:
    """Add a ``segment`` column to a scored table.

    Parameters
    ----------
    scored : DataFrame
        Output of :func:`rfm_addin.score` (columns ``r_score``, ``f_score``, ``m_score``).
    rules : DataFrame, optional
        A rule table like :data:`DEFAULT_SEGMENTS`; validated to cover the grid exactly once.
    bins : int
        The number of score levels used when scoring (2..9).

    Returns
    -------
    DataFrame
        A copy of ``scored`` with ``segment`` added.
    """
    check_columns(scored, ("r_score", "f_score", "m_score"),
                  "segment() needs a scored table (run score() first); missing columns")
    out = scored.copy()
    out["segment"] = segment_of(out["r_score"], out["f_score"], out["m_score"], rules=rules, bins=bins)
    return out


def rules_used(rules: pd.DataFrame | None = None) -> pd.DataFrame:
    """The validated rule table (the default when None), for showing next to results."""
    rule_grid(rules)
    return DEFAULT_SEGMENTS.copy() if rules is None else _check_rules(rules)
