"""The data-quality report: every cleaning step, counted, so nothing disappears silently.

Each line says what was checked, how many rows or customers it touched, the amount
involved (where money is involved) and what was done about it. The report travels with
every result (the "RFM Quality" sheet) so a reader can see why totals differ from the
export they started from.
"""
from __future__ import annotations

from dataclasses import dataclass, field

import pandas as pd

#: Columns of the report table, in order.
REPORT_COLUMNS = ["check", "count", "unit", "amount", "treatment"]


@dataclass
class QualityReport:
    """An ordered list of counted checks.

    Use :meth:`add` while cleaning and :meth:`to_frame` to show it. ``counts`` gives the
    numbers by key for programs and tests (e.g. ``report.counts["blank_rows"]``).
    """

    lines: list[dict] = field(default_factory=list)
    counts: dict[str, float] = field(default_factory=dict)

    def copy(self) -> "QualityReport":
        """An independent copy (for results that share the stages before it)."""
        return QualityReport(lines=[dict(line) for line in self.lines], counts=dict(self.counts))

    def add(self, key: str, check: str, count: float, unit: str, treatment: str,
            amount: float | None = None, always: bool = False) -> None:
        """Record one check; checks that found nothing are listed only when ``always``."""
        self.counts[key] = count
        if key + "_amount" not in self.counts and amount is not None:
            self.counts[key + "_amount"] = amount
        if count or always:
            self.lines.append({"check": check, "count": count, "unit": unit,
                               "amount": amount, "treatment": treatment})

    def to_frame(self) -> pd.DataFrame:
        """The report as a table with columns check, count, unit, amount, treatment."""
        frame = pd.DataFrame(self.lines, columns=REPORT_COLUMNS)
        frame["count"] = frame["count"].astype("int64")
        frame["amount"] = frame["amount"].astype("float64")
        return frame
