"""workbook_template.xlsm: rebuilt from sources, and checked without Excel.

- The committed file is the build (part by part), and the build is reproducible.
- olevba finds the callback module; every ribbon onAction names a sub with the ribbon
  callback signature.
- LibreOffice (headless) opens it, converts it to PDF, and its converted copy carries the
  Basic module with the callback. These need ``soffice`` (installed by .ci/system-deps);
  they skip only outside CI when it is missing.
- openpyxl (keep_vba=True) finds the sheets, tables, config sheet and formulas.
"""
from __future__ import annotations

import io
import os
import re
import shutil
import subprocess
import xml.etree.ElementTree as ET
import zipfile
from pathlib import Path

import openpyxl
import pytest
from oletools.olevba import VBA_Parser

from rfm_addin import demo_transactions
from rfm_addin.build import template
from rfm_addin.excel import macros, settings

TEMPLATE = Path(__file__).resolve().parents[1] / template.TEMPLATE_NAME  # the committed file
SHEETS = ["Start here", "Transactions", "RFM Settings", "Examples", "xlwings.conf"]
SIGNATURE = re.compile(r"^\s*(?:Public\s+)?Sub\s+(\w+)\s*\(\s*(?:ByRef\s+)?control\s+As\s+IRibbonControl\s*\)",
                       re.IGNORECASE | re.MULTILINE)
RUN_PYTHON = """RunPython "import rfm_addin.excel.macros as m; m.ribbon('" & control.ID & "')\""""
CUI = "{http://schemas.microsoft.com/office/2006/01/customui}"


@pytest.fixture(scope="module")
def built() -> bytes:
    return template.template_bytes()


def _parts(data: bytes) -> dict[str, bytes]:
    with zipfile.ZipFile(io.BytesIO(data)) as archive:
        return {info.filename: archive.read(info) for info in archive.infolist()}


def _modules(path) -> dict[str, str]:
    parser = VBA_Parser(str(path))
    try:
        return {stream.split("/")[-1]: code for _, stream, _, code in parser.extract_macros()}
    finally:
        parser.close()


# --------------------------------------------------------------------------------------
# Reproducible build
# --------------------------------------------------------------------------------------
def test_committed_template_is_the_build(built):
    assert TEMPLATE.exists(), "workbook_template.xlsm is missing: run `rfm-addin template`"
    committed, rebuilt = _parts(TEMPLATE.read_bytes()), _parts(built)
    assert list(committed) == list(rebuilt), "parts differ: run `rfm-addin template` and commit the result"
    changed = [name for name in rebuilt if committed[name] != rebuilt[name]]
    assert not changed, f"parts {changed} differ from the build: run `rfm-addin template` and commit the result"


def test_build_is_reproducible(built, tmp_path):
    path = template.build_template(tmp_path / "again.xlsm")
    assert open(path, "rb").read() == built
    with zipfile.ZipFile(path) as archive:
        assert {info.date_time for info in archive.infolist()} == {template.ZIP_DATE}
    core = _parts(built)["docProps/core.xml"].decode()
    assert core.count("2025-01-01T00:00:00Z") == 2  # created and modified: fixed


def test_cli_template_command(tmp_path):
    from rfm_addin import cli

    target = tmp_path / "cli.xlsm"
    assert cli.main(["template", str(target)]) == 0
    assert _parts(target.read_bytes()) == _parts(TEMPLATE.read_bytes())


def test_build_refuses_a_missing_folder(tmp_path):
    from rfm_addin.core.errors import RfmError

    with pytest.raises(RfmError):
        template.build_template(tmp_path / "no such folder" / "t.xlsm")


