"""``lrhub.spec_from``: the spec of a torch, transformers or timm scheduler object, its
values computed by a real server equal the object's own, from the start or from the step
a stepped object has reached."""

from __future__ import annotations

import warnings
from collections.abc import Callable
from typing import Any

import numpy as np
import pytest
import torch
from support.compat_live import LIVE_MISSING, libraries_installed, optimizer, timm_scheduler_module
from torch.optim import lr_scheduler as sched

import lrhub

STEPS = 40
Make = Callable[[torch.optim.Optimizer], Any]
TORCH: list[tuple[str, Make]] = [
    ("StepLR", lambda o: sched.StepLR(o, 7, gamma=0.5)),
    ("MultiStepLR", lambda o: sched.MultiStepLR(o, [3, 9, 9, 20], gamma=0.7)),
    ("ConstantLR", lambda o: sched.ConstantLR(o, factor=0.25, total_iters=6)),
    ("LinearLR", lambda o: sched.LinearLR(o, start_factor=0.1, end_factor=0.9, total_iters=12)),
    ("ExponentialLR", lambda o: sched.ExponentialLR(o, 0.93)),
    ("PolynomialLR", lambda o: sched.PolynomialLR(o, total_iters=30, power=2.0)),
    ("CosineAnnealingLR", lambda o: sched.CosineAnnealingLR(o, 25, eta_min=1e-4)),
    ("CosineAnnealingWarmRestarts", lambda o: sched.CosineAnnealingWarmRestarts(o, 5, 2)),
    ("CyclicLR", lambda o: sched.CyclicLR(o, 0.001, 0.05, step_size_up=4, step_size_down=6,
                                           mode="triangular2", cycle_momentum=False)),
    ("OneCycleLR", lambda o: sched.OneCycleLR(o, [0.4, 0.2], total_steps=STEPS + 20,
                                               pct_start=0.25, div_factor=10,
                                               final_div_factor=100, cycle_momentum=False)),
    ("SequentialLR", lambda o: sched.SequentialLR(
        o, [sched.LinearLR(o, 0.2, total_iters=5), sched.CosineAnnealingLR(o, 30)], [5])),
    ("ChainedScheduler", lambda o: sched.ChainedScheduler(
        [sched.ConstantLR(o, 0.5, total_iters=4), sched.ExponentialLR(o, 0.95)])),
]  # fmt: skip


def trace(obj: Any, opt: torch.optim.Optimizer, steps: int, first: int = 0) -> list[list[float]]:
    """The optimizer's lrs (per group) at ``first .. first + steps - 1``, stepping ``obj``."""
    rows = [[g["lr"] for g in opt.param_groups]]
    for _ in range(steps - 1):
        opt.step()
        obj.step()
        rows.append([g["lr"] for g in opt.param_groups])
    return [list(column) for column in zip(*rows, strict=True)]


def server_values(
    url: str, spec: dict[str, Any], first: int, steps: int, groups: int = 2
) -> list[list[float]]:
    """The server's values of ``spec`` (its own base lrs; ``groups`` optimizer groups)."""
    window = lrhub.Client(url).preview(dict(spec), first + steps, base_lrs=[1.0] * groups)
    return [row[first:] for row in window.lrs]


def assert_close(got: list[list[float]], want: list[list[float]], rel: float) -> None:
    np.testing.assert_allclose(np.asarray(got), np.asarray(want), rtol=rel, atol=rel * 0.1)


@pytest.mark.parametrize(("name", "make"), TORCH, ids=[t[0] for t in TORCH])
@pytest.mark.parametrize("stepped", [0, 11])
def test_a_torch_scheduler_round_trips(server, name: str, make: Make, stepped: int) -> None:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        opt = optimizer([0.05, 0.02])
        obj = make(opt)
        for _ in range(stepped):
            opt.step()
            obj.step()
        spec = lrhub.spec_from(obj)
        assert spec["type"] == name and spec.resume_step == stepped
        want = trace(obj, opt, STEPS)
    assert_close(server_values(server.url, spec, stepped, STEPS), want, 1e-9)


def test_a_lambda_lr_needs_an_expression_unless_it_is_a_transformers_schedule() -> None:
    opt = optimizer([0.1])
    plain = sched.LambdaLR(opt, lambda epoch: 0.9**epoch)
    with pytest.raises(ValueError, match="expression"):
        lrhub.spec_from(plain)
    assert lrhub.spec_from(plain, expression="0.9 ** epoch")["lr_lambda"] == "0.9 ** epoch"


hf = pytest.mark.skipif(not libraries_installed(), reason=LIVE_MISSING)


@hf
@pytest.mark.parametrize(
    "make",
    [
        lambda o, t: t.get_linear_schedule_with_warmup(o, 5, 30),
        lambda o, t: t.get_cosine_schedule_with_warmup(o, 5, 30, num_cycles=0.8),
        lambda o, t: t.get_cosine_with_hard_restarts_schedule_with_warmup(o, 4, 30, 3),
        lambda o, t: t.get_polynomial_decay_schedule_with_warmup(o, 3, 30, lr_end=1e-3, power=2),
        lambda o, t: t.get_inverse_sqrt_schedule(o, 6),
        lambda o, t: t.get_constant_schedule_with_warmup(o, 4),
        lambda o, t: t.get_constant_schedule(o),
        lambda o, t: t.get_cosine_with_min_lr_schedule_with_warmup(o, 3, 30, min_lr_rate=0.1),
        lambda o, t: t.get_cosine_with_min_lr_schedule_with_warmup_lr_rate(
            o, 3, 30, min_lr_rate=0.1, warmup_lr_rate=0.2),
        lambda o, t: t.get_wsd_schedule(o, 4, 10, num_stable_steps=12, decay_type="1-sqrt"),
    ],
)  # fmt: skip
def test_a_lambda_lr_of_a_transformers_schedule_round_trips(server, make: Any) -> None:
    import transformers.optimization as optimization

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        opt = optimizer([0.05, 0.02])
        obj = make(opt, optimization)
        for _ in range(3):
            opt.step()
            obj.step()
        spec = lrhub.spec_from(obj)
        assert spec["type"] == "transformers" and spec.resume_step == 3
        want = trace(obj, opt, STEPS)
    assert_close(server_values(server.url, spec, 3, STEPS), want, 1e-12)


