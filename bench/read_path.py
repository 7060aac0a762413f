"""Read path: GET /v1/runs/{id}/lr and the 1,000-step window over a hello-world endpoint (wrk)."""

from __future__ import annotations

import threading

from bench._util import (
    Row,
    WrkResult,
    http_json,
    row,
    rss_mib,
    spread,
    spread_note,
    wrk,
    wrk_available,
)
from bench.servers import BenchContext

CONNECTIONS = 64
WINDOW_STEPS = 1000
SPEC = {"type": "CosineAnnealingLR", "T_max": 1_000_000, "eta_min": 0.001}


def create_run(base_url: str, name: str, spec: dict[str, object] = SPEC) -> int:
    """Create (get-or-create) a run with one parameter group and return its id."""
    run = http_json(f"{base_url}/v1/runs", "POST", {"name": name, "schedule": spec})
    http_json(
        f"{base_url}/v1/runs/{run['id']}/attach",
        "POST",
        {"base_lrs": [0.1], "base_momentums": [0.9]},
    )
    return int(run["id"])


def _sample_rss(ctx: BenchContext, target: str, pid: int) -> None:
    """Keep the largest RSS seen under load, per server (lr and window count for lrhub)."""
    key = "hello" if target == "hello" else "lrhub"
    ctx.rss_load[key] = max(ctx.rss_load.get(key, 0.0), rss_mib(pid))


def measure(ctx: BenchContext) -> list[Row]:
    """Interleaved wrk rounds: hello, lr, window; medians and ratios against hello world."""
    section = "read path"
    if not wrk_available():
        return [row(section, "wrk missing: apt-get install -y wrk", None, note="not measured")]
    run_id = create_run(ctx.lrhub.url, "bench-read")
    targets = {
        "hello": f"{ctx.hello.url}/hello",
        "lr": f"{ctx.lrhub.url}/v1/runs/{run_id}/lr?step=12345",
        "window": f"{ctx.lrhub.url}/v1/runs/{run_id}/window?start=0&count={WINDOW_STEPS}",
    }
    rounds, seconds = (1, 1) if ctx.quick else (5, 4)
    if not ctx.quick:
        for url in targets.values():  # warm-up: caches, pools, worker start
            wrk(url, CONNECTIONS, 1)
    results: dict[str, list[WrkResult]] = {name: [] for name in targets}
    for _ in range(rounds):
        for name, url in targets.items():
            server = ctx.hello if name == "hello" else ctx.lrhub
            sample = threading.Timer(seconds / 2, _sample_rss, (ctx, name, server.pid))
            sample.start()
            results[name].append(wrk(url, CONNECTIONS, seconds))
            sample.join()
    hello = [r.rps for r in results["hello"]]
    rows: list[Row] = []
    rows.append(
        row(
            section,
            "hello-world FastAPI req/s (peer)",
            spread(hello)[0],
            unit="req/s",
            note=f"{CONNECTIONS} conns, {ctx.workers} worker(s), {spread_note(hello, '{:.0f}')}",
        )
    )
    for name, goal in (("lr", ">= 0.8"), ("window", "")):
        ours = [r.rps for r in results[name]]
        ratios = [o / h for o, h in zip(ours, hello, strict=True)]
        ratio = spread(ratios)[0]
        errors = sum(r.errors for r in results[name])
        label = "GET /lr req/s" if name == "lr" else f"GET /window ({WINDOW_STEPS} steps) req/s"
        rows.append(
            row(
                section,
                f"{label} / hello",
                spread(ours)[0],
                spread(hello)[0],
                ratio=ratio,
                unit="req/s",
                goal=goal,
                ok=(ratio >= 0.8 and errors == 0) if goal else None,
                note=f"ratio {spread_note(ratios)}; errors {errors}",
            )
        )
    window = results["window"]
    per_step = [1e6 / (r.rps * WINDOW_STEPS) for r in window]
    latency = [r.p50_ms * 1000 / WINDOW_STEPS for r in window]
    rows.append(
        row(
            section,
            "window: server time per step delivered",
            spread(per_step)[0],
            unit="µs/step",
            note=f"1e6/(req/s x {WINDOW_STEPS}); p50 latency/step {spread(latency)[0]:.2f} µs",
        )
    )
    return rows
