"""The lr-finder REST read, the training run made from a result, the CLI and bad input."""

from __future__ import annotations

import builtins
import math
import sys
from pathlib import Path
from typing import Any

import pytest
import torch
from lrfinder_support import make_optimizer, regression_batches, small_mlp

import lrhub
from lrhub.cli import main as lrhub_main
from lrhub.lr_finder import LRFinderResult, find_lr

pytestmark = pytest.mark.timeout(180)

SPEC = {
    "type": "LRRangeTest",
    "start_lr": 1e-3,
    "end_lr": 1.0,
    "num_steps": 30,
    "smoothing": 0.5,
    "diverge_factor": 2.0,
    "metric": "train_loss",
}


def test_rest_read_uses_the_spec_and_stops_on_divergence(api: Any) -> None:
    rid = api.post("/v1/runs", json={"name": "rt", "schedule": SPEC}).json()["id"]
    api.post(f"/v1/runs/{rid}/attach", json={"base_lrs": [0.1, 0.1]})
    answers = []
    for step in range(1, 13):  # falls to 0.1, then explodes
        loss = 1.0 / step if step <= 10 else 10.0 * step
        body = {"step": step, "metrics": {"train_loss": loss, "acc": 0.5}}
        answers.append(api.post(f"/v1/runs/{rid}/reports", json=body).json())
    assert [a["stop"] for a in answers].index(True) == 10  # the report at step 11
    finder = api.get(f"/v1/runs/{rid}/lr-finder").json()
    assert finder["metric"] == "train_loss" and finder["smoothing"] == 0.5
    assert finder["range_test"] is True and finder["diverge_factor"] == 2.0
    assert finder["stop_step"] == 11 and finder["stop_reason"] == "diverged"
    assert finder["steps"] == list(range(1, 13)) and len(finder["smoothed"]) == 12
    assert finder["stop_lr"] == finder["lrs"][10]
    assert finder["lrs"][0] == pytest.approx(1e-3) and finder["lrs"][1] > finder["lrs"][0]
    assert finder["suggested_lr"] == finder["suggestions"]["steepest"]
    assert set(finder["suggestions"]) == {"steepest", "valley", "min_div10", "minimum"}
    assert (
        finder["suggestions"]["minimum"] < finder["stop_lr"]
    )  # the report after the stop is left out
    other = api.get(f"/v1/runs/{rid}/lr-finder", params={"metric": "acc", "group": 1}).json()
    assert other["losses"] == [0.5] * 12 and other["metric"] == "acc"
    bad = api.get(f"/v1/runs/{rid}/lr-finder", params={"group": 2})
    assert bad.status_code == 422 and bad.json()["errors"][0]["loc"] == "group"
    bad = api.get(f"/v1/runs/{rid}/lr-finder", params={"smoothing": 1.5})
    assert bad.status_code == 422 and "smoothing" in bad.json()["detail"]
    assert api.get("/v1/runs/987654/lr-finder").status_code == 404


def test_rest_read_of_a_linear_ramp_from_zero(api: Any) -> None:
    spec = {
        "type": "LRRangeTest",
        "start_lr": 0.0,
        "end_lr": 1.0,
        "num_steps": 11,
        "mode": "linear",
    }
    rid = api.post("/v1/runs", json={"name": "zero", "schedule": spec}).json()["id"]
    for step in range(1, 12):
        api.post(f"/v1/runs/{rid}/reports", json={"step": step, "metrics": {"loss": 5.0 - step}})
    finder = api.get(f"/v1/runs/{rid}/lr-finder")
    assert finder.status_code == 200, finder.text
    body = finder.json()
    assert body["lrs"][:3] == pytest.approx([0.0, 0.1, 0.2]) and body["stop_reason"] == "completed"
    assert body["suggestions"]["minimum"] == pytest.approx(1.0)  # lr 0 has no log: left out


def test_training_run_takes_a_margin_under_the_suggestion(hub: lrhub.Client) -> None:
    model = small_mlp(3)
    result = find_lr(
        model,
        make_optimizer("sgd", model),
        torch.nn.MSELoss(),
        regression_batches(3),
        client=hub,
        start_lr=1e-5,
        end_lr=10.0,
        num_steps=80,
        progress=False,
    )
    steepest = result.suggested_lr
    assert steepest is not None
    run = result.create_run("train-7", {"type": "OneCycleLR", "total_steps": 1000}, margin=0.5)
    assert run.info.schedule["max_lr"] == pytest.approx(0.5 * steepest, rel=1e-12)
    assert run.lr_at(0).lr == pytest.approx(0.5 * steepest / 25)  # max_lr / div_factor
    cosine = result.create_run(
        "train-8", {"type": "CosineAnnealingLR", "T_max": 100}, method="valley", margin=1.0
    )
    assert cosine.info.schedule["base_lr"] == result.suggestions["valley"]
    nested = result.schedule_with_lr(
        {
            "type": "Warmup",
            "warmup_steps": 10,
            "schedule": {"type": "OneCycleLR", "total_steps": 100},
        },
        lr_field="schedule.max_lr",
    )
    assert nested["schedule"]["max_lr"] == pytest.approx(0.8 * steepest)  # the default margin
    with pytest.raises(ValueError, match="margin must be in"):
        result.safe_lr(margin=1.5)
    with pytest.raises(ValueError, match="already set"):
        result.schedule_with_lr({"type": "OneCycleLR", "max_lr": 0.1, "total_steps": 10})
    with pytest.raises(ValueError, match="method must be one of"):
        result.safe_lr("median")
    with pytest.raises(ValueError, match="no spec at 'inner'"):
        result.schedule_with_lr({"type": "StepLR", "step_size": 3}, lr_field="inner.max_lr")