@hf
def test_training_arguments_give_the_trainers_schedule(server, tmp_path) -> None:
    from transformers import TrainingArguments, get_scheduler

    args = TrainingArguments(
        output_dir=str(tmp_path), lr_scheduler_type="cosine_with_min_lr", warmup_steps=0.1,
        num_train_epochs=3, lr_scheduler_kwargs={"min_lr_rate": 0.05}, report_to=[],
    )  # fmt: skip
    spec = lrhub.spec_from(args, steps_per_epoch=10)
    assert (spec["num_warmup_steps"], spec["num_training_steps"]) == (3, 30)
    opt = optimizer([0.05])
    obj = get_scheduler("cosine_with_min_lr", opt, 3, 30, {"min_lr_rate": 0.05})
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        want = trace(obj, opt, STEPS)
    got = lrhub.Client(server.url).preview(dict(spec), STEPS, base_lrs=[0.05]).lrs
    assert_close(got, want, 1e-12)


@hf
@pytest.mark.parametrize(
    ("cls", "kwargs"),
    [
        ("CosineLRScheduler", {"t_initial": 10, "cycle_mul": 1.5, "cycle_limit": 3,
                               "warmup_t": 2, "warmup_lr_init": 1e-4, "k_decay": 1.2}),
        ("TanhLRScheduler", {"t_initial": 12, "warmup_t": 3, "lr_min": 1e-4}),
        ("StepLRScheduler", {"decay_t": 4, "decay_rate": 0.5, "noise_range_t": 5}),
        ("MultiStepLRScheduler", {"decay_t": [3, 8], "decay_rate": 0.3, "warmup_t": 2}),
        ("PolyLRScheduler", {"t_initial": 20, "power": 2.0, "lr_min": 1e-4}),
        ("WSDLRScheduler", {"t_initial": 30, "decay_t": 10, "decay_fn": "cosine"}),
        ("PlateauLRScheduler", {"patience_t": 3, "decay_rate": 0.5, "mode": "min"}),
    ],
)  # fmt: skip
def test_a_timm_scheduler_round_trips(server, cls: str, kwargs: dict[str, Any]) -> None:
    module = timm_scheduler_module()
    opt = optimizer([0.05, 0.02])
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        obj = getattr(module, cls)(opt, **kwargs)
    spec = lrhub.spec_from(obj)
    assert spec["type"] == "timm" and spec["scheduler"] == cls and spec.resume_step is None
    rows = [[g["lr"] for g in opt.param_groups]]
    for t in range(1, STEPS):
        obj.step(t)
        rows.append([g["lr"] for g in opt.param_groups])
    want = [list(c) for c in zip(*rows, strict=True)]
    assert_close(server_values(server.url, spec, 0, STEPS), want, 1e-12)


def test_a_stepped_scheduler_migrates_mid_training_with_resume(server, run_name) -> None:
    """The one-line migration: spec_from, create the run, resume where the object was,
    attach the same optimizer; training goes on with the object's own values."""
    opt = optimizer([0.05, 0.02])
    reference_opt = optimizer([0.05, 0.02])
    make = TORCH[9][1]  # OneCycleLR, two groups
    obj, reference = make(opt), make(reference_opt)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        for _ in range(13):
            for o, s in ((opt, obj), (reference_opt, reference)):
                o.step()
                s.step()
    spec = lrhub.spec_from(obj)
    run = lrhub.Client(server.url).create_run(run_name, spec).resume(spec.resume_step)
    scheduler = run.attach(opt)
    got, want = [], []
    for _ in range(20):
        got.append([g["lr"] for g in opt.param_groups])
        want.append([g["lr"] for g in reference_opt.param_groups])
        opt.step()
        scheduler.step()
        reference_opt.step()
        reference.step()
    scheduler.close(1.0)
    assert_close(got, want, 1e-9)


@hf
def test_a_transformers_greedy_object_round_trips(server) -> None:
    from transformers.optimization import GreedyLR

    opt = optimizer([0.05])
    obj = GreedyLR(opt, patience=1, factor=0.5, min_lr=1e-3, max_lr=0.2, smooth=True,
                   window_size=3)  # fmt: skip
    spec = lrhub.spec_from(obj)
    assert spec["type"] == "transformers" and spec["name"] == "greedy"
    run = lrhub.Client(server.url).create_run(f"greedy-{id(obj)}", spec)
    scheduler = run.attach(optimizer([0.05]))
    losses = [1.0, 0.8, 0.6, 0.6, 0.6, 0.6, 0.5, 0.4, 0.3]
    for loss in losses:
        obj.step(loss)
        scheduler.step(loss)
        assert scheduler.get_last_lr()[0] == pytest.approx(opt.param_groups[0]["lr"], rel=1e-12)
    scheduler.close(1.0)
