"""Charts, colour scales, segment colours and safe names in the file writer's workbook:
read back with openpyxl and from the chart XML in the zip, then opened with LibreOffice.

(openpyxl drops charts when it loads a workbook, so chart parts are read from the zip.)
"""
from __future__ import annotations

import re
import string
import zipfile
from pathlib import Path

import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from openpyxl import load_workbook

import rfm_addin
from rfm_addin.writers.layout import (HEAT_COLOURS, SEGMENT_COLOURS, SheetSpec, TableSpec, analysis_sheets, locate,
                              segment_colour, sheet_name, table_name)
from rfm_addin.writers.xlsx import write_sheets
from test_share import pdf_pages, pdf_text, soffice_convert


@pytest.fixture(scope="module")
def analysis():
    return rfm_addin.analyze(rfm_addin.demo_transactions(n_customers=300), k_range=range(2, 7))


@pytest.fixture(scope="module")
def workbook(analysis, tmp_path_factory):
    return Path(analysis.to_excel(tmp_path_factory.mktemp("charts") / "results.xlsx"))


def chart_parts(path) -> dict[str, str]:
    """Chart XML by the name of the sheet it is drawn on."""
    with zipfile.ZipFile(path) as z:
        names = z.namelist()
        read = lambda n: z.read(n).decode()  # noqa: E731
        workbook = read("xl/workbook.xml")
        rels = read("xl/_rels/workbook.xml.rels")
        targets = dict(re.findall(r'Id="(rId\d+)"[^>]*Target="([^"]+)"', rels))
        targets.update({k: v for v, k in re.findall(r'Target="([^"]+)"[^>]*Id="(rId\d+)"', rels)})
        out: dict[str, str] = {}
        for sheet, rid in re.findall(r'<sheet name="([^"]+)" sheetId="\d+" r:id="(rId\d+)"', workbook):
            part = "xl/" + targets[rid].lstrip("/").removeprefix("xl/")
            rels_part = part.replace("worksheets/", "worksheets/_rels/") + ".rels"
            if rels_part not in names:
                continue
            for drawing in re.findall(r'Target="\.\./drawings/(drawing\d+\.xml)"', read(rels_part)):
                drawing_rels = read(f"xl/drawings/_rels/{drawing}.rels")
                for chart in re.findall(r'Target="\.\./charts/(chart\d+\.xml)"', drawing_rels):
                    out.setdefault(sheet, "")
                    out[sheet] += read(f"xl/charts/{chart}")
        return out


def test_every_chart_is_a_native_chart_on_the_sheet_of_its_table(workbook):
    charts = chart_parts(workbook)
    assert sorted(charts) == ["RFM Clusters", "RFM K Selection", "RFM Pareto", "RFM Summary"]
    assert '<c:barDir val="bar"/>' in charts["RFM Summary"]
    assert "<c:lineChart>" in charts["RFM K Selection"] and "<c:lineChart>" in charts["RFM Clusters"]
    assert "<c:scatterChart>" in charts["RFM Pareto"]
    assert "Share of customers and of revenue per segment" in charts["RFM Summary"]
    with zipfile.ZipFile(workbook) as z:
        assert not [n for n in z.namelist() if n.startswith("xl/media/")]  # no pictures of charts


def test_k_selection_chart_series_references_and_two_axes(workbook, analysis):
    xml = chart_parts(workbook)["RFM K Selection"]
    n = len(analysis.k_selection)  # k = 2..6: rows 5..9
    assert n == 5
    for ref in ("'RFM K Selection'!$A$5:$A$9", "'RFM K Selection'!$B$5:$B$9", "'RFM K Selection'!$C$5:$C$9",
                "'RFM K Selection'!$D$5:$D$9", "'RFM K Selection'!$B$4", "'RFM K Selection'!$C$4"):
        assert f"<c:f>{ref}</c:f>" in xml, ref
    assert xml.count("<c:lineChart>") == 2  # silhouette on its own (secondary) axis group
    assert xml.count("<c:valAx>") == 2
    assert "Silhouette (higher is better)" in xml and "Inertia (lower is tighter)" in xml
    ws = load_workbook(workbook)["RFM K Selection"]
    chosen = [r for r in range(5, 10) if ws.cell(r, 5).value]
    assert len(chosen) == 1 and ws.cell(chosen[0], 4).value == ws.cell(chosen[0], 2).value
    assert [ws.cell(r, 4).value for r in range(5, 10) if r not in chosen] == [None] * 4


