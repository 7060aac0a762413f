"""Scale: reads with many runs and at huge steps, refold of 100,000 reports, RSS, import time."""

from __future__ import annotations

import http.client
import subprocess
import sys
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from urllib.parse import urlsplit

import psycopg

from bench._util import (
    Row,
    db_upgrade,
    http_json,
    postgres_database,
    row,
    rss_mib,
    spread,
    spread_note,
    wrk,
    wrk_available,
)
from bench.read_path import create_run
from bench.servers import BenchContext, lrhub_server

PLATEAU = {"type": "ReduceLROnPlateau", "mode": "min", "factor": 0.5, "patience": 20}


def read_latencies_us(url: str, requests: int) -> list[float]:
    """Sequential GETs on one keep-alive connection; each request's time in µs."""
    parts = urlsplit(url)
    path = f"{parts.path}?{parts.query}"
    conn = http.client.HTTPConnection(parts.hostname, parts.port, timeout=10)
    times = []
    try:
        for _ in range(requests):
            began = time.perf_counter()
            conn.request("GET", path)
            response = conn.getresponse()
            response.read()
            times.append((time.perf_counter() - began) * 1e6)
            if response.status != 200:
                raise RuntimeError(f"GET {url}: {response.status}")
    finally:
        conn.close()
    return times


def compare_reads(urls: dict[str, str], rounds: int, requests: int) -> dict[str, list[float]]:
    """Interleaved rounds of sequential reads; the median µs of each round per url."""
    medians: dict[str, list[float]] = {name: [] for name in urls}
    for url in urls.values():
        read_latencies_us(url, 20)  # warm-up
    for _ in range(rounds):
        for name, url in urls.items():
            medians[name].append(spread(read_latencies_us(url, requests))[0])
    return medians


def create_many_runs(base_url: str, count: int) -> int:
    """Create `count` runs with 8 concurrent clients; return the last id."""
    with ThreadPoolExecutor(8) as pool:
        ids = list(pool.map(lambda i: create_run(base_url, f"scale-{i:06d}"), range(count)))
    return max(ids)


def insert_reports(database_url: str, run_id: int, count: int) -> None:
    """Store `count` loss reports (steps 1..count) directly, as the report route would."""
    with psycopg.connect(database_url, autocommit=True) as conn:
        conn.execute(
            "INSERT INTO reports (run_id, step, metric, value, effective_step, counted, created_at)"
            " SELECT %s, s, 'loss', 1.0 + 0.5 * cos(s / 40.0) + 1000.0 / (s + 10), s, true, now()"
            " FROM generate_series(1, %s) AS s",
            (run_id, count),
        )


def measure(ctx: BenchContext) -> list[Row]:
    """Every scale row; each compares two things measured side by side."""
    rows: list[Row] = []
    rounds, requests = (2, 100) if ctx.quick else (5, 400)
    many = 1_000 if ctx.quick else 10_000
    few_ids = [create_run(ctx.lrhub.url, f"scale-few-{i}") for i in range(10)]
    with postgres_database(ctx.admin_url) as many_db:
        db_upgrade(many_db)
        with lrhub_server(many_db, ctx.workers) as server:
            began = time.perf_counter()
            last = create_many_runs(server.url, many)
            created = time.perf_counter() - began
            lr = "/v1/runs/{}/lr?step={}"
            medians = compare_reads(
                {
                    "few": ctx.lrhub.url + lr.format(few_ids[-1], 10),
                    "many": server.url + lr.format(last, 10),
                },
                rounds,
                requests,
            )
    ratios = [m / f for m, f in zip(medians["many"], medians["few"], strict=True)]
    rows.append(
        row(
            "scale",
            f"GET /lr latency, {many:,} runs / 10 runs",
            spread(medians["many"])[0],
            spread(medians["few"])[0],
            ratio=spread(ratios)[0],
            unit="µs",
            goal="~1.0",
            note=f"ratio {spread_note(ratios)}; created {many / created:.0f} runs/s",
        )
    )
    step_urls = {s: ctx.lrhub.url + lr.format(few_ids[0], s) for s in (10, 10**9)}
    medians = compare_reads({str(k): v for k, v in step_urls.items()}, rounds, requests)
    ratios = [b / s for b, s in zip(medians[str(10**9)], medians["10"], strict=True)]
    rows.append(
        row(
            "scale",
            "GET /lr latency, step 1e9 / step 10",
            spread(medians[str(10**9)])[0],
            spread(medians["10"])[0],
            ratio=spread(ratios)[0],
            unit="µs",
            goal="~1.0",
            note=f"ratio {spread_note(ratios)}",
        )
    )
    rows.append(refold_row(ctx))
    rows += rss_rows(ctx)
    rows.append(import_row(3 if ctx.quick else 7))
    return rows


