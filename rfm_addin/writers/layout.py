"""The output workbook described once, as data: sheets, titles, tables, headers, formats.

Two writers render this description: the file writer (:mod:`rfm_addin.writers.xlsx`,
used by ``Analysis.to_excel`` and the CLI) and the live writer of the Excel layer
(xlwings). Adding a sheet means adding one :class:`SheetSpec` here; neither writer knows
what the sheets contain.

Every result is a named Excel Table with a header row (pivot tables, slicers and filters
work at once) whose columns carry a number format kind from :data:`NUMBER_FORMATS`.

Charts (:class:`ChartSpec`), colour scales (:class:`ConditionalFormatSpec`), segment
colours (:data:`SEGMENT_COLOURS`), freeze panes and where each table and chart sits are
described here too, as data that refers to tables and columns by name; the numbers behind
every chart are a table on the same sheet, computed by :mod:`rfm_addin.core.summaries`.
"""
from __future__ import annotations

import re
import zlib
from dataclasses import dataclass, field, replace
from typing import TYPE_CHECKING, Iterable

import numpy as np
import pandas as pd

from ..core import summaries, value_findings
from ..core.columns import input_names
from ..core.labels import COLUMNS, reserved_names  # COLUMNS re-exported: the labels of every known column

if TYPE_CHECKING:  # pragma: no cover
    from ..core.analysis import Analysis

#: Prefix of every sheet the add-in owns; re-running updates only these sheets, in place.
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



#: One colour per default segment, used by every chart and table of a workbook (bars of the
#: segment charts, the segment cells of the Summary and Segments tables). Light enough for
#: black text on top. Segments of user rules get a colour of :data:`EXTRA_COLOURS`.
SEGMENT_COLOURS: dict[str, str] = {
    "Champions": "#57BB8A",
    "Loyal Customers": "#9BD08A",
    "Potential Loyalists": "#C8E6A0",
    "New Customers": "#7FC8F8",
    "Promising": "#B3DDF9",
    "Need Attention": "#FFE08A",
    "About To Sleep": "#FFC58A",
    "At Risk": "#F4A261",
    "Can't Lose Them": "#E88C73",
    "Hibernating": "#C9B8A8",
    "Lost": "#BDBDBD",
}
#: Colours of segments not in :data:`SEGMENT_COLOURS` (chosen by a stable hash of the name).
EXTRA_COLOURS = ("#B39DDB", "#80CBC4", "#F48FB1", "#A5D6A7", "#FFF59D", "#90CAF9", "#FFAB91", "#CE93D8")
#: Line colours of clusters 1, 2, ... (snake plot).
CLUSTER_COLOURS = ("#4E79A7", "#F28E2B", "#E15759", "#76B7B2", "#59A14F", "#EDC948", "#B07AA1", "#FF9DA7",
                   "#9C755F", "#BAB0AC")
#: Colours of the two series of the K selection chart and of the chosen-k marker.
K_COLOURS = {"inertia": "#4E79A7", "silhouette": "#F28E2B", "chosen_inertia": "#E15759"}
#: 3-colour scale of the R x F heat maps: lowest, median, highest.
HEAT_COLOURS = ("#F8F9FB", "#FFE699", "#63BE7B")


def segment_colour(name: str) -> str:
    """The colour of a segment in every chart and table (hex ``#RRGGBB``)."""
    name = str(name)
    if name in SEGMENT_COLOURS:
        return SEGMENT_COLOURS[name]
    return EXTRA_COLOURS[zlib.crc32(name.encode("utf-8")) % len(EXTRA_COLOURS)]


def cluster_colour(position: int) -> str:
    """The line colour of the ``position``-th cluster (0-based)."""
    return CLUSTER_COLOURS[position % len(CLUSTER_COLOURS)]


@dataclass
class TableSpec:
    """One Excel Table: its name, data (columns in order) and per-column format kinds.

    ``gap_before`` adds blank rows above the table (room for charts), ``fit_width`` False
    leaves the column widths to other tables (long sentences overflow to the right), and
    ``colour_by`` names a column whose cells are filled with :func:`segment_colour`.
    """

    name: str
    frame: pd.DataFrame
    headers: list[str] = field(default_factory=list)
    formats: list[str] = field(default_factory=list)
    gap_before: int = 0
    fit_width: bool = True
    colour_by: str | None = None


@dataclass(frozen=True)
class SeriesSpec:
    """One chart series: a column of the chart's table (its header names the series)."""

    column: str
    secondary: bool = False
    colour: str | None = None
    line: bool = True
    marker: str | None = None


@dataclass
class ChartSpec:
    """One native Excel chart drawn from a table of the same sheet.

    Attributes
    ----------
    name : str
        Chart name (unique in the workbook).
    kind : str
        "bar" (horizontal), "bar_stacked_100" (horizontal, each bar 100%), "column", "line" or
        "scatter" (lines between points).
    title : str
    table : str
        Name of the table holding the data.
    categories : str
        Column of the categories (x values of a scatter chart).
    series : list of SeriesSpec
        Columns plotted, side by side in the table (the live writer sets them as one range).
    anchor : (int, int)
        0-based (row, column) of the cell under the chart's top-left corner.
    size : (int, int)
        Width and height in pixels.
    x_title, y_title, y2_title : str
        Axis titles (y2: the secondary value axis).
    x_format, y_format, y2_format : str
        Number formats of the axes (Excel codes).
    point_colours : list of str, optional
        One fill colour per category (segment colours of a bar chart).
    reverse_categories : bool
        Categories from the top down (bar charts list the first row at the top).
    data_labels : bool
        Show each bar's value.
    """

    name: str
    kind: str
    title: str
    table: str
    categories: str
    series: list[SeriesSpec]
    anchor: tuple[int, int]
    size: tuple[int, int] = (520, 300)
    x_title: str | None = None
    y_title: str | None = None
    y2_title: str | None = None
    x_format: str | None = None
    y_format: str | None = None
    y2_format: str | None = None
    point_colours: list[str] | None = None
    reverse_categories: bool = False
    data_labels: bool = False


