"""Write tests/compat/reference.json: the compat grid's values from the live libraries.

Run from the repository root with transformers, timm and torch installed:
``python tests/compat/make_reference.py``. The tests compare lrhub with this file always,
and with the live libraries too when they are installed.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent))  # tests/, for support.*

from support.compat_cases import all_cases  # noqa: E402
from support.compat_live import library_values, library_versions  # noqa: E402

REFERENCE = HERE / "reference.json"


def main() -> None:
    cases = []
    for case in all_cases():
        rows = library_values(case)
        cases.append({**case, "lrs": [[row[g] for row in rows] for g in range(len(rows[0]))]})
    data = {"versions": library_versions(), "cases": cases}
    REFERENCE.write_text(json.dumps(data, indent=None, separators=(",", ":")) + "\n")
    print(f"{len(cases)} cases written to {REFERENCE}")


if __name__ == "__main__":
    main()
