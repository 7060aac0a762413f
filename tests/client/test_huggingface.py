"""The scheduler inside the Hugging Face Trainer (optimizers=(optimizer, scheduler)):
same values as torch, checkpoint reload with weights_only, metric reports by callback."""

from __future__ import annotations

import warnings
from pathlib import Path
from typing import Any

import pytest
import torch
from client_support import torch_trace

import lrhub

transformers = pytest.importorskip("transformers")
pytest.importorskip("accelerate")
from lrhub.integrations.huggingface import LrhubCallback  # noqa: E402

pytestmark = pytest.mark.parametrize("server", ["sqlite"], indirect=True)


class TinyModel(torch.nn.Module):
    def __init__(self) -> None:
        super().__init__()
        self.linear = torch.nn.Linear(2, 1)

    def forward(self, x: torch.Tensor, labels: torch.Tensor | None = None) -> dict[str, Any]:
        out = self.linear(x).squeeze(-1)
        return {"loss": torch.nn.functional.mse_loss(out, labels), "logits": out}


class TinyData(torch.utils.data.Dataset):
    def __len__(self) -> int:
        return 64

    def __getitem__(self, i: int) -> dict[str, torch.Tensor]:
        return {"x": torch.tensor([i / 64, 1.0]), "labels": torch.tensor(i / 32)}


class LrRecorder(transformers.TrainerCallback):
    """The LR each optimizer update uses, by global step."""

    def __init__(self) -> None:
        self.lrs: dict[int, float] = {}

    def on_step_begin(self, args: Any, state: Any, control: Any, **kwargs: Any) -> None:
        self.lrs[state.global_step] = kwargs["optimizer"].param_groups[0]["lr"]


def make_trainer(
    tmp: Path, run: lrhub.Run, max_steps: int, callbacks: list[Any], **args: Any
) -> tuple[Any, Any]:
    model = TinyModel()
    optimizer = torch.optim.AdamW(model.parameters(), lr=0.1)
    scheduler = run.attach(optimizer)
    training = transformers.TrainingArguments(
        output_dir=str(tmp),
        max_steps=max_steps,
        per_device_train_batch_size=4,
        save_strategy="steps",
        save_steps=10,
        logging_strategy="no",
        report_to="none",
        use_cpu=True,
        disable_tqdm=True,
        **args,
    )
    trainer = transformers.Trainer(
        model=model,
        args=training,
        train_dataset=TinyData(),
        eval_dataset=TinyData(),
        optimizers=(optimizer, scheduler),
        callbacks=callbacks,
    )
    return trainer, scheduler


def test_trainer_follows_the_run_and_reloads_its_checkpoint(server, run_name, tmp_path) -> None:
    spec = {"type": "OneCycleLR", "max_lr": 0.5, "total_steps": 40}
    run = lrhub.Client(server.url).create_run(run_name, spec)
    reference = [lrs[0] for lrs, _ in torch_trace(spec, [0.1], 40, optimizer="adam")]
    first = LrRecorder()
    trainer, scheduler = make_trainer(tmp_path, run, 20, [first])
    trainer.train()
    scheduler.close(1.0)
    assert first.lrs == pytest.approx({s: reference[s] for s in range(20)}, rel=1e-9)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", lrhub.ResumeWarning)
        second = LrRecorder()
        trainer, scheduler = make_trainer(tmp_path, run, 30, [second])
    trainer.train(resume_from_checkpoint=str(tmp_path / "checkpoint-10"))  # weights_only load
    scheduler.close(1.0)
    assert second.lrs == pytest.approx({s: reference[s] for s in range(10, 30)}, rel=1e-9)
    assert any(e.kind == "resumed" and e.step == 10 for e in run.events())


def test_callback_reports_eval_metrics_to_a_plateau_run(server, run_name, tmp_path) -> None:
    spec = {"type": "ReduceLROnPlateau", "factor": 0.5, "patience": 0, "threshold": 0.5}
    run = lrhub.Client(server.url).create_run(run_name, spec, report_interval=5)
    recorder = LrRecorder()
    trainer, scheduler = make_trainer(
        tmp_path,
        run,
        20,
        [recorder, LrhubCallback(metric="eval_loss")],
        eval_strategy="steps",
        eval_steps=5,
    )
    with warnings.catch_warnings():
        warnings.simplefilter("error", lrhub.OutageWarning)  # no "missing report" warning
        trainer.train()
    scheduler.close(1.0)
    reports = run.reports()
    assert [r["step"] for r in reports] == [5, 10, 15, 20]
    metrics = [r["metrics"]["eval_loss"] for r in reports]
    expected = torch_trace(spec, [0.1], 4, optimizer="adam", metrics=metrics)
    assert expected[3][0][0] < 0.1  # the plateau rule did cut the LR
    for k in range(4):  # steps [5k, 5k + 5) use the LR after k plateau steps
        for step in range(5 * k, min(5 * k + 5, 20)):
            assert recorder.lrs[step] == pytest.approx(expected[k][0][0], rel=1e-9), step