def refold_row(ctx: BenchContext) -> Row:
    """Time POST /resume on a plateau run holding 100,000 (quick: 10,000) reports."""
    count = 10_000 if ctx.quick else 100_000
    run_id = create_run(ctx.lrhub.url, "scale-refold", PLATEAU)
    try:
        insert_reports(ctx.database_url, run_id, count)
    except psycopg.Error as exc:
        return row("scale", "resume refold", None, note=f"could not store reports: {exc}")
    times = []
    for _ in range(2 if ctx.quick else 5):
        began = time.perf_counter()
        http_json(f"{ctx.lrhub.url}/v1/runs/{run_id}/resume", "POST", {"step": count}, timeout=120)
        times.append((time.perf_counter() - began) * 1000)
    return row(
        "scale",
        f"resume (refold) with {count:,} reports",
        spread(times)[0],
        unit="ms",
        note=f"{spread(times)[0] * 1000 / count:.2f} µs/report; {spread_note(times)}",
    )


def rss_rows(ctx: BenchContext) -> list[Row]:
    """Server RSS idle (as started) and while wrk loads it, against hello world's."""
    rows = [
        row(
            "scale",
            "server RSS idle / hello world",
            ctx.rss_idle[0],
            ctx.rss_idle[1],
            unit="MiB",
            note=f"{ctx.workers} worker(s), all processes",
        )
    ]
    if not wrk_available():
        return [*rows, row("scale", "server RSS under load", None, note="wrk missing")]
    loaded: dict[str, float] = {}
    targets = {
        "lrhub": (ctx.lrhub, f"{ctx.lrhub.url}/v1/runs/{{}}/window?start=0&count=1000"),
        "hello": (ctx.hello, f"{ctx.hello.url}/hello"),
    }
    run_id = create_run(ctx.lrhub.url, "scale-rss")
    for name, (server, url) in targets.items():
        pid = server.pid
        sampler = threading.Timer(1.0, lambda n=name, p=pid: loaded.__setitem__(n, rss_mib(p)))
        sampler.start()
        wrk(url.format(run_id), 64, 2)
        sampler.join()
    rows.append(
        row(
            "scale",
            "server RSS under load (64 conns) / hello world",
            loaded["lrhub"],
            loaded["hello"],
            unit="MiB",
            note="sampled 1 s into a 2 s wrk run",
        )
    )
    return rows


def import_row(rounds: int) -> Row:
    """`import lrhub` in a fresh interpreter (torch must stay unimported) over `pass`."""
    check = "import sys, lrhub; sys.exit('torch' in sys.modules)"
    ours, base = [], []
    for _ in range(rounds):
        for code, out in ((check, ours), ("pass", base)):
            began = time.perf_counter()
            done = subprocess.run([sys.executable, "-c", code], capture_output=True, timeout=60)
            out.append((time.perf_counter() - began) * 1000)
            if code == check and done.returncode != 0:
                return row("scale", "import lrhub", None, note="import failed or pulled in torch")
    extra = [o - b for o, b in zip(ours, base, strict=True)]
    return row(
        "scale",
        "`import lrhub` (no torch) over bare python",
        spread(extra)[0],
        spread(base)[0],
        unit="ms",
        goal="torch not imported",
        ok=True,
        note=f"{spread_note(extra, '{:.0f}')}",
    )
