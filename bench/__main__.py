"""`python -m bench [--quick] [--baseline [REV]]`: every benchmark, one table (markdown),
ratios against peers; with ``--baseline``, the read, window and advance rows of an older
revision's server beside today's (bench/baseline.py)."""

from __future__ import annotations

import argparse
import datetime
import importlib
import os
import platform
import sys
import time
import traceback
from collections.abc import Callable

from bench import baseline
from bench._util import DEFAULT_ADMIN_URL, Row, row
from bench.baseline import DEFAULT_REVISION
from bench.servers import BenchContext, bench_context

SECTIONS = ("client", "engine", "flood", "read", "advance", "scale", "dashboard")


def _external(module_name: str, quick: bool) -> list[Row]:
    """Rows from bench/client.py, engine.py or flood.py (`main(quick) -> list[dict]`)."""
    try:
        module = importlib.import_module(f"bench.{module_name}")
    except ImportError as exc:
        return [row(module_name, f"bench/{module_name}.py missing", None, note=str(exc))]
    result = module.main(quick)
    return [r for r in result or [] if isinstance(r, dict)]


def _guarded(name: str, run: Callable[[], list[Row]]) -> list[Row]:
    """Run one section; a crash becomes a row saying so (benchmarks are not tests)."""
    began = time.perf_counter()
    try:
        rows = run()
    except Exception as exc:  # reported in the table, traceback on stderr
        traceback.print_exc()
        rows = [row(name, "FAILED", None, note=f"{type(exc).__name__}: {exc}"[:200])]
    print(f"[bench] {name}: {time.perf_counter() - began:.1f} s", file=sys.stderr)
    return rows


def _fmt(value: object) -> str:
    if value is None:
        return "-"
    if isinstance(value, bool):
        return "yes" if value else "NO"
    if isinstance(value, float):
        return f"{value:,.0f}" if abs(value) >= 100 else f"{value:.3g}"
    return str(value)


def render(rows: list[Row], header: str) -> str:
    """A markdown table of the rows under a header line."""
    lines = [header, "", "| section | metric | ours | peer | ratio | unit | goal | met | note |"]
    lines.append("|---|---|---|---|---|---|---|---|---|")
    for r in rows:
        cells = [r.get(k) for k in ("section", "metric", "ours", "peer", "ratio", "unit", "goal")]
        cells += [r.get("ok"), r.get("note", "")]
        text = (_fmt(c).replace("\n", " ").replace("|", "/") for c in cells)
        lines.append("| " + " | ".join(text) + " |")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    """Parse arguments, run the sections, print the table."""
    parser = argparse.ArgumentParser(prog="python -m bench", description=__doc__)
    parser.add_argument("--quick", action="store_true", help="short rounds (< 1 min)")
    parser.add_argument(
        "--database-url",
        default=os.environ.get("LRHUB_BENCH_POSTGRES_URL", DEFAULT_ADMIN_URL),
        help="a PostgreSQL URL whose server hosts throwaway databases",
    )
    parser.add_argument(
        "--workers", type=int, help="uvicorn workers per server (default: cores; --quick: 1)"
    )
    parser.add_argument("--only", nargs="+", choices=SECTIONS, default=list(SECTIONS))
    parser.add_argument(
        "--baseline",
        nargs="?",
        const=DEFAULT_REVISION,
        metavar="REV",
        help="also run GET /lr, GET /window and POST /advance against the server of git "
        f"revision REV (default {DEFAULT_REVISION}, before the rework), side by side",
    )
    args = parser.parse_args(argv)
    if args.workers is None:
        args.workers = 1 if args.quick else os.cpu_count() or 1
    began = time.perf_counter()
    rows: list[Row] = []
    for name in ("client", "engine", "flood"):
        if name in args.only:
            rows += _guarded(name, lambda n=name: _external(n, args.quick))
    served = [s for s in ("read", "advance", "scale", "dashboard") if s in args.only]
    if served:
        rows += _guarded("servers", lambda: _served(args, served))
    if args.baseline:
        rows += _guarded(
            "baseline",
            lambda: baseline.measure(args.quick, args.database_url, args.workers, args.baseline),
        )
    command = "python -m bench" + (" --quick" if args.quick else "")
    command += f" --baseline {args.baseline}" if args.baseline else ""
    header = (
        f"`{command}` on {os.cpu_count()} cores, {platform.python_version()}, "
        f"{datetime.datetime.now(datetime.timezone.utc):%Y-%m-%d %H:%M} UTC, "
        f"{time.perf_counter() - began:.0f} s"
    )
    print(render(rows, header))
    return 0


def _served(args: argparse.Namespace, sections: list[str]) -> list[Row]:
    """The sections that need lrhub and hello world running on a fresh database."""
    from bench import advance, dashboard, read_path, scale

    modules: dict[str, Callable[[BenchContext], list[Row]]] = {
        "read": read_path.measure,
        "advance": advance.measure,
        "scale": scale.measure,
        "dashboard": dashboard.measure,
    }
    rows: dict[str, list[Row]] = {}
    began = time.perf_counter()
    with bench_context(args.quick, args.database_url, args.workers) as ctx:
        print(
            f"[bench] databases and servers up: {time.perf_counter() - began:.1f} s",
            file=sys.stderr,
        )
        # scale runs before advance: it then stops its second server, so the raw loop's 64
        # connections fit in PostgreSQL's max_connections beside lrhub's pools; the dashboard
        # lists the runs scale stored (with a server of its own, stopped before advance).
        for name in sorted(sections, key=("read", "scale", "dashboard", "advance").index):
            rows[name] = _guarded(name, lambda n=name: modules[n](ctx))
    return [r for name in sections for r in rows[name]]


if __name__ == "__main__":
    sys.exit(main())
