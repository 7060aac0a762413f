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
    asks to stop (divergence, finished range test), training stops.

    Without ``metric`` it reports ``metric_for_best_model`` (``eval_``-prefixed, as the
    Trainer steps ``reduce_lr_on_plateau`` and ``greedy`` with it), else ``eval_loss``."""

    def __init__(self, metric: str | None = None, scheduler: Any = None) -> None:
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
        name = self.metric or _metric_for_best_model(args)
        if name not in metrics:
            raise KeyError(
                f"LrhubCallback: metric {name!r} is not among the evaluation metrics "
                f"{sorted(metrics)}; pass LrhubCallback(metric=...) with one of them."
            )
        if report_metric(scheduler, name, metrics[name]):
            control.should_training_stop = True
        return control


def _metric_for_best_model(args: TrainingArguments) -> str:
    """The metric the Trainer steps a plateau or greedy scheduler with."""
    name = getattr(args, "metric_for_best_model", None) or "loss"
    return name if name.startswith("eval_") else f"eval_{name}"
