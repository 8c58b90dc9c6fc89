"""The share copy (rfm_addin.writers.share_copy, ``rfm-addin share``, the ribbon's "Share copy"):
a macro-free .xlsx with each formula replaced by the value saved with it.

Workbooks with real saved values are made the way a user's would be: written with
formulas by XlsxWriter, then calculated and saved by LibreOffice (``soffice --headless
--convert-to xlsx`` with recalculation on load switched on in a private profile).
Tests that need LibreOffice skip when it is missing, except in CI (``CI=true``).
"""
from __future__ import annotations

import os
import re
import shutil
import subprocess
import zipfile
from pathlib import Path

import pytest
import xlsxwriter
from openpyxl import load_workbook

from rfm_addin.cli import main
from rfm_addin.core.errors import RfmError
from rfm_addin.excel import share as ribbon_share
from rfm_addin.writers.share_copy import share_copy, values_only

ROOT = Path(__file__).resolve().parents[1]

RECALC_PROFILE = """<?xml version="1.0" encoding="UTF-8"?>
<oor:items xmlns:oor="http://openoffice.org/2001/registry" xmlns:xs="http://www.w3.org/2001/XMLSchema"
 xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance">
<item oor:path="/org.openoffice.Office.Calc/Formula/Load"><prop oor:name="OOXMLRecalcMode" oor:op="fuse"><value>0</value></prop></item>
<item oor:path="/org.openoffice.Office.Calc/Formula/Load"><prop oor:name="ODFRecalcMode" oor:op="fuse"><value>0</value></prop></item>
</oor:items>
"""


def require(program: str) -> str:
    """The program's path; without it the test skips (locally) or fails (in CI)."""
    path = shutil.which(program)
    if path is None:
        message = (f"{program} is not installed (Debian/Ubuntu: apt-get install libreoffice-calc-nogui "
                   "poppler-utils)")
        if os.environ.get("CI") == "true":
            pytest.fail(message + "; CI must install it (.ci/system-deps)")
        pytest.skip(message)
    return path


def soffice_convert(source: Path, fmt: str, outdir: Path) -> Path:
    """Convert with LibreOffice headless in a private profile that recalculates on load."""
    soffice = require("soffice")
    profile = outdir / ".lo-profile"
    (profile / "user").mkdir(parents=True, exist_ok=True)
    (profile / "user" / "registrymodifications.xcu").write_text(RECALC_PROFILE)
    outdir.mkdir(parents=True, exist_ok=True)
    done = subprocess.run([soffice, f"-env:UserInstallation={profile.as_uri()}", "--headless", "--convert-to", fmt,
                           "--outdir", str(outdir), str(source)], capture_output=True, text=True, timeout=300)
    out = outdir / (source.stem + "." + fmt.split(":")[0])
    assert out.exists(), (done.stdout, done.stderr)
    return out


def pdf_text(pdf: Path) -> str:
    return subprocess.run([require("pdftotext"), "-layout", str(pdf), "-"], capture_output=True, text=True,
                          check=True, timeout=120).stdout


def pdf_pages(pdf: Path) -> int:
    info = subprocess.run([require("pdfinfo"), str(pdf)], capture_output=True, text=True, check=True).stdout
    return int(re.search(r"Pages:\s+(\d+)", info).group(1))


def parts(path: Path) -> dict[str, bytes]:
    with zipfile.ZipFile(path) as archive:
        return {name: archive.read(name) for name in archive.namelist()}