@dataclass
class ConditionalFormatSpec:
    """A 3-colour scale (lowest, 50th percentile, highest) over the data of table columns."""

    table: str
    columns: list[str]
    colours: tuple[str, str, str] = HEAT_COLOURS


@dataclass
class SheetSpec:
    """One sheet: a name (starting with :data:`SHEET_PREFIX`), a title, a note and tables.

    ``charts`` and ``conditional_formats`` refer to the sheet's tables by name. ``freeze``
    keeps the rows down to a table's header in view (default: when the sheet has one table).
    """

    name: str
    title: str
    note: str
    tables: list[TableSpec]
    charts: list[ChartSpec] = field(default_factory=list)
    conditional_formats: list[ConditionalFormatSpec] = field(default_factory=list)
    freeze: bool | None = None

    @property
    def frozen_rows(self) -> int:
        """Rows kept in view when scrolling (0: none): title, note and the table header."""
        freeze = len(self.tables) == 1 if self.freeze is None else self.freeze
        return TABLE_START_ROW if freeze and self.tables else 0


def table_tops(spec: SheetSpec) -> list[int]:
    """The 1-based header row of each table: the first at :data:`TABLE_START_ROW`, the next
    two blank rows (plus its ``gap_before``) below the previous one's last row."""
    tops, row = [], TABLE_START_ROW
    for table in spec.tables:
        row += table.gap_before
        tops.append(row)
        row += max(len(table.frame), 1) + 1 + 2
    return tops


@dataclass(frozen=True)
class Cells:
    """Where a column of a table is: 0-based header row, first and last data rows, column."""

    header: int
    first: int
    last: int
    column: int


def locate(spec: SheetSpec, table: str, column: str) -> Cells:
    """The cells of ``column`` of the table named ``table`` on a sheet (0-based)."""
    for t, top in zip(spec.tables, table_tops(spec)):
        if t.name == table:
            position = list(t.frame.columns).index(column)
            return Cells(top - 1, top, top - 1 + max(len(t.frame), 1), position)
    raise KeyError(f"{spec.name}: no table {table!r}")


# --------------------------------------------------------------------------------------
# Names that Excel accepts
# --------------------------------------------------------------------------------------
_SHEET_FORBIDDEN = re.compile(r"[\[\]:*?/\\\x00-\x1f\x7f]")
_CELL_LIKE = re.compile(r"^(?:[A-Za-z]{1,3}[0-9]+|[Rr][0-9]*[Cc][0-9]*|[RrCc])$")
SHEET_NAME_MAX = 31
TABLE_NAME_MAX = 255


def sheet_name(name: str, taken: Iterable[str] = ()) -> str:
    """A valid sheet name close to ``name``, unique (case-insensitively) among ``taken``.

    Excel's rules: 1 to 31 characters, none of ``[ ] : * ? / \\``, no leading or trailing
    apostrophe, not "History". Forbidden characters (and control characters) become "_";
    a clash gets " (2)", " (3)"... within the 31 characters.
    """
    text = _SHEET_FORBIDDEN.sub("_", str(name)).strip().strip("'").strip()
    if not text or text.casefold() == "history":
        text = (text + " sheet").strip() if text else "Sheet"
    text = text[:SHEET_NAME_MAX].rstrip().rstrip("'") or "Sheet"
    used = {t.casefold() for t in taken}
    candidate, k = text, 1
    while candidate.casefold() in used:
        k += 1
        suffix = f" ({k})"
        candidate = text[:SHEET_NAME_MAX - len(suffix)].rstrip().rstrip("'") + suffix
    return candidate


def table_name(name: str, taken: Iterable[str] = ()) -> str:
    """A valid Excel table name close to ``name``, unique (case-insensitively) among ``taken``.

    Excel's rules: starts with a letter or underscore; then letters, digits, underscores
    and periods; at most 255 characters; not a cell reference ("A1", "R1C1", "R", "C").
    Other characters become "_"; a clash gets "_2", "_3"...
    """
    text = "".join(ch if (ch.isalnum() and ch.isascii()) or ch in "_." or (ch.isalpha()) else "_"
                   for ch in str(name))
    if not text or not (text[0].isalpha() or text[0] == "_"):
        text = "_" + text
    if _CELL_LIKE.match(text):
        text = "_" + text
    text = text[:TABLE_NAME_MAX]
    used = {t.casefold() for t in taken}
    candidate, k = text, 1
    while candidate.casefold() in used:
        k += 1
        suffix = f"_{k}"
        candidate = text[:TABLE_NAME_MAX - len(suffix)] + suffix
    return candidate


