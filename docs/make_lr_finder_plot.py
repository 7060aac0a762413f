"""Regenerate docs/img/lr-finder.png: a range test on a small seeded MLP problem.

Starts ``lrhub serve`` on a temporary SQLite file, runs ``lrhub.find_lr`` (CPU, a few
seconds), prints the summary shown in docs/lr-finder.md and writes the plot.

    python docs/make_lr_finder_plot.py [--out docs/img/lr-finder.png]
"""

from __future__ import annotations

import argparse
import os
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import torch

import lrhub
from lrhub.lr_finder import find_lr

HERE = Path(__file__).resolve().parent


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def start_server(workdir: Path) -> tuple[subprocess.Popen[bytes], str]:
    port = free_port()
    env = {**os.environ, "LRHUB_DATABASE_URL": f"sqlite:///{workdir / 'lrhub.db'}"}
    argv = [sys.executable, "-m", "lrhub_service.cli", "serve", "--port", str(port)]
    server = subprocess.Popen(argv, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    client = lrhub.Client(f"http://127.0.0.1:{port}")
    deadline = time.monotonic() + 30
    while not client.healthy():
        if time.monotonic() > deadline or server.poll() is not None:
            server.kill()
            raise RuntimeError("lrhub serve did not start")
        time.sleep(0.2)
    return server, client.url


def example(url: str, out: Path) -> None:
    torch.manual_seed(0)
    x = torch.randn(4096, 20)
    y = x @ (torch.randn(20, 1) / 20**0.5) + 0.05 * torch.randn(4096, 1)
    batches = [(x[i : i + 256], y[i : i + 256]) for i in range(0, 4096, 256)]
    model = torch.nn.Sequential(torch.nn.Linear(20, 32), torch.nn.Tanh(), torch.nn.Linear(32, 1))
    optimizer = torch.optim.SGD(model.parameters(), lr=0.01, momentum=0.9)

    client = lrhub.Client(url)
    result = find_lr(
        model,
        optimizer,
        torch.nn.MSELoss(),
        batches,
        client=client,
        start_lr=1e-5,
        end_lr=10,
        num_steps=100,
        name="mlp-lr-finder",
    )
    print(result.summary())
    run = result.create_run("mlp-onecycle", {"type": "OneCycleLR", "total_steps": 1000}, margin=0.8)
    print(f"max_lr of {run.name}: {run.info.schedule['max_lr']:.3e}")
    print(f"wrote {result.plot(out, title='LR range test: 20-32-1 MLP, SGD(momentum=0.9)')}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=HERE / "img" / "lr-finder.png")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        server, url = start_server(Path(tmp))
        try:
            example(url, args.out)
        finally:
            server.terminate()
            server.wait(timeout=15)


if __name__ == "__main__":
    main()
