"""`scheduler.step()` of the lrhub client vs torch's own scheduler, side by side.

Starts a real `lrhub serve` (SQLite in a temporary directory), then for each case
(schedule x 1 or 10 groups) steps an lrhub scheduler and the equivalent torch scheduler
in interleaved samples of ``BATCH`` steps each, window fetches included, and reports
the median time per step of both and their ratio (goal: at most 1.0).

    python -m bench.client [--quick]
"""

from __future__ import annotations

import argparse
import statistics
import tempfile
import time
import warnings
from pathlib import Path
from typing import Any

from bench._util import free_port, lrhub_command, lrhub_env, row, serve

BATCH = 32


def cases(steps: int) -> list[tuple[str, dict[str, Any], float]]:
    """(name, spec, momentum of the SGD optimizer) for every schedule measured."""
    return [
        ("CosineAnnealingLR", {"type": "CosineAnnealingLR", "T_max": steps}, 0.0),
        ("OneCycleLR", {"type": "OneCycleLR", "max_lr": 0.1, "total_steps": steps + 8}, 0.9),
        (
            "CyclicLR+momentum",
            {"type": "CyclicLR", "base_lr": 0.001, "max_lr": 0.1, "step_size_up": 500},
            0.9,
        ),
    ]


def _optimizer(groups: int, momentum: float) -> Any:
    import torch

    params = [{"params": [torch.nn.Parameter(torch.zeros(1))]} for _ in range(groups)]
    return torch.optim.SGD(params, lr=0.05, momentum=momentum)


def _torch_scheduler(spec: dict[str, Any], optimizer: Any) -> Any:
    import torch

    kwargs = {k: v for k, v in spec.items() if k != "type"}
    return getattr(torch.optim.lr_scheduler, spec["type"])(optimizer, **kwargs)


def _time_batch(step: Any) -> float:
    began = time.perf_counter_ns()
    for _ in range(BATCH):
        step()
    return (time.perf_counter_ns() - began) / BATCH / 1000.0


def measure(
    url: str, name: str, spec: dict[str, Any], momentum: float, groups: int, steps: int
) -> dict[str, Any]:
    """One table row: median µs per step of lrhub's and torch's scheduler."""
    import lrhub

    client = lrhub.Client(url)
    run = client.create_run(f"bench-{name}-{groups}-{time.time_ns()}", spec)
    ours = run.attach(_optimizer(groups, momentum))
    theirs = _torch_scheduler(spec, _optimizer(groups, momentum))
    ours_us: list[float] = []
    torch_us: list[float] = []
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # torch warns that optimizer.step() was not called
        for _ in range(steps // BATCH):
            torch_us.append(_time_batch(theirs.step))
            ours_us.append(_time_batch(ours.step))
    same = abs(ours.get_last_lr()[0] - theirs.get_last_lr()[0]) <= 1e-9 * abs(
        theirs.get_last_lr()[0]
    )
    ours.close(0.5)
    client.close()
    ours_median, torch_median = statistics.median(ours_us), statistics.median(torch_us)
    return row(
        "client",
        f"step() {name}, {groups} group{'s' if groups > 1 else ''}",
        ours_median,
        torch_median,
        unit="µs/step",
        goal="ratio <= 1.0",
        ok=ours_median <= torch_median and same,
        note=f"median of {len(ours_us)} x {BATCH} steps; mean {statistics.mean(ours_us):.2f} vs "
        f"{statistics.mean(torch_us):.2f}; final lr {'equal' if same else 'DIFFERS'}",
    )


def main(quick: bool = False) -> list[dict[str, Any]]:
    """Rows for `python -m bench`: one per schedule and group count."""
    steps = 4096 if quick else 32768
    rows = []
    with tempfile.TemporaryDirectory(prefix="lrhub-bench-client-") as tmp:
        database_url = f"sqlite:///{Path(tmp) / 'bench.db'}"
        port = free_port()
        argv = lrhub_command("serve", "--host", "127.0.0.1", "--port", str(port))
        with serve(argv, port, lrhub_env(database_url)) as server:
            for name, spec, momentum in cases(steps):
                for groups in (1, 10):
                    rows.append(measure(server.url, name, spec, momentum, groups, steps))
    return rows


def _print(rows: list[dict[str, Any]]) -> None:
    print("| case | lrhub µs/step | torch µs/step | ratio | ok |")
    print("|---|---|---|---|---|")
    for r in rows:
        print(
            f"| {r['metric']} | {r['ours']:.2f} | {r['peer']:.2f} | {r['ratio']:.2f} | "
            f"{'yes' if r['ok'] else 'NO'} |"
        )


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--quick", action="store_true")
    _print(main(parser.parse_args().quick))
