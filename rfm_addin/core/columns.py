"""Find the customer, date, amount and order columns of a transactions table.

Analysts pass exports whose headers vary ("CustomerID", "Customer ID", "customer_id",
"Client"...). Headers are compared after lower-casing and removing everything but letters
and digits, against the synonyms below. A column the user names wins; a role that no
header matches, or that several headers match, is an error listing what was found and
how to name the column, because guessing wrong would silently give wrong scores.
"""
from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Iterable

from .errors import ColumnError
from .labels import reserved_names

#: Normalised header names recognised for each role, in no particular order.
SYNONYMS: dict[str, tuple[str, ...]] = {
    "customer": ("customerid", "customer", "customerno", "customernumber", "customercode",
                 "custid", "customerkey", "clientid", "client", "clientno", "clientnumber"),
    "date": ("invoicedate", "orderdate", "date", "transactiondate", "purchasedate",
             "saledate", "salesdate", "orderdatetime", "invoicedatetime", "transactiondatetime"),
    "amount": ("amount", "orderamount", "sales", "revenue", "totalamount", "ordertotal",
               "ordervalue", "salesamount", "netamount", "linetotal", "invoiceamount",
               "transactionamount", "spend"),
    "order": ("invoice", "invoiceno", "invoicenumber", "invoiceid", "orderid", "orderno",
              "ordernumber", "transactionid", "receiptid", "receiptno"),
    "quantity": ("quantity", "qty", "units", "quantityordered"),
    "price": ("unitprice", "price", "priceeach", "itemprice", "unitcost"),
}

#: How each role is named in the three interfaces, for error messages.
_HOW_TO_NAME = {
    "customer": "customer=",
    "date": "date=",
    "amount": "amount=",
    "order": "order=",
}


def normalise_header(name: object) -> str:
    """Lower-case a header and keep only letters and digits ("Customer ID" -> "customerid")."""
    return re.sub(r"[^0-9a-z]", "", str(name).lower())


@dataclass(frozen=True)
class ColumnMap:
    """Which source column plays which role.

    Attributes
    ----------
    customer, date : str
        Source column names (as written in the header).
    amount : str or None
        Amount column, or None when the amount is computed as quantity x price.
    order : str or None
        Order / invoice id column; None means frequency counts transaction rows.
    quantity, price : str or None
        Line-item columns; quantity also marks returns (negative quantity).
    """

    customer: str
    date: str
    amount: str | None
    order: str | None
    quantity: str | None = None
    price: str | None = None

    @property
    def used(self) -> list[str]:
        """Source columns the analysis reads, in a stable order, without repeats."""
        names = [self.customer, self.date, self.amount, self.order, self.quantity, self.price]
        return list(dict.fromkeys(n for n in names if n is not None))


def _listing(columns: Iterable[object]) -> str:
    return ", ".join(repr(str(c)) for c in columns)


def _named(role: str, name: object, columns: list) -> str:
    """Resolve a column the user named: exact match first, then the unique normalised match."""
    if name in columns:
        return name
    matches = [c for c in columns if normalise_header(c) == normalise_header(name)]
    if len(matches) == 1:
        return matches[0]
    raise ColumnError(
        f"The {role} column {str(name)!r} is not in the data. Columns found: {_listing(columns)}."
    )


def _detect(role: str, columns: list) -> list:
    wanted = set(SYNONYMS[role])
    return [c for c in columns if normalise_header(c) in wanted]


def _ambiguous(role: str, matches: list) -> ColumnError:
    return ColumnError(
        f"Several columns could be the {role} column: {_listing(matches)}. "
        f"Say which one to use ({_HOW_TO_NAME[role]}..., on the command line --{role}, "
        f"in Excel the '{role} column' setting)."
    )


