"""A small generated regression problem (seeded) and state comparisons for the tests."""

from __future__ import annotations

import copy
from typing import Any

import torch

FEATURES = 20
SAMPLES = 4096
BATCH = 256


def regression_batches(
    seed: int = 0, batch: int = BATCH
) -> list[tuple[torch.Tensor, torch.Tensor]]:
    """``y = X w + noise`` in batches of ``batch`` rows."""
    gen = torch.Generator().manual_seed(seed)
    x = torch.randn(SAMPLES, FEATURES, generator=gen)
    w = torch.randn(FEATURES, 1, generator=gen) / FEATURES**0.5
    y = x @ w + 0.05 * torch.randn(SAMPLES, 1, generator=gen)
    return [(x[i : i + batch], y[i : i + batch]) for i in range(0, SAMPLES, batch)]


def small_mlp(seed: int = 0, batch_norm: bool = False) -> torch.nn.Module:
    torch.manual_seed(seed)
    layers: list[torch.nn.Module] = [torch.nn.Linear(FEATURES, 32)]
    if batch_norm:
        layers.append(torch.nn.BatchNorm1d(32))
    layers += [torch.nn.Tanh(), torch.nn.Linear(32, 1)]
    return torch.nn.Sequential(*layers)


def make_optimizer(kind: str, model: torch.nn.Module) -> torch.optim.Optimizer:
    if kind == "sgd":
        return torch.optim.SGD(model.parameters(), lr=0.01, momentum=0.9, nesterov=True)
    if kind == "adam":
        return torch.optim.Adam(model.parameters(), lr=1e-3, weight_decay=1e-4)
    raise ValueError(kind)


def train(model: torch.nn.Module, opt: torch.optim.Optimizer, batches: list[Any], n: int) -> None:
    loss_fn = torch.nn.MSELoss()
    for x, y in batches[:n]:
        opt.zero_grad()
        loss_fn(model(x), y).backward()
        opt.step()


def assert_same_tensors(a: Any, b: Any, where: str = "") -> None:
    """Recursively: every tensor torch.equal (same dtype), every other value ==."""
    if isinstance(a, torch.Tensor):
        assert isinstance(b, torch.Tensor), where
        assert a.dtype == b.dtype and a.shape == b.shape, where
        assert torch.equal(a, b), f"tensor differs at {where}"
    elif isinstance(a, dict):
        assert isinstance(b, dict) and set(a) == set(b), f"keys differ at {where}"
        for key in a:
            assert_same_tensors(a[key], b[key], f"{where}.{key}")
    elif isinstance(a, (list, tuple)):
        assert type(a) is type(b) and len(a) == len(b), where
        for i, (x, y) in enumerate(zip(a, b, strict=True)):
            assert_same_tensors(x, y, f"{where}[{i}]")
    else:
        assert a == b, f"{where}: {a!r} != {b!r}"


def snapshot(model: torch.nn.Module, opt: torch.optim.Optimizer) -> dict[str, Any]:
    """Deep copies of everything find_lr must leave as it was."""
    return copy.deepcopy(
        {
            "model": model.state_dict(),
            "optimizer": opt.state_dict(),
            "grads": [None if p.grad is None else p.grad for p in model.parameters()],
            "modes": [m.training for m in model.modules()],
        }
    )