def test_summary_chart_uses_segment_colours_sorted_by_revenue(workbook, analysis):
    xml = chart_parts(workbook)["RFM Summary"]
    spec = analysis_sheets(analysis)[0]
    revenue_share = locate(spec, "RFM_Overview", "revenue_share")
    rows = f"${revenue_share.first + 1}:$E${revenue_share.last + 1}"
    assert f"<c:f>'RFM Summary'!$E{rows.replace(':$E', ':$E')}</c:f>" in xml
    overview = analysis.segment_summary.sort_values("revenue", ascending=False)
    colours = re.findall(r'<c:dPt>.*?<a:srgbClr val="([0-9A-F]{6})"', xml, re.S)
    assert colours == [segment_colour(s).lstrip("#").upper() for s in overview.index]
    assert '<c:orientation val="maxMin"/>' in xml  # the first (largest) segment on top
    ws = load_workbook(workbook)["RFM Summary"]
    top = revenue_share.header + 1
    assert [ws.cell(top + 1 + i, 1).value for i in range(len(overview))] == overview.index.tolist()
    for i, name in enumerate(overview.index):
        cell = ws.cell(top + 1 + i, 1)
        assert cell.fill.fgColor.rgb == "FF" + segment_colour(name).lstrip("#").upper()


def test_segment_colours_are_one_palette():
    assert len(set(SEGMENT_COLOURS.values())) == len(SEGMENT_COLOURS) == 11
    assert segment_colour("Champions") == SEGMENT_COLOURS["Champions"]
    assert segment_colour("VIP") == segment_colour("VIP") and segment_colour("VIP").startswith("#")


def test_summary_sheet_first_with_headline_findings_and_segments(workbook, analysis):
    wb = load_workbook(workbook)
    assert wb.sheetnames[0] == "RFM Summary"
    ws = wb["RFM Summary"]
    assert [c.value for c in ws[4]][:5] == ["Customers", "Revenue", "Top 20% share", "As of", "Clusters"]
    assert ws["A5"].value == 300 and ws["B5"].value == pytest.approx(analysis.customers["monetary"].sum())
    assert ws["B5"].number_format == "#,##0.00" and ws["C5"].number_format == "0.0%"
    assert ws["D5"].number_format == "yyyy-mm-dd" and ws["D5"].value == analysis.as_of.to_pydatetime()
    n_top, share = rfm_addin.core.insights.pareto_share(analysis.customers["monetary"])
    assert ws["C5"].value == pytest.approx(share)
    assert set(ws.tables) == {"RFM_Headline", "RFM_Findings", "RFM_Overview"}
    findings = ws.tables["RFM_Findings"].ref
    first = int(re.search(r"\d+", findings).group(0))
    assert [ws.cell(first + 1 + i, 2).value for i in range(len(analysis.insights))] == analysis.insights
    overview = ws.tables["RFM_Overview"].ref
    top = int(re.search(r"\d+", overview).group(0))
    assert [c.value for c in ws[top]] == ["Segment", "Customers", "Revenue", "Share of customers", "Share of revenue",
                                          "Description", "Recommended action"]
    assert ws.cell(top + 1, 4).number_format == "0.0%" and ws.cell(top + 1, 3).number_format == "#,##0.00"
    assert ws.cell(top + 1, 6).value and ws.cell(top + 1, 7).value  # description and action


