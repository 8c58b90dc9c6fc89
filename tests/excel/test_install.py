"""``rfm-addin excel-setup``: the configuration it writes, read back by xlwings' own readers.

Two readers take the user's configuration file: Python's ``xlwings.utils.read_user_config``
(called as installed) and VBA's ``GetConfigFromFile`` in ``xlwings.bas``, which reads each
line with ``Input #file, name, value``. :func:`vba_input_fields` follows the VBA language
reference for ``Input #`` (comma-delimited fields; a field that starts with a double quote
runs to the next double quote, which is removed; leading spaces skipped).
"""
from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import openpyxl
import pytest

from rfm_addin.build import template
from rfm_addin.excel import install

ROOT = Path(__file__).resolve().parents[2]
WINDOWS_PYTHON = r"C:\Users\ana\rfm\.venv\Scripts\python.exe"


def vba_input_fields(line: str) -> list[str]:
    fields, i, n = [], 0, len(line)
    while i < n:
        while i < n and line[i] == " ":
            i += 1
        if i < n and line[i] == '"':
            end = line.find('"', i + 1)
            end = n if end < 0 else end
            fields.append(line[i + 1:end])
            i = line.find(",", end)
            i = n if i < 0 else i + 1
        else:
            end = line.find(",", i)
            end = n if end < 0 else end
            fields.append(line[i:end].strip())
            i = end + 1
    return fields


def vba_get_config_from_file(path: Path, name: str) -> str | None:
    """``GetConfigFromFile``: the value of the first line whose name matches, case-insensitively."""
    for line in path.read_text(encoding="utf-8").splitlines():
        fields = vba_input_fields(line)
        if len(fields) >= 2 and fields[0].lower() == name.lower():
            return fields[1]
    return None


@pytest.fixture
def config(tmp_path, monkeypatch):
    import xlwings

    path = tmp_path / ".xlwings" / "xlwings.conf"
    monkeypatch.setattr(xlwings, "USER_CONFIG_FILE", str(path))
    return path


def setup(tmp_path, **kwargs):
    kwargs.setdefault("folder", tmp_path / "Documents")
    kwargs.setdefault("platform", "windows")
    kwargs.setdefault("executable", WINDOWS_PYTHON)
    kwargs.setdefault("environ", {})
    return install.setup_excel(**kwargs)


def test_interpreter_read_back_by_xlwings_python_and_vba_readers(tmp_path, config):
    from xlwings.utils import read_user_config

    report = setup(tmp_path)
    assert report.config_file == config
    assert read_user_config() == {"interpreter_win": WINDOWS_PYTHON}
    assert vba_get_config_from_file(config, "INTERPRETER_WIN") == WINDOWS_PYTHON
    assert config.read_text(encoding="utf-8") == f'"INTERPRETER_WIN","{WINDOWS_PYTHON}"\n'


def test_other_keys_are_kept_and_the_old_interpreter_replaced(tmp_path, config):
    from xlwings.utils import read_user_config

    config.parent.mkdir(parents=True)
    config.write_text('"LICENSE_KEY","noncommercial"\n"interpreter_win","C:\\old\\python.exe"\n\n'
                      '"UDF Modules","my_udfs"\n"CONDA PATH","C:\\conda"\n"CONDA ENV","base"\n', encoding="utf-8")
    report = setup(tmp_path)
    assert read_user_config() == {"license_key": "noncommercial", "udf modules": "my_udfs",
                                  "interpreter_win": WINDOWS_PYTHON}
    # A conda entry would win over the interpreter in xlwings' VBA: removed, and said.
    assert report.removed == ["CONDA PATH", "CONDA ENV"]
    assert any("removed 'CONDA PATH'" in line for line in report.lines())
    assert vba_get_config_from_file(config, "INTERPRETER_WIN") == WINDOWS_PYTHON


