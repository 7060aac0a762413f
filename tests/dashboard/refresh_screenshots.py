"""Refresh docs/img from the dashboard's browser tests: run them with ``LRHUB_SCREENSHOTS``
set to a fresh folder, then copy the pictures the docs show.

    python tests/dashboard/refresh_screenshots.py
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
SHOWN = ("runs-list.png", "run-page.png", "revise-preview.png")


def main() -> int:
    with tempfile.TemporaryDirectory(prefix="lrhub-shots-") as folder:
        env = {**os.environ, "LRHUB_SCREENSHOTS": folder}
        argv = [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", "tests/dashboard"]
        if subprocess.run(argv, cwd=REPO, env=env, check=False).returncode != 0:
            print("the dashboard's tests failed: docs/img left as it was", file=sys.stderr)
            return 1
        for name in SHOWN:
            shutil.copyfile(Path(folder) / name, REPO / "docs" / "img" / name)
            print(f"docs/img/{name}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
