"""Fixtures shared by every test folder."""
from __future__ import annotations

import os
from pathlib import Path

import pytest

#: Test modules that need only the base install (``pip install .``) plus pytest and hypothesis:
#: the core and the command line. CI also runs them (``-m core``) on the base install and on the
#: oldest supported pandas and numpy, so a dependency the test extra provides cannot hide.
CORE_MODULES = frozenset({
    "test_rfm_definitions.py", "test_scoring.py", "test_segments.py", "test_clustering.py", "test_analysis.py",
    "test_bad_input.py", "test_readers.py", "test_cli.py", "test_summary_tables.py", "test_kept_columns.py",
    "test_describe.py", "test_architecture.py", "test_docs.py", "test_stages.py", "test_migration.py", "test_clv.py",
    "test_clv_faces.py", "test_experiments.py", "test_experiments_faces.py", "test_compare.py", "test_usage.py", "test_usage_faces.py",
    "test_dates_at_once.py", "test_bulk_rows.py", "test_identical_rows.py",
})


def pytest_ignore_collect(collection_path, config):
    """With ``-m core`` only the core modules are imported (the others need the test extra)."""
    if config.getoption("markexpr", "") == "core" and collection_path.suffix == ".py" \
            and collection_path.name.startswith("test_") and collection_path.name not in CORE_MODULES:
        return True
    return None


def pytest_collection_modifyitems(config, items):
    for item in items:
        if Path(str(item.fspath)).name in CORE_MODULES:
            item.add_marker(pytest.mark.core)


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
