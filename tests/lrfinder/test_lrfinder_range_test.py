"""find_lr end to end against a live server: the ramp, the stop, suggestions, restore."""

from __future__ import annotations

import math
from pathlib import Path
from typing import Any

import pytest
import torch
from lrfinder_support import (
    assert_same_tensors,
    make_optimizer,
    regression_batches,
    small_mlp,
    snapshot,
    train,
)

import lrhub
from lrhub.lr_finder import LRFinderResult, find_lr
from lrhub_service.engine.beyond import range_test_suggestions, smooth_losses

pytestmark = pytest.mark.timeout(180)

START, END, STEPS = 1e-5, 10.0, 100


def run_finder(hub: lrhub.Client, optimizer: str = "sgd", **kwargs: Any) -> LRFinderResult:
    model = small_mlp(0)
    opt = make_optimizer(optimizer, model)
    options = {"start_lr": START, "end_lr": END, "num_steps": STEPS, "progress": False}
    return find_lr(
        model, opt, torch.nn.MSELoss(), regression_batches(0), client=hub, **{**options, **kwargs}
    )


def test_suggestion_lies_on_the_descent_below_divergence(hub: lrhub.Client) -> None:
    result = run_finder(hub)
    # the divergence stop fired: fewer losses than steps, the last one tripped it
    assert result.stop_reason == "diverged"
    assert len(result.losses) == result.stop_step < STEPS
    smoothed = [s for s in result.smoothed if s is not None]
    assert smoothed[-1] > 4.0 * min(smoothed[:-1])
    assert all(s <= 4.0 * min(smoothed[: i + 1]) for i, s in enumerate(smoothed[:-1]))
    assert result.diverged_lr == result.lrs[-1] < END
    # every method's lr lies below the divergence
    suggested = result.suggested_lr
    assert suggested is not None and suggested == result.suggestions["steepest"]
    assert all(lr is not None and lr < result.diverged_lr for lr in result.suggestions.values())
    # at the suggested lr the loss is still falling: smoothed and raw further down
    i = result.lrs.index(suggested)
    assert smoothed[i + 1] < smoothed[i] and min(smoothed[i:]) < smoothed[i] - 0.05
    ahead = result.losses[i + 1 : i + 11]
    assert sum(ahead) / len(ahead) < smoothed[i]
    assert suggested < result.suggestions["minimum"]
    assert math.isclose(result.suggestions["min_div10"], result.suggestions["minimum"] / 10)


def test_lrs_come_from_the_server_ramp_and_suggestions_read_back(hub: lrhub.Client) -> None:
    result = run_finder(hub, name="finder-read-back")
    n = len(result.lrs)
    assert result.steps == list(range(1, n + 1))
    for k, lr in enumerate(result.lrs):  # value[k] of the exponential ramp
        assert math.isclose(lr, START * (END / START) ** (k / (STEPS - 1)), rel_tol=1e-12)
    again = LRFinderResult.fetch(hub, "finder-read-back")
    assert again == result and again.suggestions == result.suggestions
    assert again.smoothed == pytest.approx(smooth_losses(result.losses, 0.98), rel=1e-12)
    local = range_test_suggestions(result.lrs, result.losses, beta=0.98)
    assert local == result.suggestions
    run = hub.get_run(result.run_id)
    assert run.info.status == "stopped" and run.info.schedule["type"] == "LRRangeTest"
    assert [e.kind for e in run.events()][-1] == "stopped"
    # the same name runs the test again from step 0 (the old reports stop counting)
    rerun = run_finder(hub, name="finder-read-back", optimizer="adam")
    assert rerun.run_id == result.run_id and rerun.steps[0] == 1
    assert rerun.losses != result.losses[: len(rerun.losses)]