def test_rf_grid_tables_have_a_three_colour_scale(workbook, analysis):
    ws = load_workbook(workbook)["RFM R x F Grid"]
    assert ws.tables["RFM_GridCustomers"].ref == "A4:F9" and ws.tables["RFM_GridMonetary"].ref == "A12:F17"
    rules = {str(rng.sqref): rng.rules for rng in ws.conditional_formatting}
    assert set(rules) == {"B5:F9", "B13:F17"}
    for found in rules.values():
        scale = found[0].colorScale
        assert found[0].type == "colorScale"
        assert [c.rgb[-6:] for c in scale.color] == [h.lstrip("#").upper() for h in HEAT_COLOURS]
        assert [v.type for v in scale.cfvo] == ["min", "percentile", "max"]
    counts = [[ws.cell(r, c).value for c in range(2, 7)] for r in range(5, 10)]
    assert sum(map(sum, counts)) == 300
    assert [ws.cell(r, 1).value for r in range(5, 10)] == [5, 4, 3, 2, 1]
    expected = pd.crosstab(analysis.customers["r_score"], analysis.customers["f_score"]).reindex(
        index=[5, 4, 3, 2, 1], columns=[1, 2, 3, 4, 5], fill_value=0)
    assert counts == expected.to_numpy().tolist()
    assert ws["B13"].number_format == "#,##0.00"


def test_cluster_snake_table_and_chart(workbook, analysis):
    ws = load_workbook(workbook)["RFM Clusters"]
    k = len(analysis.cluster_profile)
    ref = ws.tables["RFM_ClusterSnake"].ref
    top = int(re.search(r"\d+", ref).group(0))
    assert [ws.cell(top + i, 1).value for i in range(1, 4)] == ["Recency", "Frequency", "Monetary"]
    assert ws.cell(top, 2).value == f"1 {analysis.cluster_profile['cluster_name'].iloc[0]}"
    xml = chart_parts(workbook)["RFM Clusters"]
    assert xml.count("<c:ser>") == k
    assert f"<c:f>'RFM Clusters'!$A${top + 1}:$A${top + 3}</c:f>" in xml


def test_pareto_sheet(workbook):
    ws = load_workbook(workbook)["RFM Pareto"]
    assert ws.tables["RFM_Pareto"].ref == "A4:C105"
    assert ws["A5"].value == 0 and ws["B105"].value == pytest.approx(1.0) and ws["A105"].value == 1.0
    assert ws["B5"].number_format == "0.0%"
    xml = chart_parts(workbook)["RFM Pareto"]
    assert "<c:f>'RFM Pareto'!$A$5:$A$105</c:f>" in xml and "<c:f>'RFM Pareto'!$B$5:$B$105</c:f>" in xml


def test_freeze_panes_widths_and_formats(workbook):
    wb = load_workbook(workbook)
    for name in ("RFM Customers", "RFM Segments", "RFM K Selection", "RFM Pareto", "RFM Thresholds"):
        assert wb[name].freeze_panes == "A5", name
    ws = wb["RFM Customers"]
    assert ws.column_dimensions["A"].width >= len("CustomerID")
    assert ws["E5"].number_format == "yyyy-mm-dd" and ws["D5"].number_format == "#,##0.00"


INJECTION = ['=HYPERLINK("http://x","click")', "@SUM(1)", "+1+1", "-2+3", "=1+1"]
WHITESPACE_START = ["\tTAB", "\rCR", "\t=1+1"]  # ids are trimmed when read, so the writer is tested directly


def test_text_starting_with_tab_or_cr_is_written_as_text_unchanged(tmp_path):
    frame = pd.DataFrame({"id": INJECTION + WHITESPACE_START})
    spec = SheetSpec("RFM Test", "t", "n", [TableSpec("RFM_Test", frame, ["Customer"], ["text"])])
    out = write_sheets([spec], tmp_path / "t.xlsx")
    ws = load_workbook(out)["RFM Test"]
    cells = [ws.cell(r, 1) for r in range(5, 5 + len(frame))]
    # XlsxWriter stores a carriage return as OOXML's escape _x000D_ (Excel reads it back as CR); openpyxl
    # does not decode it, so decode here.
    decoded = [re.sub(r"_x([0-9A-F]{4})_", lambda m: chr(int(m.group(1), 16)), c.value) for c in cells]
    assert decoded == INJECTION + WHITESPACE_START
    assert all(c.data_type == "s" for c in cells)


