"""Every kind of workbook the project writes passes ``../shared/ooxml/validate.py``: the ISO/IEC
29500 transitional and OPC schemas, Microsoft's customUI schema and Excel's stricter rules
(unique table ids, header cells equal to table column names, content types...). The
validator plants known defects first and fails unless it catches each.

Kinds: the workbook template (as committed and as ``excel-setup`` writes it), the CLI's
results workbook (with and without CLV) and its share copy, the migration, history and CLV
check workbooks.
"""
from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
VALIDATOR = ROOT.parent / "shared" / "ooxml" / "validate.py"

pytestmark = pytest.mark.skipif(not VALIDATOR.is_file() and os.environ.get("CI") != "true",
                                reason=f"the shared OOXML validator is not at {VALIDATOR}")


def cli(*args: str, env: dict | None = None) -> subprocess.CompletedProcess:
    done = subprocess.run([sys.executable, "-m", "rfm_addin.cli", *args], capture_output=True, text=True, env=env)
    assert done.returncode == 0, done.stderr
    return done


def test_every_written_workbook_is_valid(tmp_path):
    demo = tmp_path / "demo"
    cli("demo", "-o", str(demo), "--customers", "300", "-q")
    results = demo / "rfm_demo.xlsx"
    share = tmp_path / "share.xlsx"
    cli("share", str(results), "-o", str(share), "-q")
    env = {**os.environ, "HOME": str(tmp_path), "USERPROFILE": str(tmp_path)}
    cli("excel-setup", "--platform", "windows", "--folder", str(tmp_path / "excel"), env=env)
    moved = tmp_path / "migration.xlsx"
    cli("migration", str(demo / "demo_transactions.csv"), "--before", "2025-03-31", "--after", "2025-09-30",
        "--window", "180", "-o", str(moved), "-q")
    over_time = tmp_path / "history.xlsx"
    cli("history", str(demo / "demo_transactions.csv"), "--every", "quarter", "-o", str(over_time), "-q")
    valued = tmp_path / "valued.xlsx"
    cli("analyze", str(demo / "demo_transactions.csv"), "--clv", "-o", str(valued), "-q")
    checked = tmp_path / "check.xlsx"
    cli("clv-check", str(demo / "demo_transactions.csv"), "--calibration-end", "2025-06-30", "-o", str(checked), "-q")
    planned = tmp_path / "plan.xlsx"
    cli("plan", str(demo / "demo_transactions.csv"), "--segment", "At Risk", "-o", str(planned), "-q")
    cli("demo", "--saas", "-o", str(tmp_path / "saas"), "-q")
    compared = tmp_path / "compare.xlsx"
    cli("compare-groups", str(tmp_path / "saas" / "usage_demo.xlsx"), "--by", "cluster", "--a", "1", "--b", "2",
        "-o", str(compared))
    files = [ROOT / "workbook_template.xlsm", tmp_path / "excel" / "RFM workbook.xlsm", results, share, moved,
             over_time, valued, checked, planned, tmp_path / "saas" / "usage_demo.xlsx", compared]
    assert all(f.is_file() for f in files)
    done = subprocess.run([sys.executable, str(VALIDATOR), *map(str, files)], capture_output=True, text=True)
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
    assert "0 violations" in done.stdout and "Excel rules: 0 problems" in done.stdout