# --------------------------------------------------------------------------------------
# Ribbon and VBA
# --------------------------------------------------------------------------------------
def test_olevba_lists_the_callback_module():
    modules = _modules(TEMPLATE)
    code = modules["Module1"]
    assert "Sub RfmRibbon(control As IRibbonControl)" in code
    assert RUN_PYTHON in code
    # Import functions: a message on a Mac (no UDFs there); on Windows the import, then a full
    # recalculation so the Examples sheet's #NAME? cells show their results.
    assert re.search(r'If control\.ID = "import" Then\s+#If Mac Then\s+MsgBox "The RFM worksheet functions '
                     r'[^"]+need Excel for Windows[^"]+", vbInformation, "RFM add-in"\s+#Else\s+(?:\'.*\s+)*'
                     r'ImportPythonUDFs\s+Application\.CalculateFull\s+#End If', code)
    # The rest of xlwings' project is there: RunPython and the UDF import the callback calls.
    assert re.search(r"^Public Function RunPython\(", modules["xlwings"], re.MULTILINE)
    assert re.search(r"^Sub ImportPythonUDFs\(\)", modules["xlwings"], re.MULTILINE)
    assert {"ThisWorkbook", "Sheet1", "Sheet2", "Dictionary"} <= set(modules)


def test_ribbon_part_and_every_onaction_names_a_callback_sub():
    parts = _parts(TEMPLATE.read_bytes())
    rels = ET.fromstring(parts["_rels/.rels"])
    targets = {r.get("Type"): r.get("Target") for r in rels}
    assert targets[template.CUSTOM_UI_REL] == "customUI/customUI.xml"
    types = ET.fromstring(parts["[Content_Types].xml"])
    assert any(t.get("PartName") == "/customUI/customUI.xml" for t in types)
    root = ET.fromstring(parts["customUI/customUI.xml"])
    assert root.tag == f"{CUI}customUI"
    tabs = root.findall(f".//{CUI}tab")
    assert [t.get("label") for t in tabs] == ["RFM"]
    buttons = root.findall(f".//{CUI}button")
    ids = [b.get("id") for b in buttons]
    assert sorted(ids) == sorted(set(macros.BUTTONS) | {"import"})
    subs = {name for code in _modules(TEMPLATE).values() for name in SIGNATURE.findall(code)}
    assert "RfmRibbon" in subs
    for button in buttons:
        assert button.get("onAction") in subs, button.get("id")
        assert button.get("imageMso") and button.get("screentip") and button.get("label"), button.get("id")


def test_ribbon_images_are_excel_control_ids():
    """Every imageMso is an id of Excel's own ribbon (Microsoft's list, tests/data); an id of
    another Office program (Access's ImportExcel) shows no image in Excel."""
    known = {line.strip() for line in (Path(__file__).parent / "data" / "excel_control_ids.txt").read_text()
             .splitlines() if line.strip() and not line.startswith("#")}
    assert len(known) > 2000 and "PivotTableInsert" in known and "ImportExcel" not in known
    root = ET.fromstring(_parts(TEMPLATE.read_bytes())["customUI/customUI.xml"])
    images = {b.get("id"): b.get("imageMso") for b in root.findall(f".//{CUI}button")}
    assert {i: m for i, m in images.items() if m not in known} == {}


def test_codenames_match_the_vba_project():
    parts = _parts(TEMPLATE.read_bytes())
    workbook = parts["xl/workbook.xml"].decode()
    assert '<workbookPr codeName="ThisWorkbook"' in workbook
    names = [re.search(r'<sheetPr codeName="(\w+)"', parts[f"xl/worksheets/sheet{i}.xml"].decode()).group(1)
             for i in range(1, len(SHEETS) + 1)]
    assert names == [template.CODENAMES[s] for s in SHEETS]
    assert len(set(names)) == len(names)
    modules = _modules(TEMPLATE)
    # The project's sheet modules belong to sheets; no codeName takes the name of another module.
    assert {"Sheet1", "Sheet2"} <= set(names)
    assert not set(names) & {"Module1", "xlwings", "Dictionary", "ThisWorkbook"}
    assert {"Sheet1", "Sheet2", "ThisWorkbook"} <= set(modules)


