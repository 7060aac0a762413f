"""The scheduler inside the Hugging Face Trainer (optimizers=(optimizer, scheduler)):
same values as torch, checkpoint reload with weights_only, metric reports by callback."""

from __future__ import annotations

import os
import warnings
from pathlib import Path
from typing import Any

import pytest
import torch
from client_support import torch_trace

import lrhub

transformers = pytest.importorskip("transformers")
pytest.importorskip("accelerate")
from transformers.trainer_utils import get_last_checkpoint  # noqa: E402

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


def launch_as_the_guide_does(
    out: Path, run: lrhub.Run, max_steps: int, recorder: Any
) -> tuple[Any, str | None]:
    """docs/client.md's Hugging Face code: the Trainer's own optimizer, the run's scheduler,
    and a resume guarded by ``get_last_checkpoint``; the trainer and the checkpoint resumed
    from (None on a first launch)."""
    args = transformers.TrainingArguments(
        output_dir=str(out),
        max_steps=max_steps,
        learning_rate=0.1,
        per_device_train_batch_size=4,
        save_strategy="steps",
        save_steps=10,
        logging_strategy="no",
        report_to="none",
        use_cpu=True,
        disable_tqdm=True,
    )
    trainer = transformers.Trainer(
        model=TinyModel(), args=args, train_dataset=TinyData(), callbacks=[recorder]
    )
    trainer.create_optimizer()  # the Trainer's own AdamW and settings
    trainer.lr_scheduler = run.attach(trainer.optimizer)
    last = get_last_checkpoint(args.output_dir) if os.path.isdir(args.output_dir) else None
    trainer.train(resume_from_checkpoint=last)
    trainer.lr_scheduler.close(1.0)
    return trainer, last


def test_the_guides_code_starts_fresh_then_resumes(server, run_name, tmp_path) -> None:
    spec = {"type": "OneCycleLR", "max_lr": 0.5, "total_steps": 40}
    run = lrhub.Client(server.url).create_run(run_name, spec)
    reference = [lrs[0] for lrs, _ in torch_trace(spec, [0.1], 40, optimizer="adam")]
    out = tmp_path / "out"  # does not exist before the first launch
    first = LrRecorder()
    trainer, resumed_from = launch_as_the_guide_does(out, run, 20, first)
    assert resumed_from is None  # a first launch: nothing to resume, and no error
    assert isinstance(trainer.optimizer.optimizer, torch.optim.AdamW)
    decays = [group["weight_decay"] for group in trainer.optimizer.param_groups]
    assert decays == [0.0, 0.0] and trainer.args.weight_decay == 0.0  # the Trainer's default
    assert first.lrs == pytest.approx({s: reference[s] for s in range(20)}, rel=1e-9)
    second = LrRecorder()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", lrhub.ResumeWarning)
        _, resumed_from = launch_as_the_guide_does(out, run, 30, second)
    assert resumed_from == str(out / "checkpoint-20")
    assert second.lrs == pytest.approx({s: reference[s] for s in range(20, 30)}, rel=1e-9)


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


def test_callback_reports_metric_for_best_model_to_a_greedy_run(server, run_name, tmp_path) -> None:
    kwargs = {"patience": 0, "factor": 0.5, "min_lr": 0.001, "max_lr": 0.5, "threshold": 10.0}
    spec = {"type": "transformers", "name": "greedy", "scheduler_specific_kwargs": kwargs}
    run = lrhub.Client(server.url).create_run(run_name, spec, report_interval=5)
    recorder = LrRecorder()
    trainer, scheduler = make_trainer(
        tmp_path, run, 20, [recorder, LrhubCallback()], eval_strategy="steps", eval_steps=5,
        metric_for_best_model="loss",
    )  # fmt: skip
    trainer.train()
    scheduler.close(1.0)
    reports = run.reports()
    assert [r["step"] for r in reports] == [5, 10, 15, 20]
    greedy_opt = torch.optim.SGD([torch.nn.Parameter(torch.zeros(1))], lr=0.1)
    greedy = transformers.optimization.GreedyLR(greedy_opt, **kwargs)
    for k, report in enumerate(reports[:3]):
        greedy.step(report["metrics"]["eval_loss"])  # the Trainer's own stepping
        for step in range(5 * k + 5, 5 * k + 10):
            assert recorder.lrs[step] == pytest.approx(greedy_opt.param_groups[0]["lr"]), step
    assert {recorder.lrs[s] for s in range(5)} == {0.1}
    assert min(recorder.lrs.values()) < 0.1  # nothing improves by 10: the lr was cut