def checked(sheets: list[SheetSpec]) -> list[SheetSpec]:
    """The sheets with valid, unique sheet, table and chart names (references follow)."""
    taken_sheets: list[str] = []
    taken_tables: list[str] = []
    taken_charts: list[str] = []
    out = []
    for spec in sheets:
        name = sheet_name(spec.name, taken_sheets)
        taken_sheets.append(name)
        renamed = {}
        tables = []
        for t in spec.tables:
            new = table_name(t.name, taken_tables)
            taken_tables.append(new)
            renamed[t.name] = new
            tables.append(t if new == t.name else replace(t, name=new))
        charts = []
        for c in spec.charts:
            chart = table_name(c.name, taken_charts)
            taken_charts.append(chart)
            charts.append(replace(c, name=chart, table=renamed.get(c.table, c.table)))
        formats = [replace(f, table=renamed.get(f.table, f.table)) for f in spec.conditional_formats]
        out.append(replace(spec, name=name, tables=tables, charts=charts, conditional_formats=formats))
    return out


#: Sheets of the Cluster button (a customer-level table clustered in place).
CLUSTER_SHEETS = ("RFM Clustered Data", "RFM Cluster Profile", "RFM Cluster K")

K_SELECTION_NOTE = ("Inertia (lower is tighter) and silhouette (higher is better separated) for each k; "
                    "the elbow of the inertia curve picks k. On the chosen k's row: the mean stability of its "
                    "clusters (Jaccard over 20 refits on subsamples; 0.85 or more highly stable).")

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


#: Rows a chart of the default height takes (300 px at 20 px a row), plus one blank row.
CHART_ROWS = 16


def _right_of(spec_tables: list[TableSpec], row: int = TABLE_START_ROW - 1) -> tuple[int, int]:
    """Anchor one column to the right of the widest table, at ``row`` (0-based)."""
    return row, max(t.frame.shape[1] for t in spec_tables) + 1


def k_selection_sheet(name: str, table: str, k_selection: pd.DataFrame, title: str) -> SheetSpec:
    """The K selection sheet: the table and a line chart of inertia and silhouette against k
    (silhouette on the secondary axis; the chosen k a large marker on the inertia line)."""
    spec = SheetSpec(name, title, K_SELECTION_NOTE + " The red marker is the chosen k.",
                     [table_spec(table, summaries.k_chart_table(k_selection))])
    if len(k_selection):
        spec.charts.append(ChartSpec(
            name=f"{table}_Chart", kind="line", title="Choosing k: inertia and silhouette", table=table,
            categories="k",
            series=[SeriesSpec("inertia", colour=K_COLOURS["inertia"], marker="circle"),
                    SeriesSpec("silhouette", secondary=True, colour=K_COLOURS["silhouette"], marker="circle"),
                    SeriesSpec("chosen_inertia", colour=K_COLOURS["chosen_inertia"], line=False, marker="diamond")],
            anchor=_right_of(spec.tables), x_title="k (number of clusters)", y_title="Inertia (lower is tighter)",
            y2_title="Silhouette (higher is better)", y_format="#,##0", y2_format="0.00"))
    return spec


def summary_sheet(analysis: "Analysis") -> SheetSpec:
    """The "RFM Summary" sheet: headline figures, two segment charts, the findings as
    sentences, and per segment its size, revenue share, description and action."""
    as_of = f"{analysis.as_of:%Y-%m-%d}"
    head = summaries.headline(analysis.customers, analysis.as_of, analysis.parameters.get("k", 0) or 0)
    overview = summaries.segment_overview(analysis.segment_summary)
    findings = pd.DataFrame({"number": range(1, len(analysis.insights) + 1), "finding": analysis.insights})
    tables = [
        table_spec("RFM_Headline", head),
        table_spec("RFM_Findings", findings),
        table_spec("RFM_Overview", overview),
    ]
    tables[1].gap_before = CHART_ROWS
    tables[1].fit_width = False
    tables[2].colour_by = "segment"
    colours = [segment_colour(s) for s in overview["segment"]]
    chart_row = TABLE_START_ROW - 1 + 2 + 1  # below the headline table and a blank row
    charts = [] if overview.empty else [ChartSpec(
        name="RFM_Chart_Segments", kind="bar", title="Share of customers and of revenue per segment",
        table="RFM_Overview", categories="segment",
        series=[SeriesSpec("customer_share", colour="#A6A6A6"), SeriesSpec("revenue_share")],
        anchor=(chart_row, 0), size=(720, 300), y_format="0%", point_colours=colours, reverse_categories=True,
        data_labels=True)]
    basis = analysis.parameters.get("frequency_basis", "")
    return SheetSpec("RFM Summary", "RFM summary",
                     f"Customers as of {as_of}; frequency counts {basis}. Top 20% share: the share of revenue "
                     "from the best 20% of customers. Segments by revenue, highest first; each segment has one "
                     "colour in every chart and table.", tables, charts=charts, freeze=False)


