"""The training side of a range test: batches, one step, a progress bar, and a snapshot
of the model and optimizer that is restored bit for bit afterwards (torch)."""

from __future__ import annotations

import copy
import math
from collections.abc import Callable, Iterable, Iterator
from typing import Any

LossFn = Callable[[Any, Any], Any]


class TrainingSnapshot:
    """Copies (kept in CPU memory) of everything a range test touches, put back bit for bit."""

    def __init__(self, model: Any, optimizer: Any) -> None:
        import torch

        self.model, self.optimizer = model, optimizer
        self.model_state = _cpu_copy(model.state_dict())
        self.optimizer_state = _cpu_copy(optimizer.state_dict())
        params = {id(p): p for p in model.parameters()}
        for group in optimizer.param_groups:
            params.update((id(p), p) for p in group["params"])
        self.grads = [(p, None if p.grad is None else _cpu_copy(p.grad)) for p in params.values()]
        self.modes = [(module, module.training) for module in model.modules()]
        self.cpu_rng = torch.get_rng_state()
        cuda = torch.cuda.is_available() and torch.cuda.is_initialized()
        self.cuda_rng = torch.cuda.get_rng_state_all() if cuda else None

    def restore(self) -> None:
        """Put the model, optimizer, gradients, train/eval modes and RNG states back."""
        import torch

        self.model.load_state_dict(self.model_state)  # copies into the same tensors
        self.optimizer.load_state_dict(self.optimizer_state)  # moves state to each param
        for param, grad in self.grads:
            param.grad = None if grad is None else grad.to(param.device)
        for module, training in self.modes:
            module.training = training
        torch.set_rng_state(self.cpu_rng)
        if self.cuda_rng is not None:
            torch.cuda.set_rng_state_all(self.cuda_rng)


def _cpu_copy(value: Any) -> Any:
    """A deep copy with every tensor copied to CPU memory (accelerator memory stays free
    for the test); dicts keep their type and ``_metadata`` (state_dict versions)."""
    if hasattr(value, "detach") and hasattr(value, "to"):
        return value.detach().to("cpu", copy=True)
    if isinstance(value, dict):
        out = type(value)((k, _cpu_copy(v)) for k, v in value.items())
        if hasattr(value, "_metadata"):
            out._metadata = copy.deepcopy(value._metadata)  # type: ignore[attr-defined]
        return out
    if isinstance(value, (list, tuple)):
        items = [_cpu_copy(v) for v in value]
        return type(value)(*items) if hasattr(value, "_fields") else type(value)(items)
    return copy.deepcopy(value)


def train_step(model: Any, optimizer: Any, compute: LossFn, batch: Any) -> float:
    """One optimizer step on ``batch``; returns the loss (a NaN/inf loss is not applied)."""
    optimizer.zero_grad(set_to_none=True)
    loss = compute(model, batch)
    value = float(loss.detach())
    if math.isfinite(value):
        loss.backward()
        optimizer.step()
    return value


def criterion_loss(criterion: Any, device: Any) -> LossFn:
    """``criterion(model(inputs), targets)`` for ``(inputs, targets)`` batches on ``device``."""

    def compute(model: Any, batch: Any) -> Any:
        if not isinstance(batch, (tuple, list)) or len(batch) != 2:
            raise TypeError("each batch must be (inputs, targets); pass loss_fn for other shapes")
        inputs, targets = _to_device(batch[0], device), _to_device(batch[1], device)
        return criterion(model(inputs), targets)

    return compute


def _to_device(value: Any, device: Any) -> Any:
    """``value`` with every tensor in it moved to ``device`` (containers keep their type)."""
    if device is None:
        return value
    if hasattr(value, "to"):
        return value.to(device)
    if isinstance(value, (tuple, list)):
        items = [_to_device(v, device) for v in value]
        return type(value)(*items) if hasattr(value, "_fields") else type(value)(items)
    if isinstance(value, dict):
        return {k: _to_device(v, device) for k, v in value.items()}
    return value


def cycle(data: Iterable[Any]) -> Iterator[Any]:
    """Batches of ``data``, starting a new pass when one ends (a plain iterator ends)."""
    while True:
        iterator = iter(data)
        empty = True
        for batch in iterator:
            empty = False
            yield batch
        if empty or iterator is data:
            return


def progress_bar(total: int, enabled: bool) -> Any:
    """A tqdm bar, or None when disabled or tqdm is not installed."""
    if not enabled:
        return None
    try:
        from tqdm.auto import tqdm
    except ImportError:  # tqdm is optional: run without a bar
        return None
    return tqdm(total=total, desc="lr finder", unit="step", leave=False)
