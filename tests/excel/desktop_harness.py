"""Desktop Excel for Windows without Excel: xlwings' own Windows code over fake COM objects.

What runs is xlwings' installed source, not a copy of it:

- :func:`windows_xlwings` imports the installed ``xlwings._xlwindows`` and ``xlwings.udfs``
  with stand-ins for the pywin32 modules and ctypes' ``windll``/``oledll`` that they
  import (nothing of them is called on the paths used here except ``pywintypes.IID``,
  ``pywintypes.TimeType`` and ``pythoncom``'s marshalling for the ``caller`` argument),
  and registers the Windows engine as ``xlwings.engines["excel"]``, as
  ``xlwings/__init__.py`` does on Windows.
- :meth:`WindowsExcel.call` calls ``xlwings.udfs.call_udf``: the function's argument
  options from its ``@xw.arg`` decorators, the missing-argument marker, range detection
  (``is_range_instance``), ``conversion.read`` with the Windows engine's
  ``clean_value_data``, the function, and ``conversion.write`` with
  ``prepare_xl_data_element``. The UDF module is decorated by the real
  ``xlwings.udfs.xlfunc``/``xlarg``/``xlret`` (on Linux ``xw.func`` is a no-op).

The fake COM objects return what pywin32 returns for ``Range.Value``: a scalar for one
cell, else a tuple of row tuples; ``None`` for an empty cell; a float for a number;
``decimal.Decimal`` for a Currency or Accounting cell; a negative int for an error value
(the signed ``0x800A0000 | code``); a ``pywintypes.TimeType`` (a datetime subclass with
a time zone) for a date. :attr:`ComSheet.transferred` counts the cells read through
``Value``, to show what a whole-column reference costs.
"""
from __future__ import annotations

import ctypes
import datetime as dt
import importlib
import importlib.util
import sys
import types
from contextlib import contextmanager
from decimal import Decimal
from typing import Any, Iterator
from unittest import mock

RANGE_IID = "{00020846-0000-0000-C000-000000000046}"
MISSING = -2147352572          # what call_udf takes for an omitted optional argument
MAX_ROWS = 1_048_576
ERROR_BASE = -2_146_828_288    # 0x800A0000 as a signed 32-bit int


def error(code: int) -> int:
    """An error cell as pywin32 delivers it (e.g. ``error(2045)`` for #SPILL!)."""
    return ERROR_BASE + code


class TimeType(dt.datetime):
    """Stand-in for ``pywintypes.TimeType``: pywin32's dates subclass datetime and carry a zone."""


def com_time(*args: int) -> TimeType:
    return TimeType(*args, tzinfo=dt.timezone.utc)


def currency(text: str) -> Decimal:
    """A Currency cell: COM's VT_CY, four decimals."""
    return Decimal(text).quantize(Decimal("0.0001"))


# --------------------------------------------------------------------------------------
# Fake COM objects
# --------------------------------------------------------------------------------------
class _Count:
    def __init__(self, n: int):
        self.Count = n


class ComApplication:
    Version = "16.0"
    Hwnd = 1


class ComWorkbook:
    def __init__(self, name: str = "Book1.xlsm", date1904: bool = False):
        self.Application = ComApplication()
        self.Name = name
        self.Date1904 = date1904
        self.Worksheets: list[ComSheet] = []


def _column_number(letters: str) -> int:
    n = 0
    for ch in letters.upper():
        n = n * 26 + ord(ch) - 64
    return n