def grid_sheet(analysis: "Analysis") -> SheetSpec:
    """The R x F heat map: customers and average monetary value per (R, F) score cell."""
    bins = int(analysis.parameters.get("bins", 5))
    counts, means = summaries.rf_grid(analysis.customers, bins)
    tables = []
    for name, frame, kind, what in (("RFM_GridCustomers", counts, "int", "Customers"),
                                    ("RFM_GridMonetary", means, "money", "Average monetary")):
        data = frame.copy()
        data.columns = [f"f{c}" for c in frame.columns]
        data = data.reset_index()
        headers = [f"R score \\ {what}"] + [f"F = {c}" for c in frame.columns]
        tables.append(TableSpec(name, data, headers, ["score"] + [kind] * bins))
    formats = [ConditionalFormatSpec(t.name, [c for c in t.frame.columns if c != "r_score"]) for t in tables]
    return SheetSpec("RFM R x F Grid", "Recency x frequency heat map",
                     "Rows: R score (5 = bought most recently), columns: F score (5 = buys most often). "
                     "First table: customers per cell; second: their average monetary value. "
                     "Greener is more.", tables, conditional_formats=formats, freeze=False)


#: What the cluster sheets say about names, stability and actions.
CLUSTER_NOTE = ("Clusters numbered by mean monetary, highest first; each named after what its centre is (recent, "
                "lapsing or lapsed; value tier; one-time, repeat or frequent), with the action for those facts. "
                "Stability: the mean Jaccard of the cluster with its best match when K-Means is refitted on 20 "
                "subsamples of 80% of the customers (0.85 or more highly stable, 0.75 stable, 0.60 doubtful, "
                "below: do not use).")


def segment_mix_table(name: str, mix: pd.DataFrame) -> TableSpec:
    """The share of each segment per cluster: one column per segment (its own name as header)."""
    data = mix.reset_index()
    segments = [str(c) for c in mix.columns[1:]]
    headers = list(input_names(segments, reserved_names(("cluster", "cluster_name"))).values())
    return TableSpec(name, data, ["Cluster", "Cluster name", *headers], ["int", "text"] + ["share"] * len(segments))


def clusters_sheet(analysis: "Analysis") -> SheetSpec:
    """The cluster profiles, the share of each segment per cluster, and the snake plot of
    standardised mean R, F, M per cluster."""
    profile_frame = analysis.cluster_profile
    spec = SheetSpec("RFM Clusters", "K-Means clusters",
                     CLUSTER_NOTE + " Then: the share of each segment in each cluster, and each cluster's mean "
                     "recency, frequency and monetary value in standard deviations from the average customer "
                     "(0 = average; recency above 0 = longer ago).",
                     [table_spec("RFM_Clusters", profile_frame, index="cluster")], freeze=False)
    if len(profile_frame):
        spec.tables.append(segment_mix_table("RFM_ClusterSegments", analysis.cluster_segments))
        means = summaries.standardised_cluster_means(analysis.customers)
        snake = summaries.snake_table(means, profile_frame["cluster_name"])
        spec.tables.append(TableSpec("RFM_ClusterSnake", snake, ["Metric"] + list(snake.columns[1:]),
                                     ["text"] + ["decimal"] * (snake.shape[1] - 1)))
        top = table_tops(spec)[2] - 1
        spec.charts.append(ChartSpec(
            name="RFM_Chart_ClusterSnake", kind="line", title="Cluster profiles (standardised means)",
            table="RFM_ClusterSnake", categories="metric",
            series=[SeriesSpec(c, colour=cluster_colour(i), marker="circle") for i, c in enumerate(snake.columns[1:])],
            anchor=(top, snake.shape[1] + 1), y_title="Standard deviations from the average", y_format="0.0"))
    return spec


def pareto_sheet(analysis: "Analysis") -> SheetSpec:
    """The Pareto (cumulative revenue) curve: its points, and a line chart of them."""
    curve = summaries.pareto_curve(analysis.customers["monetary"])
    spec = SheetSpec("RFM Pareto", "Where the revenue comes from",
                     "Customers sorted by net spend, best first: the share of revenue the best x% of customers "
                     "bring. The straight line is what equal spending would give.",
                     [table_spec("RFM_Pareto", curve)])
    spec.charts.append(ChartSpec(
        name="RFM_Chart_Pareto", kind="scatter", title="Cumulative share of revenue", table="RFM_Pareto",
        categories="customer_share_cum",
        series=[SeriesSpec("revenue_share_cum", colour="#4E79A7"), SeriesSpec("equal_share", colour="#BAB0AC")],
        anchor=_right_of(spec.tables), x_title="Share of customers (best first)", y_title="Share of revenue",
        x_format="0%", y_format="0%"))
    return spec


#: What the CLV sheet says about how the values were computed.
CLV_NOTE = ("Expected purchases and churn risk from one Pareto/NBD model, spend per purchase from Gamma-Gamma, both "
            "fitted on these customers' own history. CLV: each month's expected purchases x expected spend x "
            "margin, discounted to the as-of date. Churn risk: the probability of no purchase within the churn "
            "horizon (by default the data's lapse threshold). Groups by future value, highest first.")


#: The "RFM CLV" sheet's name (its tables and chart are named ``RFM_CLV...``).
CLV_SHEET = "RFM CLV"


def clv_off_sheet() -> SheetSpec:
    """The "RFM CLV" sheet of an analysis without lifetime value: its tables empty (kept, so
    pivots and formulas on them still resolve) under a note saying why, never last run's
    figures beside this run's analysis."""
    overview = pd.DataFrame(columns=["customers", "revenue", "clv_total", "revenue_share", "clv_share", "clv_mean",
                                     "churn_risk_mean"], index=pd.Index([], name="segment"))
    return SheetSpec(CLV_SHEET, "Expected future value: not computed in this analysis",
                     "Lifetime value was off for the last analysis (RFM Settings: Lifetime value = on to compute "
                     "it), so these tables are empty.",
                     [table_spec("RFM_CLV", overview, index="segment"),
                      table_spec("RFM_CLVModel", pd.DataFrame(columns=["parameter", "value"]))])


