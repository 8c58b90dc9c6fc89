"""The rfm-addin command: demo and analyze, the written workbook read back with openpyxl,
safe (atomic, formula-free) writing, segment export, and one-line errors for bad input."""
from __future__ import annotations

import datetime as dt
import os
import shutil
import json
import subprocess
import sys
import zipfile
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from openpyxl import load_workbook

import rfm_addin
import rfm_addin.writers.xlsx as xlsx_writer
from rfm_addin.cli import main

SHEETS = ["RFM Summary", "RFM Insights", "RFM Customers", "RFM Segments", "RFM R x F Grid", "RFM Clusters", "RFM K Selection",
          "RFM Pareto", "RFM Thresholds", "RFM Quality"]
CUSTOMER_HEADERS = ["CustomerID", "Recency (days)", "Frequency", "Monetary", "First purchase", "Last purchase",
                    "Avg order value", "R score", "F score", "M score", "RFM code", "RFM score", "Segment",
                    "Cluster", "Cluster name"]


def table_rows(ws, header_row: int = 4) -> list[dict]:
    """The rows of the table whose header is in ``header_row``, as dicts, up to the first empty row."""
    headers = [c.value for c in ws[header_row] if c.value is not None]
    rows = []
    for values in ws.iter_rows(min_row=header_row + 1, max_col=len(headers), values_only=True):
        if all(v is None for v in values):
            break
        rows.append(dict(zip(headers, values)))
    return rows


def simple_csv(path: Path, n: int = 12, amount=lambda i: f"{10 * (i + 1)}", date=None) -> Path:
    """n customers c00..c{n-1}; customer i buys i % 3 + 1 times."""
    lines = ["CustomerID,InvoiceDate,Amount"]
    for i in range(n):
        for j in range(i % 3 + 1):
            day = date(i) if date else f"2024-01-{i + j + 1:02d}"
            a = amount(i)
            lines.append(f"c{i:02d},{day},\"{a}\"")
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


# --------------------------------------------------------------------------- demo


@pytest.fixture(scope="module")
def demo(tmp_path_factory):
    folder = tmp_path_factory.mktemp("demo") / "out"
    status = main(["demo", "-o", str(folder)])
    assert status == 0
    return folder, load_workbook(folder / "rfm_demo.xlsx")


def test_demo_writes_the_transactions_and_the_workbook(demo):
    folder, _ = demo
    assert sorted(p.name for p in folder.iterdir()) == ["demo_transactions.csv", "rfm_demo.xlsx"]
    data = pd.read_csv(folder / "demo_transactions.csv", dtype=str)
    assert data.columns.tolist() == ["CustomerID", "OrderDate", "OrderAmount"]
    assert data["CustomerID"].nunique() == 1000
    assert data["CustomerID"].min() == "10001" and data["CustomerID"].max() == "11000"
    # the CSV holds exactly the built-in demo data
    expected = rfm_addin.demo_transactions(n_customers=1000)
    assert len(data) == len(expected)
    assert data["OrderDate"].tolist() == expected["OrderDate"].dt.strftime("%Y-%m-%d").tolist()
    assert data["OrderAmount"].astype(float).tolist() == expected["OrderAmount"].tolist()


def test_demo_sheet_names(demo):
    _, wb = demo
    assert wb.sheetnames == SHEETS
    assert all(name.startswith("RFM ") for name in wb.sheetnames)


def test_demo_every_sheet_has_its_named_table_covering_header_and_rows(demo, capsys):
    _, wb = demo
    expected_tables = {
        "RFM Summary": ["RFM_Headline", "RFM_Findings", "RFM_Overview"], "RFM Insights": ["RFM_Insights"],
        "RFM Customers": ["RFM_Customers"],
        "RFM Segments": ["RFM_Segments"], "RFM R x F Grid": ["RFM_GridCustomers", "RFM_GridMonetary"],
        "RFM Clusters": ["RFM_Clusters", "RFM_ClusterSegments", "RFM_ClusterSnake"], "RFM K Selection": ["RFM_KSelection"],
        "RFM Pareto": ["RFM_Pareto"],
        "RFM Thresholds": ["RFM_Thresholds"], "RFM Quality": ["RFM_Quality", "RFM_Parameters"],
    }
    customers = table_rows(wb["RFM Customers"])
    n_segments = len({r["Segment"] for r in customers})
    n_clusters = len({r["Cluster"] for r in customers})
    expected_rows = {"RFM_Customers": 1000, "RFM_Segments": n_segments, "RFM_Clusters": n_clusters,
                     "RFM_KSelection": 9, "RFM_Thresholds": 15}
    for ws in wb.worksheets:
        names = sorted(ws.tables.keys())
        assert names == sorted(expected_tables[ws.title]), ws.title
        for name in names:
            ref = ws.tables[name].ref
            first, last = ref.split(":")
            top = int(first.lstrip("ABCDEFGHIJKLMNOPQRSTUVWXYZ"))
            bottom = int(last.lstrip("ABCDEFGHIJKLMNOPQRSTUVWXYZ"))
            rows = table_rows(ws, top)
            assert bottom - top == len(rows), (ws.title, name, ref)
            if name in expected_rows:
                assert len(rows) == expected_rows[name], name
            # the column span is the header's
            headers = [c.value for c in ws[top] if c.value is not None]
            assert last.rstrip("0123456789") == chr(ord("A") + len(headers) - 1)
    assert wb["RFM Customers"].tables["RFM_Customers"].ref == "A4:O1004"


