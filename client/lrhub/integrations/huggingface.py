"""A transformers ``TrainerCallback`` that reports evaluation metrics to the lrhub run.

scheduler = run.attach(optimizer)
trainer = Trainer(..., optimizers=(optimizer, scheduler),
                  callbacks=[LrhubCallback(metric="eval_loss")])
"""

from __future__ import annotations

from typing import Any

try:
    from transformers import TrainerCallback, TrainerControl, TrainerState, TrainingArguments
except ImportError as exc:  # pragma: no cover - depends on the environment
    raise ImportError(
        "lrhub.integrations.huggingface needs transformers: pip install transformers accelerate"
    ) from exc

from lrhub.integrations._common import find_scheduler, report_metric


class LrhubCallback(TrainerCallback):
    """Report ``metric`` after each evaluation to the run the Trainer's scheduler follows
    (the Trainer must get ``optimizers=(optimizer, run.attach(optimizer))``). When the run
    asks to stop (divergence, finished range test), training stops."""

    def __init__(self, metric: str = "eval_loss", scheduler: Any = None) -> None:
        self.metric = metric
        self.scheduler = scheduler

    def on_evaluate(
        self,
        args: TrainingArguments,
        state: TrainerState,
        control: TrainerControl,
        metrics: dict[str, float] | None = None,
        **kwargs: Any,
    ) -> TrainerControl:
        scheduler = self.scheduler or find_scheduler([kwargs.get("lr_scheduler")])
        if scheduler is None:
            raise TypeError(
                "LrhubCallback needs an lrhub scheduler: pass optimizers=(optimizer, "
                "run.attach(optimizer)) to the Trainer, or LrhubCallback(scheduler=...)."
            )
        metrics = metrics or {}
        if self.metric not in metrics:
            raise KeyError(
                f"LrhubCallback: metric {self.metric!r} is not among the evaluation metrics "
                f"{sorted(metrics)}; pass LrhubCallback(metric=...) with one of them."
            )
        if report_metric(scheduler, self.metric, metrics[self.metric]):
            control.should_training_stop = True
        return control
