"""The output workbook described once, as data: sheets, titles, tables, headers, formats.

Two writers render this description: the file writer (:mod:`rfm_addin.writers.xlsx`,
used by ``Analysis.to_excel`` and the CLI) and the live writer of the Excel layer
(xlwings). Adding a sheet means adding one :class:`SheetSpec` here; neither writer knows
what the sheets contain.

Every result is a named Excel Table with a header row (pivot tables, slicers and filters
work at once) whose columns carry a number format kind from :data:`NUMBER_FORMATS`.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING

import numpy as np
import pandas as pd

if TYPE_CHECKING:  # pragma: no cover
    from .analysis import Analysis

#: Prefix of every sheet the add-in owns; re-running replaces only these sheets.
SHEET_PREFIX = "RFM "

#: Excel number formats by kind.
NUMBER_FORMATS = {
    "text": "@",
    "int": "#,##0",
    "days": "#,##0",
    "money": "#,##0.00",
    "decimal": "#,##0.00",
    "share": "0.0%",
    "date": "yyyy-mm-dd",
    "score": "0",
    "general": "General",
}

#: Header label and format kind of each known column; unknown columns are shown as named.
COLUMNS: dict[str, tuple[str, str]] = {
    "recency": ("Recency (days)", "days"),
    "frequency": ("Frequency", "int"),
    "monetary": ("Monetary", "money"),
    "first_purchase": ("First purchase", "date"),
    "last_purchase": ("Last purchase", "date"),
    "avg_order_value": ("Avg order value", "money"),
    "r_score": ("R score", "score"),
    "f_score": ("F score", "score"),
    "m_score": ("M score", "score"),
    "rfm_code": ("RFM code", "text"),
    "rfm_score": ("RFM score", "decimal"),
    "segment": ("Segment", "text"),
    "cluster": ("Cluster", "int"),
    "cluster_name": ("Cluster name", "text"),
    "customers": ("Customers", "int"),
    "customer_share": ("Share of customers", "share"),
    "recency_mean": ("Mean recency (days)", "decimal"),
    "recency_median": ("Median recency (days)", "decimal"),
    "frequency_mean": ("Mean frequency", "decimal"),
    "frequency_median": ("Median frequency", "decimal"),
    "monetary_mean": ("Mean monetary", "money"),
    "monetary_median": ("Median monetary", "money"),
    "revenue": ("Revenue", "money"),
    "revenue_share": ("Share of revenue", "share"),
    "description": ("Description", "text"),
    "action": ("Recommended action", "text"),
    "metric": ("Metric", "text"),
    "score": ("Score", "score"),
    "min": ("From", "decimal"),
    "max": ("To", "decimal"),
    "meaning": ("Meaning", "text"),
    "k": ("k", "int"),
    "inertia": ("Inertia", "decimal"),
    "silhouette": ("Silhouette", "decimal"),
    "chosen": ("Chosen", "general"),
    "check": ("Check", "text"),
    "count": ("Count", "int"),
    "unit": ("Unit", "text"),
    "amount": ("Amount", "money"),
    "treatment": ("Treatment", "text"),
    "finding": ("Finding", "text"),
    "number": ("No.", "int"),
    "parameter": ("Parameter", "text"),
    "value": ("Value", "general"),
}


@dataclass
class TableSpec:
    """One Excel Table: its name, data (columns in order) and per-column format kinds."""

    name: str
    frame: pd.DataFrame
    headers: list[str] = field(default_factory=list)
    formats: list[str] = field(default_factory=list)


@dataclass
class SheetSpec:
    """One sheet: a name (starting with :data:`SHEET_PREFIX`), a title, a note and tables."""

    name: str
    title: str
    note: str
    tables: list[TableSpec]


#: Sheets of the Cluster button (a customer-level table clustered in place).
CLUSTER_SHEETS = ("RFM Clustered Data", "RFM Cluster Profile", "RFM Cluster K")

K_SELECTION_NOTE = ("Inertia (lower is tighter) and silhouette (higher is better separated) for each k; "
                    "the elbow of the inertia curve picks k.")

#: Rows above the first table: title, note, blank.
TABLE_START_ROW = 4


def table_spec(name: str, frame: pd.DataFrame, index: str | None = None) -> TableSpec:
    """Describe a DataFrame as a table, labelling known columns and choosing formats.

    ``index`` names the index column to include first (e.g. the customer id header, or
    "segment"); known names get their label and format, others keep their name as text.
    """
    data = frame.reset_index(names=index) if index is not None else frame.reset_index(drop=True)
    headers, formats = [], []
    for col in data.columns:
        known = COLUMNS.get(str(col))
        if known is None:
            # A column named by the user (the customer id, kept columns): its own name; an
            # index is an id, so text.
            known = (str(col), "text" if col == index else "general")
        label, kind = known
        headers.append(label)
        formats.append(kind)
    return TableSpec(name=name, frame=data, headers=headers, formats=formats)


def _parameters_frame(analysis: "Analysis") -> pd.DataFrame:
    rows = [(key, value if isinstance(value, (int, float)) and not isinstance(value, bool) else
             (f"{value:%Y-%m-%d}" if isinstance(value, pd.Timestamp) else str(value)))
            for key, value in analysis.parameters.items()]
    return pd.DataFrame(rows, columns=["parameter", "value"])


def analysis_sheets(analysis: "Analysis") -> list[SheetSpec]:
    """The result sheets of an analysis, in workbook order."""
    customers = analysis.customers
    id_name = customers.index.name or "Customer"
    basis = analysis.parameters.get("frequency_basis", "")
    as_of = f"{analysis.as_of:%Y-%m-%d}"
    findings = pd.DataFrame({"number": range(1, len(analysis.insights) + 1), "finding": analysis.insights})
    return [
        SheetSpec("RFM Insights", "Findings",
                  f"Computed from the data, as of {as_of}.",
                  [table_spec("RFM_Insights", findings)]),
        SheetSpec("RFM Customers", "Customers with RFM scores, segment and cluster",
                  f"One row per customer. Recency: days from the last purchase to {as_of}; frequency: {basis}; "
                  "monetary: net spend (returns subtract). Scores: higher is better.",
                  [table_spec("RFM_Customers", customers, index=id_name)]),
        SheetSpec("RFM Segments", "Segments",
                  "Customers, revenue and typical values per segment, most revenue first, "
                  "with what each segment means and what to do.",
                  [table_spec("RFM_Segments", analysis.segment_summary, index="segment")]),
        SheetSpec("RFM Clusters", "K-Means clusters",
                  "Clusters numbered by mean monetary, highest first; each named after the segment of its center.",
                  [table_spec("RFM_Clusters", analysis.cluster_profile, index="cluster")]),
        SheetSpec("RFM K Selection", "Choosing the number of clusters", K_SELECTION_NOTE,
                  [table_spec("RFM_KSelection", analysis.k_selection)]),
        SheetSpec("RFM Thresholds", "What each score means",
                  "The range of values behind every R, F and M score.",
                  [table_spec("RFM_Thresholds", analysis.thresholds)]),
        SheetSpec("RFM Quality", "Data quality",
                  "Every cleaning step, counted; then the parameters of this analysis.",
                  [table_spec("RFM_Quality", analysis.quality), table_spec("RFM_Parameters", _parameters_frame(analysis))]),
    ]


def cluster_sheets(frame: pd.DataFrame, keep: np.ndarray, labels: pd.Series, names: pd.Series,
                  profile_frame: pd.DataFrame, k_selection: pd.DataFrame) -> list[SheetSpec]:
    """The sheets written by the ribbon's Cluster button (``rfm_addin.excel.macros.cluster_sheet``)."""
    copy = frame.loc[keep].reset_index(drop=True)
    formats = ["date" if pd.api.types.is_datetime64_any_dtype(copy[c]) else "general" for c in copy.columns]
    copy["__cluster"] = labels.to_numpy()
    copy["__cluster_name"] = labels.map(names).to_numpy()
    data = TableSpec("RFM_ClusteredData", copy, [str(c) for c in frame.columns] + ["Cluster", "Cluster name"],
                     formats + ["int", "text"])
    return [
        SheetSpec(CLUSTER_SHEETS[0], "Customers with their K-Means cluster",
                  "A copy of the customer table with the cluster of each row; the source sheet is unchanged. "
                  "Clusters are numbered by mean monetary value, highest first.", [data]),
        SheetSpec(CLUSTER_SHEETS[1], "Cluster profiles",
                  "Customers, shares and typical recency, frequency and monetary value per cluster.",
                  [table_spec("RFM_ClusterProfile", profile_frame, index="cluster")]),
        SheetSpec(CLUSTER_SHEETS[2], "Choosing the number of clusters",
                  K_SELECTION_NOTE, [table_spec("RFM_ClusterK", k_selection)]),
    ]