def resolve_columns(
    columns: Iterable[object],
    customer: str | None = None,
    date: str | None = None,
    amount: str | None = None,
    order: str | None = None,
) -> ColumnMap:
    """Map roles to source columns, detecting the ones not named.

    Parameters
    ----------
    columns : iterable
        The header of the transactions table.
    customer, date, amount, order : str, optional
        Column names given by the user; None means detect from the header.

    Returns
    -------
    ColumnMap

    Raises
    ------
    ColumnError
        A named column is missing, or a role is missing or ambiguous. When no amount column
        exists but quantity and price columns do, the amount is their product.
    """
    cols = list(columns)
    if not cols:
        raise ColumnError("The data has no columns: expected a header row with customer, date and amount.")
    found: dict[str, str | None] = {}
    for role, given in (("customer", customer), ("date", date), ("order", order)):
        if given is not None:
            found[role] = _named(role, given, cols)
            continue
        matches = _detect(role, cols)
        if len(matches) > 1:
            raise _ambiguous(role, matches)
        found[role] = matches[0] if matches else None

    quantity = _detect("quantity", cols)
    price = _detect("price", cols)
    found["quantity"] = quantity[0] if len(quantity) == 1 else None
    found["price"] = price[0] if len(price) == 1 else None
    if amount is not None:
        found["amount"] = _named("amount", amount, cols)
    else:
        matches = _detect("amount", cols)
        if len(matches) > 1:
            raise _ambiguous("amount", matches)
        found["amount"] = matches[0] if matches else None

    missing = [r for r in ("customer", "date") if found[r] is None]
    if found["amount"] is None and not (found["quantity"] and found["price"]):
        missing.append("amount")
    if missing:
        examples = {
            "customer": "CustomerID, Customer ID, customer_id, Client",
            "date": "InvoiceDate, OrderDate, Date",
            "amount": "Amount, OrderAmount, Sales, Revenue, or Quantity and UnitPrice",
        }
        parts = [f"{role} (recognised headers: {examples[role]})" for role in missing]
        raise ColumnError(
            f"Could not find the {' and '.join(missing)} column{'s' if len(missing) > 1 else ''}. "
            f"Columns found: {_listing(cols)}. Expected {'; '.join(parts)}. "
            "Rename the header or say which column to use (customer=/date=/amount=, "
            "on the command line --customer/--date/--amount)."
        )
    return ColumnMap(
        customer=found["customer"], date=found["date"], amount=found["amount"], order=found["order"],
        quantity=found["quantity"], price=found["price"],
    )


#: Columns of the customer table, in order (``keep`` columns follow, renamed where they clash).
RFM_COLUMNS = ["recency", "frequency", "monetary", "first_purchase", "last_purchase", "avg_order_value"]

#: Added to a user's column whose name clashes with a result column ("Segment (input)").
INPUT_SUFFIX = "input"


def input_names(names: Iterable[str], reserved: set[str]) -> dict[str, str]:
    """Each name, or ``"<name> (input)"`` (then ``(input 2)``...) where it clashes.

    A clash is a case-insensitive match (Excel's rule for table headers) with a name in
    ``reserved`` (case-folded) or with a name already given.
    """
    taken = set(reserved)
    out: dict[str, str] = {}
    for name in names:
        candidate, n = str(name), 1
        while candidate.casefold() in taken:
            candidate = f"{name} ({INPUT_SUFFIX})" if n == 1 else f"{name} ({INPUT_SUFFIX} {n})"
            n += 1
        taken.add(candidate.casefold())
        out[name] = candidate
    return out


def resolve_keep(keep: Iterable[str] | str | None, columns: list, used: list[str]) -> dict[str, str]:
    """Check the ``keep`` column names against the source's columns.

    Returns
    -------
    dict
        Source column -> its name in the customer table, in order, without repeats and
        without the customer column itself (``used[0]``). A column whose name clashes,
        in any case, with a result column or its label ("Segment", "cluster", "R score",
        "Recency (days)") or with another kept column keeps its values under
        ``"<name> (input)"``, so results and the user's column both stay.

    Raises
    ------
    ColumnError
        A name is not a column of the source.
    """
    if keep is None:
        return {}
    names = [keep] if isinstance(keep, str) else list(keep)
    missing = [k for k in names if k not in columns]
    if missing:
        raise ColumnError(f"keep names columns that are not in the data: {missing!r}. "
                          f"Columns found: {_listing(columns)}.")
    kept = list(dict.fromkeys(k for k in names if k not in used[:1]))
    return input_names(kept, reserved_names() | {str(used[0]).casefold()})