def clv_sheet(analysis: "Analysis") -> SheetSpec:
    """The "RFM CLV" sheet: per segment (and per cluster) past revenue against expected future
    value, a bar chart of the two shares, and the models' settings and parameters."""
    values = analysis.values
    segments = table_spec("RFM_CLV", summaries.value_overview(analysis.segment_summary), index="segment")
    segments.colour_by = "segment"
    spec = SheetSpec(CLV_SHEET, f"Expected future value (next {value_findings.horizon_text(values.horizon_days)})",
                     CLV_NOTE, [segments])
    if len(analysis.cluster_profile) and "clv_total" in analysis.cluster_profile.columns:
        spec.tables.append(table_spec("RFM_CLVClusters", summaries.value_overview(analysis.cluster_profile),
                                      index="cluster"))
    spec.tables.append(table_spec("RFM_CLVModel", summaries.value_model_table(values)))
    overview = segments.frame
    if len(overview):
        spec.charts.append(ChartSpec(
            name="RFM_Chart_CLV", kind="bar", title="Share of past revenue and of expected future value",
            table="RFM_CLV", categories="segment",
            series=[SeriesSpec("revenue_share", colour="#A6A6A6"), SeriesSpec("clv_share")],
            anchor=_right_of(spec.tables), size=(720, 300), y_format="0%",
            point_colours=[segment_colour(s) for s in overview["segment"]], reverse_categories=True,
            data_labels=True))
    return spec


def analysis_sheets(analysis: "Analysis") -> list[SheetSpec]:
    """The result sheets of an analysis, in workbook order (the Summary first)."""
    customers = analysis.customers
    id_name = customers.index.name or "Customer"
    basis = analysis.parameters.get("frequency_basis", "")
    as_of = f"{analysis.as_of:%Y-%m-%d}"
    segments = table_spec("RFM_Segments", analysis.segment_summary, index="segment")
    segments.fit_width = False
    segments.colour_by = "segment"
    findings = pd.DataFrame({"number": range(1, len(analysis.insights) + 1), "finding": analysis.insights})
    return checked([
        summary_sheet(analysis),
        SheetSpec("RFM Insights", "Findings",
                  f"Computed from the data, as of {as_of}; the same sentences head the RFM Summary sheet.",
                  [table_spec("RFM_Insights", findings)]),
        SheetSpec("RFM Customers", "Customers with RFM scores, segment and cluster",
                  f"One row per customer. Recency: days from the last purchase to {as_of}; frequency: {basis}; "
                  "monetary: net spend (returns subtract). Scores: higher is better.",
                  [table_spec("RFM_Customers", customers, index=id_name)]),
        SheetSpec("RFM Segments", "Segments",
                  "Customers, revenue and typical values per segment, most revenue first; \"In this analysis\": "
                  "the recency, frequency and monetary values its scores stand for here; then what the segment "
                  "means and what to do, as the rule table says.", [segments]),
        grid_sheet(analysis),
        clusters_sheet(analysis),
        k_selection_sheet("RFM K Selection", "RFM_KSelection", analysis.k_selection,
                          "Choosing the number of clusters"),
        pareto_sheet(analysis),
        *([clv_sheet(analysis)] if analysis.values is not None else []),
        SheetSpec("RFM Thresholds", "What each score means",
                  "The range of values behind every R, F and M score.",
                  [table_spec("RFM_Thresholds", analysis.thresholds)]),
        SheetSpec("RFM Quality", "Data quality",
                  "Every cleaning step, counted; then the parameters of this analysis.",
                  [table_spec("RFM_Quality", analysis.quality), table_spec("RFM_Parameters", _parameters_frame(analysis))]),
    ])


def cluster_sheets(frame: pd.DataFrame, keep: np.ndarray, labels: pd.Series, names: pd.Series,
                  profile_frame: pd.DataFrame, k_selection: pd.DataFrame,
                  mix: pd.DataFrame | None = None) -> list[SheetSpec]:
    """The sheets written by the ribbon's Cluster button (``rfm_addin.excel.macros.cluster_sheet``)."""
    copy = frame.loc[keep].reset_index(drop=True)
    formats = ["date" if pd.api.types.is_datetime64_any_dtype(copy[c]) else "general" for c in copy.columns]
    copy["__cluster"] = labels.to_numpy()
    copy["__cluster_name"] = labels.map(names).to_numpy()
    # A column of the user's called "Cluster" (any case) stays, as "Cluster (input)".
    headers = list(input_names([str(c) for c in frame.columns], reserved_names(("cluster", "cluster_name"))).values())
    data = TableSpec("RFM_ClusteredData", copy, headers + ["Cluster", "Cluster name"], formats + ["int", "text"])
    return [
        SheetSpec(CLUSTER_SHEETS[0], "Customers with their K-Means cluster",
                  "A copy of the customer table with the cluster of each row; the source sheet is unchanged. "
                  "Clusters are numbered by mean monetary value, highest first.", [data]),
        SheetSpec(CLUSTER_SHEETS[1], "Cluster profiles",
                  "Customers, shares and typical recency, frequency and monetary value per cluster. " + CLUSTER_NOTE
                  + (" Below: the share of each RFM segment (scored on this table) in each cluster."
                     if mix is not None and len(mix) else ""),
                  [table_spec("RFM_ClusterProfile", profile_frame, index="cluster")]
                  + ([segment_mix_table("RFM_ClusterProfileSegments", mix)] if mix is not None and len(mix) else []),
                  freeze=False),
        k_selection_sheet(CLUSTER_SHEETS[2], "RFM_ClusterK", k_selection, "Choosing the number of clusters"),
    ]