@pytest.mark.parametrize("kind", ["sgd", "adam"])
def test_model_and_optimizer_are_restored_bit_for_bit(hub: lrhub.Client, kind: str) -> None:
    batches = regression_batches(1)
    model, twin = small_mlp(1, batch_norm=True), small_mlp(1, batch_norm=True)
    opt, twin_opt = make_optimizer(kind, model), make_optimizer(kind, twin)
    train(model, opt, batches, 3)  # momentum buffers / Adam moments exist
    train(twin, twin_opt, batches, 3)
    model.eval()  # a mode the finder must switch and switch back
    model[0].weight.grad = torch.full_like(model[0].weight, 0.25)
    before = snapshot(model, opt)
    rng = torch.get_rng_state()
    result = find_lr(
        model,
        opt,
        torch.nn.MSELoss(),
        batches,
        client=hub,
        start_lr=1e-4,
        end_lr=1.0,
        num_steps=30,
        progress=False,
    )
    assert len(result.losses) >= 20  # it really trained
    after = snapshot(model, opt)
    assert_same_tensors(after, before)
    assert torch.equal(torch.get_rng_state(), rng)
    # the restored pair trains exactly like a twin that never ran the finder
    model.train()
    model[0].weight.grad = None
    train(model, opt, batches[5:], 2)
    train(twin, twin_opt, batches[5:], 2)
    assert_same_tensors(model.state_dict(), twin.state_dict())
    assert_same_tensors(opt.state_dict()["state"], twin_opt.state_dict()["state"])


def test_nan_loss_stops_the_test_and_a_crash_keeps_the_curve(hub: lrhub.Client) -> None:
    model = small_mlp(2)
    opt = make_optimizer("sgd", model)
    before = snapshot(model, opt)
    mse = torch.nn.MSELoss()
    calls = {"n": 0}

    def nan_after_25(m: torch.nn.Module, batch: Any) -> torch.Tensor:
        calls["n"] += 1
        loss = mse(m(batch[0]), batch[1])
        return loss * float("nan") if calls["n"] > 25 else loss

    result = find_lr(
        model,
        opt,
        None,
        regression_batches(2),
        client=hub,
        loss_fn=nan_after_25,
        start_lr=1e-5,
        end_lr=1e-2,
        num_steps=60,
        progress=False,
    )
    assert calls["n"] == 26 and result.stop_step == 26 and result.stop_reason == "diverged"
    assert math.isnan(result.losses[-1]) and result.smoothed[-1] is None
    assert result.smoothed[-2] is not None
    assert_same_tensors(snapshot(model, opt), before)

    def crash_at_30(m: torch.nn.Module, batch: Any) -> torch.Tensor:
        if calls["n"] == 30:
            raise RuntimeError("worker lost")
        calls["n"] += 1
        return mse(m(batch[0]), batch[1])

    calls["n"] = 0
    with pytest.raises(RuntimeError, match="worker lost"):
        find_lr(
            model,
            opt,
            None,
            regression_batches(2),
            client=hub,
            loss_fn=crash_at_30,
            name="finder-crash",
            start_lr=1e-5,
            end_lr=1.0,
            num_steps=80,
            progress=False,
        )
    assert_same_tensors(snapshot(model, opt), before)
    kept = LRFinderResult.fetch(hub, "finder-crash")  # stored on the server
    assert kept.steps == list(range(1, 31)) and kept.stop_reason is None
    assert kept.suggestions["minimum"] is not None


def test_plot_marks_every_suggestion(hub: lrhub.Client, tmp_path: Path) -> None:
    result = run_finder(hub)
    png = result.plot(tmp_path / "curve.png")
    assert png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    import matplotlib.image

    pixels = matplotlib.image.imread(str(png))
    assert pixels.shape[0] > 300 and pixels.shape[1] > 500
    svg = result.plot(tmp_path / "sub" / "curve.svg", title="my finder").read_text()
    assert svg.startswith("<?xml") and "</svg>" in svg
    for text in (
        "learning rate (log scale)",
        "loss",
        "my finder",
        "raw loss",
        "smoothed loss",
        "steepest descent",
        "valley",
        "minimum / 10",
        "stopped (diverged)",
    ):
        assert text in svg, text
    assert f"{result.suggested_lr:.2e}" in svg
    with pytest.raises(ValueError, match=r"\.png or \.svg"):
        result.plot(tmp_path / "curve.jpg")