def test_demo_headers_formats_and_freeze_panes(demo):
    _, wb = demo
    ws = wb["RFM Customers"]
    assert [c.value for c in ws[4]] == CUSTOMER_HEADERS
    assert ws["A1"].value == "Customers with RFM scores, segment and cluster"
    assert ws.freeze_panes == "A5"
    assert ws["A5"].data_type == "s" and ws["A5"].number_format == "@"
    assert ws["B5"].number_format == "#,##0"          # recency (days)
    assert ws["D5"].number_format == "#,##0.00"       # monetary
    assert ws["E5"].number_format == "yyyy-mm-dd"     # first purchase
    assert isinstance(ws["E5"].value, dt.datetime)
    assert ws["G5"].number_format == "#,##0.00"       # avg order value
    assert ws["H5"].number_format == "0"              # R score
    seg = wb["RFM Segments"]
    headers = [c.value for c in seg[4]]
    assert headers[1:4] == ["Customers", "Share of customers", "Mean recency (days)"]
    assert seg["C5"].number_format == "0.0%"
    assert headers.index("Share of revenue") >= 0
    share_col = headers.index("Share of revenue") + 1
    assert seg.cell(5, share_col).number_format == "0.0%"
    assert seg.cell(5, headers.index("Revenue") + 1).number_format == "#,##0.00"
    shares = [seg.cell(r, 3).value for r in range(5, 5 + len(table_rows(seg)))]
    assert sum(shares) == pytest.approx(1.0)
    ks = wb["RFM K Selection"]
    assert [c.value for c in ks[4]] == ["k", "Inertia", "Silhouette", "Chosen k", "Chosen", "Stability (Jaccard)",
                                        "Stability"]
    rows = table_rows(ks)
    chosen = [r for r in rows if r["Chosen"]]
    assert len(chosen) == 1 and 0 < chosen[0]["Stability (Jaccard)"] <= 1
    assert chosen[0]["Stability"] in ("highly stable", "stable", "doubtful", "do not use")
    assert all(r["Stability (Jaccard)"] is None for r in rows if not r["Chosen"])
    assert [c.value for c in wb["RFM Quality"][4]] == ["Check", "Count", "Unit", "Amount", "Treatment"]
    for name in ("RFM Customers", "RFM Segments", "RFM K Selection", "RFM Pareto", "RFM Thresholds"):  # one table
        assert wb[name].freeze_panes == "A5", name


def test_demo_workbook_numbers_match_the_demo_data(demo):
    folder, wb = demo
    data = pd.read_csv(folder / "demo_transactions.csv", dtype={"CustomerID": str})
    totals = data.groupby("CustomerID")["OrderAmount"].sum().round(2)
    rows = table_rows(wb["RFM Customers"])
    written = {r["CustomerID"]: round(r["Monetary"], 2) for r in rows}
    assert written == totals.to_dict()
    quality = {r["Check"]: r["Count"] for r in table_rows(wb["RFM Quality"])}
    assert quality["Rows read"] == len(data)
    assert quality["Customers analysed"] == 1000


def test_demo_segment_and_cluster_headers_are_labelled(demo):
    _, wb = demo
    assert wb["RFM Segments"]["A4"].value == "Segment"
    assert wb["RFM Clusters"]["A4"].value == "Cluster"
    assert wb["RFM Clusters"]["A5"].number_format == "#,##0"


# --------------------------------------------------------------------------- analyze with options


