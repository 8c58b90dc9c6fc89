"""The "RFM Settings" sheet: analysis settings that travel with the workbook.

Layout (read by the ribbon macros, written by the "settings" button, and the contract
for the workbook template and later features)::

    A1  RFM settings                      (title)
    A2  Change a value in column B ...     (note)
    A4  Setting | Value                   (header of the Excel Table "RFM_Settings")
    A5  As-of date | (empty)              one row per entry of SETTINGS, in that order
    ...
    D5  description of the setting        (help text beside the table, not part of it)

- The table has exactly two columns: the setting's label and its value. Rows are found
  by label, compared after lower-casing and dropping everything but letters and digits
  ("As-of date", "as of date" and "AsOfDate" are the same), also by the ``key``
  ("as_of"). Their order and position on the sheet do not matter, unknown labels are
  ignored, and a missing row or an empty value means the default.
- Values: dates as date cells or ISO text; numbers as numbers or numeric text; "auto"
  or empty for automatic choices; column names as the header text of the data.

:data:`SETTINGS` is the single description of the entries; :func:`read_settings`
validates values and reports a bad one by its row on the sheet.
"""
from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass, field
from typing import Any, Callable

import pandas as pd

from ..core.clv import parse_horizon
from ..core.experiments import parse_lift, parse_share
from ..core.errors import RfmError
from ..core.rfm import parse_as_of
from ..writers.layout import SheetSpec, TableSpec
from ..core.validation import MAX_SEED
from . import cell_values, convert

#: Name of the settings sheet.
SHEET_NAME = "RFM Settings"
#: Name of the Excel Table holding the settings.
TABLE_NAME = "RFM_Settings"
#: Header of the settings table.
HEADER = ("Setting", "Value")
#: Column (1-based) of the description beside each setting.
DESCRIPTION_COLUMN = 4


@dataclass(frozen=True)
class Setting:
    """One entry of the settings table.

    Attributes
    ----------
    key : str
        Python name (a keyword of :class:`Settings`).
    label : str
        Text in the "Setting" column.
    default : object
        Value written by "reset" (None: an empty cell).
    description : str
        Help text written beside the value.
    parse : callable
        ``parse(label, cell) -> value``; raises ``RfmError`` for a bad cell.
    """

    key: str
    label: str
    default: Any
    description: str
    parse: Callable[[str, Any], Any] = field(repr=False)


def _date(label: str, value: Any) -> pd.Timestamp | None:
    return convert.excel_date(label, value)


def _int(low: int, high: int | None = None, auto: bool = False) -> Callable[[str, Any], Any]:
    def parse(label: str, value: Any) -> int | None:
        if auto and isinstance(value, str) and value.strip().lower() == "auto":
            return None
        return convert.whole_number(label, value, None, low, high)

    return parse


def _choice(*choices: str) -> Callable[[str, Any], Any]:
    def parse(label: str, value: Any) -> str | None:
        return convert.text_option(label, value, choices, None)

    return parse


def _weights(label: str, value: Any) -> tuple[float, float, float] | None:
    if convert.is_blank(value):
        return None
    return convert.weights_of(label, value)


def _name(label: str, value: Any) -> str | None:
    if convert.is_blank(value):
        return None
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value).strip()


def _separator(*allowed: str) -> Callable[[str, Any], Any]:
    names = {"space": " ", "apostrophe": "'", "none": None, "comma": ",", "period": ".", "dot": "."}

    def parse(label: str, value: Any) -> str | None:
        if value is None or (isinstance(value, str) and value == ""):
            return None
        text = str(value)
        text = names.get(text.strip().lower(), text) if text.strip() else text
        if text is not None and text not in allowed:
            shown = ", ".join(repr(a) for a in allowed)
            raise RfmError(f"{label}: {value!r} is not one of {shown} (or a word: comma, period, space, none).")
        return text

    return parse


def _connection(label: str, value: Any) -> str | None:
    """A connection name (or a URL without a password): credentials stay outside the workbook."""
    from ..sources.connections import check_setting

    name = _name(label, value)
    return None if name is None else check_setting(label, name)


def _table_name(label: str, value: Any) -> str | None:
    """A table name: checked here (letters, digits, _ and schema.table), quoted when read."""
    from ..sources.connections import split_identifier

    name = _name(label, value)
    if name is not None:
        try:
            split_identifier(name)
        except RfmError as exc:
            raise RfmError(f"{label}: {exc}") from None
    return name


def _switch(label: str, value: Any) -> bool | None:
    if isinstance(value, bool):
        return value
    choice = convert.text_option(label, value, ("off", "on", "no", "yes", "false", "true"), None)
    return None if choice is None else choice in ("on", "yes", "true")