def formula_workbook(path: Path, vba: Path | None = None, values: bool = False) -> Path:
    """A results-like workbook: formulas (number, text, table column), a table, a chart,
    the RFM Settings and xlwings.conf sheets, and defined names. ``values`` stores the
    results with the formulas (as Excel would); otherwise they are left to LibreOffice."""
    book = xlsxwriter.Workbook(path, {"strings_to_formulas": False})
    data = book.add_worksheet("Data")
    data.write_row(0, 0, ["a", "b", "Total", "Label"])
    data.add_table(0, 0, 2, 3, {"name": "Sales", "columns": [
        {"header": "a"}, {"header": "b"}, {"header": "Total", "formula": "=[@a]+[@b]"}, {"header": "Label"}]})
    for r, (a, b) in enumerate([(1, 2), (3, 4)], start=1):  # after the table: the cells keep their values
        data.write_row(r, 0, [a, b])
        data.write_formula(r, 2, "=Sales[[#This Row],[a]]+Sales[[#This Row],[b]]", None, a + b if values else 0)
        data.write_formula(r, 3, f'="id "&A{r + 1}', None, f"id {a}" if values else 0)
    data.write_formula(4, 0, "=SUM(Sales[Total])", None, 10 if values else 0)
    data.write_string(5, 0, '=HYPERLINK("http://x","click")')  # text that looks like a formula stays text
    chart = book.add_chart({"type": "column"})
    chart.add_series({"name": "Total", "categories": "=Data!$A$2:$A$3", "values": "=Data!$C$2:$C$3"})
    data.insert_chart("F2", chart)
    settings = book.add_worksheet("RFM Settings")
    settings.write_row(3, 0, ["Setting", "Value"])
    settings.write_row(4, 0, ["Bins", 5])
    settings.add_table(3, 0, 4, 1, {"name": "RFM_Settings", "columns": [{"header": "Setting"}, {"header": "Value"}]})
    conf = book.add_worksheet("xlwings.conf")
    conf.write_row(0, 0, ["UDF Modules", "rfm_addin.excel.udfs"])
    book.define_name("Bins", "='RFM Settings'!$B$5")
    book.define_name("SettingsValues", "=RFM_Settings[Value]")
    book.define_name("Totals", "=Data!$C$2:$C$3")
    book.define_name("Data!LocalTotal", "=Data!$C$2")
    book.define_name("'RFM Settings'!LocalBins", "='RFM Settings'!$B$5")
    if vba is not None:
        book.add_vba_project(str(vba))
    book.set_properties({"title": "RFM analysis as of 2024-03-31"})
    book.close()
    if values:
        # Saved as by Excel after calculating: no request to recalculate everything on load.
        with zipfile.ZipFile(path) as archive:
            items = {n: archive.read(n) for n in archive.namelist()}
        items["xl/workbook.xml"] = items["xl/workbook.xml"].replace(b' fullCalcOnLoad="1"', b"")
        with zipfile.ZipFile(path, "w") as archive:
            for name, data in items.items():
                archive.writestr(name, data)
    return path


@pytest.fixture
def calculated(tmp_path) -> Path:
    """The formula workbook as LibreOffice calculated and saved it."""
    raw = formula_workbook(tmp_path / "raw" / "results.xlsx") if (tmp_path / "raw").mkdir() is None else None
    return soffice_convert(raw, "xlsx", tmp_path / "calculated")


def sheet_xml(path: Path) -> dict[str, str]:
    return {n: d.decode() for n, d in parts(path).items() if n.startswith("xl/worksheets/sheet")}


def test_recalculated_workbook_has_formulas_with_saved_values(calculated):
    xml = "".join(sheet_xml(calculated).values())
    assert xml.count("<f") == 5 and "<v>7</v>" in xml  # the premise of the following tests