# --------------------------------------------------------------------------------------
# Migration between two dates
# --------------------------------------------------------------------------------------
MIGRATION_SHEETS = ("RFM Migration", "RFM Migration Customers")


def matrix_table(name: str, matrix: pd.DataFrame, kind: str) -> TableSpec:
    """A segment-by-segment matrix as a table: the earlier segment, then one column per later
    segment (its own name as header)."""
    data = matrix.reset_index()
    data.columns = ["segment_before", *[f"to_{i}" for i in range(matrix.shape[1])]]
    headers = list(input_names([str(c) for c in matrix.columns], reserved_names(("segment_before",))).values())
    return TableSpec(name, data, ["Segment before", *headers], ["text"] + [kind] * matrix.shape[1],
                     colour_by="segment_before")


def migration_sheets(migration, findings: list[str]) -> list[SheetSpec]:
    """The sheets of ``rfm-addin migration`` and the "Compare periods" button: the findings, the
    matrix in counts, row shares and revenue at stake (with a 100% stacked bar chart of where each
    segment went), the notable moves, PSI and threshold changes; then one row per customer."""
    from ..core.migration import notable_moves

    m = migration
    shares = m.shares
    counts = matrix_table("RFM_MigrationCounts", m.matrix, "int")
    share_table = matrix_table("RFM_MigrationShares", shares, "share")
    revenue = matrix_table("RFM_MigrationRevenue", m.revenue, "money")
    findings_table = table_spec("RFM_MigrationFindings", pd.DataFrame(
        {"number": range(1, len(findings) + 1), "finding": findings}))
    findings_table.fit_width = False
    thresholds = table_spec("RFM_MigrationThresholds", m.threshold_changes)
    thresholds.formats[0] = "text"
    tables = [findings_table, counts, share_table, revenue,
              table_spec("RFM_MigrationMoves", notable_moves(m)), table_spec("RFM_MigrationPSI", m.psi, index="metric"),
              thresholds]
    tables[2].gap_before = CHART_ROWS + 6
    spec = SheetSpec(MIGRATION_SHEETS[0], f"Segment migration, {m.before:%Y-%m-%d} to {m.after:%Y-%m-%d}",
                     f"Rows: segment at {m.before:%Y-%m-%d}; columns: segment at {m.after:%Y-%m-%d} ({m.mode} scores"
                     + (f"; customers with a purchase in the last {m.window} days" if m.window else "")
                     + "). Tables: customers, share of each row, and revenue at stake (net spend in the "
                     f"{(m.after - m.before).days} days before {m.before:%Y-%m-%d}); then the notable moves, the "
                     "PSI of each distribution and how the score thresholds moved.", tables, freeze=False)
    spec.conditional_formats.append(ConditionalFormatSpec("RFM_MigrationCounts", list(counts.frame.columns[1:])))
    top = table_tops(spec)[2] - 1
    spec.charts.append(ChartSpec(
        name="RFM_Chart_Migration", kind="bar_stacked_100", title="Where each segment went",
        table="RFM_MigrationShares", categories="segment_before",
        series=[SeriesSpec(c, colour=segment_colour(name) if name != "gone" else "#808080")
                for c, name in zip(share_table.frame.columns[1:], m.matrix.columns)],
        anchor=(top - CHART_ROWS - 5, 0), size=(900, 420), y_format="0%", reverse_categories=True))
    customers = table_spec("RFM_MigrationCustomers", m.customers, index=m.customers.index.name or "Customer")
    customers.colour_by = "segment_after"
    return checked([spec, SheetSpec(MIGRATION_SHEETS[1], "Customers at both dates",
                                    f"One row per customer at {m.before:%Y-%m-%d} or {m.after:%Y-%m-%d}: segment and "
                                    "scores at both dates, revenue at stake and after, and the status (stay, up, "
                                    "down, new, gone; up and down follow the rule table's order).", [customers])])


HISTORY_SHEETS = ("RFM History", "RFM History Customers")


