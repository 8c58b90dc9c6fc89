"""Fixtures shared by every test folder."""
from __future__ import annotations

import os

import pytest


@pytest.fixture(scope="session")
def xw_remote():
    """xlwings with the remote engine registered; the license variable is restored after."""
    old = os.environ.get("XLWINGS_LICENSE_KEY")
    os.environ["XLWINGS_LICENSE_KEY"] = "noncommercial"
    try:
        import xlwings as xw
        from xlwings.main import Engine

        if "remote" not in [e.name for e in xw.engines]:
            from xlwings.pro import _xlremote

            xw.engines.add(Engine(impl=_xlremote.engine))
        yield xw
    finally:
        if old is None:
            os.environ.pop("XLWINGS_LICENSE_KEY", None)
        else:
            os.environ["XLWINGS_LICENSE_KEY"] = old
