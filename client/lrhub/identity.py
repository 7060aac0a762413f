"""Who this worker is: rank, world size, local rank, host, pid and launch."""

from __future__ import annotations

import os
import socket
import sys
from dataclasses import asdict, dataclass


@dataclass(frozen=True)
class WorkerIdentity:
    """Identity sent with every write so the server can tell workers apart."""

    rank: int
    world_size: int
    local_rank: int
    host: str
    pid: int
    launch: str | None = None  # the ranks of one launch share a start step and decisions

    def to_json(self) -> dict[str, int | str]:
        data = asdict(self)
        if data["launch"] is None:
            del data["launch"]  # a single worker: the shape older servers know
        return data


def _env_int(name: str, default: int) -> int:
    raw = os.environ.get(name)
    if raw is None or raw.strip() == "":
        return default
    try:
        return int(raw)
    except ValueError as exc:
        raise ValueError(f"environment variable {name} must be an integer, got {raw!r}") from exc


def launch_from_env(world_size: int) -> str | None:
    """The launch this process belongs to, from torchrun's environment: its run id, the
    rendezvous address and the restart count (None for a single worker)."""
    if world_size <= 1:
        return None
    env = os.environ
    run_id = env.get("TORCHELASTIC_RUN_ID") or "-"
    where = f"{env.get('MASTER_ADDR') or '-'}:{env.get('MASTER_PORT') or '-'}"
    return f"{run_id}@{where}#{env.get('TORCHELASTIC_RESTART_COUNT') or '0'}"


def detect_identity(launch_id: str | None = None) -> WorkerIdentity:
    """Rank and world size from torch.distributed when it is initialised, else from the
    ``RANK``/``WORLD_SIZE``/``LOCAL_RANK`` variables that torchrun sets (else 0/1/0); the
    launch is ``launch_id`` when given, else `launch_from_env`."""
    rank = _env_int("RANK", 0)
    world_size = _env_int("WORLD_SIZE", 1)
    dist = sys.modules.get("torch.distributed")  # never import torch ourselves
    if dist is not None and dist.is_available() and dist.is_initialized():
        rank = dist.get_rank()
        world_size = dist.get_world_size()
    return WorkerIdentity(
        rank=rank,
        world_size=world_size,
        local_rank=_env_int("LOCAL_RANK", 0),
        host=socket.gethostname(),
        pid=os.getpid(),
        launch=launch_id or launch_from_env(world_size),
    )
