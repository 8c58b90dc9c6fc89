"""Progress and messages for macros, on whatever the xlwings engine offers.

- Progress goes to Excel's status bar (``app.status_bar``). Desktop Excel has one; the
  remote engine and xlwings Lite raise ``NotImplementedError`` (Office.js has no status
  bar), and progress is then silently skipped.
- Messages use ``app.alert`` (a message box on desktop Excel, an alert action on the
  remote engine and in xlwings Lite). If even that fails, the message is printed, which
  xlwings shows in its log.
- :func:`pending_actions` exposes the remote engine's queue of recorded actions so a
  failed macro can drop what it queued: nothing reaches the workbook then. Desktop
  engines write immediately and have no queue (the live writer undoes its own work).
"""
from __future__ import annotations

from typing import Any

#: Title of every message box.
TITLE = "RFM add-in"


class Feedback:
    """Status-bar progress and message boxes for one macro run."""

    def __init__(self, book: Any):
        self.book = book
        self.status_bar = True

    def progress(self, text: str) -> None:
        """Show ``RFM: <text>`` on the status bar, where the engine has one."""
        if not self.status_bar:
            return
        try:
            self.book.app.status_bar = f"RFM: {text}"
        except Exception:  # remote engine / xlwings Lite: no status bar
            self.status_bar = False

    def clear(self) -> None:
        """Give the status bar back to Excel."""
        if not self.status_bar:
            return
        try:
            self.book.app.status_bar = False
        except Exception:
            self.status_bar = False

    def alert(self, message: str, title: str = TITLE, mode: str = "info") -> None:
        """Show a message box (``mode`` "info" or "critical")."""
        try:
            self.book.app.alert(message, title=title, mode=mode)
        except Exception:
            print(f"{title}: {message}")


def pending_actions(book: Any) -> list | None:
    """The remote engine's list of queued actions, or None on engines that write at once."""
    try:
        actions = book.json()["actions"]
    except Exception:
        return None
    return actions if isinstance(actions, list) else None
