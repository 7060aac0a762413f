""".ci/check_postgres_ran.py fails CI when a PostgreSQL test was skipped or none ran."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest
from e2e_support import REPO_ROOT

SCRIPT = REPO_ROOT / ".ci" / "check_postgres_ran.py"


def junit(tmp_path: Path, cases: str) -> Path:
    path = tmp_path / "junit.xml"
    path.write_text(f"<testsuites><testsuite>{cases}</testsuite></testsuites>")
    return path


def check(path: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, str(SCRIPT), str(path)], capture_output=True, text=True, timeout=30
    )


RAN = '<testcase classname="tests.api.t" name="test_a[postgres]"/>'
SQLITE_ONLY_SKIP = (
    '<testcase classname="tests.api.t" name="test_b[sqlite]">'
    '<skipped message="dropping a live database is a PostgreSQL scenario"/></testcase>'
)


def test_passes_when_postgres_cases_ran(tmp_path: Path) -> None:
    done = check(junit(tmp_path, RAN + SQLITE_ONLY_SKIP))
    assert done.returncode == 0, done.stdout
    assert "PostgreSQL tests run: 1, skipped: 0" in done.stdout


@pytest.mark.parametrize(
    "cases",
    [
        '<testcase classname="tests.api.t" name="test_a[postgres]"><skipped message="x"/>'
        "</testcase>",
        '<testcase classname="tests.e2e.t" name="test_c"><skipped '
        'message="PostgreSQL tests need LRHUB_TEST_POSTGRES_URL"/></testcase>' + RAN,
        SQLITE_ONLY_SKIP,
    ],
    ids=["postgres-case-skipped", "skipped-for-want-of-url", "none-ran"],
)
def test_fails_when_a_postgres_test_was_skipped_or_none_ran(tmp_path: Path, cases: str) -> None:
    done = check(junit(tmp_path, cases))
    assert done.returncode == 1
    assert "FAIL" in done.stdout