def _core(parse_value: Callable[[Any], Any]) -> Callable[[str, Any], Any]:
    """A setting read by a core parser (the CLI's too): empty means the default; its message
    gains the setting's label."""
    def parse(label: str, value: Any) -> Any:
        if convert.is_blank(value):
            return None
        try:
            return parse_value(value)
        except RfmError as exc:
            raise RfmError(f"{label}: {exc}") from None

    return parse


#: A horizon in days: a number of days, or text such as 12m, 52w, 365d.
_span = _core(parse_horizon)
_lift_setting = _core(parse_lift)


def _number(low: float | None = None, above: float | None = None) -> Callable[[str, Any], Any]:
    def parse(label: str, value: Any) -> float | None:
        return convert.real_number(label, value, None, low=low, above=above)

    return parse


def _names(label: str, value: Any) -> tuple[str, ...] | None:
    if convert.is_blank(value):
        return None
    names = tuple(part.strip() for part in str(value).split(",") if part.strip())
    return names or None


def _share_setting(label: str, value: Any) -> float | None:
    share = _core(parse_share)(label, value)
    if share is not None and not 0 < share < 1:
        raise RfmError(f"{label}: must be between 0 and 1 (e.g. 10%), not {value!r}.")
    return share


def _window(label: str, value: Any) -> int | None:
    days = convert.whole_number(label, value, None, 1)
    if days is not None and days not in (30, 60, 90):
        raise RfmError(f"{label}: must be 30, 60 or 90, not {days}.")
    return days


def _dayfirst(label: str, value: Any) -> bool | None:
    choice = convert.text_option(label, value, ("auto", "day-first", "month-first"), "auto")
    return {"auto": None, "day-first": True, "month-first": False}[choice]


#: Every setting, in sheet order. Later features append entries here.
SETTINGS: tuple[Setting, ...] = (
    Setting("as_of", "As-of date", None,
            "Recency is counted in days up to this date; empty: the day after the last transaction.", _date),
    Setting("bins", "Bins", 5, "Number of score levels for R, F and M, 2 to 9.", _int(2, 9)),
    Setting("method", "Method", "balanced",
            "balanced (equal values share a score, even bands) or quantile (classic cut points).",
            _choice("balanced", "quantile")),
    Setting("weights", "Weights", "1,1,1", "Weights of R, F and M in the RFM score and the clustering, e.g. 2,1,1.",
            _weights),
    Setting("k", "Clusters (k)", "auto", "Number of K-Means clusters, or auto (elbow method).", _int(2, auto=True)),
    Setting("k_max", "Largest k tried", 10, "Largest number of clusters tried when k is auto.", _int(2, 50)),
    Setting("seed", "Seed", 0, "Seed of the samples behind the silhouette and the cluster stability figures.", _int(0, MAX_SEED)),
    Setting("customer", "Customer column", None, "Header of the customer id column; empty: detected.", _name),
    Setting("date", "Date column", None, "Header of the transaction date column; empty: detected.", _name),
    Setting("amount", "Amount column", None, "Header of the amount column; empty: detected.", _name),
    Setting("order", "Order column", None, "Header of the order / invoice id column; empty: detected.", _name),
    Setting("recency", "Recency column", None,
            "Customer-level tables (Cluster button): header of the recency column; empty: detected.", _name),
    Setting("frequency", "Frequency column", None,
            "Customer-level tables: header of the frequency column; empty: detected.", _name),
    Setting("monetary", "Monetary column", None,
            "Customer-level tables: header of the monetary column; empty: detected.", _name),
    Setting("decimal", "Decimal separator", ".", "How text amounts mark decimals: . or ,", _separator(".", ",")),
    Setting("thousands", "Thousands separator", None,
            "How text amounts group thousands: , . space ' or empty for none.",
            _separator(",", ".", " ", "'", "\u00a0")),
    Setting("dayfirst", "Date order", "auto", "For text dates such as 03/04/2024: auto, day-first or month-first.",
            _dayfirst),
    Setting("connection", "Connection", None,
            "Load data button: name of a database connection kept outside the workbook (environment variable "
            "RFM_CONNECTION_<NAME> or the user's rfm_addin/connections.toml). Never a password here.", _connection),
    Setting("table", "Table", None, "Load data button: the table to read, e.g. sales or public.sales.", _table_name),
    Setting("compare_from", "Compare from", None,
            "Compare periods button: the earlier as-of date (inclusive).", _date),
    Setting("compare_to", "Compare to", None,
            "Compare periods button: the later as-of date (inclusive); empty: the day after the last transaction.",
            _date),
    Setting("compare_mode", "Compare mode", "relative",
            "relative (each date on its own cut points) or absolute (both on the earlier date's).",
            _choice("relative", "absolute")),
    Setting("compare_window", "Active window (days)", None,
            "Compare periods: keep only customers with a purchase in this many days before each date; empty: "
            "everyone who bought.", _int(1, 100_000)),
    Setting("clv", "Lifetime value", "off",
            "Analyze button: on adds expected purchases, churn risk and CLV per customer and an RFM CLV sheet "
            "(Pareto/NBD and Gamma-Gamma models fitted on the data; not with Load from database).", _switch),
    Setting("clv_horizon", "CLV horizon", 365, "The future period valued: a number of days, or 12m, 52w, 365d.",
            _span),
    Setting("clv_discount", "Yearly discount rate", 0.1, "CLV: each month's value is discounted at this yearly rate, "
            "e.g. 0.1 or 10%.", _number(above=-1)),
    Setting("clv_margin", "Margin", 1, "CLV: the share of spend that is profit (1 = value revenue).", _number(low=0)),
    Setting("churn_days", "Churn horizon", None,
            "Churn risk = probability of no purchase within this span (e.g. 90d, 6m); empty: the data's lapse "
            "threshold.", _span),
    Setting("clv_calibration_end", "CLV check from", None,
            "CLV check button: the last day the models learn from; the days after it are the holdout.", _date),
    Setting("clv_holdout_end", "CLV check to", None,
            "CLV check button: the last day of the holdout; empty: the last transaction.", _date),
    Setting("test_segments", "Test segments", None,
            "Plan test button: the segments to plan for, separated by commas; empty: every segment.", _names),
    Setting("test_lift", "Test lift", "2pp",
            "Plan test: the lift hoped for, 2pp (percentage points) or 20% (relative to the segment's baseline).",
            _lift_setting),
    Setting("test_holdout", "Test holdout", "10%", "Plan test: the share of each segment held out, e.g. 10%.",
            _share_setting),
    Setting("test_window", "Test window (days)", 30,
            "Plan test: days after the campaign in which a purchase counts: 30, 60 or 90.", _window),
    Setting("usage_events", "Usage events sheet", None,
            "Build usage table button: the sheet (or Excel Table) with the event log (user, timestamp, event); "
            "empty: the active sheet. When set, Compare groups also plans a retention test for the weaker group "
            "from it.", _name),
    Setting("usage_payments", "Usage payments sheet", None,
            "Build usage table: the sheet (or Excel Table) with payments (user, date, amount, plan); empty: no "
            "MRR.", _name),
    Setting("compare_by", "Compare groups by", "cluster",
            "Compare groups button: the column whose groups are compared (cluster, segment...).", _name),
    Setting("compare_a", "Compare group A", None, "Compare groups: the first group, e.g. 3.", _name),
    Setting("compare_b", "Compare group B", None, "Compare groups: the group it is compared with, e.g. 1.", _name),
)

