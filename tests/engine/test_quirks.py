"""Where torch has a quirk, our chosen behaviour (docs/schedules.md, "Quirks")."""

from __future__ import annotations

import math
import warnings
from typing import Any

import pytest
import torch
from engine_support import as_lists
from torch_reference import make_optimizer, make_scheduler, torch_values

from lrhub_service.engine import Segment, build_schedule, parse_spec


def lrs_of(spec: dict[str, Any], steps: int, base_lrs=(0.1,), base_momentums=None) -> Any:
    sched = build_schedule([Segment(0, parse_spec(spec))], list(base_lrs), base_momentums)
    return sched, as_lists(sched.window(0, steps, sched.initial_state()))


def test_cosine_holds_eta_min_after_t_max_where_torch_rises_again() -> None:
    spec = {"type": "CosineAnnealingLR", "T_max": 10, "eta_min": 0.001}
    _, (lrs, _) = lrs_of(spec, 40)
    torch_lrs, _ = torch_values(spec, [0.1], 40)
    assert lrs[0][10:] == [0.001] * 30
    assert max(torch_lrs[0][11:]) > 0.05  # torch climbs back towards the base lr
    _, (periodic, _) = lrs_of({**spec, "periodic": True}, 40)
    assert periodic[0] == pytest.approx(torch_lrs[0], rel=1e-9)


def test_one_cycle_holds_its_final_value_where_torch_overshoots_then_raises() -> None:
    spec = {"type": "OneCycleLR", "max_lr": 0.5, "total_steps": 20}
    _sched, (lrs, moms) = lrs_of(spec, 30)
    assert lrs[0][19:] == [lrs[0][19]] * 11
    assert lrs[0][19] == pytest.approx(0.5 / 25 / 1e4)
    assert moms is not None and moms[0][19:] == [0.95] * 11
    opt = make_optimizer([0.1])
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        sched_t = make_scheduler(spec, opt)
        for _ in range(20):
            opt.step()
            sched_t.step()
        assert opt.param_groups[0]["lr"] != pytest.approx(lrs[0][19])  # step 20 extrapolates
        with pytest.raises(ValueError, match="Tried to step"):
            sched_t.step()


def test_warm_restarts_use_exact_cycles_where_torchs_float_log_slips() -> None:
    t_0, t_mult = 1, 3
    spec = {"type": "CosineAnnealingWarmRestarts", "T_0": t_0, "T_mult": t_mult}
    sched, _ = lrs_of(spec, 1)
    state = sched.initial_state()
    slips = []
    for epoch in [4, 13, 40, 121, 364, 1093, 3280, 9841]:  # restart points: lr is back at base
        assert sched.values(epoch, state).lrs[0] == 0.1
        opt = make_optimizer([0.1])
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            sched_t = make_scheduler(spec, opt)
            sched_t.step(epoch)  # torch's closed form: int(math.log(...))
        if not math.isclose(opt.param_groups[0]["lr"], 0.1):
            slips.append(epoch)
    assert slips, "torch's float logarithm lands in the previous cycle at some restart"
    stepped, _ = torch_values(spec, [0.1], 130)  # torch's per-step recursion agrees with us
    _, (ours, _) = lrs_of(spec, 130)
    assert ours[0] == pytest.approx(stepped[0], rel=1e-9, abs=1e-15)


def test_cyclic_momentum_is_not_switched_on_for_sgd_without_momentum() -> None:
    spec = {"type": "CyclicLR", "base_lr": 0.01, "max_lr": 0.1, "step_size_up": 4}
    sched, (_, moms) = lrs_of(spec, 10, base_momentums=[0.0])
    assert not sched.has_momentum and moms is None
    _, torch_moms = torch_values(spec, [0.1], 10, momentum=0.0)
    assert torch_moms[0][0] == 0.9  # torch silently turns momentum on
    sched, (_, moms) = lrs_of(spec, 10, [0.1, 0.1], base_momentums=[0.0, 0.9])
    assert sched.has_momentum and moms is not None
    assert moms[0] == [0.0] * 10 and moms[1][0] == 0.9