def history_sheets(history) -> list[SheetSpec]:
    """The sheets of ``rfm-addin history``: segment shares over time (a table per date with a line
    chart), the long form for pivots (date, segment, customers, shares, revenue), and one row per
    customer with its previous segment and how long it has been in its current one."""
    h = history
    wide = h.segments.pivot(index="as_of", columns="segment", values="customer_share")
    order = list(dict.fromkeys(h.segments["segment"]))
    wide = wide.reindex(columns=order).reset_index()
    names = list(input_names([str(c) for c in order], reserved_names(("as_of",))).values())
    data = wide.copy()
    data.columns = ["as_of", *[f"s{i}" for i in range(len(order))]]
    shares = TableSpec("RFM_HistoryShares", data, ["As of", *names], ["date"] + ["share"] * len(order))
    long = table_spec("RFM_History", h.segments)
    long.colour_by = "segment"
    spec = SheetSpec(HISTORY_SHEETS[0], f"Segments over time, {h.dates[0]:%Y-%m-%d} to {h.dates[-1]:%Y-%m-%d}",
                     f"Share of customers in each segment at each as-of date ({h.mode} scores"
                     + (f"; customers with a purchase in the last {h.window} days" if h.window else "")
                     + "); below, the same in long form with the revenue of each period (since the previous date), "
                     "ready for a pivot table.", [shares, long], freeze=False)
    long.gap_before = CHART_ROWS + 6
    spec.charts.append(ChartSpec(
        name="RFM_Chart_History", kind="line", title="Share of customers per segment", table="RFM_HistoryShares",
        categories="as_of", series=[SeriesSpec(c, colour=segment_colour(n)) for c, n in zip(data.columns[1:], order)],
        anchor=(table_tops(spec)[1] - CHART_ROWS - 6, 0), size=(900, 360), y_format="0%", x_format="yyyy-mm-dd"))
    customers = table_spec("RFM_HistoryCustomers", h.customers, index=h.customers.index.name or "Customer")
    customers.colour_by = "segment"
    return checked([spec, SheetSpec(HISTORY_SHEETS[1], "Customers and their segment history",
                                    f"One row per customer at {h.dates[-1]:%Y-%m-%d}: the segment, the one before it, "
                                    "the first date of the current run and how many dates it has lasted.",
                                    [customers])])


def clv_check_sheets(check) -> list[SheetSpec]:
    """The "RFM CLV Check" sheet of a holdout check: findings, predicted against actual
    purchases per model and per decile (with a column chart), churn scores and capture."""
    findings = value_findings.check_findings(check)
    deciles = check.calibration.rename(columns={"predicted": "predicted_mean", "actual": "actual_mean"})
    spec = SheetSpec(
        "RFM CLV Check", "Checking the CLV models on a holdout",
        f"Models fitted on purchases up to {check.calibration_end:%Y-%m-%d}; compared with what the same customers did "
        f"up to {check.holdout_end:%Y-%m-%d}. Deciles: customers in ten equal groups by Pareto/NBD expected "
        "purchases, highest first, with the mean predicted and actual repeat purchases per customer.",
        [table_spec("RFM_CLVCheckFindings", pd.DataFrame({"number": range(1, len(findings) + 1), "finding": findings})),
         table_spec("RFM_CLVCheck", check.aggregate),
         table_spec("RFM_CLVCheckDeciles", deciles),
         table_spec("RFM_CLVCheckChurn", check.churn),
         table_spec("RFM_CLVCheckCapture", check.capture_top10)], freeze=False)
    spec.tables[0].fit_width = False
    spec.tables[2].gap_before = 1
    top = table_tops(spec)[2] - 1
    spec.charts.append(ChartSpec(
        name="RFM_Chart_CLVCheck", kind="column", title="Repeat purchases per customer in the holdout, by decile",
        table="RFM_CLVCheckDeciles", categories="decile",
        series=[SeriesSpec("predicted_mean", colour="#4E79A7"), SeriesSpec("actual_mean", colour="#F28E2B")],
        anchor=(top, deciles.shape[1] + 1), x_title="Decile of predicted purchases (1 = highest)",
        y_title="Purchases per customer", y_format="0.0"))
    return checked([spec])


#: What the test plan sheet says about its figures.
PLAN_NOTE = ("Per segment: its customers now, its baseline (the share of its customers who bought within the "
             "window after each of the last 12 month ends, each month segmented on its own), the customers a test "
             "needs to detect the lift hoped for, and the smallest lift the customers there are can detect "
             "(two-sided z test on the arcsine effect size). Below: the baselines of every segment, the balance "
             "of the arms and the settings. The customers and their arms are on RFM Test Customers.")


def plan_sheets(plan) -> list[SheetSpec]:
    """The "RFM Test Plan" and "RFM Test Customers" sheets of a campaign plan."""
    settings = pd.DataFrame([(k, v) for k, v in plan.settings.items()], columns=["parameter", "value"])
    settings["value"] = settings["value"].map(lambda v: v if isinstance(v, (int, float)) and not isinstance(v, bool)
                                              else str(v))
    verdicts = table_spec("RFM_TestVerdicts", plan.table[["verdict"]], index="segment")
    verdicts.fit_width = False
    figures = table_spec("RFM_TestPlan", plan.table.drop(columns="verdict"), index="segment")
    baselines = table_spec("RFM_TestBaselines", plan.baselines, index="segment")
    sheets = [
        SheetSpec("RFM Test Plan", "Campaign test plan", PLAN_NOTE,
                  [verdicts, figures, baselines, table_spec("RFM_TestBalance", plan.assignment.balance),
                   table_spec("RFM_TestSettings", settings)], freeze=False),
        SheetSpec("RFM Test Customers", "Customers of the test and their arms",
                  "One row per planned customer; filter the Arm column to export each arm's list.",
                  [table_spec("RFM_TestCustomers", plan.customers, index=plan.customers.index.name or "Customer")]),
    ]
    return checked(sheets)


# --------------------------------------------------------------------------------------
# Usage tables and group comparisons
# --------------------------------------------------------------------------------------
#: Sheet headers of a usage table's columns (the customer-level detection finds them again).
USAGE_HEADERS = {"recency": "Days since last activity", "frequency": "Weekly sessions", "monetary": "MRR",
                 "tenure": "Tenure (days)"}