def test_same_file_as_xlwings_update_user_config(tmp_path, config, monkeypatch):
    """On an ordinary file the result is byte for byte what xlwings' own writer makes."""
    import xlwings
    from xlwings.cli import update_user_config

    start = '"LICENSE_KEY","noncommercial"\n"INTERPRETER_WIN","C:\\old\\python.exe"\n'
    config.parent.mkdir(parents=True)
    config.write_text(start, encoding="utf-8")
    setup(tmp_path)
    ours = config.read_bytes()
    theirs = tmp_path / "theirs.conf"
    theirs.write_text(start, encoding="utf-8")
    monkeypatch.setattr(xlwings, "USER_CONFIG_FILE", str(theirs))
    update_user_config("INTERPRETER_WIN", WINDOWS_PYTHON)
    assert ours == theirs.read_bytes()


def test_conda_on_windows_and_interpreter_on_mac(tmp_path, config):
    conda = {"CONDA_DEFAULT_ENV": "rfm", "CONDA_EXE": os.path.sep.join(["", "opt", "miniconda3", "bin", "conda"])}
    report = setup(tmp_path, environ=conda)
    assert report.written == {"CONDA PATH": os.path.sep.join(["", "opt", "miniconda3"]), "CONDA ENV": "rfm"}
    assert vba_get_config_from_file(config, "CONDA ENV") == "rfm"
    report = setup(tmp_path, environ=conda, platform="mac", executable="/Users/ana/.venv/bin/python")
    assert report.written == {"INTERPRETER_MAC": "/Users/ana/.venv/bin/python"}
    assert any("xlwings runpython install" in line for line in report.lines())
    assert any("need Excel for Windows" in line for line in report.lines())


def test_quotes_cannot_be_written(tmp_path, config):
    with pytest.raises(install.RfmError, match="double quote"):
        setup(tmp_path, executable='C:\\a"b\\python.exe')
    assert not config.exists()


def test_workbook_is_the_template_and_never_overwrites(tmp_path, config):
    first = setup(tmp_path).workbook
    assert first == tmp_path / "Documents" / "RFM workbook.xlsm"
    assert first.read_bytes() == (ROOT / template.TEMPLATE_NAME).read_bytes()
    first.write_bytes(b"the user's own work")
    second = setup(tmp_path).workbook
    assert second.name == "RFM workbook (2).xlsm"
    assert first.read_bytes() == b"the user's own work"


def test_template_config_sheet_as_vba_reads_it():
    """``GetConfigFromSheet``: column A from A1 down to the first empty cell, keys upper-cased."""
    book = openpyxl.load_workbook(ROOT / template.TEMPLATE_NAME, keep_vba=True)
    sheet = book[template.CONFIG_SHEET]
    entries = {}
    row = 1
    while sheet.cell(row, 1).value not in (None, ""):
        entries[str(sheet.cell(row, 1).value).upper()] = sheet.cell(row, 2).value
        row += 1
    assert entries == {"UDF MODULES": "rfm_addin.excel.udfs", "ADD_WORKBOOK_TO_PYTHONPATH": "False"}
    # xlwings.utils.prepare_sys_path adds the workbook's folder only for "true".
    assert entries["ADD_WORKBOOK_TO_PYTHONPATH"].lower() != "true"
    # No interpreter in the workbook: it would override the user's configuration.
    assert not [k for k in entries if k.startswith("INTERPRETER") or k.startswith("CONDA")]


def test_cli_excel_setup(tmp_path):
    env = {**os.environ, "HOME": str(tmp_path), "USERPROFILE": str(tmp_path)}
    env.pop("CONDA_DEFAULT_ENV", None)
    done = subprocess.run([sys.executable, "-m", "rfm_addin.cli", "excel-setup", "--platform", "windows",
                           "--folder", str(tmp_path / "out")], capture_output=True, text=True, env=env)
    assert done.returncode == 0, done.stderr
    config = tmp_path / ".xlwings" / "xlwings.conf"
    assert vba_get_config_from_file(config, "INTERPRETER_WIN") == sys.executable
    assert (tmp_path / "out" / "RFM workbook.xlsm").is_file()
    assert f"Workbook: {tmp_path / 'out' / 'RFM workbook.xlsm'}" in done.stdout
    assert "Next: open the workbook" in done.stdout
    if not sys.platform.startswith(("win", "darwin")):
        refused = subprocess.run([sys.executable, "-m", "rfm_addin.cli", "excel-setup"], capture_output=True,
                                 text=True, env=env)
        assert refused.returncode == 2
        assert re.search(r"Excel runs on Windows and macOS", refused.stderr)
