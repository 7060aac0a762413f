"""A worker process for the e2e tests: POST /advance in a loop, print every acknowledged step.

    python advance_worker.py BASE_URL RUN_ID COUNT        # exactly COUNT advances, then exit
    python advance_worker.py BASE_URL RUN_ID 0 STOP_FILE  # until STOP_FILE exists, retrying

A step is printed (one JSON line) only after a complete 200 answer: it was acknowledged.
"""

from __future__ import annotations

import http.client
import json
import sys
import time
from pathlib import Path
from urllib.parse import urlsplit

BODY = json.dumps({"count": 1}).encode()


def advance(conn: http.client.HTTPConnection, run_id: int) -> dict[str, object]:
    """One advance; raise on anything but a 200 with a step in it."""
    conn.request("POST", f"/v1/runs/{run_id}/advance", BODY, {"Content-Type": "application/json"})
    response = conn.getresponse()
    payload = response.read()
    if response.status != 200:
        raise RuntimeError(f"advance answered {response.status}: {payload[:200]!r}")
    return json.loads(payload)


def main() -> int:
    """Advance COUNT times (strict) or until STOP_FILE appears (tolerating outages)."""
    base, run_id, count = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
    stop_file = Path(sys.argv[4]) if len(sys.argv) > 4 else None
    parts = urlsplit(base)
    conn = http.client.HTTPConnection(parts.hostname, parts.port, timeout=10)
    done = 0
    while (count and done < count) or (stop_file and not stop_file.exists()):
        try:
            value = advance(conn, run_id)
        except (OSError, http.client.HTTPException, RuntimeError) as exc:
            if stop_file is None:
                raise
            print(json.dumps({"error": str(exc)[:200]}), flush=True)
            conn.close()
            conn = http.client.HTTPConnection(parts.hostname, parts.port, timeout=10)
            time.sleep(0.05)
            continue
        print(json.dumps({"step": value["step"], "lr": value["lr"], "t": time.time()}), flush=True)
        done += 1
    conn.close()
    return 0


if __name__ == "__main__":
    sys.exit(main())
