"""The live writer's charts, colour scales, segment colours and freeze panes, as the xlwings
remote engine records them (the actions Excel would apply)."""
from __future__ import annotations

import pytest
from excel_payloads import by_func, sheet
from test_macros import SETTINGS, transactions

from rfm_addin.excel import live_writer, macros
from rfm_addin.writers.layout import HEAT_COLOURS, SheetSpec, TableSpec, segment_colour

SHEETS = ["Data", "RFM Settings", "RFM Summary", "RFM Insights", "RFM Customers", "RFM Segments", "RFM R x F Grid", "RFM Clusters",
          "RFM K Selection", "RFM Pareto", "RFM Thresholds", "RFM Quality"]


@pytest.fixture
def book(make_book):
    book = make_book([sheet("Data", transactions()), SETTINGS])
    macros.analyze_sheet(book)
    assert not by_func(book, "alert")
    return book


def on(book, func, name):
    return [a for a in by_func(book, func) if a["sheet_position"] == SHEETS.index(name)]


def test_every_chart_is_added_with_its_table_cells(book):
    charts = {a["args"][0]: a for a in by_func(book, "addChart")}
    assert set(charts) == {"RFM_Chart_Segments", "RFM_Chart_ClusterSnake", "RFM_KSelection_Chart",
                           "RFM_Chart_Pareto"}
    k = charts["RFM_KSelection_Chart"]
    # name, type, sheet, source, left, top, width, height, plot by, anchor, style
    assert k["args"][1:4] == ["LineMarkers", "RFM K Selection", "$B$4:$D$6"]  # inertia, silhouette, chosen k
    assert k["args"][8:10] == ["Columns", "$I$4"] and k["sheet_position"] == SHEETS.index("RFM K Selection")
    assert charts["RFM_Chart_Pareto"]["args"][1:4] == ["XYScatterLinesNoMarkers", "RFM Pareto", "$B$4:$C$10"]
    summary = charts["RFM_Chart_Segments"]
    assert summary["args"][1] == "BarClustered" and summary["args"][2] == "RFM Summary"
    # headline at row 4, chart band, 9 findings from row 24 (header) to 33, the segment table from row 36
    assert summary["args"][3] == "$D$36:$E$41"  # header and the shares of the 5 segments
    assert charts["RFM_Chart_ClusterSnake"]["args"][1] == "LineMarkers"


def test_chart_categories_titles_axes_and_legend(book):
    x = {a["sheet_position"]: a["args"] for a in by_func(book, "setChartXAxisValues")}
    assert x[SHEETS.index("RFM K Selection")] == [0, "RFM K Selection", "$A$5:$A$6"]
    assert x[SHEETS.index("RFM Pareto")] == [0, "RFM Pareto", "$A$5:$A$10"]
    assert x[SHEETS.index("RFM Summary")] == [0, "RFM Summary", "$A$37:$A$41"]
    titles = [a["args"][1] for a in by_func(book, "setChartTitle")]
    assert "Choosing k: inertia and silhouette" in titles and "Cumulative share of revenue" in titles
    axes = [a["args"][1:] for a in on(book, "setChartAxis", "RFM K Selection")]
    assert ["value", {"title": "Inertia (lower is tighter)"}] in axes
    assert ["secondary_value", {"title": "Silhouette (higher is better)"}] in axes
    assert ["secondary_value", {"number_format": "0.00"}] in axes
    assert ["category", {"reverse_order": True}] in [a["args"][1:] for a in on(book, "setChartAxis", "RFM Summary")]
    assert [a["args"][1:] for a in on(book, "setChartLegend", "RFM K Selection")] == [["position", "Bottom"]]


def test_series_colours_markers_and_the_secondary_axis(book):
    series = {a["args"][1]: a["args"][2] for a in on(book, "setChartSeries", "RFM K Selection")}
    assert series[1]["axis_group"] == "Secondary"  # silhouette
    assert "axis_group" not in series[0] and "axis_group" not in series[2]
    assert series[0]["line_color"] == "#4e79a7" or series[0]["line_color"].lower() == "#4e79a7"
    assert series[2]["marker_style"] == "Diamond" and series[2]["marker_size"] == 9
    snake = on(book, "setChartSeries", "RFM Clusters")
    assert [a["args"][1] for a in snake] == [0, 1]  # k = 2 clusters, one line each


def test_rf_grid_colour_scales(book):
    scales = on(book, "addConditionalFormat", "RFM R x F Grid")
    assert len(scales) == 2
    for action, top in zip(scales, (4, 12)):
        rule = action["args"][0]
        assert rule["type"] == "ColorScale"
        assert [c.lower() for c in rule["colors"]] == [c.lower() for c in HEAT_COLOURS]
        assert rule["threshold_types"] == ["LowestValue", "Percentile", "HighestValue"]
        assert (action["start_row"], action["start_column"], action["row_count"], action["column_count"]) == (
            top, 1, 5, 5)


def test_segment_cells_coloured_and_panes_frozen(book):
    colours = on(book, "setRangeColor", "RFM Summary")
    assert [a["args"][0].lower() for a in colours] == [segment_colour(s).lower() for s in (
        "Champions", "Need Attention", "Loyal Customers", "At Risk", "Lost")]
    assert all(a["start_column"] == 0 for a in colours)
    assert len(on(book, "setRangeColor", "RFM Segments")) == 5
    frozen = {a["sheet_position"]: a["args"] for a in by_func(book, "freezePaneAtRange")}
    assert {SHEETS[p] for p in frozen} == {"RFM Insights", "RFM Customers", "RFM Segments", "RFM K Selection", "RFM Pareto",
                                          "RFM Thresholds"}
    assert all(args == ["1:4"] for args in frozen.values())


def test_live_writer_marks_text_starting_like_a_formula(make_book):
    ids = ['=HYPERLINK("http://x","click")', "@SUM(1)", "+1", "-1", "\tTAB", "\rCR", "plain"]
    import pandas as pd

    spec = SheetSpec("RFM Test", "t", "n", [TableSpec("RFM_Test", pd.DataFrame({"id": ids}), ["Customer"], ["text"])])
    book = make_book([sheet("Data", [["x"]])])
    live_writer.write_sheets(book, [spec])
    written = [a for a in by_func(book, "setValues") if a["start_row"] == 3][0]["values"]
    assert [row[0] for row in written[1:]] == ["'" + i for i in ids[:-1]] + ["plain"]
