"""Read a customer-level sheet (one row per customer) into recency, frequency, monetary.

Such tables come from many places with many headers: "Recency", "Days since last
purchase", "days_since_last_login"; "Frequency", "Orders", "Weekly sessions"; "Monetary",
"Revenue", "MRR". Headers are split into lower-case words (camelCase and punctuation
split too) and matched by the rules below; a role matched by several columns, or by
none, is an error listing the headers and naming the setting that decides
("Recency column" on the RFM Settings sheet). Recency must be "lower is better" (days
since the last activity).
"""
from __future__ import annotations

import re
from dataclasses import dataclass

import numpy as np
import pandas as pd

from ..core.errors import ColumnError
from . import convert

_RECENCY_CONTEXT = {"since", "last", "ago", "inactive", "idle", "elapsed"}
_FREQUENCY_WORDS = {"frequency", "freq", "orders", "purchases", "transactions", "sessions", "visits", "logins",
                    "invoices", "bookings", "trips"}
_FREQUENCY_NOUNS = {"order", "purchase", "transaction", "session", "visit", "login", "invoice", "booking", "trip"}
_MONETARY_WORDS = {"monetary", "revenue", "revenues", "spend", "spent", "spending", "sales", "amount", "mrr", "arr",
                   "ltv", "clv", "value", "turnover", "gmv"}
_CUSTOMER_WORDS = {"customer", "client", "account", "user", "member", "subscriber", "email", "id"}


def words(header: str) -> set[str]:
    """Lower-case words of a header: "daysSinceLastLogin" -> {days, since, last, login}."""
    spaced = re.sub(r"([a-z0-9])([A-Z])", r"\1 \2", str(header))
    return {w for w in re.split(r"[^0-9a-z]+", spaced.lower()) if w}


def role_of(header: str) -> set[str]:
    """The roles a header could play (recency, frequency, monetary, customer)."""
    w = words(header)
    roles = set()
    if "adoption" in w:       # "Adoption: Revenue report" describes a feature, never R, F or M
        return roles
    if "recency" in w or ({"days", "day", "weeks", "months"} & w and _RECENCY_CONTEXT & w):
        roles.add("recency")
    if _FREQUENCY_WORDS & w or ({"count", "number", "num", "no"} & w and _FREQUENCY_NOUNS & w):
        roles.add("frequency")
    if _MONETARY_WORDS & w:
        roles.add("monetary")
    if not roles and _CUSTOMER_WORDS & w:
        roles.add("customer")
    return roles


@dataclass
class CustomerColumns:
    """Which headers hold the customer id (optional) and the three metrics."""

    recency: str
    frequency: str
    monetary: str
    customer: str | None = None


def _setting_label(role: str) -> str:
    return f"{role.capitalize()} column"


def detect(headers: list[str], recency: str | None = None, frequency: str | None = None,
           monetary: str | None = None, customer: str | None = None) -> CustomerColumns:
    """Map roles to headers; a given name (from the settings) wins over detection.

    Raises
    ------
    ColumnError
        A given name is not a header, or a metric is missing or ambiguous.
    """
    listing = ", ".join(repr(h) for h in headers)
    given = {"recency": recency, "frequency": frequency, "monetary": monetary, "customer": customer}
    found: dict[str, str | None] = {}
    for role, name in given.items():
        if name is None:
            continue
        matches = [h for h in headers if h.strip().casefold() == name.strip().casefold()]
        if not matches:
            raise ColumnError(f"The {_setting_label(role)} setting names {name!r}, which is not a header of the "
                              f"active sheet. Headers found: {listing}.")
        found[role] = matches[0]
    taken = {v for v in found.values() if v}
    for role in ("recency", "frequency", "monetary", "customer"):
        if role in found:
            continue
        matches = [h for h in headers if h not in taken and role in role_of(h)]
        if role == "customer":
            found[role] = matches[0] if matches else None
            continue
        if len(matches) > 1:
            raise ColumnError(f"Several columns could be the {role} column: {', '.join(map(repr, matches))}. "
                              f"Say which one on the RFM Settings sheet ({_setting_label(role)}).")
        if not matches:
            raise ColumnError(f"Could not find the {role} column of this customer table. Headers found: {listing}. "
                              f"Name it on the RFM Settings sheet ({_setting_label(role)}), or use a header such "
                              f"as {_EXAMPLES[role]}.")
        found[role] = matches[0]
        taken.add(matches[0])
    return CustomerColumns(recency=found["recency"], frequency=found["frequency"], monetary=found["monetary"],
                           customer=found.get("customer"))


_EXAMPLES = {
    "recency": "'Recency' or 'Days since last purchase'",
    "frequency": "'Frequency', 'Orders' or 'Weekly sessions'",
    "monetary": "'Monetary', 'Revenue' or 'MRR'",
}


def metrics_table(frame: pd.DataFrame, columns: CustomerColumns, first_row: int) -> tuple[pd.DataFrame, np.ndarray]:
    """The customer table for the core, and the mask of source rows it holds.

    Rows empty in every column are skipped; a kept row with an empty or unreadable
    metric is an error naming the header and the sheet row (``first_row`` is the sheet
    row of ``frame``'s first row).

    Returns
    -------
    table : DataFrame
        Columns recency, frequency, monetary; indexed by customer id (text) when there is
        a customer column, else by sheet row number.
    keep : ndarray of bool
        Which rows of ``frame`` are in the table.
    """
    blank = np.ones(len(frame), dtype=bool)
    for name in frame.columns:
        blank &= convert.blank_cells(frame[name].tolist())
    keep = ~blank
    if not keep.any():
        raise ColumnError("The active sheet has a header but no rows of data.")
    values = {}
    for role in ("recency", "frequency", "monetary"):
        header = getattr(columns, role)
        values[role] = convert.numbers_of(f"Column {header!r}", frame[header].tolist(), first_row, keep)[keep]
    rows = np.flatnonzero(keep) + first_row
    if columns.customer is not None:
        ids = convert.labels_of(f"Column {columns.customer!r}", frame[columns.customer].tolist(), first_row, keep)
        index = pd.Index([str(i) for i, k in zip(ids, keep) if k], name=columns.customer)
    else:
        index = pd.Index(rows, name="Row")
    table = pd.DataFrame(values, index=index)
    # the sheet's other number columns (adoption, tenure, seats...) are profiled per cluster, never clustered on
    used = {columns.recency, columns.frequency, columns.monetary, columns.customer}
    extra = []
    for name in frame.columns:
        if name in used:
            continue
        cells = frame[name].tolist()
        kept = [v for v, k in zip(cells, keep) if k]
        if kept and all(isinstance(v, (int, float)) and not isinstance(v, bool) for v in kept):
            table[str(name)] = np.asarray(kept, dtype=float)
            extra.append(str(name))
    table.attrs["profile_columns"] = extra
    return table, keep