class ComSheet:
    """A worksheet: ``cells`` maps (row, column), 1-based, to the raw COM value."""

    def __init__(self, name: str, cells: dict[tuple[int, int], Any], book: ComWorkbook | None = None):
        self.Name = name
        self.cells = cells
        self.Parent = book or ComWorkbook()
        self.Parent.Worksheets.append(self)
        self.transferred = 0

    @classmethod
    def from_columns(cls, name: str, columns: dict[str, list], book: ComWorkbook | None = None) -> "ComSheet":
        """Columns by letter, each a list of raw values from row 1 down (None = empty)."""
        cells = {(r, _column_number(letter)): v for letter, values in columns.items()
                 for r, v in enumerate(values, start=1) if v is not None}
        return cls(name, cells, book)

    @property
    def UsedRange(self) -> "ComRange":
        """The bounding box of the filled cells (Excel keeps it; here it is computed once per size)."""
        if getattr(self, "_bounds", (None,))[0] != len(self.cells):
            rows = [r for r, _ in self.cells] or [1]
            cols = [c for _, c in self.cells] or [1]
            self._bounds = (len(self.cells), min(rows), min(cols), max(rows), max(cols))
        _, top, left, bottom, right = self._bounds
        return ComRange(self, top, left, bottom - top + 1, right - left + 1)

    def Cells(self, row: int, column: int) -> "ComRange":
        return ComRange(self, row, column, 1, 1)

    def Range(self, first: Any, last: Any = None) -> "ComRange":
        if isinstance(first, str):
            return self.column(first)
        last = last or first
        return ComRange(self, first.Row, first.Column, last.Row + last.Rows.Count - first.Row,
                        last.Column + last.Columns.Count - first.Column)

    def column(self, letter: str) -> "ComRange":
        """A whole-column reference such as ``B:B``."""
        return ComRange(self, 1, _column_number(letter.split(":")[0]), MAX_ROWS, 1)


class ComRange:
    """A rectangular block of a :class:`ComSheet`, as pywin32 exposes an Excel Range."""

    def __init__(self, sheet: ComSheet, row: int, column: int, rows: int, columns: int):
        self.Worksheet = sheet
        self.Parent = sheet
        self.Row, self.Column = row, column
        self.Rows, self.Columns = _Count(rows), _Count(columns)
        self.CLSID = RANGE_IID
        type_attr = types.SimpleNamespace(iid=RANGE_IID)
        self._oleobj_ = types.SimpleNamespace(GetTypeInfo=lambda: types.SimpleNamespace(
            GetTypeAttr=lambda: type_attr))

    @property
    def Value(self) -> Any:
        rows, cols = self.Rows.Count, self.Columns.Count
        self.Worksheet.transferred += rows * cols
        get = self.Worksheet.cells.get
        block = tuple(tuple(get((self.Row + i, self.Column + j)) for j in range(cols)) for i in range(rows))
        return block[0][0] if rows == cols == 1 else block

    def __call__(self, row: int, column: int) -> "ComRange":
        """COM's default member ``Item(row, column)``: one cell, relative to this range."""
        return ComRange(self.Worksheet, self.Row + row - 1, self.Column + column - 1, 1, 1)

    def Resize(self, rows: int, columns: int) -> "ComRange":
        return ComRange(self.Worksheet, self.Row, self.Column, rows, columns)

    def GetAddress(self, *args: Any) -> str:
        return f"R{self.Row}C{self.Column}:R{self.Row + self.Rows.Count - 1}C{self.Column + self.Columns.Count - 1}"


# --------------------------------------------------------------------------------------
# xlwings' Windows modules, imported with pywin32 stand-ins
# --------------------------------------------------------------------------------------
_PYWIN32 = ("pywintypes", "pythoncom", "win32api", "win32con", "win32com", "win32com.client",
            "win32com.client.gencache", "win32gui", "win32process", "win32timezone", "win32event")


def _stand_ins() -> dict[str, Any]:
    modules: dict[str, Any] = {name: mock.MagicMock(name=name) for name in _PYWIN32}
    pywintypes = modules["pywintypes"]
    pywintypes.TimeType = TimeType
    pywintypes.IID = lambda text: text
    pywintypes.com_error = type("com_error", (Exception,), {})
    modules["pythoncom"].__file__ = "pythoncom.dll"
    modules["win32timezone"].TimeZoneInfo.utc = staticmethod(lambda: dt.timezone.utc)
    modules["win32com"].client = modules["win32com.client"]
    # call_udf imports its event loop from com_server only for async functions.
    modules["xlwings.com_server"] = types.SimpleNamespace(loop=None)
    return modules