def options_input(path: Path) -> Path:
    """30 customers with non-standard headers, orders, some rows after the as-of date."""
    rng = np.random.default_rng(3)
    rows = []
    for c in range(30):
        for o in range(1 + c % 4):
            day = pd.Timestamp("2024-01-01") + pd.Timedelta(days=int(rng.integers(0, 200)))
            order = f"O{c:02d}{o}"
            for line in range(1 + o % 2):
                rows.append({"Kunde": f"K{c:03d}", "Datum": day.strftime("%Y-%m-%d"), "Beleg": order,
                             "Betrag": round(float(rng.uniform(5, 300)), 2), "Spalte": line})
    pd.DataFrame(rows).to_csv(path, index=False)
    return path


def test_analyze_workbook_equals_the_library_result(tmp_path):
    source = options_input(tmp_path / "in.csv")
    out = tmp_path / "out.xlsx"
    args = ["--customer", "Kunde", "--date", "Datum", "--amount", "Betrag", "--order", "Beleg",
            "--as-of", "2024-06-30", "--bins", "4", "--k", "3", "--seed", "7"]
    assert main(["analyze", str(source), "-o", str(out), "-q", *args]) == 0
    expected = rfm_addin.analyze(source, customer="Kunde", date="Datum", amount="Betrag", order="Beleg",
                                 as_of="2024-06-30", bins=4, k=3, random_state=7)
    customers = expected.customers
    assert expected.as_of == pd.Timestamp("2024-06-30")
    wb = load_workbook(out)
    ws = wb["RFM Customers"]
    assert ws["A4"].value == "Kunde"
    rows = table_rows(ws)
    assert [r["Kunde"] for r in rows] == customers.index.tolist()
    columns = {"Recency (days)": "recency", "Frequency": "frequency", "Monetary": "monetary",
               "First purchase": "first_purchase", "Last purchase": "last_purchase", "R score": "r_score",
               "F score": "f_score", "M score": "m_score", "RFM code": "rfm_code", "RFM score": "rfm_score",
               "Segment": "segment", "Cluster": "cluster", "Cluster name": "cluster_name"}
    for header, column in columns.items():
        written = [r[header] for r in rows]
        wanted = customers[column].tolist()
        if column in ("first_purchase", "last_purchase"):
            wanted = [pd.Timestamp(v).to_pydatetime() for v in wanted]
        if column in ("monetary", "rfm_score"):
            # Excel stores 15-17 significant digits: 406.91999999999996 is written as 406.92
            assert written == pytest.approx(wanted, rel=1e-14, abs=0), header
            continue
        assert written == wanted, header
    assert {r["Cluster"] for r in rows} == {1, 2, 3}
    assert max(r["R score"] for r in rows) == 4
    assert all(r["Last purchase"] <= dt.datetime(2024, 6, 30) for r in rows)
    assert all(r["Recency (days)"] == (dt.datetime(2024, 6, 30) - r["Last purchase"]).days for r in rows)
    # parameters are recorded in the workbook
    params = {r["Parameter"]: r["Value"] for r in table_rows(wb["RFM Quality"], 11)}
    assert params["as_of"] == "2024-06-30"
    assert params["bins"] == 4 and params["k"] == 3 and params["random_state"] == 7
    assert params["order"] == "Beleg"


def test_analyze_default_output_name_beside_the_input(tmp_path):
    source = simple_csv(tmp_path / "shop.csv")
    assert main(["analyze", str(source), "-q"]) == 0
    assert sorted(p.name for p in tmp_path.iterdir()) == ["shop.csv", "shop_rfm.xlsx"]


def test_analyze_prints_what_it_wrote(tmp_path, capsys):
    source = simple_csv(tmp_path / "shop.csv")
    out = tmp_path / "r.xlsx"
    assert main(["analyze", str(source), "-o", str(out)]) == 0
    stdout = capsys.readouterr().out.splitlines()
    assert stdout[0] == f"Wrote {out}"
    assert stdout[1].startswith("- 12 customers spent ")


# --------------------------------------------------------------------------- formula injection


INJECTED = ['=HYPERLINK("http://x","click")', "@SUM(1)", "+1", "-2", "=1+1", "=cmd|' /C calc'!A0"]