def test_constant_factor_zero_gives_zero_then_base_where_torch_divides_by_zero() -> None:
    spec = {"type": "ConstantLR", "factor": 0.0, "total_iters": 3}
    _, (lrs, _) = lrs_of(spec, 6)
    assert lrs[0] == [0.0, 0.0, 0.0, 0.1, 0.1, 0.1]
    with pytest.raises(ZeroDivisionError):
        torch_values(spec, [0.1], 6)


@pytest.mark.parametrize(
    ("spec", "ours", "theirs"),
    [
        ({"type": "ConstantLR", "factor": 0.5, "total_iters": 0}, 0.1, 0.05),
        (
            {"type": "LinearLR", "start_factor": 0.5, "end_factor": 0.8, "total_iters": 0},
            0.08,
            0.05,
        ),
    ],
)
def test_total_iters_zero_means_no_ramp(spec: dict[str, Any], ours: float, theirs: float) -> None:
    _, (lrs, _) = lrs_of(spec, 5)
    assert lrs[0] == pytest.approx([ours] * 5)
    torch_lrs, _ = torch_values(spec, [0.1], 5)
    assert torch_lrs[0] == pytest.approx([theirs] * 5)  # torch keeps the start factor forever


def test_a_later_one_cycle_does_not_change_an_earlier_warmups_base() -> None:
    spec = {
        "type": "SequentialLR",
        "schedulers": [
            {"type": "LinearLR", "start_factor": 0.1, "total_iters": 4},
            {"type": "OneCycleLR", "max_lr": 0.3, "total_steps": 20},
        ],
        "milestones": [4],
    }
    _, (lrs, moms) = lrs_of(spec, 24)
    assert lrs[0][:4] == pytest.approx([0.01, 0.0325, 0.055, 0.0775])
    torch_lrs, torch_moms = torch_values(spec, [0.1], 24)
    assert torch_lrs[0][0] == pytest.approx(0.0012)  # torch warms up from max_lr/div_factor
    assert lrs[0][4:] == pytest.approx(torch_lrs[0][4:], rel=1e-9)
    assert moms is not None
    assert moms[0] == pytest.approx(torch_moms[0], rel=1e-9)  # momentum in warm-up: as torch


def test_torch_is_the_pinned_version() -> None:
    assert torch.__version__.startswith("2.13.")


def test_one_cycle_phase_of_zero_length_jumps_to_its_end() -> None:
    spec = {"type": "OneCycleLR", "max_lr": 1.0, "total_steps": 10, "pct_start": 0.1}
    _, (lrs, moms) = lrs_of(spec, 10)
    assert lrs[0][0] == 1.0 and moms is not None and moms[0][0] == 0.85
    assert lrs[0][9] == pytest.approx(1.0 / 25 / 1e4)
    with pytest.raises(ZeroDivisionError):
        torch_values(spec, [0.1], 3)


def test_multiplicative_after_a_milestone_restarts_from_its_base() -> None:
    spec = {
        "type": "SequentialLR",
        "schedulers": [
            {"type": "ConstantLR", "factor": 0.5, "total_iters": 10},
            {"type": "MultiplicativeLR", "lr_lambda": "0.9"},
        ],
        "milestones": [3],
    }
    _, (lrs, _) = lrs_of(spec, 6)
    assert lrs[0] == pytest.approx([0.05, 0.05, 0.05, 0.1, 0.09, 0.081])
    torch_lrs, _ = torch_values(spec, [0.1], 6)
    assert torch_lrs[0][3] == pytest.approx(0.05 * 0.9)  # torch: previous lr times f(0)


def test_a_child_without_momentum_holds_the_last_momentum_as_torch_does() -> None:
    spec = {
        "type": "SequentialLR",
        "schedulers": [
            {"type": "OneCycleLR", "max_lr": 0.5, "total_steps": 30, "max_momentum": 0.97},
            {"type": "StepLR", "step_size": 5},
        ],
        "milestones": [12],  # switch in mid-cycle, where the momentum is not at a bound
    }
    sched, (_, moms) = lrs_of(spec, 25)
    assert sched.has_momentum and moms is not None
    _, torch_moms = torch_values(spec, [0.1], 25)
    assert moms[0] == pytest.approx(torch_moms[0], rel=1e-9)
    assert moms[0][12:] == [moms[0][11]] * 13