class WindowsExcel:
    """xlwings' Windows engine and UDF caller, with the RFM worksheet functions decorated for real."""

    def __init__(self, xlwindows: Any, udfs: Any, module: Any):
        self.xlwindows, self.udfs, self.module = xlwindows, udfs, module

    def call(self, name: str, *args: Any, caller: ComRange | None = None) -> Any:
        """``xlwings.udfs.call_udf`` of one RFM function; ``None`` arguments are omitted ones."""
        func = getattr(self.module, name)
        n = len([a for a in func.__xlfunc__["args"] if a["name"] != "caller"])
        values = [MISSING if a is None else a for a in args] + [MISSING] * (n - len(args))
        if any(a["name"] == "caller" for a in func.__xlfunc__["args"]):
            values.append(None)      # the VBA wrapper passes Nothing; call_udf puts the caller there
        if caller is None:
            caller = ComSheet("Calc", {}).Cells(1, 1)
        return self.udfs.call_udf(self.module.__name__, name, tuple(values), None, caller)

    def xlfunc(self, name: str) -> dict:
        return getattr(self.module, name).__xlfunc__

    def range(self, com_range: ComRange) -> Any:
        """An ``xlwings.Range`` on the Windows engine over a fake COM range."""
        import xlwings

        return xlwings.Range(impl=self.xlwindows.Range(xl=com_range))


@contextmanager
def windows_xlwings(udf_module: str = "rfm_addin.excel.udfs") -> Iterator[WindowsExcel]:
    """Import xlwings' Windows modules with pywin32 stand-ins; undo everything on exit."""
    import xlwings
    from xlwings.main import Engine

    stand_ins = _stand_ins()
    saved = {name: sys.modules.get(name) for name in [*stand_ins, "xlwings._xlwindows", "xlwings.udfs"]}
    saved_decorators = (xlwings.func, xlwings.arg, xlwings.ret)
    patches = [mock.patch.object(ctypes, "windll", mock.MagicMock(), create=True),
               mock.patch.object(ctypes, "oledll", mock.MagicMock(), create=True),
               mock.patch.object(ctypes, "PyDLL", mock.MagicMock())]
    engines = xlwings.engines
    try:
        sys.modules.update(stand_ins)
        for name in ("xlwings._xlwindows", "xlwings.udfs"):
            sys.modules.pop(name, None)
        for patch in patches:
            patch.start()
        try:
            xlwindows = importlib.import_module("xlwings._xlwindows")
        finally:
            for patch in patches:
                patch.stop()
        udfs = importlib.import_module("xlwings.udfs")
        engine = Engine(impl=xlwindows.engine)
        engines.add(engine)
        xlwings.func, xlwings.arg, xlwings.ret = udfs.xlfunc, udfs.xlarg, udfs.xlret
        spec = importlib.util.find_spec(udf_module)
        module = importlib.util.module_from_spec(spec)
        spec.loader.exec_module(module)
        udfs.udf_modules[udf_module] = {"filename": spec.origin, "filetime": None, "module": module}
        yield WindowsExcel(xlwindows, udfs, module)
    finally:
        xlwings.func, xlwings.arg, xlwings.ret = saved_decorators
        if engines.engines_by_name.get("excel") is not None:
            engine = engines.engines_by_name.pop("excel")
            engines.engines.remove(engine)
        for name, module in saved.items():
            if module is None:
                sys.modules.pop(name, None)
            else:
                sys.modules[name] = module
        if hasattr(xlwings, "_xlwindows"):
            del xlwings._xlwindows
        if saved["xlwings.udfs"] is None and hasattr(xlwings, "udfs"):
            del xlwings.udfs
