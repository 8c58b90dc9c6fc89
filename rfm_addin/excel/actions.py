"""The one way to declare a ribbon action: ``@action("Feature")``.

A ribbon action is a function ``work(book, feedback)``; the decorator turns it into the macro
``f(book=None)`` that VBA's ``RunPython`` and xlwings' remote and Lite engines call, with the
behaviour every button shares: the calling book by default, one run at a time per workbook
(:mod:`.run_lock`), progress on the status bar, and on failure a message box (never a
traceback) and an unchanged workbook. Which button runs which action is the table of
:mod:`.ribbon`.
"""
from __future__ import annotations

import functools
from typing import Any, Callable

from ..core.errors import RfmError
from . import live_writer, run_lock
from .feedback import TITLE, Feedback, pending_actions


def caller(book: Any) -> Any:
    """``book``, or the book that called the macro (``xlwings.Book.caller()``)."""
    if book is not None:
        return book
    import xlwings as xw

    return xw.Book.caller()


def run(book: Any, what: str, work: Callable[[Feedback], None]) -> bool:
    """Run one action: progress, and on failure an alert and an unchanged workbook.

    Returns
    -------
    bool
        True when the work finished.
    """
    feedback = Feedback(book)
    queued = pending_actions(book)
    start = len(queued) if queued is not None else 0
    try:
        with run_lock.one_run(book):
            work(feedback)
    except Exception as exc:  # a user must see a message, never a traceback
        if queued is not None:
            del queued[start:]
        feedback.clear()
        if isinstance(exc, RfmError):
            message = str(exc)
        else:
            message = (f"Something went wrong inside the RFM add-in ({type(exc).__name__}: {exc}). "
                       "Please report this with the data that caused it.")
        if queued is not None or not isinstance(exc, live_writer.PartlyUpdated):
            # The remote engine drops the queued actions; elsewhere nothing was changed yet.
            message = f"{message.split(chr(10) + chr(10) + 'These sheets')[0]}\n\nThe workbook was not changed."
        feedback.alert(message, title=f"{TITLE}: {what}", mode="critical")
        return False
    feedback.clear()
    return True


def action(feature: str) -> Callable[[Callable[[Any, Feedback], None]], Callable[..., None]]:
    """Declare a ribbon action named ``feature`` (the name its messages carry).

    Examples
    --------
    >>> @action("Settings")
    ... def reset_settings(book, feedback):
    ...     '''Create the "RFM Settings" sheet.'''
    ...     feedback.progress("Writing the settings")
    """
    def declare(work: Callable[[Any, Feedback], None]) -> Callable[..., None]:
        @functools.wraps(work)
        def macro(book: Any = None) -> None:
            book = caller(book)
            run(book, feature, lambda feedback: work(book, feedback))

        macro.feature = feature  # type: ignore[attr-defined]
        return macro

    return declare