USAGE_FORMATS = {"recency": "decimal", "frequency": "decimal", "monetary": "money", "tenure": "days"}


def usage_table_spec(name: str, table: pd.DataFrame) -> TableSpec:
    """A usage table (:func:`rfm_addin.usage_table`, perhaps with clusters) as an Excel Table."""
    data = table.reset_index(names=table.index.name or "User")
    headers, formats = [], []
    for i, column in enumerate(data.columns):
        text = str(column)
        if i == 0:
            headers.append(text), formats.append("text")
        elif text in USAGE_HEADERS:
            headers.append(USAGE_HEADERS[text]), formats.append(USAGE_FORMATS[text])
        elif text.lower().startswith("adoption: "):
            headers.append("Adoption: " + text.split(":", 1)[1].strip()), formats.append("share")
        else:
            label, kind = COLUMNS.get(text, (text, "general"))
            headers.append(label), formats.append(kind)
    return TableSpec(name, data, headers, formats)


def usage_sheets(table: pd.DataFrame, done, quality: pd.DataFrame) -> list[SheetSpec]:
    """The sheets of ``rfm-addin usage``: the usage table with each user's cluster and segment,
    the cluster profiles (with adoption), the choice of k and the cleaning counted."""
    window = table.attrs.get("window")
    span = f"{window[0]:%Y-%m-%d} to {window[1] - pd.Timedelta(days=1):%Y-%m-%d}" if window else "the last 8 weeks"
    listed = table.join(done.customers[["segment", "cluster", "cluster_name"]], how="left")
    listed.attrs = {}
    sheets = [
        SheetSpec("RFM Usage", "Users: activity, MRR, adoption, cluster",
                  f"One row per user as of {table.attrs.get('as_of', pd.Timestamp('today')):%Y-%m-%d}. Weekly sessions "
                  f"and adoption over {span} (a session: events less than 30 minutes apart; adoption: the share of "
                  "the user's active weeks with the feature). MRR: the latest payment as a monthly amount, 0 once "
                  "its period has passed. Users without activity have no cluster.",
                  [usage_table_spec("RFM_Usage", listed)]),
        SheetSpec("RFM Usage Clusters", "Cluster profiles", CLUSTER_NOTE + " Adoption columns: mean and median share "
                  "of active weeks.", [table_spec("RFM_UsageClusters", done.profile, index="cluster"),
                                       segment_mix_table("RFM_UsageClusterSegments", done.segments)], freeze=False),
        k_selection_sheet("RFM Usage K", "RFM_UsageK", done.clusters.k_selection, "Choosing the number of clusters"),
        SheetSpec("RFM Usage Quality", "Data quality", "Every cleaning step, counted.",
                  [table_spec("RFM_UsageQuality", quality)]),
    ]
    return checked(sheets)


def compare_sheets(comparison) -> list[SheetSpec]:
    """The "RFM Compare" sheet: the sentences, the table, and a bar chart of the largest
    standardised differences."""
    c = comparison
    a, b = (f"{c.by} {v}" for v in (c.a, c.b))
    sentences = pd.DataFrame({"number": range(1, len(c.sentences) + 1), "finding": c.sentences})
    table = c.table.rename(columns={"value_a": "value_a", "value_b": "value_b"})
    spec = SheetSpec("RFM Compare", f"{a} ({c.n_a:,}) against {b} ({c.n_b:,})",
                     "Each column compared: numbers by their means (Cohen's d, Welch's t test), text by the share of "
                     "each category (two-proportion z test); p-values adjusted for the number of rows "
                     "(Benjamini-Hochberg); largest standardised differences first.",
                     [table_spec("RFM_CompareFindings", sentences), _compare_table(table, a, b)], freeze=False)
    spec.tables[0].fit_width = False
    top = c.table.head(10)
    if len(top):
        chart = pd.DataFrame({"what": [f"{r.column}: {r.category}" if r.category else str(r.column)
                                       for r in top.itertuples()], "smd": top["smd"].to_numpy()})
        spec.tables.append(TableSpec("RFM_CompareChart", chart, ["Column", "Standardised difference"],
                                     ["text", "decimal"]))
        spec.charts.append(ChartSpec(
            name="RFM_Chart_Compare", kind="bar", title="Largest standardised differences", table="RFM_CompareChart",
            categories="what", series=[SeriesSpec("smd", colour="#4E79A7")], anchor=_right_of(spec.tables[1:]),
            size=(720, 320), reverse_categories=True, y_format="0.0"))
    return checked([spec])


def planned_finding(plan, window: int = 30) -> str:
    """The line that ties a comparison to the test planned from it (:func:`rfm_addin.core.plan.retention_test_plan`),
    on the RFM Compare sheet and the command line."""
    return (f"A {window}-day retention test for {plan.table.index[0]} is planned on the RFM Test Plan sheet: "
            f"{plan.table['verdict'].iloc[0]}")


def _compare_table(table: pd.DataFrame, a: str, b: str) -> TableSpec:
    headers = ["Column", "Category", "Kind", a, b, "Difference", "Relative difference", "Standardised difference",
               "Test", "p-value", "Adjusted p-value"]
    formats = ["text", "text", "text", "decimal", "decimal", "decimal", "share", "decimal", "text", "decimal",
               "decimal"]
    return TableSpec("RFM_Compare", table.reset_index(drop=True), headers, formats)