_BY_KEY = {s.key: s for s in SETTINGS}


def _norm(text: Any) -> str:
    return re.sub(r"[^0-9a-z]", "", str(text).lower())


_LOOKUP = {**{_norm(s.label): s for s in SETTINGS}, **{_norm(s.key): s for s in SETTINGS}}


@dataclass
class Settings:
    """Parsed settings; every field None means "automatic" or "detect"."""

    as_of: pd.Timestamp | None = None
    bins: int = 5
    method: str = "balanced"
    weights: tuple[float, float, float] = (1.0, 1.0, 1.0)
    k: int | None = None
    k_max: int = 10
    seed: int = 0
    customer: str | None = None
    date: str | None = None
    amount: str | None = None
    order: str | None = None
    recency: str | None = None
    frequency: str | None = None
    monetary: str | None = None
    decimal: str = "."
    thousands: str | None = None
    dayfirst: bool | None = None
    connection: str | None = None
    table: str | None = None
    compare_from: pd.Timestamp | None = None
    compare_to: pd.Timestamp | None = None
    compare_mode: str = "relative"
    compare_window: int | None = None
    clv: bool = False
    clv_horizon: float = 365.0
    clv_discount: float = 0.1
    clv_margin: float = 1.0
    churn_days: float | None = None
    clv_calibration_end: pd.Timestamp | None = None
    clv_holdout_end: pd.Timestamp | None = None
    test_segments: tuple[str, ...] | None = None
    test_lift: tuple[float, bool] = (0.02, False)
    test_holdout: float = 0.1
    test_window: int = 30
    usage_events: str | None = None
    usage_payments: str | None = None
    compare_by: str = "cluster"
    compare_a: str | None = None
    compare_b: str | None = None

    def migration_kwargs(self) -> dict[str, Any]:
        """Keyword arguments of :func:`rfm_addin.migration` for these settings (dates aside)."""
        return {"customer": self.customer, "date": self.date, "amount": self.amount, "order": self.order,
                "mode": self.compare_mode, "window": self.compare_window, "bins": self.bins,
                "method": self.method, "decimal": self.decimal, "thousands": self.thousands,
                "dayfirst": self.dayfirst}

    def analyze_kwargs(self) -> dict[str, Any]:
        """Keyword arguments of :func:`rfm_addin.analyze` for these settings."""
        return {"customer": self.customer, "date": self.date, "amount": self.amount, "order": self.order,
                "as_of": self.as_of, "bins": self.bins, "method": self.method, "weights": self.weights,
                "k": self.k, "k_range": range(2, self.k_max + 1), "random_state": self.seed,
                "decimal": self.decimal, "thousands": self.thousands, "dayfirst": self.dayfirst,
                "clv": self.clv, "horizon_days": self.clv_horizon, "annual_discount": self.clv_discount,
                "margin": self.clv_margin, "churn_days": self.churn_days}

    def plan_kwargs(self) -> dict[str, Any]:
        """Keyword arguments of :func:`rfm_addin.plan_campaign` for these settings."""
        return {"segments": list(self.test_segments) if self.test_segments else None, "lift": self.test_lift[0],
                "relative": self.test_lift[1], "holdout": self.test_holdout, "window": self.test_window,
                "random_state": self.seed, "as_of": self.as_of, "bins": self.bins, "customer": self.customer,
                "date": self.date, "amount": self.amount, "order": self.order, "decimal": self.decimal,
                "thousands": self.thousands, "dayfirst": self.dayfirst}

    def clv_check_kwargs(self) -> dict[str, Any]:
        """Keyword arguments of :func:`rfm_addin.clv_check` for these settings (dates aside)."""
        return {"customer": self.customer, "date": self.date, "amount": self.amount, "order": self.order,
                "decimal": self.decimal, "thousands": self.thousands, "dayfirst": self.dayfirst}


