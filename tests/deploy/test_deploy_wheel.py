"""What the image installs (`pip install .`, not editable) migrates a database outside the repo."""

from __future__ import annotations

import sqlite3
import subprocess
import sys
import sysconfig
import zipfile
from pathlib import Path

import pytest
from e2e_support import REPO_ROOT


@pytest.mark.slow
@pytest.mark.timeout(240)
def test_installed_wheel_ships_migrations_and_upgrades_from_any_directory(tmp_path: Path) -> None:
    """Build the wheel, install it in a venv, run `lrhub db upgrade` from an empty folder."""
    wheels = tmp_path / "wheels"
    build = subprocess.run(
        [sys.executable, "-m", "pip", "wheel", "--no-deps", "-q",
         "-w", str(wheels), str(REPO_ROOT)],
        capture_output=True, text=True, timeout=180,
    )  # fmt: skip
    assert build.returncode == 0, build.stderr
    (wheel,) = wheels.glob("lrhub-*.whl")
    names = zipfile.ZipFile(wheel).namelist()
    assert "lrhub_service/migrations/env.py" in names
    assert any(n.startswith("lrhub_service/migrations/versions/0001") for n in names)
    assert not any(n.startswith(("tests/", "bench/")) for n in names)

    venv = tmp_path / "venv"
    subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True, timeout=60)
    _see_dependencies_of_this_interpreter(venv)
    install = subprocess.run(
        [str(venv / "bin" / "pip"), "install", "-q", "--no-deps", "--no-index", str(wheel)],
        capture_output=True, text=True, timeout=120,
    )  # fmt: skip
    assert install.returncode == 0, install.stderr
    workdir = tmp_path / "elsewhere"
    workdir.mkdir()
    database = workdir / "image.db"
    env = {"PATH": f"{venv / 'bin'}:/usr/bin:/bin", "LRHUB_DATABASE_URL": f"sqlite:///{database}"}
    where = subprocess.run(
        [str(venv / "bin" / "python"), "-c", "import lrhub_service; print(lrhub_service.__file__)"],
        capture_output=True, text=True, timeout=60, cwd=workdir, env=env,
    )  # fmt: skip
    assert str(venv) in where.stdout, f"the venv imported another lrhub_service: {where.stdout}"
    upgrade = subprocess.run(
        [str(venv / "bin" / "lrhub"), "db", "upgrade"],
        capture_output=True, text=True, timeout=120, cwd=workdir, env=env,
    )  # fmt: skip
    assert upgrade.returncode == 0, upgrade.stderr
    with sqlite3.connect(database) as conn:
        tables = {row[0] for row in conn.execute("SELECT name FROM sqlite_master")}
    assert {"runs", "reports", "alembic_version"} <= tables


def _see_dependencies_of_this_interpreter(venv: Path) -> None:
    """Let a plain venv import the server's dependencies from the interpreter running the tests.

    A ``.pth`` line adds those site-packages after the venv's own, without processing the
    ``.pth`` files found there, so this checkout's editable install stays invisible and the
    venv imports the wheel's ``lrhub_service`` (asserted below). ``--system-site-packages``
    would expose the base interpreter instead of the venv running the tests.
    """
    (site,) = (venv / "lib").glob("python*/site-packages")
    paths = dict.fromkeys([sysconfig.get_paths()["purelib"], sysconfig.get_paths()["platlib"]])
    (site / "test_dependencies.pth").write_text("\n".join(paths) + "\n")
