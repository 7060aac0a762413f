"""Dashboard: the run page's data for a 10-million-step OneCycleLR run with 100,000 loss
reports (seeded in bulk), and the runs list's first page at 10,000 runs.

The run page's data is what the page fetches (overview, downsampled lr and momentum curve,
downsampled metrics, events), timed as the page's first load and as a refresh, and summed
in bytes; the chart library (Plotly's JS, cached as immutable) is left out and named in the
note. The runs list runs on the database the scale section filled with 10,000 runs (filled
here when that section did not run).
"""

from __future__ import annotations

import http.client
import time
from urllib.parse import urlsplit

import psycopg

from bench._util import (
    Row,
    free_port,
    http_json,
    launch,
    lrhub_env,
    row,
    spread,
    stop_group,
    wait_http,
)
from bench.read_path import create_run
from bench.seed import clone_reports, clone_runs
from bench.servers import BenchContext, lrhub_argv

ONE_CYCLE = {"type": "OneCycleLR", "max_lr": 0.4, "total_steps": 10_000_000}
PAGE_PATHS = (
    "/v1/runs/{id}/overview",
    "/v1/runs/{id}/curve?points=600",
    "/v1/runs/{id}/reports/curves?points=600",
    "/v1/runs/{id}/events?limit=1000",
)
LIST_PATHS = {
    "first page": "/v1/runs?limit=50&detail=live",
    "search": "/v1/runs?limit=50&detail=live&q=clone-00999",
    "derived status": "/v1/runs?limit=50&detail=live&status=finished",
}
RUNS = 10_000


def fetch(base: str, paths: list[str]) -> tuple[float, int]:
    """GET each path in turn on one keep-alive connection: seconds in all, bytes of bodies."""
    parts = urlsplit(base)
    conn = http.client.HTTPConnection(parts.hostname, parts.port, timeout=60)
    began, size = time.perf_counter(), 0
    try:
        for path in paths:
            conn.request("GET", path)
            answer = conn.getresponse()
            body = answer.read()
            if answer.status != 200:
                raise RuntimeError(f"GET {path}: {answer.status} {body[:200]!r}")
            size += len(body)
    finally:
        conn.close()
    return time.perf_counter() - began, size


def run_page_rows(ctx: BenchContext) -> list[Row]:
    reports = 20_000 if ctx.quick else 100_000
    run_id = create_run(ctx.lrhub.url, f"dashboard-onecycle-{reports}", ONE_CYCLE)
    http_json(f"{ctx.lrhub.url}/v1/runs/{run_id}/reports", "POST",
              {"step": 1, "metrics": {"loss": 2.0}, "window": 1})
    clone_reports(ctx.database_url, run_id, reports)
    http_json(f"{ctx.lrhub.url}/v1/runs/{run_id}/progress", "POST", {"step": reports})
    paths = [p.format(id=run_id) for p in PAGE_PATHS]
    first, size = fetch(ctx.lrhub.url, paths)
    again = [fetch(ctx.lrhub.url, paths)[0] for _ in range(3 if ctx.quick else 10)]
    page = fetch(ctx.lrhub.url, ["/"])[1]
    note = (f"{reports:,} reports; overview, curve (600 points), metrics (600 buckets), "
            f"events; HTML {page:,} B; Plotly's JS (4.8 MB, cached) not counted")
    return [
        row("dashboard", "run page data, first load (10M steps)", first * 1000, unit="ms",
            goal="< 1000", ok=first < 1.0, note=note),
        row("dashboard", "run page data, refresh", spread(again)[0] * 1000, unit="ms",
            goal="< 1000", ok=spread(again)[0] < 1.0, note=f"median of {len(again)}"),
        row("dashboard", "run page data, bytes", size / 1000, unit="KB", goal="< 200",
            ok=size < 200_000, note="JSON bodies, uncompressed"),
    ]


def _runs_in(database_url: str) -> int:
    with psycopg.connect(database_url, autocommit=True) as conn:
        found = conn.execute("SELECT count(*) FROM runs").fetchone()
    return int(found[0]) if found else 0


def runs_list_rows(ctx: BenchContext) -> list[Row]:
    port = free_port()
    server = launch(lrhub_argv(port, 1), port, lrhub_env(ctx.many_database_url))
    try:
        wait_http(server.url + "/healthz", 60, server.proc)
        have = _runs_in(ctx.many_database_url)
        if have < RUNS:
            source = create_run(server.url, "dashboard-source")
            clone_runs(ctx.many_database_url, source, RUNS - have - 1, "dash-clone-")
        rows = []
        for label, path in LIST_PATHS.items():
            fetch(server.url, [path])  # warm-up
            times = [fetch(server.url, [path])[0] for _ in range(3 if ctx.quick else 10)]
            median = spread(times)[0]
            rows.append(row("dashboard", f"runs list at {RUNS:,} runs, {label}", median * 1000,
                            unit="ms", goal="< 200", ok=median < 0.2,
                            note=f"GET {path}; median of {len(times)}"))
        return rows
    finally:
        stop_group(server.proc)


def measure(ctx: BenchContext) -> list[Row]:
    return run_page_rows(ctx) + runs_list_rows(ctx)
