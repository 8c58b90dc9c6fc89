"""The package imports and runs without any xlwings license key."""
from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]

SCRIPT = """
import os, xlwings as xw
assert "XLWINGS_LICENSE_KEY" not in os.environ
from rfm_addin.excel import udfs, macros, settings, live_writer
result = udfs.RFM_SCORE([["R"], [1.0], [2.0], [3.0]], [["F"], [3.0], [2.0], [1.0]], [["M"], [9.0], [5.0], [1.0]])
assert result[0] == ["R score", "F score", "M score", "RFM code", "RFM score"], result
assert result[1][3] == "555", result
print("ok", "remote" in [e.name for e in xw.engines])
"""


def test_import_and_run_without_license_key(tmp_path):
    env = {k: v for k, v in os.environ.items() if k != "XLWINGS_LICENSE_KEY"}
    env["HOME"] = str(tmp_path)  # no ~/.xlwings/xlwings.conf with a key either
    env["USERPROFILE"] = str(tmp_path)
    done = subprocess.run([sys.executable, "-c", SCRIPT], cwd=ROOT, env=env, capture_output=True, text=True,
                          timeout=120)
    assert done.returncode == 0, done.stderr
    assert done.stdout.split() == ["ok", "False"]  # the remote engine stayed off: no key was used