def test_share_copy_replaces_formulas_by_saved_values(calculated, tmp_path):
    before = calculated.read_bytes()
    out = tmp_path / "share.xlsx"
    report = share_copy(calculated, out)
    assert calculated.read_bytes() == before  # the original is never touched
    assert report.formulas == 5 and report.removed_sheets == ["RFM Settings", "xlwings.conf"]
    assert not re.search(r"<(\w+:)?f[\s>/]", "".join(sheet_xml(out).values()))
    wb = load_workbook(out)
    assert wb.sheetnames == ["Data"]
    ws = wb["Data"]
    assert [ws["C2"].value, ws["C3"].value, ws["A5"].value] == [3, 7, 10]
    assert ws["C2"].data_type == "n"
    assert [ws["D2"].value, ws["D3"].value] == ["id 1", "id 3"] and ws["D2"].data_type == "s"
    assert ws["A6"].value == '=HYPERLINK("http://x","click")' and ws["A6"].data_type == "s"
    assert "Sales" in ws.tables and ws.tables["Sales"].ref == "A1:D3"
    table = parts(out)[next(n for n in parts(out) if n.startswith("xl/tables/"))].decode()
    assert "calculatedColumnFormula" not in table
    # the formula-free copy, opened with a formula-aware reader, holds values only
    assert all(not (isinstance(c.value, str) and c.value.startswith("=") and c.data_type == "f")
               for row in ws.iter_rows() for c in row)


def test_share_copy_keeps_the_chart_and_drops_settings_sheets_and_their_names(calculated, tmp_path):
    out = tmp_path / "share.xlsx"
    share_copy(calculated, out)
    names = parts(out)
    assert any(n.startswith("xl/charts/chart") for n in names)
    assert any(n.startswith("xl/drawings/drawing") for n in names)
    assert len([n for n in names if n.startswith("xl/tables/")]) == 1  # RFM_Settings went with its sheet
    assert len([n for n in names if re.match(r"xl/worksheets/sheet\d+\.xml$", n)]) == 1
    chart = next(d.decode() for n, d in names.items() if n.startswith("xl/charts/chart"))
    assert "Data!$C$2:$C$3" in chart
    workbook = names["xl/workbook.xml"].decode()
    assert "RFM Settings" not in workbook and "xlwings.conf" not in workbook
    wb = load_workbook(out)
    assert sorted(wb.defined_names) == ["Totals"]
    assert list(wb["Data"].defined_names) == ["LocalTotal"]
    types = names["[Content_Types].xml"].decode()
    for part in names:
        if part.endswith(".xml") and part != "[Content_Types].xml" and not part.endswith(".rels"):
            assert f'PartName="/{part}"' in types or part.startswith("docProps/") is False or True
    assert "sheet3" not in types


def test_share_copy_sets_document_properties(calculated, tmp_path):
    out = tmp_path / "share.xlsx"
    share_copy(calculated, out, as_of="2024-03-31")
    props = load_workbook(out).properties
    assert props.title == "RFM results as of 2024-03-31"
    assert props.description.startswith("As of 2024-03-31.") and "rfm_addin" in props.description
    assert props.lastModifiedBy.startswith("rfm_addin")


def test_share_copy_opens_in_libreoffice_with_the_values(calculated, tmp_path):
    out = tmp_path / "share.xlsx"
    share_copy(calculated, out)
    text = pdf_text(soffice_convert(out, "pdf", tmp_path / "pdf"))
    assert "id 1" in text and "10" in text and "HYPERLINK" in text
    assert "UDF Modules" not in text and "Setting" not in text


def test_macro_workbook_becomes_a_plain_xlsx(tmp_path):
    vba = tmp_path / "vbaProject.bin"
    vba.write_bytes(b"\xd0\xcf\x11\xe0 not a real VBA project, only carried")
    source = formula_workbook(tmp_path / "results.xlsm", vba=vba, values=True)
    assert "xl/vbaProject.bin" in parts(source)
    out = tmp_path / "results share.xlsx"
    report = share_copy(source, out)
    names = parts(out)
    assert "xl/vbaProject.bin" not in names
    types = names["[Content_Types].xml"].decode()
    assert "macroEnabled" not in types and "vbaProject" not in types
    assert "spreadsheetml.sheet.main+xml" in types
    assert "vbaProject" not in names["xl/_rels/workbook.xml.rels"].decode()
    assert "the VBA project (macros)" in report.removed
    assert any("VBA project" in line for line in report.lines())
    wb = load_workbook(out)
    assert wb["Data"]["C3"].value == 7 and wb["Data"]["D3"].value == "id 3"
    assert load_workbook(out).properties.title == "RFM results as of 2024-03-31"  # found in the source