def test_formula_like_ids_are_written_as_text(tmp_path):
    ids = INJECTED + [f"p{i}" for i in range(10)]
    rows = [{"CustomerID": cid, "InvoiceDate": f"2024-01-{i + j + 1:02d}", "Amount": 10.0 * (i + 1) + j}
            for i, cid in enumerate(ids) for j in range(i % 4 + 1)]
    pd.DataFrame(rows).to_csv(tmp_path / "in.csv", index=False)
    out = tmp_path / "out.xlsx"
    assert main(["analyze", str(tmp_path / "in.csv"), "-o", str(out), "-q"]) == 0
    wb = load_workbook(out)
    ws = wb["RFM Customers"]
    cells = {ws.cell(r, 1).value: ws.cell(r, 1) for r in range(5, 5 + len(ids))}
    assert set(cells) == set(ids)
    for value in INJECTED:
        assert cells[value].data_type == "s", value
    formulas = [(w.title, c.coordinate) for w in wb.worksheets for row in w.iter_rows() for c in row
                if c.data_type == "f"]
    assert formulas == []
    assert ws.tables["RFM_Customers"].ref == f"A4:O{4 + len(ids)}"
    with zipfile.ZipFile(out) as z:
        for name in z.namelist():
            if name.startswith("xl/worksheets/"):
                assert b"<f>" not in z.read(name) and b"<f " not in z.read(name), name
        assert not any("hyperlink" in n.lower() or "externalLink" in n for n in z.namelist())


# --------------------------------------------------------------------------- atomic writing


def _fail_on_third_sheet(monkeypatch, error):
    original = xlsx_writer.render_sheet
    calls = []

    def render(book, spec, formats):
        calls.append(spec.name)
        if len(calls) == 3:
            raise error
        original(book, spec, formats)

    monkeypatch.setattr(xlsx_writer, "render_sheet", render)
    return calls


def test_writer_failure_leaves_no_partial_or_temp_file(tmp_path, monkeypatch, capsys):
    source = simple_csv(tmp_path / "in.csv")
    out = tmp_path / "out.xlsx"
    calls = _fail_on_third_sheet(monkeypatch, OSError(28, "No space left on device"))
    assert main(["analyze", str(source), "-o", str(out), "-q"]) == 2
    err = capsys.readouterr().err
    assert err.startswith("rfm-addin: error: Cannot write") and "No space left on device" in err
    assert calls == SHEETS[:3]
    assert sorted(p.name for p in tmp_path.iterdir()) == ["in.csv"]


def test_writer_failure_leaves_existing_target_untouched(tmp_path, monkeypatch):
    source = simple_csv(tmp_path / "in.csv")
    out = tmp_path / "out.xlsx"
    out.write_bytes(b"last month's results")
    _fail_on_third_sheet(monkeypatch, OSError(28, "No space left on device"))
    assert main(["analyze", str(source), "-o", str(out), "-q"]) == 2
    assert out.read_bytes() == b"last month's results"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["in.csv", "out.xlsx"]


def test_permission_error_while_writing_is_a_clear_error(tmp_path, monkeypatch, capsys):
    source = simple_csv(tmp_path / "in.csv")
    out = tmp_path / "out.xlsx"
    out.write_bytes(b"open in Excel")
    _fail_on_third_sheet(monkeypatch, PermissionError(13, "Permission denied"))
    assert main(["analyze", str(source), "-o", str(out), "-q"]) == 2
    err = capsys.readouterr().err
    assert err == (f"rfm-addin: error: Cannot write {str(out)!r}: it is open in another program "
                   "(close it in Excel) or the folder is not writable.\n")
    assert out.read_bytes() == b"open in Excel"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["in.csv", "out.xlsx"]


def test_successful_write_replaces_the_target_and_leaves_no_temp_file(tmp_path):
    source = simple_csv(tmp_path / "in.csv")
    out = tmp_path / "out.xlsx"
    out.write_bytes(b"old")
    assert main(["analyze", str(source), "-o", str(out), "-q"]) == 0
    assert load_workbook(out).sheetnames == SHEETS
    assert sorted(p.name for p in tmp_path.iterdir()) == ["in.csv", "out.xlsx"]


def test_output_equal_to_input_is_refused(tmp_path, capsys):
    source = simple_csv(tmp_path / "in.csv")
    workbook = tmp_path / "in.xlsx"
    pd.read_csv(source, dtype=str).to_excel(workbook, index=False)
    before = workbook.read_bytes()
    assert main(["analyze", str(workbook), "-o", str(workbook), "-q"]) == 2
    assert workbook.read_bytes() == before
    err = capsys.readouterr().err
    assert err == (f"rfm-addin: error: Refusing to overwrite the input file {str(workbook)!r}; "
                   "choose another output name.\n")
    # the same file named another way
    other = str(tmp_path / "sub" / ".." / "in.xlsx")
    (tmp_path / "sub").mkdir()
    assert main(["analyze", str(workbook), "-o", other, "-q"]) == 2
    assert workbook.read_bytes() == before
    assert "Refusing to overwrite the input file" in capsys.readouterr().err


