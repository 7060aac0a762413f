"""The primitives under the compat forms: torch's CPU generator bit for bit, timm's noise,
warm-up targets, phase offsets, GreedyLR's record, and errors that name the field."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from lrhub_service.engine import (
    MetricState,
    Report,
    Segment,
    SpecError,
    build_schedule,
    parse_spec,
    validate_spec,
)
from lrhub_service.engine.beyond.mt19937 import first_words, normal_pairs, rand_scalar
from lrhub_service.engine.cost import noise_cost

SEEDS = [0, 1, 42, 43, 2**31 - 1, 2**32 + 7, 12345678901, -3, *range(100, 140)]


def torch_draws(seed: int, count: int) -> list[float]:
    gen = torch.Generator()
    gen.manual_seed(seed)
    return [torch.randn(1, generator=gen).item() for _ in range(count)]


def test_one_element_rand_equals_torchs_bit_for_bit() -> None:
    want = []
    for seed in SEEDS:
        gen = torch.Generator()
        gen.manual_seed(seed)
        want.append(torch.rand(1, generator=gen).item())
    assert rand_scalar(SEEDS) == want


def test_one_element_randn_pairs_equal_torchs_bit_for_bit() -> None:
    words = first_words(SEEDS, 8)
    first, second = normal_pairs(words[:, :4])
    third, fourth = normal_pairs(words[:, 4:8])
    for i, seed in enumerate(SEEDS):
        assert [first[i], second[i], third[i], fourth[i]] == torch_draws(seed, 4)


def timm_noise(seed: int, pct: float, std: float) -> float:
    """timm's ``_calculate_noise`` (normal), run with torch."""
    gen = torch.Generator()
    gen.manual_seed(seed)
    while True:
        noise = torch.randn(1, generator=gen).item() * std
        if abs(noise) < pct:
            return noise


@pytest.mark.parametrize(("pct", "std"), [(0.67, 1.0), (0.05, 1.0), (0.1, 4.0)])
def test_normal_noise_resamples_exactly_as_timm(pct: float, std: float) -> None:
    spec = parse_spec(
        {"type": "LRNoise", "range_start": 0, "pct": pct, "std": std, "seed": 5,
         "schedule": {"type": "ConstantLR", "factor": 1.0, "total_iters": 0}}
    )  # fmt: skip
    steps = np.arange(0, 300, dtype=np.int64)
    assert spec.noise(steps).tolist() == [timm_noise(5 + k, pct, std) for k in range(300)]


def test_noise_costs_more_as_draws_are_resampled_more_and_tiny_ratios_are_refused() -> None:
    costs = [
        noise_cost(parse_spec({"type": "LRNoise", "range_start": 0, "pct": pct,
                               "schedule": {"type": "StepLR", "step_size": 3}}))[1]
        for pct in (0.67, 0.1, 0.03)
    ]  # fmt: skip
    assert costs == sorted(costs) and costs[-1] > 10 * costs[0]
    with pytest.raises(SpecError) as caught:
        parse_spec({"type": "LRNoise", "range_start": 0, "pct": 0.01,
                    "schedule": {"type": "StepLR", "step_size": 3}})  # fmt: skip
    assert caught.value.errors[0]["loc"] == "pct"


def values(spec: dict, steps: int, bases=(1.0,)) -> list[float]:
    sched = build_schedule([Segment(0, parse_spec(spec))], list(bases))
    return sched.window(0, steps, sched.initial_state())[0][0].tolist()


def test_warmup_targets_the_base_lr_or_the_value_where_it_ends() -> None:
    inner = {"type": "ExponentialLR", "gamma": 0.5}
    base = values({"type": "Warmup", "warmup_steps": 2, "target": "base", "shift": False,
                   "start_lr": 0.0, "schedule": inner}, 4)  # fmt: skip
    end = values({"type": "Warmup", "warmup_steps": 2, "target": "end", "shift": False,
                  "start_lr": 0.0, "schedule": inner}, 4)  # fmt: skip
    assert base == [0.0, 0.5, 0.25, 0.125]
    assert end == [0.0, 0.125, 0.25, 0.125]


