"""``lrhub lr-finder show RUN [--plot out.png]``: a range test's suggestions and curve.

Reads ``GET /v1/runs/{id}/lr-finder`` from a running server (``--url``, default
``$LRHUB_URL`` or http://127.0.0.1:8000), so it works on a test still in progress or
one whose client crashed.
"""

from __future__ import annotations

import argparse
import json
import sys
from typing import Any


def register(subparsers: Any) -> None:
    """Add the ``lr-finder`` command to ``lrhub``'s subparsers."""
    finder = subparsers.add_parser("lr-finder", help="inspect LR range tests")
    actions = finder.add_subparsers(dest="action", required=True)
    show = actions.add_parser("show", help="print a range test's suggestions and curve")
    show.add_argument("run", help="run id or name")
    show.add_argument("--plot", help="also write the curve to a .png or .svg file")
    show.add_argument("--url", help="server URL (default: $LRHUB_URL or http://127.0.0.1:8000)")
    show.add_argument("--token", help="bearer token (default: $LRHUB_TOKEN)")
    show.add_argument("--json", action="store_true", help="print the server's JSON instead")
    show.add_argument("--width", type=int, default=60, help="sparkline width (default 60)")
    show.set_defaults(func=cmd_show)


def cmd_show(args: argparse.Namespace) -> int:
    """Print the suggestions and a sparkline; write the plot when asked."""
    # The client package (httpx) is loaded only for this command: `lrhub db upgrade` and
    # `lrhub serve` run without it. An import across packages cannot close a cycle.
    from lrhub import Client, LrhubError
    from lrhub.lr_finder import LRFinderResult

    if not 10 <= args.width <= 400:
        print("lrhub: --width must be between 10 and 400", file=sys.stderr)
        return 2
    if args.plot and not args.plot.lower().endswith((".png", ".svg")):
        print(f"lrhub: --plot must end in .png or .svg, got {args.plot!r}", file=sys.stderr)
        return 2
    try:
        with Client(args.url, args.token, max_retries=1) as client:
            run = (
                client.get_run(int(args.run))
                if args.run.isdigit()
                else (client.get_run_by_name(args.run))
            )
            body = client.request("GET", f"/v1/runs/{run.id}/lr-finder")
    except (LrhubError, ValueError) as exc:
        print(f"lrhub: {exc}", file=sys.stderr)
        return 1
    result = LRFinderResult.from_json(body)
    if args.json:
        print(json.dumps(body, indent=2))
    else:
        print(result.summary(args.width))
    if args.plot:
        try:
            path = result.plot(args.plot)
        except (ImportError, ValueError) as exc:
            print(f"lrhub: {exc}", file=sys.stderr)
            return 1
        print(f"wrote {path}", file=sys.stderr)
    return 0
