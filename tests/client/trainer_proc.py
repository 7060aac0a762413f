"""A training process for the client tests: attaches to a run and prints its trace.

Run as ``python trainer_proc.py '<json job>'``; prints one JSON line
``{"trace": [[lrs, momentums], ...], "start": k}`` where ``trace[i]`` holds the values in
force after attaching (i = 0) and after each of the following ``steps`` steps.
Job keys: url, name, schedule, groups (initial lr per group), optimizer ("sgd",
"sgd0" = SGD without momentum, "adam"), steps, metrics (one per step, for
``step(metric)``), state_in / state_out (checkpoint paths), exit ("clean" or "crash"),
dist ({"port", "rank", "world_size"}: join a gloo process group, as DDP ranks do).
Under torchrun (rank and world size from its environment, no process group): delays
(seconds each rank sleeps before attaching, by rank), metric_at (by global step: the metric
to report there, or null for a plain step), metric_spread (rank r reports
``metric + (r - (world_size - 1) / 2) * spread``, so the ranks' mean is the metric),
step_sleep_s, and out (a path with ``{rank}``: the result is written there).
"""

from __future__ import annotations

import datetime
import json
import os
import sys
import time
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
    rank, world_size = int(os.environ.get("RANK", 0)), int(os.environ.get("WORLD_SIZE", 1))
    time.sleep((job.get("delays") or {}).get(str(rank), 0.0))
    client = lrhub.Client(job["url"], timeout=10.0)
    run = client.create_run(job["name"], job["schedule"], **job.get("options", {}))
    progress_seen = run.info.progress  # where the run stood when this rank came
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
    metric_at, spread = job.get("metric_at"), job.get("metric_spread", 0.0)
    for i in range(job["steps"]):
        optimizer.step()
        k = scheduler.last_epoch + 1
        if metrics is not None:
            scheduler.step(metrics[i])
        elif metric_at is not None and metric_at[k] is not None:
            scheduler.step(metric_at[k] + (rank - (world_size - 1) / 2) * spread)
        else:
            scheduler.step()
        trace.append(read_values(optimizer))
        time.sleep(job.get("step_sleep_s", 0.0))
    if job.get("state_out"):
        torch.save((optimizer.state_dict(), scheduler.state_dict()), job["state_out"])
    if dist:
        torch.distributed.destroy_process_group()
    if job.get("close"):
        scheduler.close(2.0)  # what the exit hook does (forked workers skip atexit)
    out = {"trace": trace, "start": start, "last_epoch": scheduler.last_epoch}
    out["rank"], out["world_size"] = identity.rank, identity.world_size
    out["progress_seen"], out["launch"] = progress_seen, identity.launch
    if job.get("out"):
        with open(job["out"].format(rank=identity.rank), "w") as file:
            json.dump(out, file)
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