def _cli(argv: list[str]) -> int:
    """The ``lrhub`` command line, in this process."""
    return lrhub_main(argv)


def test_cli_shows_suggestions_and_writes_the_plot(
    hub: lrhub.Client, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    model = small_mlp(4)
    result = find_lr(
        model,
        make_optimizer("adam", model),
        torch.nn.MSELoss(),
        regression_batches(4),
        client=hub,
        name="cli-finder",
        start_lr=1e-5,
        end_lr=10.0,
        num_steps=60,
        progress=False,
    )
    out = tmp_path / "finder.png"
    assert _cli(["lr-finder", "show", "cli-finder", "--url", hub.url, "--plot", str(out)]) == 0
    text = capsys.readouterr().out
    assert f"run {result.run_id}" in text and f"{result.suggested_lr:.3e}" in text
    assert all(method in text for method in result.suggestions)
    assert any(block in text for block in "▁▂▃▄▅▆▇█")
    assert out.read_bytes()[:4] == b"\x89PNG"
    assert _cli(["lr-finder", "show", str(result.run_id), "--url", hub.url, "--json"]) == 0
    assert f'"run_id": {result.run_id}' in capsys.readouterr().out
    assert _cli(["lr-finder", "show", "no-such-run", "--url", hub.url]) == 1
    assert "no-such-run" in capsys.readouterr().err
    assert _cli(["lr-finder", "show", "cli-finder", "--url", hub.url, "--plot", "x.gif"]) == 2


def test_bad_arguments_name_the_field(hub: lrhub.Client, monkeypatch: pytest.MonkeyPatch) -> None:
    model = small_mlp(5)
    opt = make_optimizer("sgd", model)
    data = regression_batches(5)
    mse = torch.nn.MSELoss()
    with pytest.raises(ValueError, match="mode"):
        find_lr(model, opt, mse, data, client=hub, mode="cubic")
    with pytest.raises(ValueError, match="num_steps"):
        find_lr(model, opt, mse, data, client=hub, num_steps=1)
    with pytest.raises(lrhub.BadRequestError, match="end_lr"):
        find_lr(model, opt, mse, data, client=hub, start_lr=1.0, end_lr=0.1)
    with pytest.raises(lrhub.BadRequestError, match="diverge_factor"):
        find_lr(model, opt, mse, data, client=hub, diverge_factor=0.5)
    with pytest.raises(ValueError, match="no batches"):
        find_lr(model, opt, mse, [], client=hub)
    # a plain iterator that runs out ends the test early, and no tqdm is fine
    monkeypatch.setitem(sys.modules, "tqdm", None)
    monkeypatch.setitem(sys.modules, "tqdm.auto", None)
    with pytest.warns(UserWarning, match="data ran out after 5 batches"):
        short = find_lr(
            model,
            opt,
            mse,
            iter(data[:5]),
            client=hub,
            mode="linear",
            start_lr=0.01,
            end_lr=0.1,
            num_steps=20,
            progress=True,
        )
    assert short.steps == [1, 2, 3, 4, 5]
    assert short.lrs[1] == pytest.approx(0.01 + 0.09 / 19)  # the linear ramp


def test_each_parameter_group_gets_its_own_ramp(hub: lrhub.Client) -> None:
    model = small_mlp(6)
    opt = torch.optim.SGD(
        [{"params": model[0].parameters()}, {"params": model[2].parameters(), "lr": 0.5}],
        lr=0.1,
    )
    seen: list[list[float]] = []

    def loss_fn(m: torch.nn.Module, batch: Any) -> torch.Tensor:
        seen.append([g["lr"] for g in opt.param_groups])
        return torch.nn.functional.mse_loss(m(batch[0]), batch[1])

    result = find_lr(
        model,
        opt,
        None,
        regression_batches(6),
        client=hub,
        loss_fn=loss_fn,
        start_lr=[1e-4, 1e-3],
        end_lr=[1e-2, 1e-1],
        num_steps=12,
        progress=False,
    )
    assert result.stop_reason == "completed" and len(result.losses) == 12
    assert [lrs[0] for lrs in seen] == result.lrs
    assert all(math.isclose(b, 10 * a) for a, b in seen)
    group1 = hub.request("GET", f"/v1/runs/{result.run_id}/lr-finder", params={"group": 1})
    assert group1["lrs"] == [lrs[1] for lrs in seen]
    assert [g["lr"] for g in opt.param_groups] == [0.1, 0.5]  # restored


def test_plot_without_matplotlib_says_what_to_install(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    result = LRFinderResult(
        run_id=1,
        steps=[1, 2],
        lrs=[0.1, 0.2],
        losses=[1.0, 0.5],
        smoothed=[1.0, 0.7],
        suggestions={"steepest": 0.1},
    )
    real_import = builtins.__import__

    def no_matplotlib(name: str, *args: Any, **kwargs: Any) -> Any:
        if name.startswith("matplotlib"):
            raise ImportError(f"No module named {name!r}")
        return real_import(name, *args, **kwargs)

    monkeypatch.setattr(builtins, "__import__", no_matplotlib)
    with pytest.raises(ImportError, match="pip install matplotlib"):
        result.plot(tmp_path / "x.png")
    assert math.isclose(result.safe_lr(margin=0.5), 0.05)