def test_missing_output_folder(tmp_path, capsys):
    source = simple_csv(tmp_path / "in.csv")
    out = tmp_path / "nowhere" / "out.xlsx"
    assert main(["analyze", str(source), "-o", str(out), "-q"]) == 2
    assert capsys.readouterr().err == f"rfm-addin: error: The folder {str(out.parent)!r} does not exist.\n"
    assert not out.parent.exists()


def test_output_that_is_a_folder(tmp_path, capsys):
    source = simple_csv(tmp_path / "in.csv")
    out = tmp_path / "out.xlsx"
    out.mkdir()
    assert main(["analyze", str(source), "-o", str(out), "-q"]) == 2
    assert capsys.readouterr().err == f"rfm-addin: error: {str(out)!r} is a folder; give a file name.\n"
    assert list(out.iterdir()) == []


def test_to_excel_is_atomic_too(tmp_path, monkeypatch):
    result = rfm_addin.analyze(pd.read_csv(simple_csv(tmp_path / "in.csv"), dtype=str))
    out = tmp_path / "x.xlsx"
    out.write_bytes(b"keep me")
    _fail_on_third_sheet(monkeypatch, RuntimeError("boom"))
    with pytest.raises(RuntimeError):
        result.to_excel(out)
    assert out.read_bytes() == b"keep me"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["in.csv", "x.xlsx"]


# --------------------------------------------------------------------------- segment export


def test_export_segments_one_csv_per_segment(tmp_path):
    source = options_input(tmp_path / "in.csv")
    out = tmp_path / "out.xlsx"
    folder = tmp_path / "segments" / "new"
    assert main(["analyze", str(source), "-o", str(out), "-q", "--customer", "Kunde", "--date", "Datum",
                 "--amount", "Betrag", "--order", "Beleg", "--export-segments", str(folder)]) == 0
    rows = table_rows(load_workbook(out)["RFM Customers"])
    by_segment: dict[str, set] = {}
    for r in rows:
        by_segment.setdefault(r["Segment"], set()).add(r["Kunde"])
    files = sorted(f for f in folder.iterdir() if f.name != ".rfm-export.json")
    assert [f.suffix for f in files] == [".csv"] * len(files)
    manifest = json.loads((folder / ".rfm-export.json").read_text())    # what the run wrote, for the next
    assert sorted(manifest["files"]) == [f.name for f in files]
    seen: list[str] = []
    assert len(files) == len(by_segment)
    for f in files:
        data = pd.read_csv(f, dtype={"Kunde": str})
        segments = set(data["segment"])
        assert len(segments) == 1, f.name
        (segment,) = segments
        assert f.stem == segment.replace("'", "_")
        assert set(data["Kunde"]) == by_segment[segment]
        seen.extend(data["Kunde"])
    assert len(seen) == len(set(seen)) == len(rows) == 30
    assert sum(len(pd.read_csv(f)) for f in files) == 30


def test_export_segments_to_a_file_is_a_clear_error_and_writes_nothing(tmp_path, capsys):
    source = simple_csv(tmp_path / "in.csv")
    out = tmp_path / "out.xlsx"
    (tmp_path / "afile").write_text("x")
    assert main(["analyze", str(source), "-o", str(out), "-q", "--export-segments", str(tmp_path / "afile")]) == 2
    assert capsys.readouterr().err.startswith("rfm-addin: error: ")
    assert not out.exists()


# --------------------------------------------------------------------------- console script


def _console_script() -> list[str]:
    script = Path(sys.executable).with_name("rfm-addin")
    if script.exists():
        return [str(script)]
    found = shutil.which("rfm-addin")
    return [found] if found else [sys.executable, "-m", "rfm_addin.cli"]


