"""The ribbon's "Share copy" button: save the workbook, then write its share copy.

The copy is the file-based step of :func:`rfm_addin.writers.share_copy.share_copy` (the same as
``rfm-addin share``): a macro-free ``.xlsx`` beside the workbook, named
"<name> (share copy).xlsx", with every formula replaced by the value Excel saved, the
RFM Settings and xlwings.conf sheets left out, tables, charts and formatting kept. The
workbook is saved first so the copy holds what is on screen; the workbook itself is not
changed otherwise.

It needs the workbook as a file on this computer (desktop Excel). With the remote engine
or Excel on the web there is no file to copy: the button says so and suggests
``rfm-addin share`` on a downloaded copy.
"""
from __future__ import annotations

from pathlib import Path
from typing import Any

from ..core.errors import RfmError
from ..writers.share_copy import share_copy
from .actions import action
from .feedback import TITLE, Feedback


def share_target(path: str | Path) -> Path:
    """Where the share copy of the workbook at ``path`` is written."""
    path = Path(path)
    return path.with_name(f"{path.stem} (share copy).xlsx")


@action("Share copy")
def share_workbook(book: Any, feedback: Feedback) -> None:
    """Save the workbook, then write its share copy beside it and report what was left out.

    Called as ``share_workbook(book=None)``: ``book`` is by default ``xw.Book.caller()``.
    """
    path = Path(str(book.fullname))
    if not path.is_file():
        raise RfmError("Share copy needs the workbook saved as a file on this computer (desktop Excel). "
                       "In Excel on the web, download the workbook and run: rfm-addin share WORKBOOK.xlsx")
    feedback.progress("Saving the workbook")
    book.save()
    feedback.progress("Writing the share copy")
    report = share_copy(path, share_target(path))
    feedback.alert("\n".join(report.lines()), title=f"{TITLE}: share copy", mode="info")
