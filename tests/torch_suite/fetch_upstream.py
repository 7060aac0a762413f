"""Fetch torch 2.13's scheduler test suite into tests/torch_suite/upstream/ (ignored by git).

The file is PyTorch's (BSD-3-Clause, https://github.com/pytorch/pytorch/blob/v2.13.0/LICENSE);
lrhub runs it, it does not ship it. Run once per checkout:
``python tests/torch_suite/fetch_upstream.py``.
"""

from __future__ import annotations

import hashlib
import sys
import urllib.request
from pathlib import Path

TAG = "v2.13.0"
URL = f"https://raw.githubusercontent.com/pytorch/pytorch/{TAG}/test/optim/test_lrscheduler.py"
# sha256 of the copy the expected differences were recorded against (190 tests, all passing
# with torch 2.13.0's own classes)
SHA256 = "026594d137cba1d4a3f0cb09504db067d7aec9cb1dfa0978deda3b4660ac616d"
TARGET = Path(__file__).with_name("upstream") / "test_lrscheduler.py"


def main() -> int:
    """Download the file; a different checksum is reported (the strict marks then decide)."""
    try:
        with urllib.request.urlopen(URL, timeout=30) as answer:
            body = answer.read()
    except OSError as exc:  # no network (URLError is an OSError): the caller decides
        print(f"could not fetch {URL}: {exc}", file=sys.stderr)
        return 1
    TARGET.parent.mkdir(exist_ok=True)
    TARGET.write_bytes(body)
    digest = hashlib.sha256(body).hexdigest()
    if digest != SHA256:
        print(f"warning: {URL} has sha256 {digest}, not the recorded {SHA256}", file=sys.stderr)
    print(f"{TARGET} ({len(body)} bytes) from {URL}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
