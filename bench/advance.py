"""Shared counter: POST /v1/runs/{id}/advance (wrk) over a raw psycopg UPDATE ... RETURNING loop."""

from __future__ import annotations

import tempfile
import threading
import time
from pathlib import Path

import psycopg

from bench._util import Row, percentile, row, spread, spread_note, stop_group, wrk, wrk_available
from bench.read_path import create_run
from bench.servers import BenchContext

SECTION = "shared counter"
CONCURRENCY = (16, 64)
WRK_POST = """wrk.method = "POST"
wrk.body = '{"count": 1}'
wrk.headers["Content-Type"] = "application/json"
"""


def raw_counter_loop(database_url: str, workers: int, seconds: float) -> tuple[float, list[float]]:
    """`workers` threads, one connection each, bumping one row: (ops/s, latencies in ms)."""
    with psycopg.connect(database_url, autocommit=True) as conn:
        conn.execute(
            "CREATE TABLE IF NOT EXISTS bench_raw_counter (id int PRIMARY KEY, step bigint)"
        )
        conn.execute("INSERT INTO bench_raw_counter VALUES (1, 0) ON CONFLICT (id) DO NOTHING")
    connections: list[psycopg.Connection[tuple[int]]] = []
    try:
        for _ in range(workers):
            connections.append(psycopg.connect(database_url, autocommit=True))
    except psycopg.OperationalError:
        for conn in connections:
            conn.close()
        raise
    latencies: list[list[float]] = [[] for _ in range(workers)]
    start = threading.Barrier(workers + 1)
    stop_at = [0.0]

    def loop(index: int) -> None:
        conn, out = connections[index], latencies[index]
        start.wait()
        while (now := time.perf_counter()) < stop_at[0]:
            conn.execute(
                "UPDATE bench_raw_counter SET step = step + 1 WHERE id = 1 RETURNING step"
            ).fetchone()
            out.append((time.perf_counter() - now) * 1000)

    threads = [threading.Thread(target=loop, args=(i,)) for i in range(workers)]
    for thread in threads:
        thread.start()
    began = time.perf_counter()
    stop_at[0] = began + seconds
    start.wait()
    for thread in threads:
        thread.join()
    elapsed = time.perf_counter() - began
    for conn in connections:
        conn.close()
    flat = [value for per_thread in latencies for value in per_thread]
    return len(flat) / elapsed, flat


def free_connections(database_url: str) -> int:
    """How many more client connections PostgreSQL accepts right now."""
    with psycopg.connect(database_url, autocommit=True) as conn:
        row = conn.execute(
            "SELECT current_setting('max_connections')::int"
            " - current_setting('superuser_reserved_connections')::int"
            " - (SELECT count(*) FROM pg_stat_activity)"
        ).fetchone()
    return int(row[0]) if row else 0


def raw_loop_with_retries(
    database_url: str, workers: int, seconds: float, tries: int = 4
) -> tuple[float, list[float]]:
    """The raw loop, waiting for other clients to free connections when PostgreSQL is full."""
    for attempt in range(tries):
        try:
            return raw_counter_loop(database_url, workers, seconds)
        except psycopg.OperationalError as exc:
            if attempt == tries - 1:
                free = free_connections(database_url)
                raise psycopg.OperationalError(
                    f"{workers} connections needed, {free} free (max_connections): {exc}"
                ) from exc
            time.sleep(2.0)
    raise AssertionError("unreachable")


def measure(ctx: BenchContext) -> list[Row]:
    """Interleaved rounds of the API and the raw loop at each concurrency."""
    if not wrk_available():
        return [row(SECTION, "wrk missing: apt-get install -y wrk", None, note="not measured")]
    stop_group(ctx.many.proc)  # scale's second server: its pools would crowd max_connections
    run_id = create_run(ctx.lrhub.url, "bench-advance")
    url = f"{ctx.lrhub.url}/v1/runs/{run_id}/advance"
    rows: list[Row] = []
    with tempfile.TemporaryDirectory() as tmp:
        script = Path(tmp) / "advance.lua"
        script.write_text(WRK_POST)
        if not ctx.quick:
            wrk(url, 16, 1, script=script)  # warm-up
        for workers in CONCURRENCY:
            try:
                rows += compare(ctx, url, script, workers)
            except psycopg.OperationalError as exc:  # e.g. max_connections reached
                note = f"raw loop could not connect: {exc}".splitlines()[0][:160]
                rows.append(row(SECTION, f"advance/s, {workers} workers", None, note=note))
    return rows


def compare(ctx: BenchContext, url: str, script: Path, workers: int) -> list[Row]:
    """Rounds of wrk on /advance, then the raw loop, at one concurrency: ratio and latencies."""
    rounds, seconds = (1, 1) if ctx.quick else (3, 4)
    api_rps, raw_rps, ratios, api_p, raw_p, errors = [], [], [], [], [], 0
    for _ in range(rounds):
        result = wrk(url, workers, seconds, script=script)
        rate, latencies = raw_loop_with_retries(ctx.database_url, workers, seconds)
        api_rps.append(result.rps)
        raw_rps.append(rate)
        ratios.append(result.rps / rate)
        api_p.append((result.p50_ms, result.p99_ms))
        raw_p.append((percentile(latencies, 0.5), percentile(latencies, 0.99)))
        errors += result.errors
    ratio = spread(ratios)[0]
    return [
        row(
            SECTION,
            f"advance/s, {workers} workers / raw psycopg",
            spread(api_rps)[0],
            spread(raw_rps)[0],
            ratio=ratio,
            unit="ops/s",
            goal=">= 0.5",
            ok=ratio >= 0.5 and errors == 0,
            note=f"ratio {spread_note(ratios)}; errors {errors}",
        ),
        row(
            SECTION,
            f"advance p50/p99 ms, {workers} workers (raw psycopg)",
            spread([p[0] for p in api_p])[0],
            spread([p[0] for p in raw_p])[0],
            unit="ms",
            note=f"p99 {spread([p[1] for p in api_p])[0]:.2f} ms "
            f"(raw {spread([p[1] for p in raw_p])[0]:.2f} ms)",
        ),
    ]
