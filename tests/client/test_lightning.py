"""The scheduler in Lightning's configure_optimizers ("interval": "step") and the
Lightning callback reporting validation metrics to a plateau run."""

from __future__ import annotations

import warnings
from typing import Any

import pytest
import torch
from client_support import torch_trace

import lrhub

L = pytest.importorskip("lightning.pytorch")
from lrhub.integrations.lightning import LrhubCallback  # noqa: E402

pytestmark = pytest.mark.parametrize("server", ["sqlite"], indirect=True)


class TinyModule(L.LightningModule):
    def __init__(self, run: lrhub.Run) -> None:
        super().__init__()
        self.run = run
        self.linear = torch.nn.Linear(2, 1)
        self.lrs: list[float] = []

    def training_step(self, batch: Any, batch_idx: int) -> torch.Tensor:
        self.lrs.append(self.optimizers().param_groups[0]["lr"])
        x, y = batch
        return torch.nn.functional.mse_loss(self.linear(x).squeeze(-1), y)

    def validation_step(self, batch: Any, batch_idx: int) -> None:
        x, y = batch
        self.log("val_loss", torch.nn.functional.mse_loss(self.linear(x).squeeze(-1), y))

    def configure_optimizers(self) -> dict[str, Any]:
        optimizer = torch.optim.SGD(self.parameters(), lr=0.1, momentum=0.9)
        scheduler = self.run.attach(optimizer)
        return {
            "optimizer": optimizer,
            "lr_scheduler": {"scheduler": scheduler, "interval": "step"},
        }


def loader() -> torch.utils.data.DataLoader:
    x = torch.stack([torch.arange(64) / 64, torch.ones(64)], dim=1)
    return torch.utils.data.DataLoader(torch.utils.data.TensorDataset(x, x[:, 0] * 2), batch_size=4)


def make_trainer(max_steps: int, **kw: Any) -> Any:
    return L.Trainer(
        max_steps=max_steps,
        accelerator="cpu",
        logger=False,
        enable_checkpointing=False,
        enable_progress_bar=False,
        enable_model_summary=False,
        num_sanity_val_steps=0,
        **kw,
    )


def test_configure_optimizers_with_step_interval(server, run_name) -> None:
    spec = {"type": "CyclicLR", "base_lr": 0.01, "max_lr": 0.2, "step_size_up": 6}
    run = lrhub.Client(server.url).create_run(run_name, spec)
    module = TinyModule(run)
    trainer = make_trainer(30, limit_val_batches=0)
    trainer.fit(module, loader())
    trainer.lr_scheduler_configs[0].scheduler.close(1.0)
    reference = [lrs[0] for lrs, _ in torch_trace(spec, [0.1], 30)]
    assert module.lrs == pytest.approx(reference[:30], rel=1e-9)
    assert module.optimizers().param_groups[0]["momentum"] == pytest.approx(
        torch_trace(spec, [0.1], 30)[30][1][0], rel=1e-9
    )


def test_callback_reports_validation_metrics(server, run_name) -> None:
    spec = {"type": "ReduceLROnPlateau", "factor": 0.5, "patience": 0, "threshold": 0.5}
    run = lrhub.Client(server.url).create_run(run_name, spec, report_interval=4)
    module = TinyModule(run)
    trainer = make_trainer(
        16, val_check_interval=4, limit_val_batches=2, callbacks=[LrhubCallback()]
    )
    with warnings.catch_warnings():
        warnings.simplefilter("error", lrhub.OutageWarning)  # no "missing report" warning
        trainer.fit(module, loader(), loader())
    trainer.lr_scheduler_configs[0].scheduler.close(1.0)
    reports = run.reports()
    assert [r["step"] for r in reports] == [4, 8, 12, 16]
    metrics = [r["metrics"]["val_loss"] for r in reports]
    expected = torch_trace(spec, [0.1], 4, metrics=metrics)
    assert expected[3][0][0] < 0.1  # the plateau rule did cut the LR
    for step, lr in enumerate(module.lrs):
        assert lr == pytest.approx(expected[step // 4][0][0], rel=1e-9), step