def test_console_script_bad_input_prints_one_line_and_exits_2(tmp_path):
    source = tmp_path / "bad.csv"
    source.write_text("CustomerID,InvoiceDate,Amount\na,2024-01-01,1\nb,2024-01-02,#N/A\n", encoding="utf-8")
    out = tmp_path / "out.xlsx"
    proc = subprocess.run([*_console_script(), "analyze", str(source), "-o", str(out)], capture_output=True,
                          text=True, timeout=120, env={**os.environ, "PYTHONWARNINGS": "ignore"})
    assert proc.returncode == 2
    assert proc.stdout == ""
    assert "Traceback" not in proc.stderr
    lines = proc.stderr.splitlines()
    assert len(lines) == 1
    assert lines[0].startswith("rfm-addin: error: Column 'Amount': 1 value not readable as a number "
                               "(row 3: '#N/A').")
    assert not out.exists()


def test_usage_errors_exit_2(capsys):
    with pytest.raises(SystemExit) as info:
        main(["analyze"])
    assert info.value.code == 2
    assert "rfm-addin analyze: error:" in capsys.readouterr().err.replace("usage", "")


# --------------------------------------------------------------------------- text options


def _customers(out: Path) -> dict[str, dict]:
    return {r["CustomerID"]: r for r in table_rows(load_workbook(out)["RFM Customers"])}


def test_thousands_option(tmp_path, capsys):
    source = simple_csv(tmp_path / "in.csv", amount=lambda i: f"${1000 * (i + 1) + 0.5:,.2f}")
    assert source.read_text().splitlines()[1] == 'c00,2024-01-01,"$1,000.50"'
    out = tmp_path / "out.xlsx"
    assert main(["analyze", str(source), "-o", str(out), "-q"]) == 2
    assert "--thousands ," in capsys.readouterr().err
    assert not out.exists()
    assert main(["analyze", str(source), "-o", str(out), "-q", "--thousands", ","]) == 0
    customers = _customers(out)
    assert {k: v["Monetary"] for k, v in customers.items()} == {
        f"c{i:02d}": (1000 * (i + 1) + 0.5) * (i % 3 + 1) for i in range(12)}


def test_decimal_and_thousands_options(tmp_path, capsys):
    source = simple_csv(tmp_path / "in.csv", amount=lambda i: f"{i + 1}.{i:03d}.000,25")
    assert source.read_text().splitlines()[1] == 'c00,2024-01-01,"1.000.000,25"'
    out = tmp_path / "out.xlsx"
    assert main(["analyze", str(source), "-o", str(out), "-q", "--decimal", ",", "--thousands", "."]) == 0
    customers = _customers(out)
    assert customers["c00"]["Monetary"] == 1000000.25
    assert customers["c01"]["Monetary"] == 2 * 2001000.25
    assert customers["c11"]["Monetary"] == 3 * 12011000.25
    # the names work too
    out2 = tmp_path / "out2.xlsx"
    assert main(["analyze", str(source), "-o", str(out2), "-q", "--decimal", "comma", "--thousands", "dot"]) == 0
    assert _customers(out2)["c05"]["Monetary"] == 3 * 6005000.25


def test_decimal_comma_option(tmp_path):
    source = simple_csv(tmp_path / "in.csv", amount=lambda i: f"{i},5")
    out = tmp_path / "out.xlsx"
    assert main(["analyze", str(source), "-o", str(out), "-q", "--decimal", ","]) == 0
    assert {k: v["Monetary"] for k, v in _customers(out).items()} == {
        f"c{i:02d}": (i + 0.5) * (i % 3 + 1) for i in range(12)}


def test_dayfirst_and_monthfirst_options(tmp_path, capsys):
    source = simple_csv(tmp_path / "in.csv", date=lambda i: f"{i + 1:02d}/04/2024")
    out = tmp_path / "out.xlsx"
    assert main(["analyze", str(source), "-o", str(out), "-q"]) == 2
    err = capsys.readouterr().err
    assert err.startswith("rfm-addin: error: Column 'InvoiceDate': Dates such as '01/04/2024' could be day-first "
                          "or month-first.")
    assert "--dayfirst" in err
    assert not out.exists()
    assert main(["analyze", str(source), "-o", str(out), "-q", "--dayfirst"]) == 0
    customers = _customers(out)
    assert {k: v["Last purchase"] for k, v in customers.items()} == {
        f"c{i:02d}": dt.datetime(2024, 4, i + 1) for i in range(12)}
    assert customers["c00"]["Recency (days)"] == 12  # as of 2024-04-13
    assert main(["analyze", str(source), "-o", str(out), "-q", "--monthfirst"]) == 0
    assert {k: v["Last purchase"] for k, v in _customers(out).items()} == {
        f"c{i:02d}": dt.datetime(2024, i + 1, 4) for i in range(12)}
