"""A Lightning callback that reports a validation metric to the lrhub run.

def configure_optimizers(self):
    optimizer = torch.optim.SGD(self.parameters(), lr=0.1, momentum=0.9)
    scheduler = run.attach(optimizer)
    return {"optimizer": optimizer,
            "lr_scheduler": {"scheduler": scheduler, "interval": "step"}}

trainer = L.Trainer(callbacks=[LrhubCallback(monitor="val_loss")])
"""

from __future__ import annotations

from typing import Any

try:
    from lightning.pytorch import Callback, LightningModule, Trainer
except ImportError:  # the standalone pytorch-lightning distribution
    try:
        from pytorch_lightning import (  # type: ignore[no-redef]
            Callback,
            LightningModule,
            Trainer,
        )
    except ImportError as exc:  # pragma: no cover - depends on the environment
        raise ImportError(
            "lrhub.integrations.lightning needs Lightning: pip install lightning"
        ) from exc

from lrhub.integrations._common import find_scheduler, report_metric


class LrhubCallback(Callback):
    """After each validation, report ``monitor`` (from ``trainer.callback_metrics``) to
    the run followed by the module's lrhub scheduler; stop when the run asks to."""

    def __init__(self, monitor: str = "val_loss") -> None:
        self.monitor = monitor

    def on_validation_end(self, trainer: Trainer, pl_module: LightningModule) -> None:
        if trainer.sanity_checking:
            return
        configs: list[Any] = list(getattr(trainer, "lr_scheduler_configs", []))
        scheduler = find_scheduler(config.scheduler for config in configs)
        if scheduler is None:
            raise TypeError(
                "LrhubCallback: configure_optimizers must return an lrhub scheduler "
                '(run.attach(optimizer)) under "lr_scheduler".'
            )
        value = trainer.callback_metrics.get(self.monitor)
        if value is None:
            raise KeyError(
                f"LrhubCallback: {self.monitor!r} was not logged; log it with "
                f"self.log({self.monitor!r}, ...) in validation_step or pass monitor=..."
            )
        if report_metric(scheduler, self.monitor, value):
            trainer.should_stop = True