def test_offset_starts_a_schedule_part_way_into_its_clock() -> None:
    inner = {"type": "LinearLR", "start_factor": 0.1, "total_iters": 9}
    assert values({"type": "Offset", "steps": 3, "schedule": inner}, 5) == values(inner, 8)[3:]


def test_cycle_anneal_repeats_forever_without_a_cycle_limit_and_holds_the_floor_after_it() -> None:
    forever = values({"type": "CycleAnneal", "T_0": 4, "cycle_limit": None}, 12)
    limited = values({"type": "CycleAnneal", "T_0": 4, "cycle_limit": 2, "eta_min": 0.1}, 12)
    assert forever[0] == forever[4] == forever[8] == 1.0
    assert limited[8:] == [0.1] * 4 and limited[4] == 1.0


def test_greedy_raises_on_improvement_and_records_each_change() -> None:
    spec = {"type": "GreedyLR", "patience": 1, "factor": 0.5, "min_lr": 0.01, "max_lr": 0.4}
    sched = build_schedule([Segment(0, parse_spec(spec))], [0.1])
    state: MetricState = sched.initial_state()
    for step, loss in enumerate([3.0, 2.0, 1.0, 1.0, 1.0, 1.0], start=1):
        state = sched.fold(state, Report(step, {"loss": loss}))
    lrs = sched.window(0, 8, state)[0][0].tolist()
    assert lrs == [0.1, 0.1, 0.2, 0.2, 0.2, 0.1, 0.1, 0.1]


@pytest.mark.parametrize(
    ("spec", "loc"),
    [
        ({"type": "transformers", "name": "cosine", "num_warmup_steps": 3,
          "num_training_steps": 9, "scheduler_specific_kwargs": {"num_cycle": 2}},
         "scheduler_specific_kwargs.num_cycle"),
        ({"type": "transformers", "name": "cosine", "num_warmup_steps": 3},
         "num_training_steps"),
        ({"type": "transformers", "name": "linear", "num_training_steps": 9},
         "num_warmup_steps"),
        ({"type": "transformers", "name": "warmup_stable_decay", "num_warmup_steps": 3,
          "num_training_steps": 9}, "scheduler_specific_kwargs.num_decay_steps"),
        ({"type": "transformers", "name": "greedy",
          "scheduler_specific_kwargs": {"factor": 1.5}}, "scheduler_specific_kwargs.factor"),
        ({"type": "transformers", "name": "linear", "num_warmup_steps": 1,
          "num_training_steps": 9, "library_version": "4.0"}, "library_version"),
        ({"type": "timm", "scheduler": "StepLRScheduler", "decay_t": 3, "t_initial": 5},
         "t_initial"),
        ({"type": "timm", "scheduler": "WSDLRScheduler", "t_initial": 5, "decay_t": 9},
         "decay_t"),
        ({"type": "timm", "scheduler": "MultiStepLRScheduler", "decay_t": [5, 2]}, "decay_t"),
        ({"type": "timm", "scheduler": "CosineLRScheduler"}, "t_initial"),
        ({"type": "timm", "scheduler": "CosineLRScheduler", "t_initial": 5,
          "noise_range_t": [1, 2, 3]}, "noise_range_t"),
    ],
)  # fmt: skip
def test_bad_compat_arguments_are_refused_naming_the_field(spec: dict, loc: str) -> None:
    with pytest.raises(SpecError) as caught:
        validate_spec(spec)
    assert loc in [error["loc"] for error in caught.value.errors], caught.value.errors


def test_polynomial_lr_end_is_checked_against_the_optimizers_lr_when_built() -> None:
    spec = parse_spec({"type": "transformers", "name": "polynomial", "num_warmup_steps": 1,
                       "num_training_steps": 9,
                       "scheduler_specific_kwargs": {"lr_end": 0.5}})  # fmt: skip
    with pytest.raises(SpecError) as caught:
        build_schedule([Segment(0, spec)], [0.1])
    assert caught.value.errors[0]["loc"].endswith("scheduler_specific_kwargs.lr_end")
