"""Fixtures for the Excel layer: xlwings' remote engine and payload builders.

The remote engine (``xw.Book(json=...)``) runs the same Book/Sheet/Range code as Excel
and records the actions Excel would apply. It needs a license key; the tests enable it
with ``XLWINGS_LICENSE_KEY=noncommercial`` only while they run (the package itself
needs no key: see test_imports.py).
"""
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


@pytest.fixture
def make_book(xw_remote):
    """Build a remote-engine Book from sheets (see :func:`sheet`)."""

    def build(sheets: list[dict], active: int = 0, names: list[dict] | None = None):
        payload = {"client": "Microsoft Office Scripts", "version": xw_remote.__version__,
                   "book": {"name": "t.xlsm", "active_sheet_index": active, "selection": "A1"},
                   "names": names or [], "sheets": sheets}
        book = xw_remote.Book(json=payload)
        return book

    return build


