"""A training process for the client tests: attaches to a run and prints its trace.

Run as ``python trainer_proc.py '<json job>'``; prints one JSON line
``{"trace": [[lrs, momentums], ...], "start": k}`` where ``trace[i]`` holds the values in
force after attaching (i = 0) and after each of the following ``steps`` steps.
Job keys: url, name, schedule, groups (initial lr per group), optimizer ("sgd",
"sgd0" = SGD without momentum, "adam"), steps, metrics (one per step, for
``step(metric)``), state_in / state_out (checkpoint paths), exit ("clean" or "crash"),
dist ({"port", "rank", "world_size"}: join a gloo process group, as DDP ranks do).
"""

from __future__ import annotations

import datetime
import json
import os
import sys
from typing import Any

import torch

import lrhub


def make_optimizer(kind: str, groups: list[float]) -> torch.optim.Optimizer:
    params = [{"params": [torch.nn.Parameter(torch.zeros(1))], "lr": lr} for lr in groups]
    if kind == "adam":
        return torch.optim.Adam(params, lr=groups[0])
    momentum = 0.0 if kind == "sgd0" else 0.9
    return torch.optim.SGD(params, lr=groups[0], momentum=momentum)


def read_values(optimizer: torch.optim.Optimizer) -> list[Any]:
    groups = optimizer.param_groups
    lrs = [float(g["lr"]) for g in groups]
    if "betas" in groups[0]:
        moms = [float(g["betas"][0]) for g in groups]
    else:
        moms = [float(g.get("momentum", 0.0)) for g in groups]
    return [lrs, moms]


def main(job: dict[str, Any]) -> dict[str, Any]:
    dist = job.get("dist")  # {"port", "rank", "world_size"}: ranks of one gloo group
    if dist:
        torch.distributed.init_process_group(
            "gloo",
            init_method=f"tcp://127.0.0.1:{dist['port']}",
            rank=dist["rank"],
            world_size=dist["world_size"],
            timeout=datetime.timedelta(seconds=60),
        )
    client = lrhub.Client(job["url"], timeout=10.0)
    run = client.create_run(job["name"], job["schedule"], **job.get("options", {}))
    optimizer = make_optimizer(job.get("optimizer", "sgd"), job["groups"])
    scheduler = run.attach(optimizer, **job.get("attach", {}))
    if job.get("state_in"):
        optimizer_state, scheduler_state = torch.load(job["state_in"], weights_only=True)
        optimizer.load_state_dict(optimizer_state)
        scheduler.load_state_dict(scheduler_state)
    if dist:  # DDP ranks train in lockstep: nobody starts before every rank attached
        torch.distributed.barrier()
    start = scheduler.last_epoch
    identity = scheduler.identity
    trace = [read_values(optimizer)]
    metrics = job.get("metrics")
    for i in range(job["steps"]):
        optimizer.step()
        if metrics is not None:
            scheduler.step(metrics[i])
        else:
            scheduler.step()
        trace.append(read_values(optimizer))
    if job.get("state_out"):
        torch.save((optimizer.state_dict(), scheduler.state_dict()), job["state_out"])
    if dist:
        torch.distributed.destroy_process_group()
    if job.get("close"):
        scheduler.close(2.0)  # what the exit hook does (forked workers skip atexit)
    out = {"trace": trace, "start": start, "last_epoch": scheduler.last_epoch}
    out["rank"], out["world_size"] = identity.rank, identity.world_size
    return out


def send_result(job: dict[str, Any], conn: Any) -> None:
    """Entry point of a forked worker: its result goes back through ``conn``."""
    conn.send(main(job))
    conn.close()


if __name__ == "__main__":
    result = main(json.loads(sys.argv[1]))
    print(json.dumps(result), flush=True)
    if json.loads(sys.argv[1]).get("exit") == "crash":
        os._exit(0)  # no atexit flush: as if the process was killed
