"""The scheduler's checkpoint: what ``state_dict()`` holds (plain values only, the keys every
lrhub client has written), how ``load_state_dict()`` reads it, and the warning of a restart
that had no checkpoint to resume from."""

from __future__ import annotations

import warnings
from collections.abc import Mapping, Sequence
from typing import Any

from lrhub.run_calls import RunCalls


def checkpoint_state(
    run: RunCalls, last_epoch: int, step_count: int, base_lrs: Sequence[Any], last_lrs: list[float]
) -> dict[str, Any]:
    """The state: loads with ``torch.load(weights_only=True)``."""
    return {
        "lrhub_run_id": run.id,
        "lrhub_run_name": run.name,
        "last_epoch": int(last_epoch),
        "_step_count": int(step_count),
        "base_lrs": [float(v) for v in base_lrs],
        "_last_lr": last_lrs,
    }


def checkpoint_position(state: Any, run_name: str) -> tuple[int, int]:
    """``(last_epoch, _step_count)`` of a checkpoint; warns when it names another run."""
    if not isinstance(state, Mapping) or "last_epoch" not in state:
        raise ValueError("state_dict must be a scheduler state with a 'last_epoch' entry")
    step = int(state["last_epoch"])
    name = state.get("lrhub_run_name")
    if name is not None and name != run_name:
        warnings.warn(
            f"lrhub: checkpoint was written for run {name!r}; resuming run "
            f"{run_name!r} at its step {step}",
            UserWarning,
            stacklevel=3,
        )
    return step, int(state.get("_step_count", step + 1))


def resume_notice(run_name: str, start: int, clean_exit: bool | None) -> str | None:
    """The ``ResumeWarning`` of an attach that continues after a crash (None otherwise)."""
    if start <= 0 or clean_exit is not False:
        return None
    return (
        f"lrhub: run {run_name!r} stopped without a clean exit; continuing at step "
        f"{start}, its last periodic progress report, so a few steps may repeat. Load a "
        "checkpoint with scheduler.load_state_dict() before the first step to resume at "
        "its exact step, or create_run(..., restart=True) to start over."
    )
