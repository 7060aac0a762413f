"""The import graph: no cycles among lrhub's modules, and no lrhub import hidden in a function.

The client loads its modules that need an optional extra (the torch scheduler, the command
line) on first use through ``lrhub.extras.load_extra``, and imports them under
``TYPE_CHECKING`` where it names their types, so the graph still shows those dependencies.
"""

from __future__ import annotations

import ast
from pathlib import Path

import grimp

ROOT = Path(__file__).resolve().parents[2]
OURS = ("lrhub", "lrhub_service")
SERVICE_SOURCES = [ROOT / "service" / "lrhub_service", ROOT / "migrations"]
CLIENT_SOURCES = [ROOT / "client" / "lrhub"]


def cycles_within(graph: grimp.ImportGraph, package: str) -> list[str]:
    """Every direct import ``a -> b`` inside ``package`` with a chain back from ``b`` to ``a``."""
    found = []
    inside = {m for m in graph.modules if m == package or m.startswith(package + ".")}
    for importer in sorted(inside):
        for imported in sorted(graph.find_modules_directly_imported_by(importer) & inside):
            back = graph.find_shortest_chain(importer=imported, imported=importer)
            if back is not None:
                found.append(" -> ".join((importer, *back)))
    return found


def test_no_import_cycles_in_the_service() -> None:
    cycles = cycles_within(grimp.build_graph(*OURS), "lrhub_service")
    assert not cycles, "import cycles:\n" + "\n".join(cycles)


def test_no_import_cycles_in_the_client() -> None:
    cycles = cycles_within(grimp.build_graph(*OURS), "lrhub")
    assert not cycles, "import cycles:\n" + "\n".join(cycles)


def test_the_cycle_check_finds_a_cycle() -> None:
    graph = grimp.ImportGraph()
    for name in ("pkg", "pkg.a", "pkg.b", "pkg.c"):
        graph.add_module(name)
    graph.add_import(importer="pkg.a", imported="pkg.b")
    graph.add_import(importer="pkg.b", imported="pkg.c")
    graph.add_import(importer="pkg.c", imported="pkg.a")
    assert "pkg.a -> pkg.b -> pkg.c -> pkg.a" in cycles_within(graph, "pkg")


def _imports_from(node: ast.Import | ast.ImportFrom, package: str) -> bool:
    """Whether the import names a module of ``package`` (a relative import always does)."""
    if isinstance(node, ast.ImportFrom):
        return node.level > 0 or (node.module or "").split(".")[0] == package
    return any(alias.name.split(".")[0] == package for alias in node.names)


def hidden_imports(folders: list[Path], package: str) -> list[str]:
    """``path:line`` of every import of ``package``'s own modules inside a function body.

    Only imports within one package can close a cycle (the client never imports the
    service); a server command may load the client lazily, like any optional extra.
    """
    hidden = []
    for path in sorted(p for folder in folders for p in folder.rglob("*.py")):
        tree = ast.parse(path.read_text(), filename=str(path))
        for scope in ast.walk(tree):
            if isinstance(scope, (ast.FunctionDef, ast.AsyncFunctionDef)):
                for node in ast.walk(scope):
                    if isinstance(node, (ast.Import, ast.ImportFrom)) and _imports_from(
                        node, package
                    ):
                        hidden.append(f"{path.relative_to(ROOT)}:{node.lineno}")
    return hidden


def test_the_hidden_import_check_sees_one() -> None:
    tree = "def f():\n    from lrhub_service.db import models\n    from . import x\n"
    nodes = [n for n in ast.walk(ast.parse(tree)) if isinstance(n, ast.ImportFrom)]
    assert all(_imports_from(n, "lrhub_service") for n in nodes)
    assert not _imports_from(nodes[0], "lrhub")


def test_no_lrhub_import_is_hidden_in_a_service_function() -> None:
    hidden = hidden_imports(SERVICE_SOURCES, "lrhub_service")
    assert not hidden, "imports of lrhub modules inside functions:\n" + "\n".join(hidden)


def test_no_lrhub_import_is_hidden_in_a_client_function() -> None:
    hidden = hidden_imports(CLIENT_SOURCES, "lrhub")
    assert not hidden, "imports of lrhub modules inside functions:\n" + "\n".join(hidden)
