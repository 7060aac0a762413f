"""Scale: reads with many runs and at huge steps, refold of 100,000 reports, RSS, import time."""

from __future__ import annotations

import http.client
import subprocess
import sys
import time
from urllib.parse import urlsplit

import psycopg

from bench._util import (
    Row,
    http_json,
    row,
    spread,
    spread_note,
    stop_group,
)
from bench.read_path import create_run
from bench.seed import clone_reports, clone_runs
from bench.servers import BenchContext

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


def measure(ctx: BenchContext) -> list[Row]:
    """Every scale row; each compares two things measured side by side."""
    rows: list[Row] = []
    rounds, requests = (2, 50) if ctx.quick else (5, 400)
    many = 10_000
    few_ids = [create_run(ctx.lrhub.url, f"scale-few-{i}") for i in range(10)]
    source = create_run(ctx.many.url, "scale-source")
    last = clone_runs(ctx.many_database_url, source, many, "scale-clone-")
    lr = "/v1/runs/{}/lr?step={}"
    medians = compare_reads(
        {
            "few": ctx.lrhub.url + lr.format(few_ids[-1], 10),
            "many": ctx.many.url + lr.format(last, 10),
        },
        rounds,
        requests,
    )
    stop_group(ctx.many.proc)  # frees its connections for the shared-counter section
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
            note=f"ratio {spread_note(ratios)}; runs cloned in SQL from one the API made",
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
    rows.append(refold_row(ctx, 20_000 if ctx.quick else 1_000_000))
    rows += rss_rows(ctx)
    rows.append(import_row(2 if ctx.quick else 7))
    return rows


def refold_row(ctx: BenchContext, count: int | None = None) -> Row:
    """Time POST /resume on a plateau run holding ``count`` reports (default 100,000;
    quick: 5,000), stored in bulk.

    The first resume folds them all once (storing a fold snapshot every 2,000 reports;
    its time is in the note); each timed resume then rewinds a few steps further, so it
    replays only the reports after the latest snapshot before its step.
    """
    count = count or (5_000 if ctx.quick else 100_000)
    run_id = create_run(ctx.lrhub.url, f"scale-refold-{count}", PLATEAU)
    http_json(
        f"{ctx.lrhub.url}/v1/runs/{run_id}/reports", "POST", {"step": 1, "metrics": {"loss": 2.0}}
    )
    try:
        clone_reports(ctx.database_url, run_id, count)
    except psycopg.Error as exc:
        return row("scale", "resume refold", None, note=f"could not store reports: {exc}")
    resume = f"{ctx.lrhub.url}/v1/runs/{run_id}/resume"
    began = time.perf_counter()
    http_json(resume, "POST", {"step": count}, timeout=600)
    first_ms = (time.perf_counter() - began) * 1000
    times = []
    for turn in range(2 if ctx.quick else 5):
        began = time.perf_counter()
        http_json(resume, "POST", {"step": count - 5 * (turn + 1)}, timeout=120)
        times.append((time.perf_counter() - began) * 1000)
    return row(
        "scale",
        f"resume with {count:,} reports",
        spread(times)[0],
        unit="ms",
        note=f"after fold snapshots (the first resume, folding all: {first_ms:,.0f} ms); "
        + spread_note(times),
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
    if not ctx.rss_load:
        note = "sampled during the read-path section, which did not run (or wrk is missing)"
        return [*rows, row("scale", "server RSS under load", None, note=note)]
    rows.append(
        row(
            "scale",
            "server RSS under load / hello world",
            ctx.rss_load["lrhub"],
            ctx.rss_load["hello"],
            unit="MiB",
            note="sampled mid-way through the read-path wrk runs (64 conns)",
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
