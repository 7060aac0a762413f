"""The lrhub client against torch's own schedulers and against one HTTP request, in one run.

Starts a real `lrhub serve` (SQLite in a temporary directory) and the hello-world app, then:

* tight loop: the mean time of `scheduler.step()` over whole rounds of consecutive steps,
  every window fetch and wait included (a fetch still in flight when a round ends is waited
  for and charged to it, so torch's round never shares the CPU with lrhub's thread), beside
  torch's own `step()` in alternating rounds
  (CosineAnnealingLR, OneCycleLR, CyclicLR with momentum; 1 and 10 groups). The median of
  256-step batches, which leaves the fetches out, sits beside it labelled "fast path";
* window: a fresh 4,096-step OneCycleLR window (lr and momentum) with the client's compact
  transport and as JSON, beside one hello-world request from the same client;
* training loop: a fixed MLP whose step takes about 1 ms, with no scheduler, torch's
  OneCycleLR and lrhub's, in interleaved rounds, with a 95% bootstrap interval.

    python -m bench.client [--quick]
"""

from __future__ import annotations

import argparse
import random
import statistics
import sys
import tempfile
import time
import warnings
from collections.abc import Callable
from pathlib import Path
from typing import Any

from bench._util import free_port, lrhub_env, row, serve

BATCH = 256
MLP = (256, 512, 32)  # in/out features, hidden features, batch size


def _spec(name: str, steps: int) -> dict[str, Any]:
    return {
        "CosineAnnealingLR": {"type": "CosineAnnealingLR", "T_max": steps},
        "OneCycleLR": {"type": "OneCycleLR", "max_lr": 0.1, "total_steps": steps + 8},
        "CyclicLR+momentum": {
            "type": "CyclicLR",
            "base_lr": 0.001,
            "max_lr": 0.1,
            "step_size_up": 500,
        },
    }[name]


def _optimizer(groups: int, momentum: float = 0.9, params: Any = None) -> Any:
    import torch

    if params is None:
        params = [{"params": [torch.nn.Parameter(torch.zeros(1))]} for _ in range(groups)]
    return torch.optim.SGD(params, lr=0.05, momentum=momentum)


def _torch_scheduler(spec: dict[str, Any], optimizer: Any) -> Any:
    import torch

    kwargs = {k: v for k, v in spec.items() if k != "type"}
    return getattr(torch.optim.lr_scheduler, spec["type"])(optimizer, **kwargs)


