"""One run at a time per workbook on desktop Excel (a second click on a Mac starts a second Python)."""
from __future__ import annotations

import os
import subprocess
import sys

import pytest

from rfm_addin.core.errors import RfmError
from rfm_addin.excel import actions, macros, run_lock


class MacBook:
    """A book as xlwings' Mac engine wraps it: the engine is told by the impl's module."""

    def __init__(self, fullname: str):
        self.fullname = fullname
        self.impl = type("Book", (), {"__module__": "xlwings._xlmac"})()


def test_a_second_run_is_refused_while_the_first_runs(tmp_path):
    book = MacBook(str(tmp_path / "Sales.xlsm"))
    path = run_lock.lock_path(book)
    assert path == run_lock.lock_path(MacBook(str(tmp_path / "SALES.xlsm")))   # one lock per workbook
    other = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(30)"])
    try:
        path.write_text(str(other.pid))
        with pytest.raises(RfmError, match="still working on this workbook"):
            with run_lock.one_run(book):
                pass
        assert path.read_text() == str(other.pid)                 # the running one keeps its lock
    finally:
        other.kill()
        other.wait()
    # Its process is gone: the lock is stale and taken over, then released.
    with run_lock.one_run(book):
        assert path.read_text() == str(os.getpid())
    assert not path.exists()


def test_the_lock_is_released_after_a_failure(tmp_path):
    book = MacBook(str(tmp_path / "Sales.xlsm"))
    with pytest.raises(ValueError):
        with run_lock.one_run(book):
            raise ValueError("boom")
    assert not run_lock.lock_path(book).exists()


def test_no_lock_on_the_remote_engine(make_book, tmp_path):
    book = make_book([{"name": "Data", "values": [["x"]], "pictures": [], "tables": [], "pivot_tables": []}])
    assert not run_lock.is_desktop(book)
    with run_lock.one_run(book):
        with run_lock.one_run(book):                              # nested: no lock, no refusal
            pass


def test_macro_refuses_a_second_click(tmp_path, monkeypatch):
    book = MacBook(str(tmp_path / "Sales.xlsm"))
    alerts = []
    monkeypatch.setattr(actions, "Feedback", lambda b: type("F", (), {
        "alert": lambda self, text, **kw: alerts.append(text), "clear": lambda self: None,
        "progress": lambda self, text: None})())
    other = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(30)"])
    try:
        run_lock.lock_path(book).write_text(str(other.pid))
        ran = []
        assert actions.run(book, "Analyze", lambda feedback: ran.append(1)) is False
        assert not ran
        assert "still working on this workbook" in alerts[0] and "The workbook was not changed." in alerts[0]
    finally:
        other.kill()
        other.wait()
        run_lock.lock_path(book).unlink()
