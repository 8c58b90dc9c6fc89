"""One ribbon run at a time per workbook, on desktop Excel.

On a Mac, ``RunPython`` returns at once (AppleScript starts Python and does not wait), so
a second click while a run is going starts a second Python that would write the same
sheets at the same time. (On Windows, Excel waits for ``RunPython``, so a second click
only comes after the first run.) :func:`one_run` takes a lock file in the temporary
folder, named after the workbook's full name and holding the process id; a second run
that finds it refuses with a message, unless the process that wrote it no longer runs
(a run that was stopped or crashed), whose lock it takes over.

The remote engine (xlwings Server, xlwings Lite) gets no lock: it serves many users with
the same workbook name and keeps no state between requests.
"""
from __future__ import annotations

import hashlib
import os
import sys
import tempfile
from contextlib import contextmanager
from pathlib import Path
from typing import Any, Iterator

from ..core.errors import RfmError

BUSY = ("The RFM add-in is still working on this workbook (an earlier click). Wait until it has finished, "
        "then click again.")


def is_desktop(book: Any) -> bool:
    """Whether the book is open in desktop Excel (Windows or macOS engines of xlwings)."""
    module = type(getattr(book, "impl", None)).__module__ or ""
    return module.endswith(("_xlwindows", "_xlmac"))


def lock_path(book: Any) -> Path:
    """The lock file of a workbook (by its full name, case-insensitively)."""
    key = hashlib.sha256(str(book.fullname).casefold().encode("utf-8")).hexdigest()[:20]
    return Path(tempfile.gettempdir()) / f"rfm-addin-{key}.lock"


def process_alive(pid: int) -> bool:
    """Whether a process with this id runs (without signalling it)."""
    if pid <= 0:
        return False
    if sys.platform.startswith("win"):
        import ctypes

        kernel32 = ctypes.windll.kernel32  # type: ignore[attr-defined]
        handle = kernel32.OpenProcess(0x1000, False, pid)   # PROCESS_QUERY_LIMITED_INFORMATION
        if not handle:
            return False
        code = ctypes.c_ulong()
        kernel32.GetExitCodeProcess(handle, ctypes.byref(code))
        kernel32.CloseHandle(handle)
        return code.value == 259                            # STILL_ACTIVE
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def _holder(path: Path) -> int:
    try:
        return int(path.read_text(encoding="ascii").strip() or 0)
    except (OSError, ValueError):
        return 0


@contextmanager
def one_run(book: Any, path: Path | None = None) -> Iterator[None]:
    """Hold the workbook's run lock while the block runs (desktop Excel only).

    Raises
    ------
    RfmError
        Another run, still alive, holds the lock.
    """
    if path is None:
        if not is_desktop(book):
            yield
            return
        path = lock_path(book)
    for _ in range(2):
        try:
            fd = os.open(path, os.O_CREAT | os.O_EXCL | os.O_WRONLY, 0o600)
        except FileExistsError:
            holder = _holder(path)
            if holder != os.getpid() and process_alive(holder):
                raise RfmError(BUSY) from None
            try:
                path.unlink()           # a lock left by a run that no longer exists
            except FileNotFoundError:
                pass
            continue
        with os.fdopen(fd, "w", encoding="ascii") as handle:
            handle.write(str(os.getpid()))
        break
    else:
        raise RfmError(BUSY)
    try:
        yield
    finally:
        if _holder(path) == os.getpid():
            try:
                path.unlink()
            except FileNotFoundError:
                pass
