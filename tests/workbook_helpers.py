"""Helpers of the command-line tests that read back what they wrote: run ``rfm-addin`` in a
subprocess, and read one Excel Table of a written workbook with openpyxl."""
from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import openpyxl
import pandas as pd


def cli(*args: str) -> subprocess.CompletedProcess:
    """``rfm-addin ARGS`` with this interpreter; output captured, never raising."""
    return subprocess.run([sys.executable, "-m", "rfm_addin.cli", *args], capture_output=True, text=True)


def table(path: Path, sheet: str, name: str) -> pd.DataFrame:
    """An Excel Table of a written workbook as a DataFrame (headers as written)."""
    ws = openpyxl.load_workbook(path)[sheet]
    rows = [[c.value for c in row] for row in ws[ws.tables[name].ref]]
    return pd.DataFrame(rows[1:], columns=rows[0])
