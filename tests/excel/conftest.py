"""Fixtures for the Excel layer: xlwings' remote engine and payload builders.

The remote engine (``xw.Book(json=...)``) runs the same Book/Sheet/Range code as Excel
and records the actions Excel would apply. It needs a license key; the tests enable it
with ``XLWINGS_LICENSE_KEY=noncommercial`` only while they run (the package itself
needs no key: see test_imports.py).
"""
from __future__ import annotations


import pytest


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


