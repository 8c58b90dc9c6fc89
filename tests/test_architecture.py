"""The layers of the package, checked from its source (issue 14).

The import graph of ``rfm_addin`` is built from every ``import`` and ``from ... import`` in
its modules, including those inside functions (a lazy import that closes a cycle is still a
cycle); imports under ``if TYPE_CHECKING:`` are not edges. The graph must have no cycle, and
the core (``rfm_addin.core``) must import neither the input layer (``sources``), the writers,
the Excel layer, the build tools, the API layer nor any engine, file-format or Excel library.
"""
from __future__ import annotations

import ast
from pathlib import Path

import pytest

PACKAGE = Path(__file__).resolve().parents[1] / "rfm_addin"

#: Outer layers and libraries the core must not import.
FORBIDDEN_FOR_CORE = ("rfm_addin.sources", "rfm_addin.writers", "rfm_addin.excel", "rfm_addin.build",
                      "rfm_addin.api", "rfm_addin.cli", "xlwings", "ibis", "duckdb", "pyspark", "psycopg",
                      "openpyxl", "xlsxwriter", "pyarrow")


def module_name(path: Path) -> str:
    parts = list(path.relative_to(PACKAGE.parent).with_suffix("").parts)
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def modules() -> dict[str, Path]:
    return {module_name(p): p for p in PACKAGE.rglob("*.py")}


def _type_checking_nodes(tree: ast.AST) -> set[int]:
    skipped = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.If) and "TYPE_CHECKING" in ast.unparse(node.test):
            skipped.update(id(sub) for stmt in node.body for sub in ast.walk(stmt))
    return skipped


def imports_of(name: str, path: Path, known: set[str]) -> set[str]:
    """Every module ``name`` imports: ours by their module name, others by their top-level package."""
    tree = ast.parse(path.read_text(encoding="utf-8"))
    skipped = _type_checking_nodes(tree)
    package = name.split(".") if path.name == "__init__.py" else name.split(".")[:-1]
    out: set[str] = set()
    for node in ast.walk(tree):
        if id(node) in skipped:
            continue
        if isinstance(node, ast.Import):
            for alias in node.names:
                out.add(alias.name if alias.name in known else alias.name.split(".")[0])
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = package[:len(package) - node.level + 1]
                target = ".".join(base + ([node.module] if node.module else []))
            else:
                target = node.module or ""
            if target not in known and not target.startswith("rfm_addin"):
                out.add(target.split(".")[0])
                continue
            for alias in node.names:
                sub = f"{target}.{alias.name}"
                out.add(sub if sub in known else target)
    out.discard(name)
    return out


def import_graph() -> dict[str, set[str]]:
    found = modules()
    known = set(found)
    return {name: imports_of(name, path, known) for name, path in found.items()}


def cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    """The strongly connected components with more than one module (Tarjan), each sorted."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    found: list[list[str]] = []
    counter = [0]

    def visit(node: str) -> None:
        index[node] = low[node] = counter[0]
        counter[0] += 1
        stack.append(node)
        on_stack.add(node)
        for nxt in graph.get(node, ()):
            if nxt not in graph:
                continue
            if nxt not in index:
                visit(nxt)
                low[node] = min(low[node], low[nxt])
            elif nxt in on_stack:
                low[node] = min(low[node], index[nxt])
        if low[node] == index[node]:
            component = []
            while True:
                member = stack.pop()
                on_stack.discard(member)
                component.append(member)
                if member == node:
                    break
            if len(component) > 1:
                found.append(sorted(component))

    for node in sorted(graph):
        if node not in index:
            visit(node)
    return found


def test_the_graph_sees_lazy_imports_and_skips_type_checking(tmp_path):
    # the builder itself, on a package written here: a lazy import is an edge, TYPE_CHECKING is not
    global PACKAGE
    saved = PACKAGE
    PACKAGE = tmp_path / "rfm_addin"
    (PACKAGE / "core").mkdir(parents=True)
    (PACKAGE / "__init__.py").write_text("")
    (PACKAGE / "core" / "__init__.py").write_text("")
    (PACKAGE / "core" / "a.py").write_text("def f():\n    from . import b\n")
    (PACKAGE / "core" / "b.py").write_text("from typing import TYPE_CHECKING\nif TYPE_CHECKING:\n"
                                           "    from .a import f\nfrom ..excel import x\n")
    (PACKAGE / "core" / "c.py").write_text("from .a import f\n")
    try:
        graph = import_graph()
    finally:
        PACKAGE = saved
    assert graph["rfm_addin.core.a"] == {"rfm_addin.core.b"}
    assert graph["rfm_addin.core.b"] == {"typing", "rfm_addin.excel"}
    assert cycles({**graph, "rfm_addin.core.b": graph["rfm_addin.core.b"] | {"rfm_addin.core.c"}}) == [
        ["rfm_addin.core.a", "rfm_addin.core.b", "rfm_addin.core.c"]]


def test_the_package_has_no_import_cycle():
    assert cycles(import_graph()) == []


@pytest.mark.parametrize("name", sorted(n for n in modules() if n.startswith("rfm_addin.core")))
def test_the_core_imports_no_outer_layer(name):
    graph = import_graph()
    bad = sorted(dep for dep in graph[name] if any(dep == f or dep.startswith(f + ".") for f in FORBIDDEN_FOR_CORE))
    assert bad == [], f"{name} imports {bad}"


def test_the_layers_are_folders():
    # what docs/development.md describes: each layer a folder, the face at the top
    top = {p.name for p in PACKAGE.iterdir() if not p.name.startswith("__pycache__")}
    assert {"core", "sources", "writers", "excel", "build", "api.py", "cli.py", "__init__.py"} <= top
    assert not [p.name for p in PACKAGE.glob("*.py") if p.name not in ("__init__.py", "_version.py", "api.py",
                                                                      "cli.py")]


def test_column_labels_are_defined_once():
    """A key written twice in the COLUMNS literal silently keeps the last label (a plan column
    "treatment" once renamed the quality report's "Treatment" column)."""
    import ast
    import collections

    source = (Path(__file__).resolve().parents[1] / "rfm_addin" / "core" / "labels.py").read_text()
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.Dict):
            keys = [k.value for k in node.keys if isinstance(k, ast.Constant)]
            assert [k for k, n in collections.Counter(keys).items() if n > 1] == []
