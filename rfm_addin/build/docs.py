"""The reference tables of ``docs/``, generated from the code that holds them as data.

Each table sits in a docs page between ``<!-- generated: NAME -->`` and ``<!-- end: NAME -->``;
``python -m rfm_addin.build.docs`` rewrites them, and ``tests/test_docs.py`` fails when a page
differs from what the code says (so the tables cannot drift):

- ``settings``: the "RFM Settings" sheet (:data:`rfm_addin.excel.settings.SETTINGS`);
- ``cli``: every command and option of ``rfm-addin`` (:func:`rfm_addin.cli.build_parser`);
- ``udfs``: the worksheet functions (the ``@xw.func`` functions of :mod:`rfm_addin.excel.udfs`);
- ``ribbon``: the ribbon buttons (:data:`rfm_addin.excel.ribbon.GROUPS`).
"""
from __future__ import annotations

import argparse
import inspect
import re
import sys
from pathlib import Path
from typing import Callable

#: The docs folder of a source checkout.
DOCS = Path(__file__).resolve().parents[2] / "docs"


def _cell(text: object) -> str:
    return str(text).replace("|", "\\|").replace("\n", " ")


def settings_table() -> str:
    """The Settings sheet's rows: label, default, meaning."""
    from ..excel.settings import SETTINGS

    rows = ["| Setting | default | meaning |", "|---|---|---|"]
    for s in SETTINGS:
        default = "" if s.default is None else s.default
        rows.append(f"| {_cell(s.label)} | {_cell(default)} | {_cell(s.description)} |")
    return "\n".join(rows)


def _option_text(action: argparse.Action) -> str:
    if not action.option_strings:
        return f"`{action.metavar or action.dest.upper()}`"
    names = ", ".join(action.option_strings)
    if action.nargs == 0:
        return f"`{names}`"
    metavar = action.metavar or action.dest.upper()
    return f"`{names} {metavar}`"


def cli_table() -> str:
    """Every command of ``rfm-addin`` and its options, with their help texts."""
    from ..cli import build_parser

    parser = build_parser()
    rows = ["| command | option | meaning |", "|---|---|---|"]
    for action in parser._actions:  # the global options (-h, --version)
        if action.option_strings and not isinstance(action, argparse._HelpAction):
            rows.append(f"| (any) | {_option_text(action)} | {_cell(action.help or '')} |")
    commands = next(a for a in parser._actions if isinstance(a, argparse._SubParsersAction))
    helps = {c.dest: c.help for c in commands._choices_actions}
    for name, sub in commands.choices.items():
        rows.append(f"| `{name}` | | {_cell(helps.get(name, ''))} |")
        for action in sub._actions:
            if isinstance(action, argparse._HelpAction):
                continue
            text = action.help or ""
            if action.default not in (None, False, argparse.SUPPRESS) and "default" not in text:
                text += f" (default {action.default})"
            rows.append(f"| | {_option_text(action)} | {_cell(text)} |")
    return "\n".join(rows)


def _udfs() -> list[Callable]:
    from ..excel import udfs

    found = []
    for name, func in vars(udfs).items():
        if name.startswith("RFM_") and callable(func):
            found.append(func)
    return found


def udf_signature(func: Callable) -> str:
    """``=RFM_SCORE(recency, frequency, monetary, [bins], ...)``: optional arguments in brackets;
    xlwings' reserved ``caller`` is not an argument the user types."""
    target = inspect.unwrap(func)
    parts = []
    for p in inspect.signature(target).parameters.values():
        if p.name == "caller":
            continue
        parts.append(p.name if p.default is inspect.Parameter.empty else f"[{p.name}]")
    return f"={func.__name__}({', '.join(parts)})"


def udf_table() -> str:
    """The worksheet functions: signature and the first line of their docstring."""
    rows = ["| function | returns |", "|---|---|"]
    for func in _udfs():
        summary = (inspect.getdoc(inspect.unwrap(func)) or "").split("\n")[0]
        rows.append(f"| `{udf_signature(func)}` | {_cell(summary)} |")
    return "\n".join(rows)


def ribbon_table() -> str:
    """The ribbon's buttons by group: label and what it does."""
    from ..excel.ribbon import GROUPS

    rows = ["| group | button | what it does |", "|---|---|---|"]
    for _, group, buttons in GROUPS:
        for b in buttons:
            rows.append(f"| {_cell(group)} | {_cell(b.label)} | {_cell(b.supertip)} |")
    return "\n".join(rows)


TABLES: dict[str, Callable[[], str]] = {"settings": settings_table, "cli": cli_table, "udfs": udf_table,
                                         "ribbon": ribbon_table}
_BLOCK = re.compile(r"(<!-- generated: (\w+) -->\n)(.*?)(<!-- end: \2 -->)", re.S)


def render(text: str) -> str:
    """``text`` with every generated block replaced by what the code says now."""
    def fill(match: re.Match) -> str:
        name = match.group(2)
        if name not in TABLES:
            raise KeyError(f"unknown generated table {name!r}")
        return f"{match.group(1)}{TABLES[name]()}\n{match.group(4)}"

    return _BLOCK.sub(fill, text)


def blocks(text: str) -> list[str]:
    """The names of the generated blocks in ``text``."""
    return [m.group(2) for m in _BLOCK.finditer(text)]


def update(folder: Path = DOCS) -> list[Path]:
    """Rewrite the generated tables of every page in ``folder``; returns the pages changed."""
    changed = []
    for page in sorted(folder.glob("*.md")):
        text = page.read_text(encoding="utf-8")
        new = render(text)
        if new != text:
            page.write_text(new, encoding="utf-8")
            changed.append(page)
    return changed


if __name__ == "__main__":  # pragma: no cover
    for path in update(Path(sys.argv[1]) if len(sys.argv) > 1 else DOCS):
        print(f"updated {path}")