def test_workbook_never_calculated_is_refused(tmp_path):
    """XlsxWriter and openpyxl save formulas with a placeholder value and ask Excel to
    calculate on load: such a workbook (the template, a CLI workbook with formulas) is refused."""
    source = formula_workbook(tmp_path / "results.xlsx", values=False)
    out = tmp_path / "share.xlsx"
    with pytest.raises(RfmError, match="formulas were never calculated"):
        share_copy(source, out)
    assert not out.exists()
    with pytest.raises(RfmError, match="formulas were never calculated"):
        share_copy(ROOT / "workbook_template.xlsm", out)


def test_formula_without_a_saved_value_is_listed_and_nothing_is_written(tmp_path):
    source = formula_workbook(tmp_path / "results.xlsx", values=True)
    # Drop the saved value of Data!C3, as in a workbook written by a program and never calculated.
    with zipfile.ZipFile(source) as archive:
        items = {n: archive.read(n) for n in archive.namelist()}
    sheet = items["xl/worksheets/sheet1.xml"].decode()
    sheet, n = re.subn(r'(<c r="C3"[^>]*>)(<f>[^<]*</f>)<v>[^<]*</v>', r"\1\2", sheet)
    assert n == 1
    items["xl/worksheets/sheet1.xml"] = sheet.encode()
    broken = tmp_path / "uncalculated.xlsx"
    with zipfile.ZipFile(broken, "w") as archive:
        for name, data in items.items():
            archive.writestr(name, data)
    out = tmp_path / "share.xlsx"
    with pytest.raises(RfmError, match=r"1 formula has no saved value.*Data!C3"):
        share_copy(broken, out)
    assert not out.exists() and sorted(p.name for p in tmp_path.iterdir()) == [
        "results.xlsx", "uncalculated.xlsx"]


def test_values_only_cell_types():
    xml = ('<sheetData><row r="1"><c r="A1"><f>1+1</f><v>2</v></c><c r="B1" t="str"><f>"a"&amp;"b"</f>'
           '<v> a&amp;b </v></c><c r="C1" t="e"><f>1/0</f><v>#DIV/0!</v></c><c r="D1" t="b"><f>TRUE()</f>'
           '<v>1</v></c><c r="E1" t="s"><v>0</v></c><c r="F1" cm="1"><f t="array" ref="F1">SEQUENCE(1)</f>'
           '<v>1</v></c><c r="G1" t="str"><f>""</f><v></v></c><c r="H1"><f>X()</f></c>'
           '<c r="I1"><f t="shared" si="0"/><v>4</v></c></row></sheetData>')
    out, count, missing = values_only(xml)
    assert count == 8 and missing == ["H1"]
    assert '<c r="A1"><v>2</v></c>' in out
    assert '<c r="B1" t="inlineStr"><is><t xml:space="preserve"> a&amp;b </t></is></c>' in out
    assert '<c r="C1" t="e"><v>#DIV/0!</v></c>' in out and '<c r="D1" t="b"><v>1</v></c>' in out
    assert '<c r="E1" t="s"><v>0</v></c>' in out and '<c r="F1"><v>1</v></c>' in out
    assert '<c r="G1" t="inlineStr"><is><t xml:space="preserve"></t></is></c>' in out
    assert '<c r="I1"><v>4</v></c>' in out


def test_bad_share_targets_and_sources(tmp_path):
    source = formula_workbook(tmp_path / "results.xlsx", values=True)
    with pytest.raises(RfmError, match=r"\.xlsx"):
        share_copy(source, tmp_path / "copy.xlsm")
    with pytest.raises(RfmError, match="Refusing to overwrite the input"):
        share_copy(source, source)
    (tmp_path / "text.xlsx").write_text("not a zip")
    with pytest.raises(RfmError, match="not an Excel workbook"):
        share_copy(tmp_path / "text.xlsx", tmp_path / "out.xlsx")