def test_formula_like_ids_are_written_as_text(tmp_path):
    rows = []
    for i, cid in enumerate(INJECTION + ["plain"]):
        rows += [(cid, f"2024-01-{i + 1:02d}", 10.0 + i), (cid, "2024-03-01", 5.0)]
    data = pd.DataFrame(rows, columns=["Customer", "Date", "Amount"])
    out = rfm_addin.analyze(data, k=2).to_excel(tmp_path / "ids.xlsx")
    ws = load_workbook(out)["RFM Customers"]
    cells = {ws.cell(r, 1).value: ws.cell(r, 1) for r in range(5, 5 + len(INJECTION) + 1)}
    for cid in INJECTION:
        assert cid in cells, cid
        assert cells[cid].data_type == "s", cid  # a string cell, not a formula
    with zipfile.ZipFile(out) as z:
        for name in z.namelist():
            if name.startswith("xl/worksheets/"):
                assert "<f>" not in z.read(name).decode(), name


def test_libreoffice_renders_the_summary_and_every_chart(workbook, tmp_path):
    pdf = soffice_convert(workbook, "pdf", tmp_path)
    text = pdf_text(pdf)
    assert pdf_pages(pdf) >= 9  # at least a page per sheet
    for expected in ("RFM summary", "Share of customers and of revenue per segment", "Choosing k: inertia and",
                     "Cluster profiles (standardised means)", "Cumulative share of revenue",
                     "Recency x frequency heat map", "Champions", "Top 20% share"):
        assert expected in text, expected
    # chart axis labels are drawn (text from the chart, not from cells)
    assert "Silhouette (higher is better)" in text and "Share of customers (best first)" in text


# ----------------------------------------------------------------------- names from data
SHEET_FORBIDDEN = set("[]:*?/\\")


@settings(max_examples=300, deadline=None)
@given(st.lists(st.text(min_size=0, max_size=60), min_size=1, max_size=12))
def test_sheet_names_follow_excels_rules_and_are_unique(names):
    taken: list[str] = []
    for name in names:
        result = sheet_name(name, taken)
        assert 1 <= len(result) <= 31
        assert not (set(result) & SHEET_FORBIDDEN)
        assert not result.startswith("'") and not result.endswith("'")
        assert all(ord(ch) >= 32 and ch != "\x7f" for ch in result)
        assert result.casefold() != "history"
        assert result.casefold() not in {t.casefold() for t in taken}
        taken.append(result)


@settings(max_examples=300, deadline=None)
@given(st.lists(st.text(min_size=0, max_size=300), min_size=1, max_size=12))
def test_table_names_follow_excels_rules_and_are_unique(names):
    taken: list[str] = []
    for name in names:
        result = table_name(name, taken)
        assert 1 <= len(result) <= 255
        assert result[0].isalpha() or result[0] == "_"
        assert all(ch.isalnum() or ch in "_." for ch in result)
        assert not re.fullmatch(r"[A-Za-z]{1,3}\d+|[Rr]\d*[Cc]\d*", result)
        assert result.casefold() not in {t.casefold() for t in taken}
        taken.append(result)


def test_names_examples():
    assert sheet_name("Loyal: A/B [test]?*") == "Loyal_ A_B _test___"
    assert sheet_name("x" * 40) == "x" * 31
    assert sheet_name("Champions", ["champions"]) == "Champions (2)"
    assert sheet_name("x" * 40, ["x" * 31]) == "x" * 27 + " (2)"
    assert sheet_name("'quoted'") == "quoted" and sheet_name("") == "Sheet" and sheet_name("History") != "History"
    assert table_name("Can't Lose Them") == "Can_t_Lose_Them"
    assert table_name("1st") == "_1st" and table_name("A1") == "_A1" and table_name("R1C1") == "_R1C1"
    assert table_name("Sales", ["SALES"]) == "Sales_2"
    assert all(ch in string.ascii_letters + string.digits + "_." for ch in table_name("a b-c"))