def parse_rows(rows: list[list], first_row: int = 1) -> Settings:
    """Settings from the cells of the settings sheet (any rows, label then value).

    Parameters
    ----------
    rows : list of list
        The sheet's used range; the first cell of a row is a label, the next its value.
    first_row : int
        Sheet row number of ``rows[0]``, for messages.

    Raises
    ------
    RfmError
        A bad value, as "RFM Settings, row N: ...".
    """
    values: dict[str, Any] = {}
    as_of_text: tuple[int, str] | None = None
    for i, row in enumerate(rows):
        if not row or convert.is_blank(row[0]):
            continue
        setting = _LOOKUP.get(_norm(row[0]))
        if setting is None:
            continue
        cell = row[1] if len(row) > 1 else None
        if setting.key == "as_of" and isinstance(cell, str) and not convert.is_blank(cell):
            as_of_text = (first_row + i, cell)      # read below, in the sheet's own date order
            continue
        try:
            parsed = setting.parse(setting.label, cell)
        except RfmError as exc:
            raise RfmError(f"{SHEET_NAME}, row {first_row + i}: {exc}") from None
        if parsed is not None:
            values[setting.key] = parsed
    if as_of_text is not None:
        row_number, text = as_of_text
        try:
            values["as_of"] = parse_as_of(text, values.get("dayfirst"))
        except RfmError as exc:
            raise RfmError(f"{SHEET_NAME}, row {row_number}: {exc}") from None
    return Settings(**values)


def find_sheet(book: Any) -> Any | None:
    """The settings sheet of a book (name compared case-insensitively), or None."""
    for sheet in book.sheets:
        if sheet.name.strip().casefold() == SHEET_NAME.casefold():
            return sheet
    return None


def read_settings(book: Any) -> Settings:
    """The book's settings; defaults when it has no settings sheet."""
    sheet = find_sheet(book)
    if sheet is None:
        return Settings()
    used = sheet.used_range
    rows = cell_values.read_values(used)
    return parse_rows(rows, used.row)


def _default_cell(value: Any) -> Any:
    return "" if value is None else value


def settings_sheet(values: dict[str, Any] | None = None) -> SheetSpec:
    """The settings sheet as a layout sheet (defaults, or the given values by key)."""
    values = values or {}
    frame = pd.DataFrame({
        "setting": [s.label for s in SETTINGS],
        "value": [_default_cell(values.get(s.key, s.default)) for s in SETTINGS],
    })
    table = TableSpec(TABLE_NAME, frame, list(HEADER), ["text", "general"])
    return SheetSpec(SHEET_NAME, "RFM settings",
                     "Change a value in the Value column; an empty value means the default or automatic. "
                     "The Analyze and Cluster buttons read this sheet.", [table])


def descriptions() -> list[list[str]]:
    """The help text beside each setting row, as one column of cells."""
    return [[s.description] for s in SETTINGS]


def as_text(value: Any) -> str:
    """A setting value as shown in messages."""
    if isinstance(value, (dt.date, pd.Timestamp)):
        return f"{value:%Y-%m-%d}"
    return str(value)