def test_cli_share(tmp_path, capsys):
    source = formula_workbook(tmp_path / "results.xlsx", values=True)
    assert main(["share", str(source), "-o", str(tmp_path / "out.xlsx")]) == 0
    out = capsys.readouterr().out
    assert "formulas replaced by their saved values" in out and "RFM Settings, xlwings.conf" in out
    assert main(["share", str(source)]) == 0  # default name beside the input
    assert (tmp_path / "results_share.xlsx").exists()
    assert main(["share", str(tmp_path / "missing.xlsx"), "-o", str(tmp_path / "x.xlsx")]) == 2
    assert capsys.readouterr().err.startswith("rfm-addin: error: ")


def test_share_copy_of_the_demo_workbook_keeps_every_chart(tmp_path):
    assert main(["demo", "-o", str(tmp_path / "demo"), "--customers", "200", "-q"]) == 0
    source = tmp_path / "demo" / "rfm_demo.xlsx"
    out = tmp_path / "demo share.xlsx"
    report = share_copy(source, out)
    before, after = parts(source), parts(out)
    charts = sorted(n for n in before if n.startswith("xl/charts/"))
    assert charts and charts == sorted(n for n in after if n.startswith("xl/charts/"))
    assert all(before[n] == after[n] for n in charts)
    assert load_workbook(out).sheetnames == load_workbook(source).sheetnames
    assert report.formulas == 0 and load_workbook(out).properties.title.startswith("RFM results as of ")


class _FakeApp:
    def __init__(self):
        self.alerts = []

    def alert(self, message, title="", mode="info", **_):
        self.alerts.append((message, mode))


class _FakeBook:
    """Desktop Excel's book as the button sees it: a saved file, save() and alerts."""

    def __init__(self, path: Path):
        self.fullname = str(path)
        self.app = _FakeApp()
        self.saved = 0

    def save(self):
        self.saved += 1


def test_ribbon_share_saves_then_writes_the_copy_beside_the_workbook(tmp_path):
    vba = tmp_path / "vbaProject.bin"
    vba.write_bytes(b"fake")
    source = formula_workbook(tmp_path / "Results.xlsm", vba=vba, values=True)
    book = _FakeBook(source)
    ribbon_share.share_workbook(book)
    target = tmp_path / "Results (share copy).xlsx"
    assert book.saved == 1 and target.exists()
    assert "xl/vbaProject.bin" not in parts(target)
    message, mode = book.app.alerts[-1]
    assert mode == "info" and "Results (share copy).xlsx" in message and "RFM Settings" in message


def test_ribbon_share_through_the_remote_engine_explains_it_needs_a_file(make_remote_book):
    book = make_remote_book()
    from rfm_addin.excel import macros

    macros.ribbon("share", book)
    alerts = [a for a in book.json()["actions"] if a["func"] == "alert"]
    assert len(alerts) == 1 and "desktop Excel" in alerts[0]["args"][0] and "rfm-addin share" in alerts[0]["args"][0]
    assert not [a for a in book.json()["actions"] if a["func"] == "save"]


@pytest.fixture
def make_remote_book(xw_remote):
    """A remote-engine Book with one small sheet (the engine is enabled by the shared fixture)."""

    def build():
        payload = {"client": "Microsoft Office Scripts", "version": xw_remote.__version__,
                   "book": {"name": "t.xlsm", "active_sheet_index": 0, "selection": "A1"}, "names": [],
                   "sheets": [{"name": "Data", "values": [["x"]], "pictures": [], "tables": [],
                               "pivot_tables": []}]}
        return xw_remote.Book(json=payload)

    return build
