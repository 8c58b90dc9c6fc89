"""The README is a front page and docs/ the reference, checked against the code (issue 14).

- The README stays short, keeps the two set-up commands that CI runs, and every link resolves.
- The Settings, command-line, worksheet-function and ribbon tables of docs/ are what
  ``rfm_addin.build.docs`` generates from the code (run ``python -m rfm_addin.build.docs``).
- Every option of every command, every setting and every worksheet function appears in them.
- The Python examples of docs/python.md and the README run.
"""
from __future__ import annotations

import argparse
import re
from pathlib import Path

import pytest

from rfm_addin.build import docs
from rfm_addin.cli import build_parser
from rfm_addin.excel.settings import SETTINGS

ROOT = Path(__file__).resolve().parents[1]
README = ROOT / "README.md"
PAGES = sorted((ROOT / "docs").glob("*.md"))


def test_readme_is_a_front_page_with_the_two_commands():
    text = README.read_text(encoding="utf-8")
    assert len(text.splitlines()) <= 200
    assert "pip install . && rfm-addin demo" in text
    test_command = 'pip install ".[test]" && python -m pytest -q'
    assert test_command in text
    assert test_command.replace("pip install", "pip install --quiet") in (ROOT / ".ci" / "run").read_text(encoding="utf-8")


@pytest.mark.parametrize("page", [README, *PAGES], ids=lambda p: p.name)
def test_links_resolve(page):
    text = page.read_text(encoding="utf-8")
    for target in re.findall(r"\]\(([^)#]+)(?:#[^)]*)?\)", text):
        if target.startswith(("http://", "https://", "mailto:")):
            continue
        assert (page.parent / target).exists(), f"{page.name}: {target}"


def test_every_docs_page_is_linked_from_the_readme():
    text = README.read_text(encoding="utf-8")
    for page in PAGES:
        assert f"docs/{page.name}" in text, page.name


@pytest.mark.parametrize("page", PAGES, ids=lambda p: p.name)
def test_generated_tables_are_what_the_code_says(page):
    text = page.read_text(encoding="utf-8")
    assert docs.render(text) == text, f"run `python -m rfm_addin.build.docs` and commit {page.name}"


def test_each_table_is_in_the_docs_once():
    found = [name for page in PAGES for name in docs.blocks(page.read_text(encoding="utf-8"))]
    assert sorted(found) == sorted(docs.TABLES)


def test_the_generated_tables_cover_the_code():
    cli = docs.cli_table()
    parser = build_parser()
    commands = next(a for a in parser._actions if isinstance(a, argparse._SubParsersAction))
    for name, sub in commands.choices.items():
        assert f"| `{name}` |" in cli
        for action in sub._actions:
            for flag in action.option_strings:
                if flag not in ("-h", "--help"):
                    assert flag in cli, (name, flag)
    settings = docs.settings_table()
    assert all(f"| {s.label} |" in settings for s in SETTINGS)
    assert "| Connection |" in settings and "| Table |" in settings
    udfs = docs.udf_table()
    for name in ("RFM_TABLE", "RFM_SCORE", "RFM_SEGMENT", "RFM_CLUSTER", "RFM_KSELECT", "RFM_PROFILE"):
        assert f"`={name}(" in udfs
    # optional arguments are bracketed, the reserved caller argument is not shown
    assert "`=RFM_TABLE(customers, dates, amounts, [orders], [as_of])`" in udfs


def test_render_replaces_only_generated_blocks():
    text = "before\n<!-- generated: ribbon -->\nstale\n<!-- end: ribbon -->\nafter\n"
    out = docs.render(text)
    assert out.startswith("before\n<!-- generated: ribbon -->\n| group | button |") and out.endswith(
        "<!-- end: ribbon -->\nafter\n")
    with pytest.raises(KeyError):
        docs.render("<!-- generated: nope -->\n<!-- end: nope -->")


def _python_blocks(path: Path) -> list[str]:
    return re.findall(r"```python\n(.*?)```", path.read_text(encoding="utf-8"), re.S)


@pytest.mark.parametrize("path", [README, ROOT / "docs" / "python.md"], ids=lambda p: p.name)
def test_python_examples_run(path, tmp_path, monkeypatch):
    blocks = _python_blocks(path)
    assert blocks
    monkeypatch.chdir(tmp_path)
    for block in blocks:
        exec(compile(block, str(path), "exec"), {"__name__": "docs_example"})
    assert (tmp_path / "rfm.xlsx").exists()
