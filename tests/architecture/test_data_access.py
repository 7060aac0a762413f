"""Data access stays in its parts: SQLAlchemy and commits only in the db package and the unit
of work; every package folder ships in the wheel."""

from __future__ import annotations

import ast
from pathlib import Path

import tomllib

ROOT = Path(__file__).resolve().parents[2]
SERVICE = ROOT / "service" / "lrhub_service"
DATABASE_PACKAGES = ("sqlalchemy", "alembic", "asyncpg", "psycopg", "aiosqlite", "sqlite3")
ALLOWED = {
    "service/lrhub_service/usecases/unit_of_work.py",
    # sorts driver exceptions into 503/422 until the db part maps them (issue 9 point 7)
    "service/lrhub_service/api/problems.py",
}


def _in_db_part(path: Path) -> bool:
    relative = path.relative_to(ROOT).as_posix()
    return relative.startswith(("service/lrhub_service/db/", "migrations/")) or relative in ALLOWED


def _database_imports(tree: ast.AST) -> list[int]:
    lines = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names = [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom) and node.level == 0:
            names = [node.module or ""]
        else:
            continue
        if any(name.split(".")[0] in DATABASE_PACKAGES for name in names):
            lines.append(node.lineno)
    return lines


def _commits(tree: ast.AST) -> list[int]:
    return [
        node.lineno
        for node in ast.walk(tree)
        if isinstance(node, ast.Call)
        and isinstance(node.func, ast.Attribute)
        and node.func.attr == "commit"
    ]


def test_sqlalchemy_and_commits_only_in_the_db_part_and_the_unit_of_work() -> None:
    found = []
    for path in sorted([*SERVICE.rglob("*.py"), *(ROOT / "client").rglob("*.py")]):
        if _in_db_part(path):
            continue
        tree = ast.parse(path.read_text(), filename=str(path))
        for line in _database_imports(tree) + _commits(tree):
            found.append(f"{path.relative_to(ROOT)}:{line}")
    assert not found, "database access outside the db part:\n" + "\n".join(found)


def test_the_checks_see_a_violation() -> None:
    tree = ast.parse("import sqlalchemy\nfrom sqlalchemy.orm import Session\nconn.commit()\n")
    assert _database_imports(tree) == [1, 2] and _commits(tree) == [3]


def test_every_package_folder_is_listed_for_the_wheel() -> None:
    config = tomllib.loads((ROOT / "pyproject.toml").read_text())["tool"]["setuptools"]
    folders = {
        "lrhub": ROOT / "client" / "lrhub",
        "lrhub_service": SERVICE,
        "lrhub_service.migrations": ROOT / "migrations",
    }
    assert config["package-dir"] == {
        name: folder.relative_to(ROOT).as_posix() for name, folder in folders.items()
    }
    found = set()
    for name, folder in folders.items():
        for init in folder.rglob("__init__.py"):
            parts = init.parent.relative_to(folder).parts
            found.add(".".join((name, *parts)))
    assert set(config["packages"]) == found