# --------------------------------------------------------------------------------------
# openpyxl
# --------------------------------------------------------------------------------------
def test_openpyxl_finds_sheets_tables_config_and_formulas():
    book = openpyxl.load_workbook(TEMPLATE, keep_vba=True)
    assert book.sheetnames == SHEETS
    assert book.vba_archive is not None and "xl/vbaProject.bin" in book.vba_archive.namelist()
    transactions = book["Transactions"]
    table = transactions.tables["Transactions"]
    n = len(demo_transactions())
    first = 4  # layout.TABLE_START_ROW: title, note, blank, then the header
    assert table.ref == f"A{first}:C{first + n}"
    assert [c.value for c in transactions[first]] == ["CustomerID", "OrderDate", "OrderAmount"]
    assert transactions.cell(first + 1, 1).data_type == "s"  # ids stay text
    settings_sheet = book["RFM Settings"]
    assert "RFM_Settings" in settings_sheet.tables
    rows = [[c.value for c in row] for row in settings_sheet.iter_rows()]
    assert settings.parse_rows(rows) == settings.Settings()  # the defaults, read back through the layout
    config = book["xlwings.conf"]
    assert (config["A1"].value, config["B1"].value) == ("UDF Modules", "rfm_addin.excel.udfs")
    assert (config["A2"].value, config["B2"].value) == ("ADD_WORKBOOK_TO_PYTHONPATH", "False")
    assert config["A3"].value is None  # xlwings reads A1 down to the first empty cell
    examples = book["Examples"]
    formulas = {}
    for ref in ("A5", "F5", "L5"):
        value = examples[ref].value
        formulas[ref] = getattr(value, "text", value)
    assert formulas["A5"] == "=RFM_TABLE(Transactions[CustomerID],Transactions[OrderDate],Transactions[OrderAmount])"
    assert formulas["F5"].startswith("=RFM_SCORE(INDEX(_xlfn.ANCHORARRAY(A5),0,2)")
    assert formulas["L5"].startswith("=RFM_SEGMENT(INDEX(_xlfn.ANCHORARRAY(F5),0,1)")
    assert book.code_name == "ThisWorkbook"
    assert book["Start here"]["A1"].value == "RFM customer segmentation"


def test_examples_are_dynamic_array_formulas():
    parts = _parts(TEMPLATE.read_bytes())
    sheet = parts["xl/worksheets/sheet4.xml"].decode()
    for name in ("RFM_TABLE", "RFM_SCORE", "RFM_SEGMENT"):
        cell = re.search(r'<c r="[A-Z]+5" cm="1"[^>]*><f t="array" ref="[A-Z]+5">' + name, sheet)
        assert cell, f"{name} is not written as a dynamic array (cm=1) formula"
        assert "_xludf." not in sheet and "@" + name not in sheet
    metadata = parts["xl/metadata.xml"].decode()
    assert "XLDAPR" in metadata and 'fDynamic="1"' in metadata


# --------------------------------------------------------------------------------------
# LibreOffice
# --------------------------------------------------------------------------------------
def _soffice() -> str:
    exe = shutil.which("soffice") or shutil.which("libreoffice")
    if exe is None:
        if os.environ.get("CI") == "true":
            pytest.fail("soffice is missing in CI: .ci/system-deps should have installed libreoffice-calc-nogui")
        pytest.skip("LibreOffice (soffice) is not installed; run .ci/system-deps to install it")
    return exe


def _convert(tmp_path, fmt: str) -> str:
    exe = _soffice()
    out = tmp_path / "out"
    out.mkdir()
    profile = (tmp_path / "profile").as_uri()
    source = tmp_path / "workbook_template.xlsm"
    shutil.copyfile(TEMPLATE, source)
    result = subprocess.run([exe, f"-env:UserInstallation={profile}", "--headless", "--norestore",
                             "--convert-to", fmt, "--outdir", str(out), str(source)],
                            capture_output=True, text=True, timeout=600)
    assert result.returncode == 0, result.stderr + result.stdout
    produced = sorted(out.iterdir())
    assert len(produced) == 1, (result.stdout, result.stderr)
    return str(produced[0])


def test_libreoffice_converts_to_pdf(tmp_path):
    pdf = _convert(tmp_path, "pdf")
    data = open(pdf, "rb").read()
    assert data.startswith(b"%PDF-") and len(data) > 10_000


def test_libreoffice_copy_carries_the_basic_module(tmp_path):
    ods = _convert(tmp_path, "ods")
    with zipfile.ZipFile(ods) as archive:
        names = archive.namelist()
        module = next(n for n in names if n.startswith("Basic/") and n.endswith("/Module1.xml"))
        text = ET.fromstring(archive.read(module)).text
        content = archive.read("content.xml").decode()
    assert "Sub RfmRibbon(control As IRibbonControl)" in text
    assert RUN_PYTHON in text
    for name in SHEETS:
        assert f'table:name="{name}"' in content