def _batches(step: Callable[[], None], steps: int) -> list[float]:
    """µs per step of each BATCH-step batch of ``steps`` consecutive steps."""
    out = []
    clock = time.perf_counter_ns
    for _ in range(steps // BATCH):
        began = clock()
        for _ in range(BATCH):
            step()
        out.append((clock() - began) / BATCH / 1000.0)
    return out


def _settle_us(scheduler: Any) -> float:
    """µs until the scheduler's background thread has no fetch in flight, so that the next
    round (torch's) runs alone; the time is charged to lrhub's last batch."""
    began = time.perf_counter_ns()
    driver = scheduler._driver
    while driver.cursor.fetching:
        time.sleep(0.0002)
        driver.drain()
    return (time.perf_counter_ns() - began) / 1000.0


def tight_loop(url: str, name: str, groups: int, rounds: int, steps: int) -> dict[str, Any]:
    """One row: mean µs per `scheduler.step()` of lrhub and of torch, alternating rounds."""
    import lrhub

    spec = _spec(name, rounds * steps)
    client = lrhub.Client(url)
    run = client.create_run(f"bench-{name}-{groups}-{time.time_ns()}", spec)
    ours = run.attach(_optimizer(groups))
    theirs = _torch_scheduler(spec, _optimizer(groups))
    ours_us: list[float] = []
    torch_us: list[float] = []
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # torch: optimizer.step() was never called
        for _ in range(rounds):
            torch_us += _batches(theirs.step, steps)
            ours_us += _batches(ours.step, steps)
            ours_us[-1] += _settle_us(ours) / BATCH  # its background work is charged to it
    same = abs(ours.get_last_lr()[0] - theirs.get_last_lr()[0]) <= 1e-9 * abs(
        theirs.get_last_lr()[0]
    )
    ours.close(0.5)
    client.close()
    mean, peer = statistics.mean(ours_us), statistics.mean(torch_us)
    fast = statistics.median(ours_us)
    return row(
        "client",
        f"tight-loop step() {name}, {groups} group{'s' if groups > 1 else ''} (mean)",
        mean,
        peer,
        unit="µs/step",
        goal="ratio <= 0.5",
        ok=mean <= 0.5 * peer and same,
        note=f"{rounds} x {steps} steps, fetches and waits included; fast path (median of "
        f"{BATCH}-step batches) {fast:.2f} vs torch {statistics.median(torch_us):.2f}; "
        f"final lr {'equal' if same else 'DIFFERS'}",
    )


def window_rows(url: str, hello_url: str, rounds: int) -> list[dict[str, Any]]:
    """Fresh 4,096-step OneCycleLR windows, compact and JSON, vs one hello-world request."""
    import lrhub
    from lrhub.types import Window

    client = lrhub.Client(url)
    spec = {"type": "OneCycleLR", "max_lr": 0.1, "total_steps": 10**8}
    run = client.create_run(f"bench-window-{time.time_ns()}", spec)
    run.attach(_optimizer(1)).close(0)
    path = f"/v1/runs/{run.id}/window"
    json_accept = {"Accept": "application/json"}
    timings: dict[str, list[float]] = {k: [] for k in ("hello", "binary", "json", "b2", "j2")}

    def timed(name: str, call: Callable[[], Any]) -> Any:
        began = time.perf_counter()
        result = call()
        timings[name].append((time.perf_counter() - began) * 1e3)
        return result

    def as_json(start: int) -> Window:
        params = {"start": start, "count": 4096}
        return Window.from_json(client.request("GET", path, params=params, headers=json_accept))

    start = 0
    for _ in range(rounds):  # interleaved; a fresh window starts where none was computed
        timed("hello", lambda: client.request("GET", f"{hello_url}/hello"))
        window = timed("binary", lambda s=start: run.window(s, 4096))
        assert window.count == 4096 and window.momentums is not None
        timed("b2", lambda s=start: run.window(s, 4096))  # the server's cache answers
        timed("json", lambda s=start + 4096: as_json(s))
        timed("j2", lambda s=start + 4096: as_json(s))
        start += 2 * 4096
    client.close()
    hello, binary, json_, b2, j2 = (statistics.median(timings[k]) for k in timings)
    note = f"medians of {rounds} interleaved rounds; JSON {json_:.2f} ms"
    return [
        row(
            "client",
            "fresh 4,096-step OneCycleLR window, compact transport",
            binary,
            hello,
            unit="ms",
            goal="ratio <= 3 (peer: one hello-world request)",
            ok=binary <= 3 * hello,
            note=note,
        ),
        row(
            "client",
            "fresh 4,096-step OneCycleLR window, JSON",
            json_,
            hello,
            unit="ms",
            goal="shown beside the compact one",
            note=f"medians of {rounds} rounds",
        ),
        row(
            "client",
            "repeated window (server cache hit), compact transport",
            b2,
            hello,
            unit="ms",
            goal="transport alone",
            note=f"JSON {j2:.2f} ms; same rounds",
        ),
    ]


def _median_ci(values: list[float], resamples: int = 2000) -> tuple[float, float]:
    """A 95% bootstrap interval of the median (robust to the odd disturbed round)."""
    rng = random.Random(7)
    medians = sorted(
        statistics.median(rng.choices(values, k=len(values))) for _ in range(resamples)
    )
    return medians[int(0.025 * resamples)], medians[int(0.975 * resamples) - 1]


def training_loop(url: str, rounds: int, steps: int) -> list[dict[str, Any]]:
    """Per-step time of a ~1 ms MLP step: none vs torch's OneCycleLR vs lrhub's."""
    import torch

    import lrhub

    torch.set_num_threads(1)
    features, hidden, batch = MLP
    spec = {"type": "OneCycleLR", "max_lr": 0.1, "total_steps": rounds * steps + 8}
    run = lrhub.Client(url).create_run(f"bench-train-{time.time_ns()}", spec)
    loops: dict[str, Callable[[], None]] = {}
    schedulers = []
    for kind in ("none", "torch", "lrhub"):
        model = torch.nn.Sequential(
            torch.nn.Linear(features, hidden), torch.nn.ReLU(), torch.nn.Linear(hidden, features)
        )
        optimizer = _optimizer(1, params=model.parameters())
        data = torch.randn(batch, features)
        scheduler = None
        if kind == "torch":
            scheduler = _torch_scheduler(spec, optimizer)
        elif kind == "lrhub":
            scheduler = run.attach(optimizer)
        schedulers.append(scheduler)

        def one_step(m=model, o=optimizer, x=data, s=scheduler) -> None:
            o.zero_grad(set_to_none=True)
            m(x).square().mean().backward()
            o.step()
            if s is not None:
                s.step()

        loops[kind] = one_step
    per_round: dict[str, list[float]] = {k: [] for k in loops}
    for r in range(rounds):
        order = list(loops)
        order = order[r % 3 :] + order[: r % 3]  # rotate who goes first
        for kind in order:
            began = time.perf_counter()
            for _ in range(steps):
                loops[kind]()
            per_round[kind].append((time.perf_counter() - began) / steps * 1e6)
    schedulers[2].close(0.5)
    base = statistics.median(per_round["none"])
    out = []
    for kind in ("torch", "lrhub"):
        pairs = zip(per_round[kind], per_round["none"], strict=True)
        overhead = [(ours / none - 1) * 100 for ours, none in pairs]
        low, high = _median_ci(overhead)
        median = statistics.median(overhead)
        us = statistics.median(per_round[kind]) - base
        out.append(
            row(
                "client",
                f"training loop, ~1 ms MLP step: {kind} scheduler overhead (median)",
                median,
                None,
                unit="% of a step without scheduler",
                goal="<= 1%" if kind == "lrhub" else "peer",
                ok=median <= 1.0 if kind == "lrhub" else None,
                note=f"95% CI {low:+.2f}..{high:+.2f}%; {rounds} interleaved rounds x "
                f"{steps} steps; step without scheduler {base:.0f} µs, {us:+.1f} µs with it",
            )
        )
    return out


def main(quick: bool = False) -> list[dict[str, Any]]:
    """Rows for `python -m bench`."""
    rounds, steps = (3, 20_480) if quick else (5, 65_536)
    rows = []
    with tempfile.TemporaryDirectory(prefix="lrhub-bench-client-") as tmp:
        port, hello_port = free_port(), free_port()
        argv = [sys.executable, "-m", "lrhub_service.cli", "serve", "--host", "127.0.0.1"]
        argv += ["--port", str(port)]
        env = lrhub_env(f"sqlite:///{Path(tmp) / 'bench.db'}")
        hello_argv = [sys.executable, "-m", "bench.hello_app", str(hello_port), "1"]
        with (
            serve(argv, port, env) as server,
            serve(hello_argv, hello_port, env, ready_path="/hello") as hello,
        ):
            for name in ("CosineAnnealingLR", "OneCycleLR", "CyclicLR+momentum"):
                for groups in (1, 10):
                    rows.append(tight_loop(server.url, name, groups, rounds, steps))
            rows += window_rows(server.url, hello.url, 10 if quick else 40)
            rows += training_loop(server.url, 30 if quick else 40, 50 if quick else 100)
    return rows


def _print(rows: list[dict[str, Any]]) -> None:
    print("| case | lrhub | peer | ratio | unit | ok | note |")
    print("|---|---|---|---|---|---|---|")
    for r in rows:
        peer = "-" if r["peer"] is None else f"{r['peer']:.2f}"
        ratio = "-" if r["ratio"] is None else f"{r['ratio']:.2f}"
        ok = {True: "yes", False: "NO", None: "-"}[r["ok"]]
        print(
            f"| {r['metric']} | {r['ours']:.2f} | {peer} | {ratio} | {r['unit']} | {ok} | "
            f"{r['note']} |"
        )


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--quick", action="store_true")
    _print(main(parser.parse_args().quick))
