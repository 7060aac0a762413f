"""Fail CI when a PostgreSQL test was skipped or none ran (reads pytest's JUnit XML)."""

from __future__ import annotations

import sys
import xml.etree.ElementTree as ET


def _is_postgres_case(test_id: str) -> bool:
    """A PostgreSQL case: its id names postgres (the `[postgres]` parameter of the fixtures)."""
    return "postgres" in test_id.lower()


def _skipped_for_want_of_postgres(test_id: str, message: str | None) -> bool:
    """A PostgreSQL case skipped, or any test skipped because PostgreSQL was not configured."""
    return _is_postgres_case(test_id) or "LRHUB_TEST_POSTGRES_URL" in (message or "")


def main(path: str) -> int:
    """Print what ran against PostgreSQL; return 1 if a PostgreSQL test was skipped or none ran."""
    root = ET.parse(path).getroot()
    ran, skipped = 0, []
    for case in root.iter("testcase"):
        test_id = f"{case.get('classname')}::{case.get('name')}"
        skip = case.find("skipped")
        if skip is not None:
            if _skipped_for_want_of_postgres(test_id, skip.get("message")):
                skipped.append(f"{test_id}: {skip.get('message')}")
        elif _is_postgres_case(test_id):
            ran += 1
    print(f"PostgreSQL tests run: {ran}, skipped: {len(skipped)}")
    for line in skipped:
        print(f"  skipped: {line}")
    if skipped or ran == 0:
        print("FAIL: PostgreSQL tests are required in CI (LRHUB_REQUIRE_POSTGRES=1)")
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1]))
